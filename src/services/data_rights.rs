//! LGPD for people: a person's export of everything about them (other people in it
//! pseudonymized), requests with the 15-day deadline of Art. 19 and their e-mails, the
//! owners' daily reminder, and the audit trail as CSV with or without personal data.

/// The rows this use case answers with, for the interfaces.
pub use crate::db::privacy_requests::Request;

use crate::db::Conn;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use chrono::Duration;
use rusqlite::Connection;
use serde_json::{Value, json};

use super::{Actor, Keys};
use crate::crypto::new_id;
use crate::db::{
    self, audit as audit_store, companies, privacy_requests as store, sessions, tokens,
};
use crate::db::{mfa as mfa_store, users as user_store};
use crate::domain::{Action, PrivacyKind, PrivacyStatus, Role};
use crate::email::{self, PrivacyOpened, PrivacyReminder, PrivacyResolved};
use crate::error::AppError;
use crate::time;

/// The export's format; raised when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;
/// Days a request may stay unanswered (LGPD Art. 19, II).
pub const DEADLINE_DAYS: i64 = 15;
/// The audit entries an export carries at most (newest first).
const EXPORT_EVENTS: usize = 10_000;
/// Longest message a person may write with a request.
const MESSAGE_MAX: usize = 2_000;

/// The trail's pseudonyms: the same person reads the same in the export, the anonymized
/// CSV and the erased audit rows.
pub use super::audit::pseudonym;

/// The privacy-notice versions the person accepted (version, where, when, from where).
fn consents_of(conn: &Connection, user_id: &str) -> Result<Vec<Value>, AppError> {
    Ok(super::privacy::acceptances_of(conn, user_id)?
        .into_iter()
        .map(|a| {
            serde_json::json!({
                "notice_version": a.notice_version,
                "context": a.context,
                "accepted_at": a.accepted_at,
                "ip": a.ip,
            })
        })
        .collect())
}

// ---------------------------------------------------------------------------------
// Scrubbing personal data out of audit rows.

/// Keys of audit details whose values name or reach a person (removed, or kept only
/// when they are the exported person's own).
const PERSONAL_KEYS: &[&str] = &[
    "name",
    "contact_name",
    "requester_name",
    "phone",
    "user_agent",
    "device",
    "ip",
];

/// Replaces people by pseudonyms: e-mails and person ids anywhere in a text, IP
/// addresses removed. `keep` is the exported person (their own data stays).
struct Scrubber<'a> {
    key: &'a [u8],
    /// Lower-case e-mail → person id.
    by_email: HashMap<String, String>,
    keep: Option<Own>,
}

struct Own {
    id: String,
    email: String,
    name: String,
}

fn is_token_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '(' | ')' | '<' | '>' | '|'))
}

/// An IP address in `t` (`1.2.3.4`, `::1`, `[::1]:443`, `1.2.3.4:80`, or a dotted quad
/// inside `ip=1.2.3.4`).
fn looks_like_ip(t: &str) -> bool {
    let t = t.trim_end_matches(['.', ':']);
    if t.parse::<IpAddr>().is_ok() || t.parse::<SocketAddr>().is_ok() {
        return true;
    }
    let bracketed = t.trim_start_matches('[').trim_end_matches(']');
    if bracketed.parse::<IpAddr>().is_ok() {
        return true;
    }
    t.split([':', '=', '/', '[', ']'])
        .any(|p| p.parse::<Ipv4Addr>().is_ok() || (p.contains('.') && dotted_quad(p)))
}

/// Four groups of digits separated by dots somewhere in `s`.
fn dotted_quad(s: &str) -> bool {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .any(|run| {
            let parts: Vec<&str> = run.split('.').collect();
            parts.windows(4).any(|w| {
                w.iter()
                    .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u16>().is_ok())
            })
        })
}

fn looks_like_email(t: &str) -> Option<String> {
    let t = t.trim_matches(|c: char| matches!(c, '.' | ':' | '[' | ']' | '{' | '}'));
    let (local, domain) = t.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !domain.starts_with('.'))
        .then(|| t.to_lowercase())
}

impl<'a> Scrubber<'a> {
    fn new(conn: &Connection, key: &'a [u8], keep: Option<Own>) -> Result<Self, AppError> {
        Ok(Self {
            key,
            by_email: store::people_by_email(conn)?.into_iter().collect(),
            keep,
        })
    }

