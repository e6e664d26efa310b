//! `omie-tenant-manager restore FILE [--force]`: the way back from a backup file.
//!
//! Nothing in the data dir changes until the backup has been decrypted, its SHA-256
//! and integrity checked and its row counts compared; then the live database (if any)
//! is moved aside, never deleted, and the restored one takes its place.

use crate::domain::Action;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::{archive, check_database, sidecar};
use crate::config::Settings;
use crate::db::{self, audit::Verdict};
use crate::keyring::Keyring;
use crate::services::{Keys, audit};
use crate::time;

/// Held by a running server; a restore refuses to run while it is taken.
pub fn server_lock(settings: &Settings) -> anyhow::Result<Option<File>> {
    super::try_lock_file(&settings.data_dir.join(".server.lock"))
}

pub struct Restored {
    pub manifest: archive::Manifest,
    pub replaced: Option<PathBuf>,
    pub audit: Verdict,
}

pub fn run(settings: &Settings, file: &Path, force: bool) -> anyhow::Result<Restored> {
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    let key_file = &settings.master_key_file;
    if !key_file.exists() {
        bail!(
            "no master key at {}: copy there the master.key of the server that made the backup (it is printed on the recovery kit), with mode 600",
            key_file.display()
        );
    }
    let ring = std::sync::Arc::new(Keyring::load(key_file)?);
    crate::files::create_private_dir(&settings.data_dir)?;
    crate::files::check_private_dir(&settings.data_dir)?;
    let _server = server_lock(settings)?.context(
        "the server is running on this data dir: stop it first (systemctl stop omie-tenant-manager)",
    )?;
    let _backup = super::try_lock(settings)?
        .context("a backup is running on this data dir: wait for it to finish")?;
    let live = settings.db_path();
    if !live_files(&live).is_empty() && !force {
        bail!(
            "a database already exists at {}: run again with --force to replace it (the current one is kept aside)",
            live.display()
        );
    }
    // Both locks are held: a temporary file left by a restore that crashed is nobody's.
    remove_stale_temporaries(&settings.data_dir);

    let tmp = settings
        .data_dir
        .join(format!(".restore-{}.db", crate::crypto::new_id("r")));
    let identities: Vec<String> = ring
        .backup_identities()
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let manifest = archive::open(file, &identities, &tmp)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let r = check_restored(file, &tmp, &manifest)
        .and_then(|()| prepare(&tmp, ring, &manifest, &settings.data_dir))
        .and_then(|verdict| swap(settings, &tmp, &live).map(|aside| (verdict, aside)));
    let (verdict, replaced) = match r {
        Ok(v) => v,
        Err(e) => {
            remove_with_journal(&tmp);
            return Err(e);
        }
    };
    Ok(Restored {
        manifest,
        replaced,
        audit: verdict,
    })
}

/// The database file and its `-wal`/`-shm`, those that exist.
fn live_files(live: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", live.display())))
        .filter(|p| p.exists())
        .collect()
}

fn remove_with_journal(db_file: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_file.display()));
    }
}

fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(".restore-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Moves the live database files aside (listed now, not at the start: another process
/// may have opened the database meanwhile) and puts the restored file in their place;
/// on failure puts everything back. Returns where the old files went.
fn swap(settings: &Settings, tmp: &Path, live: &Path) -> anyhow::Result<Option<PathBuf>> {
    let files = live_files(live);
    let aside = if files.is_empty() {
        None
    } else {
        let dir = settings.data_dir.join(format!(
            "replaced-{}",
            time::now().format("%Y%m%dT%H%M%S%.3fZ")
        ));
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Some(dir)
    };
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    if let Some(dir) = &aside {
        for from in &files {
            let to = dir.join(from.file_name().context("database file name")?);
            if let Err(e) = std::fs::rename(from, &to) {
                undo(&moved);
                bail!("cannot move {} aside: {e}", from.display());
            }
            moved.push((from.clone(), to));
        }
    }
    if let Err(e) = std::fs::rename(tmp, live) {
        undo(&moved);
        bail!(
            "cannot put the restored database at {}: {e}",
            live.display()
        );
    }
    if let Ok(d) = File::open(&settings.data_dir) {
        let _ = d.sync_all();
    }
    Ok(aside)
}

/// Puts back what was moved aside, newest first (a restore that fails changes nothing).
fn undo(moved: &[(PathBuf, PathBuf)]) {
    for (from, to) in moved.iter().rev() {
        let _ = std::fs::rename(to, from);
    }
}

/// Applies migrations newer than the backup (so the server starts on it), opens the
/// keys with this master key, and verifies the audit chain; leaves no WAL behind.
fn prepare(
    db_file: &Path,
    ring: std::sync::Arc<Keyring>,
    manifest: &archive::Manifest,
    data_dir: &Path,
) -> anyhow::Result<Verdict> {
    let pool = db::open(db_file, 1)?;
    let keys = Keys::load(ring, &pool)?;
    let mut conn = pool.get()?;
    crate::services::audit::upgrade(&mut conn, &keys.audit)
        .map_err(|e| anyhow::anyhow!("cannot convert the audit trail: {e:?}"))?;
    // The restored database says it was restored, and from when (the chain check
    // below covers this row too).
    let w_manifest = manifest.to_owned();
    db::write(&conn, move |tx| {
        let manifest = &w_manifest;
        let now = time::now_db();
        let actor = crate::services::Actor::system_at("command line");
        let mut entry = actor.entry(Action::BackupRestore, "backup", None);
        entry.details = serde_json::json!({ "backup_made_at": manifest.created_at });
        crate::db::audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("cannot record the restore: {e:?}"))?;
    // Erasures made since the backup are applied again before the file goes live.
    let n = crate::services::erasure::reapply(&mut conn, &keys, data_dir)?;
    if n > 0 {
        println!("re-applied {n} erasure(s) made after this backup");
    }
    let verdict = audit::verify(&conn, &keys.audit).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    drop(conn);
    // The writer's connection, once its thread has finished: the only read-write one.
    let rw = pool.close()?;
    let busy: i64 = rw.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    anyhow::ensure!(busy == 0, "the restored database could not be checkpointed");
    drop(rw);
    for suffix in ["-wal", "-shm"] {
        let p = format!("{}{suffix}", db_file.display());
        if Path::new(&p).exists() {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(verdict)
}

fn check_restored(file: &Path, db: &Path, manifest: &archive::Manifest) -> anyhow::Result<()> {
    let sum_file = sidecar(file);
    if sum_file.exists() {
        let text = std::fs::read_to_string(&sum_file)?;
        let expected = text.split_whitespace().next().unwrap_or("");
        let (actual, _) = archive::sha256_file(file)?;
        if !expected.eq_ignore_ascii_case(&actual) {
            bail!(
                "{}: its SHA-256 differs from the one in {}: it is not the file that was made",
                file.display(),
                sum_file.display()
            );
        }
    }
    if manifest.schema_version > db::schema_version() {
        bail!(
            "{}: made by a newer version of this program; install that version first",
            file.display()
        );
    }
    let (_, counts) = check_database(db).map_err(|e| {
        anyhow::anyhow!(
            "{}: the database inside fails its check: {e}",
            file.display()
        )
    })?;
    if counts != manifest.tables {
        bail!(
            "{}: the database inside does not hold the rows recorded when it was made",
            file.display()
        );
    }
    Ok(())
}
