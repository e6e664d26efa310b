//! Issue 12, item 4 (an overview that says what needs attention, and the first steps of
//! a fresh install), the rest of item 1 (the vendor's name and logo, "Testar destino",
//! copying a link while mail is off, truthful flashes) and item 10's send-time base URL.

use reqwest::Method;
use serde_json::json;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::Smtp;

const APP_KEY: &str = "1724630275368";
const APP_SECRET: &str = "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a";
const PERSON_PASSWORD: &str = "senha da pessoa bem longa";

fn sql(s: &Server, q: &str) {
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute_batch(q)
        .unwrap_or_else(|e| panic!("{q}: {e}"));
}

/// The keys of the attention lines on the overview, in order.
fn attention(body: &str) -> Vec<String> {
    body.split("data-key=\"")
        .skip(1)
        .map(|r| r[..r.find('"').unwrap()].to_string())
        .collect()
}

/// Whether each first step is ticked, by key.
fn steps(body: &str) -> Vec<(String, bool)> {
    body.split("id=\"step-")
        .skip(1)
        .map(|r| {
            let key = r[..r.find('"').unwrap()].to_string();
            (
                key,
                r.contains("data-done=\"true\"") && r.find("data-done=\"true\"") < r.find("</li>"),
            )
        })
        .collect()
}

fn step_done(body: &str, key: &str) -> bool {
    steps(body)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no step {key} in {body}"))
        .1
}

