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
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action = 'backup.restore'"
        ),
        1,
        "the restore is in the restored trail"
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
    // Nor can a second server start on the same data dir.
    let (ok, _, err) = run(command(&dir, &[])
        .env("OTM_BIND", "127.0.0.1:0")
        .arg("serve"));
    assert!(!ok);
    assert!(
        err.contains("another server or a restore is running"),
        "{err}"
    );
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

/// Waits until the backup `id` is no longer running and returns it.
pub async fn wait_done(api: &crate::common::Api, id: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (st, b) = api.get(&format!("/api/v1/backups/{id}")).await;
        assert_eq!(st, 200, "{b}");
        if b["status"] != "running" {
            return b;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "backup {id} never ended: {b}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts a backup through the API and waits for its end.
pub async fn api_backup(api: &crate::common::Api) -> serde_json::Value {
    let (st, b) = api.post("/api/v1/backups", json!({})).await;
    assert_eq!(st, 202, "{b}");
    assert_eq!(b["status"], "running");
    wait_done(api, b["id"].as_str().unwrap()).await
}

fn backup_file(s: &Server, b: &serde_json::Value) -> PathBuf {
    s.dir
        .path()
        .join("backups")
        .join(b["file_name"].as_str().expect("a file name"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_runs_a_backup_in_the_background_and_never_two_at_once() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let b = api_backup(&api).await;
    assert_eq!(b["status"], "succeeded", "{b}");
    assert_eq!(b["kind"], "manual");
    assert_eq!(b["verified"], true);
    let file = backup_file(&s, &b);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(b["size_bytes"].as_u64().unwrap(), bytes.len() as u64);
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    assert_eq!(b["sha256"], sha.as_str());
    let sidecar = std::fs::read_to_string(format!("{}.sha256", file.display())).unwrap();
    assert!(sidecar.starts_with(&sha), "{sidecar}");

    // While another run holds the lock, neither the API nor the command line starts one.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(s.dir.path().join("backups/.lock"))
        .unwrap();
    lock.lock().unwrap();
    let (st, p) = api.post("/api/v1/backups", json!({})).await;
    assert_eq!(st, 409, "{p}");
    let out = s.cli(&["backup"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another backup is running"));
    drop(lock);

    let (_, list) = api.get("/api/v1/backups").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let (_, audit) = api.get("/api/v1/audit?action=backup.finish").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    let (st, _) = api.get("/api/v1/backups/bkp_doesnotexist").await;
    assert_eq!(st, 404);
}

/// HH:MM:SS in São Paulo, `secs` from now.
fn sao_paulo_in(secs: i64) -> String {
    let t = chrono::Utc::now() + chrono::Duration::seconds(secs);
    t.with_timezone(&chrono_tz::America::Sao_Paulo)
        .format("%H:%M:%S")
        .to_string()
}

async fn scheduled(api: &crate::common::Api) -> Vec<serde_json::Value> {
    let (_, list) = api.get("/api/v1/backups").await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["kind"] == "scheduled")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_fires_and_a_run_missed_while_down_happens_at_next_start() {
    // Two slots: the first passes while the server is down, the second while it runs.
    // (Margins for a loaded machine: the first slot must pass after the kill.)
    let times = format!("{},{}", sao_paulo_in(7), sao_paulo_in(20));
    let mut s = Server::start_with(&[("OTM_BACKUP_TIMES", &times)]);
    s.create_owner();
    s.kill9();
    tokio::time::sleep(Duration::from_secs(8)).await;
    s.restart();
    let api = s.api(&s.token().await);
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    while scheduled(&api).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the missed run did not happen at start"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let first = scheduled(&api).await;
    assert_eq!(first.len(), 1);
    let done = wait_done(&api, first[0]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    // The second slot fires while the server runs (checked every 5 seconds).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while scheduled(&api).await.len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the schedule did not fire"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // And only once per slot.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(scheduled(&api).await.len(), 2);
}

/// `rclone serve webdav` on loopback, serving `dir`.
struct Webdav {
    child: std::process::Child,
}

impl Webdav {
    fn start(dir: &Path, port: u16) -> Webdav {
        let child = std::process::Command::new("rclone")
            .args(["serve", "webdav"])
            .arg(dir)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("rclone is installed by scripts/install-test-deps.sh");
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "rclone serve did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Webdav { child }
    }
}

impl Drop for Webdav {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsite_copy_through_rclone_fails_loudly_once_and_recovers() {
    let smtp = crate::smtp::Smtp::start();
    let remote_dir = tempfile::tempdir().unwrap();
    let port = crate::smtp::free_port();
    let dav = Webdav::start(remote_dir.path(), port);
    let url = format!("http://127.0.0.1:{port}");
    let mut env: Vec<(&str, String)> = crate::smtp::Smtp::env(smtp.port);
    env.extend([
        ("OTM_ALERT_EMAILS", "alertas@example.com.br".to_string()),
        ("OTM_BACKUP_REMOTE", "davtest:otm".to_string()),
        ("RCLONE_CONFIG_DAVTEST_TYPE", "webdav".to_string()),
        ("RCLONE_CONFIG_DAVTEST_URL", url),
        ("RCLONE_CONFIG_DAVTEST_VENDOR", "other".to_string()),
    ]);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = Server::start_with(&pairs);
    s.create_owner();
    let api = s.api(&s.token().await);

    let b = api_backup(&api).await;
    assert_eq!(b["status"], "succeeded", "{b}");
    assert_eq!(b["remote_status"], "copied", "{b}");
    let name = b["file_name"].as_str().unwrap();
    assert_eq!(b["remote"], format!("davtest:otm/{name}"));
    let copied = std::fs::read(remote_dir.path().join("otm").join(name)).unwrap();
    assert_eq!(copied, std::fs::read(backup_file(&s, &b)).unwrap());
    assert!(
        remote_dir
            .path()
            .join("otm")
            .join(format!("{name}.sha256"))
            .exists()
    );

    // The remote goes away: the backup still succeeds locally, the copy is marked
    // failed (after retrying), and one alert goes out.
    drop(dav);
    let b = api_backup(&api).await;
    assert_eq!(b["status"], "succeeded", "{b}");
    assert_eq!(b["remote_status"], "failed", "{b}");
    assert!(
        b["remote_error"].as_str().unwrap().contains("rclone"),
        "{b}"
    );
    assert!(backup_file(&s, &b).exists(), "the local file is kept");
    let alert = smtp
        .wait_for("alertas@example.com.br", "Alerta: a cópia do backup")
        .await;
    assert!(alert.text.contains("OTM_BACKUP_REMOTE"), "{}", alert.text);
    let b2 = api_backup(&api).await;
    assert_eq!(b2["remote_status"], "failed");

    // Back up again once the remote is back: copied, and one "resolved" mail.
    let _dav = Webdav::start(remote_dir.path(), port);
    let b = api_backup(&api).await;
    assert_eq!(b["remote_status"], "copied", "{b}");
    smtp.wait_for("alertas@example.com.br", "Resolvido: a cópia do backup")
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alerts = smtp
        .all()
        .into_iter()
        .filter(|m| m.subject.contains("cópia do backup"))
        .count();
    assert_eq!(alerts, 2, "one mail when it started, one when it cleared");
}

fn backdate_all(db: &Path, days: i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT id, started_at FROM backups")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, at) in rows {
        let t = chrono::DateTime::parse_from_rfc3339(&at).unwrap() - chrono::Duration::days(days);
        let t = t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        conn.execute(
            "UPDATE backups SET started_at = ?1, finished_at = ?1 WHERE id = ?2",
            [&t, &id],
        )
        .unwrap();
    }
}

async fn wait_pruned(api: &crate::common::Api, b: &serde_json::Value) {
    let url = format!("/api/v1/backups/{}", b["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !api.get(&url).await.1["file_name"].is_null() {
        assert!(std::time::Instant::now() < deadline, "{url} was not pruned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_old_files_here_and_remote_but_keeps_the_newest_good_one() {
    let remote = tempfile::tempdir().unwrap();
    let remote_path = remote.path().display().to_string();
    let mut s = Server::start_with(&[
        ("OTM_BACKUP_RETENTION_DAYS", "1"),
        ("OTM_BACKUP_REMOTE", &remote_path),
    ]);
    s.create_owner();
    let api = s.api(&s.token().await);
    let a = api_backup(&api).await;
    let b = api_backup(&api).await;
    for x in [&a, &b] {
        assert_eq!(x["remote_status"], "copied", "{x}");
    }
    let (fa, fb) = (backup_file(&s, &a), backup_file(&s, &b));
    let name = |f: &PathBuf| f.file_name().unwrap().to_owned();
    assert_ne!(fa, fb);

    // Both are now three days old: at start, the older goes (here and on the remote),
    // the newest good one stays although it is old too.
    s.kill9();
    backdate_all(&s.db_path(), 3);
    s.restart();
    let api = s.api(&s.token().await);
    // A row is marked pruned in the same transaction as the audit row, after its files go.
    wait_pruned(&api, &a).await;
    assert!(!fa.exists());
    assert!(
        !remote.path().join(name(&fa)).exists(),
        "removed from the remote too"
    );
    assert!(fb.exists(), "the newest good backup is kept");
    assert!(remote.path().join(name(&fb)).exists());
    let (_, old) = api
        .get(&format!("/api/v1/backups/{}", a["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        old["file_name"],
        serde_json::Value::Null,
        "history kept, file gone"
    );

    // A new good backup: now the old one goes as well.
    let c = api_backup(&api).await;
    assert_eq!(c["status"], "succeeded");
    // Pruning follows the recorded success.
    wait_pruned(&api, &b).await;
    assert!(!fb.exists());
    assert!(!remote.path().join(name(&fb)).exists());
    assert!(backup_file(&s, &c).exists());
    let (_, audit) = api.get("/api/v1/audit?action=backup.prune").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_recent_good_backup_alerts_once_and_clears_once() {
    let smtp = crate::smtp::Smtp::start();
    let mut s = crate::smtp::with_smtp(smtp.port);
    s.create_owner();
    s.kill9();
    // Installed two days ago and never backed up.
    let conn = rusqlite::Connection::open(s.db_path()).unwrap();
    let two_days = (chrono::Utc::now() - chrono::Duration::days(2))
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    conn.execute(
        "INSERT OR REPLACE INTO app_settings (key, value, updated_at)
         VALUES ('backup_schedule_anchor', ?1, ?1)",
        [&two_days],
    )
    .unwrap();
    drop(conn);
    s.restart();
    let owner = crate::common::OWNER_EMAIL;
    let m = smtp.wait_for(owner, "Alerta: não há backup válido").await;
    assert!(m.text.contains("nenhum backup válido ainda"), "{}", m.text);
    // The run missed in those two days happens at start and clears it.
    smtp.wait_for(owner, "Resolvido: não há backup válido")
        .await;
    let api = s.api(&s.token().await);
    assert_eq!(scheduled(&api).await.len(), 1);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let n = smtp
        .all()
        .into_iter()
        .filter(|m| m.subject.contains("backup válido"))
        .count();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_downloads_changes_settings_and_opens_a_backup_with_the_recovery_kit() {
    // The remote is set by the environment: the page shows it and cannot change it.
    let remote = tempfile::tempdir().unwrap();
    let remote_path = remote.path().display().to_string();
    let s = Server::start_with(&[("OTM_BACKUP_REMOTE", &remote_path)]);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, _) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Empresa do Kit Ltda", "cnpj": cnpj_from(9090)}),
        )
        .await;
    assert_eq!(st, 201);
    let b = api_backup(&api).await;
    assert_eq!(b["status"], "succeeded", "{b}");
    let id = b["id"].as_str().unwrap();

    let br = s.browser();
    br.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;
    let page = br.get("/admin/backups").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Último backup válido"), "{}", page.body);
    assert!(page.body.contains("Concluído"));
    assert!(
        page.body
            .contains("Definido pela variável OTM_BACKUP_REMOTE")
    );
    let overview = br.get("/admin").await;
    assert!(
        overview
            .body
            .contains("Último backup válido: <strong>agora há pouco")
    );

    // Download: the same bytes, and an audit row.
    let r = br
        .http
        .get(s.url(&format!("/admin/backups/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let got = r.bytes().await.unwrap();
    assert_eq!(&got[..], &std::fs::read(backup_file(&s, &b)).unwrap()[..]);
    let (_, audit) = api.get("/api/v1/audit?action=backup.download").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);

    // Settings: bad times are refused and nothing changes; good ones are kept.
    let r = br
        .submit(
            "/admin/backups",
            "/admin/backups/settings",
            &[
                ("times", "25:00"),
                ("retention_days", "10"),
                ("remote", "x:y"),
            ],
        )
        .await;
    // The page again, with what was typed kept and the reason.
    assert_eq!(r.status, 422);
    assert!(r.body.contains("formato HH:MM"), "{}", r.body);
    assert!(r.body.contains("value=\"25:00\""), "what was typed is kept");
    let page = br.get("/admin/backups").await;
    assert!(page.body.contains("value=\"03:00,15:00\""), "nothing saved");
    // Credentials belong in rclone's config, not in a destination typed here.
    let r = br
        .submit(
            "/admin/backups",
            "/admin/backups/settings",
            &[
                ("times", "03:00"),
                ("retention_days", "10"),
                ("remote", ":s3,secret_access_key=abc:bucket"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    let page = r;
    assert!(
        page.body.contains("criado com rclone config"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("secret_access_key"));
    let r = br
        .submit(
            "/admin/backups",
            "/admin/backups/settings",
            &[
                ("times", "16:00, 4:30"),
                ("retention_days", "10"),
                ("remote", "x:y"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = br.get("/admin/backups").await;
    assert!(page.body.contains("value=\"04:30,16:00\""), "{}", page.body);
    assert!(page.body.contains("value=\"10\""));
    assert!(
        page.body.contains(&format!("value=\"{remote_path}\"")),
        "the environment wins"
    );

    // The recovery kit needs the password again.
    let r = br
        .submit(
            "/admin/backups/recovery-kit",
            "/admin/backups/recovery-kit",
            &[("password", "senha errada de propósito")],
        )
        .await;
    assert!(r.body.contains("A senha não confere"));
    assert!(!r.body.contains("otm-master-key"));
    let r = br
        .submit(
            "/admin/backups/recovery-kit",
            "/admin/backups/recovery-kit",
            &[("password", crate::common::OWNER_PASSWORD)],
        )
        .await;
    let key_file = std::fs::read_to_string(s.dir.path().join("master.key")).unwrap();
    assert!(
        r.body.contains(key_file.trim()),
        "the kit shows the key file"
    );
    let start = r.body.find("AGE-SECRET-KEY-1").expect("an age identity");
    let identity: String = r.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    for action in ["backup.recovery_kit", "backup.recovery_kit_denied"] {
        let (_, audit) = api.get(&format!("/api/v1/audit?action={action}")).await;
        assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{action}");
    }

    // With that identity, the standard age and zstd tools open the backup.
    let work = tempfile::tempdir().unwrap();
    let id_file = work.path().join("identidade.txt");
    std::fs::write(&id_file, format!("{identity}\n")).unwrap();
    let out_db = work.path().join("aberto.db");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i '{}' '{}' | zstd -d -q -o '{}'",
            id_file.display(),
            backup_file(&s, &b).display(),
            out_db.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        count(
            &out_db,
            "SELECT count(*) FROM companies WHERE legal_name = 'Empresa do Kit Ltda'"
        ),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_live_database_is_alerted_at_start() {
    let smtp = crate::smtp::Smtp::start();
    let mut s = crate::smtp::with_smtp(smtp.port);
    s.create_owner();
    let api = s.api(&s.token().await);
    for n in 0..30 {
        let (st, _) = api
            .post(
                "/api/v1/companies",
                json!({"legal_name": format!("Empresa {n}"), "cnpj": cnpj_from(6000 + n)}),
            )
            .await;
        assert_eq!(st, 201);
    }
    s.kill9();
    // Break one index page of the companies table (not one the alert itself writes to).
    let db = s.db_path();
    let (page_size, root): (i64, i64) = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let ps = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        let root = conn
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE name = 'companies_by_status_name'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (ps, root)
    };
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.seek(SeekFrom::Start(((root - 1) * page_size) as u64))
            .unwrap();
        f.write_all(&[0x07]).unwrap();
    }
    s.restart();
    let m = smtp
        .wait_for(
            crate::common::OWNER_EMAIL,
            "Alerta: a verificação de integridade",
        )
        .await;
    assert!(m.text.contains("Page"), "{}", m.text);
    let br = s.browser();
    br.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;
    let page = br.get("/admin/backups").await;
    assert!(page.body.contains("integridade do banco de dados falhou"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_made_before_a_key_rotation_still_restore_with_the_rotated_key_file() {
    let mut s = Server::start();
    s.create_owner();
    let before = cli_backup(&s);
    let out = s.cli(&["key", "rotate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = cli_backup(&s);
    s.kill9();
    for file in [&before, &after] {
        let dir = data_dir_with_key(s.dir.path());
        let (ok, out, err) = run(&mut restore_cmd(dir.path(), file, false));
        assert!(ok, "{}: {err}", file.display());
        assert!(out.contains("audit chain intact"), "{out}");
    }
    // The old key alone opens the old backup but not the new one.
    let old_key_only = tempfile::tempdir().unwrap();
    let first_line = std::fs::read_to_string(s.dir.path().join("master.key"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let key = old_key_only.path().join("master.key");
    std::fs::write(&key, format!("{first_line}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, _, err) = run(&mut restore_cmd(old_key_only.path(), &after, false));
    assert!(!ok);
    assert!(err.contains("different master key"), "{err}");
}

/// A backup must not keep a pooled connection for its whole run: the off-site copy can
/// wait on the network for minutes. With one connection in the pool, the server must
/// still answer while a copy hangs on a remote that accepts and never answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_backup_holds_no_database_connection() {
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hole.incoming().flatten() {
            held.push(c);
        }
    });
    let url = format!("http://127.0.0.1:{port}/");
    let s = Server::start_with(&[
        ("OTM_DB_POOL_SIZE", "1"),
        ("OTM_BACKUP_REMOTE", "hole:otm"),
        ("RCLONE_CONFIG_HOLE_TYPE", "webdav"),
        ("RCLONE_CONFIG_HOLE_URL", &url),
    ]);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, b) = api.post("/api/v1/backups", json!({})).await;
    assert_eq!(st, 202, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let asked = std::time::Instant::now();
        let (st, b) = api.get(&format!("/api/v1/backups/{id}")).await;
        assert_eq!(st, 200, "the server answers while the backup runs: {b}");
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "waited {:?}",
            asked.elapsed()
        );
        if b["phase"] == "copy" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never reached the copy: {b}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The copy hangs on the black hole; pages and the API still get the connection.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = std::time::Instant::now();
    assert_eq!(reqwest::get(s.url("/readyz")).await.unwrap().status(), 200);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "readyz waited {:?}",
        asked.elapsed()
    );
}

/// The owner's download resumes (byte ranges), is validated by ETag and Last-Modified,
/// and is the very file the backup row describes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_serves_ranges_and_matches_the_recorded_sha256() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let b = api_backup(&api).await;
    assert_eq!(b["status"], "succeeded", "{b}");
    let id = b["id"].as_str().unwrap();
    let url = s.url(&format!("/admin/backups/{id}/download"));
    let br = s.browser();
    br.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;

    let part = br
        .http
        .get(&url)
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    let size = b["size_bytes"].as_u64().unwrap();
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        format!("bytes 0-99/{size}")
    );
    let first = part.bytes().await.unwrap();
    assert_eq!(first.len(), 100);

    let full = br.http.get(&url).send().await.unwrap();
    assert_eq!(full.status(), 200);
    let h = full.headers().clone();
    let disposition = h["content-disposition"].to_str().unwrap();
    let name = b["file_name"].as_str().unwrap();
    assert!(
        disposition.starts_with("attachment") && disposition.contains(name),
        "{disposition}"
    );
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(h["accept-ranges"], "bytes");
    assert!(h.contains_key("etag") && h.contains_key("last-modified"));
    let body = full.bytes().await.unwrap();
    assert_eq!(body.len() as u64, size);
    assert_eq!(&body[..100], &first[..]);
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&body)),
        b["sha256"].as_str().unwrap()
    );

    // A browser holding the same file asks again and is told it has not changed.
    let again = br
        .http
        .get(&url)
        .header("If-None-Match", h["etag"].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Every request is audited (the file is opened before the conditions are weighed):
    // the partial one and the unchanged one too.
    let (_, audit) = api.get("/api/v1/audit?action=backup.download").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 3, "{audit}");
}
