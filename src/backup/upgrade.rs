//! Safe upgrades (DESIGN.md §8.5): a start that finds an existing database with pending
//! migrations first takes a backup, in the usual backup format and place, and logs its
//! path; then it applies the migrations all together. When one fails, the database is
//! left as it was and the error says how to go back.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::archive::{self, Manifest};
use crate::config::Settings;
use crate::db;
use crate::files::shell_quoted;
use crate::keyring::Keyring;

/// Runs before the database is opened for use; `Some(backup)` when it upgraded.
pub fn before_migrations(settings: &Settings, ring: &Keyring) -> anyhow::Result<Option<PathBuf>> {
    upgrade_with(settings, ring, db::MIGRATIONS)
}

/// [`before_migrations`] with the list of migrations given (tests add a broken one).
pub(crate) fn upgrade_with(
    settings: &Settings,
    ring: &Keyring,
    migrations: &[(&str, &str)],
) -> anyhow::Result<Option<PathBuf>> {
    let path = settings.db_path();
    let to = migrations.len() as i64;
    let from = match db::upgrade::existing_version(&path)? {
        // A new database, or one that is current (or newer: `db::open` says so).
        None | Some(0) => return Ok(None),
        Some(v) if v >= to => return Ok(None),
        Some(v) => v,
    };
    tracing::info!(from, to, "pending migrations: taking a backup first");
    let backup = take_backup(settings, ring, &path, from, to)
        .context("pending migrations, and the backup before them failed: nothing was changed")?;
    tracing::info!(
        backup = %backup.display(),
        "backup before the upgrade written"
    );
    match db::upgrade::migrate_all(&path, migrations) {
        Ok(n) => {
            tracing::info!(applied = n, from, to, "database upgraded");
            Ok(Some(backup))
        }
        Err(e) => Err(e.context(format!(
            "the upgrade of {} failed and was undone: the database is unchanged (schema version {from}). \
             To go back, reinstall the previous version of omie-tenant-manager, which opens it as it is. \
             A backup taken just before is at {}; the previous version restores it with: omie-tenant-manager restore {} --force",
            path.display(),
            backup.display(),
            shell_quoted(&backup),
        ))),
    }
}

