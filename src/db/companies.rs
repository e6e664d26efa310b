//! SQL for the `companies` table.

use crate::domain::{Cnpj, CompanyStatus};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::{cnpj, fold};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    pub id: String,
    pub legal_name: String,
    pub trade_name: String,
    pub cnpj: Cnpj,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
    pub status: CompanyStatus,
    pub created_at: String,
    pub updated_at: String,
    /// What the client pays each month, in cents; `None` when not set.
    pub monthly_fee_cents: Option<i64>,
}

/// The fields a person edits; already validated by the use case.
#[derive(Clone, Debug)]
pub struct Fields {
    pub legal_name: String,
    pub trade_name: String,
    pub cnpj: Cnpj,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
    pub monthly_fee_cents: Option<i64>,
}

const COLUMNS: &str = "id, legal_name, trade_name, cnpj, contact_name, email, phone, status, \
     created_at, updated_at, monthly_fee_cents";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Company> {
    Ok(Company {
        id: r.get(0)?,
        legal_name: r.get(1)?,
        trade_name: r.get(2)?,
        cnpj: r.get(3)?,
        contact_name: r.get(4)?,
        email: r.get(5)?,
        phone: r.get(6)?,
        status: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        monthly_fee_cents: r.get(10)?,
    })
}

fn search_text(legal_name: &str, trade_name: &str, cnpj: &str) -> String {
    fold(&format!("{legal_name}\u{1f}{trade_name}\u{1f}{cnpj}"))
}

/// The key lists are ordered by: the folded name (Portuguese order, not bytes), then the
/// name itself so that names folding alike still sort the same way every time.
pub fn sort_key(legal_name: &str) -> String {
    format!("{}\u{1f}{legal_name}", fold(legal_name))
}

pub fn insert(conn: &Connection, id: &str, f: &Fields, now: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO companies (id, legal_name, trade_name, cnpj, contact_name, email, phone,
                                status, created_at, updated_at, search_text, sort_key,
                                monthly_fee_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        id,
        f.legal_name,
        f.trade_name,
        f.cnpj,
        f.contact_name,
        f.email,
        f.phone,
        now,
        search_text(&f.legal_name, &f.trade_name, &f.cnpj),
        sort_key(&f.legal_name),
        f.monthly_fee_cents
    ])?;
    Ok(())
}

pub fn update(conn: &Connection, id: &str, f: &Fields, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE companies SET legal_name = ?2, trade_name = ?3, cnpj = ?4, contact_name = ?5,
                email = ?6, phone = ?7, updated_at = ?8, search_text = ?9, sort_key = ?10,
                monthly_fee_cents = ?11
         WHERE id = ?1",
        params![
            id,
            f.legal_name,
            f.trade_name,
            f.cnpj,
            f.contact_name,
            f.email,
            f.phone,
            now,
            search_text(&f.legal_name, &f.trade_name, &f.cnpj),
            sort_key(&f.legal_name),
            f.monthly_fee_cents
        ],
    )?;
    Ok(())
}

/// Fills `search_text` and `sort_key` for rows written before they existed.
pub fn backfill_search_text(conn: &mut Connection) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let rows: Vec<(i64, String, String, String)> = tx
        .prepare(
            "SELECT rowid, legal_name, trade_name, cnpj FROM companies
             WHERE search_text = '' OR sort_key = ''",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (rowid, l, t, c) in &rows {
        tx.execute(
            "UPDATE companies SET search_text = ?2, sort_key = ?3 WHERE rowid = ?1",
            params![rowid, search_text(l, t, c), sort_key(l)],
        )?;
    }
    tx.commit()?;
    Ok(rows.len())
}

pub fn set_status(
    conn: &Connection,
    id: &str,
    status: CompanyStatus,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE companies SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status, now],
    )?;
    Ok(())
}

