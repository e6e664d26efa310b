//! SQL for sealed Omie credentials and the sealed data keys.

use crate::domain::ValidationStatus;
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug)]
pub struct Stored {
    pub company_id: String,
    pub app_key_sealed: String,
    pub app_secret_sealed: String,
    pub fingerprint: String,
    pub updated_at: String,
    pub updated_by: String,
    pub validated_at: Option<String>,
    pub validation_status: Option<ValidationStatus>,
    pub validation_message: Option<String>,
    pub validated_fingerprint: Option<String>,
}

const COLUMNS: &str = "company_id, app_key_sealed, app_secret_sealed, fingerprint, updated_at, updated_by, \
                       validated_at, validation_status, validation_message, validated_fingerprint";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        company_id: r.get(0)?,
        app_key_sealed: r.get(1)?,
        app_secret_sealed: r.get(2)?,
        fingerprint: r.get(3)?,
        updated_at: r.get(4)?,
        updated_by: r.get(5)?,
        validated_at: r.get(6)?,
        validation_status: r.get(7)?,
        validation_message: r.get(8)?,
        validated_fingerprint: r.get(9)?,
    })
}

pub fn get(conn: &Connection, company_id: &str) -> rusqlite::Result<Option<Stored>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM omie_credentials WHERE company_id = ?1"
    ))?
    .query_row([company_id], from_row)
    .optional()
}

/// What an application's credential read needs, in one statement: the company's status,
/// the link's scopes, the sealed row and whether its author is of the platform.
pub struct ForApplication {
    pub company_status: crate::domain::CompanyStatus,
    pub link_scopes: Option<String>,
    pub stored: Option<Stored>,
    pub updated_by_platform: bool,
}

/// `None` when the company does not exist.
pub fn for_application(
    conn: &Connection,
    app_id: &str,
    company_id: &str,
) -> rusqlite::Result<Option<ForApplication>> {
    // The sealed row's columns first, in [`COLUMNS`]' order, so [`from_row`] reads them.
    conn.prepare_cached(
        "SELECT o.company_id, o.app_key_sealed, o.app_secret_sealed, o.fingerprint, \
                o.updated_at, o.updated_by, o.validated_at, o.validation_status, \
                o.validation_message, o.validated_fingerprint, \
                c.status, l.scopes, (SELECT u.role FROM users u WHERE u.email = o.updated_by) \
         FROM companies c \
         LEFT JOIN application_links l ON l.application_id = ?1 AND l.company_id = c.id \
         LEFT JOIN omie_credentials o ON o.company_id = c.id \
         WHERE c.id = ?2",
    )?
    .query_row(params![app_id, company_id], |r| {
        // No credentials row: the LEFT JOIN's columns are all NULL.
        let stored = r
            .get::<_, Option<String>>(0)?
            .map(|_| from_row(r))
            .transpose()?;
        Ok(ForApplication {
            company_status: r.get(10)?,
            link_scopes: r.get(11)?,
            stored,
            updated_by_platform: r
                .get::<_, Option<crate::domain::Role>>(12)?
                .is_some_and(crate::domain::Role::is_platform),
        })
    })
    .optional()
}

pub fn upsert(conn: &Connection, s: &Stored) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO omie_credentials (company_id, app_key_sealed, app_secret_sealed, fingerprint, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (company_id) DO UPDATE SET app_key_sealed = ?2, app_secret_sealed = ?3, fingerprint = ?4,
             updated_at = ?5, updated_by = ?6, validated_at = NULL, validation_status = NULL,
             validation_message = NULL, validated_fingerprint = NULL",
        params![s.company_id, s.app_key_sealed, s.app_secret_sealed, s.fingerprint, s.updated_at, s.updated_by],
    )?;
    Ok(())
}

pub fn add_history(
    conn: &Connection,
    company_id: &str,
    at: &str,
    by: &str,
    hint: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO omie_credential_history (company_id, changed_at, changed_by, app_key_hint) VALUES (?1, ?2, ?3, ?4)",
        params![company_id, at, by, hint],
    )?;
    Ok(())
}

/// (changed_at, changed_by, app_key_hint), newest first.
pub fn history(
    conn: &Connection,
    company_id: &str,
) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT changed_at, changed_by, app_key_hint FROM omie_credential_history
         WHERE company_id = ?1 ORDER BY id DESC LIMIT 20",
    )?;
    let rows = stmt.query_map([company_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

pub fn record_validation(
    conn: &Connection,
    company_id: &str,
    at: &str,
    status: ValidationStatus,
    message: &str,
    fingerprint: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE omie_credentials SET validated_at = ?2, validation_status = ?3, validation_message = ?4,
                validated_fingerprint = ?5
         WHERE company_id = ?1 AND fingerprint = ?5",
        params![company_id, at, status, message, fingerprint],
    )?;
    Ok(())
}

/// Every sealed credential pair, for `key rotate`.
pub fn all_sealed(conn: &Connection) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt =
        conn.prepare("SELECT company_id, app_key_sealed, app_secret_sealed FROM omie_credentials")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

pub fn reseal(
    conn: &Connection,
    company_id: &str,
    key: &str,
    secret: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE omie_credentials SET app_key_sealed = ?2, app_secret_sealed = ?3 WHERE company_id = ?1",
        params![company_id, key, secret],
    )?;
    Ok(())
}

pub fn sealed_key(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT sealed FROM sealed_keys WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()
}

pub fn put_sealed_key(conn: &Connection, name: &str, sealed: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sealed_keys (name, sealed) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET sealed = ?2",
        params![name, sealed],
    )?;
    Ok(())
}

pub fn all_sealed_keys(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare("SELECT name, sealed FROM sealed_keys")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
