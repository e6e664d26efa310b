//! The store layer: the connection pool, migrations, and one module of SQL per table.
//! All SQL of the program lives under this module.

pub mod app_settings;
pub mod applications;
pub mod audit;
pub mod backups;
pub mod checkpoint;
pub mod companies;
pub mod company_requests;
pub mod erasure;
pub mod health;
pub mod invitations;
pub mod keyset;
pub mod known_clients;
pub mod metrics;
pub mod mfa;
pub mod notify;
pub mod omie_credentials;
pub mod outbox;
pub mod overview;
pub mod password_resets;
pub mod privacy;
pub mod privacy_requests;
pub mod readers;
pub mod schema;
pub mod sessions;
pub mod setup;
pub mod summary;
pub mod tokens;
pub mod upgrade;
pub mod usage;
pub mod users;
pub mod vendor;
pub mod writer;

pub use writer::{Tx, Writer};

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::AppError;

/// The database: a pool of READ-ONLY connections for reads, and the [`Writer`] every
/// write goes through (one thread, the only connection that writes rows, group commit).
#[derive(Clone)]
pub struct Pool {
    read: r2d2::Pool<SqliteConnectionManager>,
    writer: Writer,
    /// The threads the requests' reads run on (one per connection; see `readers.rs`).
    readers: readers::Readers,
}

/// A pooled read-only connection (it derefs to [`Connection`]) that also carries the
/// writer, so a use case handed one can write through [`write`].
pub struct Conn {
    read: r2d2::PooledConnection<SqliteConnectionManager>,
    writer: Writer,
}

impl Pool {
    /// A read-only connection from the pool.
    pub fn get(&self) -> Result<Conn, r2d2::Error> {
        Ok(Conn {
            read: self.read.get()?,
            writer: self.writer.clone(),
        })
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Closes the pool and stops the writer once its queue is done; returns the
    /// writer's (read-write) connection, for work after the server's life such as a
    /// checkpoint. Other clones of the writer stop working.
    pub fn close(self) -> anyhow::Result<Connection> {
        drop(self.read);
        self.writer.finish()
    }

    pub fn state(&self) -> r2d2::State {
        self.read.state()
    }

    pub fn max_size(&self) -> u32 {
        self.read.max_size()
    }

    /// Reads queued for a reader thread and not yet taken.
    pub fn read_queue(&self) -> usize {
        self.readers.waiting()
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pool(..)")
    }
}

impl std::ops::Deref for Conn {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.read
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.read
    }
}

impl AsRef<Writer> for Conn {
    fn as_ref(&self) -> &Writer {
        &self.writer
    }
}

impl AsRef<Writer> for Pool {
    fn as_ref(&self) -> &Writer {
        &self.writer
    }
}

/// Plain SQL files, embedded in the binary, applied in order; `PRAGMA user_version`
/// records how many have run.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    (
        "0002_company_search_text",
        include_str!("../../migrations/0002_company_search_text.sql"),
    ),
    (
        "0003_outbox",
        include_str!("../../migrations/0003_outbox.sql"),
    ),
    (
        "0004_signup",
        include_str!("../../migrations/0004_signup.sql"),
    ),
    (
        "0005_links",
        include_str!("../../migrations/0005_links.sql"),
    ),
    (
        "0006_omie_credentials",
        include_str!("../../migrations/0006_omie_credentials.sql"),
    ),
    (
        "0007_applications",
        include_str!("../../migrations/0007_applications.sql"),
    ),
    (
        "0008_usage",
        include_str!("../../migrations/0008_usage.sql"),
    ),
    (
        "0009_backups",
        include_str!("../../migrations/0009_backups.sql"),
    ),
    (
        "0010_outbox_sealed",
        include_str!("../../migrations/0010_outbox_sealed.sql"),
    ),
    (
        "0011_outbox_dead_letters",
        include_str!("../../migrations/0011_outbox_dead_letters.sql"),
    ),
    (
        "0012_session_state",
        include_str!("../../migrations/0012_session_state.sql"),
    ),
    ("0013_mfa", include_str!("../../migrations/0013_mfa.sql")),
    (
        "0014_usage_refusals",
        include_str!("../../migrations/0014_usage_refusals.sql"),
    ),
    (
        "0015_known_clients",
        include_str!("../../migrations/0015_known_clients.sql"),
    ),
    (
        "0016_invitation_sender",
        include_str!("../../migrations/0016_invitation_sender.sql"),
    ),
    (
        "0017_audit_personal",
        include_str!("../../migrations/0017_audit_personal.sql"),
    ),
    (
        "0018_privacy_records",
        include_str!("../../migrations/0018_privacy_records.sql"),
    ),
    (
        "0019_privacy_requests",
        include_str!("../../migrations/0019_privacy_requests.sql"),
    ),
    (
        "0021_company_sort_key",
        include_str!("../../migrations/0021_company_sort_key.sql"),
    ),
    (
        "0023_usage_app_calls",
        include_str!("../../migrations/0023_usage_app_calls.sql"),
    ),
    (
        "0024_overview",
        include_str!("../../migrations/0024_overview.sql"),
    ),
    (
        "0025_user_sort_key",
        include_str!("../../migrations/0025_user_sort_key.sql"),
    ),
    (
        "0029_notifications",
        include_str!("../../migrations/0029_notifications.sql"),
    ),
    (
        "0030_monthly_fee",
        include_str!("../../migrations/0030_monthly_fee.sql"),
    ),
    (
        "0031_companies_version",
        include_str!("../../migrations/0031_companies_version.sql"),
    ),
    (
        "0032_audit_check",
        include_str!("../../migrations/0032_audit_check.sql"),
    ),
];

