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

/// Counts in memory: per (day, application, company, operation), only for companies the
/// application may see; and per (day, application) for calls refused on any other id,
/// which is never kept — so made-up ids grow neither these maps nor the reports.
#[derive(Default)]
pub struct Meter {
    counts: Mutex<HashMap<(String, String, String, String), u64>>,
    refusals: Mutex<HashMap<(String, String), u64>>,
}

fn today() -> String {
    crate::time::now()
        .with_timezone(&Sao_Paulo)
        .format("%Y-%m-%d")
        .to_string()
}

impl Meter {
    /// Counts a call's outcome for an application on the id it named: `operation` when
    /// it succeeded; `refused` on the company when the company is one of the
    /// application's and it was refused anyway (403 for scope, a request the company's
    /// state refused: the id was checked to be a real, linked company); otherwise
    /// (404: not one of its companies, or a failure before that was known) the
    /// application's refusal counter, without the id.
    pub fn outcome<T>(
        &self,
        actor: &Actor,
        company_id: &str,
        operation: &str,
        result: &Result<T, AppError>,
    ) {
        match result {
            Ok(_) => self.record(actor, company_id, operation),
            Err(AppError::Forbidden | AppError::Validation(_)) => {
                self.record(actor, company_id, store::REFUSED)
            }
            Err(_) => self.refused(actor),
        }
    }

    /// Counts a call refused on an id that is not one of the application's companies:
    /// one counter per application and day, the id left out.
    pub fn refused(&self, actor: &Actor) {
        let Some(app) = actor.application_id() else {
            return;
        };
        let mut c = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((today(), app.to_string())).or_insert(0) += 1;
    }

    /// Counts one call of `actor` (only applications are metered) on a company; only
    /// for a company id the use case checked is one the application may see.
    pub fn record(&self, actor: &Actor, company_id: &str, operation: &str) {
        let Some(app) = actor.application_id() else {
            return;
        };
        let date = today();
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
        let refused: store::Refusals = {
            let mut c = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
            c.drain().collect()
        };
        if taken.is_empty() && refused.is_empty() {
            return Ok(());
        }
        let result = crate::db::write(conn, |tx| {
            store::add(tx, &taken)?;
            Ok(store::add_refusals(tx, &refused)?)
        });
        if result.is_err() {
            let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            for (k, n) in taken {
                *c.entry(k).or_insert(0) += n;
            }
            let mut r = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
            for (k, n) in refused {
                *r.entry(k).or_insert(0) += n;
            }
        }
        result
    }
}

/// Usage rows the actor may see: all for platform users (with the refusal counters), the
/// own company's for its admin.
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
