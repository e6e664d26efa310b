//! Applications: client credentials, links and scopes, rotation with overlap,
//! revocation, expiry and unlinking, all over HTTP.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, Server};

async fn grant(s: &Server, form: &[(&str, &str)]) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

async fn token(s: &Server, client_id: &str, secret: &str) -> Api {
    let (st, v, _) = grant(
        s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(st, 200, "{v}");
    s.api(v["access_token"].as_str().unwrap())
}

fn sql_one(s: &Server, q: &str) -> String {
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(q, [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn the_whole_application_flow() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, a) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Empresa A Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let (_, b) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Empresa B Ltda", "cnpj": "12ABC34501DE35"}),
        )
        .await;
    let (a, b) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    owner
        .send(Method::PUT, &format!("/api/v1/companies/{a}/omie-credentials"), Some(json!({"app_key": "1724630275368", "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"})))
        .await;

    let (st, app) = owner
        .post(
            "/api/v1/applications",
            json!({"name": "Robô de notas", "description": "Emite NF-e"}),
        )
        .await;
    assert_eq!(st, 201, "{app}");
    let (app_id, client_id) = (
        app["id"].as_str().unwrap().to_string(),
        app["client_id"].as_str().unwrap().to_string(),
    );
    let secret1 = app["client_secret"].as_str().unwrap().to_string();
    assert!(secret1.len() >= 40, "at least 128 random bits");
    let (_, shown) = owner.get(&format!("/api/v1/applications/{app_id}")).await;
    assert!(
        shown.get("client_secret").is_none(),
        "GET never shows a secret"
    );
    assert!(
        !sql_one(
            &s,
            "SELECT group_concat(secret_hash) FROM application_secrets"
        )
        .contains(&secret1),
        "stored hashed"
    );

    // RFC 6749 errors.
    let (st, v, h) = grant(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", "errado"),
        ],
    )
    .await;
    assert_eq!((st, v["error"].as_str()), (401, Some("invalid_client")));
    assert!(h.get("www-authenticate").is_some());
    let (st, v, _) = grant(
        &s,
        &[("client_id", &client_id), ("client_secret", &secret1)],
    )
    .await;
    assert_eq!((st, v["error"].as_str()), (400, Some("invalid_request")));
    let (st, v, _) = grant(
        &s,
        &[
            ("grant_type", "password"),
            ("client_id", &client_id),
            ("client_secret", &secret1),
        ],
    )
    .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (st, v, _) = grant(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret1),
            ("scope", "admin"),
        ],
    )
    .await;
    assert_eq!((st, v["error"].as_str()), (400, Some("invalid_scope")));

    // JSON body and HTTP Basic work too.
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .basic_auth(&client_id, Some(&secret1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["token_type"].as_str(), v["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );

    // Unlinked: nothing visible.
    let app1 = token(&s, &client_id, &secret1).await;
    let (_, list) = app1.get("/api/v1/companies").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    assert_eq!(app1.get(&format!("/api/v1/companies/{a}")).await.0, 404);

    // Linked to A for companies:read only.
    let (st, l) = owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{a}/applications/{app_id}"),
            Some(json!({"scopes": ["companies:read"]})),
        )
        .await;
    assert_eq!(st, 200, "{l}");
    let (_, list) = app1.get("/api/v1/companies").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str()]);
    assert_eq!(app1.get(&format!("/api/v1/companies/{a}")).await.0, 200);
    assert_eq!(app1.get(&format!("/api/v1/companies/{b}")).await.0, 404);
    assert_eq!(
        app1.get(&format!("/api/v1/companies/{a}/omie-credentials"))
            .await
            .0,
        403,
        "missing scope"
    );

    // With omie_credentials:read, the credentials in clear, and an audit row.
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{a}/applications/{app_id}"),
            Some(json!({"scopes": ["companies:read", "omie_credentials:read"]})),
        )
        .await;
    let (st, creds) = app1
        .get(&format!("/api/v1/companies/{a}/omie-credentials"))
        .await;
    assert_eq!(st, 200);
    assert_eq!(creds["app_secret"], "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a");
    // The owner stored them: an application sees the platform's team, not an e-mail.
    assert!(
        creds["updated_by"]
            .as_str()
            .is_some_and(|by| by.starts_with("Equipe ")),
        "{creds}"
    );
    let (_, audit) = owner
        .get(&format!(
            "/api/v1/audit?company_id={a}&action=omie_credentials.read"
        ))
        .await;
    let row = &audit["items"][0];
    assert_eq!(
        (row["actor_type"].as_str(), row["actor_id"].as_str()),
        (Some("application"), Some(app_id.as_str()))
    );
    let (_, issued) = owner
        .get("/api/v1/audit?action=application.token_issue")
        .await;
    assert!(
        issued["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor_id"] == app_id.as_str()),
        "a token issue is in the trail: {issued}"
    );
    // Reading the credentials is not replacing or testing them.
    let (st, _) = app1
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{a}/omie-credentials"),
            Some(
                json!({"app_key": "1560731700", "app_secret": "fed2aa00bb11cc22dd33ee44ff556677"}),
            ),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = app1
        .post(
            &format!("/api/v1/companies/{a}/omie-credentials/test"),
            json!({}),
        )
        .await;
    assert_eq!(st, 403);
    let (_, creds) = app1
        .get(&format!("/api/v1/companies/{a}/omie-credentials"))
        .await;
    assert_eq!(creds["app_secret"], "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a");
    // Without companies:read the company is not in the app's list either.
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{a}/applications/{app_id}"),
            Some(json!({"scopes": ["omie_credentials:read"]})),
        )
        .await;
    let (_, list) = app1.get("/api/v1/companies").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{a}/applications/{app_id}"),
            Some(json!({"scopes": ["companies:read", "omie_credentials:read"]})),
        )
        .await;
    // Apps do only what their links allow.
    assert_eq!(
        app1.post(
            "/api/v1/companies",
            json!({"legal_name": "X", "cnpj": "00000000000191"})
        )
        .await
        .0,
        403
    );
    assert_eq!(app1.get("/api/v1/audit").await.0, 403);
    assert_eq!(app1.get("/api/v1/applications").await.0, 404);
    assert_eq!(
        app1.send(
            Method::PATCH,
            &format!("/api/v1/companies/{a}"),
            Some(json!({"phone": "11912345678"}))
        )
        .await
        .0,
        403
    );

    // Rotation with overlap: both secrets work until the old one is revoked.
    let (st, rotated) = owner
        .post(
            &format!("/api/v1/applications/{app_id}/rotate-secret"),
            json!({}),
        )
        .await;
    assert_eq!(st, 200);
    let secret2 = rotated["client_secret"].as_str().unwrap().to_string();
    let app2 = token(&s, &client_id, &secret2).await;
    assert_eq!(
        app1.get(&format!("/api/v1/companies/{a}")).await.0,
        200,
        "old token still works"
    );
    assert_eq!(
        owner
            .post(
                &format!("/api/v1/applications/{app_id}/rotate-secret"),
                json!({})
            )
            .await
            .0,
        422,
        "two at most"
    );
    let (_, shown) = owner.get(&format!("/api/v1/applications/{app_id}")).await;
    let secrets = shown["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert!(
        secrets[0]["last_used_at"].is_string(),
        "each secret shows when it was last used"
    );
    let old_secret_id = secrets[0]["id"].as_str().unwrap().to_string();
    let (st, _) = owner
        .send(
            Method::DELETE,
            &format!("/api/v1/applications/{app_id}/secrets/{old_secret_id}"),
            None,
        )
        .await;
    assert_eq!(st, 204);
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    assert_eq!(
        app1.get(&format!("/api/v1/companies/{a}")).await.0,
        401,
        "a token of a revoked secret stops at once"
    );
    assert_eq!(app2.get(&format!("/api/v1/companies/{a}")).await.0, 200);
    let (st, _, _) = grant(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret1),
        ],
    )
    .await;
    assert_eq!(st, 401, "the revoked secret cannot get new tokens");

    // Expiry.
    let app3 = token(&s, &client_id, &secret2).await;
    db.execute("UPDATE app_tokens SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE revoked_at IS NULL AND token_hash = (SELECT token_hash FROM app_tokens ORDER BY created_at DESC LIMIT 1)", []).unwrap();
    assert_eq!(
        app3.get(&format!("/api/v1/companies/{a}")).await.0,
        401,
        "expired"
    );

    // Unlinking stops access at once; archiving hides the company; revoking ends all.
    assert_eq!(
        owner
            .send(
                Method::DELETE,
                &format!("/api/v1/companies/{a}/applications/{app_id}"),
                None
            )
            .await
            .0,
        204
    );
    assert_eq!(app2.get(&format!("/api/v1/companies/{a}")).await.0, 404);
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{b}/applications/{app_id}"),
            Some(json!({"scopes": ["companies:read"]})),
        )
        .await;
    assert_eq!(app2.get(&format!("/api/v1/companies/{b}")).await.0, 200);
    owner
        .send(Method::DELETE, &format!("/api/v1/companies/{b}"), None)
        .await;
    assert_eq!(
        app2.get(&format!("/api/v1/companies/{b}")).await.0,
        404,
        "archived"
    );
    assert_eq!(
        owner
            .send(
                Method::DELETE,
                &format!("/api/v1/applications/{app_id}"),
                None
            )
            .await
            .0,
        204
    );
    assert_eq!(app2.get("/api/v1/companies").await.0, 401, "revoked app");
    let (st, _, _) = grant(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret2),
        ],
    )
    .await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn repeated_bad_secrets_are_throttled() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, app) = owner
        .post("/api/v1/applications", json!({"name": "Teste"}))
        .await;
    let client_id = app["client_id"].as_str().unwrap();
    for _ in 0..5 {
        let (st, _, _) = grant(
            &s,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", "errado"),
            ],
        )
        .await;
        assert_eq!(st, 401);
    }
    let (st, _, h) = grant(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", app["client_secret"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(st, 429);
    assert!(h.get("retry-after").is_some());
}

