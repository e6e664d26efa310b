//! Applications: create, rotate and revoke secrets, link to companies with scopes, and
//! the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).

/// The rows this use case answers with, for the interfaces.
pub use crate::db::applications::{Application, LinkRow, SecretRow};

use crate::db::Conn;
use crate::domain::Action;
use chrono::Duration;
use rusqlite::Connection;
use serde_json::json;

/// Application tokens start with this, so the bearer check knows in one lookup
/// whether a person or an application asks.
pub const APP_TOKEN_PREFIX: &str = "oat_";

/// Hex digits of the issue time (milliseconds since 1970) that open a token's body.
const TOKEN_TIME_DIGITS: usize = 11;

/// The random part of a token body: 256 bits in URL-safe base64 ([`new_token`]); alone,
/// it is the whole body of a token issued before the time part existed.
const TOKEN_RANDOM_CHARS: usize = 43;

/// A new token's body (after `oat_`): the issue time in milliseconds, 11 hex digits, then
/// 256 random bits (URL-safe base64). The time part is not a secret (a JWT carries its
/// `iat` too); it is there so that [`token_key`]s grow with time.
fn new_app_token() -> String {
    let ms = time::now().timestamp_millis().max(0);
    format!("{ms:0w$x}{}", new_token(), w = TOKEN_TIME_DIGITS)
}

/// What `app_tokens.token_hash` holds for a token body: its time part followed by the
/// SHA-256 of the whole body. A key that grows with time goes at the end of the unique
/// index, so a group of new tokens writes one or two index pages instead of one random
/// page each (issue 14: about a WAL page per token before). Tokens issued before the time
/// part existed (43 characters, no time part) keep their plain SHA-256.
pub fn token_key(body: &str) -> String {
    let hash = sha256_hex(body.as_bytes());
    match body.get(..TOKEN_TIME_DIGITS) {
        Some(t)
            if body.len() == TOKEN_TIME_DIGITS + TOKEN_RANDOM_CHARS
                && t.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            format!("{t}{hash}")
        }
        _ => hash,
    }
}

use std::sync::Arc;

use super::app::App;
use super::{Actor, ActorKind, Keys};
use crate::crypto::{new_id, new_token, sha256_hex};
use crate::db::applications::{self as store};
use crate::db::{self, audit, companies};
use crate::domain::required_text;
use crate::error::AppError;
use crate::time;

pub const SCOPES: &[&str] = &["companies:read", "omie_credentials:read", "omie:proxy"];

/// What a scope lets an application do, in words: the one table every page uses.
pub fn scope_words(scope: &str) -> &'static str {
    match scope {
        "companies:read" => "Ler os dados cadastrais da empresa",
        "omie_credentials:read" => "Ler as credenciais do Omie da empresa",
        "omie:proxy" => "Chamar a API do Omie em nome da empresa",
        _ => "Permissão desconhecida",
    }
}

/// A stored scope list (space- or comma-separated) in words, one permission after the other.
pub fn scopes_in_words(list: &str) -> String {
    let words: Vec<&str> = list
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(scope_words)
        .collect();
    if words.is_empty() {
        "nenhuma permissão".to_string()
    } else {
        words.join("; ")
    }
}

/// Parses a space- or comma-separated scope list; every scope must be known.
pub fn parse_scopes(raw: &[String]) -> Result<String, AppError> {
    let mut out: Vec<&str> = Vec::new();
    for s in raw
        .iter()
        .flat_map(|s| s.split([' ', ',']))
        .filter(|s| !s.is_empty())
    {
        let known = SCOPES.iter().find(|k| **k == s).ok_or_else(|| {
            AppError::field("scopes", format!("Escopo desconhecido: {s}. Use companies:read, omie_credentials:read ou omie:proxy."))
        })?;
        if !out.contains(known) {
            out.push(known);
        }
    }
    if out.is_empty() {
        return Err(AppError::field("scopes", "Escolha ao menos um escopo."));
    }
    Ok(out.join(" "))
}

fn new_secret(tx: &Connection, app_id: &str, now: &str) -> Result<String, AppError> {
    let secret = new_token();
    let hint: String = secret
        .chars()
        .skip(secret.len().saturating_sub(4))
        .collect();
    store::insert_secret(
        tx,
        &new_id("sec"),
        app_id,
        &sha256_hex(secret.as_bytes()),
        &format!("…{hint}"),
        now,
    )?;
    Ok(secret)
}

