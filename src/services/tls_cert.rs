//! The certificate the public address serves, for Saúde do sistema. When `OTM_BASE_URL`
//! is `https://…`, the health job connects to it as a browser would (through nginx or
//! Cloudflare, whatever is in front), reads the certificate it was given and keeps its
//! expiry in memory; the check compares that date with the thresholds in
//! [`super::health::LIMITS`]. Nothing is sent but a `GET /healthz`.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use x509_cert::Certificate;
use x509_cert::der::Decode;

/// What the last look at the certificate found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The certificate was read; it is valid until this moment.
    Read { not_after: DateTime<Utc> },
    /// The address could not be reached or served no readable certificate (in English,
    /// for the log; the page says it in Portuguese).
    Unreadable { reason: String },
}

#[derive(Clone, Debug)]
pub struct Fact {
    /// When it was looked at (database time format).
    pub at: String,
    pub outcome: Outcome,
}

/// The last [`Fact`], written by the health job and read by the health check.
#[derive(Debug, Default)]
pub struct Watch(Mutex<Option<Fact>>);

impl Watch {
    pub fn last(&self) -> Option<Fact> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn store(&self, fact: Fact) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(fact);
    }
}

/// True when the public address is HTTPS, so there is a certificate to watch.
pub fn applies(base_url: &str) -> bool {
    base_url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// Connects to the public address and stores what its certificate says.
pub async fn refresh(watch: &Watch, base_url: &str) {
    if !applies(base_url) {
        return;
    }
    let outcome = probe(base_url).await;
    if let Outcome::Unreadable { reason } = &outcome {
        tracing::warn!(%reason, "the public address's certificate could not be read");
    }
    watch.store(Fact {
        at: crate::time::now_db(),
        outcome,
    });
}

async fn probe(base_url: &str) -> Outcome {
    let unreadable = |reason: String| Outcome::Unreadable { reason };
    // The certificate is read even when a browser would refuse it (expired, or not for
    // this name): telling the owner that it expired is the point. Nothing secret is
    // sent on this connection.
    let client = match reqwest::Client::builder()
        .tls_info(true)
        .tls_danger_accept_invalid_certs(true)
        .tls_danger_accept_invalid_hostnames(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => return unreadable(format!("cannot build the client: {e}")),
    };
    let url = format!("{}/healthz", base_url.trim_end_matches('/'));
    let response = match client.get(&url).send().await {
        Ok(r) => r,
        Err(e) => return unreadable(format!("cannot connect: {e}")),
    };
    let Some(der) = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
    else {
        return unreadable("no certificate in the answer".into());
    };
    match not_after(der) {
        Some(not_after) => Outcome::Read { not_after },
        None => unreadable("the certificate could not be parsed".into()),
    }
}

/// The end of a DER certificate's validity.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let cert = Certificate::from_der(der).ok()?;
    let secs = cert
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs();
    DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_addresses_have_a_certificate_to_watch() {
        assert!(applies("https://painel.example.com.br"));
        assert!(applies("HTTPS://painel.example.com.br"));
        assert!(!applies("http://127.0.0.1:8080"));
        assert!(!applies("http"));
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(not_after(b"not a certificate"), None);
        assert_eq!(not_after(&[]), None);
    }
}
