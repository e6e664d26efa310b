//! SQL for settings the owner changes on the dashboard, and the alert states.

use rusqlite::{Connection, OptionalExtension, params};

pub fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM app_settings WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
    .optional()
}

pub fn set(conn: &Connection, key: &str, value: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO app_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value, now],
    )?;
    Ok(())
}

/// Stores `value` only when the key has none yet; returns the stored value.
pub fn get_or_init(
    conn: &Connection,
    key: &str,
    value: &str,
    now: &str,
) -> rusqlite::Result<String> {
    conn.execute(
        "INSERT INTO app_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO NOTHING",
        params![key, value, now],
    )?;
    Ok(get(conn, key)?.unwrap_or_else(|| value.to_string()))
}

pub struct AlertState {
    pub kind: String,
    pub active: bool,
    pub changed_at: String,
    pub detail: String,
}

pub fn alerts(conn: &Connection) -> rusqlite::Result<Vec<AlertState>> {
    let mut stmt =
        conn.prepare_cached("SELECT kind, active, changed_at, detail FROM alerts ORDER BY kind")?;
    stmt.query_map([], |r| {
        Ok(AlertState {
            kind: r.get(0)?,
            active: r.get(1)?,
            changed_at: r.get(2)?,
            detail: r.get(3)?,
        })
    })?
    .collect()
}

pub fn set_alert(
    conn: &Connection,
    kind: &str,
    active: bool,
    detail: &str,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO alerts (kind, active, changed_at, detail) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind) DO UPDATE SET active = excluded.active,
             changed_at = excluded.changed_at, detail = excluded.detail",
        params![kind, active, now, detail],
    )?;
    Ok(())
}
