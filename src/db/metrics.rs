//! What `/metrics` reads from the database at scrape time: counts and timestamps only,
//! each one indexed or a single-row read, so a scrape costs the same at any size.

use rusqlite::{Connection, OptionalExtension};

/// Mail waiting to go (dead letters left out) and the oldest one's creation time.
pub fn outbox_queue(conn: &Connection) -> rusqlite::Result<(i64, Option<String>)> {
    conn.query_row(
        "SELECT COUNT(*), MIN(created_at) FROM outbox
         WHERE status = 'pending' AND gave_up_at IS NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Dead letters: pending mail the mailer gave up on.
pub fn outbox_dead(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND gave_up_at IS NOT NULL",
        [],
        |r| r.get(0),
    )
}

/// The last successful backup: when it finished (or started) and its file's size.
pub fn last_backup(conn: &Connection) -> rusqlite::Result<Option<(String, Option<i64>)>> {
    conn.query_row(
        "SELECT COALESCE(finished_at, started_at), size_bytes FROM backups
         WHERE status = 'succeeded' ORDER BY started_at DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}
