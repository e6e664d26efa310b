//! SQL for server-side page sessions (the store behind actix-session, in
//! `web::session_store`). Rows are found by the SHA-256 of the session key, never by the key.

use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug)]
pub struct Session {
    pub id_hash: String,
    pub user_id: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub absolute_expires_at: String,
    pub ip: String,
    pub user_agent: String,
    /// The rest of the session state: a JSON object of JSON-encoded values.
    pub state: String,
}

/// What a new session row holds besides its times.
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user_id: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub state: &'a str,
}

pub fn insert(
    conn: &Connection,
    new: &NewSession<'_>,
    now: &str,
    absolute_expires_at: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions
           (id_hash, user_id, created_at, last_seen_at, absolute_expires_at, ip, user_agent, state)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        new.id_hash,
        new.user_id,
        now,
        absolute_expires_at,
        new.ip,
        new.user_agent,
        new.state
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, id_hash: &str) -> rusqlite::Result<Option<Session>> {
    conn.prepare_cached(
        "SELECT id_hash, user_id, created_at, last_seen_at, absolute_expires_at, ip, user_agent,
                state
         FROM sessions WHERE id_hash = ?1",
    )?
    .query_row([id_hash], |r| {
        Ok(Session {
            id_hash: r.get(0)?,
            user_id: r.get(1)?,
            created_at: r.get(2)?,
            last_seen_at: r.get(3)?,
            absolute_expires_at: r.get(4)?,
            ip: r.get(5)?,
            user_agent: r.get(6)?,
            state: r.get(7)?,
        })
    })
    .optional()
}

pub fn touch(conn: &Connection, id_hash: &str, now: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1")?
        .execute(params![id_hash, now])?;
    Ok(())
}

/// When the session was last seen, if it still exists.
pub fn last_seen(conn: &Connection, id_hash: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT last_seen_at FROM sessions WHERE id_hash = ?1")?
        .query_row([id_hash], |r| r.get(0))
        .optional()
}

/// Replaces the state of a session of `user_id` and marks it seen; 0 when there is no
/// such session (ended meanwhile, or it belongs to someone else).
pub fn update_state(
    conn: &Connection,
    id_hash: &str,
    user_id: &str,
    state: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE sessions SET state = ?3, last_seen_at = ?4 WHERE id_hash = ?1 AND user_id = ?2",
    )?
    .execute(params![id_hash, user_id, state, now])
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
