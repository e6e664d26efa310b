//! Tenant isolation and roles: a company admin of A using B's ids gets 404 and changes
//! nothing; a company user cannot do what only a company admin may.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, Server};

const PW: &str = "senha da empresa bem longa";

struct World {
    s: Server,
    a: String,
    b: String,
    a_admin: String,
    a_user: String,
    b_user: String,
    b_invitation: String,
}

async fn login_api(s: &Server, email: &str) -> Api {
    s.api_as(email, PW).await
}

async fn world() -> World {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let mut ids = Vec::new();
    for (name, cnpj) in [
        ("Empresa A Ltda", "11222333000181"),
        ("Empresa B Ltda", "12ABC34501DE35"),
    ] {
        let (st, c) = owner
            .post(
                "/api/v1/companies",
                json!({"legal_name": name, "cnpj": cnpj}),
            )
            .await;
        assert_eq!(st, 201);
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    let (a, b) = (ids[0].clone(), ids[1].clone());
    let user = |company: &str, email: &str, role: &str| {
        let (owner, company, email, role) = (
            &owner,
            company.to_string(),
            email.to_string(),
            role.to_string(),
        );
        async move {
            let (st, u) = owner
                .post(
                    &format!("/api/v1/companies/{company}/users"),
                    json!({"name": email, "email": email, "role": role, "password": PW}),
                )
                .await;
            assert_eq!(st, 201, "{u}");
            u["id"].as_str().unwrap().to_string()
        }
    };
    let a_admin = user(&a, "admin@a.com.br", "company_admin").await;
    let a_user = user(&a, "user@a.com.br", "company_user").await;
    let b_user = user(&b, "user@b.com.br", "company_user").await;
    let (st, _) = owner
        .send(Method::PUT, &format!("/api/v1/companies/{b}/omie-credentials"), Some(json!({"app_key": "1724630275368", "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"})))
        .await;
    assert_eq!(st, 200);
    let (st, inv) = owner
        .post(
            &format!("/api/v1/companies/{b}/users"),
            json!({"email": "convidado@b.com.br"}),
        )
        .await;
    assert_eq!(st, 202, "{inv}");
    let b_invitation = inv["invitation_id"].as_str().unwrap().to_string();
    World {
        s,
        a,
        b,
        a_admin,
        a_user,
        b_user,
        b_invitation,
    }
}

fn snapshot(s: &Server) -> Vec<String> {
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let mut out = Vec::new();
    for q in [
        "SELECT id || status || role || name FROM users ORDER BY id",
        "SELECT id || status || contact_name || email || phone FROM companies ORDER BY id",
        "SELECT company_id || app_key_sealed || app_secret_sealed FROM omie_credentials",
        "SELECT id || COALESCE(revoked_at, '') || expires_at FROM invitations",
        "SELECT id || status FROM backups",
    ] {
        let mut st = db.prepare(q).unwrap();
        out.extend(
            st.query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(Result::unwrap),
        );
    }
    out
}

#[tokio::test]
async fn a_company_admin_of_a_cannot_touch_b_through_the_api() {
    let w = world().await;
    // A backup exists: its history and its file are the platform's, not a company's.
    let owner = w.s.api(&w.s.token().await);
    let bk = crate::backups::api_backup(&owner).await;
    let bk = bk["id"].as_str().unwrap().to_string();
    let before = snapshot(&w.s);
    let api = login_api(&w.s, "admin@a.com.br").await;
    let (b, bu) = (&w.b, &w.b_user);
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/backups".to_string(), None),
        (Method::POST, "/api/v1/backups".to_string(), Some(json!({}))),
        (Method::GET, format!("/api/v1/backups/{bk}"), None),
        (Method::GET, format!("/api/v1/companies/{b}"), None),
        (
            Method::PATCH,
            format!("/api/v1/companies/{b}"),
            Some(json!({"phone": "11912345678"})),
        ),
        (Method::DELETE, format!("/api/v1/companies/{b}"), None),
        (
            Method::GET,
            format!("/api/v1/companies/{b}/omie-credentials"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/companies/{b}/omie-credentials?reveal=true"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/companies/{b}/omie-credentials"),
            Some(
                json!({"app_key": "1560731700", "app_secret": "fed2aa00bb11cc22dd33ee44ff556677"}),
            ),
        ),
        (
            Method::POST,
            format!("/api/v1/companies/{b}/omie-credentials/test"),
            Some(json!({})),
        ),
        (Method::GET, format!("/api/v1/companies/{b}/users"), None),
        (
            Method::POST,
            format!("/api/v1/companies/{b}/users"),
            Some(json!({"email": "x@b.com.br", "name": "X", "password": PW})),
        ),
        (
            Method::POST,
            format!("/api/v1/companies/{b}/users"),
            Some(json!({"email": "y@b.com.br"})),
        ),
        (Method::GET, format!("/api/v1/users/{bu}"), None),
        (
            Method::PATCH,
            format!("/api/v1/users/{bu}"),
            Some(json!({"role": "company_admin"})),
        ),
        (Method::DELETE, format!("/api/v1/users/{bu}"), None),
        (
            Method::POST,
            format!("/api/v1/users/{bu}/approve"),
            Some(json!({})),
        ),
    ];
    for (m, path, body) in calls {
        let (st, p) = api.send(m.clone(), &path, body).await;
        assert_eq!(st, 404, "{m} {path}: {p}");
    }
    let (_, list) = api.get("/api/v1/companies").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [w.a.as_str()]);
    let (_, audit) = api.get("/api/v1/audit?limit=200").await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["company_id"] == w.a.as_str()),
        "only A's history"
    );
    let (_, audit_b) = api.get(&format!("/api/v1/audit?company_id={b}")).await;
    assert!(
        audit_b["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["company_id"] == w.a.as_str())
    );
    assert_eq!(snapshot(&w.s), before, "nothing changed");
    // Their own company answers; its registry data stays the owner's.
    let (st, _) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/companies/{}", w.a),
            Some(json!({"legal_name": "Outro Nome Ltda"})),
        )
        .await;
    assert_eq!(st, 403);
    let (st, c) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/companies/{}", w.a),
            Some(json!({"phone": "(11) 3123-4567"})),
        )
        .await;
    assert_eq!(
        (st, c["legal_name"].as_str()),
        (200, Some("Empresa A Ltda"))
    );
    assert_eq!(
        api.get(&format!("/api/v1/companies/{}/users", w.a)).await.0,
        200
    );
    assert_eq!(api.get(&format!("/api/v1/users/{}", w.a_user)).await.0, 200);
}

