//! SQL for the second factor: `mfa_factors` and `mfa_recovery_codes`.

use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug)]
pub struct Factor {
    pub user_id: String,
    pub secret_sealed: String,
    pub confirmed_at: Option<String>,
    pub last_step: i64,
    pub failures: i64,
    pub locked_until: Option<String>,
}

pub fn get(conn: &Connection, user_id: &str) -> rusqlite::Result<Option<Factor>> {
    conn.prepare_cached(
        "SELECT user_id, secret_sealed, confirmed_at, last_step, failures, locked_until
         FROM mfa_factors WHERE user_id = ?1",
    )?
    .query_row([user_id], |r| {
        Ok(Factor {
            user_id: r.get(0)?,
            secret_sealed: r.get(1)?,
            confirmed_at: r.get(2)?,
            last_step: r.get(3)?,
            failures: r.get(4)?,
            locked_until: r.get(5)?,
        })
    })
    .optional()
}

/// Whether the person has a confirmed second factor.
pub fn enabled(conn: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?1 AND confirmed_at IS NOT NULL)",
    )?
    .query_row([user_id], |r| r.get(0))
}

/// Starts (or restarts) an enrolment: a new unconfirmed secret. Refused by the caller
/// when a confirmed factor exists.
pub fn put_pending(
    conn: &Connection,
    user_id: &str,
    sealed: &str,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO mfa_factors (user_id, secret_sealed, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed,
             confirmed_at = NULL, last_step = 0, failures = 0, locked_until = NULL,
             updated_at = excluded.updated_at
         WHERE mfa_factors.confirmed_at IS NULL",
        params![user_id, sealed, now],
    )?;
    Ok(())
}

pub fn confirm(conn: &Connection, user_id: &str, now: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE mfa_factors SET confirmed_at = ?2, updated_at = ?2
         WHERE user_id = ?1 AND confirmed_at IS NULL",
        params![user_id, now],
    )
}

/// Takes `step` as used: succeeds (1) only when it is later than the last step taken,
/// atomically, so the same code can never be accepted twice.
pub fn take_step(
    conn: &Connection,
    user_id: &str,
    step: i64,
    now: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE mfa_factors SET last_step = ?2, failures = 0, locked_until = NULL, updated_at = ?3
         WHERE user_id = ?1 AND last_step < ?2",
        params![user_id, step, now],
    )
}

/// Counts a wrong code; returns the failures in a row now.
pub fn record_failure(conn: &Connection, user_id: &str, now: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "UPDATE mfa_factors SET failures = failures + 1, updated_at = ?2
         WHERE user_id = ?1 RETURNING failures",
        params![user_id, now],
        |r| r.get(0),
    )
}

pub fn lock(conn: &Connection, user_id: &str, until: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mfa_factors SET locked_until = ?2, failures = 0, updated_at = ?3 WHERE user_id = ?1",
        params![user_id, until, now],
    )?;
    Ok(())
}

pub fn clear_failures(conn: &Connection, user_id: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mfa_factors SET failures = 0, locked_until = NULL, updated_at = ?2 WHERE user_id = ?1",
        params![user_id, now],
    )?;
    Ok(())
}

/// Removes the factor and its recovery codes; returns whether there was a confirmed one.
pub fn delete(conn: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    let was = enabled(conn, user_id)?;
    conn.execute(
        "DELETE FROM mfa_recovery_codes WHERE user_id = ?1",
        [user_id],
    )?;
    conn.execute("DELETE FROM mfa_factors WHERE user_id = ?1", [user_id])?;
    Ok(was)
}

/// Replaces the person's recovery codes with these hashes.
pub fn replace_codes(
    conn: &Connection,
    user_id: &str,
    hashes: &[String],
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM mfa_recovery_codes WHERE user_id = ?1",
        [user_id],
    )?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)",
    )?;
    for h in hashes {
        stmt.execute(params![user_id, h, now])?;
    }
    Ok(())
}

/// Uses a recovery code: 1 when it existed and was unused (atomic, single use).
pub fn use_code(
    conn: &Connection,
    user_id: &str,
    hash: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE mfa_recovery_codes SET used_at = ?3
         WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
        params![user_id, hash, now],
    )
}

pub fn codes_left(conn: &Connection, user_id: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
        [user_id],
        |r| r.get(0),
    )
}

/// Every sealed secret, for a master key rotation.
pub fn all_sealed(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare("SELECT user_id, secret_sealed FROM mfa_factors")?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

pub fn reseal(conn: &Connection, user_id: &str, sealed: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mfa_factors SET secret_sealed = ?2 WHERE user_id = ?1",
        params![user_id, sealed],
    )?;
    Ok(())
}
