//! Saúde do sistema (issue 13, items 1 and 2): `GET /api/v1/health`, `/admin/saude`, and
//! the alert mails of checks that turn red.

use std::time::Duration;

use serde_json::Value;

use crate::common::{Api, OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::{Smtp, free_port};

const NAMES: [&str; 7] = [
    "database",
    "backups",
    "mail",
    "disk",
    "jobs",
    "audit_chain",
    "omie",
];

fn server(smtp_port: u16, extra: &[(&str, &str)]) -> Server {
    let mut env: Vec<(&str, String)> = Smtp::env(smtp_port);
    env.push(("OTM_HEALTH_EVERY_SECONDS", "1".into()));
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = Server::start_with(&pairs);
    s.create_owner();
    s
}

async fn health(api: &Api) -> Value {
    let (st, b) = api.get("/api/v1/health").await;
    assert_eq!(st, 200, "{b}");
    b
}

fn check<'a>(h: &'a Value, name: &str) -> &'a Value {
    h["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {h}"))
}

/// Waits until check `name` has `status`.
async fn until(api: &Api, name: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let h = health(api).await;
        if check(&h, name)["status"] == status {
            return h;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never became {status}: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn count(smtp: &Smtp, subject: &str) -> usize {
    smtp.all()
        .iter()
        .filter(|m| m.subject.contains(subject))
        .count()
}

/// The shape of DESIGN §8.4; the disk threshold pointed above the real free space
/// turns `disk` red, one alert mail arrives, and one "Resolvido" when it is lowered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_threshold_turns_disk_red_alerts_once_and_clears_once() {
    let smtp = Smtp::start();
    let mut s = server(smtp.port, &[("OTM_HEALTH_DISK_MIN_FREE_MB", "1000000000")]);
    let api = s.api(&s.token().await);
    let h = health(&api).await;
    assert_eq!(h["status"], "critical", "{h}");
    let checks = h["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, NAMES);
    for c in checks {
        assert!(
            ["ok", "warning", "critical"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(!c["message"].as_str().unwrap().is_empty(), "{c}");
        assert!(!c["what_to_do"].as_str().unwrap().is_empty(), "{c}");
        chrono::DateTime::parse_from_rfc3339(c["checked_at"].as_str().unwrap()).unwrap();
    }
    let disk = check(&h, "disk");
    assert_eq!(disk["status"], "critical", "{disk}");
    assert!(
        disk["message"].as_str().unwrap().contains("livres"),
        "{disk}"
    );

    let m = smtp
        .wait_for(OWNER_EMAIL, "Alerta: o espaço livre em disco")
        .await;
    assert!(m.text.contains("/admin/saude"), "{}", m.text);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&smtp, "espaço livre em disco"), 1, "never a flood");

    s.set_env("OTM_HEALTH_DISK_MIN_FREE_MB", "");
    s.restart();
    let api = s.api(&s.token().await);
    assert_ne!(check(&health(&api).await, "disk")["status"], "critical");
    smtp.wait_for(OWNER_EMAIL, "Resolvido: o espaço livre em disco")
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&smtp, "espaço livre em disco"), 2);
}

/// Mail queued while the SMTP server is down turns `mail` yellow, then red once the
/// oldest message is older than the threshold; when the server comes up the queue
/// drains, the check turns green, and the alert and its "Resolvido" arrive once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_mail_turns_mail_red_and_back_with_one_alert_each_way() {
    let port = free_port();
    let s = server(port, &[("OTM_HEALTH_MAIL_MAX_AGE_SECONDS", "3")]);
    let api = s.api(&s.token().await);
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/test-email",
            &[("to", "fila@example.com.br")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let h = until(&api, "mail", "critical").await;
    assert!(
        check(&h, "mail")["message"]
            .as_str()
            .unwrap()
            .contains("parados"),
        "{h}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.count("SELECT COUNT(*) FROM alerts WHERE kind = 'health_mail' AND active = 1") != 1 {
        assert!(std::time::Instant::now() < deadline, "no health_mail alert");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let smtp = Smtp::start_on(port);
    until(&api, "mail", "ok").await;
    smtp.wait_for(OWNER_EMAIL, "Alerta: os e-mails estão parados")
        .await;
    smtp.wait_for(OWNER_EMAIL, "Resolvido: os e-mails estão parados")
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&smtp, "os e-mails estão parados"), 2);
}

