//! The audit trail: append with a keyed hash chain, list with filters, verify.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use crate::crypto::{constant_time_eq, hmac_hex};

const GENESIS: &str = "genesis";

/// What a use case records; the store adds id, time and chain.
#[derive(Clone, Debug, Default)]
pub struct NewEntry {
    pub actor_type: &'static str,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: Option<String>,
    pub company_id: Option<String>,
    pub ip: String,
    pub details: Value,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub company_id: Option<String>,
    pub ip: String,
    pub details: String,
    prev_hash: String,
    hash: String,
}

const COLUMNS: &str = "id, at, actor_type, actor_id, actor_label, action, entity_type, entity_id, \
                       company_id, ip, details, prev_hash, hash";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        at: r.get(1)?,
        actor_type: r.get(2)?,
        actor_id: r.get(3)?,
        actor_label: r.get(4)?,
        action: r.get(5)?,
        entity_type: r.get(6)?,
        entity_id: r.get(7)?,
        company_id: r.get(8)?,
        ip: r.get(9)?,
        details: r.get(10)?,
        prev_hash: r.get(11)?,
        hash: r.get(12)?,
    })
}

fn row_hash(key: &[u8], e: &Entry) -> String {
    let id = e.id.to_string();
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    hmac_hex(
        key,
        &[
            e.prev_hash.as_bytes(),
            id.as_bytes(),
            e.at.as_bytes(),
            e.actor_type.as_bytes(),
            opt(&e.actor_id).as_bytes(),
            e.actor_label.as_bytes(),
            e.action.as_bytes(),
            e.entity_type.as_bytes(),
            opt(&e.entity_id).as_bytes(),
            opt(&e.company_id).as_bytes(),
            e.ip.as_bytes(),
            e.details.as_bytes(),
        ],
    )
}

fn head_mac(key: &[u8], last_id: i64, last_hash: &str) -> String {
    hmac_hex(
        key,
        &[
            b"head",
            last_id.to_string().as_bytes(),
            last_hash.as_bytes(),
        ],
    )
}

/// Appends one entry. Must run inside the caller's write transaction so the entry commits
/// (or rolls back) with the change it describes.
pub fn append(conn: &Connection, key: &[u8], at: &str, new: &NewEntry) -> rusqlite::Result<i64> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT last_id, last_hash FROM audit_head WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (prev_id, prev_hash) = last.unwrap_or((0, GENESIS.to_string()));
    let mut e = Entry {
        id: prev_id + 1,
        at: at.to_string(),
        actor_type: new.actor_type.to_string(),
        actor_id: new.actor_id.clone(),
        actor_label: new.actor_label.clone(),
        action: new.action.to_string(),
        entity_type: new.entity_type.to_string(),
        entity_id: new.entity_id.clone(),
        company_id: new.company_id.clone(),
        ip: new.ip.clone(),
        details: new.details.to_string(),
        prev_hash,
        hash: String::new(),
    };
    e.hash = row_hash(key, &e);
    conn.execute(
        &format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"
        ),
        params![
            e.id,
            e.at,
            e.actor_type,
            e.actor_id,
            e.actor_label,
            e.action,
            e.entity_type,
            e.entity_id,
            e.company_id,
            e.ip,
            e.details,
            e.prev_hash,
            e.hash
        ],
    )?;
    conn.execute(
        "INSERT INTO audit_head (singleton, last_id, last_hash, mac) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET last_id = ?1, last_hash = ?2, mac = ?3",
        params![e.id, e.hash, head_mac(key, e.id, &e.hash)],
    )?;
    Ok(e.id)
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub company_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Entries with an id below this one (newest first).
    pub before: Option<i64>,
    /// Set when the reader is a client company, to the label it sees for the platform
    /// (its owner, staff, or the system): `actor` then matches the platform's rows only
    /// through that label, never through the e-mail or id the masking hides.
    pub tenant_team: Option<String>,
}

/// Rows by the platform: its owner or staff, or the system (as a client company's
/// history names them; `services::audit::as_tenant_sees`).
const BY_PLATFORM: &str = "((actor_type = 'user' AND actor_id IN \
    (SELECT id FROM users WHERE role IN ('owner', 'staff'))) \
    OR (actor_type = 'system' AND (actor_label = '' OR actor_label = 'sistema' \
    OR actor_label IN (SELECT email FROM users WHERE role IN ('owner', 'staff')))))";

/// Newest first; returns up to `limit` entries and whether more exist.
pub fn list(conn: &Connection, f: &Filter, limit: usize) -> rusqlite::Result<(Vec<Entry>, bool)> {
    let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE 1=1");
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(c) = &f.company_id {
        args.push(Box::new(c.clone()));
        sql.push_str(&format!(" AND company_id = ?{}", args.len()));
    }
    if let Some(a) = &f.actor {
        args.push(Box::new(a.clone()));
        let n = args.len();
        args.push(Box::new(format!("%{}%", escape_like(a))));
        let by_actor = format!(
            "(actor_id = ?{n} OR actor_label LIKE ?{} ESCAPE '\\')",
            args.len()
        );
        match &f.tenant_team {
            Some(team) => {
                let team_matches = team.to_lowercase().contains(&a.to_lowercase());
                args.push(Box::new(team_matches));
                sql.push_str(&format!(
                    " AND (CASE WHEN {BY_PLATFORM} THEN ?{} ELSE {by_actor} END)",
                    args.len()
                ));
            }
            None => sql.push_str(&format!(" AND {by_actor}")),
        }
    }
    if let Some(a) = &f.action {
        if let Some(prefix) = a.strip_suffix(".*") {
            args.push(Box::new(format!("{}.%", escape_like(prefix))));
            sql.push_str(&format!(" AND action LIKE ?{} ESCAPE '\\'", args.len()));
        } else {
            args.push(Box::new(a.clone()));
            sql.push_str(&format!(" AND action = ?{}", args.len()));
        }
    }
    if let Some(from) = &f.from {
        args.push(Box::new(from.clone()));
        sql.push_str(&format!(" AND at >= ?{}", args.len()));
    }
    if let Some(to) = &f.to {
        args.push(Box::new(to.clone()));
        sql.push_str(&format!(" AND at < ?{}", args.len()));
    }
    if let Some(b) = f.before {
        args.push(Box::new(b));
        sql.push_str(&format!(" AND id < ?{}", args.len()));
    }
    args.push(Box::new((limit + 1) as i64));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt
        .query_map(
            rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())),
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows, more))
}

pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub fn count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
}

/// The entries where a person acted (by id, or by e-mail before they had an account) or
/// was acted on, newest first, up to `limit`.
pub fn about_person(
    conn: &Connection,
    user_id: &str,
    email: &str,
    limit: usize,
) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM audit_log
         WHERE actor_id = ?1 OR entity_id = ?1 OR (actor_label = ?2 COLLATE NOCASE AND ?2 <> '')
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![user_id, email, limit as i64], from_row)?;
    rows.collect()
}

/// Entries in id order from `after` on, `limit` at a time (exports walk the whole trail).
pub fn batch_after(conn: &Connection, after: i64, limit: usize) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, limit as i64], from_row)?;
    rows.collect()
}

/// Outcome of walking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact { rows: u64 },
    Broken { at_id: i64, reason: String },
}

pub fn verify(conn: &Connection, key: &[u8]) -> rusqlite::Result<Verdict> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY id"))?;
    let mut rows = stmt.query([])?;
    let mut prev_hash = GENESIS.to_string();
    let mut prev_id = 0i64;
    let mut n = 0u64;
    while let Some(row) = rows.next()? {
        let e = from_row(row)?;
        if e.id != prev_id + 1 {
            return Ok(Verdict::Broken {
                at_id: e.id,
                reason: format!(
                    "row {} is missing (ids jump from {prev_id} to {})",
                    prev_id + 1,
                    e.id
                ),
            });
        }
        if e.prev_hash != prev_hash {
            return Ok(Verdict::Broken {
                at_id: e.id,
                reason: "does not link to the row before it".into(),
            });
        }
        if !constant_time_eq(row_hash(key, &e).as_bytes(), e.hash.as_bytes()) {
            return Ok(Verdict::Broken {
                at_id: e.id,
                reason: "contents were changed".into(),
            });
        }
        prev_hash = e.hash;
        prev_id = e.id;
        n += 1;
    }
    let head: Option<(i64, String, String)> = conn
        .query_row(
            "SELECT last_id, last_hash, mac FROM audit_head WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match head {
        None if n == 0 => Ok(Verdict::Intact { rows: 0 }),
        None => Ok(Verdict::Broken {
            at_id: prev_id,
            reason: "the chain head is missing".into(),
        }),
        Some((last_id, last_hash, mac)) => {
            if !constant_time_eq(
                head_mac(key, last_id, &last_hash).as_bytes(),
                mac.as_bytes(),
            ) {
                Ok(Verdict::Broken {
                    at_id: last_id,
                    reason: "the chain head was changed".into(),
                })
            } else if last_id != prev_id || last_hash != prev_hash {
                Ok(Verdict::Broken {
                    at_id: prev_id + 1,
                    reason: format!(
                        "rows after {prev_id} were removed (the chain ends at {last_id})"
                    ),
                })
            } else {
                Ok(Verdict::Intact { rows: n })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        c
    }

    fn entry(action: &'static str) -> NewEntry {
        NewEntry {
            actor_type: "system",
            action,
            details: serde_json::json!({"n": 1}),
            ..Default::default()
        }
    }

    #[test]
    fn intact_chain_verifies_and_tampering_is_caught() {
        let c = db();
        for _ in 0..5 {
            append(
                &c,
                b"k",
                "2026-01-01T00:00:00.000000Z",
                &entry("company.create"),
            )
            .unwrap();
        }
        assert_eq!(verify(&c, b"k").unwrap(), Verdict::Intact { rows: 5 });
        // a different key cannot vouch for the chain
        assert!(matches!(
            verify(&c, b"other").unwrap(),
            Verdict::Broken { at_id: 1, .. }
        ));

        c.execute(
            "UPDATE audit_log SET details = '{\"n\":2}' WHERE id = 3",
            [],
        )
        .unwrap();
        assert!(matches!(
            verify(&c, b"k").unwrap(),
            Verdict::Broken { at_id: 3, .. }
        ));
    }

    #[test]
    fn deleted_and_truncated_rows_are_caught() {
        let c = db();
        for _ in 0..4 {
            append(
                &c,
                b"k",
                "2026-01-01T00:00:00.000000Z",
                &entry("auth.login"),
            )
            .unwrap();
        }
        c.execute("DELETE FROM audit_log WHERE id = 4", []).unwrap();
        assert!(matches!(verify(&c, b"k").unwrap(), Verdict::Broken { .. }));
        c.execute("DELETE FROM audit_log WHERE id = 2", []).unwrap();
        assert!(matches!(
            verify(&c, b"k").unwrap(),
            Verdict::Broken { at_id: 3, .. }
        ));
    }
}
