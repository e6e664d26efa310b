//! SQL for API bearer tokens (stored as SHA-256 only).

use rusqlite::{Connection, OptionalExtension, params};

pub fn insert(
    conn: &Connection,
    token_hash: &str,
    user_id: &str,
    now: &str,
    expires_at: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, user_id, now, expires_at],
    )?;
    Ok(())
}

/// The user id of a live token: known, not revoked, not expired.
pub fn live_user(
    conn: &Connection,
    token_hash: &str,
    now: &str,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT user_id FROM api_tokens
         WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2",
    )?
    .query_row(params![token_hash, now], |r| r.get(0))
    .optional()
}

/// The user id and expiry of a live token: known, not revoked, not expired.
pub fn live_user_until(
    conn: &Connection,
    token_hash: &str,
    now: &str,
) -> rusqlite::Result<Option<(String, String)>> {
    conn.prepare_cached(
        "SELECT user_id, expires_at FROM api_tokens
         WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2",
    )?
    .query_row(params![token_hash, now], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

pub fn revoke(conn: &Connection, token_hash: &str, now: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        params![token_hash, now],
    )
}

pub fn delete_expired(conn: &Connection, now: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM api_tokens WHERE expires_at < ?1", [now])
}

pub fn revoke_for_user(conn: &Connection, user_id: &str, now: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![user_id, now],
    )
}

/// Revokes the live tokens of every person of a company (archiving it).
pub fn revoke_for_company(
    conn: &Connection,
    company_id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE api_tokens SET revoked_at = ?2
         WHERE revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE company_id = ?1)",
        params![company_id, now],
    )
}

/// (token_hash, created_at, expires_at) of a person's live tokens, newest first.
pub type Listed = (String, String, String);

pub fn live_for_user(conn: &Connection, user_id: &str, now: &str) -> rusqlite::Result<Vec<Listed>> {
    let mut stmt = conn.prepare_cached(
        "SELECT token_hash, created_at, expires_at FROM api_tokens
         WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2
         ORDER BY created_at DESC",
    )?;
    let rows = stmt.query_map(params![user_id, now], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    rows.collect()
}
