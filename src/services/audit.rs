//! Reading and verifying the audit trail.

use rusqlite::Connection;

use super::Actor;
use crate::db::audit::{self as store, Entry, Filter, Verdict};
use crate::error::AppError;

/// Platform users read everything; a company user reads only its own company's entries.
pub fn list(
    conn: &Connection,
    actor: &Actor,
    mut filter: Filter,
    limit: usize,
) -> Result<(Vec<Entry>, bool), AppError> {
    if !actor.is_platform() {
        match actor.company_id() {
            Some(c) => filter.company_id = Some(c.to_string()),
            None => return Err(AppError::Forbidden),
        }
    }
    Ok(store::list(conn, &filter, limit)?)
}

pub fn verify(conn: &Connection, audit_key: &[u8]) -> Result<Verdict, AppError> {
    Ok(store::verify(conn, audit_key)?)
}
