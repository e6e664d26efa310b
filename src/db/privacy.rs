//! SQL for the LGPD records: notice acceptances, incidents, and the retention job's
//! deletions (each one statement, counted).

use rusqlite::{Connection, OptionalExtension, Row, params};

// ---- notice acceptances ------------------------------------------------------------

pub struct NewAcceptance<'a> {
    pub user_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub notice_version: &'a str,
    pub context: &'static str,
    pub accepted_at: &'a str,
    pub ip: &'a str,
}

pub fn record_acceptance(conn: &Connection, a: &NewAcceptance<'_>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO notice_acceptances (user_id, request_id, notice_version, context, accepted_at, ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![a.user_id, a.request_id, a.notice_version, a.context, a.accepted_at, a.ip],
    )?;
    Ok(())
}

/// The account made from an accepted sign-up request inherits the request's records.
pub fn acceptances_follow_request(
    conn: &Connection,
    request_id: &str,
    user_id: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE notice_acceptances SET user_id = ?2 WHERE request_id = ?1 AND user_id IS NULL",
        params![request_id, user_id],
    )
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Acceptance {
    pub notice_version: String,
    pub context: String,
    pub accepted_at: String,
    pub ip: String,
}

/// A person's acceptances, oldest first (for the export).
pub fn acceptances_of(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<Acceptance>> {
    conn.prepare(
        "SELECT notice_version, context, accepted_at, ip FROM notice_acceptances
         WHERE user_id = ?1 ORDER BY id",
    )?
    .query_map([user_id], |r| {
        Ok(Acceptance {
            notice_version: r.get(0)?,
            context: r.get(1)?,
            accepted_at: r.get(2)?,
            ip: r.get(3)?,
        })
    })?
    .collect()
}

// ---- incidents ---------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Incident {
    pub id: String,
    pub known_on: String,
    pub summary: String,
    pub data_affected: String,
    pub people_affected: String,
    pub risk: String,
    pub measures: String,
    pub anpd_notified_on: Option<String>,
    pub subjects_notified_on: Option<String>,
    pub communication: String,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
}

const INCIDENT_COLS: &str = "id, known_on, summary, data_affected, people_affected, risk, measures,
    anpd_notified_on, subjects_notified_on, communication, created_at, created_by, updated_at";

fn incident_row(r: &Row<'_>) -> rusqlite::Result<Incident> {
    Ok(Incident {
        id: r.get(0)?,
        known_on: r.get(1)?,
        summary: r.get(2)?,
        data_affected: r.get(3)?,
        people_affected: r.get(4)?,
        risk: r.get(5)?,
        measures: r.get(6)?,
        anpd_notified_on: r.get(7)?,
        subjects_notified_on: r.get(8)?,
        communication: r.get(9)?,
        created_at: r.get(10)?,
        created_by: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

pub fn insert_incident(conn: &Connection, i: &Incident) -> rusqlite::Result<()> {
    conn.execute(
        &format!("INSERT INTO incidents ({INCIDENT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
        params![
            i.id,
            i.known_on,
            i.summary,
            i.data_affected,
            i.people_affected,
            i.risk,
            i.measures,
            i.anpd_notified_on,
            i.subjects_notified_on,
            i.communication,
            i.created_at,
            i.created_by,
            i.updated_at
        ],
    )?;
    Ok(())
}

/// Records what was done and who was told; the description stays as registered.
pub fn update_incident_follow_up(conn: &Connection, i: &Incident) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE incidents SET measures = ?2, anpd_notified_on = ?3, subjects_notified_on = ?4,
                communication = ?5, updated_at = ?6 WHERE id = ?1",
        params![
            i.id,
            i.measures,
            i.anpd_notified_on,
            i.subjects_notified_on,
            i.communication,
            i.updated_at
        ],
    )
}

pub fn incident(conn: &Connection, id: &str) -> rusqlite::Result<Option<Incident>> {
    conn.query_row(
        &format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = ?1"),
        [id],
        incident_row,
    )
    .optional()
}

pub fn incidents(conn: &Connection) -> rusqlite::Result<Vec<Incident>> {
    conn.prepare(&format!(
        "SELECT {INCIDENT_COLS} FROM incidents ORDER BY known_on DESC, created_at DESC"
    ))?
    .query_map([], incident_row)?
    .collect()
}

// ---- retention ---------------------------------------------------------------------

/// API tokens of people and of applications past their expiry.
pub fn delete_expired_tokens(conn: &Connection, now: &str) -> rusqlite::Result<usize> {
    Ok(
        conn.execute("DELETE FROM api_tokens WHERE expires_at < ?1", [now])?
            + conn.execute("DELETE FROM app_tokens WHERE expires_at < ?1", [now])?,
    )
}

/// Sign-ups never approved since before `cutoff`, and refused ones refused before it:
/// the accounts, their records of the notice, and the requests for a new company that
/// were answered (or left unanswered) before it.
pub fn delete_stale_signups(conn: &Connection, cutoff: &str) -> rusqlite::Result<usize> {
    const STALE_USERS: &str = "SELECT id FROM users
        WHERE (status = 'pending' AND created_at < ?1)
           OR (status = 'disabled' AND rejected_at IS NOT NULL AND rejected_at < ?1)";
    conn.execute(
        &format!("DELETE FROM notice_acceptances WHERE user_id IN ({STALE_USERS})"),
        [cutoff],
    )?;
    let users = conn.execute(
        &format!("DELETE FROM users WHERE id IN ({STALE_USERS})"),
        [cutoff],
    )?;
    const STALE_REQUESTS: &str = "SELECT id FROM company_requests
        WHERE (status = 'pending' AND created_at < ?1)
           OR (status <> 'pending' AND decided_at < ?1)";
    conn.execute(
        &format!(
            "DELETE FROM notice_acceptances WHERE user_id IS NULL AND request_id IN ({STALE_REQUESTS})"
        ),
        [cutoff],
    )?;
    let requests = conn.execute(
        &format!("DELETE FROM company_requests WHERE id IN ({STALE_REQUESTS})"),
        [cutoff],
    )?;
    Ok(users + requests)
}

/// Reset and invitation links used, revoked or expired before `cutoff`.
pub fn delete_spent_links(conn: &Connection, cutoff: &str) -> rusqlite::Result<usize> {
    Ok(conn.execute(
        "DELETE FROM password_resets WHERE used_at < ?1 OR expires_at < ?1",
        [cutoff],
    )? + conn.execute(
        "DELETE FROM invitations WHERE accepted_at < ?1 OR revoked_at < ?1 OR expires_at < ?1",
        [cutoff],
    )?)
}

/// Access records older than `cutoff` outside the audit trail: known clients (IP,
/// device) and the IP of notice acceptances.
pub fn forget_access_records(conn: &Connection, cutoff: &str) -> rusqlite::Result<usize> {
    Ok(
        conn.execute("DELETE FROM known_clients WHERE last_at < ?1", [cutoff])?
            + conn.execute(
                "UPDATE notice_acceptances SET ip = '' WHERE ip <> '' AND accepted_at < ?1",
                [cutoff],
            )?,
    )
}

/// Mail sent (or given up on) before `cutoff`.
pub fn delete_old_mail(conn: &Connection, cutoff: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM outbox WHERE (status = 'sent' AND sent_at < ?1) OR gave_up_at < ?1",
        [cutoff],
    )
}