async fn company(api: &crate::common::Api, name: &str, cnpj: &str) -> String {
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": name, "cnpj": cnpj}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn signup(s: &Server, cnpj: &str, email: &str) {
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/signup"))
        .json(&json!({"cnpj": cnpj, "name": "Joana Lima", "email": email, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

/// Every line of "Precisa da sua atenção" appears when its cause is created and goes
/// when it is dealt with; with nothing to do the overview says "Tudo em ordem".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_attention_line_comes_with_its_cause_and_goes_when_fixed() {
    let smtp = Smtp::start();
    let s = crate::smtp::with_smtp(smtp.port);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let api = s.api(&s.token().await);
    let keys = || async { attention(&b.get("/admin").await.body) };
    let home = b.get("/admin").await.body;
    assert!(home.contains("Precisa da sua atenção"), "{home}");
    assert!(home.contains("id=\"all-clear\""), "{home}");
    assert!(keys().await.is_empty());

    // A company without Omie credentials, then with keys that failed their test.
    let cid = company(&api, "Padaria Pão Quente Ltda", "11222333000181").await;
    assert_eq!(keys().await, ["omie_missing"]);
    let home = b.get("/admin").await.body;
    assert!(
        home.contains("1 empresa ativa ainda não tem as credenciais do Omie"),
        "{home}"
    );
    assert!(
        home.contains("href=\"/admin/companies?status=active&#38;omie=missing\""),
        "{home}"
    );
    let list = b
        .get("/admin/companies?status=active&omie=missing")
        .await
        .body;
    assert!(list.contains("Padaria Pão Quente Ltda"), "{list}");
    let (st, v) = api
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{cid}/omie-credentials"),
            Some(json!({"app_key": APP_KEY, "app_secret": APP_SECRET})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(keys().await.is_empty());
    assert!(
        !b.get("/admin/companies?status=active&omie=missing")
            .await
            .body
            .contains("Padaria Pão Quente")
    );
    sql(
        &s,
        "UPDATE omie_credentials SET validation_status = 'failed', validated_at = '2026-01-01T00:00:00.000Z'",
    );
    assert_eq!(keys().await, ["omie_failed"]);
    assert!(
        b.get("/admin/companies?status=active&omie=failed")
            .await
            .body
            .contains("Padaria Pão Quente Ltda")
    );
    sql(&s, "UPDATE omie_credentials SET validation_status = 'ok'");
    assert!(keys().await.is_empty());

    // A sign-up waiting for approval; a request for a company not registered yet.
    signup(&s, "11222333000181", "joana@example.com.br").await;
    assert_eq!(keys().await, ["signups"]);
    assert!(
        b.get("/admin")
            .await
            .body
            .contains("1 pedido de acesso aguarda a sua aprovação")
    );
    let uid: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(
            "SELECT id FROM users WHERE email = 'joana@example.com.br'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let (st, v) = api
        .post(
            &format!("/api/v1/users/{uid}/approve"),
            json!({"role": "company_user"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(keys().await.is_empty());
    signup(&s, "12.ABC.345/01DE-35", "pedro@example.com.br").await;
    assert_eq!(keys().await, ["company_requests"]);
    let rid: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT id FROM company_requests", [], |r| r.get(0))
        .unwrap();
    let r = b
        .submit(
            "/admin/users",
            &format!("/admin/users/{rid}/refuse"),
            &[("reason", ""), ("confirm", "sim")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(keys().await.is_empty());

    // An invitation about to expire, named with its company; cancelling it clears it.
    let r = b
        .submit(
            "/admin/users",
            "/admin/invitations",
            &[
                ("email", "nova@example.com.br"),
                ("role", "staff"),
                ("company_id", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(keys().await.is_empty(), "72 hours left: not yet");
    sql(
        &s,
        "UPDATE invitations SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+10 hours')",
    );
    let k = keys().await;
    assert_eq!(k.len(), 1, "{k:?}");
    assert!(k[0].starts_with("invitation_"));
    let home = b.get("/admin").await.body;
    assert!(
        home.contains("O convite de nova@example.com.br para a equipe vence em"),
        "{home}"
    );
    let iid = k[0].trim_start_matches("invitation_").to_string();
    let r = b
        .submit(
            "/admin/users",
            &format!("/admin/invitations/{iid}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(keys().await.is_empty());

    // Mail stuck in the queue for more than 15 minutes (never due), then sent.
    sql(
        &s,
        "INSERT INTO outbox (created_at, kind, to_addr, subject, text_body, html_body, next_attempt_at)
         VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour'), 'test', 'x@example.com.br', 'Parada', 't', 'h', '2999-01-01T00:00:00.000Z')",
    );
    assert_eq!(keys().await, ["mail_stuck"]);
    assert!(b.get("/admin").await.body.contains("O e-mail está parado:"));
    sql(&s, "DELETE FROM outbox WHERE subject = 'Parada'");
    assert!(keys().await.is_empty());

    // A dead letter; "Tentar de novo" sends it and the line goes.
    sql(
        &s,
        "INSERT INTO outbox (created_at, kind, to_addr, subject, text_body, html_body, next_attempt_at, gave_up_at, last_error)
         VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'test', 'y@example.com.br', 'Desistida', 't', 'h',
                 strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), '550 no')",
    );
    assert_eq!(keys().await, ["mail_dead"]);
    let r = b
        .submit("/admin/settings", "/admin/settings/retry-mail", &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    smtp.wait_for("y@example.com.br", "Desistida").await;
    assert!(keys().await.is_empty());

    // The off-site copy failing (a destination rclone does not know), then removed.
    let r = b
        .submit(
            "/admin/backups",
            "/admin/backups/settings",
            &[
                ("times", "03:00"),
                ("retention_days", "30"),
                ("remote", "semdestino:otm"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let bk = crate::backups::api_backup(&api).await;
    assert_eq!(bk["remote_status"], "failed", "{bk}");
    assert_eq!(keys().await, ["remote_failed"]);
    let r = b
        .submit(
            "/admin/backups",
            "/admin/backups/settings",
            &[("times", "03:00"), ("retention_days", "30"), ("remote", "")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(keys().await.is_empty());
    assert!(b.get("/admin").await.body.contains("Tudo em ordem"));
}

/// Without an SMTP server the overview says mail is not configured, with its button;
/// configuring it on the settings page clears the line.
#[tokio::test]
async fn mail_not_configured_is_a_line_until_it_is() {
    let smtp = Smtp::start();
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let home = b.get("/admin").await.body;
    assert_eq!(attention(&home), ["mail_off"]);
    assert!(
        home.contains("O envio de e-mail não está configurado"),
        "{home}"
    );
    assert!(home.contains("Configurar e-mail"));
    let port = smtp.port.to_string();
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/mail",
            &[
                ("host", "127.0.0.1"),
                ("port", &port),
                ("security", "none"),
                ("username", ""),
                ("password", ""),
                ("mail_from", "Gestor <gestor@example.com.br>"),
                ("alert_emails", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(attention(&b.get("/admin").await.body).is_empty());
}

/// "Primeiros passos" ticks itself from the real state as the owner does each step,
/// offers "Ocultar esta lista" once all are done, and is the owner's only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_steps_tick_themselves_step_by_step() {
    let smtp = Smtp::start();
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let api = s.api(&s.token().await);
    let home = b.get("/admin").await.body;
    assert!(home.contains("Primeiros passos"), "{home}");
    let all = steps(&home);
    assert_eq!(
        all.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["mail", "backup", "kit", "offsite", "company", "application"]
    );
    assert!(all.iter().all(|(_, d)| !d), "{all:?}");
    assert!(!home.contains("Ocultar esta lista"));
    // Hiding before the end is refused.
    let r = b
        .submit("/admin", "/admin/overview/checklist/hide", &[])
        .await;
    assert_eq!(r.status, 303);
    assert!(b.get("/admin").await.body.contains("id=\"first-steps\""));

    company(&api, "Padaria Pão Quente Ltda", "11222333000181").await;
    let home = b.get("/admin").await.body;
    assert!(step_done(&home, "company") && !step_done(&home, "application"));
    assert!(home.contains("(1 de 6 concluídos)"), "{home}");

    let (st, v) = api
        .post("/api/v1/applications", json!({"name": "Robô de notas"}))
        .await;
    assert_eq!(st, 201, "{v}");
    assert!(step_done(&b.get("/admin").await.body, "application"));

    let bk = crate::backups::api_backup(&api).await;
    assert_eq!(bk["status"], "succeeded", "{bk}");
    let home = b.get("/admin").await.body;
    assert!(step_done(&home, "backup") && !step_done(&home, "kit"));

    let r = b
        .submit(
            "/admin/backups/recovery-kit",
            "/admin/backups/recovery-kit",
            &[("password", OWNER_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(step_done(&b.get("/admin").await.body, "kit"));

    let remote = tempfile::tempdir().unwrap();
    let r = b
        .submit(
            "/admin/backups",
            "/admin/backups/settings",
            &[
                ("times", "03:00"),
                ("retention_days", "30"),
                ("remote", remote.path().to_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(step_done(&b.get("/admin").await.body, "offsite"));

    // E-mail: configured is not enough; the test mail must have left.
    let port = smtp.port.to_string();
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/mail",
            &[
                ("host", "127.0.0.1"),
                ("port", &port),
                ("security", "none"),
                ("username", ""),
                ("password", ""),
                ("mail_from", "Gestor <gestor@example.com.br>"),
                ("alert_emails", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(!step_done(&b.get("/admin").await.body, "mail"));
    b.submit(
        "/admin/settings",
        "/admin/settings/test-email",
        &[("to", OWNER_EMAIL)],
    )
    .await;
    smtp.wait_for(OWNER_EMAIL, "Teste de e-mail").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !step_done(&b.get("/admin").await.body, "mail") {
        assert!(
            std::time::Instant::now() < deadline,
            "the mail step never ticked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let home = b.get("/admin").await.body;
    assert!(home.contains("(6 de 6 concluídos)"), "{home}");
    assert!(home.contains("Ocultar esta lista"));
    let r = b
        .submit("/admin", "/admin/overview/checklist/hide", &[])
        .await;
    assert_eq!(r.status, 303);
    let home = b.get("/admin").await.body;
    assert!(!home.contains("id=\"first-steps\""), "{home}");
    assert!(home.contains("Lista de primeiros passos ocultada"));
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE action = 'overview.checklist_hide'"),
        1
    );
}

/// In a real browser, on a laptop and on a phone: the owner follows "Primeiros passos"
/// (first company, first backup) and each step ticks itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_browser_the_first_steps_tick_as_the_owner_does_them() {
    use crate::browser::{Driver, sign_in};
    for (phone, cnpj) in [(false, "11222333000181"), (true, "12abc34501de35")] {
        let s = Server::start();
        s.create_owner();
        let Some(d) = Driver::start().await else {
            return;
        };
        if phone {
            d.phone().await;
        } else {
            d.laptop().await;
        }
        sign_in(&d, &s, OWNER_EMAIL, OWNER_PASSWORD, "Primeiros passos").await;
        let done = |key: &'static str| {
            let d = &d;
            async move {
                d.script(&format!(
                    "return document.querySelector('#step-{key}').dataset.done;"
                ))
                .await
            }
        };
        assert_eq!(done("company").await, "false");
        assert_eq!(d.overflow().await, None, "the overview fits");

        // First company: the step's own button opens the form.
        d.tap("#step-company a.button").await;
        d.wait_for("Cadastrar empresa").await;
        d.type_into("#cnpj", cnpj).await;
        d.wait_for("CNPJ válido.").await;
        d.type_into("#legal_name", "Oficina Mecânica Aurora Ltda")
            .await;
        d.tap("main form button[type=submit]").await;
        d.wait_for("Oficina Mecânica Aurora Ltda").await;
        d.goto(&s.url("/admin")).await;
        d.wait_for("1 de 6 concluídos").await;
        assert_eq!(done("company").await, "true");
        assert_eq!(done("backup").await, "false");

        // First backup: "Fazer backup agora" right on the list.
        d.tap("#step-backup button").await;
        d.wait_for_url("/admin/backups").await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            d.goto(&s.url("/admin")).await;
            if done("backup").await == "true" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the backup step never ticked"
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        d.wait_for("2 de 6 concluídos").await;
        assert_eq!(d.overflow().await, None, "the overview fits");
    }
}

fn audit_count(s: &Server, action: &str) -> i64 {
    s.count(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
    ))
}

/// While no SMTP host is in force the owner copies an invitation's link and a person's
/// password reset link (shown once, audited without the link, the link works); a company
/// admin is never offered a reset link; once mail works, the buttons go.
#[tokio::test]
async fn while_mail_is_off_the_owner_copies_links_and_a_company_admin_never_does() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let api = s.api(&s.token().await);
    let cid = company(&api, "Padaria Pão Quente Ltda", "11222333000181").await;

    // An invitation for the company: "Copiar link" on the company page.
    let page = format!("/admin/companies/{cid}");
    let r = b
        .submit(
            &page,
            "/admin/invitations",
            &[
                ("email", "ana@padaria.com.br"),
                ("role", "company_admin"),
                ("company_id", &cid),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let body = b.get(&page).await.body;
    assert!(body.contains("Copiar link"), "{body}");
    let iid: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT id FROM invitations", [], |r| r.get(0))
        .unwrap();
    let r = b
        .submit(&page, &format!("/admin/invitations/{iid}/copy-link"), &[])
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/admin/invitations/{iid}/link").as_str())
    );
    let shown = b.get(&format!("/admin/invitations/{iid}/link")).await.body;
    assert!(shown.contains("Este link é um segredo"), "{shown}");
    let link = crate::smtp::link(
        &crate::smtp::Mail {
            to: vec![],
            raw: String::new(),
            subject: String::new(),
            text: shown.replace('<', " <"),
            html: String::new(),
        },
        "http://127.0.0.1:8080",
    );
    assert!(link.starts_with("/invite/"), "{link}");
    assert_eq!(
        b.get(&format!("/admin/invitations/{iid}/link"))
            .await
            .status,
        303,
        "shown once"
    );
    assert_eq!(
        s.browser().get(&link).await.status,
        200,
        "the copied link works"
    );
    assert_eq!(audit_count(&s, "invitation.link_copy"), 1);
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE details LIKE '%{token}%'"
        )),
        0,
        "no link in the audit"
    );
    assert!(
        !std::fs::read_to_string(s.log_path())
            .unwrap()
            .contains(token),
        "no link in the log"
    );

    // Ana accepts and becomes the company's admin; her colleague signs up and is approved.
    let ana = s.browser();
    let form = ana.get(&link).await;
    let r = ana
        .post(
            &link,
            &[
                ("csrf_token", &form.csrf()),
                ("name", "Ana Souza"),
                ("password", PERSON_PASSWORD),
                ("password_confirm", PERSON_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    signup(&s, "11222333000181", "joana@padaria.com.br").await;
    let uid: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(
            "SELECT id FROM users WHERE email = 'joana@padaria.com.br'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let (st, v) = api
        .post(
            &format!("/api/v1/users/{uid}/approve"),
            json!({"role": "company_user"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");

    // The owner copies Joana's reset link.
    let users = b.get("/admin/users").await.body;
    assert!(users.contains("Copiar link de troca de senha"), "{users}");
    let r = b
        .submit(
            "/admin/users",
            &format!("/admin/users/{uid}/reset-link"),
            &[],
        )
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/admin/users/{uid}/reset-link").as_str()),
        "{}",
        r.body
    );
    let shown = b.get(&format!("/admin/users/{uid}/reset-link")).await.body;
    assert!(shown.contains("Este link é um segredo"), "{shown}");
    let start = shown
        .find("http://127.0.0.1:8080/password/reset/")
        .expect("a reset link");
    let rest = &shown[start + "http://127.0.0.1:8080".len()..];
    let reset = &rest[..rest.find('<').unwrap()];
    assert_eq!(
        s.browser().get(reset).await.status,
        200,
        "the copied reset link works"
    );
    assert_eq!(audit_count(&s, "user.password_reset_link_copy"), 1);

    // The company admin: no copy button in the portal, and the admin route is not hers.
    let ana = s.browser();
    ana.login_to("ana@padaria.com.br", PERSON_PASSWORD, "/portal")
        .await;
    let people = ana.get("/portal/users").await.body;
    assert!(people.contains("joana@padaria.com.br"), "{people}");
    assert!(!people.contains("Copiar link"), "{people}");
    let csrf = people[people.find("name=\"csrf_token\" value=\"").unwrap() + 26..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = ana
        .post(
            &format!("/admin/users/{uid}/reset-link"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_ne!(r.status, 200);
    assert_eq!(
        r.location.as_deref(),
        Some("/portal"),
        "sent to her own area"
    );
    assert_eq!(
        audit_count(&s, "user.password_reset_link_copy"),
        1,
        "nothing copied"
    );
    let r = ana
        .post(
            &format!("/portal/users/{uid}/reset-link"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status, 404);

    // Once mail works the buttons go, and a copy is refused with what to do instead.
    let smtp = Smtp::start();
    let port = smtp.port.to_string();
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/mail",
            &[
                ("host", "127.0.0.1"),
                ("port", &port),
                ("security", "none"),
                ("username", ""),
                ("password", ""),
                ("mail_from", "Gestor <gestor@example.com.br>"),
                ("alert_emails", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(!b.get("/admin/users").await.body.contains("Copiar link"));
    let r = b
        .submit(
            "/admin/users",
            &format!("/admin/users/{uid}/reset-link"),
            &[],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin/users"));
    assert!(
        b.get("/admin/users")
            .await
            .body
            .contains("O envio de e-mail está funcionando")
    );
    assert_eq!(audit_count(&s, "user.password_reset_link_copy"), 1);
}

/// While mail is off, sign-up and "Esqueci minha senha" say the mail waits in the queue;
/// "Esqueci minha senha" answers the same words for a known and an unknown address.
#[tokio::test]
async fn with_mail_off_the_sign_up_and_forgot_password_flashes_tell_the_truth() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    company(&api, "Padaria Pão Quente Ltda", "11222333000181").await;
    let page = s
        .browser()
        .submit(
            "/signup",
            "/signup",
            &[
                ("cnpj", "11222333000181"),
                ("name", "Joana Lima"),
                ("email", "joana@padaria.com.br"),
                ("password", PERSON_PASSWORD),
                ("password_confirm", PERSON_PASSWORD),
            ],
        )
        .await
        .body;
    assert!(
        page.contains("ficarão na fila até o envio ser configurado"),
        "{page}"
    );
    assert!(!page.contains("Enviamos um e-mail"), "{page}");
    let forgot = |email: &'static str| {
        let s = &s;
        async move {
            s.browser()
                .submit("/password/forgot", "/password/forgot", &[("email", email)])
                .await
                .body
        }
    };
    let known = forgot(OWNER_EMAIL).await;
    let unknown = forgot("ninguem.aqui@example.com.br").await;
    assert!(
        known.contains("o e-mail ficará na fila até o envio ser configurado"),
        "{known}"
    );
    assert!(!known.contains("enviamos um link"), "{known}");
    let words = |b: &str, e: &str| {
        let start = b.find("id=\"mail-queued\"").unwrap();
        b[start..start + b[start..].find("</p>").unwrap()].replace(e, "")
    };
    assert_eq!(
        words(&known, OWNER_EMAIL),
        words(&unknown, "ninguem.aqui@example.com.br"),
        "the same words whether the address exists or not"
    );
    // With mail on, the usual words.
    let smtp = Smtp::start();
    let on = crate::smtp::with_smtp(smtp.port);
    let body = on
        .browser()
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "x@example.com.br")],
        )
        .await
        .body;
    assert!(
        body.contains("enviamos um link para escolher uma nova senha"),
        "{body}"
    );
}

/// "Testar destino" writes and deletes a small file on the saved destination (a local
/// rclone remote here) and says so; a destination rclone does not know fails in
/// Portuguese with rclone's words folded away; both are audited.
#[tokio::test]
async fn testar_destino_answers_ok_and_failing_in_portuguese() {
    let dest = tempfile::tempdir().unwrap();
    let s = Server::start_with(&[("RCLONE_CONFIG_LOCALTEST_TYPE", "local")]);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let save = |remote: String| {
        let b = &b;
        async move {
            let r = b
                .submit(
                    "/admin/backups",
                    "/admin/backups/settings",
                    &[
                        ("times", "03:00"),
                        ("retention_days", "30"),
                        ("remote", &remote),
                    ],
                )
                .await;
            assert_eq!(r.status, 303, "{}", r.body);
        }
    };
    // Nothing saved yet: it says what to do.
    let page = b
        .submit("/admin/backups", "/admin/backups/test-remote", &[])
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("Nenhum destino de cópia externa configurado"),
        "{}",
        page.body
    );

    save(format!("localtest:{}", dest.path().display())).await;
    let page = b
        .submit("/admin/backups", "/admin/backups/test-remote", &[])
        .await;
    assert!(page.body.contains("id=\"remote-test\""), "{}", page.body);
    assert!(page.body.contains("Destino funcionando"), "{}", page.body);
    assert_eq!(
        std::fs::read_dir(dest.path()).unwrap().count(),
        0,
        "the test file was deleted"
    );

    save("semdestino:otm".into()).await;
    let page = b
        .submit("/admin/backups", "/admin/backups/test-remote", &[])
        .await;
    let body = page.body;
    assert!(body.contains("O teste do destino falhou"), "{body}");
    assert!(
        body.contains("não existe na configuração do rclone"),
        "{body}"
    );
    let test = &body[body.find("id=\"remote-test\"").unwrap()..];
    let test = &test[..test.find("</div>").unwrap()];
    let folded = test
        .find("<details>")
        .expect("the technical detail is folded");
    assert!(!test[..folded].contains("rclone copyto"), "{test}");
    assert!(test[folded..].contains("rclone"), "{test}");
    assert_eq!(audit_count(&s, "backup.remote_test"), 2);
}

/// A PNG by its first bytes (the server checks no more than that).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00logo-de-teste";

/// Posts the settings page's vendor form as a browser does: multipart, with the file.
async fn post_vendor(
    b: &crate::common::Browser,
    name: &str,
    logo: Option<(&str, &[u8])>,
) -> crate::common::Page {
    let csrf = b.get("/admin/settings").await.csrf();
    let boundary = "----otmTesteLimite7d3";
    let mut body = Vec::new();
    let mut text = |k: &str, v: &str| {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    };
    text("csrf_token", &csrf);
    text("vendor_name", name);
    let (file, bytes) = logo.unwrap_or(("", b""));
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = b
        .http
        .post(format!("{}/admin/settings/vendor", b.base))
        .header("Origin", &b.base)
        .header("Sec-Fetch-Site", "same-origin")
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    crate::common::Page {
        status,
        location,
        body: r.text().await.unwrap(),
    }
}

/// The owner's own name and logo replace the product's in the portal's header, the
/// privacy notice and a delivered e-mail; the logo is served from our route, cached
/// under its content hash; an SVG (or anything not PNG/JPEG by its bytes) is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendors_name_and_logo_show_in_the_portal_the_notice_and_the_mail() {
    let smtp = Smtp::start();
    let s = crate::smtp::with_smtp(smtp.port);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = post_vendor(
        &b,
        "Contabilidade Silva",
        Some((
            "logo.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
        )),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/admin/settings"), "{}", r.body);
    let page = b.get("/admin/settings").await.body;
    assert!(page.contains("PNG ou JPEG (SVG não é aceito)"), "{page}");
    assert!(!page.contains("Contabilidade Silva"), "nothing saved");

    let r = post_vendor(&b, "Contabilidade Silva", Some(("logo.png", PNG))).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get("/admin/settings").await.body;
    assert!(page.contains("Nome e logotipo salvos"), "{page}");
    let start = page.find("src=\"/marca/").expect("the logo") + 5;
    let logo_path = page[start..start + page[start..].find('"').unwrap()].to_string();
    let r = reqwest::get(s.url(&logo_path)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(
        reqwest::get(s.url("/marca/0123456789abcdef"))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(audit_count(&s, "vendor.settings_update"), 1);

    // The portal of a client company's person shows the vendor, not the product.
    let api = s.api(&s.token().await);
    company(&api, "Padaria Pão Quente Ltda", "11222333000181").await;
    signup(&s, "11222333000181", "joana@padaria.com.br").await;
    let uid: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(
            "SELECT id FROM users WHERE email = 'joana@padaria.com.br'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    api.post(
        &format!("/api/v1/users/{uid}/approve"),
        json!({"role": "company_admin"}),
    )
    .await;
    let joana = s.browser();
    joana
        .login_to("joana@padaria.com.br", PERSON_PASSWORD, "/portal")
        .await;
    let portal = joana.get("/portal").await.body;
    let header =
        &portal[portal.find("class=\"topbar\"").unwrap()..portal.find("</header>").unwrap()];
    assert!(header.contains("Contabilidade Silva"), "{header}");
    assert!(header.contains(&logo_path), "{header}");
    assert!(!header.contains("Omie Tenant Manager"), "{header}");
    let notice = reqwest::get(s.url("/privacidade"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let controller = &notice[notice.find("id=\"controller\"").unwrap()..];
    assert!(
        controller[..300].contains("Contabilidade Silva"),
        "{controller}"
    );

    // A delivered e-mail: the vendor's name, and its logo from our route.
    b.submit(
        "/admin/settings",
        "/admin/settings/test-email",
        &[("to", OWNER_EMAIL)],
    )
    .await;
    let mail = smtp.wait_for(OWNER_EMAIL, "Teste de e-mail").await;
    assert!(
        mail.text
            .contains("Mensagem automática de Contabilidade Silva"),
        "{}",
        mail.text
    );
    assert!(mail.html.contains("Contabilidade Silva"), "{}", mail.html);
    assert!(
        mail.html
            .contains(&format!("http://127.0.0.1:8080{logo_path}")),
        "{}",
        mail.html
    );
    assert!(!mail.text.contains("Omie Tenant Manager"), "{}", mail.text);
    assert_eq!(
        mail.subject, "Teste de e-mail do painel de Contabilidade Silva",
        "the subject names the vendor too"
    );

    // Removing the logo; an empty name goes back to the product's.
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/vendor",
            &[("vendor_name", ""), ("remove_logo", "1")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let home = b.get("/admin").await.body;
    assert!(!home.contains("/marca/"), "{home}");
    assert!(home.contains("Omie Tenant Manager"));
}

/// Item 10: links in queued mail were made with the base URL in force when queued. A
/// reset mail queued under one base URL, delivered after a restart under another,
/// carries the new one; the link itself works and never reaches the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_mail_links_use_the_base_url_in_force_when_sent() {
    let mut old = Server::start_with(&[("OTM_BASE_URL", "http://painel-antigo.example:8080")]);
    old.create_owner();
    let r = old
        .browser()
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", OWNER_EMAIL)],
        )
        .await;
    assert_eq!(r.status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while old.count("SELECT COUNT(*) FROM outbox WHERE kind = 'password_reset'") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the reset was never queued"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    old.kill9();
    let dir = std::mem::replace(&mut old.dir, tempfile::tempdir().unwrap());

    let smtp = Smtp::start();
    let mut env = Smtp::env(smtp.port);
    env.push((
        "OTM_BASE_URL",
        "http://painel-novo.example:9090".to_string(),
    ));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let new = Server::start_in(dir, &pairs);
    let mail = smtp.wait_for(OWNER_EMAIL, "Troca de senha").await;
    assert!(
        mail.text
            .contains("http://painel-novo.example:9090/password/reset/"),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("painel-antigo"), "{}", mail.text);
    assert!(!mail.html.contains("painel-antigo"), "{}", mail.html);
    let path = crate::smtp::link(&mail, "http://painel-novo.example:9090");
    assert_eq!(new.browser().get(&path).await.status, 200, "the link works");
    let token = path.rsplit('/').next().unwrap();
    let log = std::fs::read_to_string(new.log_path()).unwrap();
    assert!(!log.contains(token), "no token in the log");
}

/// The backup lines: no good backup for 26 hours, and a failed last backup; a good
/// backup clears both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_lines_come_with_a_failure_or_an_old_backup_and_go_with_a_good_one() {
    let smtp = Smtp::start();
    let s = crate::smtp::with_smtp(smtp.port);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(attention(&b.get("/admin").await.body).is_empty());
    sql(
        &s,
        "UPDATE app_settings SET value = '2020-01-01T00:00:00.000Z' WHERE key = 'backup_schedule_anchor'",
    );
    assert_eq!(attention(&b.get("/admin").await.body), ["backup_stale"]);
    sql(
        &s,
        "INSERT INTO backups (id, kind, status, started_at, finished_at, error_code, error)
         VALUES ('bkp_falhou', 'scheduled', 'failed', '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z', 'encrypt', 'disk full')",
    );
    let home = b.get("/admin").await.body;
    assert_eq!(attention(&home), ["backup_failed", "backup_stale"]);
    assert!(home.contains("O último backup falhou"), "{home}");
    let bk = crate::backups::api_backup(&s.api(&s.token().await)).await;
    assert_eq!(bk["status"], "succeeded", "{bk}");
    assert!(attention(&b.get("/admin").await.body).is_empty());
}
