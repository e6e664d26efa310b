//! Issue 10, items 8, 9b, 10 and 11: invitations die with their sender's right to
//! invite; adding a person by e-mail reveals nothing and squats nothing; tenants see
//! the platform as "Equipe <vendor>"; form fields that reach a header or a redirect are
//! checked at the edge.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::{Smtp, link, with_smtp};

const PW: &str = "cavalo bateria grampo azul";
const BASE: &str = "http://127.0.0.1:8080";
const TEAM: &str = "Equipe Omie Tenant Manager";

async fn login_api(s: &Server, email: &str, pw: &str) -> Api {
    s.api_as(email, pw).await
}

struct World {
    s: Server,
    smtp: Smtp,
    owner: Api,
    a: String,
    b: String,
    admin_id: String,
}

/// Two companies; A has a company admin (Ana) who signs in on the portal.
async fn world(extra: &[(&str, &str)]) -> World {
    let smtp = Smtp::start();
    let mut env: Vec<(&str, String)> = Smtp::env(smtp.port);
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = Server::start_with(&pairs);
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
        assert_eq!(st, 201, "{c}");
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{}/users", ids[0]),
            json!({"name": "Ana", "email": "ana@a.com.br", "role": "company_admin", "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    World {
        admin_id: u["id"].as_str().unwrap().to_string(),
        s,
        smtp,
        owner,
        a: ids[0].clone(),
        b: ids[1].clone(),
    }
}

/// Ana invites `email` from the portal; returns the link from the mail.
async fn ana_invites(w: &World, email: &str, role: &str) -> String {
    let ana = w.s.browser();
    ana.login_to("ana@a.com.br", PW, "/portal").await;
    let r = ana
        .submit(
            "/portal/users",
            "/portal/invitations",
            &[("email", email), ("role", role)],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/portal/users"), "{}", r.body);
    link(&w.smtp.wait_for(email, "Convite").await, BASE)
}

/// Posts the invitation's form (with a form token from the sign-in page, as a refused
/// invitation's page has no form).
async fn accept(s: &Server, path: &str) -> crate::common::Page {
    let b = s.browser();
    let csrf = b.get("/login").await.csrf();
    b.post(
        path,
        &[
            ("csrf_token", &csrf),
            ("name", "Pessoa Nova"),
            ("password", PW),
            ("password_confirm", PW),
        ],
    )
    .await
}

/// What the owner's page of company A lists as open invitations.
async fn open_on_company_page(w: &World) -> String {
    let owner = w.s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let body = owner.get(&format!("/admin/companies/{}", w.a)).await.body;
    match body.find("Convites em aberto") {
        Some(at) => {
            let rest = &body[at..];
            rest[..rest.find("<h2").unwrap_or(rest.len())].to_string()
        }
        None => String::new(),
    }
}

/// Item 8: disabling, a role change, or a suspended company each kill the open
/// invitations; the link then says so, and accepting makes nobody.
#[tokio::test]
async fn invitations_die_with_their_senders_right_to_invite() {
    for change in ["disable", "role", "suspend"] {
        let w = world(&[]).await;
        let path = ana_invites(&w, "novo@a.com.br", "company_admin").await;
        assert!(open_on_company_page(&w).await.contains("novo@a.com.br"));
        let (st, body) = match change {
            "disable" => {
                w.owner
                    .send(
                        Method::PATCH,
                        &format!("/api/v1/users/{}", w.admin_id),
                        Some(json!({"status": "disabled"})),
                    )
                    .await
            }
            "role" => {
                w.owner
                    .send(
                        Method::PATCH,
                        &format!("/api/v1/users/{}", w.admin_id),
                        Some(json!({"role": "company_user"})),
                    )
                    .await
            }
            _ => {
                w.owner
                    .send(
                        Method::PATCH,
                        &format!("/api/v1/companies/{}", w.a),
                        Some(json!({"status": "suspended"})),
                    )
                    .await
            }
        };
        assert_eq!(st, 200, "{change}: {body}");
        // The link says the invitation no longer stands, and shows no form.
        let page = w.s.browser().get(&path).await;
        assert_eq!(page.status, 404, "{change}");
        assert!(
            page.body.contains("Este convite foi cancelado")
                && !page.body.contains("<form method=\"post\" action=\"/invite"),
            "{change}: {}",
            page.body
        );
        let r = accept(&w.s, &path).await;
        assert_ne!(r.status, 303, "{change}: accepted");
        assert!(
            r.body.contains("Nenhuma conta foi criada"),
            "{change}: {}",
            r.body
        );
        assert_eq!(
            w.s.count("SELECT COUNT(*) FROM users WHERE email = 'novo@a.com.br'"),
            0,
            "{change}: a user was made"
        );
        // The open list no longer offers it, and the revocation is in the trail.
        assert!(
            !open_on_company_page(&w).await.contains("novo@a.com.br"),
            "{change}"
        );
        assert_eq!(
            w.s.count("SELECT COUNT(*) FROM audit_log WHERE action = 'invitation.revoke'"),
            1,
            "{change}"
        );
    }
}

/// Item 8: acceptance re-checks the sender even when nothing revoked the invitation
/// (a change made before this check existed, straight in the database).
#[tokio::test]
async fn acceptance_re_checks_the_sender() {
    let w = world(&[]).await;
    let path = ana_invites(&w, "novo@a.com.br", "company_admin").await;
    rusqlite::Connection::open(w.s.db_path())
        .unwrap()
        .execute(
            "UPDATE users SET status = 'disabled' WHERE email = 'ana@a.com.br'",
            [],
        )
        .unwrap();
    // The open list says it no longer stands.
    let open = open_on_company_page(&w).await;
    assert!(
        open.contains("novo@a.com.br") && open.contains("não vale mais"),
        "{open}"
    );
    let page = w.s.browser().get(&path).await;
    assert!(
        page.body.contains("quem o enviou não pode mais convidar"),
        "{}",
        page.body
    );
    let r = accept(&w.s, &path).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("Nenhuma conta foi criada"));
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM users WHERE email = 'novo@a.com.br'"),
        0
    );
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM invitations WHERE accepted_at IS NOT NULL"),
        0
    );
}

