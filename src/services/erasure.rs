//! Erasure (LGPD, DESIGN.md §8.3): anonymizing a person or a company, scrubbing the
//! database files, and the erasure ledger that re-applies erasures after a restore.
//!
//! The ledger (`erasures.ledger` in the data dir, outside the database and so outside
//! every backup) holds one line per erasure: when, what kind (`user`/`company`) and the
//! id. Ids are random and say nothing about anyone. A restored older backup still holds
//! the people erased since; at start-up (and in `restore`) every ledger line whose
//! subject is not erased in the database is erased again before the server serves.

use crate::db::Conn;
use crate::db::Tx;
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::json;

use super::audit::pseudonym;
use super::{Actor, Keys};
use crate::db::audit::{self as trail, Subject};
use crate::db::companies::{self as company_store, Company};
use crate::db::erasure as store;
use crate::db::users::{self as user_store, User};
use crate::db::{self};
use crate::domain::{Action, Role, UserStatus};
use crate::error::AppError;
use crate::time;

/// Where the erasure ledger lives in a data dir.
pub fn ledger_path(data_dir: &Path) -> PathBuf {
    data_dir.join("erasures.ledger")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    pub kind: String,
    pub id: String,
}

fn record(data_dir: &Path, kind: &str, id: &str) -> Result<(), AppError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = ledger_path(data_dir);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| {
            AppError::Internal(anyhow::anyhow!("erasure ledger {}: {e}", path.display()))
        })?;
    writeln!(f, "{} {kind} {id}", time::now_db())
        .and_then(|()| f.sync_all())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("erasure ledger {}: {e}", path.display())))
}

/// The ledger's lines (none when there is no ledger yet).
pub fn ledger(data_dir: &Path) -> anyhow::Result<Vec<LedgerLine>> {
    let path = ledger_path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::anyhow!("erasure ledger {}: {e}", path.display())),
    };
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace().skip(1);
            match (parts.next(), parts.next()) {
                (Some(kind @ ("user" | "company")), Some(id)) => Some(LedgerLine {
                    kind: kind.to_string(),
                    id: id.to_string(),
                }),
                _ => None,
            }
        })
        .collect())
}

/// Who may anonymize `u`: the owner anyone but themselves and the last owner; staff the
/// companies' people; a company admin its own company's other people. Others: 404.
fn may_anonymize(conn: &Connection, actor: &Actor, u: &User) -> Result<(), AppError> {
    if actor.is_user(&u.id) {
        return Err(AppError::Conflict(vec![crate::error::FieldError::new(
            "id",
            "Você não pode anonimizar a sua própria conta; peça ao responsável pela plataforma.",
        )]));
    }
    let allowed = actor.is_platform()
        || (actor.role() == Some(Role::CompanyAdmin)
            && u.company_id.is_some()
            && u.company_id.as_deref() == actor.company_id());
    if !allowed {
        return Err(AppError::NotFound);
    }
    if u.role.is_platform() && actor.role() != Some(Role::Owner) {
        return Err(AppError::Forbidden);
    }
    if u.role == Role::Owner
        && u.status != UserStatus::Anonymized
        && user_store::active_owner_count(conn)? <= 1
    {
        return Err(AppError::field(
            "id",
            "É preciso haver ao menos um proprietário ativo.",
        ));
    }
    Ok(())
}

/// `POST /api/v1/users/{id}/anonymize`: the person's name and e-mail leave every table
/// and the database files, their sessions and tokens end, their audit rows keep only a
/// pseudonym. Recorded in the erasure ledger first, so a restore cannot bring them back.
pub fn anonymize_user(
    conn: &mut Conn,
    keys: &Keys,
    data_dir: &Path,
    actor: &Actor,
    id: &str,
) -> Result<User, AppError> {
    let u = user_store::get(conn, id)?.ok_or(AppError::NotFound)?;
    may_anonymize(conn, actor, &u)?;
    if u.status == UserStatus::Anonymized {
        return Ok(u);
    }
    record(data_dir, "user", &u.id)?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let out = db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let u = user_store::get(tx, id)?.ok_or(AppError::NotFound)?;
        erase_user_in(tx, keys, actor, &u, Action::PrivacyAnonymize)?;
        user_store::get(tx, id)?.ok_or(AppError::NotFound)
    })?;
    keys.hot.forget_user(id);
    scrub(conn);
    Ok(out)
}

/// `POST /api/v1/companies/{id}/anonymize` (owner): the company archived, its contact
/// erased, its people anonymized, its Omie credentials destroyed, its links removed.
pub fn anonymize_company(
    conn: &mut Conn,
    keys: &Keys,
    data_dir: &Path,
    actor: &Actor,
    id: &str,
) -> Result<Company, AppError> {
    // Who cannot see the company is told it does not exist; who can, that they may not.
    super::companies::get(conn, actor, id)?;
    if actor.role() != Some(Role::Owner) {
        return Err(AppError::Forbidden);
    }
    record(data_dir, "company", id)?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let out = db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        erase_company_in(tx, keys, actor, id, Action::PrivacyAnonymizeCompany)?;
        company_store::get(tx, id)?.ok_or(AppError::NotFound)
    })?;
    keys.hot.forget_company(id);
    scrub(conn);
    Ok(out)
}

