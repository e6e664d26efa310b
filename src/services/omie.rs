//! A company's Omie credentials: set, read masked, reveal (audited), test against Omie.

use crate::db::{Conn, Tx};
use crate::domain::Action;
use std::sync::Arc;

use super::app::App;
use super::proxy::{Answer, Refusal, valid_endpoint};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys};
use crate::crypto::hmac_hex;
use crate::db::omie_credentials::{self as store, Stored};
use crate::db::{self, audit, companies};
use crate::domain::{Role, cnpj_normalize};
use crate::error::{AppError, FieldError};
use crate::time;

/// Omie refuses the same call with the same keys within 60 seconds.
pub const TEST_COOLDOWN: Duration = Duration::from_secs(60);

fn aad(company_id: &str, field: &str) -> String {
    format!("omie:{company_id}:{field}")
}

/// Setting and testing are for people: an application's `omie_credentials:read` scope
/// lets it read the credentials, never replace them (403 on a company it is linked to,
/// 404 on any other, as for reads).
fn may_change(
    conn: &Connection,
    actor: &Actor,
    company_id: &str,
) -> Result<companies::Company, AppError> {
    let c = may_handle(conn, actor, company_id)?;
    if actor.application_id().is_some() {
        return Err(AppError::Forbidden);
    }
    Ok(c)
}

/// Only the owner, staff, and the company's own admin handle its credentials.
fn may_handle(
    conn: &Connection,
    actor: &Actor,
    company_id: &str,
) -> Result<companies::Company, AppError> {
    let c = companies::get(conn, company_id)?.ok_or(AppError::NotFound)?;
    if actor.application_id().is_some() {
        super::applications::link_check(conn, actor, &c.id, c.status, "omie_credentials:read")?;
        return Ok(c);
    }
    if actor.is_platform() {
        return Ok(c);
    }
    if actor.company_id() != Some(company_id) {
        return Err(AppError::NotFound);
    }
    if actor.role() != Some(Role::CompanyAdmin) {
        return Err(AppError::Forbidden);
    }
    Ok(c)
}

/// Checks the shape of typed credentials (the real check is [`test`]).
pub fn validate_shape(app_key: &str, app_secret: &str) -> Result<(String, String), AppError> {
    let key = app_key.trim().to_string();
    let secret = app_secret.trim().to_string();
    let mut errors = Vec::new();
    if !(6..=20).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new(
            "app_key",
            "A App Key do Omie tem só números (de 6 a 20). Copie-a de novo do portal do desenvolvedor Omie.",
        ));
    }
    if !(20..=64).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        errors.push(FieldError::new(
            "app_secret",
            "O App Secret do Omie tem de 20 a 64 letras (a–f) e números. Copie-o de novo, sem espaços.",
        ));
    }
    if errors.is_empty() {
        Ok((key, secret))
    } else {
        Err(AppError::Validation(errors))
    }
}

pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    let visible: String = value.chars().skip(n.saturating_sub(4)).collect();
    format!("{}{visible}", "•".repeat(n.saturating_sub(4).min(12)))
}

/// Stores (or rotates) a company's credentials, sealed.
pub fn set(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    company_id: &str,
    app_key: &str,
    app_secret: &str,
) -> Result<(), AppError> {
    let (key, secret) = validate_shape(app_key, app_secret)?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_company_id = company_id.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let company_id = &w_company_id;
        let c = may_change(tx, actor, company_id)?;
        if c.status == crate::domain::CompanyStatus::Archived {
            return Err(AppError::NotFound);
        }
        let now = time::now_db();
        let rotated = store::get(tx, company_id)?.is_some();
        store::upsert(
            tx,
            &Stored {
                company_id: company_id.to_string(),
                app_key_sealed: keys.ring.seal(&aad(company_id, "app_key"), key.as_bytes()),
                app_secret_sealed: keys
                    .ring
                    .seal(&aad(company_id, "app_secret"), secret.as_bytes()),
                fingerprint: hmac_hex(&keys.fingerprint, &[key.as_bytes(), secret.as_bytes()]),
                updated_at: now.clone(),
                updated_by: actor.label(),
                validated_at: None,
                validation_status: None,
                validation_message: None,
                validated_fingerprint: None,
            },
        )?;
        store::add_history(tx, company_id, &now, &actor.label(), &mask(&key))?;
        let mut entry = actor.entry(Action::OmieCredentialsUpdate, "company", Some(company_id));
        entry.company_id = Some(company_id.to_string());
        // Never the values: only which key, masked.
        entry.details = json!({ "app_key": mask(&key), "rotated": rotated });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
}

