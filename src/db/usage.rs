//! SQL for API usage counts, and for the counters of refused calls on ids that are not
//! one of the application's companies (kept without the id).

use rusqlite::{Connection, params};

/// (date, application_id, company_id, operation) → count to add.
pub type Counts = Vec<((String, String, String, String), u64)>;

/// (date, application_id) → refused calls to add.
pub type Refusals = Vec<((String, String), u64)>;

/// (date, application_id, operation) → calls about no company to add.
pub type AppCalls = Vec<((String, String, String), u64)>;

pub fn add_app_calls(conn: &Connection, calls: &AppCalls) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO api_app_usage (date, application_id, operation, count) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (date, application_id, operation) DO UPDATE SET count = count + excluded.count",
    )?;
    for ((date, app, op), n) in calls {
        stmt.execute(params![date, app, op, *n as i64])?;
    }
    Ok(())
}

pub fn add(conn: &Connection, counts: &Counts) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO api_usage (date, application_id, company_id, operation, count) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (date, application_id, company_id, operation) DO UPDATE SET count = count + excluded.count",
    )?;
    for ((date, app, company, op), n) in counts {
        stmt.execute(params![date, app, company, op, *n as i64])?;
    }
    Ok(())
}

pub fn add_refusals(conn: &Connection, refusals: &Refusals) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO api_refusals (date, application_id, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (date, application_id) DO UPDATE SET count = count + excluded.count",
    )?;
    for ((date, app), n) in refusals {
        stmt.execute(params![date, app, *n as i64])?;
    }
    Ok(())
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub company_id: Option<String>,
    pub application_id: Option<String>,
}

/// The operation of a refusal counter's row.
pub const REFUSED: &str = "refused";

/// The operation of a call that failed on Omie's side (unreachable, timed out, blocked
/// the keys, or answered with an error).
pub const FAILED: &str = "failed";

/// One usage row: calls of one day, company, application and operation. `company_id`
/// is `None` for the refusal counter of an application (calls refused on ids that are
/// not its companies, counted without the id). Names are the company's trade name (or
/// legal name) and the application's name, when they still exist.
#[derive(Clone, Debug)]
pub struct Row {
    pub date: String,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
    pub application_id: String,
    pub application_name: Option<String>,
    pub operation: String,
    pub count: i64,
}

/// The rows of the filter, by date then keys (a day's refusal counters after its
/// company rows); at most 10,000.
pub fn list(conn: &Connection, f: &Filter) -> rusqlite::Result<Vec<Row>> {
    let mut args: Vec<String> = Vec::new();
    // (column, operator, parameter number) of the conditions both tables share.
    let mut shared: Vec<(&str, &str, usize)> = Vec::new();
    for (col, op, v) in [
        ("date", ">=", &f.from),
        ("date", "<=", &f.to),
        ("application_id", "=", &f.application_id),
    ] {
        if let Some(v) = v {
            args.push(v.clone());
            shared.push((col, op, args.len()));
        }
    }
    let where_of = |t: &str| -> String {
        shared
            .iter()
            .map(|(col, op, i)| format!(" AND {t}.{col} {op} ?{i}"))
            .collect()
    };
    let (mut usage_where, refusal_where) = (where_of("u"), where_of("r"));
    if let Some(c) = &f.company_id {
        args.push(c.clone());
        usage_where.push_str(&format!(" AND u.company_id = ?{}", args.len()));
    }
    // A company filter leaves the refusal counters out: they belong to no company.
    let refusals = if f.company_id.is_some() {
        String::new()
    } else {
        format!(
            " UNION ALL
             SELECT r.date, NULL, NULL, r.application_id, a.name, '{REFUSED}', r.count, 1
             FROM api_refusals r LEFT JOIN applications a ON a.id = r.application_id
             WHERE 1=1{refusal_where}
             UNION ALL
             SELECT r.date, NULL, NULL, r.application_id, a.name, r.operation, r.count, 2
             FROM api_app_usage r LEFT JOIN applications a ON a.id = r.application_id
             WHERE 1=1{refusal_where}"
        )
    };
    let sql = format!(
        "SELECT u.date, u.company_id, COALESCE(NULLIF(c.trade_name, ''), c.legal_name),
                u.application_id, a.name, u.operation, u.count, 0
         FROM api_usage u
         LEFT JOIN companies c ON c.id = u.company_id
         LEFT JOIN applications a ON a.id = u.application_id
         WHERE 1=1{usage_where}{refusals}
         ORDER BY 1, 8, 2, 4, 6 LIMIT 10000"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        Ok(Row {
            date: r.get(0)?,
            company_id: r.get(1)?,
            company_name: r.get(2)?,
            application_id: r.get(3)?,
            application_name: r.get(4)?,
            operation: r.get(5)?,
            count: r.get(6)?,
        })
    })?;
    rows.collect()
}