/// The monthly recurring revenue now: the sum of the fees of active companies, in
/// cents, and how many active companies have a fee.
pub fn mrr(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(
        "SELECT COALESCE(SUM(monthly_fee_cents), 0), COUNT(monthly_fee_cents)
         FROM companies WHERE status = 'active'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Records today's MRR (São Paulo date `day`), replacing an earlier figure of the day.
pub fn record_mrr(conn: &Connection, day: &str) -> rusqlite::Result<(i64, i64)> {
    let (cents, n) = mrr(conn)?;
    conn.execute(
        "INSERT INTO mrr_daily (date, mrr_cents, companies) VALUES (?1, ?2, ?3)
         ON CONFLICT(date) DO UPDATE SET mrr_cents = excluded.mrr_cents,
                                         companies = excluded.companies",
        params![day, cents, n],
    )?;
    Ok((cents, n))
}

/// The MRR as it stood at the end of `day` (the latest record on or before it), or
/// `None` when nothing was recorded by then.
pub fn mrr_on(conn: &Connection, day: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT mrr_cents FROM mrr_daily WHERE date <= ?1 ORDER BY date DESC LIMIT 1",
        [day],
        |r| r.get(0),
    )
    .optional()
}

/// Whether any MRR was recorded at all (before the first record, fees did not exist).
pub fn first_mrr_day(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT MIN(date) FROM mrr_daily", [], |r| r.get(0))
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Company>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM companies WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

pub fn id_by_cnpj(conn: &Connection, cnpj: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT id FROM companies WHERE cnpj = ?1", [cnpj], |r| {
        r.get(0)
    })
    .optional()
}

pub fn cnpj_taken(
    conn: &Connection,
    cnpj: &str,
    except_id: Option<&str>,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM companies WHERE cnpj = ?1 AND id IS NOT ?2)",
        params![cnpj, except_id],
        |r| r.get(0),
    )
}

#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub q: Option<String>,
    /// `None` lists everything but archived companies.
    pub status: Option<String>,
    /// Keyset cursor: list after this (sort_key, id).
    pub after: Option<(String, String)>,
    /// Only companies without Omie credentials (`Missing`) or whose last test failed.
    pub omie: Option<OmieFilter>,
}

/// The overview's "sem credenciais do Omie" and "teste falhou" lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OmieFilter {
    Missing,
    Failed,
}

impl OmieFilter {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "missing" => Some(Self::Missing),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Failed => "failed",
        }
    }
}

/// Builds an FTS5 query that matches `q` as a substring of the names, or its unmasked
/// form as a substring of the CNPJ. Returns `None` when `q` is too short for trigrams.
fn fts_query(q: &str) -> Option<String> {
    let phrase = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let cnpj_part = cnpj::normalize(q);
    let name_ok = q.chars().count() >= 3;
    let cnpj_ok =
        cnpj_part.chars().count() >= 3 && cnpj_part.chars().all(|c| c.is_ascii_alphanumeric());
    match (name_ok, cnpj_ok) {
        (false, false) => None,
        (true, false) => Some(format!("{{legal_name trade_name}} : {}", phrase(q))),
        (false, true) => Some(format!("cnpj : {}", phrase(&cnpj_part))),
        (true, true) => Some(format!(
            "{{legal_name trade_name}} : {} OR cnpj : {}",
            phrase(q),
            phrase(&cnpj_part)
        )),
    }
}

/// Search strategy, chosen per query from how many rows the trigram index matches:
/// - few matches: fetch them through the trigram index and sort them (cost grows with
///   the matches);
/// - many: walk the covering name index with a substring test, which stops after one
///   page (cost grows with how far into the alphabet the first page lies). A bounded
///   walk is tried first; when it does not fill a page, sorting the matches wins.
#[derive(Clone, Copy)]
pub struct Tuning {
    pub sort_at_most: i64,
    pub walk_above: i64,
    pub walk_window: usize,
}

pub const TUNING: Tuning = Tuning {
    sort_at_most: 1000,
    walk_above: 20_000,
    walk_window: 4000,
};

