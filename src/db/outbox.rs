//! SQL for the e-mail outbox.

use rusqlite::{Connection, params};

#[derive(Clone, Debug)]
pub struct Queued {
    pub id: i64,
    pub created_at: String,
    pub kind: String,
    pub to_addr: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
    /// The bodies are sealed (see `email::queue`).
    pub sealed: bool,
    /// Set when the mailer gave up on it (a dead letter).
    pub gave_up_at: Option<String>,
    /// The base URL its links were made with (rewritten to the one in force when sent).
    pub link_base: Option<String>,
}

const COLUMNS: &str = "id, created_at, kind, to_addr, subject, text_body, html_body, status, attempts, \
                       next_attempt_at, last_error, sent_at, sealed, gave_up_at, link_base";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Queued> {
    Ok(Queued {
        id: r.get(0)?,
        created_at: r.get(1)?,
        kind: r.get(2)?,
        to_addr: r.get(3)?,
        subject: r.get(4)?,
        text_body: r.get(5)?,
        html_body: r.get(6)?,
        status: r.get(7)?,
        attempts: r.get(8)?,
        next_attempt_at: r.get(9)?,
        last_error: r.get(10)?,
        sent_at: r.get(11)?,
        sealed: r.get(12)?,
        gave_up_at: r.get(13)?,
        link_base: r.get(14)?,
    })
}

pub struct NewMail<'a> {
    pub kind: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub sealed: bool,
    pub link_base: Option<&'a str>,
}

pub fn insert(conn: &Connection, m: &NewMail<'_>, now: &str) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO outbox (created_at, kind, to_addr, subject, text_body, html_body, next_attempt_at, sealed,
                             link_base)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?1, ?7, ?8)",
        params![now, m.kind, m.to, m.subject, m.text, m.html, m.sealed, m.link_base],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Pending mail whose next attempt is due, oldest first (dead letters are not).
pub fn due(conn: &Connection, now: &str, limit: usize) -> rusqlite::Result<Vec<Queued>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND gave_up_at IS NULL AND next_attempt_at <= ?1
         ORDER BY next_attempt_at, id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now, limit as i64], from_row)?;
    rows.collect()
}

/// Marks a message sent and forgets its body (it may hold a single-use link).
pub fn mark_sent(conn: &Connection, id: i64, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL,
                text_body = '', html_body = ''
         WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn mark_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    next_attempt_at: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
        params![id, error, next_attempt_at],
    )?;
    Ok(())
}

/// Newest first, for the settings page.
pub fn recent(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Queued>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], from_row)?;
    rows.collect()
}

/// A message that will not be tried again: a dead letter, until someone retries it.
/// A message's status and its last error, if it is still there.
pub fn status(conn: &Connection, id: i64) -> rusqlite::Result<Option<(String, Option<String>)>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT status, last_error FROM outbox WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

pub fn give_up(conn: &Connection, id: i64, error: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, gave_up_at = ?3 WHERE id = ?1",
        params![id, error, now],
    )?;
    Ok(())
}

pub fn dead_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND gave_up_at IS NOT NULL",
        [],
        |r| r.get(0),
    )
}

/// Gives every dead letter a new set of attempts, due now.
pub fn retry_dead(conn: &Connection, now: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE outbox SET gave_up_at = NULL, attempts = 0, next_attempt_at = ?1
         WHERE status = 'pending' AND gave_up_at IS NOT NULL",
        [now],
    )
}

pub fn pending_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND gave_up_at IS NULL",
        [],
        |r| r.get(0),
    )
}

/// Makes every pending message due now (after the SMTP settings change, say).
pub fn retry_all_now(conn: &Connection, now: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE outbox SET next_attempt_at = ?1 WHERE status = 'pending'",
        [now],
    )
}

/// Keeps a just-queued message from leaving before `until` (an immediate notification
/// waits there for repeats to join it).
pub fn hold(conn: &Connection, id: i64, until: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1",
        params![id, until],
    )?;
    Ok(())
}

/// Rewrites a message that is still held (pending, never tried, not due before
/// `not_before`); false when it is already on its way, so the caller queues a new one.
pub fn replace_held(
    conn: &Connection,
    id: i64,
    subject: &str,
    text: &str,
    html: &str,
    not_before: &str,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE outbox SET subject = ?2, text_body = ?3, html_body = ?4
         WHERE id = ?1 AND status = 'pending' AND attempts = 0 AND gave_up_at IS NULL
           AND next_attempt_at > ?5",
        params![id, subject, text, html, not_before],
    )?;
    Ok(n == 1)
}
