//! Issue 11, items 1, 7 and 8: the data inventory drives the notice and the record of
//! processing; the retention run (with a shifted clock) removes what is past its period
//! and audits counts; sign-up and invitation acceptance record the notice's version;
//! the incident register computes the ANPD deadline.

use chrono::{Duration, SecondsFormat, Utc};
use omie_tenant_manager::domain::inventory::Purpose;
use omie_tenant_manager::services::privacy::RECORD_HEADERS;
use serde_json::{Value, json};

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::{Smtp, link, with_smtp};

const PW: &str = "cavalo bateria grampo azul";
const BASE: &str = "http://127.0.0.1:8080";

fn db(s: &Server) -> rusqlite::Connection {
    rusqlite::Connection::open(s.db_path()).unwrap()
}

async fn company(s: &Server, cnpj: &str) -> String {
    let owner = s.api(&s.token().await);
    let (st, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Pão Quente Ltda", "cnpj": cnpj}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn sign_up_api(s: &Server, cnpj: &str, email: &str) {
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/signup"))
        .json(&json!({"cnpj": cnpj, "name": "Joana Lima", "email": email, "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

async fn notice_version(s: &Server) -> String {
    let body = s.browser().get("/privacidade").await.body;
    let marker = "id=\"notice-version\">";
    let start = body.find(marker).expect("the version on the notice") + marker.len();
    body[start..start + body[start..].find('<').unwrap()].to_string()
}

fn retention_run(s: &Server, now: chrono::DateTime<Utc>) -> Value {
    let at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let out = s.cli(&["retention", "run", "--now", &at], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The notice is public, in Portuguese, and made of the inventory: every processing
/// activity, the periods in force, the backups' retention; its version changes when a
/// period does.
#[tokio::test]
async fn the_notice_is_generated_from_the_inventory() {
    let s = Server::start_with(&[("OTM_BACKUP_RETENTION_DAYS", "21")]);
    s.create_owner();
    let p = s.browser().get("/privacidade").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("<html lang=\"pt-BR\""));
    for purpose in Purpose::ALL {
        assert!(p.body.contains(purpose.activity()), "{purpose:?}");
    }
    assert!(p.body.contains("Marco Civil") || p.body.contains("184 dias"));
    assert!(
        p.body.contains("por até <strong>21 dias</strong>"),
        "backups"
    );
    // The forms that record acceptance link it.
    assert!(
        s.browser()
            .get("/signup")
            .await
            .body
            .contains("href=\"/privacidade\"")
    );

    let before = notice_version(&s).await;
    assert_eq!(before.len(), 12);
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = owner
        .submit(
            "/admin/privacidade/retencao",
            "/admin/privacidade/retencao",
            &[("rule", "signups"), ("days", "45")],
        )
        .await;
    assert_eq!(r.status, 303);
    let after = notice_version(&s).await;
    assert_ne!(before, after, "a tightened period is a new notice");
    assert!(
        s.browser()
            .get("/privacidade")
            .await
            .body
            .contains("45 dias")
    );
}

/// Sign-up (a known company's and a new company's) and invitation acceptance record the
/// version in force, with the time and the address.
#[tokio::test]
async fn sign_up_and_invitation_acceptance_record_the_notice_version() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let a = company(&s, "11222333000181").await;
    let version = notice_version(&s).await;

    sign_up_api(&s, "11.222.333/0001-81", "joana@padaria.com.br").await;
    let (v, ctx, ip, at): (String, String, String, String) = db(&s)
        .query_row(
            "SELECT n.notice_version, n.context, n.ip, n.accepted_at FROM notice_acceptances n
             JOIN users u ON u.id = n.user_id WHERE u.email = 'joana@padaria.com.br'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((v.as_str(), ctx.as_str()), (version.as_str(), "signup"));
    assert_eq!(ip, "127.0.0.1");
    assert!(at.starts_with(&Utc::now().format("%Y-%m-%d").to_string()));

    // A CNPJ not registered yet: the record names the request, then the account.
    sign_up_api(&s, "12.ABC.345/01DE-35", "rui@nova.com.br").await;
    assert_eq!(
        s.count("SELECT COUNT(*) FROM notice_acceptances WHERE request_id IS NOT NULL AND user_id IS NULL"
        ),
        1
    );
    let req: String = db(&s)
        .query_row("SELECT id FROM company_requests", [], |r| r.get(0))
        .unwrap();
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{req}/accept"),
            &[("legal_name", "Nova Ltda")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        s.count(
            "SELECT COUNT(*) FROM notice_acceptances n JOIN users u ON u.id = n.user_id
                   WHERE u.email = 'rui@nova.com.br' AND n.request_id IS NOT NULL"
        ),
        1
    );

    // An invitation accepted.
    let api = s.api(&s.token().await);
    let (st, u) = api
        .post(
            &format!("/api/v1/companies/{a}/users"),
            json!({"name": "Ana", "email": "ana@a.com.br", "role": "company_admin", "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let ana = s.browser();
    ana.login_to("ana@a.com.br", PW, "/portal").await;
    let r = ana
        .submit(
            "/portal/users",
            "/portal/invitations",
            &[("email", "novo@a.com.br"), ("role", "company_user")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let path = link(&smtp.wait_for("novo@a.com.br", "Convite").await, BASE);
    let invite = s.browser();
    let form = invite.get(&path).await;
    assert!(
        form.body.contains("href=\"/privacidade\""),
        "the form links the notice"
    );
    let r = invite
        .post(
            &path,
            &[
                ("csrf_token", &form.csrf()),
                ("name", "Pessoa Nova"),
                ("password", PW),
                ("password_confirm", PW),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/login"), "{}", r.body);
    let (v, ctx): (String, String) = db(&s)
        .query_row(
            "SELECT n.notice_version, n.context FROM notice_acceptances n
             JOIN users u ON u.id = n.user_id WHERE u.email = 'novo@a.com.br'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((v.as_str(), ctx.as_str()), (version.as_str(), "invitation"));

    // The record stays; its address is an access record, gone after 6 months.
    let r = retention_run(&s, Utc::now() + Duration::days(200));
    assert!(r["access_records"].as_u64().unwrap() > 0, "{r}");
    let (v, ip): (String, String) = db(&s)
        .query_row(
            "SELECT n.notice_version, n.ip FROM notice_acceptances n
             JOIN users u ON u.id = n.user_id WHERE u.email = 'novo@a.com.br'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((v.as_str(), ip.as_str()), (version.as_str(), ""));
}

/// The retention run as of a later moment: nothing of a fresh sign-up goes at once, the
/// never-approved sign-up goes after the period (tightened by the owner), access records
/// after 6 months; the audit row holds counts, no contents, and the chain verifies.
#[tokio::test]
async fn retention_with_a_shifted_clock_removes_what_is_past_and_audits_counts() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    company(&s, "11222333000181").await;
    sign_up_api(&s, "11.222.333/0001-81", "joana@padaria.com.br").await;
    sign_up_api(&s, "12.ABC.345/01DE-35", "rui@nova.com.br").await;
    smtp.wait_for("rui@nova.com.br", "Recebemos").await;
    // A reset link, never used.
    let b = s.browser();
    let r = b
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", OWNER_EMAIL)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    smtp.wait_for(OWNER_EMAIL, "Troca de senha").await;
    assert_eq!(s.count("SELECT COUNT(*) FROM password_resets"), 1);
    let now = Utc::now();

    // Today: the sign-ups are fresh.
    let r = retention_run(&s, now);
    assert_eq!(r["signups"], 0, "{r}");
    // In 20 days: still within the 90 days of the inventory.
    let r = retention_run(&s, now + Duration::days(20));
    assert_eq!(r["signups"], 0, "{r}");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users WHERE status = 'pending'"),
        1
    );

    // The owner cannot loosen past the maximum, but may tighten.
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = owner.get("/admin/privacidade/retencao").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Marco Civil"));
    owner
        .submit(
            "/admin/privacidade/retencao",
            "/admin/privacidade/retencao",
            &[("rule", "signups"), ("days", "200")],
        )
        .await;
    owner
        .submit(
            "/admin/privacidade/retencao",
            "/admin/privacidade/retencao",
            &[("rule", "access_records"), ("days", "30")],
        )
        .await;
    assert_eq!(
        s.count("SELECT COUNT(*) FROM app_settings WHERE key LIKE 'retention.%'"),
        0,
        "past the maximum, or below the legal minimum: refused"
    );
    let r = owner
        .submit(
            "/admin/privacidade/retencao",
            "/admin/privacidade/retencao",
            &[("rule", "signups"), ("days", "10")],
        )
        .await;
    assert_eq!(r.status, 303);

    let r = retention_run(&s, now + Duration::days(20));
    assert_eq!(r["signups"], 2, "the pending user and the request: {r}");
    assert_eq!(r["links"], 0, "{r}");
    assert_eq!(r["sent_mail"], 0, "sent mail is kept 30 days: {r}");
    assert!(
        r["sessions"].as_u64().unwrap() > 0,
        "the owner's session expired: {r}"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users WHERE email = 'joana@padaria.com.br'"),
        0
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM company_requests"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM notice_acceptances"), 0);
    // The owner's sign-in from this address is an access record: kept 6 months.
    assert!(s.count("SELECT COUNT(*) FROM known_clients") > 0);
    let r = retention_run(&s, now + Duration::days(200));
    assert!(r["access_records"].as_u64().unwrap() > 0, "{r}");
    assert!(r["sent_mail"].as_u64().unwrap() >= 4, "{r}");
    assert_eq!(
        r["links"], 1,
        "the reset link, 30 days after it expired: {r}"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM password_resets"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM known_clients"), 0);
    // Audit rows keep what happened but lose the address after six months.
    assert!(r["audit_ips"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(
        s.count(
            "SELECT COUNT(*) FROM audit_log WHERE ip <> '' AND action <> 'privacy.retention_run'"
        ),
        0
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'"),
        0
    );

    // Audited with counts only.
    let details: Vec<String> = db(&s)
        .prepare("SELECT details FROM audit_log WHERE action = 'privacy.retention_run' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(details.len(), 3, "runs that removed nothing leave no row");
    let tightened: Value = serde_json::from_str(&details[1]).unwrap();
    assert_eq!(tightened["removed"]["signups"], 2);
    for d in &details {
        assert!(!d.contains('@'), "no contents: {d}");
    }
    let out = s.cli(&["audit", "verify"], None);
    assert!(out.status.success());
    // A bad time is bad usage.
    assert_eq!(
        s.cli(&["retention", "run", "--now", "amanhã"], None)
            .status
            .code(),
        Some(2)
    );
}

/// The record of processing in ANPD's simplified model: Portuguese headers, one row per
/// processing activity of the inventory, cells neutralised.
#[tokio::test]
async fn the_record_of_processing_is_a_csv_of_the_inventory() {
    let s = Server::start();
    s.create_owner();
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = owner
        .http
        .get(s.url("/admin/privacidade/registro.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = r.text().await.unwrap();
    let mut lines = body.lines();
    assert_eq!(lines.next().unwrap(), RECORD_HEADERS.join(","));
    for p in Purpose::ALL {
        assert!(body.lines().any(|l| l.starts_with(p.activity())), "{p:?}");
    }
    assert!(body.contains("Marco Civil") || body.contains("184 dias"));
    assert!(body.contains("art. 7º"));
    let page = owner.get("/admin/privacidade/registro").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("registro.csv"));
}

/// An incident is registered with the day it became known; the ANPD deadline is 3
/// working days later, national holidays skipped; follow-up is recorded and audited.
#[tokio::test]
async fn incidents_are_registered_with_their_anpd_deadline() {
    let s = Server::start();
    s.create_owner();
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = "/admin/privacidade/incidentes";
    // Learned on the Friday before Carnival 2025: Wed 5, Thu 6, Fri 7 March.
    let r = owner
        .submit(
            page,
            page,
            &[
                ("known_on", "28/02/2025"),
                ("summary", "Planilha com e-mails enviada ao cliente errado"),
                ("data_affected", "Nomes e e-mails"),
                ("people_affected", "12 pessoas da Empresa A"),
                ("risk", "relevant"),
                ("measures", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let list = owner.get(page).await.body;
    assert!(list.contains("07/03/2025"), "deadline shown");
    assert!(list.contains("vencido sem comunicação"));
    let id: String = db(&s)
        .query_row("SELECT id FROM incidents", [], |r| r.get(0))
        .unwrap();
    let r = owner
        .submit(
            page,
            &format!("{page}/{id}"),
            &[
                ("measures", "Cliente apagou a planilha"),
                ("anpd_notified_on", "06/03/2025"),
                ("subjects_notified_on", "06/03/2025"),
                ("communication", "ANPD pelo formulário; pessoas por e-mail"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let list = owner.get(page).await.body;
    assert!(list.contains("06/03/2025"));
    assert!(!list.contains("vencido sem comunicação"));
    // A day in the future is refused.
    let future = (Utc::now() + Duration::days(3))
        .format("%d/%m/%Y")
        .to_string();
    owner
        .submit(
            page,
            page,
            &[
                ("known_on", future.as_str()),
                ("summary", "x"),
                ("data_affected", "x"),
                ("people_affected", "x"),
                ("risk", "low"),
            ],
        )
        .await;
    assert_eq!(s.count("SELECT COUNT(*) FROM incidents"), 1);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'privacy.incident_%'"),
        2
    );
}
