//! Hot-path caches (issue 14, item 3): a token, an application's token and a link are
//! answered from memory once seen, and every change that ends or narrows access takes
//! effect on the very next request. Each test warms the cache (the same successful
//! request twice: the second is served from memory), makes the change as a person would
//! (API, pages or command line), and checks that the next request with the old token or
//! link is refused as it is without a cache.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, Browser, OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::omie_stub;

const PW: &str = "senha da empresa bem longa";
const KEY: &str = "1724630275368";
const SECRET: &str = "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a";
const CNPJ: &str = "11222333000181";

struct World {
    s: Server,
    owner: Api,
    company: String,
    app_id: String,
    client_id: String,
    secret: String,
    _stub: Option<omie_stub::OmieStub>,
}

impl World {
    fn creds(&self) -> String {
        format!("/api/v1/companies/{}/omie-credentials", self.company)
    }

    fn link(&self) -> String {
        format!(
            "/api/v1/companies/{}/applications/{}",
            self.company, self.app_id
        )
    }

    /// A token for the application (client credentials).
    async fn app_token(&self) -> Api {
        let r: Value = reqwest::Client::new()
            .post(self.s.url("/api/v1/auth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.secret.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        self.s.api(r["access_token"].as_str().unwrap())
    }

    /// A person of the company, with a password; returns their id.
    async fn person(&self, email: &str, role: &str) -> String {
        let (st, u) = self
            .owner
            .post(
                &format!("/api/v1/companies/{}/users", self.company),
                json!({"email": email, "name": "Joana Lima", "role": role, "password": PW}),
            )
            .await;
        assert_eq!(st, 201, "{u}");
        u["id"].as_str().unwrap().to_string()
    }

    /// A sign-in through the API.
    async fn login(&self, email: &str, password: &str) -> Api {
        let r = reqwest::Client::new()
            .post(self.s.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        self.s.api(v["access_token"].as_str().unwrap())
    }

    /// The owner in a browser.
    async fn owner_browser(&self) -> Browser {
        let b = self.s.browser();
        b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
        b
    }
}

/// A company with Omie credentials and an application linked to it with every scope.
async fn world_with(env: &[(&str, &str)], stub: Option<omie_stub::OmieStub>) -> World {
    let s = Server::start_with(env);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (st, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Empresa A Ltda", "cnpj": CNPJ}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let company = c["id"].as_str().unwrap().to_string();
    let (st, _) = owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{company}/omie-credentials"),
            Some(json!({"app_key": KEY, "app_secret": SECRET})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, app) = owner
        .post("/api/v1/applications", json!({"name": "Robô de notas"}))
        .await;
    assert_eq!(st, 201, "{app}");
    let w = World {
        owner,
        company,
        app_id: app["id"].as_str().unwrap().to_string(),
        client_id: app["client_id"].as_str().unwrap().to_string(),
        secret: app["client_secret"].as_str().unwrap().to_string(),
        s,
        _stub: stub,
    };
    let (st, v) = w
        .owner
        .send(
            Method::PUT,
            &w.link(),
            Some(json!({"scopes": ["companies:read", "omie_credentials:read", "omie:proxy"]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    w
}

async fn world() -> World {
    world_with(&[], None).await
}

/// The same request twice, both answered `status`: the second from the cache.
async fn warm(api: &Api, path: &str, status: u16) {
    for _ in 0..2 {
        let (st, v) = api.get(path).await;
        assert_eq!(st, status, "{path}: {v}");
    }
}

// ---- people's tokens -------------------------------------------------------------------

#[tokio::test]
async fn a_person_signing_out_ends_the_token_at_once() {
    let w = world().await;
    let me = w.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    warm(&me, "/api/v1/me", 200).await;
    let (st, _) = me.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(st, 204);
    assert_eq!(me.get("/api/v1/me").await.0, 401);
}

#[tokio::test]
async fn disabling_a_person_ends_their_token_at_once() {
    let w = world().await;
    let id = w.person("joana@empresa-a.com.br", "company_user").await;
    let joana = w.login("joana@empresa-a.com.br", PW).await;
    let path = format!("/api/v1/companies/{}", w.company);
    warm(&joana, &path, 200).await;
    let (st, v) = w
        .owner
        .send(Method::DELETE, &format!("/api/v1/users/{id}"), None)
        .await;
    assert!(st == 200 || st == 204, "{st} {v}");
    assert_eq!(joana.get(&path).await.0, 401);
}

#[tokio::test]
async fn a_role_change_takes_effect_at_once() {
    let w = world().await;
    let id = w.person("ana@empresa-a.com.br", "company_admin").await;
    let ana = w.login("ana@empresa-a.com.br", PW).await;
    warm(&ana, &w.creds(), 200).await;
    let (st, v) = w
        .owner
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"role": "company_user"})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        ana.get(&w.creds()).await.0,
        403,
        "a company user may not read the credentials"
    );
}

#[tokio::test]
async fn a_role_change_on_the_people_page_takes_effect_at_once() {
    let w = world().await;
    let id = w.person("ana@empresa-a.com.br", "company_admin").await;
    let ana = w.login("ana@empresa-a.com.br", PW).await;
    warm(&ana, &w.creds(), 200).await;
    let owner = w.owner_browser().await;
    let r = owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/role"),
            &[("role", "company_user")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(ana.get(&w.creds()).await.0, 403);
}

#[tokio::test]
async fn ending_ones_other_sessions_ends_ones_api_tokens() {
    let w = world().await;
    let me = w.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    warm(&me, "/api/v1/me", 200).await;
    let page = w.owner_browser().await;
    let r = page
        .submit("/admin/profile", "/admin/profile/sessions/end-others", &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(me.get("/api/v1/me").await.0, 401);
}

#[tokio::test]
async fn changing_ones_password_ends_the_api_tokens() {
    let w = world().await;
    w.person("ana@empresa-a.com.br", "company_admin").await;
    let ana = w.login("ana@empresa-a.com.br", PW).await;
    let path = format!("/api/v1/companies/{}", w.company);
    warm(&ana, &path, 200).await;
    let page = w.s.browser();
    page.login_to("ana@empresa-a.com.br", PW, "/portal").await;
    let r = page
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
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(ana.get(&path).await.0, 401);
}

#[tokio::test]
async fn a_password_reset_ends_the_api_tokens() {
    let w = world().await;
    let id = w.person("joana@empresa-a.com.br", "company_user").await;
    let joana = w.login("joana@empresa-a.com.br", PW).await;
    let path = format!("/api/v1/companies/{}", w.company);
    warm(&joana, &path, 200).await;
    // The owner copies Joana's reset link (mail is off); Joana uses it.
    let owner = w.owner_browser().await;
    let r = owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/reset-link"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let shown = owner
        .get(&format!("/admin/users/{id}/reset-link"))
        .await
        .body;
    let start = shown
        .find("http://127.0.0.1:8080/password/reset/")
        .expect("a reset link");
    let rest = &shown[start + "http://127.0.0.1:8080".len()..];
    let reset = &rest[..rest.find('<').unwrap()];
    let visitor = w.s.browser();
    let r = visitor
        .submit(
            reset,
            reset,
            &[
                ("password", "nova senha muito boa"),
                ("password_confirm", "nova senha muito boa"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(joana.get(&path).await.0, 401);
}

#[tokio::test]
async fn signing_a_person_out_everywhere_ends_their_tokens() {
    let w = world().await;
    let id = w.person("joana@empresa-a.com.br", "company_user").await;
    let joana = w.login("joana@empresa-a.com.br", PW).await;
    let path = format!("/api/v1/companies/{}", w.company);
    warm(&joana, &path, 200).await;
    let owner = w.owner_browser().await;
    let base = format!("/admin/users/{id}/sessions");
    let r = owner.submit(&base, &format!("{base}/end-all"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(joana.get(&path).await.0, 401);
}

#[tokio::test]
async fn ending_one_token_on_the_sessions_page_ends_it_at_once() {
    let w = world().await;
    let id = w.person("joana@empresa-a.com.br", "company_user").await;
    let joana = w.login("joana@empresa-a.com.br", PW).await;
    let path = format!("/api/v1/companies/{}", w.company);
    warm(&joana, &path, 200).await;
    let owner = w.owner_browser().await;
    let base = format!("/admin/users/{id}/sessions");
    let body = owner.get(&base).await.body;
    // The one "Encerrar" form of an item on the page: Joana's API token.
    let handle = body
        .match_indices(&format!("{base}/"))
        .map(|(i, _)| &body[i + base.len() + 1..])
        .filter_map(|rest| rest.split_once("/end\"").map(|(h, _)| h))
        .find(|h| !h.contains(['"', '/', '<']))
        .unwrap_or_else(|| panic!("no token to end in:\n{body}"));
    let r = owner
        .submit(&base, &format!("{base}/{handle}/end"), &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(joana.get(&path).await.0, 401);
}

#[tokio::test]
async fn anonymizing_a_person_ends_their_token_at_once() {
    let w = world().await;
    let id = w.person("joana@empresa-a.com.br", "company_user").await;
    let joana = w.login("joana@empresa-a.com.br", PW).await;
    let path = format!("/api/v1/companies/{}", w.company);
    warm(&joana, &path, 200).await;
    let (st, v) = w
        .owner
        .post(&format!("/api/v1/users/{id}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(joana.get(&path).await.0, 401);
}

#[tokio::test]
async fn a_suspended_company_locks_its_people_and_applications_out_at_once() {
    let w = world().await;
    w.person("joana@empresa-a.com.br", "company_user").await;
    let joana = w.login("joana@empresa-a.com.br", PW).await;
    let app = w.app_token().await;
    let path = format!("/api/v1/companies/{}", w.company);
    warm(&joana, &path, 200).await;
    warm(&app, &w.creds(), 200).await;
    let (st, v) = w
        .owner
        .send(Method::PATCH, &path, Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(joana.get(&path).await.0, 401);
    assert_eq!(app.get(&w.creds()).await.0, 404);
    // Reactivated: both are let in again at once.
    let (st, v) = w
        .owner
        .send(Method::PATCH, &path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(st, 200, "{v}");
    warm(&app, &w.creds(), 200).await;
    assert_eq!(joana.get(&path).await.0, 200);
}

#[tokio::test]
async fn an_archived_company_is_out_of_reach_at_once() {
    let w = world().await;
    w.person("joana@empresa-a.com.br", "company_user").await;
    let joana = w.login("joana@empresa-a.com.br", PW).await;
    let app = w.app_token().await;
    let path = format!("/api/v1/companies/{}", w.company);
    warm(&joana, &path, 200).await;
    warm(&app, &w.creds(), 200).await;
    let (st, v) = w.owner.send(Method::DELETE, &path, None).await;
    assert!(st == 200 || st == 204, "{st} {v}");
    assert_eq!(joana.get(&path).await.0, 401);
    assert_eq!(app.get(&w.creds()).await.0, 404);
}

#[tokio::test]
async fn turning_the_second_factor_on_takes_effect_at_once() {
    let s = Server::start_with(&[("OTM_MFA_REQUIRED", "owner,staff")]);
    s.create_owner();
    let me = s.api(&s.token().await);
    // Until it is on, the token opens only the person's own account.
    warm(&me, "/api/v1/companies", 403).await;
    let (st, e) = me.post("/api/v1/me/mfa", json!({})).await;
    assert_eq!(st, 200, "{e}");
    let t = crate::mfa::settle().await;
    let code = crate::mfa::code_at(e["secret"].as_str().unwrap(), t);
    let (st, v) = me
        .post("/api/v1/me/mfa/confirm", json!({"otp": code}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(me.get("/api/v1/companies").await.0, 200);
}

#[tokio::test]
async fn requiring_the_second_factor_of_company_admins_takes_effect_at_once() {
    // Owners need none here (the test signs in on the pages without a code); the owner's
    // setting makes company admins need one.
    let w = world_with(&[("OTM_MFA_REQUIRED", "staff")], None).await;
    w.person("ana@empresa-a.com.br", "company_admin").await;
    let ana = w.login("ana@empresa-a.com.br", PW).await;
    warm(&ana, &w.creds(), 200).await;
    let owner = w.owner_browser().await;
    let r = owner
        .submit(
            "/admin/settings",
            "/admin/settings/mfa",
            &[("company_admin", "on")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(ana.get(&w.creds()).await.0, 403);
}

// ---- the command line, while the server runs -------------------------------------------

#[tokio::test]
async fn reset_mfa_on_the_command_line_ends_the_tokens_at_once() {
    let w = world().await;
    let me = w.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    warm(&me, "/api/v1/me", 200).await;
    let out =
        w.s.cli(&["admin", "reset-mfa", "--email", OWNER_EMAIL], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(me.get("/api/v1/me").await.0, 401);
}

#[tokio::test]
async fn retention_on_the_command_line_is_seen_at_once() {
    let w = world().await;
    let me = w.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let app = w.app_token().await;
    warm(&me, "/api/v1/me", 200).await;
    warm(&app, &w.creds(), 200).await;
    // As of two hours from now, every token of this hour has expired: retention
    // removes them from the database.
    let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let out = w.s.cli(&["retention", "run", "--now", &later], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM api_tokens") + w.s.count("SELECT COUNT(*) FROM app_tokens"),
        0,
        "removed"
    );
    assert_eq!(me.get("/api/v1/me").await.0, 401);
    assert_eq!(app.get(&w.creds()).await.0, 401);
}

// ---- applications -------------------------------------------------------------------

#[tokio::test]
async fn an_application_signing_out_ends_its_token_at_once() {
    let w = world().await;
    let app = w.app_token().await;
    warm(&app, &w.creds(), 200).await;
    let (st, _) = app.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(st, 204);
    assert_eq!(app.get(&w.creds()).await.0, 401);
}

#[tokio::test]
async fn revoking_a_secret_ends_its_tokens_at_once() {
    let w = world().await;
    let app = w.app_token().await;
    warm(&app, &w.creds(), 200).await;
    let (_, shown) = w
        .owner
        .get(&format!("/api/v1/applications/{}", w.app_id))
        .await;
    let sid = shown["secrets"][0]["id"].as_str().unwrap();
    let (st, v) = w
        .owner
        .send(
            Method::DELETE,
            &format!("/api/v1/applications/{}/secrets/{sid}", w.app_id),
            None,
        )
        .await;
    assert!(st == 200 || st == 204, "{st} {v}");
    assert_eq!(app.get(&w.creds()).await.0, 401);
}

#[tokio::test]
async fn revoking_the_application_ends_its_tokens_at_once() {
    let w = world().await;
    let app = w.app_token().await;
    warm(&app, &w.creds(), 200).await;
    let (st, v) = w
        .owner
        .send(
            Method::DELETE,
            &format!("/api/v1/applications/{}", w.app_id),
            None,
        )
        .await;
    assert!(st == 200 || st == 204, "{st} {v}");
    assert_eq!(app.get(&w.creds()).await.0, 401);
}

#[tokio::test]
async fn unlinking_ends_the_applications_reach_at_once() {
    let w = world().await;
    let app = w.app_token().await;
    warm(&app, &w.creds(), 200).await;
    let (st, v) = w.owner.send(Method::DELETE, &w.link(), None).await;
    assert!(st == 200 || st == 204, "{st} {v}");
    assert_eq!(app.get(&w.creds()).await.0, 404);
}

#[tokio::test]
async fn narrowing_a_link_takes_effect_at_once() {
    let w = world().await;
    let app = w.app_token().await;
    warm(&app, &w.creds(), 200).await;
    let (st, v) = w
        .owner
        .send(
            Method::PUT,
            &w.link(),
            Some(json!({"scopes": ["companies:read"]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(app.get(&w.creds()).await.0, 403);
}

#[tokio::test]
async fn the_proxy_stops_at_once_when_unlinked() {
    let stub = omie_stub::start(&[(KEY, CNPJ)]);
    let base = stub.base.clone();
    let w = world_with(&[("OTM_OMIE_BASE_URL", base.as_str())], Some(stub)).await;
    let app = w.app_token().await;
    let path = format!("/api/v1/companies/{}/omie/geral/clientes", w.company);
    let body = json!({"call": "ListarClientes", "param": [{}]});
    for _ in 0..2 {
        let (st, v) = app.post(&path, body.clone()).await;
        assert_eq!(st, 200, "{v}");
    }
    let (st, v) = w
        .owner
        .send(
            Method::PUT,
            &w.link(),
            Some(json!({"scopes": ["omie_credentials:read"]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(app.post(&path, body.clone()).await.0, 403, "scope taken");
    let (st, v) = w.owner.send(Method::DELETE, &w.link(), None).await;
    assert!(st == 200 || st == 204, "{st} {v}");
    assert_eq!(app.post(&path, body).await.0, 404, "unlinked");
}
