//! Usage metering: counted in memory per request (no database write on the hot path)
//! and added to `api_usage` in batches — every few seconds, and before any report.

/// The rows this use case answers with, for the interfaces.
pub use crate::db::usage::{FAILED, Filter, REFUSED, Row, Tally};

use crate::db::Conn;
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
///
/// Every call of an application reaches exactly one counter: the use case counts it
/// (and marks the actor's [`super::CallMark`]), or, when none did — a token issued, a
/// route applications may not use, a request refused before its use case ran — the
/// API's edge counts it with [`Meter::unmetered`].
#[derive(Default)]
pub struct Meter {
    counts: Mutex<HashMap<(String, String, String, String), u64>>,
    refusals: Mutex<HashMap<(String, String), u64>>,
    app_calls: Mutex<HashMap<(String, String, String), u64>>,
}

/// The date in São Paulo, worked out at most once a minute per thread: every metered
/// request asks, and a time-zone conversion with a formatted date cost about 1 µs of each
/// (issue 14). São Paulo's offsets are whole hours, so the date never changes inside a
/// minute.
fn today() -> String {
    use std::cell::RefCell;
    thread_local! {
        static TODAY: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
    }
    let now = crate::time::now();
    let minute = now.timestamp().div_euclid(60);
    TODAY.with_borrow_mut(|(at, date)| {
        if *at != minute {
            *date = now.with_timezone(&Sao_Paulo).format("%Y-%m-%d").to_string();
            *at = minute;
        }
        date.clone()
    })
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
        if let Some(m) = actor.call_mark() {
            m.set();
        }
        let mut c = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((today(), app.to_string())).or_insert(0) += 1;
    }

    /// Counts one call of `actor` (only applications are metered) on a company; only
    /// for a company id the use case checked is one the application may see.
    pub fn record(&self, actor: &Actor, company_id: &str, operation: &str) {
        let Some(app) = actor.application_id() else {
            return;
        };
        if let Some(m) = actor.call_mark() {
            m.set();
        }
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

    /// Counts a call of application `app_id` about none of its companies, such as
    /// `auth.token` (a token issued).
    pub fn app_call(&self, app_id: &str, operation: &str) {
        let mut c = self.app_calls.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((today(), app_id.to_string(), operation.to_string()))
            .or_insert(0) += 1;
    }

    /// Counts a call of `actor` that no use case counted, with the HTTP status it was
    /// answered with and the route pattern it matched: a refusal (4xx) on the
    /// application's refusal counter, a failure of ours (5xx) as `failed`, anything else
    /// as the route (`POST /api/v1/auth/logout`), about no company. Route patterns are
    /// a fixed set, so these rows cannot grow with what a caller makes up.
    pub fn unmetered(&self, actor: &Actor, status: u16, method: &str, route: Option<&str>) {
        if actor.call_mark().is_none_or(|m| m.is_set()) {
            return;
        }
        let Some(app) = actor.application_id() else {
            return;
        };
        match (status, route) {
            (500.., _) => self.app_call(app, FAILED),
            (400.., _) | (_, None) => self.refused(actor),
            (_, Some(route)) => self.app_call(app, &format!("{method} {route}")),
        }
    }

    /// Moves the counts into the database; on failure they are put back.
    pub fn flush(&self, conn: &mut Conn) -> Result<(), AppError> {
        let taken: store::Counts = {
            let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            c.drain().collect()
        };
        let refused: store::Refusals = {
            let mut c = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
            c.drain().collect()
        };
        let calls: store::AppCalls = {
            let mut c = self.app_calls.lock().unwrap_or_else(|e| e.into_inner());
            c.drain().collect()
        };
        if taken.is_empty() && refused.is_empty() && calls.is_empty() {
            return Ok(());
        }
        // Kept here too: a failed write puts them back.
        let (t, c, r) = (taken.clone(), calls.clone(), refused.clone());
        let result = crate::db::write(conn, move |tx| {
            store::add(tx, &t)?;
            store::add_app_calls(tx, &c)?;
            Ok(store::add_refusals(tx, &r)?)
        });
        if result.is_err() {
            let mut a = self.app_calls.lock().unwrap_or_else(|e| e.into_inner());
            for (k, n) in calls {
                *a.entry(k).or_insert(0) += n;
            }
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
    conn: &mut Conn,
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

/// How many lines a top list shows; the rest is summed as "outras N".
pub const TOP: usize = 10;
/// Rows per page of the detail table.
pub const PAGE_ROWS: usize = 50;
/// Most rows in a download for people (a spreadsheet, not an archive).
pub const DOWNLOAD_ROWS: usize = 100_000;

/// One line of a top list: the key (an id, or the operation), its name when it has
/// one, and its totals.
#[derive(Clone, Debug)]
pub struct Ranked {
    pub key: String,
    pub name: Option<String>,
    pub tally: Tally,
}

/// A top list: its lines, and the number and totals of the keys left out.
#[derive(Debug, Default)]
pub struct Top {
    pub lines: Vec<Ranked>,
    pub others: i64,
    pub others_tally: Tally,
}

/// What the usage page shows for a filter: the totals, per day, the top companies,
/// applications and operations (all from one pass over the period's rows), and one
/// page of rows.
#[derive(Debug, Default)]
pub struct Summary {
    pub filter: Filter,
    pub totals: Tally,
    /// Calls about no company: tokens, routes and refusals on ids not the application's.
    pub without_company: Tally,
    pub per_day: Vec<(String, Tally)>,
    pub companies: Top,
    pub applications: Top,
    pub operations: Top,
    pub rows: Vec<Row>,
    pub row_count: i64,
    /// Applications to pick from, as (id, name).
    pub applications_to_pick: Vec<(String, String)>,
    /// The picked company's name, when one is picked.
    pub company_name: Option<String>,
}

/// Keeps the actor to what it may see: a company admin to its company; people of a
/// company who are not its admin and applications are refused.
fn scoped(actor: &Actor, mut f: Filter) -> Result<Filter, AppError> {
    if !actor.is_platform() {
        match (actor.role(), actor.company_id()) {
            (Some(Role::CompanyAdmin), Some(c)) => f.company_id = Some(c.to_string()),
            _ => return Err(AppError::Forbidden),
        }
    }
    Ok(f)
}

/// The [`TOP`] keys with the most calls (ties by key), named by `names`, and the rest.
fn top_of(
    map: HashMap<String, Tally>,
    names: impl FnOnce(&[&str]) -> Result<HashMap<String, String>, AppError>,
) -> Result<Top, AppError> {
    let mut all: Vec<(String, Tally)> = map.into_iter().collect();
    let by_calls = |a: &(String, Tally), b: &(String, Tally)| {
        b.1.calls.cmp(&a.1.calls).then_with(|| a.0.cmp(&b.0))
    };
    if all.len() > TOP {
        all.select_nth_unstable_by(TOP - 1, by_calls);
    }
    let rest = all.split_off(all.len().min(TOP));
    all.sort_by(by_calls);
    let keys: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    let mut named = names(&keys)?;
    Ok(Top {
        lines: all
            .into_iter()
            .map(|(key, tally)| Ranked {
                name: named.remove(&key),
                key,
                tally,
            })
            .collect(),
        others: rest.len() as i64,
        others_tally: rest
            .iter()
            .fold(Tally::default(), |acc, (_, t)| acc.plus(*t)),
    })
}

/// The usage page's summary; `page` counts from 0.
pub fn summary(
    conn: &mut Conn,
    meter: &Meter,
    actor: &Actor,
    f: Filter,
    page: usize,
) -> Result<Summary, AppError> {
    let f = scoped(actor, f)?;
    meter.flush(conn)?;
    let agg = store::aggregate(conn, &f)?;
    let rows = store::page(conn, &f, PAGE_ROWS, page.saturating_mul(PAGE_ROWS))?;
    let pick_scope = (!actor.is_platform())
        .then(|| f.company_id.clone())
        .flatten();
    let mut applications_to_pick = store::applications_to_pick(conn, pick_scope.as_deref())?;
    applications_to_pick.sort_by_cached_key(|(id, name)| (crate::domain::fold(name), id.clone()));
    let company_name = match &f.company_id {
        Some(id) if actor.is_platform() => crate::db::companies::get(conn, id)?.map(|c| {
            if c.trade_name.is_empty() {
                c.legal_name
            } else {
                c.trade_name
            }
        }),
        _ => None,
    };
    let companies = top_of(agg.companies, |ids| Ok(store::company_names(conn, ids)?))?;
    let applications = top_of(agg.applications, |ids| {
        Ok(store::application_names(conn, ids)?)
    })?;
    let operations = top_of(agg.operations, |_| Ok(HashMap::new()))?;
    Ok(Summary {
        per_day: agg.per_day.into_iter().collect(),
        totals: agg.totals,
        without_company: agg.without_company,
        companies,
        applications,
        operations,
        rows,
        row_count: agg.rows,
        applications_to_pick,
        company_name,
        filter: f,
    })
}

/// The top companies and applications of a period, named, and its totals (for the
/// system's reports: no actor, nothing about people).
pub fn period_tops(
    conn: &mut Conn,
    meter: &Meter,
    f: &Filter,
) -> Result<(Top, Top, Tally), AppError> {
    meter.flush(conn)?;
    let agg = store::aggregate(conn, f)?;
    let companies = top_of(agg.companies, |ids| Ok(store::company_names(conn, ids)?))?;
    let applications = top_of(agg.applications, |ids| {
        Ok(store::application_names(conn, ids)?)
    })?;
    Ok((companies, applications, agg.totals))
}

/// The rows of a filter for a download (at most [`DOWNLOAD_ROWS`]), newest day first.
pub fn download(
    conn: &mut Conn,
    meter: &Meter,
    actor: &Actor,
    f: Filter,
) -> Result<Vec<Row>, AppError> {
    let f = scoped(actor, f)?;
    meter.flush(conn)?;
    Ok(store::page(conn, &f, DOWNLOAD_ROWS, 0)?)
}

/// Companies whose name or CNPJ matches `q`, to pick one for the report (platform
/// users only; at most 20), as (id, name, formatted CNPJ).
pub fn companies_to_pick(
    conn: &Connection,
    actor: &Actor,
    q: &str,
) -> Result<Vec<(String, String, String)>, AppError> {
    let rows = super::companies::pick(conn, actor, q, None, 20)?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let name = if c.trade_name.is_empty() {
                c.legal_name
            } else {
                c.trade_name
            };
            (c.id, name, c.cnpj.formatted())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_top_list_keeps_the_ten_biggest_and_sums_the_rest() {
        let t = |calls, refused| Tally {
            calls,
            refused,
            failed: 0,
        };
        let mut map = HashMap::new();
        for i in 0..13 {
            map.insert(format!("k{i:02}"), t(i * 10, i));
        }
        // A tie with k12's 120 calls goes by key.
        map.insert("a".into(), t(120, 0));
        let top = top_of(map, |ids| {
            Ok(ids
                .iter()
                .map(|i| (i.to_string(), i.to_uppercase()))
                .collect())
        })
        .unwrap();
        let keys: Vec<&str> = top.lines.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "a", "k12", "k11", "k10", "k09", "k08", "k07", "k06", "k05", "k04"
            ]
        );
        assert_eq!(top.lines[1].name.as_deref(), Some("K12"));
        assert_eq!(top.others, 4);
        assert_eq!(top.others_tally, t(30 + 20 + 10, 3 + 2 + 1));
    }
}