/// Creates an application; returns it and its first client secret (shown once).
pub fn create(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    name: &str,
    description: &str,
) -> Result<(Application, String), AppError> {
    actor.platform_only()?;
    let name = required_text(name, 120, "Informe o nome da aplicação.")
        .map_err(|m| AppError::field("name", m))?;
    let description: String = description.trim().chars().take(500).collect();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_name = name.to_owned();
    let w_description = description.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let name = &w_name;
        let description = &w_description;
        let now = time::now_db();
        let app = Application {
            id: new_id("app"),
            name: name.clone(),
            description: description.clone(),
            client_id: new_id("cli"),
            status: crate::domain::ApplicationStatus::Active,
            created_at: now.clone(),
            last_used_at: None,
        };
        store::insert(tx, &app, &now)?;
        let secret = new_secret(tx, &app.id, &now)?;
        let mut entry = actor.entry(Action::ApplicationCreate, "application", Some(&app.id));
        entry.details = json!({ "name": app.name, "client_id": app.client_id });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok((app, secret))
    })
}

pub fn get(conn: &Connection, actor: &Actor, id: &str) -> Result<Application, AppError> {
    actor.platform_only()?;
    store::get(conn, id)?.ok_or(AppError::NotFound)
}

pub fn list(conn: &Connection, actor: &Actor) -> Result<Vec<Application>, AppError> {
    actor.platform_only()?;
    Ok(store::list(conn)?)
}

pub fn update(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<Application, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let (name, description) = (name.map(str::to_owned), description.map(str::to_owned));
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let (name, description) = (name.as_deref(), description.as_deref());
        let app = get(tx, actor, id)?;
        let name = match name {
            Some(n) => required_text(n, 120, "Informe o nome da aplicação.")
                .map_err(|m| AppError::field("name", m))?,
            None => app.name.clone(),
        };
        let description = description
            .map(|d| d.trim().chars().take(500).collect())
            .unwrap_or(app.description.clone());
        let now = time::now_db();
        store::update(tx, id, &name, &description, &now)?;
        let mut entry = actor.entry(Action::ApplicationUpdate, "application", Some(id));
        entry.details = json!({ "name": name });
        audit::append(tx, &keys.audit, &now, &entry)?;
        store::get(tx, id)?.ok_or(AppError::NotFound)
    })
}

/// Adds a second secret so the app can switch without downtime; at most two are active.
pub fn rotate_secret(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
) -> Result<(Application, String), AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let app = get(tx, actor, id)?;
        if app.status != crate::domain::ApplicationStatus::Active {
            return Err(AppError::field("status", "Esta aplicação foi revogada."));
        }
        if store::active_secret_count(tx, id)? >= 2 {
            return Err(AppError::field(
                "secret",
                "Esta aplicação já tem dois segredos ativos. Revogue o antigo depois que a aplicação passar a usar o novo.",
            ));
        }
        let now = time::now_db();
        let secret = new_secret(tx, id, &now)?;
        audit::append(
            tx,
            &keys.audit,
            &now,
            &actor.entry(Action::ApplicationSecretRotate, "application", Some(id)),
        )?;
        Ok((app, secret))
    })
}

/// Revokes one secret; tokens issued with it stop working at once.
pub fn revoke_secret(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    secret_id: &str,
) -> Result<(), AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_secret_id = secret_id.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let secret_id = &w_secret_id;
        get(tx, actor, id)?;
        let now = time::now_db();
        if store::revoke_secret(tx, id, secret_id, &now)? == 0 {
            return Err(AppError::NotFound);
        }
        let mut entry = actor.entry(Action::ApplicationSecretRevoke, "application", Some(id));
        entry.details = json!({ "secret_id": secret_id });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
    .inspect(|_| keys.hot.forget_application(id))
}

/// Revokes the application; all its tokens stop working at once.
pub fn revoke(conn: &mut Conn, keys: &Keys, actor: &Actor, id: &str) -> Result<(), AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        get(tx, actor, id)?;
        let now = time::now_db();
        store::revoke(tx, id, &now)?;
        audit::append(
            tx,
            &keys.audit,
            &now,
            &actor.entry(Action::ApplicationRevoke, "application", Some(id)),
        )?;
        Ok(())
    })
    .inspect(|_| keys.hot.forget_application(id))
}

/// Links an application to a company with scopes (replacing earlier scopes).
pub fn link(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    company_id: &str,
    app_id: &str,
    scopes: &[String],
) -> Result<String, AppError> {
    let scopes = parse_scopes(scopes)?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_company_id = company_id.to_owned();
    let w_app_id = app_id.to_owned();
    let w_scopes = scopes.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let company_id = &w_company_id;
        let app_id = &w_app_id;
        let scopes = &w_scopes;
        let app = get(tx, actor, app_id)?;
        let c = companies::get(tx, company_id)?
            .filter(|c| c.status != crate::domain::CompanyStatus::Archived)
            .ok_or(AppError::NotFound)?;
        let now = time::now_db();
        store::upsert_link(tx, &app.id, &c.id, scopes, &actor.label(), &now)?;
        let mut entry = actor.entry(Action::ApplicationLink, "application", Some(&app.id));
        entry.company_id = Some(c.id.clone());
        entry.details = json!({ "scopes": scopes, "client_id": app.client_id });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(scopes.clone())
    })
    .inspect(|_| keys.hot.forget_link(app_id, company_id))
}

