//! Upgrades: the SQL a start with pending migrations runs before anything else opens the
//! database (see `backup::upgrade`, which takes a backup first).
//!
//! Unlike [`super::migrate`], which commits one migration at a time, [`migrate_all`]
//! applies every pending migration in ONE transaction: when any of them fails, none is
//! kept and the database stays exactly as the previous version left it, so that
//! version still opens it.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, TransactionBehavior};

/// The same per-connection settings as the pool's where they matter to a migration.
const PRAGMAS: &str = "PRAGMA foreign_keys = ON;
     PRAGMA synchronous = FULL;
     PRAGMA busy_timeout = 5000;";

/// The schema version (`PRAGMA user_version`) of the database at `path`; `None` when
/// there is no database file yet.
pub fn existing_version(path: &Path) -> anyhow::Result<Option<i64>> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = open(path)?;
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(Some(v))
}

/// A consistent copy of the database at `path` in the new file `out` (`VACUUM INTO`:
/// committed data only, WAL included, no journal of its own).
pub fn snapshot(path: &Path, out: &Path) -> anyhow::Result<()> {
    let conn = open(path)?;
    let target = out
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", out.display()))?;
    conn.execute("VACUUM INTO ?1", [target])
        .with_context(|| format!("cannot copy the database to {}", out.display()))?;
    Ok(())
}

/// Applies the migrations of `all` that the database at `path` has not run, all in one
/// transaction. Returns how many were applied.
pub fn migrate_all(path: &Path, all: &[(&str, &str)]) -> anyhow::Result<usize> {
    let mut conn = open(path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    anyhow::ensure!(
        applied <= all.len(),
        "the database was written by a newer version of this program ({applied} migrations)"
    );
    for (name, sql) in &all[applied..] {
        tx.execute_batch(sql)
            .with_context(|| format!("migration {name} failed"))?;
    }
    tx.pragma_update(None, "user_version", all.len() as i64)?;
    tx.commit()?;
    Ok(all.len() - applied)
}

fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open database {}", path.display()))?;
    conn.execute_batch(PRAGMAS)?;
    Ok(conn)
}
