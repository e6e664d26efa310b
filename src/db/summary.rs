//! SQL for the weekly summary report and the advanced reports: counts only, and
//! company names (no person's name or e-mail).

use rusqlite::{Connection, params};

/// How many audit rows of `action` were written at or after `since` (database time).
pub fn actions_since(conn: &Connection, action: &str, since: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM audit_log WHERE action = ?1 AND at >= ?2",
        params![action, since],
        |r| r.get(0),
    )
}

/// People waiting for approval: sign-ups to a known company, and requests to register
/// a new one.
pub fn people_pending(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT (SELECT COUNT(*) FROM users WHERE status = 'pending')
              + (SELECT COUNT(*) FROM company_requests WHERE status = 'pending')",
        [],
        |r| r.get(0),
    )
}

/// Names of the active companies whose Omie credentials failed their last test, by name.
pub fn failing_credentials(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(NULLIF(c.trade_name, ''), c.legal_name)
         FROM omie_credentials o JOIN companies c ON c.id = o.company_id
         WHERE o.validation_status = 'failed' AND c.status = 'active'
         ORDER BY c.sort_key",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Backups started at or after `since`: (succeeded, failed).
pub fn backups_since(conn: &Connection, since: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(
        "SELECT COALESCE(SUM(status = 'succeeded'), 0), COALESCE(SUM(status = 'failed'), 0)
         FROM backups WHERE started_at >= ?1",
        [since],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Names of the active companies with no application call since `since_day`
/// (`aaaa-mm-dd`), oldest-registered first, at most `limit`, and how many there are.
pub fn idle_companies(
    conn: &Connection,
    since_day: &str,
    limit: usize,
) -> rusqlite::Result<(Vec<String>, i64)> {
    let cond = "c.status = 'active' AND NOT EXISTS (
                    SELECT 1 FROM api_usage u WHERE u.company_id = c.id AND u.date >= ?1)";
    let total = conn.query_row(
        &format!("SELECT COUNT(*) FROM companies c WHERE {cond}"),
        [since_day],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT COALESCE(NULLIF(c.trade_name, ''), c.legal_name) FROM companies c
         WHERE {cond} ORDER BY c.sort_key LIMIT ?2"
    ))?;
    let names = stmt
        .query_map(params![since_day, limit as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok((names, total))
}
