//! SQL for applications, their secrets, links and tokens.

use crate::domain::ApplicationStatus;
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Clone, Debug)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub description: String,
    pub client_id: String,
    pub status: ApplicationStatus,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

const COLUMNS: &str = "id, name, description, client_id, status, created_at, last_used_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Application> {
    Ok(Application {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        client_id: r.get(3)?,
        status: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
    })
}

pub fn insert(conn: &Connection, a: &Application, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO applications (id, name, description, client_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![a.id, a.name, a.description, a.client_id, now],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Application>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM applications WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

pub fn by_client_id(conn: &Connection, client_id: &str) -> rusqlite::Result<Option<Application>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM applications WHERE client_id = ?1"
    ))?
    .query_row([client_id], from_row)
    .optional()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Application>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM applications ORDER BY name, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

pub fn update(
    conn: &Connection,
    id: &str,
    name: &str,
    description: &str,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE applications SET name = ?2, description = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, name, description, now],
    )?;
    Ok(())
}

pub fn revoke(conn: &Connection, id: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE applications SET status = 'revoked', updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    conn.execute(
        "UPDATE app_tokens SET revoked_at = ?2 WHERE application_id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    Ok(())
}

/// (id, hint, created_at, last_used_at, revoked_at) of an application's secrets.
pub type SecretRow = (String, String, String, Option<String>, Option<String>);

pub fn secrets(conn: &Connection, app_id: &str) -> rusqlite::Result<Vec<SecretRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, hint, created_at, last_used_at, revoked_at FROM application_secrets
         WHERE application_id = ?1 ORDER BY created_at",
    )?;
    let rows = stmt.query_map([app_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    rows.collect()
}

pub fn insert_secret(
    conn: &Connection,
    id: &str,
    app_id: &str,
    hash: &str,
    hint: &str,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO application_secrets (id, application_id, secret_hash, hint, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, app_id, hash, hint, now],
    )?;
    Ok(())
}

pub fn active_secret_count(conn: &Connection, app_id: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM application_secrets WHERE application_id = ?1 AND revoked_at IS NULL",
        [app_id],
        |r| r.get(0),
    )
}

/// The active secret of `app_id` with this hash, if any.
pub fn active_secret_by_hash(
    conn: &Connection,
    app_id: &str,
    hash: &str,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT id FROM application_secrets WHERE application_id = ?1 AND secret_hash = ?2 AND revoked_at IS NULL",
    )?
    .query_row(params![app_id, hash], |r| r.get(0))
    .optional()
}

pub fn revoke_secret(
    conn: &Connection,
    app_id: &str,
    secret_id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    let n = conn.execute(
        "UPDATE application_secrets SET revoked_at = ?3 WHERE id = ?2 AND application_id = ?1 AND revoked_at IS NULL",
        params![app_id, secret_id, now],
    )?;
    conn.execute(
        "UPDATE app_tokens SET revoked_at = ?2 WHERE secret_id = ?1 AND revoked_at IS NULL",
        params![secret_id, now],
    )?;
    Ok(n)
}

pub fn touch_secret(
    conn: &Connection,
    app_id: &str,
    secret_id: &str,
    now: &str,
) -> rusqlite::Result<()> {
    // A mark to the second: within the same second the row is not written again (the
    // hot token route would otherwise rewrite the same two rows thousands of times).
    conn.prepare_cached(
        "UPDATE application_secrets SET last_used_at = ?2 WHERE id = ?1 \
         AND (last_used_at IS NULL OR substr(last_used_at, 1, 19) != substr(?2, 1, 19))",
    )?
    .execute(params![secret_id, now])?;
    conn.prepare_cached(
        "UPDATE applications SET last_used_at = ?2 WHERE id = ?1 \
         AND (last_used_at IS NULL OR substr(last_used_at, 1, 19) != substr(?2, 1, 19))",
    )?
    .execute(params![app_id, now])?;
    Ok(())
}

pub fn insert_token(
    conn: &Connection,
    hash: &str,
    app_id: &str,
    secret_id: &str,
    scope: &str,
    now: &str,
    expires: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO app_tokens (token_hash, application_id, secret_id, scope, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(params![hash, app_id, secret_id, scope, now, expires],
    )?;
    Ok(())
}

/// A live token's (application id, client id, scope), and its expiry.
pub type LiveToken = ((String, String, String), String);

/// The application and scope of a live token (not expired or revoked, and neither its
/// secret nor its application revoked), and the token's expiry.
pub fn live_token_until(
    conn: &Connection,
    hash: &str,
    now: &str,
) -> rusqlite::Result<Option<LiveToken>> {
    conn.prepare_cached(
        "SELECT a.id, a.client_id, t.scope, t.expires_at FROM app_tokens t
         JOIN applications a ON a.id = t.application_id
         JOIN application_secrets s ON s.id = t.secret_id
         WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND t.expires_at > ?2
           AND a.status = 'active' AND s.revoked_at IS NULL",
    )?
    .query_row(params![hash, now], |r| {
        Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?))
    })
    .optional()
}