/// Item 9b: a company admin gets the same answer whether or not the address has an
/// account elsewhere; the mailbox's owner is told on the link, and nothing changes.
#[tokio::test]
async fn adding_by_e_mail_reveals_nothing_and_squats_nothing() {
    let w = world(&[]).await;
    let (st, u) = w
        .owner
        .post(
            &format!("/api/v1/companies/{}/users", w.b),
            json!({"name": "Beto", "email": "beto@b.com.br", "role": "company_user", "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let ana = login_api(&w.s, "ana@a.com.br", PW).await;
    let add = |email: &'static str| {
        let (ana, a) = (&ana, w.a.clone());
        async move {
            ana.post(
                &format!("/api/v1/companies/{a}/users"),
                json!({"email": email, "role": "company_admin"}),
            )
            .await
        }
    };
    let (st_known, known) = add("beto@b.com.br").await;
    let (st_new, new) = add("ninguem@a.com.br").await;
    assert_eq!((st_known, st_new), (202, 202), "{known} {new}");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&known), keys(&new));
    // A password would make an account without proof of the mailbox: refused for
    // company admins, whatever the address.
    let (st, p) = ana
        .post(
            &format!("/api/v1/companies/{}/users", w.a),
            json!({"email": "beto@b.com.br", "name": "Beto", "password": PW}),
        )
        .await;
    assert_eq!(st, 422, "{p}");
    // The portal answers the same for both too.
    let portal = w.s.browser();
    portal.login_to("ana@a.com.br", PW, "/portal").await;
    for email in [OWNER_EMAIL, "outra@a.com.br"] {
        let r = portal
            .submit(
                "/portal/users",
                "/portal/invitations",
                &[("email", email), ("role", "company_user")],
            )
            .await;
        assert_eq!(r.location.as_deref(), Some("/portal/users"));
        let after = portal.get("/portal/users").await.body;
        assert!(
            after.contains(&format!("Convite enviado para {email}")),
            "{after}"
        );
    }
    // Beto follows the link: told the address has an account, nothing changes.
    let mail = w.smtp.wait_for("beto@b.com.br", "Convite").await;
    let path = link(&mail, BASE);
    let page = w.s.browser().get(&path).await;
    assert!(page.body.contains("já tem uma conta"), "{}", page.body);
    let r = accept(&w.s, &path).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("Nada foi alterado"), "{}", r.body);
    let (_, beto) = w
        .owner
        .get(&format!("/api/v1/users/{}", u["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (
            beto["company_id"].as_str(),
            beto["role"].as_str(),
            beto["name"].as_str()
        ),
        (Some(w.b.as_str()), Some("company_user"), Some("Beto"))
    );
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM users WHERE email = 'beto@b.com.br'"),
        1
    );
    login_api(&w.s, "beto@b.com.br", PW).await;
}

