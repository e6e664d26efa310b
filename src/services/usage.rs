//! Usage metering: counted in memory per request (no database write on the hot path)
//! and added to `api_usage` in batches — every few seconds, and before any report.

/// The rows this use case answers with, for the interfaces.
pub use crate::db::usage::{Filter, Row};

use std::collections::HashMap;
use std::sync::Mutex;

use chrono_tz::America::Sao_Paulo;
use rusqlite::Connection;

use super::Actor;
use crate::db::usage as store;
use crate::domain::Role;
use crate::error::AppError;

#[derive(Default)]
pub struct Meter {
    counts: Mutex<HashMap<(String, String, String, String), u64>>,
}

impl Meter {
    /// Counts one call of `actor` (only applications are metered) on a company.
    pub fn record(&self, actor: &Actor, company_id: &str, operation: &str) {
        let Some(app) = actor.application_id() else {
            return;
        };
        let date = crate::time::now()
            .with_timezone(&Sao_Paulo)
            .format("%Y-%m-%d")
            .to_string();
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((
            date,
            app.to_string(),
            company_id.to_string(),
            operation.to_string(),
        ))
        .or_insert(0) += 1;
    }

    /// Moves the counts into the database; on failure they are put back.
    pub fn flush(&self, conn: &mut Connection) -> Result<(), AppError> {
        let taken: store::Counts = {
            let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            c.drain().collect()
        };
        if taken.is_empty() {
            return Ok(());
        }
        let result = crate::db::write(conn, |tx| Ok(store::add(tx, &taken)?));
        if result.is_err() {
            let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            for (k, n) in taken {
                *c.entry(k).or_insert(0) += n;
            }
        }
        result
    }
}

/// Usage rows the actor may see: all for platform users, the own company's for its admin.
pub fn report(
    conn: &mut Connection,
    meter: &Meter,
    actor: &Actor,
    mut f: Filter,
) -> Result<Vec<Row>, AppError> {
    if !actor.is_platform() {
        match (actor.role(), actor.company_id()) {
            (Some(Role::CompanyAdmin), Some(c)) => f.company_id = Some(c.to_string()),
            _ => return Err(AppError::Forbidden),
        }
    }
    meter.flush(conn)?;
    Ok(store::list(conn, &f)?)
}