enum Strategy {
    All,
    Sort(String),
    Walk { window: Option<usize> },
}

/// One page ordered by legal name; returns the rows and whether more follow.
pub fn list(
    conn: &Connection,
    f: &ListFilter,
    limit: usize,
) -> rusqlite::Result<(Vec<Company>, bool)> {
    list_tuned(conn, f, limit, TUNING)
}

fn list_tuned(
    conn: &Connection,
    f: &ListFilter,
    limit: usize,
    t: Tuning,
) -> rusqlite::Result<(Vec<Company>, bool)> {
    let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) else {
        return run(conn, f, "", limit, Strategy::All);
    };
    let Some(m) = fts_query(q) else {
        return run(conn, f, q, limit, Strategy::Walk { window: None });
    };
    // Counting stops early: a common word has thousands of trigram matches, and
    // counting them all cost more than the page itself.
    if match_count_upto(conn, &m, t.sort_at_most.saturating_add(1))? <= t.sort_at_most {
        return run(conn, f, q, limit, Strategy::Sort(m));
    }
    let (rows, more) = run(
        conn,
        f,
        q,
        limit,
        Strategy::Walk {
            window: Some(t.walk_window),
        },
    )?;
    if more {
        return Ok((rows, more));
    }
    if match_count_upto(conn, &m, t.walk_above.saturating_add(1))? <= t.walk_above {
        run(conn, f, q, limit, Strategy::Sort(m))
    } else {
        run(conn, f, q, limit, Strategy::Walk { window: None })
    }
}

fn run(
    conn: &Connection,
    f: &ListFilter,
    q: &str,
    limit: usize,
    strategy: Strategy,
) -> rusqlite::Result<(Vec<Company>, bool)> {
    let columns = select_columns();
    let mut args: Args = Vec::new();
    let cond = conditions(f, &mut args);
    // The substring test of a walk (`@COL@` names the column): the folded text, or the
    // unmasked CNPJ (search_text holds it too, so the index alone answers).
    let text_test = if matches!(strategy, Strategy::Walk { .. }) {
        text_test(q, &mut args)
    } else {
        String::new()
    };
    let order = "ORDER BY c.sort_key, c.id";
    let sql = match strategy {
        Strategy::All => {
            args.push(Box::new((limit + 1) as i64));
            format!(
                "SELECT {columns} FROM companies c WHERE 1=1{cond} {order} LIMIT ?{}",
                args.len()
            )
        }
        Strategy::Sort(m) => {
            // The matches drive the loop (CROSS JOIN keeps that order); at most a few
            // thousand rows are then sorted for the page.
            args.push(Box::new(m));
            let n = args.len();
            args.push(Box::new((limit + 1) as i64));
            format!(
                "SELECT {columns} FROM companies_fts f CROSS JOIN companies c ON c.rowid = f.rowid \
                 WHERE companies_fts MATCH ?{n}{cond} {order} LIMIT ?{}",
                args.len()
            )
        }
        Strategy::Walk { window } => {
            let walk = "companies AS c INDEXED BY companies_search_walk";
            let inner = match window {
                None => {
                    args.push(Box::new((limit + 1) as i64));
                    format!(
                        "SELECT c.id AS wid FROM {walk} WHERE 1=1{cond} AND {} {order} LIMIT ?{}",
                        text_test.replace("@COL@", "c.search_text"),
                        args.len()
                    )
                }
                Some(w) => {
                    args.push(Box::new(w as i64));
                    let n = args.len();
                    args.push(Box::new((limit + 1) as i64));
                    // No ORDER BY outside: the window is a co-routine that yields in its
                    // own ORDER BY, so the scan stops once a page is found (an outer
                    // sort would read the whole window first: 2.5 ms instead of 40 µs
                    // for a word in 5 % of 100,000 names). The page is put in order
                    // again below.
                    format!(
                        "SELECT wid FROM (SELECT c.id AS wid, c.sort_key AS ln, c.search_text AS st \
                         FROM {walk} WHERE 1=1{cond} {order} LIMIT ?{n}) WHERE {} \
                         LIMIT ?{}",
                        text_test.replace("@COL@", "st"),
                        args.len()
                    )
                }
            };
            format!(
                "SELECT {columns} FROM ({inner}) AS w CROSS JOIN companies c ON c.id = w.wid {order}"
            )
        }
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt
        .query_map(
            rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())),
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows, more))
}

