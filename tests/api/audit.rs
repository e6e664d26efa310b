//! The audit trail: rows for every change, the API and page filters, tamper detection.

use serde_json::json;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};

#[tokio::test]
async fn changes_logins_and_failures_leave_rows_without_secrets() {
    let s = Server::start();
    s.create_owner();
    let c = reqwest::Client::new();
    c.post(s.url("/api/v1/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": "senha errada demais"}))
        .send()
        .await
        .unwrap();
    let api = s.api(&s.token().await);
    let (_, company) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Auditada Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let id = company["id"].as_str().unwrap();
    api.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/companies/{id}"),
        Some(json!({"trade_name": "Auditada"})),
    )
    .await;

    let (st, page) = api.get("/api/v1/audit?limit=50").await;
    assert_eq!(st, 200);
    let items = page["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "user.create",
        "auth.login_failed",
        "auth.login",
        "company.create",
        "company.update",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let update = items
        .iter()
        .find(|e| e["action"] == "company.update")
        .unwrap();
    assert_eq!(update["details"]["changed"]["trade_name"]["to"], "Auditada");
    assert_eq!(update["company_id"], id);
    assert_eq!(update["actor_type"], "user");
    assert!(update["ip"].as_str().unwrap().starts_with("127.0.0.1"));
    let all = page.to_string();
    assert!(
        !all.contains(OWNER_PASSWORD) && !all.contains("senha errada demais"),
        "no password in the trail"
    );

    let (_, filtered) = api
        .get(&format!(
            "/api/v1/audit?company_id={id}&action=company.update"
        ))
        .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    let (_, prefixed) = api.get("/api/v1/audit?action=company.*").await;
    assert_eq!(prefixed["items"].as_array().unwrap().len(), 2);
    let (_, future) = api.get("/api/v1/audit?from=2099-01-01T00:00:00Z").await;
    assert!(future["items"].as_array().unwrap().is_empty());

    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = b.get(&format!("/admin/audit?company_id={id}")).await;
    assert!(
        page.body.contains(r#"data-action="company.update""#)
            && page.body.contains(r#"data-action="company.create""#)
    );
    assert!(
        !page.body.contains(r#"data-action="auth.login_failed""#),
        "filtered to the company"
    );
}

#[tokio::test]
async fn audit_verify_catches_a_changed_deleted_or_inserted_row() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    for i in 0..3u64 {
        api.post(
            "/api/v1/companies",
            json!({"legal_name": format!("E{i}"), "cnpj": crate::common::cnpj_from(i + 7)}),
        )
        .await;
    }
    let ok = s.cli(&["audit", "verify"], None);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));

    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let tamper = |sql: &str| {
        db.execute_batch("BEGIN").unwrap();
        db.execute_batch(sql).unwrap();
        db.execute_batch("COMMIT").unwrap();
        let out = s.cli(&["audit", "verify"], None);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.code(), err)
    };
    let backup: Vec<(i64, String)> = {
        let mut st = db
            .prepare("SELECT id, details FROM audit_log ORDER BY id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let (code, err) = tamper(
        "UPDATE audit_log SET details = '{\"fields\":{\"legal_name\":\"Outra\"}}' WHERE id = 3",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("row 3"), "{err}");
    db.execute(
        "UPDATE audit_log SET details = ?1 WHERE id = 3",
        [&backup[2].1],
    )
    .unwrap();
    assert!(
        s.cli(&["audit", "verify"], None).status.success(),
        "restored row verifies again"
    );

    let (code, err) = tamper("DELETE FROM audit_log WHERE id = 2");
    assert_eq!(code, Some(1), "{err}");
    let (code, err) = tamper(
        "INSERT INTO audit_log (id, at, actor_type, action, prev_hash, hash) VALUES (2, '2026-01-01T00:00:00.000000Z', 'system', 'company.create', 'x', 'y')",
    );
    assert_eq!(code, Some(1), "{err}");
}

/// Every row a signed-in person's action writes says where the person acted from,
/// pages included (the page handlers used to build some actors without the address).
#[tokio::test]
async fn every_row_of_a_persons_action_carries_the_client_address() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = b
        .submit(
            "/admin/companies/new",
            "/admin/companies",
            &[
                ("legal_name", "Com Endereço Ltda"),
                ("cnpj", "11222333000181"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let company = r.location.unwrap();
    let r = b
        .submit(
            &company,
            &format!("{company}/status"),
            &[("status", "suspended")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = b.submit("/admin/backups", "/admin/backups", &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/test-email",
            &[("to", "x@example.com.br")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let rows: Vec<(String, String)> = db
        .prepare("SELECT action, ip FROM audit_log WHERE actor_type = 'user'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for action in [
        "company.create",
        "company.suspend",
        "backup.start",
        "email.test",
    ] {
        assert!(
            rows.iter().any(|(a, _)| a == action),
            "{action} in {rows:?}"
        );
    }
    let without: Vec<_> = rows.iter().filter(|(_, ip)| ip != "127.0.0.1").collect();
    assert!(without.is_empty(), "rows without the address: {without:?}");
}
