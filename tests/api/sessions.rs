//! Session hygiene (issue 10, item 12): a person lists their sessions and API tokens
//! and ends them one by one; the owner sees and ends anyone's; staff may not touch a
//! platform account's.

use reqwest::redirect::Policy;
use serde_json::json;

use crate::common::{Browser, OWNER_EMAIL, OWNER_PASSWORD, Server, cnpj_from};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const PW: &str = "senha da empresa bem longa";

fn browser(s: &Server, ua: &str) -> Browser {
    Browser {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .user_agent(ua)
            .build()
            .unwrap(),
        base: s.base.clone(),
    }
}

/// The handle in the "Encerrar" form of the list item that names `what`.
fn handle_of(body: &str, what: &str) -> String {
    let item = body
        .split("<li>")
        .find(|chunk| chunk.contains(what) && chunk.contains("/end\""))
        .unwrap_or_else(|| panic!("no item with {what:?} and a form in:\n{body}"));
    let start = item.find("/sessions/").unwrap() + "/sessions/".len();
    let end = item[start..].find("/end").unwrap();
    item[start..start + end].to_string()
}

/// Where a GET of `path` leads this browser: 200, or 303 and where.
async fn lands(b: &Browser, path: &str) -> (u16, Option<String>) {
    let p = b.get(path).await;
    (p.status, p.location)
}