    fn is_own_id(&self, id: &str) -> bool {
        self.keep.as_ref().is_some_and(|k| k.id == id)
    }

    /// The pseudonym of a person known by id.
    fn person(&self, id: &str) -> String {
        pseudonym(self.key, id)
    }

    /// The pseudonym of a person known by e-mail (their id's, when they have an account).
    fn email(&self, email: &str) -> String {
        let e = email.to_lowercase();
        match self.by_email.get(&e) {
            Some(id) => self.person(id),
            None => pseudonym(self.key, &e),
        }
    }

    /// How the actor of a row is shown.
    fn actor(&self, e: &audit_store::Entry) -> String {
        match (e.actor_type.as_str(), &e.actor_id) {
            ("user", Some(id)) if self.is_own_id(id) => self
                .keep
                .as_ref()
                .map(|k| k.email.clone())
                .unwrap_or_default(),
            ("user", Some(id)) => self.person(id),
            ("application", _) => e.actor_label.clone(),
            _ if e.actor_label.is_empty() || e.actor_label == "sistema" => "sistema".into(),
            _ => self.text(&e.actor_label, false),
        }
    }

    fn entity(&self, e: &audit_store::Entry) -> Option<String> {
        e.entity_id.as_deref().map(|id| self.text(id, false))
    }

    /// `s` with e-mails and person ids of others replaced, and IP addresses removed
    /// unless `keep_ips`.
    fn text(&self, s: &str, keep_ips: bool) -> String {
        let mut out = String::with_capacity(s.len());
        let mut token = String::new();
        let flush = |token: &mut String, out: &mut String| {
            if !token.is_empty() {
                out.push_str(&self.token(token, keep_ips));
                token.clear();
            }
        };
        for c in s.chars() {
            if is_token_char(c) {
                token.push(c);
            } else {
                flush(&mut token, &mut out);
                out.push(c);
            }
        }
        flush(&mut token, &mut out);
        out
    }

    fn token(&self, t: &str, keep_ips: bool) -> String {
        if let Some(email) = looks_like_email(t) {
            let own = self
                .keep
                .as_ref()
                .is_some_and(|k| k.email.eq_ignore_ascii_case(&email));
            return if own {
                t.to_string()
            } else {
                self.email(&email)
            };
        }
        if crate::domain::is_entity_id(t, "usr") {
            return if self.is_own_id(t) {
                t.to_string()
            } else {
                self.person(t)
            };
        }
        if !keep_ips && looks_like_ip(t) {
            return "[IP removido]".into();
        }
        t.to_string()
    }

    fn value(&self, v: &mut Value, keep_ips: bool) {
        match v {
            Value::String(s) => *s = self.text(s, keep_ips),
            Value::Array(items) => items.iter_mut().for_each(|i| self.value(i, keep_ips)),
            Value::Object(map) => {
                let own_name = self.keep.as_ref().map(|k| k.name.as_str());
                map.retain(|k, v| {
                    if !PERSONAL_KEYS.contains(&k.as_str()) {
                        return true;
                    }
                    // The person's own name (and, in their own actions, own address
                    // and browser) stays; anyone else's goes.
                    keep_ips && k != "name" || v.as_str().is_some_and(|s| Some(s) == own_name)
                });
                map.values_mut().for_each(|i| self.value(i, keep_ips));
            }
            _ => {}
        }
    }

    fn details(&self, raw: &str, keep_ips: bool) -> Value {
        let mut v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        self.value(&mut v, keep_ips);
        v
    }
}

// ---------------------------------------------------------------------------------
// Export.

fn owner_only(actor: &Actor) -> Result<(), AppError> {
    match actor.role() {
        Some(Role::Owner) => Ok(()),
        Some(Role::Staff) => Err(AppError::Forbidden),
        _ => Err(AppError::NotFound),
    }
}

