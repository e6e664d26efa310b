//! Reading and verifying the audit trail.

use rusqlite::Connection;

use super::Actor;
use crate::db::audit::{self as store, Entry, Filter, Verdict};
use crate::domain::Role;
use crate::error::AppError;

/// Platform users read everything; a company admin reads only its own company's
/// entries (it holds other people's e-mails and addresses, so company users read none).
pub fn list(
    conn: &Connection,
    actor: &Actor,
    mut filter: Filter,
    limit: usize,
) -> Result<(Vec<Entry>, bool), AppError> {
    if !actor.is_platform() {
        match (actor.role(), actor.company_id()) {
            (Some(Role::CompanyAdmin), Some(c)) => filter.company_id = Some(c.to_string()),
            _ => return Err(AppError::Forbidden),
        }
    }
    Ok(store::list(conn, &filter, limit)?)
}

pub fn verify(conn: &Connection, audit_key: &[u8]) -> Result<Verdict, AppError> {
    Ok(store::verify(conn, audit_key)?)
}
