//! The only sender of e-mail: drains the outbox, retrying with backoff, so nothing is
//! lost while the SMTP server is down.

use crate::keyring::Keyring;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpSecurity, SmtpSettings};
use crate::db::{self, outbox};
use crate::services::app::App;
use crate::time;

type State = std::sync::Arc<App>;

type Transport = AsyncSmtpTransport<Tokio1Executor>;

fn transport(smtp: &SmtpSettings) -> anyhow::Result<Transport> {
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
    Ok(b.build())
}

/// The transport and sender for the settings in force, rebuilt when they change.
struct Sender {
    smtp: SmtpSettings,
    from_text: String,
    transport: Transport,
    from: Mailbox,
}

/// Reads the settings in force (the dashboard's, the environment winning) and returns
/// the sender for them; `None` (logged once per change) while mail cannot leave.
async fn current_sender(
    state: &State,
    cached: &mut Option<Sender>,
    problem: &mut String,
) -> Option<()> {
    let st = state.clone();
    let cfg = match db::run(&state.pool, move |c| {
        crate::services::mail_settings::load(c, &st.keys, &st.settings)
    })
    .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = ?e, "cannot read the mail settings");
            return None;
        }
    };
    let mut report = |p: &str| {
        if problem != p {
            *problem = p.to_string();
            tracing::warn!("{p}");
        }
    };
    let Some(smtp) = cfg.smtp else {
        *cached = None;
        report(
            "no SMTP host is set (OTM_SMTP_HOST or the settings page): e-mail stays queued until one is",
        );
        return None;
    };
    if let Some(s) = cached.as_ref()
        && s.smtp == smtp
        && s.from_text == cfg.mail_from
    {
        return Some(());
    }
    let from: Mailbox = match cfg.mail_from.parse() {
        Ok(f) => f,
        Err(_) => {
            *cached = None;
            report(
                "the sender (OTM_MAIL_FROM or the settings page) is not a valid address: e-mail stays queued",
            );
            return None;
        }
    };
    let transport = match transport(&smtp) {
        Ok(t) => t,
        Err(e) => {
            *cached = None;
            report(&format!(
                "SMTP settings are invalid ({e}): e-mail stays queued"
            ));
            return None;
        }
    };
    problem.clear();
    tracing::info!(host = %smtp.host, port = smtp.port, security = smtp.security.as_str(), "mail settings in force");
    *cached = Some(Sender {
        smtp,
        from_text: cfg.mail_from,
        transport,
        from,
    });
    Some(())
}

/// Seconds to wait after `attempts` failures: 5, 10, 20, ... up to `max`.
pub fn backoff_secs(attempts: i64, max: u64) -> u64 {
    let exp = attempts.clamp(0, 20) as u32;
    (5u64 << exp).min(max)
}

fn build(
    ring: &Keyring,
    from: &Mailbox,
    m: &outbox::Queued,
    base_now: &str,
) -> anyhow::Result<Message> {
    let (text, html) = if m.sealed {
        let open = |b: &str| {
            ring.open_string(super::BODY_AAD, b)
                .map_err(|e| anyhow::anyhow!("the message body does not open: {e}"))
        };
        (open(&m.text_body)?, open(&m.html_body)?)
    } else {
        (m.text_body.clone(), m.html_body.clone())
    };
    // Links made with the base URL in force when queued point at the one in force now.
    let (text, html) = (
        super::rebase(&text, m.link_base.as_deref(), base_now),
        super::rebase(&html, m.link_base.as_deref(), base_now),
    );
    Ok(Message::builder()
        .from(from.clone())
        .to(m.to_addr.parse()?)
        .subject(m.subject.clone())
        .multipart(MultiPart::alternative_plain_html(text, html))?)
}

/// Runs forever on the server's runtime.
pub async fn run(state: State, mut stop: crate::jobs::Stop) {
    let mut cached: Option<Sender> = None;
    let mut problem = String::new();
    let max = state.settings.mail_retry_max_secs;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let max_attempts = state.settings.mail_max_attempts;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.requested() => return,
        }
        state.jobs.beat("mail");
        let due = match db::run(&state.pool, |c| Ok(outbox::due(c, &time::now_db(), 20)?)).await {
            Ok(d) => {
                crate::metrics::job_succeeded("mail");
                d
            }
            Err(e) => {
                tracing::warn!(error = ?e, "cannot read the outbox");
                continue;
            }
        };
        if due.is_empty() {
            continue;
        }
        if current_sender(&state, &mut cached, &mut problem)
            .await
            .is_none()
        {
            continue;
        }
        let Some(sender) = cached.as_ref() else {
            continue;
        };
        let (transport, from) = (&sender.transport, &sender.from);
        for m in due {
            // A refusal that will never change (no such mailbox, a message that cannot be
            // built) gives up at once; anything else is tried again, a bounded number of
            // times.
            let result = match build(&state.keys.ring, from, &m, &state.settings.base_url) {
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
                    let test = m.kind == "test";
                    state
                        .pool
                        .writer()
                        .write(move |c| {
                            outbox::mark_sent(c, id, &time::now_db())?;
                            if test {
                                // The first-steps checklist ticks "e-mail de teste" from this.
                                crate::services::overview::record_fact(
                                    c,
                                    crate::services::overview::FACT_TEST_MAIL,
                                )?;
                            }
                            Ok(())
                        })
                        .await
                }
                Err((permanent, err)) if permanent || attempts + 1 >= max_attempts => {
                    tracing::error!(id, kind = m.kind, error = %err, attempts = attempts + 1, "e-mail given up");
                    let (st, now) = (state.clone(), time::now_db());
                    let given_up = state
                        .pool
                        .writer()
                        .write(move |c| Ok(outbox::give_up(c, id, &err, &now)?))
                        .await;
                    match given_up {
                        Ok(_) => {
                            db::run(&state.pool, move |c| {
                                crate::services::alerts::evaluate(
                                    c,
                                    &st.keys,
                                    &st.settings,
                                    &None,
                                )?;
                                Ok(())
                            })
                            .await
                        }
                        Err(e) => Err(e),
                    }
                }
                Err((_, err)) => {
                    let wait = backoff_secs(attempts, max);
                    tracing::warn!(id, kind = m.kind, error = %err, retry_in_secs = wait, "e-mail not sent");
                    let next = time::to_db(time::now() + chrono::Duration::seconds(wait as i64));
                    state
                        .pool
                        .writer()
                        .write(move |c| {
                            outbox::mark_failed(c, id, &err, &next)?;
                            Ok(())
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
