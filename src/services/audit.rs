//! Reading and verifying the audit trail.

/// The rows this use case answers with, for the interfaces.
pub use crate::db::audit::{Entry, Filter};

use rusqlite::Connection;

use super::Actor;
use crate::db::audit::{self as store, Verdict};
use crate::db::companies;
use crate::domain::{Cnpj, Role};
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
    } else if let Some(cnpj) = filter
        .company_id
        .as_deref()
        .and_then(|c| Cnpj::parse(c).ok())
    {
        // The owner knows companies by CNPJ, not by id: accept either.
        filter.company_id = Some(
            companies::id_by_cnpj(conn, cnpj.as_str())?
                .unwrap_or_else(|| cnpj.as_str().to_string()),
        );
    }
    Ok(store::list(conn, &filter, limit)?)
}

pub fn verify(conn: &Connection, audit_key: &[u8]) -> Result<Verdict, AppError> {
    Ok(store::verify(conn, audit_key)?)
}
