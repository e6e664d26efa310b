//! SQL for the `users` table.

use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub company_id: Option<String>,
    pub name: String,
    pub email: String,
    pub role: String,
    pub status: String,
    pub password_hash: Option<String>,
    pub failed_attempts: i64,
    pub locked_until: Option<String>,
    pub last_failed_at: Option<String>,
    pub last_login_at: Option<String>,
    pub created_at: String,
}

const COLUMNS: &str = "id, company_id, name, email, role, status, password_hash, failed_attempts, \
                       locked_until, last_failed_at, last_login_at, created_at";

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
    })
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub company_id: Option<&'a str>,
    pub name: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub status: &'a str,
    pub password_hash: Option<&'a str>,
}

pub fn insert(conn: &Connection, u: &NewUser<'_>, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO users (id, company_id, name, email, role, status, password_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![u.id, u.company_id, u.name, u.email, u.role, u.status, u.password_hash, now],
    )?;
    Ok(())
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
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM users WHERE email = ?1"),
        [email],
        from_row,
    )
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

pub fn record_login(conn: &Connection, id: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL, last_login_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}
