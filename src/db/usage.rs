//! SQL for API usage counts, and for the counters of refused calls on ids that are not
//! one of the application's companies (kept without the id).

use rusqlite::{Connection, params};

/// (date, application_id, company_id, operation) → count to add.
pub type Counts = Vec<((String, String, String, String), u64)>;

/// (date, application_id) → refused calls to add.
pub type Refusals = Vec<((String, String), u64)>;

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