/// A good backup whose file disappears turns `backups` red (with its own alert); a new
/// backup brings it back. A row of the audit trail changed in the database turns
/// `audit_chain` red once the chain is verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_backup_file_and_tampered_chain_turn_red() {
    let smtp = Smtp::start();
    let s = server(smtp.port, &[]);
    let api = s.api(&s.token().await);
    let (st, b) = api.post("/api/v1/backups", serde_json::json!({})).await;
    assert_eq!(st, 202, "{b}");
    let done = crate::backups::wait_done(&api, b["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let h = health(&api).await;
    assert_ne!(check(&h, "backups")["status"], "critical", "{h}");
    let file = s
        .dir
        .path()
        .join("backups")
        .join(done["file_name"].as_str().unwrap());
    std::fs::remove_file(&file).unwrap();
    let h = health(&api).await;
    let c = check(&h, "backups");
    assert_eq!(c["status"], "critical", "{h}");
    assert!(c["message"].as_str().unwrap().contains("sumiu"), "{c}");
    smtp.wait_for(OWNER_EMAIL, "Alerta: o arquivo do último backup sumiu")
        .await;
    let (_, b) = api.post("/api/v1/backups", serde_json::json!({})).await;
    crate::backups::wait_done(&api, b["id"].as_str().unwrap()).await;
    assert_ne!(check(&health(&api).await, "backups")["status"], "critical");
    smtp.wait_for(OWNER_EMAIL, "Resolvido: o arquivo do último backup sumiu")
        .await;

    // The audit chain: verified intact, then changed behind the application's back.
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    br.submit("/admin/audit", "/admin/audit/verify", &[]).await;
    assert_eq!(check(&health(&api).await, "audit_chain")["status"], "ok");
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "UPDATE audit_log SET details = '{\"x\":1}' WHERE id = 2",
            [],
        )
        .unwrap();
    br.submit("/admin/audit", "/admin/audit/verify", &[]).await;
    let h = health(&api).await;
    let c = check(&h, "audit_chain");
    assert_eq!(c["status"], "critical", "{h}");
    assert!(c["message"].as_str().unwrap().contains("quebrada"), "{c}");
}

