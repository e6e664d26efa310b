//! Issue 10, attacked after the merge: holes found by the review, one test each.

use std::time::Duration;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Page, Server};

fn asks_step_up(r: &Page) -> bool {
    r.status == 303
        && r.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/admin/step-up?next="))
}

/// Turning the second factor on is a way past step-up: once on, step-up asks a code
/// of that factor. So a session whose identity is not fresh (a browser left open, a
/// stolen cookie) must not enrol its own authenticator without the password again —
/// not even a person whose role must enrol (the step-up page is open to them).
#[tokio::test]
async fn a_stale_session_cannot_enrol_a_factor_to_get_past_step_up() {
    for required in ["none", "owner,staff"] {
        let s = Server::start_with(&[("OTM_STEP_UP_SECONDS", "2"), ("OTM_MFA_REQUIRED", required)]);
        s.create_owner();
        let br = s.browser();
        br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
        tokio::time::sleep(Duration::from_millis(2300)).await;
        let page = br.get("/admin/profile/mfa").await;
        assert_eq!(page.status, 200, "{required}");
        let csrf = page.csrf();
        let r = br
            .post("/admin/profile/mfa/start", &[("csrf_token", &csrf)])
            .await;
        assert!(
            asks_step_up(&r),
            "{required}: {} {:?}",
            r.status,
            r.location
        );
        let r = br
            .post(
                "/admin/profile/mfa/confirm",
                &[("csrf_token", &csrf), ("otp", "123456")],
            )
            .await;
        assert!(
            asks_step_up(&r),
            "{required}: {} {:?}",
            r.status,
            r.location
        );
        // The step-up page answers (no loop back to the enrolment page), and the
        // password leads back to the enrolment, which then starts.
        let next = "/admin/profile/mfa";
        let form = br.get("/admin/step-up?next=%2Fadmin%2Fprofile%2Fmfa").await;
        assert_eq!(form.status, 200, "{required}: {:?}", form.location);
        let r = br
            .submit(
                "/admin/profile/mfa",
                "/admin/step-up",
                &[("answer", OWNER_PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(r.location.as_deref(), Some(next), "{required}");
        let r = br
            .submit("/admin/profile/mfa", "/admin/profile/mfa/start", &[])
            .await;
        assert_eq!(r.location.as_deref(), Some(next), "{required}");
        assert!(br.get(next).await.body.contains("mfa-secret"), "{required}");
    }
}

/// Tenants see the platform as "Equipe <vendor>"; the history's `actor` filter must not
/// give back what the masking hides: a company admin probing `actor=` with pieces of an
/// e-mail (or an id) would otherwise learn, row by row, who on the platform's team acted.
#[tokio::test]
async fn a_company_admin_cannot_find_the_platforms_people_through_the_history_filter() {
    use serde_json::json;
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (st, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Pão Quente Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let cid = c["id"].as_str().unwrap();
    let pw = "senha do administrador longa";
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{cid}/users"),
            json!({"name": "Ana", "email": "ana@paoquente.com.br", "role": "company_admin", "password": pw}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let (_, me) = owner.get("/api/v1/me").await;
    let owner_id = me["id"].as_str().unwrap().to_string();
    let admin = s.api_as("ana@paoquente.com.br", pw).await;

    // The history holds the owner's rows, masked.
    let (st, all) = admin.get("/api/v1/audit").await;
    assert_eq!(st, 200, "{all}");
    let items = all["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|e| e["actor_label"].as_str().unwrap().starts_with("Equipe")),
        "{all}"
    );
    assert!(!all.to_string().contains(OWNER_EMAIL), "{all}");

    // Probing the filter with the owner's e-mail, a piece of it, or the owner's id finds
    // nothing; the team's label finds the team's rows.
    let local = OWNER_EMAIL.split('@').next().unwrap();
    for probe in [OWNER_EMAIL, local, &local[..3], owner_id.as_str()] {
        let q = serde_urlencoded::to_string([("actor", probe)]).unwrap();
        let (st, v) = admin.get(&format!("/api/v1/audit?{q}")).await;
        assert_eq!(st, 200, "{v}");
        let n = v["items"].as_array().unwrap().len();
        assert_eq!(n, 0, "actor={probe} found {n} row(s): {v}");
    }
    let (_, v) = admin.get("/api/v1/audit?actor=equipe").await;
    let found = v["items"].as_array().unwrap();
    assert!(!found.is_empty(), "{v}");
    assert!(
        found
            .iter()
            .all(|e| e["actor_label"].as_str().unwrap().starts_with("Equipe")),
        "{v}"
    );
    // The company's own people are still found by their e-mail.
    let (_, v) = admin.get("/api/v1/audit?actor=ana%40paoquente").await;
    assert!(!v["items"].as_array().unwrap().is_empty(), "{v}");
}

/// Revealing an Omie secret asks for a fresh identity; a new application's secret, once
/// linked with `omie_credentials:read`, reads the same secret through the API. So a new
/// application (a secret shown once, like a rotated one) needs step-up too, or a stale
/// session gets every company's Omie secret without the password.
#[tokio::test]
async fn a_stale_session_cannot_mint_an_application_secret_to_read_omie_secrets() {
    use serde_json::json;
    let s = Server::start_with(&[("OTM_STEP_UP_SECONDS", "2")]);
    s.create_owner();
    let api = s.api(&s.token().await);
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let csrf = br.get("/admin/applications").await.csrf();
    let r = br
        .post(
            "/admin/applications",
            &[("csrf_token", &csrf), ("name", "Robô do invasor")],
        )
        .await;
    assert!(asks_step_up(&r), "{} {:?}", r.status, r.location);
    let (_, apps) = api.get("/api/v1/applications").await;
    assert_eq!(apps["items"].as_array().unwrap().len(), 0, "{apps}");
    // After the password again, it is created and its secret shown.
    let r = br
        .submit(
            "/admin/applications",
            "/admin/step-up",
            &[("answer", OWNER_PASSWORD), ("next", "/admin/applications")],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin/applications"));
    let r = br
        .submit(
            "/admin/applications",
            "/admin/applications",
            &[("name", "Robô de notas")],
        )
        .await;
    assert_eq!(r.status, 303, "{:?}", r.location);
    assert_eq!(br.get(r.location.as_deref().unwrap()).await.status, 200);
    let (_, apps) = api.get("/api/v1/applications").await;
    assert_eq!(
        apps["items"].as_array().unwrap().len(),
        1,
        "{}",
        json!(apps)
    );
}