fn erase_user_in(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    u: &User,
    action: Action,
) -> Result<(), AppError> {
    let now = time::now_db();
    let alias = pseudonym(&keys.audit, &u.id);
    let alias_email = format!("{}@anonimizado.invalid", u.id);
    super::sessions::sign_out_everywhere(tx, keys, actor, u)?;
    super::mailed_links::revoke_fallen(tx, keys, actor, Some(&u.id), None, &now)?;
    store::erase_user(tx, &u.id, &u.email, &u.name, &alias, &alias_email, &now)?;
    erase_sealed_mail(tx, keys, &[&u.email, &u.name])?;
    erase_trail(
        tx,
        keys,
        actor,
        action,
        ("user", &u.id),
        u.company_id.clone(),
        Some(&u.id),
        &[u.email.clone(), u.name.clone()],
        &alias,
    )
}

fn erase_company_in(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    action: Action,
) -> Result<(), AppError> {
    let (name, email, phone) = store::company_contact(tx, id)?.ok_or(AppError::NotFound)?;
    for uid in store::company_people(tx, id)? {
        if let Some(u) = user_store::get(tx, &uid)? {
            erase_user_in(tx, keys, actor, &u, Action::PrivacyAnonymize)?;
        }
    }
    let now = time::now_db();
    store::erase_company(tx, id, &now)?;
    let words: Vec<String> = [name, email, phone]
        .into_iter()
        .filter(|w| !w.trim().is_empty())
        .collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    store::erase_mail(tx, &refs)?;
    erase_sealed_mail(tx, keys, &refs)?;
    erase_trail(
        tx,
        keys,
        actor,
        action,
        ("company", id),
        Some(id.to_string()),
        None,
        &words,
        &pseudonym(&keys.audit, &format!("contact:{id}")),
    )
}

/// Mail whose sealed body mentions the words (a notice to the owners about the person,
/// say): opened one by one under the keyring, and removed when it does.
fn erase_sealed_mail(tx: &Connection, keys: &Keys, words: &[&str]) -> Result<(), AppError> {
    let words: Vec<String> = words
        .iter()
        .filter(|w| w.chars().count() >= 3)
        .map(|w| w.to_lowercase())
        .collect();
    if words.is_empty() {
        return Ok(());
    }
    for (id, sealed) in store::sealed_mail(tx)? {
        let Ok(text) = keys.ring.open_string(crate::email::BODY_AAD, &sealed) else {
            continue;
        };
        let text = text.to_lowercase();
        if words.iter().any(|w| text.contains(w.as_str())) {
            store::delete_mail(tx, id)?;
        }
    }
    Ok(())
}

/// Appends the erasing row (its facts: the subject's pseudonym, how many rows, and the
/// digest of their ids) and overwrites the personal part of those rows.
#[allow(clippy::too_many_arguments)]
fn erase_trail(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    action: Action,
    (entity_type, entity_id): (&'static str, &str),
    company_id: Option<String>,
    user_id: Option<&str>,
    words: &[String],
    subject: &str,
) -> Result<(), AppError> {
    let ids = trail::rows_involving(tx, &Subject { user_id, words })?;
    let mut entry = actor.entry(action, entity_type, Some(entity_id));
    entry.company_id = company_id;
    entry.facts = json!({
        "subject": subject,
        "erased_rows": ids.len(),
        "erased_digest": trail::erased_digest(&ids),
    });
    let eid = trail::append(tx, &keys.audit, &time::now_db(), &entry)?;
    super::audit::erase_rows(tx, &keys.audit, &ids, eid)
}

/// Empties the write-ahead log into the database file, so the erased bytes are in
/// neither; retried while readers hold old snapshots.
fn scrub(conn: &Conn) {
    for _ in 0..50 {
        // A checkpoint needs the read-write connection, outside any transaction.
        let done = db::Writer::maintenance_blocking(conn.as_ref(), |c| Ok(store::scrub_files(c)?));
        match done {
            Ok(true) => return,
            Ok(false) => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(e) => {
                tracing::warn!(error = %e, "checkpoint after an erasure failed");
                return;
            }
        }
    }
    tracing::warn!(
        "checkpoint after an erasure kept finding readers; the next one empties the log"
    );
}

/// Re-applies every erasure of the ledger that the database does not show (a restored
/// older backup): before the server serves, and in `restore`. Returns how many.
pub fn reapply(conn: &mut Conn, keys: &Keys, data_dir: &Path) -> anyhow::Result<usize> {
    let lines = ledger(data_dir)?;
    if lines.is_empty() {
        return Ok(0);
    }
    let actor = Actor::system_at("restauração");
    let w_keys = keys.to_owned();
    let n = db::write(conn, move |tx| {
        let keys = &w_keys;
        let mut n = 0;
        for l in &lines {
            match l.kind.as_str() {
                "user" => {
                    if let Some(u) = user_store::get(tx, &l.id)?
                        && u.status != UserStatus::Anonymized
                    {
                        erase_user_in(tx, keys, &actor, &u, Action::PrivacyReapply)?;
                        n += 1;
                    }
                }
                _ => {
                    if company_store::get(tx, &l.id)?.is_some()
                        && !store::company_erasure_recorded(tx, &l.id)?
                    {
                        erase_company_in(tx, keys, &actor, &l.id, Action::PrivacyReapply)?;
                        n += 1;
                    }
                }
            }
        }
        Ok(n)
    })
    .map_err(|e| anyhow::anyhow!("cannot re-apply erasures: {e:?}"))?;
    keys.hot.clear();
    if n > 0 {
        tracing::info!(
            erasures = n,
            "re-applied erasures the database did not show"
        );
        // An older file's free space may hold what was erased before it was written
        // with secure_delete: rebuild it (rare: only after a restore).
        if let Err(e) = db::Writer::maintenance_blocking(conn.as_ref(), |c| Ok(store::compact(c)?))
        {
            tracing::warn!(error = %e, "rebuilding the database after re-applied erasures failed");
        }
        scrub(conn);
    }
    Ok(n)
}
