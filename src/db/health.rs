//! SQL for the health checks: each a count or a minimum through an index, so the
//! checks stay cheap however many companies there are.

use rusqlite::Connection;

/// The mail still waiting to go out.
pub struct MailQueue {
    pub pending: i64,
    /// When the oldest waiting message was queued.
    pub oldest: Option<String>,
    /// Waiting messages that were already tried and failed at least once.
    pub failing: i64,
}

pub fn mail_queue(conn: &Connection) -> rusqlite::Result<MailQueue> {
    conn.prepare_cached(
        "SELECT COUNT(*), MIN(created_at), COALESCE(SUM(attempts > 0), 0)
         FROM outbox INDEXED BY outbox_pending_by_age
         WHERE status = 'pending' AND gave_up_at IS NULL",
    )?
    .query_row([], |r| {
        Ok(MailQueue {
            pending: r.get(0)?,
            oldest: r.get(1)?,
            failing: r.get(2)?,
        })
    })
}

/// Calls to Omie through the proxy on `date` (São Paulo day): (answered, failed).
pub fn omie_calls(conn: &Connection, date: &str) -> rusqlite::Result<(i64, i64)> {
    conn.prepare_cached(
        "SELECT COALESCE(SUM(CASE WHEN operation LIKE 'omie:%' THEN count END), 0),
                COALESCE(SUM(CASE WHEN operation = 'failed' THEN count END), 0)
         FROM api_usage WHERE date = ?1",
    )?
    .query_row([date], |r| Ok((r.get(0)?, r.get(1)?)))
}

/// Active companies whose credentials failed their last test, counted up to `cap` (one
/// more than that means "more than `cap`"): the full count joins every failing row.
pub fn failing_credentials_capped(conn: &Connection, cap: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM (
           SELECT 1 FROM omie_credentials o INDEXED BY omie_credentials_by_validation
           JOIN companies c ON c.id = o.company_id
           WHERE o.validation_status = 'failed' AND c.status = 'active' LIMIT ?1)",
    )?
    .query_row([cap + 1], |r| r.get(0))
}