type Args = Vec<Box<dyn rusqlite::ToSql>>;

/// The status, Omie and keyset conditions of a list, on `c` (each starts with ` AND`).
fn conditions(f: &ListFilter, args: &mut Args) -> String {
    let mut cond = String::new();
    match &f.status {
        Some(s) => {
            args.push(Box::new(s.clone()));
            cond.push_str(&format!(" AND c.status = ?{}", args.len()));
        }
        None => cond.push_str(" AND c.status != 'archived'"),
    }
    match f.omie {
        Some(OmieFilter::Missing) => cond.push_str(
            " AND NOT EXISTS (SELECT 1 FROM omie_credentials o WHERE o.company_id = c.id)",
        ),
        Some(OmieFilter::Failed) => cond.push_str(
            " AND EXISTS (SELECT 1 FROM omie_credentials o WHERE o.company_id = c.id AND o.validation_status = 'failed')",
        ),
        None => {}
    }
    if let Some((name, id)) = &f.after {
        args.push(Box::new(name.clone()));
        let n = args.len();
        args.push(Box::new(id.clone()));
        cond.push_str(&format!(
            " AND (c.sort_key, c.id) > (?{n}, ?{})",
            args.len()
        ));
    }
    cond
}

/// The terms a search tests as substrings of `search_text`: the folded search, and its
/// unmasked form when it can be part of a CNPJ (the same text holds the CNPJ).
pub fn search_terms(q: &str) -> Vec<String> {
    let mut terms = vec![fold(q)];
    let cnpj_part = cnpj::normalize(q);
    if !cnpj_part.is_empty() && cnpj_part.chars().all(|c| c.is_ascii_alphanumeric()) {
        let t = fold(&cnpj_part);
        if !terms.contains(&t) {
            terms.push(t);
        }
    }
    terms
}

/// The substring test of a walk (`@COL@` names the column): any of [`search_terms`].
fn text_test(q: &str, args: &mut Args) -> String {
    let tests: Vec<String> = search_terms(q)
        .into_iter()
        .map(|t| {
            args.push(Box::new(t));
            format!("instr(@COL@, ?{}) > 0", args.len())
        })
        .collect();
    format!("({})", tests.join(" OR "))
}

