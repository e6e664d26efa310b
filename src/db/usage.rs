//! SQL for API usage counts, and for the counters of refused calls on ids that are not
//! one of the application's companies (kept without the id).

use rusqlite::{Connection, OptionalExtension, params};

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

/// The conditions of a filter on the three tables: (company rows, the others, the
/// parameters); the others are left out (`None`) when a company is asked for.
fn conditions(f: &Filter) -> (String, Option<String>, Vec<String>) {
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
    let others = f.company_id.is_none().then_some(shared);
    (usage_where, others, args)
}

/// The rows of a filter as one compound `SELECT date, company_id, application_id,
/// operation, count`: company rows, the refusal counters and the calls about no company
/// (the last two left out when a company is asked for), with its parameters.
fn relation(f: &Filter) -> (String, Vec<String>) {
    let (usage_where, others, args) = conditions(f);
    let others = others
        .map(|w| {
            format!(
                " UNION ALL SELECT date, NULL, application_id, '{REFUSED}', count
                  FROM api_refusals WHERE 1=1{w}
                  UNION ALL SELECT date, NULL, application_id, operation, count
                  FROM api_app_usage WHERE 1=1{w}"
            )
        })
        .unwrap_or_default();
    (
        format!(
            "SELECT date, company_id, application_id, operation, count
             FROM api_usage WHERE 1=1{usage_where}{others}"
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

impl Tally {
    fn add(&mut self, operation: &str, n: i64) {
        self.calls += n;
        match operation {
            REFUSED => self.refused += n,
            FAILED => self.failed += n,
            _ => {}
        }
    }

    pub fn plus(mut self, o: Tally) -> Tally {
        self.calls += o.calls;
        self.refused += o.refused;
        self.failed += o.failed;
        self
    }
}

/// Everything the report sums, from one pass over the filter's rows: SQLite steps
/// through the rows of the period (by the primary key's date prefix, or the company
/// index) once, and the sums are kept here — one entry per day, company, application
/// and operation seen.
#[derive(Debug, Default)]
pub struct Aggregate {
    pub rows: i64,
    pub totals: Tally,
    /// Calls about no company (tokens, routes, refusals on ids not the application's).
    pub without_company: Tally,
    /// By day (`aaaa-mm-dd`), in date order.
    pub per_day: std::collections::BTreeMap<String, Tally>,
    pub companies: std::collections::HashMap<String, Tally>,
    pub applications: std::collections::HashMap<String, Tally>,
    pub operations: std::collections::HashMap<String, Tally>,
}

fn add_to(map: &mut std::collections::HashMap<String, Tally>, key: &str, op: &str, n: i64) {
    match map.get_mut(key) {
        Some(t) => t.add(op, n),
        None => {
            let mut t = Tally::default();
            t.add(op, n);
            map.insert(key.to_string(), t);
        }
    }
}

pub fn aggregate(conn: &Connection, f: &Filter) -> rusqlite::Result<Aggregate> {
    let (sql, args) = relation(f);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
    let mut a = Aggregate::default();
    let mut day = String::new();
    let mut day_tally = Tally::default();
    while let Some(r) = rows.next()? {
        let text = |i: usize| -> rusqlite::Result<&str> {
            r.get_ref(i)?.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })
        };
        let (date, op, n) = (text(0)?, text(3)?, r.get::<_, i64>(4)?);
        a.rows += 1;
        a.totals.add(op, n);
        // Rows come grouped by day within each table; a day seen again is added to.
        if date != day {
            if !day.is_empty() {
                let t = a.per_day.entry(std::mem::take(&mut day)).or_default();
                *t = t.plus(day_tally);
            }
            day = date.to_string();
            day_tally = Tally::default();
        }
        day_tally.add(op, n);
        match r.get_ref(1)?.as_str_or_null().ok().flatten() {
            Some(company) => add_to(&mut a.companies, company, op, n),
            None => a.without_company.add(op, n),
        }
        add_to(&mut a.applications, text(2)?, op, n);
        add_to(&mut a.operations, op, op, n);
    }
    if !day.is_empty() {
        let t = a.per_day.entry(day).or_default();
        *t = t.plus(day_tally);
    }
    Ok(a)
}

/// Names of companies (trade name, else legal name) by id, for the few shown.
pub fn company_names(
    conn: &Connection,
    ids: &[&str],
) -> rusqlite::Result<std::collections::HashMap<String, String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(NULLIF(trade_name, ''), legal_name) FROM companies WHERE id = ?1",
    )?;
    let mut out = std::collections::HashMap::new();
    for id in ids {
        if let Some(name) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
            out.insert(id.to_string(), name);
        }
    }
    Ok(out)
}

/// Names of applications by id, for the few shown.
pub fn application_names(
    conn: &Connection,
    ids: &[&str],
) -> rusqlite::Result<std::collections::HashMap<String, String>> {
    let mut stmt = conn.prepare_cached("SELECT name FROM applications WHERE id = ?1")?;
    let mut out = std::collections::HashMap::new();
    for id in ids {
        if let Some(name) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
            out.insert(id.to_string(), name);
        }
    }
    Ok(out)
}

/// One page of the rows of a filter: newest day first, then by application, company
/// and operation — the order of the tables' keys, so SQLite walks their indexes and
/// merges them instead of sorting the period's rows.
pub fn page(
    conn: &Connection,
    f: &Filter,
    limit: usize,
    offset: usize,
) -> rusqlite::Result<Vec<Row>> {
    let (sql, mut args) = relation(f);
    args.push(limit.to_string());
    args.push(offset.to_string());
    let n = args.len();
    let sql = format!(
        "SELECT p.date, p.company_id, COALESCE(NULLIF(c.trade_name, ''), c.legal_name),
                p.application_id, a.name, p.operation, p.count
         FROM ({sql}
               ORDER BY 1 DESC, 3 DESC, 2 DESC, 4 DESC
               LIMIT CAST(?{} AS INTEGER) OFFSET CAST(?{n} AS INTEGER)) p
         LEFT JOIN companies c ON c.id = p.company_id
         LEFT JOIN applications a ON a.id = p.application_id
         ORDER BY p.date DESC, p.application_id DESC, p.company_id DESC, p.operation DESC",
        n - 1
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