/// Prepared statements kept per connection: the writer runs every kind of write, and a
/// statement re-prepared on each job costs more than the job's own work.
const STATEMENT_CACHE: usize = 256;

/// Per-connection settings (the writer's and the read-only pool's).
///
/// `synchronous=FULL`: in WAL mode a commit then returns only after the WAL is fsynced,
/// so an acknowledged write survives `kill -9` *and* a power cut. (`NORMAL` would also
/// survive `kill -9`, but may lose the last commits on power loss; the writer commits
/// whole groups, so the fsync is paid once per group, not once per write.)
///
/// `mmap_size` 16 MB (the writer's; the readers override it, [`READER_PRAGMAS`]): pages
/// read through the map count in the process's RSS, and every audited read and token
/// grows the database by a page every few rows; past the map, pages are read into the
/// connection's own cache (`cache_size`, 2 MB at most). Measured: 256 MB of map left
/// 116 MB of RSS after 30 s of audited reads and tokens, 16 MB left 59 MB, for about 5 %
/// more CPU in the writer.
pub(crate) const CONNECTION_PRAGMAS: &str = "PRAGMA foreign_keys = ON;
     PRAGMA synchronous = FULL;
     PRAGMA busy_timeout = 5000;
     PRAGMA temp_store = MEMORY;
     PRAGMA cache_size = -2000;
     PRAGMA mmap_size = 16777216;
     PRAGMA secure_delete = ON;";

/// The read connections' own settings, after [`CONNECTION_PRAGMAS`]: no map and a small
/// cache. Each connection's map counts in RSS on its own (eight readers touching the same
/// pages count them eight times): at 100,000 companies, after 64 concurrent searches,
/// VmRSS 110 → 88–90 MB, for up to about a third of search throughput (q=Agr 14,278 req/s
/// with the maps; 9,708 and 13,884 without, in two runs: the page's 21 rows are read by
/// id, so a bigger cache holds little that the next search needs). The hot audited
/// routes read in the writer.
const READER_PRAGMAS: &str = "PRAGMA mmap_size = 0; PRAGMA cache_size = -500;";

/// Opens (creating if needed) the database, switches it to WAL once, applies pending
/// migrations, starts the writer on that connection, and returns the read-only pool.
pub fn open(path: &Path, max_size: u32) -> anyhow::Result<Pool> {
    open_with(path, max_size, writer::Options::default())
}

/// [`open`] with the writer's queue settings.
pub fn open_with(path: &Path, max_size: u32, opts: writer::Options) -> anyhow::Result<Pool> {
    let writer = {
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        conn.execute_batch(CONNECTION_PRAGMAS)?;
        // WAL persists in the file; readers never block the writer.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        anyhow::ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "database refused WAL mode ({mode})"
        );
        migrate(&mut conn)?;
        let filled = companies::backfill_search_text(&mut conn)?;
        if filled > 0 {
            tracing::info!(rows = filled, "filled company search text");
        }
        let filled = users::backfill_sort_key(&mut conn)?;
        if filled > 0 {
            tracing::info!(rows = filled, "filled people's sort keys");
        }
        // Migrations and backfills are done: from here on this connection is the
        // writer's, the only one of the process that writes rows.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Checkpoints are the checkpoint thread's (`checkpoint.rs`), not the writer's.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        Writer::start(conn, opts).context("cannot start the database writer")?
    };
    checkpoint::start(path, &writer).context("cannot start the checkpoint thread")?;
    // Read-only: reads never wait behind the writer (WAL), and a write that did not go
    // through the writer fails loudly instead of taking the lock behind its back.
    let manager = SqliteConnectionManager::file(path)
        .with_flags(
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_init(|c| {
            c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            c.execute_batch(CONNECTION_PRAGMAS)?;
            c.execute_batch(READER_PRAGMAS)
        });
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .context("cannot build the database pool")?;
    let readers = readers::Readers::start(max_size as usize)
        .context("cannot start the database reader threads")?;
    Ok(Pool {
        read: pool,
        writer,
        readers,
    })
}

pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    anyhow::ensure!(
        applied <= MIGRATIONS.len(),
        "the database was written by a newer version of this program ({applied} migrations)"
    );
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)
            .with_context(|| format!("migration {name} failed"))?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(migration = name, "applied migration");
    }
    Ok(())
}

/// Runs `f` in the writer (its own savepoint inside the writer's group transaction) and
/// waits, blocking this thread, until the group committed. For use cases already on the
/// blocking pool; the async path is [`Writer::write`]. Reads that decide the write belong
/// inside `f`, so check-then-write stays atomic.
pub fn write<T, F>(w: &impl AsRef<Writer>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&Tx<'_>) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    w.as_ref().write_blocking(f)
}

/// Runs blocking database work on the pool's reader threads, never on the async workers.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Conn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let p = pool.clone();
    pool.readers
        .run(move || {
            let mut conn = p.get()?;
            f(&mut conn)
        })
        .await
}

/// The blocking pool of the runtime (tokio's, which actix runs on): bcrypt, file work and
/// the reads that must not hold a reader thread go there, never onto the async workers.
async fn blocking<T, F>(f: F) -> Result<T, AppError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// How many migrations this build knows (a database's `user_version` when current).
pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Rows of every ordinary table (virtual tables are counted through their shadow
/// tables), for comparing a backup with its source.
pub fn table_counts(
    conn: &Connection,
) -> rusqlite::Result<std::collections::BTreeMap<String, i64>> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
               AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = std::collections::BTreeMap::new();
    for name in names {
        // Names come from the schema itself, not from input; quoted as identifiers.
        let sql = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
        let n: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
        out.insert(name, n);
    }
    Ok(out)
}

/// Like [`run`], for work that must not hold a connection all along: it takes one from
/// the pool only while it needs it (sign-in holds none during bcrypt, so a burst of
/// sign-ins cannot take every connection from everyone else).
pub async fn run_with_pool<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&Pool) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    blocking(move || f(&pool)).await
}

/// True when a SQLite error is a UNIQUE constraint failure.
pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(err, _)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        open(&path, 2).unwrap();
        let pool = open(&path, 2).unwrap();
        let conn = pool.get().unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn usage_rows_of_made_up_ids_become_refusal_counters() {
        let mut conn = Connection::open_in_memory().unwrap();
        let at = MIGRATIONS
            .iter()
            .position(|(name, _)| *name == "0014_usage_refusals")
            .unwrap();
        for (_, sql) in &MIGRATIONS[..at] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO companies (id, legal_name, cnpj, created_at, updated_at)
               VALUES ('cmp_a', 'A', '11222333000181', 't', 't');
             INSERT INTO api_usage VALUES ('2026-11-28', 'app_a', 'cmp_a', 'companies.read', 3);
             INSERT INTO api_usage VALUES ('2026-11-28', 'app_a', 'cmp_a', 'refused', 1);
             INSERT INTO api_usage VALUES ('2026-11-28', 'app_a', '=HYPERLINK(\"x\")', 'refused', 2);
             INSERT INTO api_usage VALUES ('2026-11-28', 'app_a', 'cmp_inventada', 'refused', 5);
             INSERT INTO api_usage VALUES ('2026-11-29', 'app_a', 'cmp_inventada', 'refused', 1);",
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[at].1).unwrap();
        tx.commit().unwrap();
        let all = |sql: &str| -> Vec<String> {
            let mut st = conn.prepare(sql).unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(
            all("SELECT company_id || ' ' || operation || ' ' || count FROM api_usage ORDER BY 1"),
            ["cmp_a companies.read 3", "cmp_a refused 1"]
        );
        assert_eq!(
            all(
                "SELECT date || ' ' || application_id || ' ' || count FROM api_refusals ORDER BY 1"
            ),
            ["2026-11-28 app_a 7", "2026-11-29 app_a 1"]
        );
    }
}