/// Item 10: the company's history names the platform "Equipe <vendor>", without the
/// staff's e-mail or address, on the portal page and through the API.
#[tokio::test]
async fn tenants_see_the_platform_as_the_platform() {
    let w = world(&[("OTM_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let (st, u) = w
        .owner
        .post(
            &format!("/api/v1/companies/{}/users", w.b),
            json!({"name": "Equipe", "email": "equipe@example.com.br", "role": "company_user", "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    rusqlite::Connection::open(w.s.db_path())
        .unwrap()
        .execute(
            "UPDATE users SET role = 'staff', company_id = NULL WHERE email = 'equipe@example.com.br'",
            [],
        )
        .unwrap();
    let staff_ip = "203.0.113.77";
    let http = reqwest::Client::new();
    let r = http
        .post(w.s.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", staff_ip)
        .json(&json!({"email": "equipe@example.com.br", "password": PW}))
        .send()
        .await
        .unwrap();
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http
        .patch(w.s.url(&format!("/api/v1/companies/{}", w.a)))
        .header("X-Forwarded-For", staff_ip)
        .bearer_auth(&token)
        .json(&json!({"contact_name": "Contato pela Equipe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .put(w.s.url(&format!("/api/v1/companies/{}/omie-credentials", w.a)))
        .header("X-Forwarded-For", staff_ip)
        .bearer_auth(&token)
        .json(
            &json!({"app_key": "1724630275368", "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let actor_ip: String = rusqlite::Connection::open(w.s.db_path())
        .unwrap()
        .query_row(
            "SELECT ip FROM audit_log WHERE action = 'company.update'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        actor_ip, staff_ip,
        "the platform's own trail keeps the address"
    );

    let ana = w.s.browser();
    ana.login_to("ana@a.com.br", PW, "/portal").await;
    let history = ana.get("/portal/history").await.body;
    assert!(history.contains(TEAM), "{history}");
    assert!(!history.contains("equipe@example.com.br"), "{history}");
    assert!(!history.contains(staff_ip), "{history}");
    assert!(!history.contains(OWNER_EMAIL), "{history}");

    // Who stored the Omie credentials, on the portal's page and through the API.
    let omie = ana.get("/portal/omie").await.body;
    assert!(omie.contains(TEAM), "{omie}");
    assert!(!omie.contains("equipe@example.com.br"), "{omie}");
    let api = login_api(&w.s, "ana@a.com.br", PW).await;
    let (st, creds) = api
        .get(&format!("/api/v1/companies/{}/omie-credentials", w.a))
        .await;
    assert_eq!(
        (st, creds["updated_by"].as_str()),
        (200, Some(TEAM)),
        "{creds}"
    );
    let (st, page) = api.get("/api/v1/audit").await;
    assert_eq!(st, 200, "{page}");
    let text = page.to_string();
    assert!(
        !text.contains("equipe@example.com.br") && !text.contains(staff_ip),
        "{text}"
    );
    assert!(!text.contains(OWNER_EMAIL), "{text}");
    let update = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "company.update")
        .unwrap();
    assert_eq!(update["actor_label"], TEAM);
    assert_eq!(update["actor_id"], Value::Null);

    // The owner still sees who did it.
    let (_, all) = w.owner.get("/api/v1/audit?action=company.update").await;
    assert!(all.to_string().contains(staff_ip), "{all}");
}

/// Item 11: a line break (or other control character) in any field of the invitation
/// forms is a 422 with a message; nothing is written and nothing is mailed. An id that
/// is a URL is refused the same way.
#[tokio::test]
async fn invitation_forms_refuse_what_would_reach_a_header_or_a_redirect() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (_, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Empresa A Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let cid = c["id"].as_str().unwrap().to_string();
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = format!("/admin/companies/{cid}");
    let bad_cid = format!("{cid}\r\nSet-Cookie: x=1");
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "email",
            vec![
                ("email", "x@a.com.br\r\nBcc: y@evil.example"),
                ("role", "company_user"),
                ("company_id", &cid),
            ],
        ),
        (
            "role",
            vec![
                ("email", "x@a.com.br"),
                ("role", "staff\r\nX: y"),
                ("company_id", &cid),
            ],
        ),
        // The 500 of the report: a staff invitation was made, then the redirect to
        // the company's page broke.
        (
            "company_id",
            vec![
                ("email", "x@a.com.br"),
                ("role", "staff"),
                ("company_id", &bad_cid),
            ],
        ),
        (
            "company_id",
            vec![
                ("email", "x@a.com.br"),
                ("role", "company_user"),
                ("company_id", "https://evil.example/"),
            ],
        ),
    ];
    for (field, form) in &cases {
        let r = owner.submit(&page, "/admin/invitations", form).await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        assert!(r.location.is_none(), "{field}");
        assert!(
            r.body.contains("quebras de linha") || r.body.contains("Empresa inválida"),
            "{field}: {}",
            r.body
        );
    }
    // The portal's form too.
    let (st, _) = api
        .post(
            &format!("/api/v1/companies/{cid}/users"),
            json!({"name": "Ana", "email": "ana@a.com.br", "role": "company_admin", "password": PW}),
        )
        .await;
    assert_eq!(st, 201);
    let ana = s.browser();
    ana.login_to("ana@a.com.br", PW, "/portal").await;
    for form in [
        [
            ("email", "x@a.com.br\nBcc: y@evil.example"),
            ("role", "company_user"),
        ],
        [("email", "x@a.com.br"), ("role", "company_user\r\n")],
    ] {
        let r = ana
            .submit("/portal/users", "/portal/invitations", &form)
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("quebras de linha"), "{}", r.body);
    }
    // And the API's way to add a person: the address and the name are refused too.
    for body in [
        json!({"email": "x@a.com.br\r\nBcc: y@evil.example"}),
        json!({"email": "x@a.com.br", "name": "X\r\nBcc: y@evil.example", "password": PW}),
    ] {
        let (st, p) = api
            .post(&format!("/api/v1/companies/{cid}/users"), body)
            .await;
        assert_eq!(st, 422, "{p}");
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM invitations"), 0);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users WHERE email = 'x@a.com.br'"),
        0
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM outbox"), 0);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(smtp.all().is_empty(), "no mail");
    assert!(owner.get("/admin").await.status == 200, "still signed in");
}