#[tokio::test]
async fn the_dashboard_and_the_portal_manage_applications() {
    let s = Server::start();
    s.create_owner();
    let owner_api = s.api(&s.token().await);
    let (_, a) = owner_api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Empresa A Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let a = a["id"].as_str().unwrap().to_string();
    owner_api
        .send(Method::PUT, &format!("/api/v1/companies/{a}/omie-credentials"), Some(json!({"app_key": "1724630275368", "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"})))
        .await;
    owner_api
        .post(&format!("/api/v1/companies/{a}/users"), json!({"email": "admin@a.com.br", "name": "Admin A", "role": "company_admin", "password": "senha da empresa bem longa"}))
        .await;

    let owner = s.browser();
    owner
        .login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;
    let created = owner
        .submit(
            "/admin/applications",
            "/admin/applications",
            &[("name", "Robô de notas"), ("description", "NF-e")],
        )
        .await;
    assert_eq!(created.status, 303);
    let created = owner.get(created.location.as_deref().unwrap()).await;
    assert_eq!(created.status, 200);
    assert!(created.body.contains("aparece só desta vez") && created.body.contains("data-copy"));
    let grab = |body: &str, id: &str| {
        let start = body.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
        body[start..start + body[start..].find('<').unwrap()].to_string()
    };
    let (client_id, secret) = (
        grab(&created.body, "client-id"),
        grab(&created.body, "client-secret"),
    );
    let app_id = sql_one(&s, "SELECT id FROM applications");
    let page = format!("/admin/applications/{app_id}");
    assert!(
        !owner.get(&page).await.body.contains(&secret),
        "shown once only"
    );

    // Link by CNPJ with two scopes (a repeated form field).
    let csrf = owner.get(&page).await.csrf();
    let r = owner
        .http
        .post(s.url(&format!("{page}/link")))
        .header("Origin", &s.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={csrf}&cnpj=11.222.333%2F0001-81&scopes=companies%3Aread&scopes=omie_credentials%3Aread"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let shown = owner.get(&page).await.body;
    assert!(
        shown.contains("Ler os dados cadastrais da empresa")
            && shown.contains("Ler as credenciais do Omie da empresa")
            && shown.contains("Empresa A Ltda"),
        "{shown}"
    );

    let app = token(&s, &client_id, &secret).await;
    assert_eq!(
        app.get(&format!("/api/v1/companies/{a}/omie-credentials"))
            .await
            .0,
        200
    );

    // The company admin sees who reaches the company and when credentials were read.
    let admin = s.browser();
    admin
        .login_to("admin@a.com.br", "senha da empresa bem longa", "/portal")
        .await;
    let apps = admin.get("/portal/applications").await.body;
    assert!(
        apps.contains("Robô de notas") && apps.contains("Ler as credenciais do Omie da empresa")
    );
    assert!(!apps.contains(">nunca</td>"), "the read is shown");
    admin
        .submit(
            "/portal/applications",
            &format!("/portal/applications/{app_id}/unlink"),
            &[("confirm", "sim")],
        )
        .await;
    assert_eq!(
        app.get(&format!("/api/v1/companies/{a}")).await.0,
        404,
        "unlinked by the company"
    );

    // Rotate on the page (new secret shown once), revoke the old, revoke the app.
    let rotated = owner.submit(&page, &format!("{page}/rotate"), &[]).await;
    let rotated = owner.get(rotated.location.as_deref().unwrap()).await;
    assert!(rotated.body.contains("aparece só desta vez"));
    let secret2 = grab(&rotated.body, "client-secret");
    assert_ne!(secret, secret2);
    let old_id = sql_one(
        &s,
        "SELECT id FROM application_secrets ORDER BY created_at LIMIT 1",
    );
    owner
        .submit(
            &page,
            &format!("{page}/revoke-secret"),
            &[("target", &old_id)],
        )
        .await;
    let (st, _, _) = grant(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(st, 401);
    let app2 = token(&s, &client_id, &secret2).await;
    owner.submit(&page, &format!("{page}/revoke"), &[]).await;
    assert_eq!(app2.get("/api/v1/companies").await.0, 401);
    assert!(
        owner
            .get("/admin/applications")
            .await
            .body
            .contains("Revogada")
    );
}

#[tokio::test]
async fn the_company_sees_each_credential_read_in_its_history() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, a) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Empresa A Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let a = a["id"].as_str().unwrap().to_string();
    owner.send(Method::PUT, &format!("/api/v1/companies/{a}/omie-credentials"), Some(json!({"app_key": "1724630275368", "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"}))).await;
    owner.post(&format!("/api/v1/companies/{a}/users"), json!({"email": "admin@a.com.br", "name": "Admin A", "role": "company_admin", "password": "senha da empresa bem longa"})).await;
    let (_, app) = owner
        .post("/api/v1/applications", json!({"name": "Robô"}))
        .await;
    let app_id = app["id"].as_str().unwrap();
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{a}/applications/{app_id}"),
            Some(json!({"scopes": ["omie_credentials:read"]})),
        )
        .await;
    let api = token(
        &s,
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        api.get(&format!("/api/v1/companies/{a}/omie-credentials"))
            .await
            .0,
        200
    );
    let admin = s.browser();
    admin
        .login_to("admin@a.com.br", "senha da empresa bem longa", "/portal")
        .await;
    let history = admin.get("/portal/history").await.body;
    assert!(
        history.contains(r#"data-action="omie_credentials.read""#)
            && history.contains("Credenciais do Omie lidas por aplicação")
            && !history.contains(app["client_id"].as_str().unwrap()),
        "{history}"
    );
    // The owner renames the app on its page.
    let b = s.browser();
    b.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;
    let page = format!("/admin/applications/{app_id}");
    b.submit(
        &page,
        &format!("{page}/edit"),
        &[("name", "Robô de boletos"), ("description", "Boletos")],
    )
    .await;
    assert!(b.get(&page).await.body.contains("Robô de boletos"));
}

