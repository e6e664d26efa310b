//! SQL for server-side page sessions.

use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug)]
pub struct Session {
    pub id_hash: String,
    pub user_id: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub absolute_expires_at: String,
}

pub fn insert(
    conn: &Connection,
    id_hash: &str,
    user_id: &str,
    now: &str,
    absolute_expires_at: &str,
    ip: &str,
    user_agent: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, absolute_expires_at, ip, user_agent)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
        params![id_hash, user_id, now, absolute_expires_at, ip, user_agent],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id_hash: &str) -> rusqlite::Result<Option<Session>> {
    conn.prepare_cached(
        "SELECT id_hash, user_id, created_at, last_seen_at, absolute_expires_at
         FROM sessions WHERE id_hash = ?1",
    )?
    .query_row([id_hash], |r| {
        Ok(Session {
            id_hash: r.get(0)?,
            user_id: r.get(1)?,
            created_at: r.get(2)?,
            last_seen_at: r.get(3)?,
            absolute_expires_at: r.get(4)?,
        })
    })
    .optional()
}

pub fn touch(conn: &Connection, id_hash: &str, now: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1")?
        .execute(params![id_hash, now])?;
    Ok(())
}

pub fn delete(conn: &Connection, id_hash: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])
}

/// Removes sessions idle since before `idle_cutoff` or past their absolute limit.
pub fn delete_expired(conn: &Connection, idle_cutoff: &str, now: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE last_seen_at < ?1 OR absolute_expires_at < ?2",
        params![idle_cutoff, now],
    )
}

/// Ends every session of a user, except `keep` (the caller's own) when given.
pub fn delete_for_user(
    conn: &Connection,
    user_id: &str,
    keep: Option<&str>,
) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND id_hash IS NOT ?2",
        params![user_id, keep],
    )
}

/// (id_hash, created_at, last_seen_at, ip, user_agent) of one session.
pub type Listed = (String, String, String, String, String);

/// A user's sessions, newest first.
pub fn list_for_user(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<Listed>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id_hash, created_at, last_seen_at, ip, user_agent FROM sessions
         WHERE user_id = ?1 ORDER BY last_seen_at DESC",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    rows.collect()
}

/// Ends the sessions of every person of a company (archiving it).
pub fn delete_for_company(conn: &Connection, company_id: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE company_id = ?1)",
        [company_id],
    )
}
