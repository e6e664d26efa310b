//! SQL for API usage counts.

use rusqlite::{Connection, params};

/// (date, application_id, company_id, operation) → count to add.
pub type Counts = Vec<((String, String, String, String), u64)>;

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

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub company_id: Option<String>,
    pub application_id: Option<String>,
}

/// (date, company_id, application_id, operation, count), by date then keys.
pub type Row = (String, String, String, String, i64);

pub fn list(conn: &Connection, f: &Filter) -> rusqlite::Result<Vec<Row>> {
    let mut sql =
        "SELECT date, company_id, application_id, operation, count FROM api_usage WHERE 1=1"
            .to_string();
    let mut args: Vec<String> = Vec::new();
    for (cond, v) in [
        ("date >= ", &f.from),
        ("date <= ", &f.to),
        ("company_id = ", &f.company_id),
        ("application_id = ", &f.application_id),
    ] {
        if let Some(v) = v {
            args.push(v.clone());
            sql.push_str(&format!(" AND {cond}?{}", args.len()));
        }
    }
    sql.push_str(" ORDER BY date, company_id, application_id, operation LIMIT 10000");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    rows.collect()
}