#[tokio::test]
async fn a_person_lists_their_sessions_and_ends_them_one_by_one() {
    let s = Server::start();
    s.create_owner();
    let here = browser(&s, FIREFOX);
    here.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let other = browser(&s, CHROME);
    other.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let phone = browser(&s, SAFARI);
    phone.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let token = s.token().await;
    let api = s.api(&token);
    assert_eq!(api.get("/api/v1/companies").await.0, 200);

    let page = here.get("/admin/profile").await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    for words in ["Firefox no Linux", "Chrome no Windows", "Safari no iPhone"] {
        assert!(body.contains(words), "{words} listed: {body}");
    }
    assert!(body.contains(">esta sessão</span>"));
    assert!(body.contains("IP 127.0.0.1"));
    assert!(body.contains("Chave de acesso da API"));
    // This session has no "Encerrar" of its own (it has "Sair").
    let mine = body
        .split("<li>")
        .find(|c| c.contains("Firefox no Linux"))
        .unwrap();
    assert!(!mine.contains("/end\""), "{mine}");

    // Ending the Chrome session: that cookie stops working, the others keep.
    let chrome = handle_of(body, "Chrome no Windows");
    let r = here
        .submit(
            "/admin/profile",
            &format!("/admin/profile/sessions/{chrome}/end"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/admin/profile#sessoes"));
    let after = here.get("/admin/profile").await.body;
    assert!(after.contains("Sessão encerrada."), "flash");
    assert_eq!(lands(&other, "/admin").await.1.as_deref(), Some("/login"));
    assert_eq!(lands(&phone, "/admin").await.0, 200);
    assert_eq!(lands(&here, "/admin").await.0, 200);
    assert!(!after.contains("Chrome no Windows"));
    assert!(after.contains("Safari no iPhone"));

    // Ending an API token: it stops working.
    let t = handle_of(&after, "criada em");
    assert!(t.starts_with('t'), "{t}");
    let r = here
        .submit(
            "/admin/profile",
            &format!("/admin/profile/sessions/{t}/end"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(api.get("/api/v1/companies").await.0, 401);

    // Ending what is already ended is no error.
    let r = here
        .submit(
            "/admin/profile",
            &format!("/admin/profile/sessions/{chrome}/end"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);

    // Each ending is in the history, with the device and the address.
    let audit = here.get("/admin/audit?action=session.end").await.body;
    assert!(audit.contains("Sessão encerrada"), "{audit}");
    assert!(audit.contains("Chrome no Windows"), "{audit}");
    let audit = here
        .get("/admin/audit?action=session.token_revoke")
        .await
        .body;
    assert!(
        audit.contains("Chave de API de uma pessoa encerrada"),
        "{audit}"
    );
}

#[tokio::test]
async fn the_owner_ends_a_persons_sessions_and_staff_may_not_touch_a_platform_account() {
    let s = Server::start();
    s.create_owner();
    let owner_api = s.api(&s.token().await);
    let (st, c) = owner_api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Pão Quente Ltda", "cnpj": cnpj_from(77)}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let company = c["id"].as_str().unwrap();
    let mut ids = vec![];
    for email in ["joana@padaria.com.br", "equipe@example.com.br"] {
        let (st, u) = owner_api
            .post(
                &format!("/api/v1/companies/{company}/users"),
                json!({"name": "Joana Lima", "email": email, "role": "company_user", "password": PW}),
            )
            .await;
        assert_eq!(st, 201, "{u}");
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let (joana, staff_id) = (ids[0].clone(), ids[1].clone());
    // Staff come from an invitation (links.rs); here the fixture makes one directly.
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "UPDATE users SET role = 'staff', company_id = NULL WHERE id = ?1",
            [&staff_id],
        )
        .unwrap();
    let owner_id: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT id FROM users WHERE role = 'owner'", [], |r| {
            r.get(0)
        })
        .unwrap();

    let laptop = browser(&s, FIREFOX);
    laptop.login_to("joana@padaria.com.br", PW, "/portal").await;
    let phone = browser(&s, SAFARI);
    phone.login_to("joana@padaria.com.br", PW, "/portal").await;

    // The owner sees Joana's sessions from her page in the dashboard and ends one.
    let owner = browser(&s, CHROME);
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let users = owner.get("/admin/users").await.body;
    assert!(users.contains(&format!("/admin/users/{joana}/sessions")));
    let page = owner.get(&format!("/admin/users/{joana}/sessions")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sessões de Joana Lima"), "{}", page.body);
    assert!(page.body.contains("Firefox no Linux") && page.body.contains("Safari no iPhone"));
    assert!(
        !page.body.contains(">esta sessão</span>"),
        "not the owner's own"
    );
    let laptop_handle = handle_of(&page.body, "Firefox no Linux");
    let base = format!("/admin/users/{joana}/sessions");
    let r = owner
        .submit(&base, &format!("{base}/{laptop_handle}/end"), &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(lands(&laptop, "/portal").await.1.as_deref(), Some("/login"));
    assert_eq!(lands(&phone, "/portal").await.0, 200);

    // Staff may not see or end the owner's sessions (a platform account).
    let staff = browser(&s, FIREFOX);
    staff.login("equipe@example.com.br", PW).await;
    let users = staff.get("/admin/users").await.body;
    assert!(!users.contains(&format!("/admin/users/{owner_id}/sessions")));
    let owner_page = format!("/admin/users/{owner_id}/sessions");
    assert_eq!(staff.get(&owner_page).await.status, 403);
    let csrf = staff.get("/admin/profile").await.csrf();
    let r = staff
        .post(&format!("{owner_page}/end-all"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, 403);
    // Nor one of them by its handle (the owner's API token, as the owner's page names it).
    let owners = owner.get(&owner_page).await.body;
    let token_handle = handle_of(&owners, "criada em");
    let r = staff
        .post(
            &format!("{owner_page}/{token_handle}/end"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(owner_api.get("/api/v1/companies").await.0, 200);
    assert_eq!(lands(&owner, "/admin").await.0, 200, "the owner stays in");

    // The owner signs Joana out everywhere: sessions and API tokens.
    let joana_api = s.api_as("joana@padaria.com.br", PW).await;
    assert_eq!(
        joana_api
            .get(&format!("/api/v1/companies/{company}"))
            .await
            .0,
        200
    );
    let r = owner.submit(&base, &format!("{base}/end-all"), &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(lands(&phone, "/portal").await.1.as_deref(), Some("/login"));
    assert_eq!(
        joana_api
            .get(&format!("/api/v1/companies/{company}"))
            .await
            .0,
        401
    );
    let audit = owner.get("/admin/audit?action=session.end_all").await.body;
    assert!(
        audit.contains("Todas as sessões e chaves de API encerradas"),
        "{audit}"
    );
}
