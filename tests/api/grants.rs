//! Granting rights (platform or company-admin) is as sensitive as revealing a secret: a
//! stale page session must confirm who it is first; plain company users need no step-up.

use std::time::Duration;

use serde_json::json;

use crate::common::{Api, Browser, OWNER_EMAIL, OWNER_PASSWORD, Page, Server};

const PW: &str = "senha longa o bastante";
const CNPJ: &str = "11222333000181";

fn asks_step_up(r: &Page, area: &str) -> bool {
    r.status == 303
        && r.location
            .as_deref()
            .is_some_and(|l| l.starts_with(&format!("/{area}/step-up?next=")))
}

fn one(s: &Server, sql: &str, arg: &str) -> String {
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(sql, [arg], |r| r.get::<_, String>(0))
        .unwrap()
}

fn count(s: &Server, sql: &str, arg: &str) -> i64 {
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(sql, [arg], |r| r.get::<_, i64>(0))
        .unwrap()
}

fn role_of(s: &Server, id: &str) -> String {
    one(s, "SELECT role FROM users WHERE id = ?1", id)
}

fn status_of(s: &Server, id: &str) -> String {
    one(s, "SELECT status FROM users WHERE id = ?1", id)
}

fn invited(s: &Server, email: &str) -> i64 {
    count(
        s,
        "SELECT COUNT(*) FROM invitations WHERE email = ?1",
        email,
    )
}