/// Everything about a person as one JSON document: the signed-in person's own
/// (`person_id` `None`), or, for the owner only, anyone's. Audited as `privacy.export`.
pub fn export(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    person_id: Option<&str>,
) -> Result<Value, AppError> {
    let id = match person_id {
        None => actor.user_id().ok_or(AppError::NotFound)?.to_string(),
        Some(id) => {
            owner_only(actor)?;
            id.to_string()
        }
    };
    let u = user_store::get(conn, &id)?.ok_or(AppError::NotFound)?;
    let now = time::now_db();
    let scrub = Scrubber::new(
        conn,
        &keys.audit,
        Some(Own {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
        }),
    )?;

    let person = json!({
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "role": u.role.as_str(),
        "status": u.status.as_str(),
        "company_id": u.company_id,
        "created_at": time::db_to_rfc3339(&u.created_at),
        "last_login_at": u.last_login_at.as_deref().map(time::db_to_rfc3339),
        "mfa_enabled": mfa_store::enabled(conn, &u.id)?,
    });
    let company = match u.company_id.as_deref() {
        None => Value::Null,
        Some(cid) => match companies::get(conn, cid)? {
            None => Value::Null,
            Some(c) => {
                // The contact is often someone else: shown only when it is this person.
                let own_contact = c.email.eq_ignore_ascii_case(&u.email);
                json!({
                    "id": c.id,
                    "legal_name": c.legal_name,
                    "trade_name": c.trade_name,
                    "cnpj": c.cnpj.as_str(),
                    "status": c.status.as_str(),
                    "contact": if own_contact {
                        json!({"name": c.contact_name, "email": c.email, "phone": c.phone})
                    } else if c.email.is_empty() {
                        Value::Null
                    } else {
                        json!(scrub.email(&c.email))
                    },
                })
            }
        },
    };
    let mut session_rows: Vec<Value> = sessions::list_for_user(conn, &u.id)?
        .into_iter()
        .map(|(_, created, seen, ip, agent): sessions::Listed| {
            json!({
                "kind": "page",
                "created_at": time::db_to_rfc3339(&created),
                "last_seen_at": time::db_to_rfc3339(&seen),
                "ip": ip,
                "user_agent": agent,
            })
        })
        .collect();
    for (_, created, expires) in tokens::live_for_user(conn, &u.id, &now)? {
        session_rows.push(json!({
            "kind": "api_token",
            "created_at": time::db_to_rfc3339(&created),
            "expires_at": time::db_to_rfc3339(&expires),
        }));
    }
    let requests: Vec<Value> = store::for_user(conn, &u.id)?
        .iter()
        .map(request_json)
        .collect();
    let events: Vec<Value> = audit_store::about_person(conn, &u.id, &u.email, EXPORT_EVENTS)?
        .iter()
        .map(|e| {
            let by_person = e.actor_id.as_deref() == Some(u.id.as_str())
                || e.actor_label.eq_ignore_ascii_case(&u.email);
            json!({
                "id": e.id,
                "at": time::db_to_rfc3339(&e.at),
                "action": e.action,
                "what": Action::parse(&e.action).map(Action::label).unwrap_or(""),
                "by": scrub.actor(e),
                "by_you": by_person,
                "entity_type": e.entity_type,
                "entity_id": scrub.entity(e),
                "company_id": e.company_id,
                // Another person's address is theirs, not the exported person's.
                "ip": if by_person { e.ip.clone() } else { String::new() },
                "details": scrub.details(&e.details, by_person),
            })
        })
        .collect();
    let shared_with: Vec<Value> = match u.company_id.as_deref() {
        None => Vec::new(),
        Some(cid) => store::uses_of_company(conn, cid)?
            .into_iter()
            .map(|s| {
                let day = |d: &str| {
                    if d.len() > 10 {
                        time::db_to_rfc3339(d)
                    } else {
                        d.to_string()
                    }
                };
                json!({
                    "application_id": s.application_id,
                    "application": s.application_name,
                    "operation": s.operation,
                    "first": day(&s.first),
                    "last": day(&s.last),
                    "count": s.count,
                })
            })
            .collect(),
    };
    let doc = json!({
        "schema_version": SCHEMA_VERSION,
        "exported_at": time::db_to_rfc3339(&now),
        "person": person,
        "company": company,
        "sessions": session_rows,
        "consents": consents_of(conn, &u.id)?,
        "privacy_requests": requests,
        "events": events,
        "shared_with": shared_with,
    });
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let n_events = doc["events"].as_array().map_or(0, Vec::len);
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let mut entry = actor.entry(Action::PrivacyExport, "user", Some(&u.id));
        entry.company_id = u.company_id.clone();
        entry.details = json!({ "events": n_events });
        audit_store::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })?;
    Ok(doc)
}

/// A request as the export and the API show it.
pub fn request_json(r: &Request) -> Value {
    json!({
        "id": r.id,
        "kind": r.kind.as_str(),
        "status": r.status.as_str(),
        "message": r.message,
        "created_at": time::db_to_rfc3339(&r.created_at),
        "due_at": time::db_to_rfc3339(&r.due_at),
        "resolved_at": r.resolved_at.as_deref().map(time::db_to_rfc3339),
        "reason": r.reason,
    })
}

