//! SQL for the `users` table.

use crate::domain::{Role, UserStatus};
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub company_id: Option<String>,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub failed_attempts: i64,
    pub locked_until: Option<String>,
    pub last_failed_at: Option<String>,
    pub last_login_at: Option<String>,
    pub created_at: String,
    pub rejected_at: Option<String>,
    pub status_reason: String,
}

const COLUMNS: &str = "id, company_id, name, email, role, status, password_hash, failed_attempts, \
                       locked_until, last_failed_at, last_login_at, created_at, rejected_at, status_reason";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        company_id: r.get(1)?,
        name: r.get(2)?,
        email: r.get(3)?,
        role: r.get(4)?,
        status: r.get(5)?,
        password_hash: r.get(6)?,
        failed_attempts: r.get(7)?,
        locked_until: r.get(8)?,
        last_failed_at: r.get(9)?,
        last_login_at: r.get(10)?,
        created_at: r.get(11)?,
        rejected_at: r.get(12)?,
        status_reason: r.get(13)?,
    })
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub company_id: Option<&'a str>,
    pub name: &'a str,
    pub email: &'a str,
    pub role: Role,
    pub status: UserStatus,
    pub password_hash: Option<&'a str>,
}

/// The key people are listed by: their name in Portuguese order (the companies' key).
pub fn sort_key(name: &str) -> String {
    super::companies::sort_key(name)
}

pub fn insert(conn: &Connection, u: &NewUser<'_>, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO users (id, company_id, name, email, role, status, password_hash, created_at, updated_at, sort_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
        params![
            u.id,
            u.company_id,
            u.name,
            u.email,
            u.role,
            u.status,
            u.password_hash,
            now,
            sort_key(u.name)
        ],
    )?;
    Ok(())
}

/// Fills `sort_key` for people written before it existed (or by hand).
pub fn backfill_sort_key(conn: &mut Connection) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let rows: Vec<(String, String)> = tx
        .prepare("SELECT id, name FROM users WHERE sort_key = ''")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, name) in &rows {
        tx.execute(
            "UPDATE users SET sort_key = ?2 WHERE id = ?1",
            params![id, sort_key(name)],
        )?;
    }
    tx.commit()?;
    Ok(rows.len())
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

pub fn by_email(conn: &Connection, email: &str) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE email = ?1"))?
        .query_row([email], from_row)
        .optional()
}

pub fn owner_exists(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'owner')",
        [],
        |r| r.get(0),
    )
}

pub fn count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM users WHERE status != 'anonymized'",
        [],
        |r| r.get(0),
    )
}

pub fn record_failure(
    conn: &Connection,
    id: &str,
    attempts: i64,
    locked_until: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET failed_attempts = ?2, locked_until = ?3, last_failed_at = ?4 WHERE id = ?1",
        params![id, attempts, locked_until, now],
    )?;
    Ok(())
}

/// When the person last signed in (`""` if never): what a pending sign-in is bound to.
pub fn login_mark(conn: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT COALESCE(last_login_at, '') FROM users WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()
}

pub fn record_login(conn: &Connection, id: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL, last_login_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn pending_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COUNT(*) FROM users WHERE status = 'pending'")?
        .query_row([], |r| r.get(0))
}

pub fn count_in_company(conn: &Connection, company_id: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM users WHERE company_id = ?1 AND status != 'anonymized'",
        [company_id],
        |r| r.get(0),
    )
}

/// Addresses of active owners, who are told about sign-ups.
pub fn owner_emails(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT email FROM users WHERE role = 'owner' AND status = 'active' ORDER BY created_at",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

pub fn set_status(
    conn: &Connection,
    id: &str,
    status: &str,
    rejected_at: Option<&str>,
    reason: &str,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET status = ?2, rejected_at = ?3, status_reason = ?4, updated_at = ?5 WHERE id = ?1",
        params![id, status, rejected_at, reason, now],
    )?;
    Ok(())
}

pub fn set_role(conn: &Connection, id: &str, role: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, role, now],
    )?;
    Ok(())
}

pub fn active_owner_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM users WHERE role = 'owner' AND status = 'active'",
        [],
        |r| r.get(0),
    )
}

#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub q: Option<String>,
    pub company_id: Option<String>,
    pub role: Option<String>,
    pub status: Option<String>,
    /// Keyset cursor: list after this (sort key, id).
    pub after: Option<(String, String)>,
    /// Leave out sign-ups waiting for a decision (listed apart, above the people).
    pub without_pending: bool,
}

/// The `status` filter value that lists refused sign-ups (disabled, with a refusal).
pub const REFUSED: &str = "refused";

/// A page of users, each with its company's legal name, and whether more follow.
pub type Page = (Vec<(User, Option<String>)>, bool);

/// Users with their company's legal name, ordered by name.
pub fn list(conn: &Connection, f: &ListFilter, limit: usize) -> rusqlite::Result<Page> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!(
        "SELECT {cols}, c.legal_name FROM users u LEFT JOIN companies c ON c.id = u.company_id WHERE u.status != 'anonymized'"
    );
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(q) = &f.q {
        args.push(Box::new(format!(
            "%{}%",
            crate::db::audit::escape_like(q.trim())
        )));
        let n = args.len();
        sql.push_str(&format!(
            " AND (u.name LIKE ?{n} ESCAPE '\\' OR u.email LIKE ?{n} ESCAPE '\\' OR c.legal_name LIKE ?{n} ESCAPE '\\')"
        ));
    }
    if f.without_pending {
        sql.push_str(" AND u.status != 'pending'");
    }
    let status = f.status.clone().filter(|s| s != REFUSED);
    if f.status.as_deref() == Some(REFUSED) {
        sql.push_str(" AND u.status = 'disabled' AND u.rejected_at IS NOT NULL");
    }
    for (col, v) in [
        ("u.company_id", &f.company_id),
        ("u.role", &f.role),
        ("u.status", &status),
    ] {
        if let Some(v) = v {
            args.push(Box::new(v.clone()));
            sql.push_str(&format!(" AND {col} = ?{}", args.len()));
        }
    }
    if let Some((name, id)) = &f.after {
        args.push(Box::new(name.clone()));
        let n = args.len();
        args.push(Box::new(id.clone()));
        sql.push_str(&format!(
            " AND (u.sort_key, u.id) > (?{n}, ?{})",
            args.len()
        ));
    }
    args.push(Box::new((limit + 1) as i64));
    sql.push_str(&format!(" ORDER BY u.sort_key, u.id LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt
        .query_map(
            rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())),
            |r| Ok((from_row(r)?, r.get(14)?)),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows, more))
}

pub fn set_password(
    conn: &Connection,
    id: &str,
    password_hash: &str,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET password_hash = ?2, failed_attempts = 0, locked_until = NULL, updated_at = ?3
         WHERE id = ?1",
        params![id, password_hash, now],
    )?;
    Ok(())
}

pub fn pending_count_in_company(conn: &Connection, company_id: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COUNT(*) FROM users WHERE status = 'pending' AND company_id = ?1")?
        .query_row([company_id], |r| r.get(0))
}

pub fn set_name(conn: &Connection, id: &str, name: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET name = ?2, updated_at = ?3, sort_key = ?4 WHERE id = ?1",
        params![id, name, now, sort_key(name)],
    )?;
    Ok(())
}

/// An opaque cursor for the page after `u` (lists are ordered by the name's sort key).
pub fn cursor_after(u: &User) -> String {
    super::keyset::encode(&sort_key(&u.name), &u.id)
}
