//! Backups: a consistent online snapshot (`VACUUM INTO`), checked, compressed and
//! encrypted ([`archive`]), verified by opening it again, copied off-site ([`remote`]),
//! pruned by age, and run on a schedule ([`schedule`]). [`restore`] is the way back.
//!
//! One backup at a time, across processes: a run holds an exclusive lock on
//! `backups/.lock` in the data dir (the command line and the server share it).

pub mod archive;
pub mod jobs;
pub mod remote;
pub mod restore;
pub mod schedule;
pub mod upgrade;

use crate::db::Conn;
use crate::domain::Action;
use crate::domain::RemoteStatus;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveTime;
use rusqlite::{Connection, OpenFlags};
use serde_json::json;

use crate::config::Settings;
use crate::db::{self, Pool, app_settings, audit, backups};
use crate::error::AppError;
use crate::services::{Actor, Keys};
use crate::time;

/// What the owner may change on the dashboard (the environment and config file win).
#[derive(Clone, Debug)]
pub struct Policy {
    pub times_text: String,
    pub times: Vec<NaiveTime>,
    pub retention_days: u32,
    pub remote: Option<String>,
}

pub const SETTING_TIMES: &str = "backup_times";
pub const SETTING_RETENTION: &str = "backup_retention_days";
pub const SETTING_REMOTE: &str = "backup_remote";

impl Policy {
    pub fn load(conn: &Connection, settings: &Settings) -> Result<Self, AppError> {
        let stored = |key: &'static str| -> Result<Option<String>, AppError> {
            if settings.explicit.contains(&key) {
                Ok(None)
            } else {
                Ok(app_settings::get(conn, key)?)
            }
        };
        let times_text = stored(SETTING_TIMES)?
            .filter(|t| schedule::parse_times(t).is_ok())
            .unwrap_or_else(|| settings.backup_times.clone());
        let times = schedule::parse_times(&times_text).unwrap_or_default();
        let retention_days = stored(SETTING_RETENTION)?
            .and_then(|d| d.parse().ok())
            .unwrap_or(settings.backup_retention_days);
        let remote = match stored(SETTING_REMOTE)? {
            Some(r) => Some(r).filter(|r| !r.is_empty()),
            None => settings.backup_remote.clone(),
        };
        Ok(Self {
            times_text,
            times,
            retention_days,
            remote,
        })
    }
}

pub fn dir(settings: &Settings) -> PathBuf {
    settings.data_dir.join("backups")
}

/// Held while a backup runs; dropping it lets the next one start.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// `None` when another backup (in this process or another) is running.
pub fn try_lock(settings: &Settings) -> anyhow::Result<Option<RunLock>> {
    let dir = dir(settings);
    crate::files::create_private_dir(&dir)?;
    Ok(try_lock_file(&dir.join(".lock"))?.map(|file| RunLock { _file: file }))
}

/// An exclusive lock on `path` (created if needed), held while the file stays open;
/// `None` when another process or handle holds it.
pub fn try_lock_file(path: &Path) -> anyhow::Result<Option<File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// Takes the lock and records a running backup (with its audit row).
pub fn begin(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    actor: &Actor,
    kind: &str,
) -> Result<(RunLock, backups::Backup), AppError> {
    let lock = try_lock(settings)?.ok_or_else(|| {
        AppError::Conflict(vec![crate::error::FieldError::new(
            "backup",
            "Já há um backup em andamento. Aguarde ele terminar.",
        )])
    })?;
    let id = crate::crypto::new_id("bkp");
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_kind = kind.to_owned();
    let row = db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let kind = &w_kind;
        let now = time::now_db();
        let by = actor.user_id().map(|_| actor.label());
        // Holding the lock proves nothing else runs: a row still "running" is a dead run.
        let dead = backups::fail_interrupted(tx, &now)?;
        if dead > 0 {
            let mut entry = Actor::system().entry(Action::BackupInterrupted, "backup", None);
            entry.details = json!({ "runs": dead });
            audit::append(tx, &keys.audit, &now, &entry)?;
        }
        backups::insert_running(tx, &id, kind, by.as_deref(), &now)?;
        let mut entry = actor.entry(Action::BackupStart, "backup", Some(&id));
        entry.details = json!({ "kind": kind });
        audit::append(tx, &keys.audit, &now, &entry)?;
        backups::get(tx, &id)?.ok_or(AppError::NotFound)
    })?;
    Ok((lock, row))
}

