//! Issue 13 item 4: an e-mail for every change, the way each person of the platform
//! wants it (DESIGN §8.4): immediate, in the daily digest, or not at all; never about
//! one's own action; repeats coalesced; `GET/PUT /api/v1/me/notifications`.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, OWNER_EMAIL, Server, cnpj_from};
use crate::smtp::Smtp;

const STAFF: &str = "equipe@example.com.br";
const PW: &str = "cavalo bateria grampo";

/// A server mailing the loopback SMTP server, its owner (API token) and a staff member.
async fn setup(window: &str) -> (Server, Smtp, Api, Api) {
    let smtp = Smtp::start();
    let mut env: Vec<(&str, String)> = Smtp::env(smtp.port);
    env.push(("OTM_NOTIFY_COALESCE_SECS", window.to_string()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = Server::start_with(&pairs);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (st, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Casa da Equipe Ltda", "cnpj": cnpj_from(7)}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{}/users", c["id"].as_str().unwrap()),
            json!({"name": "Ana Equipe", "email": STAFF, "role": "company_user", "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "UPDATE users SET role = 'staff', company_id = NULL WHERE id = ?1",
            [u["id"].as_str().unwrap()],
        )
        .unwrap();
    let staff = s.api_as(STAFF, PW).await;
    (s, smtp, owner, staff)
}

async fn choose(api: &Api, changes: &str) {
    let (st, v) = api
        .send(
            Method::PUT,
            "/api/v1/me/notifications",
            Some(json!({"categories": {"changes": changes}})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["categories"]["changes"], changes);
}

async fn create_company(staff: &Api, name: &str, n: u64) -> String {
    let (st, c) = staff
        .post(
            "/api/v1/companies",
            json!({"legal_name": name, "cnpj": cnpj_from(n)}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

fn mails_to(smtp: &Smtp, to: &str, about: &str) -> Vec<crate::smtp::Mail> {
    smtp.all()
        .into_iter()
        .filter(|m| {
            m.to.iter().any(|t| t == to) && (m.subject.contains(about) || m.text.contains(about))
        })
        .collect()
}

#[tokio::test]
async fn staff_creates_a_company_and_the_owner_who_wants_it_now_gets_one_mail_naming_it() {
    let (s, smtp, owner, staff) = setup("1").await;
    choose(&owner, "immediate").await;
    // The actor wants changes at once too: still nothing about their own action.
    choose(&staff, "immediate").await;
    create_company(&staff, "Padaria Pão Quente Ltda", 11).await;
    let m = smtp.wait_for(OWNER_EMAIL, "Empresa cadastrada").await;
    assert!(m.text.contains("Padaria Pão Quente Ltda"), "{}", m.text);
    assert!(
        m.text.contains("Ana Equipe"),
        "names who did it: {}",
        m.text
    );
    let words = m.text.split("Ver no painel").next().unwrap();
    assert!(!words.contains("cmp_"), "no ids: {}", m.text);
    assert!(
        m.text.contains("/admin/profile/notifications") && m.text.contains("Notificações"),
        "says how to change the choices: {}",
        m.text
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(mails_to(&smtp, OWNER_EMAIL, "Padaria").len(), 1);
    assert!(
        mails_to(&smtp, STAFF, "Padaria").is_empty(),
        "the actor is not mailed"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM outbox WHERE kind = 'notify' AND to_addr = 'equipe@example.com.br'"),
        0
    );
}

#[tokio::test]
async fn with_changes_daily_the_company_arrives_in_the_digest_and_not_before() {
    let (s, smtp, owner, staff) = setup("1").await;
    // The default for changes is the daily digest.
    let (st, v) = owner.get("/api/v1/me/notifications").await;
    assert_eq!(st, 200);
    assert_eq!(
        v,
        json!({"categories": {"security": "immediate", "approvals": "immediate", "changes": "daily", "system": "immediate"}})
    );
    create_company(&staff, "Oficina Roda Viva Ltda", 12).await;
    create_company(&staff, "Mercearia Boa Vista Ltda", 13).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(mails_to(&smtp, OWNER_EMAIL, "Roda Viva").is_empty());
    let out = s.cli(&["notify", "digest"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = smtp.wait_for(OWNER_EMAIL, "Resumo diário").await;
    assert!(m.subject.contains("2 alterações"), "{}", m.subject);
    assert!(m.text.contains("Oficina Roda Viva Ltda"), "{}", m.text);
    assert!(m.text.contains("Mercearia Boa Vista Ltda"), "{}", m.text);
    assert!(
        m.text.contains("/admin/profile/notifications"),
        "{}",
        m.text
    );
    assert!(mails_to(&smtp, STAFF, "Resumo diário").is_empty());
    // Sent once: a second run has nothing left.
    s.cli(&["notify", "digest"], None);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mails_to(&smtp, OWNER_EMAIL, "Resumo diário").len(), 1);
}

#[tokio::test]
async fn with_changes_off_nothing_comes() {
    let (s, smtp, owner, staff) = setup("1").await;
    choose(&owner, "off").await;
    create_company(&staff, "Farmácia Saúde Ltda", 14).await;
    let out = s.cli(&["notify", "digest"], None);
    assert!(out.status.success());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(mails_to(&smtp, OWNER_EMAIL, "Farmácia").is_empty());
    let rows: Vec<String> = {
        let c = rusqlite::Connection::open(s.db_path()).unwrap();
        let mut st = c.prepare("SELECT d.user_id || ' ' || a.action || ' ' || a.actor_label FROM notify_digest d JOIN audit_log a ON a.id = d.audit_id").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert!(rows.is_empty(), "{rows:?}");
    let subjects: Vec<String> = {
        let c = rusqlite::Connection::open(s.db_path()).unwrap();
        let mut st = c
            .prepare("SELECT to_addr || ' ' || subject FROM outbox WHERE kind = 'notify'")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert!(subjects.is_empty(), "{subjects:?}");
}

#[tokio::test]
async fn five_quick_changes_to_one_company_arrive_as_one_mail() {
    let (_s, smtp, owner, staff) = setup("8").await;
    choose(&owner, "immediate").await;
    let id = create_company(&staff, "Livraria Letra Viva Ltda", 15).await;
    for i in 0..5 {
        let (st, v) = staff
            .send(
                Method::PATCH,
                &format!("/api/v1/companies/{id}"),
                Some(json!({"trade_name": format!("Letra Viva {i}")})),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
    let m = smtp.wait_for(OWNER_EMAIL, "Empresa alterada").await;
    assert!(m.subject.contains("5 alterações"), "{}", m.subject);
    assert!(m.text.contains("Letra Viva 4"), "{}", m.text);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(mails_to(&smtp, OWNER_EMAIL, "Empresa alterada").len(), 1);
    assert_eq!(mails_to(&smtp, OWNER_EMAIL, "Empresa cadastrada").len(), 1);
}

#[tokio::test]
async fn preferences_refuse_unknown_categories_and_choices_with_a_problem() {
    let (s, _smtp, owner, _staff) = setup("1").await;
    for (body, field) in [
        (
            json!({"categories": {"weather": "immediate"}}),
            "categories.weather",
        ),
        (
            json!({"categories": {"changes": "weekly"}}),
            "categories.changes",
        ),
        (json!({"categories": {"changes": 3}}), "categories.changes"),
        (json!({"categories": "all"}), "categories"),
        (json!({}), "categories"),
    ] {
        let r = reqwest::Client::new()
            .put(s.url("/api/v1/me/notifications"))
            .bearer_auth(&owner.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{body}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json")
        );
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }
    // Nothing changed by the refusals.
    assert_eq!(
        owner.get("/api/v1/me/notifications").await.1["categories"]["changes"],
        "daily"
    );
    // A partial update keeps the rest.
    let (st, v) = owner
        .send(
            Method::PUT,
            "/api/v1/me/notifications",
            Some(json!({"categories": {"security": "daily", "system": "off"}})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        v["categories"],
        json!({"security": "daily", "approvals": "immediate", "changes": "daily", "system": "off"})
    );
}

/// In a real browser, at 1366 px and at 390 px: the owner opens Minha conta →
/// Notificações, reads what each category holds, and saves a choice.
#[tokio::test]
async fn the_owner_saves_a_choice_on_the_notifications_page_in_a_browser() {
    use crate::browser::{Driver, sign_in};
    let Some(d) = Driver::start().await else {
        return;
    };
    let s = Server::start();
    s.create_owner();
    d.laptop().await;
    sign_in(
        &d,
        &s,
        OWNER_EMAIL,
        crate::common::OWNER_PASSWORD,
        "Visão geral",
    )
    .await;
    d.goto(&s.url("/admin/profile")).await;
    d.wait_for("Abrir Notificações").await;
    d.goto(&s.url("/admin/profile/notifications")).await;
    let page = d.wait_for("Resumo diário").await;
    assert!(page.contains("Segurança") && page.contains("Empresas cadastradas"));
    assert!(page.contains("08:00"), "says when the digest goes");
    assert_eq!(d.overflow().await, None, "fits 1366 px");
    d.click("input[name=changes][value=immediate]").await;
    d.click("main button[type=submit]").await;
    d.wait_for("Preferências de notificação salvas.").await;
    let api = s.api(&s.token().await);
    assert_eq!(
        api.get("/api/v1/me/notifications").await.1["categories"]["changes"],
        "immediate"
    );

    d.phone().await;
    d.goto(&s.url("/admin/profile/notifications")).await;
    d.wait_for("Não receber").await;
    assert_eq!(d.overflow().await, None, "fits 390 px");
    d.tap("input[name=system][value=off]").await;
    d.tap("main button[type=submit]").await;
    d.wait_for("Preferências de notificação salvas.").await;
    let v = api.get("/api/v1/me/notifications").await.1;
    assert_eq!(v["categories"]["system"], "off");
    assert_eq!(
        v["categories"]["changes"], "immediate",
        "the other choices kept"
    );
}
