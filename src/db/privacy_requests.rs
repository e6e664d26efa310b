//! SQL for LGPD requests (`privacy_requests`) and what a person's export reads besides
//! their own rows: which applications read their company's data.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::{PrivacyKind, PrivacyStatus};

#[derive(Clone, Debug)]
pub struct Request {
    pub id: String,
    pub user_id: String,
    pub company_id: Option<String>,
    pub kind: PrivacyKind,
    pub message: String,
    pub status: PrivacyStatus,
    pub created_at: String,
    pub due_at: String,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub reason: String,
    /// The person's name and e-mail (joined from `users`).
    pub user_name: String,
    pub user_email: String,
}

const SELECT: &str = "SELECT r.id, r.user_id, r.company_id, r.kind, r.message, r.status, \
     r.created_at, r.due_at, r.resolved_at, r.resolved_by, r.reason, u.name, u.email \
     FROM privacy_requests r JOIN users u ON u.id = r.user_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Request> {
    Ok(Request {
        id: r.get(0)?,
        user_id: r.get(1)?,
        company_id: r.get(2)?,
        kind: r.get(3)?,
        message: r.get(4)?,
        status: r.get(5)?,
        created_at: r.get(6)?,
        due_at: r.get(7)?,
        resolved_at: r.get(8)?,
        resolved_by: r.get(9)?,
        reason: r.get(10)?,
        user_name: r.get(11)?,
        user_email: r.get(12)?,
    })
}

pub struct NewRequest<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub company_id: Option<&'a str>,
    pub kind: PrivacyKind,
    pub message: &'a str,
    pub created_at: &'a str,
    pub due_at: &'a str,
}

pub fn insert(conn: &Connection, n: &NewRequest<'_>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO privacy_requests (id, user_id, company_id, kind, message, created_at, due_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            n.id,
            n.user_id,
            n.company_id,
            n.kind,
            n.message,
            n.created_at,
            n.due_at
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Request>> {
    conn.query_row(&format!("{SELECT} WHERE r.id = ?1"), [id], from_row)
        .optional()
}

/// Open requests first (nearest deadline first), then the answered ones, newest first.
pub fn list(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Request>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} ORDER BY (r.status = 'open') DESC,
           CASE WHEN r.status = 'open' THEN r.due_at END ASC, r.created_at DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], from_row)?;
    rows.collect()
}

pub fn for_user(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<Request>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE r.user_id = ?1 ORDER BY r.created_at DESC"
    ))?;
    let rows = stmt.query_map([user_id], from_row)?;
    rows.collect()
}

/// Closes an open request; 0 when it was not open (answered meanwhile).
pub fn resolve(
    conn: &Connection,
    id: &str,
    status: PrivacyStatus,
    reason: &str,
    by: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE privacy_requests SET status = ?2, reason = ?3, resolved_by = ?4, resolved_at = ?5
         WHERE id = ?1 AND status = 'open'",
        params![id, status, reason, by, now],
    )
}

/// Open requests due before `until` not yet reminded on `day`.
pub fn due_unreminded(conn: &Connection, until: &str, day: &str) -> rusqlite::Result<Vec<Request>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE r.status = 'open' AND r.due_at <= ?1
           AND (r.reminded_on IS NULL OR r.reminded_on <> ?2) ORDER BY r.due_at"
    ))?;
    let rows = stmt.query_map(params![until, day], from_row)?;
    rows.collect()
}

pub fn mark_reminded(conn: &Connection, id: &str, day: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE privacy_requests SET reminded_on = ?2 WHERE id = ?1",
        params![id, day],
    )?;
    Ok(())
}

/// One application's use of a company's data: an operation, its first and last day
/// and how many times.
#[derive(Clone, Debug)]
pub struct Use {
    pub application_id: String,
    pub application_name: String,
    pub operation: String,
    pub first: String,
    pub last: String,
    pub count: i64,
}

/// Which applications read the company's data and when: the audited reads of its Omie
/// credentials, and the calls counted per day.
pub fn uses_of_company(conn: &Connection, company_id: &str) -> rusqlite::Result<Vec<Use>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT a.actor_id, COALESCE(ap.name, a.actor_label), MIN(a.at), MAX(a.at), COUNT(*)
         FROM audit_log a LEFT JOIN applications ap ON ap.id = a.actor_id
         WHERE a.company_id = ?1 AND a.action = 'omie_credentials.read'
           AND a.actor_type = 'application'
         GROUP BY a.actor_id ORDER BY MAX(a.at) DESC",
    )?;
    let rows = stmt.query_map([company_id], |r| {
        Ok(Use {
            application_id: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
            application_name: r.get(1)?,
            operation: "omie_credentials.read".into(),
            first: r.get(2)?,
            last: r.get(3)?,
            count: r.get(4)?,
        })
    })?;
    for r in rows {
        out.push(r?);
    }
    let mut stmt = conn.prepare(
        "SELECT u.application_id, COALESCE(ap.name, ''), u.operation, MIN(u.date), MAX(u.date),
                SUM(u.count)
         FROM api_usage u LEFT JOIN applications ap ON ap.id = u.application_id
         WHERE u.company_id = ?1
         GROUP BY u.application_id, u.operation ORDER BY MAX(u.date) DESC, u.operation",
    )?;
    let rows = stmt.query_map([company_id], |r| {
        Ok(Use {
            application_id: r.get(0)?,
            application_name: r.get(1)?,
            operation: r.get(2)?,
            first: r.get(3)?,
            last: r.get(4)?,
            count: r.get(5)?,
        })
    })?;
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

/// Who is who, for pseudonyms: every person's id by e-mail (lower case).
pub fn people_by_email(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare("SELECT lower(email), id FROM users")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