// ---------------------------------------------------------------------------------
// Requests.

/// Free text as people write it: trimmed, line breaks and tabs kept, other control
/// characters (which no one types and which could confuse a mail or a terminal) dropped.
fn free_text(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|&c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .trim()
        .to_string()
}

fn profile_link(base_url: &str, role: Role) -> String {
    let area = if role.is_platform() {
        "admin"
    } else {
        "portal"
    };
    format!("{}/{area}/profile", base_url.trim_end_matches('/'))
}

/// The person opens a request; it is due 15 days later. The person is e-mailed.
pub fn open_request(
    conn: &mut Conn,
    keys: &Keys,
    base_url: &str,
    actor: &Actor,
    kind: &str,
    message: &str,
) -> Result<Request, AppError> {
    let uid = actor.user_id().ok_or(AppError::NotFound)?.to_string();
    let kind = PrivacyKind::parse(kind).ok_or_else(|| {
        AppError::field(
            "kind",
            "Escolha: access, correction, erasure, portability ou information.",
        )
    })?;
    // The limit is on what was sent (as the API document says), before cleaning.
    if message.chars().count() > MESSAGE_MAX {
        return Err(AppError::field(
            "message",
            format!("Use no máximo {MESSAGE_MAX} caracteres."),
        ));
    }
    let message = free_text(message);
    let message = message.as_str();
    let u = user_store::get(conn, &uid)?.ok_or(AppError::NotFound)?;
    let now_t = time::now();
    let (now, due) = (
        time::to_db(now_t),
        time::to_db(now_t + Duration::days(DEADLINE_DAYS)),
    );
    let id = new_id("prq");
    let mail = PrivacyOpened {
        name: u.name.clone(),
        kind: kind.label().to_string(),
        opened: time::db_to_br(&now),
        due: time::db_to_br(&due),
        link: profile_link(base_url, u.role),
    }
    .to_outgoing(
        &u.email,
        "Recebemos o seu pedido sobre os seus dados (LGPD)".into(),
    )?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_kind = kind.to_owned();
    let w_message = message.to_owned();
    let w_id = id.clone();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let kind = w_kind;
        let id = w_id;
        let message = &w_message;
        store::insert(
            tx,
            &store::NewRequest {
                id: &id,
                user_id: &u.id,
                company_id: u.company_id.as_deref(),
                kind,
                message,
                created_at: &now,
                due_at: &due,
            },
        )?;
        email::queue(tx, &keys.ring, &mail, &now)?;
        let mut entry = actor.entry(Action::PrivacyRequestOpen, "privacy_request", Some(&id));
        entry.company_id = u.company_id.clone();
        entry.details = json!({ "kind": kind.as_str(), "due_at": due });
        audit_store::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })?;
    store::get(conn, &id)?.ok_or(AppError::NotFound)
}

/// The owner's and staff's queue.
pub fn list_requests(conn: &Connection, actor: &Actor) -> Result<Vec<Request>, AppError> {
    platform_person(actor)?;
    Ok(store::list(conn, 500)?)
}

/// The signed-in person's own requests.
pub fn my_requests(conn: &Connection, actor: &Actor) -> Result<Vec<Request>, AppError> {
    let uid = actor.user_id().ok_or(AppError::NotFound)?;
    Ok(store::for_user(conn, uid)?)
}