/// What people see of stored credentials.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CredentialsView {
    pub app_key: String,
    pub app_secret: String,
    pub validated_at: Option<String>,
    pub validation_status: Option<crate::domain::ValidationStatus>,
    pub validation_message: Option<String>,
    pub updated_at: String,
    pub updated_by: String,
}

fn open_pair(keys: &Keys, s: &Stored) -> Result<(String, String), AppError> {
    let open = |field: &str, sealed: &str| {
        keys.ring
            .open_remembered(&aad(&s.company_id, field), sealed)
            .map_err(|e| {
                AppError::Internal(anyhow::anyhow!(
                    "cannot open {field} of {}: {e}",
                    s.company_id
                ))
            })
    };
    Ok((
        open("app_key", &s.app_key_sealed)?,
        open("app_secret", &s.app_secret_sealed)?,
    ))
}

/// Reads credentials: masked, or in clear when `reveal` (an audited action).
pub fn read(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    company_id: &str,
    reveal: bool,
) -> Result<Option<CredentialsView>, AppError> {
    // Applications read through `get_for`, as one writer job with its audit row.
    if actor.application_id().is_some() {
        return Err(AppError::Forbidden);
    }
    let cid = may_handle(conn, actor, company_id)?.id;
    let Some(s) = store::get(conn, &cid)? else {
        return Ok(None);
    };
    let (key, secret) = open_pair(keys, &s)?;
    if reveal {
        let w_keys = keys.to_owned();
        let w_actor = actor.to_owned();
        let w_company_id = company_id.to_owned();
        db::write(conn, move |tx| {
            let keys = &w_keys;
            let actor = &w_actor;
            let company_id = &w_company_id;
            let now = time::now_db();
            let mut entry = actor.entry(Action::OmieCredentialsReveal, "company", Some(company_id));
            entry.company_id = Some(company_id.to_string());
            audit::append(tx, &keys.audit, &now, &entry)?;
            Ok(())
        })?;
    }
    let updated_by = super::audit::label_seen_by(conn, actor, &s.updated_by)?;
    Ok(Some(if reveal {
        view(s, key, secret, updated_by)
    } else {
        view(s, mask(&key), mask(&secret), updated_by)
    }))
}

/// What a reader is shown of a stored row, with the keys as they may see them.
fn view(s: Stored, app_key: String, app_secret: String, updated_by: String) -> CredentialsView {
    CredentialsView {
        app_key,
        app_secret,
        validated_at: s.validated_at.as_deref().map(time::db_to_rfc3339),
        validation_status: s.validation_status,
        validation_message: s.validation_message,
        updated_at: time::db_to_rfc3339(&s.updated_at),
        updated_by,
    }
}

/// An application's read: in clear, and every read is a row the company sees. The
/// checks (company, link, scope), the read's mark and the audit row are one writer job,
/// so a link removed a moment before is never honoured and the row commits with the
/// read. The job reads with one statement and opens nothing: the keys are opened after
/// the commit, on the request's thread, so the one writer spends no time on them.
fn read_as_application(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    company_id: &str,
) -> Result<Option<(Stored, bool)>, AppError> {
    let Some(app) = actor.application_id() else {
        return Err(AppError::Forbidden);
    };
    let r = store::for_application(tx, app, company_id)?.ok_or(AppError::NotFound)?;
    super::hot::link_allows(
        Some(r.company_status),
        r.link_scopes.as_deref(),
        actor,
        "omie_credentials:read",
    )?;
    let Some(s) = r.stored else {
        return Ok(None);
    };
    let now = time::now_db();
    crate::db::applications::mark_credentials_read(tx, app, company_id, &now)?;
    let mut entry = actor.entry(Action::OmieCredentialsRead, "company", Some(company_id));
    entry.company_id = Some(company_id.to_string());
    audit::append(tx, &keys.audit, &now, &entry)?;
    Ok(Some((s, r.updated_by_platform)))
}

