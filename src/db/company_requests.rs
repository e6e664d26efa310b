//! SQL for requests to register a company that does not exist yet.

use crate::domain::RequestStatus;
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Clone, Debug)]
pub struct Request {
    pub id: String,
    pub cnpj: String,
    pub requester_name: String,
    pub requester_email: String,
    pub password_hash: String,
    pub status: RequestStatus,
    pub reason: String,
    pub created_at: String,
}

const COLUMNS: &str =
    "id, cnpj, requester_name, requester_email, password_hash, status, reason, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Request> {
    Ok(Request {
        id: r.get(0)?,
        cnpj: r.get(1)?,
        requester_name: r.get(2)?,
        requester_email: r.get(3)?,
        password_hash: r.get(4)?,
        status: r.get(5)?,
        reason: r.get(6)?,
        created_at: r.get(7)?,
    })
}

pub fn insert(conn: &Connection, r: &Request) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO company_requests (id, cnpj, requester_name, requester_email, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![r.id, r.cnpj, r.requester_name, r.requester_email, r.password_hash, r.created_at],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Request>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM company_requests WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

pub fn pending_with_email(conn: &Connection, email: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM company_requests WHERE requester_email = ?1 AND status = 'pending')",
        [email],
        |r| r.get(0),
    )
}

pub fn pending(conn: &Connection) -> rusqlite::Result<Vec<Request>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM company_requests WHERE status = 'pending' ORDER BY created_at"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

pub fn pending_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COUNT(*) FROM company_requests WHERE status = 'pending'")?
        .query_row([], |r| r.get(0))
}

pub fn decide(
    conn: &Connection,
    id: &str,
    status: RequestStatus,
    reason: &str,
    by: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE company_requests SET status = ?2, reason = ?3, decided_by = ?4, decided_at = ?5,
                password_hash = ''
         WHERE id = ?1 AND status = 'pending'",
        params![id, status, reason, by, now],
    )
}