/// Marks runs left `running` by a process that died as failed, with an audit row. Call
/// it holding the lock (nobody else can be running then).
pub fn fail_interrupted(conn: &mut Conn, keys: &Keys) -> Result<usize, AppError> {
    let w_keys = keys.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let now = time::now_db();
        let n = backups::fail_interrupted(tx, &now)?;
        if n > 0 {
            let mut entry = Actor::system().entry(Action::BackupInterrupted, "backup", None);
            entry.details = json!({ "runs": n });
            audit::append(tx, &keys.audit, &now, &entry)?;
        }
        Ok(n)
    })
}

/// Why a run failed: a stable code (the pages translate it) and the technical detail.
#[derive(Debug)]
struct Failure {
    code: &'static str,
    detail: String,
}

fn fail(code: &'static str) -> impl FnOnce(anyhow::Error) -> Failure {
    move |e| Failure {
        code,
        detail: format!("{e:#}"),
    }
}

struct Made {
    file_name: String,
    path: PathBuf,
    size: u64,
    sha256: String,
    db_bytes: u64,
}

/// Runs the backup recorded by [`begin`] to the end and records the outcome. Blocking:
/// call it from a thread of its own.
pub fn execute(
    pool: &Pool,
    keys: &Keys,
    settings: &Settings,
    lock: RunLock,
    id: &str,
) -> Result<backups::Backup, AppError> {
    let r = execute_inner(pool, keys, settings, id);
    if let Err(e) = &r {
        // The run must not stay "running" (the page would wait for it forever).
        tracing::error!(backup = id, error = ?e, "backup failed");
        let o = backups::Outcome::failed("internal", "the backup could not be recorded");
        let failed = pool
            .get()
            .map_err(AppError::from)
            .and_then(|mut c| record(&mut c, keys, id, &o));
        if let Err(e) = failed {
            tracing::error!(backup = id, error = ?e, "backup failure not recorded");
        }
    }
    drop(lock);
    r
}

/// Shows which phase a run is in (best effort: a run does not fail for it).
fn set_phase(pool: &Pool, id: &str, phase: &'static str) {
    let id = id.to_string();
    if let Err(e) = db::write(pool, move |tx| Ok(backups::set_phase(tx, &id, phase)?)) {
        tracing::warn!(error = ?e, "backup phase not recorded");
    }
}

/// Records how a run ended, with its audit row.
fn record(
    conn: &mut Conn,
    keys: &Keys,
    id: &str,
    outcome: &backups::Outcome<'_>,
) -> Result<backups::Backup, AppError> {
    let w_keys = keys.to_owned();
    let w_id = id.to_owned();
    let own = |o: Option<&str>| o.map(str::to_owned);
    let o = outcome;
    let (file_name, sha256, remote, remote_error, error_code, error) = (
        own(o.file_name),
        own(o.sha256),
        own(o.remote),
        own(o.remote_error),
        own(o.error_code),
        own(o.error),
    );
    let (status, size_bytes, db_bytes, duration_ms, verified, remote_status) = (
        o.status,
        o.size_bytes,
        o.db_bytes,
        o.duration_ms,
        o.verified,
        o.remote_status,
    );
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let id = &w_id;
        let outcome = &backups::Outcome {
            status,
            file_name: file_name.as_deref(),
            size_bytes,
            db_bytes,
            sha256: sha256.as_deref(),
            duration_ms,
            verified,
            remote: remote.as_deref(),
            remote_status,
            remote_error: remote_error.as_deref(),
            error_code: error_code.as_deref(),
            error: error.as_deref(),
        };
        let now = time::now_db();
        backups::finish(tx, id, outcome, &now)?;
        let mut entry = Actor::system().entry(Action::BackupFinish, "backup", Some(id));
        entry.details = json!({
            "status": outcome.status,
            "size_bytes": outcome.size_bytes,
            "duration_ms": outcome.duration_ms,
            "remote_status": outcome.remote_status,
            "error_code": outcome.error_code,
        });
        audit::append(tx, &keys.audit, &now, &entry)?;
        backups::get(tx, id)?.ok_or(AppError::NotFound)
    })
}

