//! Reading and verifying the audit trail.

/// The rows this use case answers with, for the interfaces.
pub use crate::db::audit::{Entry, Filter};

use crate::db::Conn;
use std::collections::HashMap;

use rusqlite::Connection;

use super::Actor;
use crate::crypto::hmac_hex;
use crate::db::audit::{self as store, Verdict};
use crate::db::companies;
use crate::db::users as user_store;
use crate::domain::{Action, Cnpj, Role};
use crate::error::AppError;
use serde_json::json;

/// Platform users read everything; a company admin reads only its own company's
/// entries (it holds other people's e-mails and addresses, so company users read none).
pub fn list(
    conn: &Connection,
    actor: &Actor,
    mut filter: Filter,
    limit: usize,
) -> Result<(Vec<Entry>, bool), AppError> {
    if !actor.is_platform() {
        match (actor.role(), actor.company_id()) {
            (Some(Role::CompanyAdmin), Some(c)) => filter.company_id = Some(c.to_string()),
            _ => return Err(AppError::Forbidden),
        }
        // Filtering by who acted must not find what the masking hides.
        filter.tenant_team = Some(platform_team_label());
    } else if let Some(cnpj) = filter
        .company_id
        .as_deref()
        .and_then(|c| Cnpj::parse(c).ok())
    {
        // The owner knows companies by CNPJ, not by id: accept either.
        filter.company_id = Some(
            companies::id_by_cnpj(conn, cnpj.as_str())?
                .unwrap_or_else(|| cnpj.as_str().to_string()),
        );
    }
    let (mut rows, more) = store::list(conn, &filter, limit)?;
    if !actor.is_platform() {
        as_tenant_sees(conn, &mut rows)?;
    }
    Ok((rows, more))
}

/// The vendor's name as tenants read it: the owner's setting (see `services::vendor`),
/// or the product's name until one is set.
pub fn vendor_name() -> String {
    super::vendor::vendor_name()
}

/// How a client company's history names whatever the platform (its owner, its staff, or
/// the system itself) did: "Equipe <vendor>".
pub fn platform_team_label() -> String {
    format!("Equipe {}", vendor_name())
}

/// A "who did it" label (an e-mail, or "sistema") as `reader` may see it: to a client
/// company's people, the platform's owner, staff and the system are "Equipe <vendor>".
pub fn label_seen_by(conn: &Connection, reader: &Actor, label: &str) -> Result<String, AppError> {
    if reader.is_platform() {
        return Ok(label.to_string());
    }
    let person_of_platform =
        user_store::by_email(conn, label)?.is_some_and(|u| u.role.is_platform());
    Ok(label_seen_by_tenant(label, person_of_platform))
}

/// [`label_seen_by`] for a reader who is not of the platform, once it is known whether
/// `label` names a person of the platform.
pub fn label_seen_by_tenant(label: &str, person_of_platform: bool) -> String {
    if label.is_empty() || label == "sistema" || person_of_platform {
        platform_team_label()
    } else {
        label.to_string()
    }
}

/// Tenants see the platform as the platform: rows by the owner, staff or the system
/// name "Equipe <vendor>", with no person's id, e-mail or IP address. The company's own
/// people (and applications) keep their names.
fn as_tenant_sees(conn: &Connection, rows: &mut [Entry]) -> Result<(), AppError> {
    let mut platform_people: HashMap<String, bool> = HashMap::new();
    let mut is_platform = |id: &str| -> Result<bool, AppError> {
        if let Some(&p) = platform_people.get(id) {
            return Ok(p);
        }
        let p = user_store::get(conn, id)?.is_some_and(|u| u.role.is_platform());
        platform_people.insert(id.to_string(), p);
        Ok(p)
    };
    for e in rows.iter_mut() {
        let by_platform = match e.actor_type.as_str() {
            "user" => match &e.actor_id {
                Some(id) => is_platform(id)?,
                None => false,
            },
            "system" => {
                e.actor_label.is_empty()
                    || e.actor_label == "sistema"
                    || user_store::by_email(conn, &e.actor_label)?
                        .is_some_and(|u| u.role.is_platform())
            }
            _ => false,
        };
        if !by_platform {
            continue;
        }
        let team = platform_team_label();
        if !e.actor_label.is_empty() && e.actor_label != "sistema" {
            e.details = e.details.replace(&e.actor_label, &team);
        }
        if !e.ip.is_empty() {
            e.details = e.details.replace(&e.ip, "");
        }
        e.actor_type = "system".to_string();
        e.actor_id = None;
        e.actor_label = team;
        e.ip = String::new();
    }
    Ok(())
}

pub fn verify(conn: &Connection, audit_key: &[u8]) -> Result<Verdict, AppError> {
    Ok(store::verify(conn, audit_key)?)
}

