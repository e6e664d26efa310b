//! Issue 15: start-up refuses loose permissions; a database made by an older build is
//! upgraded safely (tests/fixtures/schema-NNNN, made by scripts/make-schema-fixture.sh).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::{Server, command};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-0030");
const FIXTURE_OWNER: &str = "dona.maria@example.com.br";
const FIXTURE_PASSWORD: &str = "cavalo bateria grampo";

/// A fresh data dir holding a copy of the fixture (git does not keep the key's 0600).
fn fixture_copy() -> tempfile::TempDir {
    // Directly under /tmp (world-traversable), not under the suite's private TMPDIR:
    // a dir nobody else can reach is not "open to others", and the refusal test below
    // needs one they can.
    let dir = tempfile::tempdir_in("/tmp").unwrap();
    for name in ["omie-tenant-manager.db", "master.key"] {
        std::fs::copy(Path::new(FIXTURE).join(name), dir.path().join(name)).unwrap();
    }
    let key = dir.path().join("master.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    dir
}

fn counts(db: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    ["companies", "users", "audit_log", "applications"]
        .iter()
        .map(|t| {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap();
            (t.to_string(), n)
        })
        .collect()
}

fn version(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

fn pre_upgrade_backups(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("backups")) else {
        return vec![];
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("-before-v"))
        })
        .collect()
}

#[tokio::test]
async fn a_database_of_an_older_build_is_upgraded_keeping_rows_and_audit_chain() {
    let dir = fixture_copy();
    let db = dir.path().join("omie-tenant-manager.db");
    let before = counts(&db);
    let from = version(&db);
    assert!(before[0].1 > 0 && before[2].1 > 0, "{before:?}");
    let current = omie_tenant_manager::db::schema_version();
    assert!(from <= current, "the fixture is newer than this build");

    let env = vec![("OTM_LOG".to_string(), "info".to_string())];
    let out = command(dir.path(), &env)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("audit chain intact"),
        "{stderr}"
    );
    assert_eq!(version(&db), current);
    assert_eq!(counts(&db)[..2], before[..2], "companies and users kept");

    // A backup precedes the migrations exactly when there were some to apply, and the
    // log names it.
    let taken = pre_upgrade_backups(dir.path());
    if from < current {
        assert_eq!(taken.len(), 1, "{stderr}");
        assert!(stderr.contains(&taken[0].display().to_string()), "{stderr}");
    } else {
        assert!(taken.is_empty(), "{taken:?}");
        assert!(!stderr.contains("backup before the upgrade"), "{stderr}");
    }

    // The server runs on it, and the fixture's owner signs in.
    let s = Server::start_in(dir, &[]);
    s.browser().login(FIXTURE_OWNER, FIXTURE_PASSWORD).await;
}

#[test]
fn a_data_dir_or_key_file_open_to_others_is_refused_with_the_fix() {
    let dir = fixture_copy();
    let run = |dir: &Path| {
        let mut cmd = command(dir, &[]);
        cmd.args(["audit", "verify"]);
        cmd
    };
    // command() closes the data dir; open it again before running.
    let mut cmd = run(dir.path());
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("fix it with: chmod 700 {}", dir.path().display())),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");

    let key = dir.path().join("master.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = run(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("fix it with: chmod 600 {}", key.display())),
        "{stderr}"
    );

    // The same fix makes the same command work.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