/// `GET …/omie-credentials`: an application's read is the hot path and goes straight to
/// the writer as one async job (no blocking-pool thread held); a person's runs on the
/// pool as before.
pub async fn get_for(
    app: &Arc<App>,
    actor: Actor,
    company_id: String,
    reveal: bool,
) -> Result<CredentialsView, AppError> {
    if actor.application_id().is_none() {
        return app
            .run(move |conn, app| read(conn, &app.keys, &actor, &company_id, reveal))
            .await
            .and_then(|v| v.ok_or(AppError::NotFound));
    }
    let keys = app.keys.clone();
    let (a, id) = (actor.clone(), company_id.clone());
    let view = app
        .pool
        .writer()
        .write(move |tx| read_as_application(tx, &keys, &a, &id))
        .await
        .and_then(|v| v.ok_or(AppError::NotFound))
        .and_then(|(s, by_platform)| {
            let (key, secret) = open_pair(&app.keys, &s)?;
            let updated_by = super::audit::label_seen_by_tenant(&s.updated_by, by_platform);
            Ok(view(s, key, secret, updated_by))
        });
    app.meter
        .outcome(&actor, &company_id, "omie_credentials.read", &view);
    view
}

/// (when, by whom, which key masked), newest first.
pub fn history(
    conn: &Connection,
    actor: &Actor,
    company_id: &str,
) -> Result<Vec<(String, String, String)>, AppError> {
    may_handle(conn, actor, company_id)?;
    store::history(conn, company_id)?
        .into_iter()
        .map(|(at, by, key)| Ok((at, super::audit::label_seen_by(conn, actor, &by)?, key)))
        .collect()
}

/// The outcome of a test call, as shown and stored.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TestOutcome {
    pub ok: bool,
    pub message: String,
    pub cnpj_matches: Option<bool>,
    pub checked_at: String,
    /// Answered from the last minute's result instead of calling Omie again.
    #[serde(skip)]
    pub cached: bool,
}

/// What a test needs, read (and opened) inside the database step.
#[derive(Clone)]
pub struct TestInput {
    pub company_id: String,
    pub company_cnpj: String,
    pub app_key: String,
    pub app_secret: String,
    pub fingerprint: String,
}

pub fn test_input(
    conn: &Connection,
    keys: &Keys,
    actor: &Actor,
    company_id: &str,
) -> Result<TestInput, AppError> {
    let c = may_change(conn, actor, company_id)?;
    let s = store::get(conn, &c.id)?.ok_or_else(|| {
        AppError::field(
            "app_key",
            "Cadastre as credenciais do Omie antes de testá-las.",
        )
    })?;
    let (app_key, app_secret) = open_pair(keys, &s)?;
    Ok(TestInput {
        company_id: c.id,
        company_cnpj: c.cnpj.as_str().to_string(),
        app_key,
        app_secret,
        fingerprint: s.fingerprint,
    })
}

/// Recent outcomes by credential fingerprint.
#[derive(Default)]
pub struct TestCache {
    map: Mutex<HashMap<String, (Instant, TestOutcome)>>,
}

impl TestCache {
    pub fn recent(&self, fingerprint: &str) -> Option<TestOutcome> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(fingerprint)
            .filter(|(at, _)| at.elapsed() < TEST_COOLDOWN)
            .map(|(_, o)| TestOutcome {
                cached: true,
                ..o.clone()
            })
    }

    pub fn put(&self, fingerprint: &str, outcome: &TestOutcome) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < TEST_COOLDOWN);
        map.insert(fingerprint.to_string(), (Instant::now(), outcome.clone()));
    }
}

