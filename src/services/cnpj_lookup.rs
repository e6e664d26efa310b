//! Filling a company's form from its CNPJ: a public CNPJ service with BrasilAPI's shape
//! (`GET {base}/api/cnpj/v1/{cnpj}`, `OTM_CNPJ_LOOKUP_URL`, `off` turns it off), called by
//! the server (the pages' CSP allows the browser only our own origin).
//!
//! Guarded against abuse and against a service that misbehaves: only valid CNPJs are
//! asked; a short timeout; no redirect followed; answers over [`MAX_BODY`] refused;
//! results kept [`CACHE_SECS`] (a failure [`FAILURE_CACHE_SECS`]), so repeating a CNPJ
//! costs the service nothing; visitors (the sign-up page) get [`VISITOR_LIMIT`] look-ups
//! per [`VISITOR_WINDOW_SECS`] per address. Whatever happens, the form still works by
//! hand: every failure is a [`Lookup`] with a Portuguese message, never an error.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::domain::{Cnpj, Email, Phone, phone_format as format_phone};

/// The most an answer may weigh (BrasilAPI's are a few KiB).
pub const MAX_BODY: usize = 64 * 1024;
/// How long the service may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(4);
const CACHE_SECS: u64 = 10 * 60;
const FAILURE_CACHE_SECS: u64 = 30;
const MAX_CACHED: usize = 10_000;
/// Look-ups a visitor's address may make per window.
pub const VISITOR_LIMIT: u32 = 10;
pub const VISITOR_WINDOW_SECS: u64 = 10 * 60;
/// Look-ups all visitors together may make per window.
pub const VISITORS_LIMIT: u32 = 200;
/// The counter of all visitors (not an address: it has no digits or colons).
const ALL_VISITORS: &str = "all";

pub const UNAVAILABLE: &str = "Não foi possível consultar o CNPJ agora; preencha os dados à mão.";
const NOT_FOUND: &str =
    "Este CNPJ não foi encontrado na Receita; confira os números ou preencha os dados à mão.";
const OFF: &str = "A consulta de CNPJ está desligada neste sistema; preencha os dados à mão.";

/// What the Receita's public register says about a company, as the form wants it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CnpjInfo {
    pub legal_name: String,
    pub trade_name: String,
    pub email: String,
    /// Formatted, `(11) 3123-4567`; empty when the register has none that is valid.
    pub phone: String,
    /// The situação cadastral as the register words it ("ATIVA", "BAIXADA", …).
    pub situation: String,
}

impl CnpjInfo {
    /// "Situação na Receita: BAIXADA" when the company is not active; `None` when it is.
    pub fn situation_note(&self) -> Option<String> {
        let s = self.situation.trim();
        (!s.is_empty() && !s.eq_ignore_ascii_case("ATIVA"))
            .then(|| format!("Situação na Receita: {}", s.to_uppercase()))
    }
}

/// The outcome of a look-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(CnpjInfo),
    NotFound,
    /// Down, slow, an unexpected answer: fill the form by hand.
    Unavailable,
    /// `OTM_CNPJ_LOOKUP_URL=off`.
    Off,
}

impl Lookup {
    /// `found`, `not_found`, `unavailable` or `off`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Found(_) => "found",
            Self::NotFound => "not_found",
            Self::Unavailable => "unavailable",
            Self::Off => "off",
        }
    }

    /// What to tell the person, in Portuguese; `None` for an active company found.
    pub fn message(&self) -> Option<String> {
        match self {
            Self::Found(i) => i.situation_note(),
            Self::NotFound => Some(NOT_FOUND.to_string()),
            Self::Unavailable => Some(UNAVAILABLE.to_string()),
            Self::Off => Some(OFF.to_string()),
        }
    }
}

/// BrasilAPI's answer, the fields we use (others are ignored).
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    razao_social: Option<String>,
    #[serde(default)]
    nome_fantasia: Option<String>,
    #[serde(default)]
    descricao_situacao_cadastral: Option<String>,
    #[serde(default)]
    ddd_telefone_1: Option<String>,
    #[serde(default)]
    ddd_telefone_2: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

fn clean(s: Option<String>, max: usize) -> String {
    s.unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

impl Answer {
    fn info(self) -> CnpjInfo {
        let phone = [self.ddd_telefone_1, self.ddd_telefone_2]
            .into_iter()
            .flatten()
            .find_map(|p| Phone::parse(&p).ok())
            .map(|p| format_phone(p.as_str()))
            .unwrap_or_default();
        let email = Email::parse(&clean(self.email, 200).to_lowercase())
            .map(|e| e.as_str().to_string())
            .unwrap_or_default();
        CnpjInfo {
            legal_name: clean(self.razao_social, 200),
            trade_name: clean(self.nome_fantasia, 200),
            email,
            phone,
            situation: clean(self.descricao_situacao_cadastral, 60),
        }
    }
}

/// The look-up service: its client, its cache and the visitors' counters.
pub struct CnpjLookup {
    /// `None` when turned off.
    base: Option<String>,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, Lookup)>>,
    visitors: Mutex<HashMap<String, (Instant, u32)>>,
}