async fn create_user(owner: &Api, company: &str, email: &str, role: &str) -> String {
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{company}/users"),
            json!({"name": email, "email": email, "role": role, "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

/// A public sign-up for `cnpj`: a pending person (known CNPJ) or a company request.
async fn sign_up(s: &Server, cnpj: &str, email: &str) {
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/signup"))
        .json(&json!({"cnpj": cnpj, "name": "Joana Lima", "email": email, "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

struct World {
    s: Server,
    owner: Api,
    company: String,
}

async fn world() -> World {
    let s = Server::start_with(&[("OTM_STEP_UP_SECONDS", "2")]);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (st, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Pão Quente Ltda", "cnpj": CNPJ}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let company = c["id"].as_str().unwrap().to_string();
    World { s, owner, company }
}

/// Posts `form` to `action` with a token from `page`.
async fn post(br: &Browser, page: &str, action: &str, form: &[(&str, &str)]) -> Page {
    br.submit(page, action, form).await
}

#[tokio::test]
async fn a_stale_owner_session_steps_up_before_granting_platform_or_admin_rights() {
    let w = world().await;
    let (s, cid) = (&w.s, w.company.as_str());
    let bia = create_user(&w.owner, cid, "bia@paoquente.com.br", "company_user").await;
    let caio = create_user(&w.owner, cid, "caio@paoquente.com.br", "company_admin").await;
    sign_up(s, CNPJ, "joana@paoquente.com.br").await;
    let joana = one(
        s,
        "SELECT id FROM users WHERE email = ?1",
        "joana@paoquente.com.br",
    );
    sign_up(s, "12.ABC.345/01DE-35", "pedro@novaempresa.com.br").await;
    let request = one(
        s,
        "SELECT id FROM company_requests WHERE requester_email = ?1",
        "pedro@novaempresa.com.br",
    );

    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;

    let users = "/admin/users";
    let approve = format!("/admin/users/{joana}/approve");
    let promote = format!("/admin/users/{bia}/role");
    let accept = format!("/admin/users/{request}/accept");
    let granting: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/admin/invitations".into(),
            vec![("email", "invasor@evil.example"), ("role", "staff")],
        ),
        (
            "/admin/invitations".into(),
            vec![
                ("email", "cumplice@evil.example"),
                ("role", "company_admin"),
                ("company_id", cid),
            ],
        ),
        (approve.clone(), vec![("role", "company_admin")]),
        (promote.clone(), vec![("role", "company_admin")]),
        (accept.clone(), vec![("legal_name", "Nova Empresa Ltda")]),
    ];
    for (action, form) in &granting {
        let r = post(&br, users, action, form).await;
        assert!(
            asks_step_up(&r, "admin"),
            "{action} {form:?}: {} {:?}",
            r.status,
            r.location
        );
    }
    // Nothing was granted.
    assert_eq!(invited(s, "invasor@evil.example"), 0);
    assert_eq!(invited(s, "cumplice@evil.example"), 0);
    assert_eq!(status_of(s, &joana), "pending");
    assert_eq!(role_of(s, &bia), "company_user");
    let pending = "SELECT COUNT(*) FROM company_requests WHERE id = ?1 AND status = 'pending'";
    assert_eq!(count(s, pending, &request), 1);

    // Everyday work stays light: a plain company user needs no step-up.
    let r = post(
        &br,
        users,
        "/admin/invitations",
        &[
            ("email", "ajudante@paoquente.com.br"),
            ("role", "company_user"),
            ("company_id", cid),
        ],
    )
    .await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/admin/companies/{cid}").as_str())
    );
    assert_eq!(invited(s, "ajudante@paoquente.com.br"), 1);
    let demote = format!("/admin/users/{caio}/role");
    let r = post(&br, users, &demote, &[("role", "company_user")]).await;
    assert_eq!(r.location.as_deref(), Some(users));
    assert_eq!(role_of(s, &caio), "company_user");

    // After the password again, each grant goes through.
    let r = post(
        &br,
        users,
        "/admin/step-up",
        &[("answer", OWNER_PASSWORD), ("next", users)],
    )
    .await;
    assert_eq!(r.location.as_deref(), Some(users));
    for (action, form) in &granting {
        let r = post(&br, users, action, form).await;
        assert_eq!(r.status, 303, "{action}: {}", r.body);
        assert!(!asks_step_up(&r, "admin"), "{action}: {:?}", r.location);
    }
    assert_eq!(invited(s, "invasor@evil.example"), 1);
    assert_eq!(invited(s, "cumplice@evil.example"), 1);
    assert_eq!(status_of(s, &joana), "active");
    assert_eq!(role_of(s, &joana), "company_admin");
    assert_eq!(role_of(s, &bia), "company_admin");
    assert_eq!(count(s, pending, &request), 0);
}

#[tokio::test]
async fn a_stale_company_admin_session_steps_up_before_granting_admin_rights() {
    let w = world().await;
    let (s, cid) = (&w.s, w.company.as_str());
    let ana = "ana@paoquente.com.br";
    create_user(&w.owner, cid, ana, "company_admin").await;
    let bia = create_user(&w.owner, cid, "bia@paoquente.com.br", "company_user").await;
    sign_up(s, CNPJ, "joana@paoquente.com.br").await;
    let joana = one(
        s,
        "SELECT id FROM users WHERE email = ?1",
        "joana@paoquente.com.br",
    );

    let br = s.browser();
    br.login_to(ana, PW, "/portal").await;
    tokio::time::sleep(Duration::from_millis(2300)).await;

    let users = "/portal/users";
    let approve = format!("/portal/users/{joana}/approve");
    let promote = format!("/portal/users/{bia}/role");
    let granting: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/portal/invitations".into(),
            vec![
                ("email", "cumplice@evil.example"),
                ("role", "company_admin"),
            ],
        ),
        (approve.clone(), vec![("role", "company_admin")]),
        (promote.clone(), vec![("role", "company_admin")]),
    ];
    for (action, form) in &granting {
        let r = post(&br, users, action, form).await;
        assert!(
            asks_step_up(&r, "portal"),
            "{action}: {} {:?}",
            r.status,
            r.location
        );
    }
    assert_eq!(invited(s, "cumplice@evil.example"), 0);
    assert_eq!(status_of(s, &joana), "pending");
    assert_eq!(role_of(s, &bia), "company_user");

    // A plain company user needs no step-up.
    let r = post(
        &br,
        users,
        "/portal/invitations",
        &[
            ("email", "ajudante@paoquente.com.br"),
            ("role", "company_user"),
        ],
    )
    .await;
    assert_eq!(r.location.as_deref(), Some(users));
    assert_eq!(invited(s, "ajudante@paoquente.com.br"), 1);

    let r = post(
        &br,
        users,
        "/portal/step-up",
        &[("answer", PW), ("next", users)],
    )
    .await;
    assert_eq!(r.location.as_deref(), Some(users));
    for (action, form) in &granting {
        let r = post(&br, users, action, form).await;
        assert_eq!(r.location.as_deref(), Some(users), "{action}: {}", r.body);
    }
    assert_eq!(invited(s, "cumplice@evil.example"), 1);
    assert_eq!(status_of(s, &joana), "active");
    assert_eq!(role_of(s, &joana), "company_admin");
    assert_eq!(role_of(s, &bia), "company_admin");
}