#[tokio::test]
async fn a_company_admin_of_a_cannot_touch_b_through_the_portal() {
    let w = world().await;
    let before = snapshot(&w.s);
    let browser = w.s.browser();
    browser.login_to("admin@a.com.br", PW, "/portal").await;
    let csrf = browser.get("/portal").await.csrf();
    for action in ["disable", "enable", "role", "send-reset", "approve"] {
        let p = browser
            .post(
                &format!("/portal/users/{}/{action}", w.b_user),
                &[("csrf_token", &csrf), ("role", "company_admin")],
            )
            .await;
        assert_eq!(
            p.status,
            404,
            "{action}: {}",
            p.location.unwrap_or_default()
        );
    }
    for action in ["resend", "revoke"] {
        let p = browser
            .post(
                &format!("/portal/invitations/{}/{action}", w.b_invitation),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(p.status, 404, "invitation {action}");
    }
    // The admin area is not theirs, not even with B's ids.
    let p = browser.get(&format!("/admin/companies/{}/omie", w.b)).await;
    assert_eq!(p.location.as_deref(), Some("/portal"));
    let omie = browser.get("/portal/omie").await;
    assert!(
        omie.body.contains("ainda não tem credenciais"),
        "A's page, not B's"
    );
    assert!(
        !browser
            .get("/portal/users")
            .await
            .body
            .contains("user@b.com.br")
    );
    assert_eq!(snapshot(&w.s), before, "nothing changed");
}

#[tokio::test]
async fn a_company_user_cannot_do_what_only_an_admin_may() {
    let w = world().await;
    let before = snapshot(&w.s);
    let api = login_api(&w.s, "user@a.com.br").await;
    let a = &w.a;
    assert_eq!(
        api.get(&format!("/api/v1/companies/{a}")).await.0,
        200,
        "reads its company"
    );
    assert_eq!(
        api.get(&format!("/api/v1/users/{}", w.a_user)).await.0,
        200,
        "reads itself"
    );
    for (m, path, body) in [
        (Method::GET, "/api/v1/audit".to_string(), None),
        (
            Method::GET,
            format!("/api/v1/companies/{a}/omie-credentials"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/companies/{a}/omie-credentials"),
            Some(
                json!({"app_key": "1560731700", "app_secret": "fed2aa00bb11cc22dd33ee44ff556677"}),
            ),
        ),
        (Method::GET, format!("/api/v1/companies/{a}/users"), None),
        (
            Method::PATCH,
            format!("/api/v1/companies/{a}"),
            Some(json!({"phone": "11912345678"})),
        ),
    ] {
        let (st, p) = api.send(m.clone(), &path, body).await;
        assert_eq!(st, 403, "{m} {path}: {p}");
    }
    for (m, path, body) in [
        (
            Method::POST,
            format!("/api/v1/companies/{a}/users"),
            Some(json!({"email": "z@a.com.br", "name": "Z", "password": PW})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", w.a_admin),
            Some(json!({"role": "company_user"})),
        ),
        (Method::DELETE, format!("/api/v1/users/{}", w.a_admin), None),
    ] {
        let (st, p) = api.send(m.clone(), &path, body).await;
        assert!(st == 403 || st == 404, "{m} {path}: {st} {p}");
    }
    let browser = w.s.browser();
    browser.login_to("user@a.com.br", PW, "/portal").await;
    assert_eq!(browser.get("/portal/users").await.status, 404);
    assert_eq!(browser.get("/portal/omie").await.status, 403);
    let csrf = browser.get("/portal").await.csrf();
    let p = browser
        .post(
            "/portal/company",
            &[("csrf_token", &csrf), ("contact_name", "Invasor")],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = browser
        .post(
            &format!("/portal/users/{}/disable", w.a_admin),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(p.status, 404);
    assert!(
        !browser
            .get("/portal")
            .await
            .body
            .contains("Credenciais do Omie</a>"),
        "no link to what they may not do"
    );
    assert_eq!(snapshot(&w.s), before, "nothing changed");
}

#[tokio::test]
async fn the_company_admin_keeps_contacts_people_and_own_account() {
    let w = world().await;
    let admin = w.s.browser();
    admin.login_to("admin@a.com.br", PW, "/portal").await;
    // Contact fields only: the legal name stays.
    let r = admin
        .submit(
            "/portal",
            "/portal/company",
            &[
                ("contact_name", "Ana Souza"),
                ("email", "contato@a.com.br"),
                ("phone", "(11) 3123-4567"),
                ("legal_name", "Outro Nome"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let home = admin.get("/portal").await.body;
    assert!(
        home.contains("Ana Souza")
            && home.contains("(11) 3123-4567")
            && home.contains("Empresa A Ltda")
    );
    let bad = admin
        .submit(
            "/portal",
            "/portal/company",
            &[
                ("contact_name", "Ana"),
                ("email", "sem-arroba"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("E-mail inválido") && bad.body.contains("sem-arroba"));

    // People: promote, disable, invite.
    admin
        .submit(
            "/portal/users",
            &format!("/portal/users/{}/role", w.a_user),
            &[("role", "company_admin")],
        )
        .await;
    assert!(
        admin
            .get("/portal/users")
            .await
            .body
            .contains("Tornar usuário comum")
    );
    admin
        .submit(
            "/portal/users",
            &format!("/portal/users/{}/disable", w.a_user),
            &[("confirm", "sim")],
        )
        .await;
    assert!(admin.get("/portal/users").await.body.contains("Desativado"));
    admin
        .submit(
            "/portal/users",
            "/portal/invitations",
            &[("email", "novo@a.com.br"), ("role", "company_user")],
        )
        .await;
    assert!(
        admin
            .get("/portal/users")
            .await
            .body
            .contains("novo@a.com.br")
    );

    // Own account: two sessions; ending the others keeps this one.
    let other = w.s.browser();
    other.login_to("admin@a.com.br", PW, "/portal").await;
    let profile = admin.get("/portal/profile").await.body;
    assert_eq!(
        profile.matches(" · entrou em ").count(),
        2,
        "two sessions listed"
    );
    admin
        .submit(
            "/portal/profile",
            "/portal/profile/sessions/end-others",
            &[],
        )
        .await;
    assert_eq!(
        other.get("/portal").await.location.as_deref(),
        Some("/login")
    );
    assert_eq!(admin.get("/portal").await.status, 200);

    // Changing the password ends other sessions too.
    let third = w.s.browser();
    third.login_to("admin@a.com.br", PW, "/portal").await;
    let wrong = admin
        .submit(
            "/portal/profile",
            "/portal/profile/password",
            &[
                ("current_password", "errada errada errada"),
                ("password", "nova senha muito boa"),
                ("password_confirm", "nova senha muito boa"),
            ],
        )
        .await;
    assert!(wrong.body.contains("A senha atual não confere"));
    let ok = admin
        .submit(
            "/portal/profile",
            "/portal/profile/password",
            &[
                ("current_password", PW),
                ("password", "nova senha muito boa"),
                ("password_confirm", "nova senha muito boa"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    assert_eq!(
        third.get("/portal").await.location.as_deref(),
        Some("/login")
    );
    assert_eq!(admin.get("/portal").await.status, 200, "this session stays");
}
