//! SQL for invitations.

use crate::domain::Role;
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub company_id: Option<String>,
    pub role: Role,
    /// The sender's e-mail as it was then (shown to the platform).
    pub invited_by: String,
    /// The sender's account; `None` when the system (the command line) sent it.
    pub invited_by_user_id: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub accepted_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Not stored: set by the use case that lists open invitations when this one no
    /// longer stands (its sender lost the right to invite, or its company its access).
    pub fallen: bool,
}

const COLUMNS: &str = "id, email, company_id, role, invited_by, created_at, expires_at, accepted_at, \
                       revoked_at, invited_by_user_id";

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
        invited_by_user_id: r.get(9)?,
        fallen: false,
    })
}

pub fn insert(conn: &Connection, inv: &Invitation, token_hash: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO invitations (id, token_hash, email, company_id, role, invited_by, created_at, expires_at,
                                  invited_by_user_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![inv.id, token_hash, inv.email, inv.company_id, inv.role, inv.invited_by, inv.created_at, inv.expires_at,
                inv.invited_by_user_id],
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

/// A revoked invitation (not accepted) for a token, so its link can say so.
pub fn revoked_by_token(
    conn: &Connection,
    token_hash: &str,
) -> rusqlite::Result<Option<Invitation>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM invitations WHERE token_hash = ?1 AND accepted_at IS NULL
             AND revoked_at IS NOT NULL"
        ),
        [token_hash],
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

/// A new token and a new expiry (resend): the old link stops working, and whoever
/// resent it is its sender from now on.
pub fn renew(conn: &Connection, inv: &Invitation, token_hash: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE invitations SET token_hash = ?2, expires_at = ?3, invited_by = ?4,
         invited_by_user_id = ?5 WHERE id = ?1",
        params![
            inv.id,
            token_hash,
            inv.expires_at,
            inv.invited_by,
            inv.invited_by_user_id
        ],
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

/// Invitations still open (not accepted or revoked) that one person sent.
pub fn open_sent_by(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<Invitation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE invited_by_user_id = ?1
         AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY created_at"
    ))?;
    let rows = stmt.query_map([user_id], from_row)?;
    rows.collect()
}

/// Whether a company already has an open invitation for this address (its own list).
pub fn open_for_email_in(
    conn: &Connection,
    email: &str,
    company_id: Option<&str>,
    now: &str,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM invitations WHERE email = ?1 AND company_id IS ?2
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?3)",
        params![email, company_id, now],
        |r| r.get(0),
    )
}

/// The invitation of a token in any state (open, accepted, revoked or expired), so a link
/// that no longer opens can say why.
pub fn by_token(conn: &Connection, token_hash: &str) -> rusqlite::Result<Option<Invitation>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM invitations WHERE token_hash = ?1"),
        [token_hash],
        from_row,
    )
    .optional()
}