/// Company people and applications never see the platform's health; staff do.
#[tokio::test]
async fn only_the_platform_reads_health() {
    let s = Server::start();
    s.create_owner();
    let anon = reqwest::Client::new()
        .get(s.url("/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = br.get("/admin/saude").await;
    assert_eq!(page.status, 200);
    for name in NAMES {
        assert!(
            page.body.contains(&format!("id=\"check-{name}\"")),
            "{name}"
        );
    }
    assert!(page.body.contains("http-equiv=\"refresh\" content=\"30\""));
    let home = br.get("/admin").await.body;
    assert!(home.contains("id=\"health-light\""), "{home}");
    assert!(home.contains("href=\"/admin/saude\""));
}

/// In a real browser at 1366 px and 390 px: the page with one problem (the disk) shows
/// it in red with its word and what to do, and fits the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_page_with_one_problem_in_a_browser() {
    let Some(d) = crate::browser::Driver::start().await else {
        return;
    };
    let smtp = Smtp::start();
    let s = server(smtp.port, &[("OTM_HEALTH_DISK_MIN_FREE_MB", "1000000000")]);
    crate::browser::sign_in(&d, &s, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    for wide in [true, false] {
        if wide {
            d.laptop().await;
        } else {
            d.phone().await;
        }
        d.goto(&s.url("/admin/saude")).await;
        let src = d.wait_for("Saúde do sistema").await;
        assert!(src.contains("id=\"check-disk\""));
        let disk = d
            .script("return document.querySelector('#check-disk').innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(disk.contains("Problema"), "{disk}");
        assert!(disk.contains("O que fazer"), "{disk}");
        assert_eq!(d.overflow().await, None, "wide={wide}");
        if let Ok(dir) = std::env::var("OTM_SCREENSHOTS") {
            d.screenshot(&dir, if wide { "saude-1366" } else { "saude-390" })
                .await;
        }
    }
}

/// Credentials that Omie (the stand-in) refuses turn `omie` yellow; keys it accepts,
/// tested again, turn it green.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_omie_credentials_turn_omie_yellow_and_back() {
    const GOOD_KEY: &str = "1724630275368";
    const BAD_KEY: &str = "1560731700";
    const SECRET: &str = "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a";
    let stub = crate::omie_stub::start(&[(GOOD_KEY, "11222333000181")]);
    let s = Server::start_with(&[("OTM_OMIE_BASE_URL", stub.base.as_str())]);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, c) = api
        .post(
            "/api/v1/companies",
            serde_json::json!({"legal_name": "Oficina Aurora Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let path = format!(
        "/api/v1/companies/{}/omie-credentials",
        c["id"].as_str().unwrap()
    );
    assert_eq!(check(&health(&api).await, "omie")["status"], "ok");
    for (key, want) in [(BAD_KEY, "warning"), (GOOD_KEY, "ok")] {
        let (st, v) = api
            .send(
                reqwest::Method::PUT,
                &path,
                Some(serde_json::json!({"app_key": key, "app_secret": SECRET})),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let (st, t) = api
            .post(&format!("{path}/test"), serde_json::json!({}))
            .await;
        assert_eq!(st, 200, "{t}");
        let h = health(&api).await;
        let omie = check(&h, "omie");
        assert_eq!(omie["status"], want, "{h}");
        if want == "warning" {
            assert!(
                omie["message"]
                    .as_str()
                    .unwrap()
                    .contains("1 empresa ativa com credenciais do Omie recusadas"),
                "{omie}"
            );
        }
    }
}

/// `openssl s_server` on loopback with a fresh self-signed certificate valid for `days`.
struct CertServer(std::process::Child);

impl CertServer {
    fn start(dir: &std::path::Path, port: u16, days: u32) -> CertServer {
        let (cert, key) = (
            dir.join(format!("c{days}.pem")),
            dir.join(format!("k{days}.pem")),
        );
        let made = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .arg("-days")
            .arg(days.to_string())
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl (scripts/install-test-deps.sh installs it)");
        assert!(made.success());
        let child = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Until it accepts connections.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        CertServer(child)
    }
}

impl Drop for CertServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// With an HTTPS base URL the health job reads the certificate that address serves: one
/// that expires in three days turns `tls` red and mails one alert; once a renewed one is
/// served the check turns green and the "Resolvido" arrives. An HTTP base URL has no
/// such check (the other tests' NAMES).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_about_to_expire_turns_tls_red_and_a_renewed_one_green() {
    let smtp = Smtp::start();
    let certs = tempfile::tempdir().unwrap();
    let port = free_port();
    let expiring = CertServer::start(certs.path(), port, 3);
    let base = format!("https://127.0.0.1:{port}");
    let s = server(smtp.port, &[("OTM_BASE_URL", &base)]);
    let api = s.api(&s.token().await);
    let h = until(&api, "tls", "critical").await;
    let tls = check(&h, "tls");
    let message = tls["message"].as_str().unwrap();
    // Three days from now, counted in calendar days of São Paulo.
    assert!(
        message.starts_with("O certificado HTTPS vence em 3 dias ("),
        "{tls}"
    );
    assert!(
        tls["what_to_do"]
            .as_str()
            .unwrap()
            .contains("certbot renew"),
        "{tls}"
    );
    smtp.wait_for(OWNER_EMAIL, "Alerta: o certificado HTTPS")
        .await;

    drop(expiring);
    let _renewed = CertServer::start(certs.path(), port, 90);
    let h = until(&api, "tls", "ok").await;
    assert!(
        check(&h, "tls")["message"]
            .as_str()
            .unwrap()
            .starts_with("Certificado HTTPS válido até"),
        "{h}"
    );
    smtp.wait_for(OWNER_EMAIL, "Resolvido: o certificado HTTPS")
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&smtp, "o certificado HTTPS"), 2, "never a flood");
}

/// A background job that keeps crashing (the `OTM_FAULT_JOBS` drill makes it panic on
/// every start, through the supervisor's real path): `jobs` turns yellow while it is
/// being restarted, red once the supervisor gives up, the owner gets the mails, and a
/// restart without the drill brings it back to green.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_keeps_crashing_turns_jobs_yellow_then_red_and_back() {
    let smtp = Smtp::start();
    let mut s = server(smtp.port, &[("OTM_FAULT_JOBS", "housekeeping")]);
    let api = s.api(&s.token().await);
    let h = until(&api, "jobs", "warning").await;
    assert!(
        check(&h, "jobs")["message"]
            .as_str()
            .unwrap()
            .contains("limpeza e contagem de uso"),
        "{h}"
    );
    smtp.wait_for(OWNER_EMAIL, "falhou e foi reiniciada").await;
    // Five panics with pauses of 1, 2, 4 and 8 s: dead after about 15 s.
    let h = until(&api, "jobs", "critical").await;
    let jobs = check(&h, "jobs");
    assert!(
        jobs["message"]
            .as_str()
            .unwrap()
            .starts_with("Tarefa(s) parada(s) de vez: limpeza e contagem de uso"),
        "{jobs}"
    );
    assert!(
        jobs["what_to_do"]
            .as_str()
            .unwrap()
            .contains("systemctl restart"),
        "{jobs}"
    );
    smtp.wait_for(OWNER_EMAIL, "parou de vez").await;
    let (st, _) = api.get("/readyz").await;
    assert_eq!(st, 503, "a dead job makes the server not ready");

    s.set_env("OTM_FAULT_JOBS", "");
    s.restart();
    let api = s.api(&s.token().await);
    let h = until(&api, "jobs", "ok").await;
    assert!(
        check(&h, "jobs")["message"]
            .as_str()
            .unwrap()
            .contains("tarefas de fundo estão funcionando"),
        "{h}"
    );
}