/// A stable pseudonym for a person (or any subject id), e.g. "Pessoa 7F3A9C": a keyed
/// hash of the id, so the same person gets the same name across the trail, its exports
/// and reports, and nobody without the audit key can tell who it is.
pub fn pseudonym(audit_key: &[u8], subject_id: &str) -> String {
    let h = hmac_hex(audit_key, &[b"pseudonym-v1", subject_id.as_bytes()]);
    format!("Pessoa {}", h[..6].to_ascii_uppercase())
}

/// Overwrites the personal part of the rows `ids` on behalf of the erasing row `eid`
/// (already in the chain, its facts holding their digest): a person's label becomes
/// their pseudonym, an application keeps its id, the system reads "sistema".
pub fn erase_rows(
    tx: &Connection,
    audit_key: &[u8],
    ids: &[i64],
    eid: i64,
) -> Result<(), AppError> {
    store::erase_rows(tx, ids, eid, &|actor_id| match actor_id {
        Some(a) if a.starts_with("usr_") => pseudonym(audit_key, a),
        Some(a) => a.to_string(),
        None => "sistema".to_string(),
    })?;
    Ok(())
}

/// Brings a trail written before migration 0017 (personal data inside the hashed rows)
/// to the current format: verifies the old chain with the old rule, rebuilds it with
/// commitments to the personal parts, and records both facts in an `audit.rechain` row
/// (the old verdict and the old head's hash, so the old chain stays checkable against
/// any copy of it). A broken old chain is converted too (the server must run), and its
/// break is recorded in that row for good. Idempotent; one transaction.
pub fn upgrade(conn: &mut Conn, audit_key: &[u8]) -> Result<Option<Verdict>, AppError> {
    if !store::needs_rechain(conn)? {
        return Ok(None);
    }
    let w_audit_key = audit_key.to_owned();
    crate::db::write(conn, move |tx| {
        let audit_key = &w_audit_key;
        if !store::needs_rechain(tx)? {
            return Ok(None);
        }
        let old = store::verify_legacy(tx, audit_key)?;
        let (old_last_id, old_last_hash) = store::rechain(tx, audit_key)?;
        let verdict = match &old {
            Verdict::Intact { rows } => json!({ "legacy_verdict": "intact", "legacy_rows": rows }),
            Verdict::Broken { at_id, reason } => {
                tracing::error!(
                    at_id,
                    reason,
                    "the audit chain was broken before conversion"
                );
                json!({ "legacy_verdict": "broken", "legacy_broken_at": at_id, "legacy_reason": reason })
            }
        };
        let mut facts = verdict;
        facts["legacy_last_id"] = json!(old_last_id);
        facts["legacy_last_hash"] = json!(old_last_hash);
        let mut entry = Actor::system().entry(Action::AuditRechain, "audit", None);
        entry.facts = facts;
        store::append(tx, audit_key, &crate::time::now_db(), &entry)?;
        tracing::info!("audit trail converted to erasable personal parts");
        Ok(Some(old))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start-up conversion of an old trail: verified with the old rule, re-chained,
    /// recorded (old verdict and head) in an `audit.rechain` row, and run only once.
    #[test]
    fn an_old_trail_is_converted_once_and_the_conversion_is_on_record() {
        let key = b"old-audit-key";
        let (legacy, old_head) = crate::db::audit::tests::legacy_trail(key);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        legacy
            .execute("VACUUM INTO ?1", [path.to_str().unwrap()])
            .unwrap();
        // Migrations run on opening; the conversion goes through the writer.
        let pool = crate::db::open(&path, 2).unwrap();
        let mut c = pool.get().unwrap();
        let old = upgrade(&mut c, key).unwrap();
        assert_eq!(old, Some(Verdict::Intact { rows: 3 }));
        assert_eq!(verify(&c, key).unwrap(), Verdict::Intact { rows: 4 });
        let (action, facts): (String, String) = c
            .query_row(
                "SELECT action, facts FROM audit_log WHERE id = 4",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(action, "audit.rechain");
        assert!(
            facts.contains(&old_head) && facts.contains("intact"),
            "{facts}"
        );
        assert_eq!(upgrade(&mut c, key).unwrap(), None);
        assert_eq!(verify(&c, key).unwrap(), Verdict::Intact { rows: 4 });
    }

    #[test]
    fn pseudonyms_are_stable_per_person_and_keyed() {
        let a = pseudonym(b"k", "usr_a");
        assert_eq!(a, pseudonym(b"k", "usr_a"));
        assert!(
            a.starts_with("Pessoa ") && a.len() == "Pessoa ".len() + 6,
            "{a}"
        );
        assert_ne!(a, pseudonym(b"k", "usr_b"));
        assert_ne!(a, pseudonym(b"other", "usr_a"));
    }
}