/// Calls `ListarEmpresas` with the keys and explains the answer in Portuguese.
pub async fn call_omie(http: &reqwest::Client, base_url: &str, input: &TestInput) -> TestOutcome {
    let body = json!({
        "call": "ListarEmpresas",
        "app_key": input.app_key,
        "app_secret": input.app_secret,
        "param": [{ "pagina": 1, "registros_por_pagina": 1, "apenas_importado_api": "N" }],
    });
    let url = format!("{base_url}/geral/empresas/");
    let checked_at = time::now_db();
    let fail = |message: String| TestOutcome {
        ok: false,
        message,
        cnpj_matches: None,
        checked_at: checked_at.clone(),
        cached: false,
    };
    if !super::proxy::same_origin(base_url, &url) {
        return fail("O endereço do Omie configurado no servidor é inválido; as credenciais não foram enviadas.".into());
    }
    // The client follows no redirect (startup): the keys reach only OTM_OMIE_BASE_URL.
    let resp = match http.post(&url).json(&body).send().await {
        Ok(r) => r,
        Err(e) => {
            // The error text never holds the body, so no key reaches the log.
            tracing::warn!(error = %e.without_url(), "Omie test call failed");
            return fail("Não foi possível falar com o Omie agora (sem resposta). Tente de novo em alguns minutos.".into());
        }
    };
    let status = resp.status();
    if status.is_redirection() {
        tracing::warn!(
            status = status.as_u16(),
            "Omie test call answered with a redirect; not followed"
        );
        return fail(format!(
            "O Omie respondeu mandando para outro endereço (HTTP {}). Por segurança, as credenciais não foram enviadas para lá. Tente de novo mais tarde; se continuar, avise o suporte.",
            status.as_u16()
        ));
    }
    let value: serde_json::Value = match resp.json().await {
        Ok(v) => v,
        Err(_) => {
            return fail(format!(
                "O Omie respondeu de um jeito inesperado (HTTP {}). Tente de novo mais tarde.",
                status.as_u16()
            ));
        }
    };
    if let Some(fault) = value.get("faultstring").and_then(|f| f.as_str()) {
        let fault: String = fault.chars().take(300).collect();
        return fail(format!("O Omie recusou as credenciais: {fault}"));
    }
    if !status.is_success() {
        return fail(format!(
            "O Omie respondeu com erro (HTTP {}). Tente de novo mais tarde.",
            status.as_u16()
        ));
    }
    let omie_cnpj = value
        .get("empresas_cadastro")
        .and_then(|e| e.get(0))
        .and_then(|e| e.get("cnpj"))
        .and_then(|c| c.as_str())
        .map(cnpj_normalize);
    let matches = omie_cnpj.as_ref().map(|c| *c == input.company_cnpj);
    let message = match (&omie_cnpj, matches) {
        (Some(_), Some(true)) => {
            "Credenciais válidas: o Omie respondeu e o CNPJ confere com o desta empresa."
                .to_string()
        }
        (Some(c), _) => format!(
            "Credenciais válidas, mas ATENÇÃO: o Omie diz que elas são da empresa de CNPJ {}, diferente do CNPJ desta empresa. Confira se não foram coladas na empresa errada.",
            crate::domain::cnpj_format(c)
        ),
        (None, _) => {
            "Credenciais válidas: o Omie respondeu, mas não informou o CNPJ da empresa.".to_string()
        }
    };
    TestOutcome {
        ok: true,
        message,
        cnpj_matches: matches,
        checked_at,
        cached: false,
    }
}

/// Stores the outcome with the credentials it tested and writes the audit row.
pub fn record_test(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    input: &TestInput,
    o: &TestOutcome,
) -> Result<(), AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_input = input.to_owned();
    let w_o = o.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let input = &w_input;
        let o = &w_o;
        let status = if o.ok {
            crate::domain::ValidationStatus::Ok
        } else {
            crate::domain::ValidationStatus::Failed
        };
        store::record_validation(
            tx,
            &input.company_id,
            &o.checked_at,
            status,
            &o.message,
            &input.fingerprint,
        )?;
        let mut entry = actor.entry(
            Action::OmieCredentialsTest,
            "company",
            Some(&input.company_id),
        );
        entry.company_id = Some(input.company_id.clone());
        entry.details = json!({ "ok": o.ok, "cnpj_matches": o.cnpj_matches, "cached": o.cached });
        audit::append(tx, &keys.audit, &o.checked_at, &entry)?;
        Ok(())
    })
}

/// Everything a credential test needs from the server.
pub struct TestDeps<'a> {
    pub pool: &'a crate::db::Pool,
    pub keys: &'a Keys,
    pub http: &'a reqwest::Client,
    pub omie_base_url: &'a str,
    pub cache: &'a TestCache,
}

