//! Backups: made while the server writes, restored into a new data dir, refused when
//! the file or the key is wrong, and free of clear text.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::common::{Server, cnpj_from, command};

fn run(cmd: &mut std::process::Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Runs `backup` through the command line and returns the file it printed.
pub fn cli_backup(s: &Server) -> PathBuf {
    let out = s.cli(&["backup"], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(stdout.trim());
    assert!(
        path.is_file(),
        "backup printed {stdout:?}, which is not a file"
    );
    path
}

/// A new, empty data dir holding a copy of `from`'s master key (mode 600).
fn data_dir_with_key(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("master.key");
    std::fs::copy(from.join("master.key"), &key).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    dir
}

fn restore_cmd(dir: &Path, file: &Path, force: bool) -> std::process::Command {
    let mut cmd = command(dir, &[]);
    cmd.arg("restore").arg(file);
    if force {
        cmd.arg("--force");
    }
    cmd
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Every file under `dir` with its size and content hash: "nothing changed" means equal.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            let bytes = std::fs::read(e.path()).unwrap();
            out.push((
                e.file_name().to_string_lossy().to_string(),
                hex::encode(sha2::Sha256::digest(&bytes)),
            ));
        }
    }
    out.sort();
    out
}

use sha2::Digest;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_during_writes_restores_consistent_and_holds_no_clear_text() {
    let s = Server::start();
    s.create_owner();
    let token = s.token().await;
    let api = s.api(&token);

    // Personal data and a secret that must not appear in the file.
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Sigilosa Ltda", "cnpj": cnpj_from(777),
                   "email": "contato.sigiloso@padaria.example", "contact_name": "Joana Confidencial"}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let secret = "5f3c9a8e7d6b1a2c4e0f9d8c7b6a5e4d";
    let (st, body) = api
        .send(
            reqwest::Method::PUT,
            &format!(
                "/api/v1/companies/{}/omie-credentials",
                c["id"].as_str().unwrap()
            ),
            Some(json!({"app_key": "1234567890123", "app_secret": secret})),
        )
        .await;
    assert!(st == 200 || st == 204, "{st} {body}");

    // Writers keep creating companies while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..4u64 {
        let (url, token, stop, made) = (
            s.url("/api/v1/companies"),
            token.clone(),
            stop.clone(),
            made.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let body = json!({"legal_name": format!("Escrita {w}-{n}"), "cnpj": cnpj_from(10_000 + w * 10_000 + n)});
                let r = c.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 201);
                made.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    while made.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = made.load(Ordering::SeqCst);
    let file = tokio::task::spawn_blocking({
        let dir = s.dir.path().to_path_buf();
        move || {
            let (ok, out, err) = run(command(&dir, &[]).arg("backup"));
            assert!(ok, "backup failed: {err}");
            PathBuf::from(out.trim())
        }
    })
    .await
    .unwrap();
    let after = made.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    assert!(after > before, "writes went on during the backup");

    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"), "an age file");
    for needle in [
        secret,
        "Padaria Sigilosa",
        "contato.sigiloso@padaria.example",
        "Joana Confidencial",
        crate::common::OWNER_EMAIL,
        "Escrita 0-1",
        "CREATE TABLE",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle:?} is in the backup file in clear"
        );
    }

    // Restore into a brand-new data dir that has only the master key.
    let new_dir = data_dir_with_key(s.dir.path());
    let (ok, out, err) = run(&mut restore_cmd(new_dir.path(), &file, false));
    assert!(ok, "restore failed: {err}");
    assert!(out.contains("audit chain intact"), "{out}");
    let db = new_dir.path().join("omie-tenant-manager.db");
    let companies = count(&db, "SELECT count(*) FROM companies");
    // Some of the concurrent writes are in it, and every company has its audit row
    // (written in the same transaction): the snapshot is one consistent moment.
    assert!(
        companies > 1 + before as i64 / 2,
        "{companies} companies restored"
    );
    assert!(companies <= 1 + after as i64);
    assert_eq!(
        companies,
        count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action = 'company.create'"
        )
    );
    let verdict: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");

    // The server starts on the restored data dir and serves the same data.
    let restored = Server::start_in(new_dir, &[]);
    let api2 = restored.api(&restored.token().await);
    let (st, got) = api2
        .get(&format!(
            "/api/v1/companies/{}/omie-credentials?reveal=true",
            c["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(
        got["app_secret"], secret,
        "credentials open after a restore"
    );
    let (st, list) = api2.get("/api/v1/companies?q=Padaria%20Sigilosa").await;
    assert_eq!(st, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_restores_are_refused_with_one_line_and_change_nothing() {
    // Enough data for the file to span several encrypted blocks, so a byte changed in
    // the middle and a file cut short are told apart.
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(command(dir.path(), &[]).args(["demo", "--companies", "1500"]));
    assert!(ok, "{err}");
    let mut s = Server::start_in(dir, &[]);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, _) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Antes do Backup", "cnpj": cnpj_from(4242)}),
        )
        .await;
    assert_eq!(st, 201);
    let file = cli_backup(&s);
    assert!(std::fs::metadata(&file).unwrap().len() > 3 * 65_536);
    let (st, _) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Depois do Backup", "cnpj": cnpj_from(4343)}),
        )
        .await;
    assert_eq!(st, 201);

    let dir = s.dir.path().to_path_buf();
    // The server is running: refused even with --force.
    let (ok, _, err) = run(&mut restore_cmd(&dir, &file, true));
    assert!(!ok);
    assert!(err.contains("server is running"), "{err}");
    s.kill9();

    let work = tempfile::tempdir().unwrap();
    let original = std::fs::read(&file).unwrap();
    let truncated = work.path().join("truncated.age");
    std::fs::write(&truncated, &original[..original.len() * 2 / 3]).unwrap();
    let tampered = work.path().join("tampered.age");
    let mut t = original.clone();
    let mid = t.len() / 2;
    t[mid] ^= 0x20;
    std::fs::write(&tampered, &t).unwrap();
    let not_backup = work.path().join("notes.txt");
    std::fs::write(&not_backup, "isto não é um backup\n").unwrap();

    let before = snapshot(&dir);
    for (path, expected) in [
        (&file, "already exists"),
        (&truncated, "truncated"),
        (&tampered, "altered"),
        (&not_backup, "not an Omie Tenant Manager backup"),
    ] {
        let force = path != &file;
        let (ok, _, err) = run(&mut restore_cmd(&dir, path, force));
        assert!(!ok, "{} was accepted", path.display());
        let last = err.trim().lines().last().unwrap_or("");
        assert!(last.contains(expected), "{}: {err}", path.display());
        assert_eq!(
            snapshot(&dir),
            before,
            "{} changed the data dir",
            path.display()
        );
    }

    // Another server's key cannot open it, and that data dir stays as it was.
    let other = Server::start();
    let mut other = other;
    other.kill9();
    let other_before = snapshot(other.dir.path());
    let (ok, _, err) = run(&mut restore_cmd(other.dir.path(), &file, true));
    assert!(!ok);
    assert!(err.contains("different master key"), "{err}");
    assert_eq!(snapshot(other.dir.path()), other_before);

    // The good file with --force: the live database is kept aside, and the server
    // starts on the restored one, which has the first company and not the second.
    let (ok, out, err) = run(&mut restore_cmd(&dir, &file, true));
    assert!(ok, "{err}");
    assert!(out.contains("moved to"), "{out}");
    let aside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("replaced-"))
        .collect();
    assert_eq!(aside.len(), 1);
    let kept = aside[0].path().join("omie-tenant-manager.db");
    assert!(kept.exists());
    s.restart();
    let api = s.api(&s.token().await);
    let (_, a) = api.get("/api/v1/companies?q=Antes%20do%20Backup").await;
    assert_eq!(a["items"].as_array().unwrap().len(), 1);
    let (_, b) = api.get("/api/v1/companies?q=Depois%20do%20Backup").await;
    assert_eq!(b["items"].as_array().unwrap().len(), 0);
}