/// DESIGN §4: archiving a company revokes its links and tokens. Reactivating it must not
/// silently give applications (or old tokens) their access back.
#[tokio::test]
async fn archiving_revokes_links_and_tokens_and_reactivating_restores_none() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, a) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Empresa A Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let a = a["id"].as_str().unwrap().to_string();
    let (st, _) = owner
        .post(
            &format!("/api/v1/companies/{a}/users"),
            json!({"email": "ana@a.com.br", "name": "Ana", "role": "company_admin",
                   "password": "cavalo bateria grampo azul"}),
        )
        .await;
    assert_eq!(st, 201);
    let ana = s.api_as("ana@a.com.br", "cavalo bateria grampo azul").await;
    let (_, app) = owner
        .post("/api/v1/applications", json!({"name": "Robô"}))
        .await;
    let app_id = app["id"].as_str().unwrap().to_string();
    let robot = token(
        &s,
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap(),
    )
    .await;
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{a}/applications/{app_id}"),
            Some(json!({"scopes": ["companies:read"]})),
        )
        .await;
    assert_eq!(robot.get(&format!("/api/v1/companies/{a}")).await.0, 200);
    assert_eq!(ana.get(&format!("/api/v1/companies/{a}")).await.0, 200);

    let (st, _) = owner
        .send(Method::DELETE, &format!("/api/v1/companies/{a}"), None)
        .await;
    assert_eq!(st, 204);
    let links: i64 = sql_one(&s, "SELECT CAST(count(*) AS TEXT) FROM application_links")
        .parse()
        .unwrap();
    assert_eq!(links, 0, "archiving removes the links");
    let detail = sql_one(
        &s,
        "SELECT details FROM audit_log WHERE action = 'company.archive'",
    );
    assert!(
        detail.contains(&app_id),
        "the audit row says which: {detail}"
    );

    let (st, _) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/companies/{a}"),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        robot.get(&format!("/api/v1/companies/{a}")).await.0,
        404,
        "reactivating does not give the application its access back"
    );
    assert_eq!(
        ana.get(&format!("/api/v1/companies/{a}")).await.0,
        401,
        "tokens from before the archive stay revoked"
    );
}