/// Links an application to the company of a CNPJ as the owner typed it; returns the
/// CNPJ, for saying which company.
pub fn link_by_cnpj(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    cnpj: &str,
    app_id: &str,
    scopes: &[String],
) -> Result<crate::domain::Cnpj, AppError> {
    let cnpj = crate::domain::Cnpj::parse(cnpj).map_err(|m| AppError::field("cnpj", m))?;
    let company = companies::id_by_cnpj(conn, cnpj.as_str())?
        .ok_or_else(|| AppError::field("cnpj", "Nenhuma empresa cadastrada com este CNPJ."))?;
    link(conn, keys, actor, &company, app_id, scopes)?;
    Ok(cnpj)
}

/// Unlinks; the app's tokens stop reaching that company at once (access is checked
/// against links on every request).
pub fn unlink(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    company_id: &str,
    app_id: &str,
) -> Result<(), AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_company_id = company_id.to_owned();
    let w_app_id = app_id.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let company_id = &w_company_id;
        let app_id = &w_app_id;
        let own_admin = actor.role() == Some(crate::domain::Role::CompanyAdmin)
            && actor.company_id() == Some(company_id);
        if !actor.is_platform() && !own_admin {
            return Err(AppError::NotFound);
        }
        let now = time::now_db();
        if store::delete_link(tx, app_id, company_id)? == 0 {
            return Err(AppError::NotFound);
        }
        let mut entry = actor.entry(Action::ApplicationUnlink, "application", Some(app_id));
        entry.company_id = Some(company_id.to_string());
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
    .inspect(|_| keys.hot.forget_link(app_id, company_id))
}

/// Whether an application actor may use `scope` on a company whose status is known,
/// with the link read from SQL; the answer is [`super::hot::link_allows`]'s (404 not
/// linked or not active, 403 linked without the scope or the token without it).
pub fn link_check(
    conn: &Connection,
    actor: &Actor,
    company_id: &str,
    status: crate::domain::CompanyStatus,
    scope: &str,
) -> Result<(), AppError> {
    let Some(app_id) = actor.application_id() else {
        return Err(AppError::NotFound);
    };
    let scopes = store::link_scopes(conn, app_id, company_id)?;
    super::hot::link_allows(Some(status), scopes.as_deref(), actor, scope)
}

/// The scopes a token is granted (RFC 6749 §3.3): those asked for, or every scope of
/// the application when none is asked. An application may be given every known scope
/// (each link then grants a subset per company), so asking for an unknown scope is
/// `invalid_scope` (§5.2: "unknown, malformed, or exceeds the scope granted"), never
/// silently dropped. Answers the known scopes, each once, in their usual order.
pub fn granted_scope(requested: Option<&str>) -> Result<String, GrantError> {
    let app_scopes = SCOPES;
    let Some(asked) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(app_scopes.join(" "));
    };
    let parts: Vec<&str> = asked.split(' ').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| !app_scopes.contains(p)) {
        return Err(GrantError::InvalidScope);
    }
    Ok(app_scopes
        .iter()
        .filter(|s| parts.contains(s))
        .copied()
        .collect::<Vec<_>>()
        .join(" "))
}

/// RFC 6749 §5.2 errors of the token endpoint.
#[derive(Debug, PartialEq, Eq)]
pub enum GrantError {
    InvalidRequest(&'static str),
    InvalidClient,
    UnsupportedGrantType,
    InvalidScope,
    SlowDown(u64),
    /// The writer's queue stayed full past its deadline: 503, try again.
    Busy,
}

pub struct Grant<'a> {
    pub grant_type: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub scope: Option<&'a str>,
    pub ip: &'a str,
}