impl CnpjLookup {
    pub fn new(base: Option<String>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .user_agent(concat!("omie-tenant-manager/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            base: base.map(|b| b.trim_end_matches('/').to_string()),
            http,
            cache: Default::default(),
            visitors: Default::default(),
        })
    }

    pub fn enabled(&self) -> bool {
        self.base.is_some()
    }

    /// A visitor's look-up is admitted, or refused with the seconds to wait: at most
    /// [`VISITOR_LIMIT`] per address and [`VISITORS_LIMIT`] for all visitors together per
    /// window (many addresses cannot make us flood the service, which could then refuse
    /// the owner's look-ups).
    pub fn admit_visitor(&self, ip: &str) -> Result<(), u64> {
        let window = Duration::from_secs(VISITOR_WINDOW_SECS);
        let mut v = self.visitors.lock().unwrap_or_else(|e| e.into_inner());
        if v.len() > MAX_CACHED {
            v.retain(|_, (at, _)| at.elapsed() < window);
        }
        let mut wait = None;
        for (key, limit) in [(ip, VISITOR_LIMIT), (ALL_VISITORS, VISITORS_LIMIT)] {
            let entry = v.entry(key.to_string()).or_insert((Instant::now(), 0));
            if entry.0.elapsed() >= window {
                *entry = (Instant::now(), 0);
            }
            if entry.1 >= limit {
                wait = Some(window.saturating_sub(entry.0.elapsed()).as_secs().max(1));
            }
        }
        if let Some(w) = wait {
            return Err(w);
        }
        for key in [ip, ALL_VISITORS] {
            if let Some(entry) = v.get_mut(key) {
                entry.1 += 1;
            }
        }
        Ok(())
    }

    fn cached(&self, key: &str) -> Option<Lookup> {
        let c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let (at, found) = c.get(key)?;
        let ttl = match found {
            Lookup::Unavailable => FAILURE_CACHE_SECS,
            _ => CACHE_SECS,
        };
        (at.elapsed() < Duration::from_secs(ttl)).then(|| found.clone())
    }

    fn keep(&self, key: &str, found: &Lookup) {
        let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if c.len() > MAX_CACHED {
            c.clear();
        }
        c.insert(key.to_string(), (Instant::now(), found.clone()));
    }

    /// Looks `cnpj` up (from the cache when recent).
    pub async fn lookup(&self, cnpj: &Cnpj) -> Lookup {
        let Some(base) = &self.base else {
            return Lookup::Off;
        };
        if let Some(found) = self.cached(cnpj.as_str()) {
            return found;
        }
        let found = self.ask(base, cnpj).await;
        self.keep(cnpj.as_str(), &found);
        found
    }

    async fn ask(&self, base: &str, cnpj: &Cnpj) -> Lookup {
        let url = format!("{base}/api/cnpj/v1/{}", cnpj.as_str());
        let mut resp = match self.http.get(&url).send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "CNPJ look-up failed");
                return Lookup::Unavailable;
            }
        };
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Lookup::NotFound;
        }
        if !status.is_success() {
            tracing::warn!(%status, "CNPJ look-up answered with an error");
            return Lookup::Unavailable;
        }
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            tracing::warn!("CNPJ look-up answer too large");
            return Lookup::Unavailable;
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        tracing::warn!("CNPJ look-up answer too large");
                        return Lookup::Unavailable;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "CNPJ look-up answer unreadable");
                    return Lookup::Unavailable;
                }
            }
        }
        match serde_json::from_slice::<Answer>(&body) {
            Ok(a) => {
                let info = a.info();
                if info.legal_name.is_empty() {
                    Lookup::Unavailable
                } else {
                    Lookup::Found(info)
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "CNPJ look-up answer not understood");
                Lookup::Unavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_form_values() {
        let a: Answer = serde_json::from_str(
            r#"{"razao_social":"PADARIA BOM PAO LTDA","nome_fantasia":"BOM PAO",
                "descricao_situacao_cadastral":"BAIXADA","ddd_telefone_1":"1131234567",
                "email":"CONTATO@BOMPAO.COM.BR","qsa":[]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let i = a.info();
        assert_eq!(i.phone, "(11) 3123-4567");
        assert_eq!(i.email, "contato@bompao.com.br");
        assert_eq!(
            i.situation_note().as_deref(),
            Some("Situação na Receita: BAIXADA")
        );
        let active = CnpjInfo {
            situation: "ATIVA".into(),
            ..i
        };
        assert_eq!(active.situation_note(), None);
    }

    #[test]
    fn visitors_are_limited_per_address() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let l = CnpjLookup::new(None).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..VISITOR_LIMIT {
            assert!(l.admit_visitor("10.0.0.1").is_ok());
        }
        assert!(l.admit_visitor("10.0.0.1").is_err());
        assert!(l.admit_visitor("10.0.0.2").is_ok());
        // Many addresses together stop at the overall limit.
        let admitted = (0..VISITORS_LIMIT * 2)
            .filter(|n| {
                l.admit_visitor(&format!("10.1.{}.{}", n / 250, n % 250))
                    .is_ok()
            })
            .count();
        assert_eq!(admitted as u32, VISITORS_LIMIT - VISITOR_LIMIT - 1);
    }
}