/// A JSON body must be an object: serde would read a struct from an array too, so `[]`
/// was a PATCH that changed nothing and `["x"]` an application named "x".
#[tokio::test]
async fn array_bodies_are_refused() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, app) = owner
        .post("/api/v1/applications", json!({"name": "Robô"}))
        .await;
    let id = app["id"].as_str().unwrap();
    let (st, p) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/applications/{id}"),
            Some(json!([])),
        )
        .await;
    assert_eq!(st, 400, "{p}");
    let (st, p) = owner.post("/api/v1/applications", json!(["x"])).await;
    assert_eq!(st, 400, "{p}");
    assert_eq!(p["status"], 400);
}

/// Issue 14: a token's key in the database opens with its issue time, so new keys go at
/// the end of the index; a token issued before that format still works until it expires,
/// and ends with `/auth/logout` as any other.
#[tokio::test]
async fn token_keys_grow_with_time_and_tokens_of_the_old_format_still_work() {
    use sha2::Digest;
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, app) = owner
        .post("/api/v1/applications", json!({"name": "Robô"}))
        .await;
    let (client_id, secret) = (
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap(),
    );
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let t = token(&s, client_id, secret).await.token;
        bodies.push(t.strip_prefix("oat_").unwrap().to_string());
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    let sha = |b: &str| hex::encode(sha2::Sha256::digest(b.as_bytes()));
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let keys: Vec<String> = db
        .prepare("SELECT token_hash FROM app_tokens ORDER BY token_hash")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<String> = bodies
        .iter()
        .map(|b| format!("{}{}", &b[..11], sha(b)))
        .collect();
    assert_eq!(
        keys, expected,
        "keys in issue order, time part then SHA-256"
    );
    let ms = i64::from_str_radix(&bodies[0][..11], 16).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((now - ms).abs() < 60_000, "the time part is the issue time");

    // A token as issued before: 43 characters, keyed by its plain SHA-256.
    let old = "Zm9yLXRoZS1vbGQtZm9ybWF0LTI1Ni1iaXRzLW9mLXRva2Vu"[..43].to_string();
    db.execute(
        "INSERT INTO app_tokens (token_hash, application_id, secret_id, scope, created_at, expires_at)
         SELECT ?1, application_id, secret_id, scope, created_at, expires_at FROM app_tokens LIMIT 1",
        [sha(&old)],
    )
    .unwrap();
    let old_api = s.api(&format!("oat_{old}"));
    assert_eq!(old_api.get("/api/v1/companies").await.0, 200);
    let (st, _) = old_api
        .send(Method::POST, "/api/v1/auth/logout", None)
        .await;
    assert_eq!(st, 204);
    assert_eq!(old_api.get("/api/v1/companies").await.0, 401, "ended");
    let new_api = s.api(&format!("oat_{}", bodies[2]));
    assert_eq!(new_api.get("/api/v1/companies").await.0, 200);
}