/// The rows of a filter as one relation `u(date, company_id, application_id, operation,
/// count)`: company rows, the refusal counters and the calls about no company (the last
/// two left out when a company is asked for). Returns the `WITH` clause and its
/// parameters; every query of the report reads it, aggregated in SQL.
fn relation(f: &Filter) -> (String, Vec<String>) {
    let mut args: Vec<String> = Vec::new();
    let mut shared = String::new();
    for (col, op, v) in [
        ("date", ">=", &f.from),
        ("date", "<=", &f.to),
        ("application_id", "=", &f.application_id),
    ] {
        if let Some(v) = v {
            args.push(v.clone());
            shared.push_str(&format!(" AND {col} {op} ?{}", args.len()));
        }
    }
    let mut usage_where = shared.clone();
    if let Some(c) = &f.company_id {
        args.push(c.clone());
        usage_where.push_str(&format!(" AND company_id = ?{}", args.len()));
    }
    let others = if f.company_id.is_some() {
        String::new()
    } else {
        format!(
            " UNION ALL SELECT date, NULL, application_id, '{REFUSED}', count
              FROM api_refusals WHERE 1=1{shared}
              UNION ALL SELECT date, NULL, application_id, operation, count
              FROM api_app_usage WHERE 1=1{shared}"
        )
    };
    (
        format!(
            "WITH u(date, company_id, application_id, operation, count) AS (
               SELECT date, company_id, application_id, operation, count
               FROM api_usage WHERE 1=1{usage_where}{others})"
        ),
        args,
    )
}

/// Calls, refused calls and failed calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub calls: i64,
    pub refused: i64,
    pub failed: i64,
}

const TALLY: &str = "COALESCE(SUM(count), 0),
     COALESCE(SUM(CASE WHEN operation = 'refused' THEN count END), 0),
     COALESCE(SUM(CASE WHEN operation = 'failed' THEN count END), 0)";

fn tally_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Tally> {
    Ok(Tally {
        calls: r.get(i)?,
        refused: r.get(i + 1)?,
        failed: r.get(i + 2)?,
    })
}

/// The filter's totals: of every row, or (`without_company`) of the calls about no
/// company (tokens, refusals on ids that are not the application's companies).
pub fn totals(conn: &Connection, f: &Filter, without_company: bool) -> rusqlite::Result<Tally> {
    let (with, args) = relation(f);
    let only = if without_company {
        " WHERE company_id IS NULL"
    } else {
        ""
    };
    conn.query_row(
        &format!("{with} SELECT {TALLY} FROM u{only}"),
        rusqlite::params_from_iter(args.iter()),
        |r| tally_at(r, 0),
    )
}

/// Totals per day (`aaaa-mm-dd`), in date order; only days with calls.
pub fn per_day(conn: &Connection, f: &Filter) -> rusqlite::Result<Vec<(String, Tally)>> {
    let (with, args) = relation(f);
    let mut stmt = conn.prepare(&format!(
        "{with} SELECT date, {TALLY} FROM u GROUP BY date ORDER BY date LIMIT 1000"
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        Ok((r.get(0)?, tally_at(r, 1)?))
    })?;
    rows.collect()
}

/// What a top list groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Company,
    Application,
    Operation,
}

