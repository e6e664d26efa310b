//! The only sender of e-mail: drains the outbox, retrying with backoff, so nothing is
//! lost while the SMTP server is down.

use crate::keyring::Keyring;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Settings, SmtpSecurity};
use crate::db::{self, outbox};
use crate::services::app::App;
use crate::time;

type State = std::sync::Arc<App>;

type Transport = AsyncSmtpTransport<Tokio1Executor>;

fn transport(s: &Settings) -> anyhow::Result<Option<Transport>> {
    let Some(smtp) = &s.smtp else { return Ok(None) };
    let mut b = match smtp.security {
        SmtpSecurity::None => Transport::builder_dangerous(smtp.host.as_str()),
        SmtpSecurity::Starttls => Transport::starttls_relay(&smtp.host)?,
        SmtpSecurity::Tls => {
            Transport::relay(&smtp.host)?.tls(Tls::Wrapper(TlsParameters::new(smtp.host.clone())?))
        }
    };
    b = b.port(smtp.port).timeout(Some(Duration::from_secs(20)));
    if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
        b = b.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(Some(b.build()))
}

/// Seconds to wait after `attempts` failures: 5, 10, 20, ... up to `max`.
pub fn backoff_secs(attempts: i64, max: u64) -> u64 {
    let exp = attempts.clamp(0, 20) as u32;
    (5u64 << exp).min(max)
}

fn build(ring: &Keyring, from: &Mailbox, m: &outbox::Queued) -> anyhow::Result<Message> {
    let (text, html) = if m.sealed {
        let open = |b: &str| {
            ring.open_string(super::BODY_AAD, b)
                .map_err(|e| anyhow::anyhow!("the message body does not open: {e}"))
        };
        (open(&m.text_body)?, open(&m.html_body)?)
    } else {
        (m.text_body.clone(), m.html_body.clone())
    };
    Ok(Message::builder()
        .from(from.clone())
        .to(m.to_addr.parse()?)
        .subject(m.subject.clone())
        .multipart(MultiPart::alternative_plain_html(text, html))?)
}

/// Runs forever on the server's runtime.
pub async fn run(state: State, mut stop: crate::jobs::Stop) {
    let transport = match transport(&state.settings) {
        Ok(Some(t)) => t,
        Ok(None) => {
            tracing::warn!("OTM_SMTP_HOST is not set: e-mail stays queued until it is");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "SMTP settings are invalid: e-mail stays queued");
            return;
        }
    };
    let from: Mailbox = match state.settings.mail_from.parse() {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "OTM_MAIL_FROM is not a valid address: e-mail stays queued");
            return;
        }
    };
    let max = state.settings.mail_retry_max_secs;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let max_attempts = state.settings.mail_max_attempts;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.requested() => return,
        }
        let due = match db::run(&state.pool, |c| Ok(outbox::due(c, &time::now_db(), 20)?)).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = ?e, "cannot read the outbox");
                continue;
            }
        };
        for m in due {
            // A refusal that will never change (no such mailbox, a message that cannot be
            // built) gives up at once; anything else is tried again, a bounded number of
            // times.
            let result = match build(&state.keys.ring, &from, &m) {
                Ok(msg) => transport
                    .send(msg)
                    .await
                    .map(|_| ())
                    .map_err(|e| (e.is_permanent(), e.to_string())),
                Err(e) => Err((true, format!("message could not be built: {e}"))),
            };
            let (id, attempts) = (m.id, m.attempts);
            let write = match result {
                Ok(()) => {
                    tracing::info!(id, kind = m.kind, "e-mail sent");
                    db::run(&state.pool, move |c| {
                        Ok(outbox::mark_sent(c, id, &time::now_db())?)
                    })
                    .await
                }
                Err((permanent, err)) if permanent || attempts + 1 >= max_attempts => {
                    tracing::error!(id, kind = m.kind, error = %err, attempts = attempts + 1, "e-mail given up");
                    let (st, now) = (state.clone(), time::now_db());
                    db::run(&state.pool, move |c| {
                        outbox::give_up(c, id, &err, &now)?;
                        crate::services::alerts::evaluate(c, &st.keys, &st.settings, &None)?;
                        Ok(())
                    })
                    .await
                }
                Err((_, err)) => {
                    let wait = backoff_secs(attempts, max);
                    tracing::warn!(id, kind = m.kind, error = %err, retry_in_secs = wait, "e-mail not sent");
                    let next = time::to_db(time::now() + chrono::Duration::seconds(wait as i64));
                    db::run(&state.pool, move |c| {
                        Ok(outbox::mark_failed(c, id, &err, &next)?)
                    })
                    .await
                }
            };
            if let Err(e) = write {
                tracing::warn!(error = ?e, "cannot update the outbox");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_secs(0, 600), 5);
        assert_eq!(backoff_secs(3, 600), 40);
        assert_eq!(backoff_secs(30, 600), 600);
        assert_eq!(backoff_secs(0, 1), 1);
    }
}