fn select_columns() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("c.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The companies' version (migration 0031): a new random value after every change of a
/// company's searchable columns, whoever made it.
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT v FROM companies_version WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Hands every company's id, sort key, status and search text, in list order, to `each`,
/// and answers the version they are at: all read in one read transaction, from the
/// covering index alone, without copying a row.
pub fn index_rows(
    conn: &Connection,
    mut each: impl FnMut(&str, &str, CompanyStatus, &str),
) -> rusqlite::Result<i64> {
    let tx = conn.unchecked_transaction()?;
    let v = version(&tx)?;
    {
        let mut stmt = tx.prepare(
            "SELECT id, sort_key, status, search_text FROM companies
             INDEXED BY companies_search_walk ORDER BY sort_key, id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let status: CompanyStatus = r.get(2)?;
            each(
                r.get_ref(0)?.as_str()?,
                r.get_ref(1)?.as_str()?,
                status,
                r.get_ref(3)?.as_str()?,
            );
        }
    }
    tx.commit()?;
    Ok(v)
}

/// What [`list_picked`] got from its picker.
pub enum Picked {
    /// The index was built at another version than the rows' snapshot.
    Stale,
    /// The index cannot answer this search.
    Unable,
    /// The ids of the page, in list order, and one more when more follow.
    Ids(Vec<String>),
}

/// A search page whose companies an in-memory index picked: `pick` gets the companies'
/// version, read in the same read transaction as the rows, and answers for that version.
/// The rows are read by id with the status, the filters, the keyset cursor and the text
/// tested again in SQL; when one of them fails (so the index did not see what the
/// snapshot holds), the answer is [`Picked::Unable`] and the caller lists with [`list`].
pub fn list_picked(
    conn: &Connection,
    f: &ListFilter,
    limit: usize,
    pick: impl FnOnce(i64) -> Picked,
) -> rusqlite::Result<Result<(Vec<Company>, bool), Picked>> {
    let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(Err(Picked::Unable));
    };
    let tx = conn.unchecked_transaction()?;
    let ids = match pick(version(&tx)?) {
        Picked::Ids(ids) => ids,
        other => return Ok(Err(other)),
    };
    let mut rows = Vec::new();
    if !ids.is_empty() {
        // One placeholder per id, padded with NULLs (which match nothing) to a power of
        // two, so that a few statements, prepared once per connection, serve every page.
        // (A table-valued `json_each(?)` would be one statement, but a virtual table may
        // see its argument when planning, and such statements are prepared again at
        // every execution.)
        let slots = ids.len().next_power_of_two().max(8);
        let mut args: Args = Vec::with_capacity(slots + 4);
        for i in 0..slots {
            args.push(Box::new(ids.get(i).cloned()));
        }
        let marks = (1..=slots)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let cond = conditions(f, &mut args);
        let test = text_test(q, &mut args).replace("@COL@", "c.search_text");
        let sql = format!(
            "SELECT {} FROM companies c WHERE c.id IN ({marks}){cond} AND {test} \
             ORDER BY c.sort_key, c.id",
            select_columns()
        );
        rows = tx
            .prepare_cached(&sql)?
            .query_map(
                rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())),
                from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
    }
    tx.commit()?;
    if rows.len() != ids.len() || rows.iter().zip(&ids).any(|(r, id)| r.id != *id) {
        return Ok(Err(Picked::Unable));
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok(Ok((rows, more)))
}

fn match_count_upto(conn: &Connection, m: &str, cap: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM (SELECT rowid FROM companies_fts WHERE companies_fts MATCH ?1 LIMIT ?2)",
    )?
    .query_row(params![m, cap], |r| r.get(0))
}