fn execute_inner(
    pool: &Pool,
    keys: &Keys,
    settings: &Settings,
    id: &str,
) -> Result<backups::Backup, AppError> {
    // A pooled connection is taken for each short read or write only: a run lasts
    // seconds to minutes (the off-site copy can wait on the network), and the server's
    // requests need the pool meanwhile.
    let started = Instant::now();
    let policy = Policy::load(&*pool.get()?, settings)?;
    let made = make(pool, keys, settings, id);
    let (remote_status, remote_error) = match (&made, &policy.remote) {
        (Ok(m), Some(remote)) => {
            set_phase(pool, id, "copy");
            match remote::copy(&m.path, remote) {
                Ok(()) => (Some(RemoteStatus::Copied), None),
                Err(e) => (Some(RemoteStatus::Failed), Some(e.to_string())),
            }
        }
        _ => (None, None),
    };
    let duration_ms = started.elapsed().as_millis() as i64;
    let outcome = match &made {
        Ok(m) => backups::Outcome {
            status: crate::domain::BackupStatus::Succeeded,
            file_name: Some(&m.file_name),
            size_bytes: Some(m.size as i64),
            db_bytes: Some(m.db_bytes as i64),
            sha256: Some(&m.sha256),
            duration_ms,
            verified: true,
            remote: policy.remote.as_deref(),
            remote_status,
            remote_error: remote_error.as_deref(),
            error_code: None,
            error: None,
        },
        Err(f) => backups::Outcome {
            duration_ms,
            ..backups::Outcome::failed(f.code, &f.detail)
        },
    };
    let row = record(&mut pool.get()?, keys, id, &outcome);
    let row = match row {
        Ok(row) => row,
        Err(e) => {
            // Unrecorded, the file could be neither downloaded nor pruned.
            if let Ok(m) = &made {
                let _ = std::fs::remove_file(&m.path);
                let _ = std::fs::remove_file(sidecar(&m.path));
            }
            return Err(e);
        }
    };
    match &made {
        Ok(m) => tracing::info!(
            backup = id,
            file = %m.path.display(),
            size = m.size,
            duration_ms,
            remote = ?remote_status,
            "backup succeeded"
        ),
        Err(f) => tracing::error!(backup = id, code = f.code, error = %f.detail, "backup failed"),
    }
    // Only once the new backup is recorded as the newest good one.
    if made.is_ok()
        && let Err(e) = prune(pool, keys, settings, &policy)
    {
        tracing::warn!(error = ?e, "old backups not pruned");
    }
    Ok(row)
}

/// Snapshot, check, encrypt, verify. Leaves no partial file behind on failure.
fn make(pool: &Pool, keys: &Keys, settings: &Settings, id: &str) -> Result<Made, Failure> {
    let dir = dir(settings);
    let snapshot = dir.join(format!(".snapshot-{id}.db"));
    let check = dir.join(format!(".verify-{id}.db"));
    // Milliseconds: two runs in one second (one after the other) get two names.
    let stamp = time::now().format("%Y%m%dT%H%M%S%.3fZ");
    let file_name = format!("omie-tenant-manager-{stamp}.db.zst.age");
    let path = dir.join(&file_name);
    let partial = dir.join(format!(".{file_name}.partial"));
    let db_path = settings.db_path();
    let r = make_inner(pool, keys, id, &db_path, &snapshot, &check, &partial, &path);
    for p in [&snapshot, &check, &partial] {
        let _ = std::fs::remove_file(p);
    }
    let (sha256, size, db_bytes) = r?;
    Ok(Made {
        file_name,
        path,
        size,
        sha256,
        db_bytes,
    })
}

#[allow(clippy::too_many_arguments)]
fn make_inner(
    pool: &Pool,
    keys: &Keys,
    id: &str,
    db_path: &Path,
    snapshot: &Path,
    check: &Path,
    partial: &Path,
    path: &Path,
) -> Result<(String, u64, u64), Failure> {
    let mut clock: (Instant, Option<&str>) = (Instant::now(), None);
    let mut phase = |p: &'static str| {
        if let Some(done) = clock.1 {
            tracing::info!(
                backup = id,
                phase = done,
                ms = clock.0.elapsed().as_millis() as u64,
                "backup phase done"
            );
        }
        clock = (Instant::now(), Some(p));
        set_phase(pool, id, p);
    };
    phase("snapshot");
    let target = snapshot
        .to_str()
        .context("data dir path is not UTF-8")
        .map_err(fail("snapshot"))?;
    // One read transaction: writers go on, and the copy is the database as of its start.
    // A connection of its own, without the pool's memory map, so the copy does not map
    // the whole database into the server's memory.
    Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|c| {
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        c.execute("VACUUM INTO ?1", [target])
    })
    .context("VACUUM INTO failed")
    .map_err(fail("snapshot"))?;

    phase("check");
    let (schema_version, tables) = check_database(snapshot).map_err(fail("integrity"))?;
    let (db_sha256, db_bytes) = archive::sha256_file(snapshot)
        .context("cannot read the snapshot")
        .map_err(fail("snapshot"))?;
    let manifest = archive::Manifest {
        created_at: time::now_db(),
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version,
        db_bytes,
        db_sha256,
        tables,
    };

    phase("encrypt");
    let recipient = keys.ring.backup_recipient().map_err(fail("encrypt"))?;
    let (sha256, size) =
        archive::write(snapshot, &manifest, &recipient, partial).map_err(fail("encrypt"))?;
    if path.exists() {
        return Err(Failure {
            code: "encrypt",
            detail: format!("{} already exists", path.display()),
        });
    }
    std::fs::rename(partial, path)
        .context("cannot name the backup file")
        .map_err(fail("encrypt"))?;
    // From here on the file is ours: a failure removes it, so only verified files stay.
    phase("verify");
    let verify_started = Instant::now();
    let r = finish_file(keys, path, check, &manifest, &sha256);
    tracing::info!(
        backup = id,
        phase = "verify",
        ms = verify_started.elapsed().as_millis() as u64,
        "backup phase done"
    );
    if r.is_err() {
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_file(sidecar(path));
    }
    r?;
    Ok((sha256, size, db_bytes))
}

