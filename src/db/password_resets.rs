//! SQL for password-reset links.

use rusqlite::{Connection, OptionalExtension, params};

pub fn insert(
    conn: &Connection,
    token_hash: &str,
    user_id: &str,
    now: &str,
    expires_at: &str,
) -> rusqlite::Result<()> {
    // A new link replaces any older one of the same person.
    conn.execute(
        "DELETE FROM password_resets WHERE user_id = ?1 AND used_at IS NULL",
        [user_id],
    )?;
    conn.execute(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, user_id, now, expires_at],
    )?;
    Ok(())
}

/// The user of an unused, unexpired link.
pub fn live_user(
    conn: &Connection,
    token_hash: &str,
    now: &str,
) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT user_id FROM password_resets WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        params![token_hash, now],
        |r| r.get(0),
    )
    .optional()
}

/// Marks the link used; false when it was used already.
pub fn consume(conn: &Connection, token_hash: &str, now: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE password_resets SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
        params![token_hash, now],
    )? == 1)
}

/// A reset link's `(used_at, expires_at)` in any state, so a spent link can say why.
pub fn by_token(
    conn: &Connection,
    token_hash: &str,
) -> rusqlite::Result<Option<(Option<String>, String)>> {
    conn.query_row(
        "SELECT used_at, expires_at FROM password_resets WHERE token_hash = ?1",
        [token_hash],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}