/// "Testar credenciais": calls Omie unless the same keys were tested in the last
/// minute, stores when and with what result, and audits it.
pub async fn test(
    d: TestDeps<'_>,
    actor: &Actor,
    company_id: &str,
) -> Result<TestOutcome, AppError> {
    let (keys, a, cid) = (d.keys.clone(), actor.clone(), company_id.to_string());
    let input = crate::db::run(d.pool, move |conn| test_input(conn, &keys, &a, &cid)).await?;
    let outcome = match d.cache.recent(&input.fingerprint) {
        Some(recent) => recent,
        None => {
            let o = call_omie(d.http, d.omie_base_url, &input).await;
            d.cache.put(&input.fingerprint, &o);
            o
        }
    };
    let (keys, a, o) = (d.keys.clone(), actor.clone(), outcome.clone());
    crate::db::run(d.pool, move |conn| record_test(conn, &keys, &a, &input, &o)).await?;
    Ok(outcome)
}

/// What the proxy needs to call Omie for a company: (app_key, app_secret, key id).
/// Applications need `omie:proxy` on an active linked company; platform users may too.
pub fn proxy_keys(
    conn: &Connection,
    keys: &Keys,
    actor: &Actor,
    company_id: &str,
) -> Result<(String, String, String), AppError> {
    if actor.application_id().is_some() {
        // The link check comes from the hot cache when it holds it.
        super::hot::app_may(conn, keys, actor, company_id, "omie:proxy")?;
    } else {
        let c = companies::get(conn, company_id)?.ok_or(AppError::NotFound)?;
        if !actor.is_platform() {
            return Err(if actor.company_id() == Some(company_id) {
                AppError::Forbidden
            } else {
                AppError::NotFound
            });
        }
        if c.status != crate::domain::CompanyStatus::Active {
            return Err(AppError::NotFound);
        }
    }
    let s = store::get(conn, company_id)?.ok_or_else(|| {
        AppError::field(
            "omie_credentials",
            "This company has no Omie credentials yet.",
        )
    })?;
    let (key, secret) = open_pair(keys, &s)?;
    Ok((key, secret, s.fingerprint))
}

/// Stores credentials and answers what people then see of them (masked).
pub fn put(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    company_id: &str,
    app_key: &str,
    app_secret: &str,
) -> Result<CredentialsView, AppError> {
    set(conn, keys, actor, company_id, app_key, app_secret)?;
    read(conn, keys, actor, company_id, false)?.ok_or(AppError::NotFound)
}

/// One call through the proxy, as the application sent it.
pub struct ProxyCall {
    pub company_id: String,
    pub endpoint: String,
    pub call: String,
    pub param: serde_json::Value,
}

/// Forwards an application's Omie call with the company's keys, within Omie's limits;
/// every call is metered (`omie:{call}`; `failed` when Omie failed; or `refused`: on the
/// company when it is one of the application's, else on the application's refusal
/// counter without the id).
pub async fn forward(
    app: &Arc<App>,
    actor: &Actor,
    c: ProxyCall,
) -> Result<Result<Answer, Refusal>, AppError> {
    if !valid_endpoint(&c.endpoint) {
        return Err(AppError::field(
            "endpoint",
            "endpoint must look like geral/clientes",
        ));
    }
    let call_ok = !c.call.is_empty()
        && c.call.len() <= 100
        && c.call
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !call_ok {
        return Err(AppError::field(
            "call",
            "call must be an Omie method name, e.g. ListarClientes",
        ));
    }
    let (a, cid) = (actor.clone(), c.company_id.clone());
    let keys = app
        .run(move |conn, app| proxy_keys(conn, &app.keys, &a, &cid))
        .await;
    if keys.is_err() {
        // Refused before Omie: on the company if it is one of the app's, else without the id.
        app.meter.outcome(actor, &c.company_id, "refused", &keys);
    }
    let (app_key, app_secret, key_id) = keys?;
    let result = app
        .proxy
        .call(
            &app.http,
            &app.settings.omie_base_url,
            &c.endpoint,
            &key_id,
            &app_key,
            &app_secret,
            &c.call,
            &c.param,
        )
        .await;
    // Our own limits refuse; Omie unreachable, timing out, blocking the keys or
    // answering with an error (HTTP 5xx, its faults) is a failure.
    let operation = match &result {
        Ok(a) if a.status >= 400 => super::usage::FAILED.to_string(),
        Ok(_) => format!("omie:{}", c.call),
        Err(Refusal::Busy(_)) => super::usage::REFUSED.to_string(),
        Err(Refusal::Blocked(_) | Refusal::Unavailable(_)) => super::usage::FAILED.to_string(),
    };
    app.meter.record(actor, &c.company_id, &operation);
    Ok(result)
}