/// Owner and staff (people, not the system or an application).
fn platform_person(actor: &Actor) -> Result<(), AppError> {
    match actor.role() {
        Some(r) if r.is_platform() => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

/// Answers a request: `done`, or `refused` with a reason. The person is e-mailed.
pub fn resolve(
    conn: &mut Conn,
    keys: &Keys,
    base_url: &str,
    actor: &Actor,
    id: &str,
    outcome: &str,
    reason: &str,
) -> Result<Request, AppError> {
    platform_person(actor)?;
    let r = store::get(conn, id)?.ok_or(AppError::NotFound)?;
    let status = match outcome {
        "done" => PrivacyStatus::Done,
        "refused" => PrivacyStatus::Refused,
        _ => {
            return Err(AppError::field(
                "outcome",
                "Escolha se o pedido foi atendido (done) ou recusado (refused).",
            ));
        }
    };
    // The limit is on what was sent (as the API document says), before cleaning.
    if reason.chars().count() > MESSAGE_MAX {
        return Err(AppError::field(
            "reason",
            format!("Use no máximo {MESSAGE_MAX} caracteres."),
        ));
    }
    let reason = free_text(reason);
    if status == PrivacyStatus::Refused && reason.is_empty() {
        return Err(AppError::field(
            "reason",
            "Diga o motivo da recusa: a pessoa vai recebê-lo.",
        ));
    }
    if r.status != PrivacyStatus::Open {
        return Err(AppError::Conflict(vec![crate::error::FieldError::new(
            "outcome",
            "Este pedido já foi respondido.",
        )]));
    }
    let u = user_store::get(conn, &r.user_id)?.ok_or(AppError::NotFound)?;
    let now = time::now_db();
    let mail = PrivacyResolved {
        name: u.name.clone(),
        kind: r.kind.label().to_string(),
        opened: time::db_to_br(&r.created_at),
        done: status == PrivacyStatus::Done,
        reason: reason.clone(),
        link: profile_link(base_url, u.role),
    }
    .to_outgoing(
        &u.email,
        "Seu pedido sobre os seus dados (LGPD) foi respondido".into(),
    )?;
    let by = actor.user_id().unwrap_or_default().to_string();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_reason = reason.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let reason = &w_reason;
        if store::resolve(tx, id, status, reason, &by, &now)? == 0 {
            return Err(AppError::Conflict(vec![crate::error::FieldError::new(
                "outcome",
                "Este pedido já foi respondido.",
            )]));
        }
        email::queue(tx, &keys.ring, &mail, &now)?;
        let mut entry = actor.entry(Action::PrivacyRequestResolve, "privacy_request", Some(id));
        entry.company_id = r.company_id.clone();
        entry.details = json!({
            "kind": r.kind.as_str(),
            "outcome": status.as_str(),
            "late": now > r.due_at,
        });
        audit_store::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })?;
    store::get(conn, id)?.ok_or(AppError::NotFound)
}

/// Mails the owners about open requests due within `days`, once per request per São
/// Paulo day (one message per owner listing them all). Returns how many requests.
pub fn remind(conn: &mut Conn, keys: &Keys, base_url: &str, days: u64) -> Result<usize, AppError> {
    let now_t = time::now();
    let now = time::to_db(now_t);
    let until = time::to_db(now_t + Duration::days(i64::try_from(days).unwrap_or(3)));
    let today = now_t
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .format("%Y-%m-%d")
        .to_string();
    let due = store::due_unreminded(conn, &until, &today)?;
    if due.is_empty() {
        return Ok(0);
    }
    let owners = user_store::owner_emails(conn)?;
    let link = format!("{}/admin/privacidade", base_url.trim_end_matches('/'));
    let items: Vec<(String, String, String)> = due
        .iter()
        .map(|r| {
            (
                r.kind.label().to_string(),
                r.user_name.clone(),
                time::db_to_br(&r.due_at),
            )
        })
        .collect();
    let mut mails = Vec::new();
    for to in &owners {
        mails.push(
            PrivacyReminder {
                items: items.clone(),
                link: link.clone(),
            }
            .to_outgoing(to, "Pedidos LGPD perto do prazo".into())?,
        );
    }
    let w_keys = keys.to_owned();
    let n_due = due.len();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        for m in &mails {
            email::queue(tx, &keys.ring, m, &now)?;
        }
        for r in &due {
            store::mark_reminded(tx, &r.id, &today)?;
            let mut entry = Actor::system().entry(
                Action::PrivacyRequestReminder,
                "privacy_request",
                Some(&r.id),
            );
            entry.company_id = r.company_id.clone();
            entry.details = json!({ "due_at": r.due_at, "owners": owners.len() });
            audit_store::append(tx, &keys.audit, &now, &entry)?;
        }
        Ok(())
    })?;
    Ok(n_due)
}

// ---------------------------------------------------------------------------------
// The audit trail as CSV.

pub const AUDIT_CSV_HEADER_ANONYMIZED: &str =
    "id,at,actor_type,actor,action,what,entity_type,entity,company_id,details\n";
pub const AUDIT_CSV_HEADER_CLEAR: &str =
    "id,at,actor_type,actor_id,actor,action,what,entity_type,entity_id,company_id,ip,details\n";