fn finish_file(
    keys: &Keys,
    path: &Path,
    check: &Path,
    manifest: &archive::Manifest,
    sha256: &str,
) -> Result<(), Failure> {
    write_sidecar(path, sha256).map_err(fail("encrypt"))?;
    sync_dir(path);

    let identities: Vec<String> = keys
        .ring
        .backup_identities()
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let opened = archive::open(path, &identities, check)
        .map_err(|e| anyhow::anyhow!(e))
        .map_err(fail("verify"))?;
    let (_, counts) = check_database(check).map_err(fail("verify"))?;
    if opened != *manifest || counts != manifest.tables {
        return Err(Failure {
            code: "verify",
            detail: "the backup opened, but its row counts differ from the snapshot".into(),
        });
    }
    Ok(())
}

/// `PRAGMA integrity_check`, then the schema version and the rows of every table.
pub fn check_database(path: &Path) -> anyhow::Result<(i64, BTreeMap<String, i64>)> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    anyhow::ensure!(verdict == "ok", "integrity check failed: {verdict}");
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok((version, db::table_counts(&conn)?))
}

fn sidecar(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// `<file>.sha256` in `sha256sum` format, so `sha256sum -c` checks a copy anywhere.
fn write_sidecar(path: &Path, sha256: &str) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("backup file name")?;
    std::fs::write(sidecar(path), format!("{sha256}  {name}\n"))?;
    Ok(())
}

fn sync_dir(path: &Path) {
    if let Some(d) = path.parent()
        && let Ok(f) = File::open(d)
    {
        let _ = f.sync_all();
    }
}

/// Removes backups older than the retention, locally and on the remote, but never the
/// newest good one (so a long outage cannot leave the owner with nothing), and nothing
/// at all while the last off-site copy failed (the older copies may be the only ones
/// off the server).
pub fn prune(
    pool: &Pool,
    keys: &Keys,
    settings: &Settings,
    policy: &Policy,
) -> Result<usize, AppError> {
    let (copy_failed, keep, old) = {
        // Released before rclone and the file system are asked anything.
        let conn = pool.get()?;
        let copy_failed = backups::last_copy_attempt(&conn)?
            .is_some_and(|b| b.remote_status == Some(RemoteStatus::Failed));
        let cutoff =
            time::to_db(time::now() - chrono::Duration::days(i64::from(policy.retention_days)));
        let keep = backups::last_good(&conn)?.map(|b| b.id);
        (copy_failed, keep, backups::kept_before(&conn, &cutoff)?)
    };
    if policy.remote.is_some() && copy_failed {
        return Ok(0);
    }
    let dir = dir(settings);
    let mut removed = Vec::new();
    for b in old.iter().filter(|b| Some(&b.id) != keep.as_ref()) {
        let Some(name) = &b.file_name else { continue };
        // The remote copy first: once the local file is gone, so is the remote one. A
        // file that cannot be removed stays listed, and the next prune tries again.
        if let (Some(remote), Some(RemoteStatus::Copied)) = (&b.remote, b.remote_status)
            && let Err(e) = remote::delete(remote, name)
        {
            tracing::warn!(backup = %b.id, error = %e, "old backup not removed from the remote");
            continue;
        }
        let path = dir.join(name);
        let gone = [&path, &sidecar(&path)]
            .into_iter()
            .all(|p| match std::fs::remove_file(p) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(e) => {
                    tracing::warn!(file = %p.display(), error = %e, "old backup not removed");
                    false
                }
            });
        if gone {
            removed.push(b.id.clone());
        }
    }
    if removed.is_empty() {
        return Ok(0);
    }
    let w_keys = keys.to_owned();
    let w_policy = policy.to_owned();
    db::write(pool.writer(), move |tx| {
        let keys = &w_keys;
        let policy = &w_policy;
        let now = time::now_db();
        for id in &removed {
            backups::mark_pruned(tx, id, &now)?;
        }
        let mut entry = Actor::system().entry(Action::BackupPrune, "backup", None);
        entry.details = json!({ "removed": removed, "retention_days": policy.retention_days });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(removed.len())
    })
}
