//! SQL for the overview's attention list and first-steps checklist: counts that run
//! through indexes (see migration 0024), so the page stays cheap at 100,000 companies.

use rusqlite::{Connection, OptionalExtension, params};

/// Active companies without Omie credentials.
pub fn companies_without_credentials(conn: &Connection) -> rusqlite::Result<i64> {
    // The status index gives the active companies; each is one primary-key probe.
    conn.prepare_cached(
        "SELECT COUNT(*) FROM companies c INDEXED BY companies_by_status_name
         WHERE c.status = 'active'
           AND NOT EXISTS (SELECT 1 FROM omie_credentials o WHERE o.company_id = c.id)",
    )?
    .query_row([], |r| r.get(0))
}

/// Active companies whose credentials failed their last test.
pub fn companies_with_failed_credentials(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM omie_credentials o INDEXED BY omie_credentials_by_validation
         JOIN companies c ON c.id = o.company_id
         WHERE o.validation_status = 'failed' AND c.status = 'active'",
    )?
    .query_row([], |r| r.get(0))
}

/// An open invitation that expires soon.
pub struct Expiring {
    pub id: String,
    pub email: String,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
    pub expires_at: String,
}

/// Open invitations expiring in `(now, until]`, soonest first, at most `limit`, and how
/// many there are in all.
pub fn invitations_expiring(
    conn: &Connection,
    now: &str,
    until: &str,
    limit: usize,
) -> rusqlite::Result<(Vec<Expiring>, i64)> {
    let total = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM invitations INDEXED BY invitations_open_by_expiry
             WHERE accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?1 AND expires_at <= ?2",
        )?
        .query_row(params![now, until], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(
        "SELECT i.id, i.email, i.company_id, c.legal_name, i.expires_at
         FROM invitations i INDEXED BY invitations_open_by_expiry
         LEFT JOIN companies c ON c.id = i.company_id
         WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?1 AND i.expires_at <= ?2
         ORDER BY i.expires_at LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![now, until, limit as i64], |r| {
            Ok(Expiring {
                id: r.get(0)?,
                email: r.get(1)?,
                company_id: r.get(2)?,
                company_name: r.get(3)?,
                expires_at: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// When the oldest message still waiting in the outbox was queued.
pub fn oldest_queued(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT MIN(created_at) FROM outbox INDEXED BY outbox_pending_by_age
         WHERE status = 'pending' AND gave_up_at IS NULL",
    )?
    .query_row([], |r| r.get(0))
}

/// A test message left the server at some point.
pub fn test_mail_sent(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM outbox WHERE kind = 'test' AND status = 'sent' LIMIT 1")?
        .query_row([], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Some company was ever registered (archived ones count: the step was done).
pub fn any_company(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM companies LIMIT 1")?
        .query_row([], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Some application was ever created.
pub fn any_application(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM applications LIMIT 1")?
        .query_row([], |_| Ok(()))
        .optional()?
        .is_some())
}
