//! SQL for invitations.

use crate::domain::Role;
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub company_id: Option<String>,
    pub role: Role,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub accepted_at: Option<String>,
    pub revoked_at: Option<String>,
}

const COLUMNS: &str =
    "id, email, company_id, role, invited_by, created_at, expires_at, accepted_at, revoked_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Invitation> {
    Ok(Invitation {
        id: r.get(0)?,
        email: r.get(1)?,
        company_id: r.get(2)?,
        role: r.get(3)?,
        invited_by: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        accepted_at: r.get(7)?,
        revoked_at: r.get(8)?,
    })
}

pub fn insert(conn: &Connection, inv: &Invitation, token_hash: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO invitations (id, token_hash, email, company_id, role, invited_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![inv.id, token_hash, inv.email, inv.company_id, inv.role, inv.invited_by, inv.created_at, inv.expires_at],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Invitation>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM invitations WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// An open invitation (not accepted, revoked or expired) for a token.
pub fn open_by_token(
    conn: &Connection,
    token_hash: &str,
    now: &str,
) -> rusqlite::Result<Option<Invitation>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM invitations WHERE token_hash = ?1 AND accepted_at IS NULL
             AND revoked_at IS NULL AND expires_at > ?2"
        ),
        params![token_hash, now],
        from_row,
    )
    .optional()
}

pub fn open_for_email(conn: &Connection, email: &str, now: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM invitations WHERE email = ?1 AND accepted_at IS NULL
         AND revoked_at IS NULL AND expires_at > ?2)",
        params![email, now],
        |r| r.get(0),
    )
}

/// A new token and a new expiry (resend): the old link stops working.
pub fn renew(
    conn: &Connection,
    id: &str,
    token_hash: &str,
    expires_at: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE invitations SET token_hash = ?2, expires_at = ?3 WHERE id = ?1",
        params![id, token_hash, expires_at],
    )?;
    Ok(())
}

pub fn revoke(conn: &Connection, id: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE invitations SET revoked_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn accept(conn: &Connection, id: &str, now: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE invitations SET accepted_at = ?2 WHERE id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL",
        params![id, now],
    )? == 1)
}

/// Invitations not yet accepted or revoked (expired ones included, so they can be resent),
/// for one company or, with `None`, for staff.
pub fn open_for_company(
    conn: &Connection,
    company_id: Option<&str>,
) -> rusqlite::Result<Vec<Invitation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE company_id IS ?1 AND accepted_at IS NULL AND revoked_at IS NULL
         ORDER BY created_at DESC"
    ))?;
    let rows = stmt.query_map([company_id], from_row)?;
    rows.collect()
}