/// Writes `backups/omie-tenant-manager-before-v<to>-<time>.db.zst.age`: the same format
/// as every backup, so `restore` (of this version or the previous one) opens it.
fn take_backup(
    settings: &Settings,
    ring: &Keyring,
    db_path: &Path,
    from: i64,
    to: i64,
) -> anyhow::Result<PathBuf> {
    let dir = super::dir(settings);
    crate::files::create_private_dir(&dir)?;
    let stamp = crate::time::now().format("%Y%m%dT%H%M%SZ");
    let out = dir.join(format!(
        "omie-tenant-manager-before-v{to}-{stamp}.db.zst.age"
    ));
    let tmp = settings
        .data_dir
        .join(format!(".upgrade-{}.db", crate::crypto::new_id("u")));
    let r = (|| {
        db::upgrade::snapshot(db_path, &tmp)?;
        let (version, tables) = super::check_database(&tmp)?;
        anyhow::ensure!(version == from, "the copy has schema version {version}");
        let (db_sha256, db_bytes) = archive::sha256_file(&tmp)?;
        let manifest = Manifest {
            created_at: crate::time::now_db(),
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            schema_version: version,
            db_bytes,
            db_sha256,
            tables,
        };
        archive::write(&tmp, &manifest, &ring.backup_recipient()?, &out)?;
        Ok(())
    })();
    let _ = std::fs::remove_file(&tmp);
    r.map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn settings(dir: &Path) -> Settings {
        let env = BTreeMap::from([("OTM_DATA_DIR".to_string(), dir.display().to_string())]);
        Settings::from_sources(&BTreeMap::new(), &env).unwrap()
    }

    /// A data dir with a key and a current database holding a row.
    fn current(dir: &Path) -> (Settings, Keyring) {
        let s = settings(dir);
        crate::crypto::MasterKey::load_or_create(&s.master_key_file).unwrap();
        let ring = Keyring::load(&s.master_key_file).unwrap();
        // The program's pool is read-only (writes go through its writer): the row is
        // put in with a connection of the test's own.
        drop(db::open(&s.db_path(), 1).unwrap());
        rusqlite::Connection::open(s.db_path())
            .unwrap()
            .execute(
                "INSERT INTO companies (id, legal_name, cnpj, created_at, updated_at)
                   VALUES ('cmp_a', 'A', '11222333000181', 't', 't')",
                [],
            )
            .unwrap();
        (s, ring)
    }

    fn schema(path: &Path) -> Vec<String> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut st = conn
            .prepare("SELECT coalesce(sql, name) FROM sqlite_schema ORDER BY name")
            .unwrap();
        let mut out: Vec<String> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        out.push(format!("user_version {v}"));
        out
    }

    #[test]
    fn a_current_or_new_database_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        crate::crypto::MasterKey::load_or_create(&s.master_key_file).unwrap();
        let ring = Keyring::load(&s.master_key_file).unwrap();
        assert!(before_migrations(&s, &ring).unwrap().is_none());
        let (s, ring) = current(dir.path());
        assert!(before_migrations(&s, &ring).unwrap().is_none());
        assert!(!super::super::dir(&s).exists(), "no backup for nothing");
    }

    #[test]
    fn pending_migrations_are_preceded_by_a_backup_that_restores() {
        let dir = tempfile::tempdir().unwrap();
        let (s, ring) = current(dir.path());
        let mut next = db::MIGRATIONS.to_vec();
        next.push(("9001_extra", "CREATE TABLE extra (a TEXT);"));
        let backup = upgrade_with(&s, &ring, &next).unwrap().unwrap();
        assert!(backup.is_file());
        let after = schema(&s.db_path());
        assert!(after.contains(&format!("user_version {}", next.len())));
        assert!(after.iter().any(|l| l.contains("CREATE TABLE extra")));
        // The backup holds the database as it was: the row, the old version.
        let ids: Vec<String> = ring
            .backup_identities()
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        let out = dir.path().join("opened.db");
        let m = archive::open(&backup, &ids, &out).unwrap();
        assert_eq!(m.schema_version, db::schema_version());
        assert_eq!(m.tables.get("companies"), Some(&1));
        assert!(!schema(&out).iter().any(|l| l.contains("extra")));
        // Nothing temporary is left in the data dir.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".upgrade-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_failed_migration_leaves_the_database_untouched_and_says_how_to_go_back() {
        let dir = tempfile::tempdir().unwrap();
        let (s, ring) = current(dir.path());
        let before = schema(&s.db_path());
        let mut next = db::MIGRATIONS.to_vec();
        // The first new migration works, the second does not: neither may stay.
        next.push((
            "9001_fine",
            "CREATE TABLE fine (a TEXT); UPDATE companies SET legal_name = 'changed';",
        ));
        next.push((
            "9002_broken",
            "ALTER TABLE no_such_table ADD COLUMN b TEXT;",
        ));
        let e = format!("{:#}", upgrade_with(&s, &ring, &next).unwrap_err());
        assert!(e.contains("9002_broken"), "{e}");
        assert!(e.contains("the database is unchanged"), "{e}");
        assert!(e.contains("reinstall the previous version"), "{e}");
        assert!(e.contains("omie-tenant-manager restore "), "{e}");
        assert_eq!(schema(&s.db_path()), before);
        let conn = rusqlite::Connection::open(s.db_path()).unwrap();
        let name: String = conn
            .query_row("SELECT legal_name FROM companies", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "A");
        drop(conn);
        // The current build still opens it as it is.
        db::open(&s.db_path(), 1).unwrap();
    }
}