/// (status, count) for the overview page.
pub fn count_by_status(conn: &Connection) -> rusqlite::Result<Vec<(CompanyStatus, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT status, COUNT(*) FROM companies GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// An opaque cursor for the page after `c`.
pub fn cursor_after(c: &Company) -> String {
    super::keyset::encode(&sort_key(&c.legal_name), &c.id)
}

pub fn parse_cursor(s: &str) -> Option<(String, String)> {
    super::keyset::decode(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Cnpj;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        c
    }

    fn fields(name: &str, cnpj: &str) -> Fields {
        Fields {
            legal_name: name.into(),
            trade_name: String::new(),
            cnpj: Cnpj::parse(cnpj).unwrap(),
            contact_name: String::new(),
            email: String::new(),
            phone: String::new(),
            monthly_fee_cents: None,
        }
    }

    #[test]
    fn search_finds_names_without_accents_and_masked_cnpj() {
        let c = db();
        insert(
            &c,
            "a",
            &fields("Padaria São João Ltda", "11222333000181"),
            "t",
        )
        .unwrap();
        insert(&c, "b", &fields("Oficina Central", "12ABC34501DE35"), "t").unwrap();
        let find = |q: &str| {
            let f = ListFilter {
                q: Some(q.into()),
                ..Default::default()
            };
            list(&c, &f, 10)
                .unwrap()
                .0
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(find("sao joao"), vec!["a"]);
        assert_eq!(find("11.222.333/0001-81"), vec!["a"]);
        assert_eq!(find("12.abc.345"), vec!["b"]);
        assert_eq!(find("Of"), vec!["b"]);
        assert_eq!(find("\"quoted\""), Vec::<String>::new());
    }

    #[test]
    fn common_words_take_the_index_walk_and_find_the_same_rows() {
        let mut c = db();
        let tx = c.transaction().unwrap();
        // Inserted out of name order, so rowid order tells nothing about the page.
        for k in 0..1100 {
            let i = (k * 7919) % 1100;
            let base = format!("{:08}0001", i + 10);
            let cnpj = Cnpj::from_base(base.as_bytes().try_into().unwrap()).unwrap();
            insert(
                &tx,
                &format!("id{i:05}"),
                &fields(&format!("Comércio {i:05} Ltda"), cnpj.as_str()),
                "t",
            )
            .unwrap();
        }
        tx.commit().unwrap();
        // Both strategies give the same pages, in name order.
        for q in ["comercio", "comércio 00042", "ltda", "0001"] {
            let f = ListFilter {
                q: Some(q.into()),
                ..Default::default()
            };
            let sort = Tuning {
                sort_at_most: 1_000_000,
                walk_above: 1_000_000,
                walk_window: 10,
            };
            let window = Tuning {
                sort_at_most: 5,
                walk_above: 1_000_000,
                walk_window: 2000,
            };
            let walk = Tuning {
                sort_at_most: 5,
                walk_above: 5,
                walk_window: 1,
            };
            let expected = list_tuned(&c, &f, 3, sort).unwrap();
            assert_eq!(expected, list_tuned(&c, &f, 3, window).unwrap(), "{q}");
            assert_eq!(expected, list_tuned(&c, &f, 3, walk).unwrap(), "{q}");
        }
        let f = ListFilter {
            q: Some("comercio".into()),
            ..Default::default()
        };
        let (page, more) = list_tuned(&c, &f, 3, TUNING).unwrap();
        assert!(more);
        let ids: Vec<&str> = page.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["id00000", "id00001", "id00002"]);
        let rare = ListFilter {
            q: Some("comércio 00042".into()),
            ..Default::default()
        };
        assert_eq!(list(&c, &rare, 3).unwrap().0[0].id, "id00042");
    }

    #[test]
    fn archived_are_hidden_unless_asked_and_paging_continues() {
        let c = db();
        insert(&c, "a", &fields("A", "11222333000181"), "t").unwrap();
        insert(&c, "b", &fields("B", "00000000000191"), "t").unwrap();
        insert(&c, "z", &fields("Z", "33000167000101"), "t").unwrap();
        set_status(&c, "z", CompanyStatus::Archived, "t").unwrap();
        let (page, more) = list(&c, &ListFilter::default(), 1).unwrap();
        assert_eq!((page[0].id.as_str(), more), ("a", true));
        let next = ListFilter {
            after: Some((sort_key("A"), "a".into())),
            ..Default::default()
        };
        let (page, more) = list(&c, &next, 1).unwrap();
        assert_eq!((page[0].id.as_str(), more), ("b", false));
        let archived = ListFilter {
            status: Some("archived".into()),
            ..Default::default()
        };
        assert_eq!(list(&c, &archived, 10).unwrap().0.len(), 1);
    }

    #[test]
    fn names_are_in_portuguese_order_not_byte_order() {
        let c = db();
        insert(
            &c,
            "bh",
            &fields("Belo Horizonte Ltda", "11222333000181"),
            "t",
        )
        .unwrap();
        insert(&c, "be", &fields("Belém Pescados", "00000000000191"), "t").unwrap();
        insert(&c, "ag", &fields("Água Viva", "33000167000101"), "t").unwrap();
        insert(&c, "ba", &fields("banco do bairro", "11444777000161"), "t").unwrap();
        let (page, _) = list(&c, &ListFilter::default(), 10).unwrap();
        let ids: Vec<&str> = page.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["ag", "ba", "be", "bh"]);
    }
}
