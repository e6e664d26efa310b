//! LGPD (DESIGN.md §8.3): a person's export, requests with deadlines and their e-mails,
//! the owners' reminder, and the audit trail as CSV without personal data.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::Smtp;

const PW: &str = "senha da empresa bem longa";

async fn person(owner: &Api, company: &str, name: &str, email: &str, role: &str) -> String {
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{company}/users"),
            json!({"name": name, "email": email, "role": role, "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

async fn login(s: &Server, email: &str) -> Api {
    s.api_as(email, PW).await
}

async fn company(owner: &Api) -> String {
    let (st, c) = owner
        .post(
            "/api/v1/companies",
            json!({
                "legal_name": "Padaria Pão Quente Ltda",
                "cnpj": "11222333000181",
                "contact_name": "Carla Contato",
                "email": "carla.contato@padaria.com.br",
            }),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

/// E-mail addresses in `text` (the pattern `x@y.z`).
fn emails_in(text: &str) -> Vec<String> {
    let is_part = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let mut found = Vec::new();
    for (i, _) in text.match_indices('@') {
        let local: String = text[..i]
            .chars()
            .rev()
            .take_while(|&c| is_part(c))
            .collect();
        let domain: String = text[i + 1..].chars().take_while(|&c| is_part(c)).collect();
        if !local.is_empty() && domain.contains('.') {
            found.push(format!(
                "{}@{domain}",
                local.chars().rev().collect::<String>()
            ));
        }
    }
    found
}

/// IPv4 addresses in `text` (four groups of 1–3 digits joined by dots), and IPv6
/// loopback.
fn ips_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for run in text.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let parts: Vec<&str> = run.split('.').collect();
        for w in parts.windows(4) {
            if w.iter()
                .all(|p| (1..=3).contains(&p.len()) && p.parse::<u16>().is_ok_and(|n| n < 256))
            {
                found.push(w.join("."));
            }
        }
    }
    if text.contains("::1") {
        found.push("::1".into());
    }
    found
}

#[tokio::test]
async fn the_export_holds_the_persons_data_and_other_people_only_as_pseudonyms() {
    let s = Server::start_with(&[("OTM_OMIE_BASE_URL", "http://127.0.0.1:9/api/v1")]);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let c = company(&owner).await;
    person(
        &owner,
        &c,
        "Ana Administradora",
        "ana@padaria.com.br",
        "company_admin",
    )
    .await;
    let bruno = person(
        &owner,
        &c,
        "Bruno Balconista",
        "bruno@padaria.com.br",
        "company_user",
    )
    .await;
    let ana = login(&s, "ana@padaria.com.br").await;
    // Ana acts on Bruno: an entry about him with another person as its author.
    let (st, _) = ana
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{bruno}"),
            Some(json!({"role": "company_admin"})),
        )
        .await;
    assert_eq!(st, 200);
    // An application reads the company's Omie credentials.
    let (st, _) = owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{c}/omie-credentials"),
            Some(json!({"app_key": "1724630275368", "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, app) = owner
        .post("/api/v1/applications", json!({"name": "Robô Fiscal"}))
        .await;
    assert_eq!(st, 201, "{app}");
    let app_id = app["id"].as_str().unwrap();
    let (st, _) = owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{c}/applications/{app_id}"),
            Some(json!({"scopes": ["omie_credentials:read"]})),
        )
        .await;
    assert!(st == 200 || st == 201);
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("client_secret", app["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let tok: Value = r.json().await.unwrap();
    let robot = s.api(tok["access_token"].as_str().unwrap());
    let (st, _) = robot
        .get(&format!("/api/v1/companies/{c}/omie-credentials"))
        .await;
    assert_eq!(st, 200);

    let me = login(&s, "bruno@padaria.com.br").await;
    let r = reqwest::Client::new()
        .get(s.url("/api/v1/me/export"))
        .bearer_auth(&me.token)
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
    let text = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    for key in [
        "schema_version",
        "exported_at",
        "person",
        "company",
        "sessions",
        "consents",
        "privacy_requests",
        "events",
        "shared_with",
    ] {
        assert!(doc.get(key).is_some(), "{key} missing: {doc:#}");
    }
    // The person's own data is there.
    assert_eq!(doc["person"]["email"], "bruno@padaria.com.br");
    assert_eq!(doc["person"]["name"], "Bruno Balconista");
    assert_eq!(doc["company"]["legal_name"], "Padaria Pão Quente Ltda");
    assert!(!doc["sessions"].as_array().unwrap().is_empty());
    let events = doc["events"].as_array().unwrap();
    let login_event = events
        .iter()
        .find(|e| e["action"] == "auth.login" && e["by_you"] == true)
        .unwrap_or_else(|| panic!("own sign-in: {doc:#}"));
    assert_eq!(login_event["ip"], "127.0.0.1", "own address stays");
    let by_ana = events
        .iter()
        .find(|e| e["action"] == "user.role_change")
        .unwrap_or_else(|| panic!("Ana's change: {doc:#}"));
    let pseudonym = by_ana["by"].as_str().unwrap();
    assert!(pseudonym.starts_with("Pessoa "), "{by_ana}");
    assert_eq!(
        by_ana["ip"], "",
        "another person's address is not the person's"
    );
    // Nobody else is named: not Ana, not the owner, not the company's contact.
    for other in [
        "ana@padaria.com.br",
        "Ana Administradora",
        OWNER_EMAIL,
        "Dona Maria",
        "carla.contato@padaria.com.br",
        "Carla Contato",
    ] {
        assert!(!text.contains(other), "{other} leaked into the export");
    }
    assert_eq!(
        emails_in(&text),
        vec!["bruno@padaria.com.br"; emails_in(&text).len()]
    );
    // Which applications read the company's data, and when.
    let shared = doc["shared_with"].as_array().unwrap();
    assert!(
        shared
            .iter()
            .any(|u| u["application"] == "Robô Fiscal" && u["operation"] == "omie_credentials.read"),
        "{shared:?}"
    );

    // The same person under the same pseudonym in Ana's own export of the same change?
    // Ana is herself there, and Bruno is a pseudonym.
    let (st, ana_doc) = ana.get("/api/v1/me/export").await;
    assert_eq!(st, 200);
    let ana_text = ana_doc.to_string();
    assert!(!ana_text.contains("bruno@padaria.com.br") && !ana_text.contains("Bruno Balconista"));
    assert!(ana_text.contains("ana@padaria.com.br"));

    // Audited, and applications have no "me".
    let (_, trail) = owner.get("/api/v1/audit?action=privacy.export").await;
    let items = trail["items"].as_array().unwrap();
    assert!(
        items.iter().any(|e| e["entity_id"] == bruno.as_str()),
        "{trail}"
    );
    let (st, _) = robot.get("/api/v1/me/export").await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn only_the_owner_exports_another_persons_data() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let c = company(&owner).await;
    let bruno = person(
        &owner,
        &c,
        "Bruno Balconista",
        "bruno@padaria.com.br",
        "company_user",
    )
    .await;
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = b.get(&format!("/admin/users/{bruno}/sessions")).await;
    assert!(
        page.body.contains(&format!("/admin/users/{bruno}/export")),
        "the button"
    );
    let got = b.get(&format!("/admin/users/{bruno}/export")).await;
    assert_eq!(got.status, 200);
    let doc: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(doc["person"]["email"], "bruno@padaria.com.br");
    let (_, trail) = owner.get("/api/v1/audit?action=privacy.export").await;
    assert_eq!(trail["items"][0]["entity_id"], bruno.as_str());
}

#[tokio::test]
async fn a_request_is_opened_mailed_reminded_once_a_day_and_resolved() {
    let smtp = Smtp::start();
    let mut env = Smtp::env(smtp.port);
    // Every open request is "near its deadline", so the reminder job has work at start.
    env.push(("OTM_PRIVACY_REMINDER_DAYS", "15".into()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut s = Server::start_with(&pairs);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let c = company(&owner).await;
    let bruno_id = person(
        &owner,
        &c,
        "Bruno Balconista",
        "bruno@padaria.com.br",
        "company_user",
    )
    .await;
    let bruno = login(&s, "bruno@padaria.com.br").await;

    // Bad kinds are refused.
    let (st, _) = bruno
        .post("/api/v1/me/privacy-requests", json!({"kind": "everything"}))
        .await;
    assert_eq!(st, 422);
    let (st, r) = bruno
        .post(
            "/api/v1/me/privacy-requests",
            json!({"kind": "erasure", "message": "Quero que apaguem meus dados."}),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["status"], "open");
    assert_eq!(r["kind"], "erasure");
    let created = chrono::DateTime::parse_from_rfc3339(r["created_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(r["due_at"].as_str().unwrap()).unwrap();
    assert_eq!((due - created).num_days(), 15, "Art. 19: 15 days");
    let id = r["id"].as_str().unwrap().to_string();
    let opened = smtp
        .wait_for("bruno@padaria.com.br", "Recebemos o seu pedido")
        .await;
    assert!(opened.text.contains("Eliminação"), "{}", opened.text);

    // The job runs shortly after start: one reminder to the owner, then none that day,
    // however often the server starts again.
    s.restart();
    let reminder = smtp.wait_for(OWNER_EMAIL, "perto do prazo").await;
    assert!(
        reminder.text.contains("Bruno Balconista"),
        "{}",
        reminder.text
    );
    assert!(reminder.text.contains("/admin/privacidade"));
    s.restart();
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let reminders = smtp
        .all()
        .into_iter()
        .filter(|m| m.subject.contains("perto do prazo"))
        .count();
    assert_eq!(reminders, 1, "once per request per day");

    // Company people cannot see the queue; the owner can, and staff too.
    let owner = s.api(&s.token().await);
    let bruno = login(&s, "bruno@padaria.com.br").await;
    let (st, _) = bruno.get("/api/v1/privacy/requests").await;
    assert_eq!(st, 404);
    let (st, q) = owner.get("/api/v1/privacy/requests").await;
    assert_eq!(st, 200);
    assert_eq!(q["items"][0]["id"], id.as_str());
    assert_eq!(q["items"][0]["requested_by"]["id"], bruno_id.as_str());

    // Refusing needs a reason.
    let path = format!("/api/v1/privacy/requests/{id}/resolve");
    let (st, e) = owner.post(&path, json!({"outcome": "refused"})).await;
    assert_eq!(st, 422, "{e}");
    let (st, done) = owner
        .post(
            &path,
            json!({"outcome": "refused", "reason": "Há obrigação fiscal de guardar os dados."}),
        )
        .await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["status"], "refused");
    let (st, _) = owner.post(&path, json!({"outcome": "done"})).await;
    assert_eq!(st, 409, "answered once");
    let resolved = smtp
        .wait_for("bruno@padaria.com.br", "foi respondido")
        .await;
    assert!(
        resolved.text.contains("obrigação fiscal"),
        "{}",
        resolved.text
    );

    // All audited.
    let (_, trail) = owner.get("/api/v1/audit?action=privacy.*").await;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "privacy.request_open",
        "privacy.request_reminder",
        "privacy.request_resolve",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn the_anonymized_audit_csv_holds_no_email_or_ip_and_the_clear_one_is_the_owners() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let c = company(&owner).await;
    person(
        &owner,
        &c,
        "Ana Administradora",
        "ana@padaria.com.br",
        "company_admin",
    )
    .await;
    // A failed sign-in: an e-mail and an address in the trail.
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"email": "ana@padaria.com.br", "password": "errada errada errada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    login(&s, "ana@padaria.com.br").await;

    let get = |path: &str, token: &str| {
        reqwest::Client::new()
            .get(s.url(path))
            .bearer_auth(token.to_string())
            .send()
    };
    let r = get(
        "/api/v1/audit/export?format=csv&anonymized=true",
        &owner.token,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let anon = r.text().await.unwrap();
    assert!(anon.lines().count() > 5, "{anon}");
    assert!(anon.starts_with("id,at,actor_type,actor,"), "{anon}");
    assert_eq!(emails_in(&anon), Vec::<String>::new(), "{anon}");
    assert_eq!(ips_in(&anon), Vec::<String>::new(), "{anon}");
    assert!(anon.contains("Pessoa "), "people as pseudonyms");
    // Stable: the same export twice names people the same way.
    let again = get(
        "/api/v1/audit/export?format=csv&anonymized=true",
        &owner.token,
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let actors = |csv: &str| -> Vec<String> {
        csv.lines()
            .filter(|l| l.contains(",auth.login,"))
            .map(|l| l.split(',').nth(3).unwrap().to_string())
            .collect()
    };
    assert_eq!(actors(&anon).last(), actors(&again).last());

    let clear = get(
        "/api/v1/audit/export?format=csv&anonymized=false",
        &owner.token,
    )
    .await
    .unwrap();
    assert_eq!(clear.status(), 200);
    let clear = clear.text().await.unwrap();
    assert!(clear.contains("ana@padaria.com.br") && clear.contains(OWNER_EMAIL));
    assert!(ips_in(&clear).contains(&"127.0.0.1".to_string()));

    // Staff get the anonymized one, never the clear one.
    let staff = person(
        &owner,
        &c,
        "Equipe",
        "equipe@example.com.br",
        "company_user",
    )
    .await;
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "UPDATE users SET role = 'staff', company_id = NULL WHERE id = ?1",
            [&staff],
        )
        .unwrap();
    let staff = login(&s, "equipe@example.com.br").await;
    let r = get(
        "/api/v1/audit/export?format=csv&anonymized=false",
        &staff.token,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = get("/api/v1/audit/export?anonymized=true", &staff.token)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b = s.browser();
    b.login("equipe@example.com.br", PW).await;
    assert_eq!(b.get("/admin/audit.csv?anonymized=false").await.status, 403);
    let page = b.get("/admin/audit").await.body;
    assert!(page.contains("/admin/audit.csv?anonymized=true"));
    assert!(
        !page.contains("anonymized=false"),
        "no clear button for staff"
    );

    // Exports are audited, with which form.
    let (_, trail) = owner.get("/api/v1/audit?action=audit.export").await;
    let items = trail["items"].as_array().unwrap();
    assert!(items.iter().any(|e| e["details"]["anonymized"] == false));
    assert!(items.iter().any(|e| e["details"]["anonymized"] == true));
}

#[tokio::test]
async fn usage_reports_carry_no_personal_data() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let c = company(&owner).await;
    person(
        &owner,
        &c,
        "Ana Administradora",
        "ana@padaria.com.br",
        "company_admin",
    )
    .await;
    let csv = reqwest::Client::new()
        .get(s.url("/api/v1/reports/usage?format=csv"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let header = csv.lines().next().unwrap();
    for personal in ["email", "ip", "user", "name,"] {
        assert!(
            !header
                .split(',')
                .any(|h| h == personal.trim_end_matches(',')),
            "{header}"
        );
    }
    assert!(
        emails_in(&csv).is_empty() && ips_in(&csv).is_empty(),
        "{csv}"
    );
}
