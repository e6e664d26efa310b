//! SQL for the backup history.

use crate::domain::{BackupStatus, RemoteStatus};
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug)]
pub struct Backup {
    pub id: String,
    pub kind: String,
    pub status: BackupStatus,
    pub phase: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    pub db_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub duration_ms: Option<i64>,
    pub verified: bool,
    pub remote: Option<String>,
    pub remote_status: Option<RemoteStatus>,
    pub remote_error: Option<String>,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub requested_by: Option<String>,
    pub pruned_at: Option<String>,
}

const COLUMNS: &str = "id, kind, status, phase, started_at, finished_at, file_name, size_bytes, \
     db_bytes, sha256, duration_ms, verified, remote, remote_status, remote_error, error_code, \
     error, requested_by, pruned_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Backup> {
    Ok(Backup {
        id: r.get(0)?,
        kind: r.get(1)?,
        status: r.get(2)?,
        phase: r.get(3)?,
        started_at: r.get(4)?,
        finished_at: r.get(5)?,
        file_name: r.get(6)?,
        size_bytes: r.get(7)?,
        db_bytes: r.get(8)?,
        sha256: r.get(9)?,
        duration_ms: r.get(10)?,
        verified: r.get(11)?,
        remote: r.get(12)?,
        remote_status: r.get(13)?,
        remote_error: r.get(14)?,
        error_code: r.get(15)?,
        error: r.get(16)?,
        requested_by: r.get(17)?,
        pruned_at: r.get(18)?,
    })
}

pub fn insert_running(
    conn: &Connection,
    id: &str,
    kind: &str,
    requested_by: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO backups (id, kind, status, started_at, requested_by)
         VALUES (?1, ?2, 'running', ?3, ?4)",
        params![id, kind, now, requested_by],
    )?;
    Ok(())
}

pub fn set_phase(conn: &Connection, id: &str, phase: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE backups SET phase = ?2 WHERE id = ?1",
        params![id, phase],
    )?;
    Ok(())
}

/// What a finished run recorded.
pub struct Outcome<'a> {
    pub status: BackupStatus,
    pub file_name: Option<&'a str>,
    pub size_bytes: Option<i64>,
    pub db_bytes: Option<i64>,
    pub sha256: Option<&'a str>,
    pub duration_ms: i64,
    pub verified: bool,
    pub remote: Option<&'a str>,
    pub remote_status: Option<RemoteStatus>,
    pub remote_error: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub error: Option<&'a str>,
}

impl<'a> Outcome<'a> {
    pub fn failed(code: &'a str, error: &'a str) -> Self {
        Self {
            status: BackupStatus::Failed,
            file_name: None,
            size_bytes: None,
            db_bytes: None,
            sha256: None,
            duration_ms: 0,
            verified: false,
            remote: None,
            remote_status: None,
            remote_error: None,
            error_code: Some(code),
            error: Some(error),
        }
    }
}

pub fn finish(conn: &Connection, id: &str, o: &Outcome<'_>, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE backups SET status = ?2, phase = 'done', finished_at = ?3, file_name = ?4,
             size_bytes = ?5, db_bytes = ?6, sha256 = ?7, duration_ms = ?8, verified = ?9,
             remote = ?10, remote_status = ?11, remote_error = ?12, error_code = ?13, error = ?14
         WHERE id = ?1",
        params![
            id,
            o.status,
            now,
            o.file_name,
            o.size_bytes,
            o.db_bytes,
            o.sha256,
            o.duration_ms,
            o.verified,
            o.remote,
            o.remote_status,
            o.remote_error,
            o.error_code,
            o.error
        ],
    )?;
    Ok(())
}

/// Runs left `running` by a process that died: nothing can finish them any more.
pub fn fail_interrupted(conn: &Connection, now: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE backups SET status = 'failed', phase = 'done', finished_at = ?1,
             error_code = 'interrupted', error = 'the process stopped before the backup finished'
         WHERE status = 'running'",
        [now],
    )
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Backup>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM backups WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// Newest first; `before` is the (started_at, id) of the last row of the previous page.
pub fn list(
    conn: &Connection,
    before: Option<(&str, &str)>,
    limit: usize,
) -> rusqlite::Result<Vec<Backup>> {
    let (at, id) = before.unwrap_or(("~", "~"));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM backups WHERE (started_at, id) < (?1, ?2)
         ORDER BY started_at DESC, id DESC LIMIT ?3"
    ))?;
    stmt.query_map(params![at, id, limit as i64], from_row)?
        .collect()
}

pub fn running(conn: &Connection) -> rusqlite::Result<Option<Backup>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM backups WHERE status = 'running' ORDER BY started_at DESC LIMIT 1"
        ),
        [],
        from_row,
    )
    .optional()
}

pub fn last_good(conn: &Connection) -> rusqlite::Result<Option<Backup>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM backups WHERE status = 'succeeded'
             ORDER BY started_at DESC LIMIT 1"
        ),
        [],
        from_row,
    )
    .optional()
}

pub fn last_finished(conn: &Connection) -> rusqlite::Result<Option<Backup>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM backups WHERE status != 'running'
             ORDER BY started_at DESC LIMIT 1"
        ),
        [],
        from_row,
    )
    .optional()
}

/// The newest run that tried an off-site copy.
pub fn last_copy_attempt(conn: &Connection) -> rusqlite::Result<Option<Backup>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM backups WHERE remote_status IS NOT NULL
             ORDER BY started_at DESC LIMIT 1"
        ),
        [],
        from_row,
    )
    .optional()
}

/// Whether any run started at or after `at` (a scheduled slot is then taken care of).
pub fn started_since(conn: &Connection, at: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM backups WHERE started_at >= ?1)",
        [at],
        |r| r.get(0),
    )
}

/// Runs whose file is still kept and that started before `cutoff`, oldest first.
pub fn kept_before(conn: &Connection, cutoff: &str) -> rusqlite::Result<Vec<Backup>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM backups
         WHERE file_name IS NOT NULL AND pruned_at IS NULL AND status != 'running'
           AND started_at < ?1
         ORDER BY started_at"
    ))?;
    stmt.query_map([cutoff], from_row)?.collect()
}

pub fn mark_pruned(conn: &Connection, id: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE backups SET pruned_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}