/// The client-credentials grant: returns (token, scope).
/// A token issued is one of the application's calls (`auth.token` in its usage).
///
/// The hot path: the checks that need no database run here, then ONE writer job looks
/// the client up, checks the secret, stores the token and its audit row (so a secret
/// revoked a moment before can never be honoured), and the answer comes once that job's
/// group committed. No blocking-pool thread is held meanwhile.
pub async fn issue_token(
    app: &Arc<App>,
    g: &Grant<'_>,
    ttl_secs: u64,
) -> Result<(String, String), GrantError> {
    if g.grant_type != "client_credentials" {
        return Err(if g.grant_type.is_empty() {
            GrantError::InvalidRequest("grant_type is required")
        } else {
            GrantError::UnsupportedGrantType
        });
    }
    if g.client_id.is_empty() || g.client_secret.is_empty() {
        return Err(GrantError::InvalidRequest(
            "client_id and client_secret are required",
        ));
    }
    let scope = granted_scope(g.scope)?;
    let token = new_app_token();
    let token_hash = token_key(&token);
    let secret_hash = sha256_hex(g.client_secret.as_bytes());
    let (client_id, ip) = (g.client_id.to_string(), g.ip.to_string());
    let a = Arc::clone(app);
    let issued = app
        .pool
        .writer()
        .write(move |tx| {
            // Client secrets are 256 random bits: guessing one is hopeless, so there is
            // no budget per client_id (which anyone could spend to keep the application
            // out), only one per address, counted before the check like a sign-in's.
            // Here, in the writer, reservation, check and clearing run one job at a time.
            let ik = format!("client-ip:{ip}");
            if let Err(wait) = a.throttle.reserve(&[&ik]) {
                return Ok(Err(GrantError::SlowDown(wait)));
            }
            let found = store::by_client_id(tx, &client_id)?
                .filter(|c| c.status == crate::domain::ApplicationStatus::Active)
                .map(|c| {
                    store::active_secret_by_hash(tx, &c.id, &secret_hash).map(|s| s.map(|s| (c, s)))
                })
                .transpose()?
                .flatten();
            let Some((application, secret_id)) = found else {
                return Ok(Err(GrantError::InvalidClient));
            };
            a.throttle.clear(&ik);
            let now_t = time::now();
            let now = time::to_db(now_t);
            let expires = time::to_db(now_t + Duration::seconds(ttl_secs as i64));
            store::insert_token(
                tx,
                &token_hash,
                &application.id,
                &secret_id,
                &scope,
                &now,
                &expires,
            )?;
            store::touch_secret(tx, &application.id, &secret_id, &now)?;
            // The application's sign-in, as auth.login is a person's.
            let actor = Actor {
                kind: ActorKind::Application {
                    id: application.id.clone(),
                    client_id: application.client_id.clone(),
                    scope: scope.clone(),
                    metered: Default::default(),
                },
                ip,
            };
            let mut entry = actor.entry(
                Action::ApplicationTokenIssue,
                "application",
                Some(&application.id),
            );
            entry.details = json!({ "scope": scope });
            audit::append(tx, &a.keys.audit, &now, &entry)?;
            Ok(Ok((application.id, scope)))
        })
        .await
        .map_err(|e| match e {
            AppError::Busy => GrantError::Busy,
            _ => GrantError::InvalidRequest("temporary failure, try again"),
        })?;
    let (app_id, scope) = issued?;
    app.meter.app_call(&app_id, "auth.token");
    Ok((format!("{}{token}", APP_TOKEN_PREFIX), scope))
}

pub fn secrets(
    conn: &Connection,
    actor: &Actor,
    id: &str,
) -> Result<Vec<store::SecretRow>, AppError> {
    get(conn, actor, id)?;
    Ok(store::secrets(conn, id)?)
}

/// An application ends its own token (`POST /auth/logout`).
pub fn revoke_own_token(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    token: &str,
) -> Result<(), AppError> {
    let raw = token_key(token.strip_prefix(APP_TOKEN_PREFIX).unwrap_or(token));
    let forget = raw.clone();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let now = time::now_db();
        store::revoke_token(tx, &raw, &now)?;
        let entry = actor.entry(
            Action::ApplicationLogout,
            "application",
            actor.application_id(),
        );
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
    .inspect(|_| keys.hot.forget_app_token(&forget))
}

pub fn links_of_app(
    conn: &Connection,
    actor: &Actor,
    id: &str,
) -> Result<Vec<store::LinkRow>, AppError> {
    get(conn, actor, id)?;
    Ok(store::links_of_app(conn, id)?)
}

/// Which applications reach a company: platform users and the company's admin.
pub fn links_of_company(
    conn: &Connection,
    actor: &Actor,
    company_id: &str,
) -> Result<Vec<store::LinkRow>, AppError> {
    let own_admin = actor.role() == Some(crate::domain::Role::CompanyAdmin)
        && actor.company_id() == Some(company_id);
    if !actor.is_platform() && !own_admin {
        return Err(AppError::NotFound);
    }
    Ok(store::links_of_company(conn, company_id)?)
}
