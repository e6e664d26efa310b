//! Notification preferences, the pending daily digest, and the held immediate mails
//! that repeats join (`services::notify`).

use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::notify::{Choice, Prefs};

pub fn prefs(conn: &Connection, user_id: &str) -> rusqlite::Result<Prefs> {
    let row: Option<(String, String, String, String)> = conn
        .query_row(
            "SELECT security, approvals, changes, system FROM notify_prefs WHERE user_id = ?1",
            [user_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let d = Prefs::default();
    Ok(match row {
        None => d,
        Some((s, a, c, y)) => Prefs {
            security: Choice::parse(&s).unwrap_or(d.security),
            approvals: Choice::parse(&a).unwrap_or(d.approvals),
            changes: Choice::parse(&c).unwrap_or(d.changes),
            system: Choice::parse(&y).unwrap_or(d.system),
        },
    })
}

pub fn set_prefs(conn: &Connection, user_id: &str, p: &Prefs, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO notify_prefs (user_id, security, approvals, changes, system, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id) DO UPDATE SET security = ?2, approvals = ?3, changes = ?4,
             system = ?5, updated_at = ?6",
        params![
            user_id,
            p.security.as_str(),
            p.approvals.as_str(),
            p.changes.as_str(),
            p.system.as_str(),
            now
        ],
    )?;
    Ok(())
}

/// A person of the platform who may be told: id, e-mail, name, role code.
pub struct Recipient {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
}

/// The active owners and staff.
pub fn recipients(conn: &Connection) -> rusqlite::Result<Vec<Recipient>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, email, name, role FROM users
         WHERE role IN ('owner', 'staff') AND status = 'active' ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Recipient {
            id: r.get(0)?,
            email: r.get(1)?,
            name: r.get(2)?,
            role: r.get(3)?,
        })
    })?;
    rows.collect()
}

pub fn add_digest(
    conn: &Connection,
    user_id: &str,
    audit_id: i64,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO notify_digest (user_id, audit_id, created_at) VALUES (?1, ?2, ?3)",
        params![user_id, audit_id, now],
    )?;
    Ok(())
}

/// People with rows waiting for their digest.
pub fn digest_people(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT user_id FROM notify_digest ORDER BY user_id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Takes (removes and answers) the audit ids waiting for one person's digest.
pub fn take_digest(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<i64>> {
    let ids: Vec<i64> = {
        let mut stmt = conn
            .prepare_cached("SELECT audit_id FROM notify_digest WHERE user_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([user_id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    conn.execute("DELETE FROM notify_digest WHERE user_id = ?1", [user_id])?;
    Ok(ids)
}

/// The latest held mail for (person, action, item): its id, outbox id and audit ids.
pub fn open_bundle(
    conn: &Connection,
    user_id: &str,
    action: &str,
    entity: &str,
    since: &str,
) -> rusqlite::Result<Option<(i64, i64, Vec<i64>)>> {
    let row: Option<(i64, i64, String)> = conn
        .query_row(
            "SELECT id, outbox_id, audit_ids FROM notify_bundle
             WHERE user_id = ?1 AND action = ?2 AND entity = ?3 AND created_at >= ?4
             ORDER BY id DESC LIMIT 1",
            params![user_id, action, entity, since],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(row.map(|(id, o, ids)| {
        let ids = ids
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        (id, o, ids)
    }))
}

pub fn new_bundle(
    conn: &Connection,
    user_id: &str,
    action: &str,
    entity: &str,
    outbox_id: i64,
    audit_id: i64,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO notify_bundle (user_id, action, entity, outbox_id, audit_ids, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            user_id,
            action,
            entity,
            outbox_id,
            audit_id.to_string(),
            now
        ],
    )?;
    Ok(())
}

pub fn grow_bundle(conn: &Connection, id: i64, audit_ids: &[i64]) -> rusqlite::Result<()> {
    let text = audit_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    conn.execute(
        "UPDATE notify_bundle SET audit_ids = ?2 WHERE id = ?1",
        params![id, text],
    )?;
    Ok(())
}

/// Bundles older than `before` can no longer be joined: forgotten.
pub fn prune_bundles(conn: &Connection, before: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM notify_bundle WHERE created_at < ?1", [before])
}
