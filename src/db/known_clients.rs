//! SQL for the clients each person has signed in successfully from: addresses (`ip`)
//! and browsers (`device`, the SHA-256 of the device cookie).

use rusqlite::{Connection, params};

pub const IP: &str = "ip";
pub const DEVICE: &str = "device";

/// Whether `user_id` signed in from this client (of `kind`) at or after `since`.
pub fn known_since(
    conn: &Connection,
    user_id: &str,
    kind: &str,
    value: &str,
    since: &str,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM known_clients
         WHERE user_id = ?1 AND kind = ?2 AND value = ?3 AND last_at >= ?4)",
    )?
    .query_row(params![user_id, kind, value, since], |r| r.get(0))
}

/// Whether `user_id` has any known client at all (a first sign-in has none).
pub fn any(conn: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM known_clients WHERE user_id = ?1)")?
        .query_row([user_id], |r| r.get(0))
}

/// Records a successful sign-in from this client.
pub fn remember(
    conn: &Connection,
    user_id: &str,
    kind: &str,
    value: &str,
    now: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO known_clients (user_id, kind, value, first_at, last_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (user_id, kind, value) DO UPDATE SET last_at = excluded.last_at",
    )?
    .execute(params![user_id, kind, value, now])?;
    Ok(())
}

/// Forgets clients not seen since `cutoff` (housekeeping).
pub fn forget_before(conn: &Connection, cutoff: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM known_clients WHERE last_at < ?1", [cutoff])
}