/// One line of a top list: the key (an id, or the operation), its name when it has
/// one, and its totals.
#[derive(Clone, Debug)]
pub struct Ranked {
    pub key: String,
    pub name: Option<String>,
    pub tally: Tally,
}

/// The `limit` keys with the most calls (ties by key), and how many keys there are in
/// all. Calls about no company are not a company: left out of the company list.
pub fn top(
    conn: &Connection,
    f: &Filter,
    by: By,
    limit: usize,
) -> rusqlite::Result<(Vec<Ranked>, i64)> {
    let (with, mut args) = relation(f);
    let (col, name_join, name) = match by {
        By::Company => (
            "company_id",
            "LEFT JOIN companies c ON c.id = t.k",
            "COALESCE(NULLIF(c.trade_name, ''), c.legal_name)",
        ),
        By::Application => (
            "application_id",
            "LEFT JOIN applications a ON a.id = t.k",
            "a.name",
        ),
        By::Operation => ("operation", "", "NULL"),
    };
    args.push(limit.to_string());
    let sql = format!(
        "{with}
         SELECT t.k, {name}, t.calls, t.refused, t.failed FROM (
           SELECT {col} AS k,
                  COALESCE(SUM(count), 0) AS calls,
                  COALESCE(SUM(CASE WHEN operation = 'refused' THEN count END), 0) AS refused,
                  COALESCE(SUM(CASE WHEN operation = 'failed' THEN count END), 0) AS failed
           FROM u WHERE {col} IS NOT NULL GROUP BY {col}
           ORDER BY calls DESC, k LIMIT CAST(?{} AS INTEGER)
         ) t {name_join}
         ORDER BY t.calls DESC, t.k",
        args.len()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok(Ranked {
                key: r.get(0)?,
                name: r.get(1)?,
                tally: tally_at(r, 2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    args.pop();
    let keys: i64 = conn.query_row(
        &format!("{with} SELECT COUNT(DISTINCT {col}) FROM u"),
        rusqlite::params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    Ok((rows, keys))
}

/// One page of the rows of a filter, newest day first, biggest counts first, and how
/// many rows there are in all.
pub fn page(
    conn: &Connection,
    f: &Filter,
    limit: usize,
    offset: usize,
) -> rusqlite::Result<(Vec<Row>, i64)> {
    let (with, mut args) = relation(f);
    let all: i64 = conn.query_row(
        &format!("{with} SELECT COUNT(*) FROM u"),
        rusqlite::params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    args.push(limit.to_string());
    args.push(offset.to_string());
    let n = args.len();
    let sql = format!(
        "{with}
         SELECT u.date, u.company_id, COALESCE(NULLIF(c.trade_name, ''), c.legal_name),
                u.application_id, a.name, u.operation, u.count
         FROM u
         LEFT JOIN companies c ON c.id = u.company_id
         LEFT JOIN applications a ON a.id = u.application_id
         ORDER BY u.date DESC, u.count DESC, u.company_id, u.application_id, u.operation
         LIMIT CAST(?{} AS INTEGER) OFFSET CAST(?{n} AS INTEGER)",
        n - 1
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok(Row {
                date: r.get(0)?,
                company_id: r.get(1)?,
                company_name: r.get(2)?,
                application_id: r.get(3)?,
                application_name: r.get(4)?,
                operation: r.get(5)?,
                count: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, all))
}

/// Applications to pick from: every one (at most 500) for the platform, or those that
/// called or may call `company_id`; by name.
pub fn applications_to_pick(
    conn: &Connection,
    company_id: Option<&str>,
) -> rusqlite::Result<Vec<(String, String)>> {
    let (sql, args): (&str, Vec<&str>) = match company_id {
        None => ("SELECT id, name FROM applications LIMIT 500", vec![]),
        Some(c) => (
            "SELECT id, name FROM applications WHERE id IN (
               SELECT application_id FROM application_links WHERE company_id = ?1
               UNION SELECT DISTINCT application_id FROM api_usage WHERE company_id = ?1)
             LIMIT 500",
            vec![c],
        ),
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    rows.collect()
}