/// The scopes an application holds on a company, if linked.
pub fn link_scopes(
    conn: &Connection,
    app_id: &str,
    company_id: &str,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT scopes FROM application_links WHERE application_id = ?1 AND company_id = ?2",
    )?
    .query_row(params![app_id, company_id], |r| r.get(0))
    .optional()
}

pub fn upsert_link(
    conn: &Connection,
    app_id: &str,
    company_id: &str,
    scopes: &str,
    by: &str,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO application_links (application_id, company_id, scopes, granted_by, granted_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (application_id, company_id) DO UPDATE SET scopes = ?3, granted_by = ?4, granted_at = ?5",
        params![app_id, company_id, scopes, by, now],
    )?;
    Ok(())
}

pub fn delete_link(conn: &Connection, app_id: &str, company_id: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM application_links WHERE application_id = ?1 AND company_id = ?2",
        params![app_id, company_id],
    )
}

pub fn mark_credentials_read(
    conn: &Connection,
    app_id: &str,
    company_id: &str,
    now: &str,
) -> rusqlite::Result<()> {
    // As `touch_secret`: the same second's mark is not written again.
    conn.prepare_cached(
        "UPDATE application_links SET last_credentials_read_at = ?3 \
         WHERE application_id = ?1 AND company_id = ?2 \
           AND (last_credentials_read_at IS NULL \
                OR substr(last_credentials_read_at, 1, 19) != substr(?3, 1, 19))",
    )?
    .execute(params![app_id, company_id, now])?;
    Ok(())
}

/// Ids of the active companies an application may list (linked with `companies:read`).
pub fn linked_company_ids(conn: &Connection, app_id: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.company_id FROM application_links l JOIN companies c ON c.id = l.company_id
         WHERE l.application_id = ?1 AND c.status = 'active'
           AND (' ' || l.scopes || ' ') LIKE '% companies:read %'
         ORDER BY c.sort_key, c.id",
    )?;
    let rows = stmt.query_map([app_id], |r| r.get(0))?;
    rows.collect()
}

pub fn revoke_token(conn: &Connection, hash: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE app_tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        params![hash, now],
    )?;
    Ok(())
}

/// A link as shown on pages: (application or company) name, its id, scopes, when granted,
/// when credentials were last read.
#[derive(Clone, Debug)]
pub struct LinkRow {
    pub other_id: String,
    pub other_name: String,
    pub other_code: String,
    pub scopes: String,
    pub granted_at: String,
    pub last_credentials_read_at: Option<String>,
}

/// The companies an application is linked to.
pub fn links_of_app(conn: &Connection, app_id: &str) -> rusqlite::Result<Vec<LinkRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.legal_name, c.cnpj, l.scopes, l.granted_at, l.last_credentials_read_at
         FROM application_links l JOIN companies c ON c.id = l.company_id
         WHERE l.application_id = ?1 ORDER BY c.sort_key",
    )?;
    stmt.query_map([app_id], link_row)?.collect()
}

/// Columns: the other side's id, name and code, then scopes, granted_at, last read.
fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LinkRow> {
    Ok(LinkRow {
        other_id: r.get(0)?,
        other_name: r.get(1)?,
        other_code: r.get(2)?,
        scopes: r.get(3)?,
        granted_at: r.get(4)?,
        last_credentials_read_at: r.get(5)?,
    })
}

/// The active applications linked to a company.
pub fn links_of_company(conn: &Connection, company_id: &str) -> rusqlite::Result<Vec<LinkRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.name, a.client_id, l.scopes, l.granted_at, l.last_credentials_read_at
         FROM application_links l JOIN applications a ON a.id = l.application_id
         WHERE l.company_id = ?1 AND a.status = 'active' ORDER BY a.name",
    )?;
    stmt.query_map([company_id], link_row)?.collect()
}

/// Removes every link of a company (archiving it); returns the applications unlinked.
pub fn delete_links_of_company(
    conn: &Connection,
    company_id: &str,
) -> rusqlite::Result<Vec<String>> {
    let ids: Vec<String> = conn
        .prepare_cached("SELECT application_id FROM application_links WHERE company_id = ?1 ORDER BY application_id")?
        .query_map([company_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    conn.execute(
        "DELETE FROM application_links WHERE company_id = ?1",
        [company_id],
    )?;
    Ok(ids)
}
