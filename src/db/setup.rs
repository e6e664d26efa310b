//! SQL for one-time setup links.

use rusqlite::{Connection, params};

/// Replaces every unused link with a new one: only the most recently printed link works.
pub fn replace(conn: &Connection, token_hash: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM setup_tokens WHERE used_at IS NULL", [])?;
    conn.execute(
        "INSERT INTO setup_tokens (token_hash, created_at) VALUES (?1, ?2)",
        params![token_hash, now],
    )?;
    Ok(())
}

pub fn is_usable(conn: &Connection, token_hash: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE token_hash = ?1 AND used_at IS NULL)",
        [token_hash],
        |r| r.get(0),
    )
}

/// Marks the link used; returns false when it was already used or never existed.
pub fn consume(conn: &Connection, token_hash: &str, now: &str) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE setup_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
        params![token_hash, now],
    )?;
    Ok(n == 1)
}
