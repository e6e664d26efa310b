//! SQL for the `companies` table.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::db::audit::escape_like;
use crate::domain::cnpj;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    pub id: String,
    pub legal_name: String,
    pub trade_name: String,
    pub cnpj: String,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

/// The fields a person edits; already validated by the use case.
#[derive(Clone, Debug)]
pub struct Fields {
    pub legal_name: String,
    pub trade_name: String,
    pub cnpj: String,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
}

const COLUMNS: &str =
    "id, legal_name, trade_name, cnpj, contact_name, email, phone, status, created_at, updated_at";

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
    })
}

pub fn insert(conn: &Connection, id: &str, f: &Fields, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO companies (id, legal_name, trade_name, cnpj, contact_name, email, phone,
                                status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?8)",
        params![
            id,
            f.legal_name,
            f.trade_name,
            f.cnpj,
            f.contact_name,
            f.email,
            f.phone,
            now
        ],
    )?;
    Ok(())
}

pub fn update(conn: &Connection, id: &str, f: &Fields, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE companies SET legal_name = ?2, trade_name = ?3, cnpj = ?4, contact_name = ?5,
                email = ?6, phone = ?7, updated_at = ?8
         WHERE id = ?1",
        params![
            id,
            f.legal_name,
            f.trade_name,
            f.cnpj,
            f.contact_name,
            f.email,
            f.phone,
            now
        ],
    )?;
    Ok(())
}

pub fn set_status(conn: &Connection, id: &str, status: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE companies SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status, now],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Company>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM companies WHERE id = ?1"),
        [id],
        from_row,
    )
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
    /// Keyset cursor: list after this (legal_name, id).
    pub after: Option<(String, String)>,
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

/// One page ordered by legal name; returns the rows and whether more follow.
pub fn list(
    conn: &Connection,
    f: &ListFilter,
    limit: usize,
) -> rusqlite::Result<(Vec<Company>, bool)> {
    let mut sql = format!("SELECT {COLUMNS} FROM companies WHERE 1=1");
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    match &f.status {
        Some(s) => {
            args.push(Box::new(s.clone()));
            sql.push_str(&format!(" AND status = ?{}", args.len()));
        }
        None => sql.push_str(" AND status != 'archived'"),
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        match fts_query(q) {
            Some(m) => {
                args.push(Box::new(m));
                sql.push_str(&format!(
                    " AND rowid IN (SELECT rowid FROM companies_fts WHERE companies_fts MATCH ?{})",
                    args.len()
                ));
            }
            None => {
                // One or two characters: a prefix match on the names uses no trigram.
                args.push(Box::new(format!("{}%", escape_like(q))));
                let n = args.len();
                sql.push_str(&format!(
                    " AND (legal_name LIKE ?{n} ESCAPE '\\' OR trade_name LIKE ?{n} ESCAPE '\\' OR cnpj LIKE ?{n} ESCAPE '\\')"
                ));
            }
        }
    }
    if let Some((name, id)) = &f.after {
        args.push(Box::new(name.clone()));
        let n = args.len();
        args.push(Box::new(id.clone()));
        sql.push_str(&format!(" AND (legal_name, id) > (?{n}, ?{})", args.len()));
    }
    args.push(Box::new((limit + 1) as i64));
    sql.push_str(&format!(" ORDER BY legal_name, id LIMIT ?{}", args.len()));
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

/// (status, count) for the overview page.
pub fn count_by_status(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT status, COUNT(*) FROM companies GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// An opaque cursor for the page after `c`.
pub fn cursor_after(c: &Company) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}\u{0}{}", c.legal_name, c.id))
}

pub fn parse_cursor(s: &str) -> Option<(String, String)> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, id) = text.split_once('\u{0}')?;
    Some((name.to_string(), id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        c
    }

    fn fields(name: &str, cnpj: &str) -> Fields {
        Fields {
            legal_name: name.into(),
            trade_name: String::new(),
            cnpj: cnpj.into(),
            contact_name: String::new(),
            email: String::new(),
            phone: String::new(),
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
    fn archived_are_hidden_unless_asked_and_paging_continues() {
        let c = db();
        insert(&c, "a", &fields("A", "11222333000181"), "t").unwrap();
        insert(&c, "b", &fields("B", "00000000000191"), "t").unwrap();
        insert(&c, "z", &fields("Z", "33000167000101"), "t").unwrap();
        set_status(&c, "z", "archived", "t").unwrap();
        let (page, more) = list(&c, &ListFilter::default(), 1).unwrap();
        assert_eq!((page[0].id.as_str(), more), ("a", true));
        let next = ListFilter {
            after: Some(("A".into(), "a".into())),
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
}
