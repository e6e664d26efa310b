//! The live schema read back from SQLite, for the data inventory's check: every column
//! of every table must be classified in `domain::inventory`.

use rusqlite::Connection;

use crate::domain::inventory;

/// Every (table, column) of the database, virtual tables and their shadow tables
/// included, SQLite's own tables left out.
pub fn columns(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
        let cols = stmt.query_map([&t], |r| r.get::<_, String>(0))?;
        for c in cols {
            out.push((t.clone(), c?));
        }
    }
    Ok(out)
}

/// `table.column` of every column the inventory does not classify.
pub fn unclassified(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    Ok(columns(conn)?
        .into_iter()
        .filter(|(t, c)| inventory::classify(t, c).is_none())
        .map(|(t, c)| format!("{t}.{c}"))
        .collect())
}

/// `table.column` of every inventory entry that names no column (a typo, or a column
/// dropped since).
pub fn stale(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let live = columns(conn)?;
    Ok(inventory::declared()
        .into_iter()
        .filter(|(t, c)| !live.iter().any(|(lt, lc)| lt == t && lc == c))
        .map(|(t, c)| format!("{t}.{c}"))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fresh() -> (tempfile::TempDir, crate::db::Pool) {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::db::open(&dir.path().join("otm.db"), 1).unwrap();
        (dir, pool)
    }

    #[test]
    fn every_column_of_a_fresh_database_is_in_the_inventory() {
        let (_dir, pool) = fresh();
        let conn = pool.get().unwrap();
        assert!(columns(&conn).unwrap().len() > 100);
        let missing = unclassified(&conn).unwrap();
        assert!(
            missing.is_empty(),
            "columns neither in inventory::PERSONAL nor in inventory::NOT_PERSONAL \
             (classify each in src/domain/inventory.rs): {missing:?}"
        );
        let stale = stale(&conn).unwrap();
        assert!(
            stale.is_empty(),
            "inventory entries naming no column: {stale:?}"
        );
    }

    #[test]
    fn a_migration_adding_an_undeclared_column_fails_the_check() {
        let (dir, _pool) = fresh();
        // The pool's connections are read-only: a connection of its own, like a tool's.
        let conn = rusqlite::Connection::open(dir.path().join("otm.db")).unwrap();
        conn.execute_batch(
            "ALTER TABLE users ADD COLUMN nickname TEXT;
             CREATE TABLE loyalty (user_id TEXT, birthday TEXT);",
        )
        .unwrap();
        assert_eq!(
            unclassified(&conn).unwrap(),
            vec!["loyalty.user_id", "loyalty.birthday", "users.nickname"]
        );
    }
}