/// The trail the actor may read, newest first, as CSV. Anonymized: each person a stable
/// pseudonym, no e-mail and no IP address anywhere (details included). Clear: the owner
/// only (staff are refused). Both audited as `audit.export`.
pub fn audit_csv(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    anonymized: bool,
) -> Result<String, AppError> {
    if !anonymized {
        match actor.role() {
            Some(Role::Owner) => {}
            _ => return Err(AppError::Forbidden),
        }
    }
    let scrub = Scrubber::new(conn, &keys.audit, None)?;
    let mut out = String::from(if anonymized {
        AUDIT_CSV_HEADER_ANONYMIZED
    } else {
        AUDIT_CSV_HEADER_CLEAR
    });
    let mut before = None;
    let mut rows = 0usize;
    loop {
        let filter = super::audit::Filter {
            before,
            ..Default::default()
        };
        let (page, more) = super::audit::list(conn, actor, filter, 1_000)?;
        for e in &page {
            let at = time::db_to_rfc3339(&e.at);
            let what = Action::parse(&e.action).map(Action::label).unwrap_or("");
            let id = e.id.to_string();
            if anonymized {
                let details = scrub.details(&e.details, false).to_string();
                out.push_str(&crate::csv::line(&[
                    id.as_str(),
                    &at,
                    &e.actor_type,
                    &scrub.actor(e),
                    &e.action,
                    what,
                    &e.entity_type,
                    &scrub.entity(e).unwrap_or_default(),
                    e.company_id.as_deref().unwrap_or(""),
                    &details,
                ]));
            } else {
                out.push_str(&crate::csv::line(&[
                    id.as_str(),
                    &at,
                    &e.actor_type,
                    e.actor_id.as_deref().unwrap_or(""),
                    &e.actor_label,
                    &e.action,
                    what,
                    &e.entity_type,
                    e.entity_id.as_deref().unwrap_or(""),
                    e.company_id.as_deref().unwrap_or(""),
                    &e.ip,
                    &e.details,
                ]));
            }
        }
        rows += page.len();
        match page.last() {
            Some(last) if more => before = Some(last.id),
            _ => break,
        }
    }
    let now = time::now_db();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let mut entry = actor.entry(Action::AuditExport, "audit", None);
        entry.company_id = actor.company_id().map(str::to_string);
        entry.details = json!({ "anonymized": anonymized, "rows": rows });
        audit_store::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber() -> Scrubber<'static> {
        Scrubber {
            key: b"k",
            by_email: HashMap::from([("ana@x.com.br".to_string(), "usr_ana".to_string())]),
            keep: None,
        }
    }

    #[test]
    fn emails_ids_and_addresses_leave_texts() {
        let s = scrubber();
        let t = s.text(
            "ana@x.com.br convidou Bob@Y.com (usr_bob) de 203.0.113.7 e [2001:db8::1]:443",
            false,
        );
        assert!(!t.contains('@'), "{t}");
        assert!(!t.contains("203.0.113.7") && !t.contains("2001:db8"), "{t}");
        assert!(!t.contains("usr_bob"), "{t}");
        // The same person is the same pseudonym, by id or by e-mail.
        assert!(t.starts_with(&pseudonym(b"k", "usr_ana")), "{t}");
        assert_eq!(s.text("usr_ana", false), pseudonym(b"k", "usr_ana"));
    }

    #[test]
    fn personal_keys_go_and_nested_values_are_scrubbed() {
        let s = scrubber();
        let v = s.details(
            r#"{"name":"Bob","ip":"10.0.0.1","to":{"email":"bob@y.com"},"list":["1.2.3.4"],"role":"staff"}"#,
            false,
        );
        let t = v.to_string();
        assert!(
            !t.contains("Bob") && !t.contains("10.0.0.1") && !t.contains("1.2.3.4"),
            "{t}"
        );
        assert!(!t.contains('@'), "{t}");
        assert_eq!(v["role"], "staff");
    }

    #[test]
    fn pseudonyms_are_stable_and_keyed() {
        assert_eq!(pseudonym(b"k", "usr_a"), pseudonym(b"k", "usr_a"));
        assert_ne!(pseudonym(b"k", "usr_a"), pseudonym(b"k", "usr_b"));
        assert_ne!(pseudonym(b"k", "usr_a"), pseudonym(b"j", "usr_a"));
        assert!(pseudonym(b"k", "usr_a").starts_with("Pessoa "));
    }
}
