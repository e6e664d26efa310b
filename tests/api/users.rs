//! Sign-up, approval, refusal, disabling, and what people are told at sign-in.

use serde_json::json;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::{Smtp, with_smtp};

const PERSON: &str = "joana.lima@padaria.com.br";
const PERSON_PASSWORD: &str = "farinha fermento forno";

async fn company(s: &Server, cnpj: &str) -> String {
    let api = s.api(&s.token().await);
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Pão Quente Ltda", "cnpj": cnpj}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn signup_page(s: &Server, cnpj: &str, email: &str) -> crate::common::Page {
    s.browser()
        .submit(
            "/signup",
            "/signup",
            &[
                ("cnpj", cnpj),
                ("name", "Joana Lima"),
                ("email", email),
                ("password", PERSON_PASSWORD),
                ("password_confirm", PERSON_PASSWORD),
            ],
        )
        .await
}

async fn try_login(s: &Server, email: &str, password: &str) -> crate::common::Page {
    let b = s.browser();
    let csrf = b.get("/login").await.csrf();
    b.post(
        "/login",
        &[
            ("csrf_token", &csrf),
            ("email", email),
            ("password", password),
        ],
    )
    .await
}

fn pending_user_id(s: &Server, email: &str) -> String {
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    db.query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
        r.get(0)
    })
    .unwrap()
}

#[tokio::test]
async fn sign_up_for_a_registered_company_then_approval() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    company(&s, "11222333000181").await;

    let page = signup_page(&s, "11.222.333/0001-81", PERSON).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Pedido recebido"));
    let to_person = smtp.wait_for(PERSON, "Recebemos seu pedido").await;
    assert!(to_person.text.contains("11.222.333/0001-81"));
    let to_owner = smtp.wait_for(OWNER_EMAIL, "Novo pedido de acesso").await;
    assert!(
        to_owner.text.contains(PERSON) && to_owner.text.contains("/admin/users?status=pending")
    );

    // Pending people are told why they cannot enter — but only with the right password.
    let refused = try_login(&s, PERSON, PERSON_PASSWORD).await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.body.contains("aguarda aprovação"),
        "{}",
        refused.body
    );
    let wrong = try_login(&s, PERSON, "senha errada demais").await;
    assert!(wrong.body.contains("E-mail ou senha incorretos") && !wrong.body.contains("aprovação"));

    // The owner sees the badge and approves as company admin.
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let list = owner.get("/admin/users?status=pending").await;
    assert!(list.body.contains("class=\"badge\""), "badge shown");
    assert!(list.body.contains(PERSON));
    let id = pending_user_id(&s, PERSON);
    let r = owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/approve"),
            &[("role", "company_admin")],
        )
        .await;
    assert_eq!(r.status, 303);
    let approved = smtp.wait_for(PERSON, "aprovado").await;
    assert!(approved.text.contains("/login"));
    assert!(
        !owner.get("/admin").await.body.contains("class=\"badge\""),
        "badge gone"
    );

    // Now the person signs in to the portal and sees only their company.
    let b = s.browser();
    let csrf = b.get("/login").await.csrf();
    let r = b
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", PERSON),
                ("password", PERSON_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/portal"));
    let portal = b.get("/portal").await;
    assert!(
        portal.body.contains("Padaria Pão Quente Ltda") && portal.body.contains("Salvar contato")
    );
    // The admin area is not theirs.
    assert_eq!(
        b.get("/admin/companies").await.location.as_deref(),
        Some("/portal")
    );
    let audit = owner.get("/admin/audit").await.body;
    for a in ["user.signup", "user.approve", "auth.login_refused"] {
        assert!(audit.contains(&format!("data-action=\"{a}\"")), "{a}");
    }
}

#[tokio::test]
async fn sign_up_with_an_unknown_cnpj_is_a_company_request() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/signup"))
        .json(&json!({"cnpj": "12.ABC.345/01DE-35", "name": "Joana Lima", "email": PERSON, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    smtp.wait_for(OWNER_EMAIL, "Novo pedido de acesso").await;
    let received = smtp.wait_for(PERSON, "Recebemos seu pedido").await;
    assert!(received.text.contains("ainda não está cadastrada"));

    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = owner.get("/admin/users").await;
    assert!(page.body.contains("12.ABC.345/01DE-35"));
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let req: String = db
        .query_row("SELECT id FROM company_requests", [], |r| r.get(0))
        .unwrap();
    // A missing legal name is refused and changes nothing.
    let bad = owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{req}/accept"),
            &[("legal_name", "")],
        )
        .await;
    assert_eq!(bad.status, 303);
    assert!(
        owner
            .get("/admin/users")
            .await
            .body
            .contains("Informe a razão social")
    );
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM companies", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "nothing half-written");

    let ok = owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{req}/accept"),
            &[("legal_name", "Oficina Aurora Ltda")],
        )
        .await;
    assert_eq!(ok.status, 303);
    smtp.wait_for(PERSON, "aprovado").await;
    let role: String = db
        .query_row("SELECT role FROM users WHERE email = ?1", [PERSON], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(role, "company_admin");
    let r = try_login(&s, PERSON, PERSON_PASSWORD).await;
    assert_eq!(r.location.as_deref(), Some("/portal"));
}

#[tokio::test]
async fn refusal_with_a_reason_is_mailed_and_shown_at_sign_in() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    company(&s, "11222333000181").await;
    signup_page(&s, "11222333000181", PERSON).await;
    let id = pending_user_id(&s, PERSON);
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/reject"),
            &[("reason", "Não trabalha nesta empresa"), ("confirm", "sim")],
        )
        .await;
    let mail = smtp.wait_for(PERSON, "recusado").await;
    assert!(mail.text.contains("Não trabalha nesta empresa"));
    let r = try_login(&s, PERSON, PERSON_PASSWORD).await;
    assert!(
        r.body.contains("recusado") && r.body.contains("Não trabalha nesta empresa"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn signing_up_again_with_a_known_email_reveals_nothing() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    company(&s, "11222333000181").await;
    let first = signup_page(&s, "11222333000181", PERSON).await;
    let second = signup_page(&s, "00000000000191", PERSON).await;
    let owner_again = signup_page(&s, "11222333000181", OWNER_EMAIL).await;
    for p in [&first, &second, &owner_again] {
        assert_eq!(p.status, 200);
        assert!(p.body.contains("Pedido recebido"));
    }
    smtp.wait_for(PERSON, "Pedido de cadastro").await;
    smtp.wait_for(OWNER_EMAIL, "Pedido de cadastro").await;
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2, "owner and one pending person");
}

#[tokio::test]
async fn invalid_sign_up_is_explained_in_portuguese() {
    let s = Server::start();
    let p = s
        .browser()
        .submit(
            "/signup",
            "/signup",
            &[
                ("cnpj", "11.222.333/0001-80"),
                ("name", ""),
                ("email", "joana"),
                ("password", "curta"),
                ("password_confirm", "x"),
            ],
        )
        .await;
    assert_eq!(p.status, 422);
    for m in [
        "dígitos verificadores",
        "Informe seu nome",
        "E-mail inválido",
        "12 caracteres",
    ] {
        assert!(p.body.contains(m), "{m}");
    }
    assert!(p.body.contains("11.222.333/0001-80"), "typed value kept");
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/signup"))
        .json(&json!({"cnpj": "1", "name": "J", "email": "j@x.com.br", "password": "curta"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let p: serde_json::Value = r.json().await.unwrap();
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["cnpj", "password"]);
}

#[tokio::test]
async fn disabling_ends_open_sessions_and_suspension_locks_the_company_out() {
    let s = Server::start();
    s.create_owner();
    let cid = company(&s, "11222333000181").await;
    signup_page(&s, "11222333000181", PERSON).await;
    let id = pending_user_id(&s, PERSON);
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/approve"),
            &[("role", "company_user")],
        )
        .await;

    let person = s.browser();
    let csrf = person.get("/login").await.csrf();
    person
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", PERSON),
                ("password", PERSON_PASSWORD),
            ],
        )
        .await;
    assert_eq!(person.get("/portal").await.status, 200);

    owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/disable"),
            &[("confirm", "sim")],
        )
        .await;
    assert_eq!(
        person.get("/portal").await.location.as_deref(),
        Some("/login"),
        "session ended at once"
    );
    assert!(
        try_login(&s, PERSON, PERSON_PASSWORD)
            .await
            .body
            .contains("desativada")
    );

    owner
        .submit("/admin/users", &format!("/admin/users/{id}/enable"), &[])
        .await;
    assert_eq!(
        try_login(&s, PERSON, PERSON_PASSWORD)
            .await
            .location
            .as_deref(),
        Some("/portal")
    );
    let open = s.browser();
    open.login_to(PERSON, PERSON_PASSWORD, "/portal").await;
    let api = s.api(&s.token().await);
    api.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/companies/{cid}"),
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert!(
        try_login(&s, PERSON, PERSON_PASSWORD)
            .await
            .body
            .contains("suspenso")
    );
    assert_eq!(
        open.get("/portal").await.location.as_deref(),
        Some("/login"),
        "an open session ends with the suspension"
    );
}

#[tokio::test]
async fn sign_up_mail_waits_for_a_stopped_smtp_server() {
    let port = crate::smtp::free_port();
    let s = with_smtp(port);
    s.create_owner();
    company(&s, "11222333000181").await;
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/signup"))
        .json(&json!({"cnpj": "11222333000181", "name": "Joana Lima", "email": PERSON, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        202,
        "the sign-up is accepted while mail cannot leave"
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let (pending, attempts): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), MAX(attempts) FROM outbox WHERE status = 'pending'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(pending, 2, "one to the person, one to the owner");
    assert!(attempts >= 1, "tried and failed");

    let smtp = Smtp::start_on(port);
    smtp.wait_for(PERSON, "Recebemos seu pedido").await;
    smtp.wait_for(OWNER_EMAIL, "Novo pedido de acesso").await;
}

/// bcrypt takes a quarter of a second on purpose; a request must not hold one of the
/// few database connections meanwhile, or a handful of sign-ups stall every page.
#[tokio::test]
async fn password_hashing_holds_no_database_connection() {
    let s = Server::start_with(&[("OTM_BCRYPT_COST", "12"), ("OTM_DB_POOL_SIZE", "2")]);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Empresa A Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let company = c["id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let mut hashing = tokio::task::JoinSet::new();
    for i in 0..2 {
        // A sign-up and an admin creating a person with a password: both hash.
        let signup = reqwest::Client::new().post(s.url("/api/v1/signup")).json(
            &json!({"cnpj": "11222333000181", "name": "Bia", "email": format!("bia{i}@a.com.br"),
                          "password": "cavalo bateria grampo azul"}),
        );
        let create = owner
            .http
            .post(s.url(&format!("/api/v1/companies/{company}/users")))
            .bearer_auth(&owner.token)
            .json(
                &json!({"email": format!("caio{i}@a.com.br"), "name": "Caio",
                          "password": "cavalo bateria grampo azul"}),
            );
        hashing.spawn(async move { signup.send().await.unwrap().status().as_u16() });
        hashing.spawn(async move { create.send().await.unwrap().status().as_u16() });
    }
    // While they hash, the database still answers at once.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let asked = std::time::Instant::now();
    let ready = reqwest::get(s.url("/readyz")).await.unwrap().status();
    let ready_after = asked.elapsed();
    let statuses = hashing.join_all().await;
    let hashing_took = started.elapsed();
    assert_eq!(ready, 200);
    assert!(
        statuses.iter().all(|s| [201, 202].contains(s)),
        "{statuses:?}"
    );
    assert!(
        ready_after * 4 < hashing_took,
        "readyz waited {ready_after:?} while four bcrypt hashes took {hashing_took:?}"
    );
}

/// Changing one's password runs bcrypt twice (the current one, then the new one); none
/// of it may hold a database connection.
#[tokio::test]
async fn a_password_change_holds_no_database_connection() {
    let s = Server::start_with(&[("OTM_BCRYPT_COST", "12"), ("OTM_DB_POOL_SIZE", "1")]);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let csrf = b.get("/admin/profile").await.csrf();
    let started = std::time::Instant::now();
    let change = b
        .http
        .post(s.url("/admin/profile/password"))
        .header("Origin", &b.base)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("current_password", OWNER_PASSWORD),
            ("password", "outra senha bem comprida"),
            ("password_confirm", "outra senha bem comprida"),
        ])
        .send();
    let changing = tokio::spawn(async move { change.await.unwrap().status().as_u16() });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let asked = std::time::Instant::now();
    let ready = reqwest::get(s.url("/readyz")).await.unwrap().status();
    let ready_after = asked.elapsed();
    let status = changing.await.unwrap();
    let change_took = started.elapsed();
    assert_eq!(ready, 200);
    assert_eq!(status, 303, "the password was changed");
    assert!(
        ready_after * 4 < change_took,
        "readyz waited {ready_after:?} while the change took {change_took:?}"
    );
}

/// A refused sign-up was offered a one-click *Reativar* that let the refused person into
/// the company's portal, silently. Now the row offers only *Aprovar mesmo assim*, which
/// needs a confirmation, and the person is told by e-mail; enabling does not do it.
#[tokio::test]
async fn a_refused_sign_up_is_approved_only_deliberately_and_the_person_is_told() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    company(&s, "11222333000181").await;
    signup_page(&s, "11222333000181", PERSON).await;
    let id = pending_user_id(&s, PERSON);
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/reject"),
            &[("confirm", "sim")],
        )
        .await;
    smtp.wait_for(PERSON, "recusado").await;
    let list = owner.get("/admin/users").await;
    assert!(
        !list.body.contains(&format!("/admin/users/{id}/enable")),
        "no one-click Reativar for a refused sign-up"
    );
    assert!(list.body.contains("Aprovar mesmo assim"));
    // The old one-click path and an approval without the confirmation let no one in.
    let r = owner
        .submit("/admin/users", &format!("/admin/users/{id}/enable"), &[])
        .await;
    assert_eq!(r.status, 303);
    let r = owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/approve"),
            &[("role", "company_user")],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = owner.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("marque a confirmação"), "{}", page.body);
    assert_ne!(
        try_login(&s, PERSON, PERSON_PASSWORD)
            .await
            .location
            .as_deref(),
        Some("/portal"),
        "still refused"
    );
    // Confirmed: in, and told.
    owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/approve"),
            &[("role", "company_user"), ("confirm", "sim")],
        )
        .await;
    smtp.wait_for(PERSON, "aprovado").await;
    assert_eq!(
        try_login(&s, PERSON, PERSON_PASSWORD)
            .await
            .location
            .as_deref(),
        Some("/portal")
    );
}

/// People of an archived company were told their company was "suspensa": an archived
/// company ended its relation, and sign-in now says so.
#[tokio::test]
async fn people_of_an_archived_company_are_told_it_is_archived_not_suspended() {
    let s = Server::start();
    s.create_owner();
    let cid = company(&s, "11222333000181").await;
    signup_page(&s, "11222333000181", PERSON).await;
    let id = pending_user_id(&s, PERSON);
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/approve"),
            &[("role", "company_user")],
        )
        .await;
    let api = s.api(&s.token().await);
    let (st, c) = api
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/companies/{cid}"),
            Some(json!({"status": "archived"})),
        )
        .await;
    assert_eq!(st, 200, "{c}");
    let page = try_login(&s, PERSON, PERSON_PASSWORD).await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("arquivad"), "{}", page.body);
    assert!(!page.body.contains("suspens"), "{}", page.body);
}

/// The owner was offered *Desativar* on their own row (which the server then refused),
/// and Usuários had no "Recusado" filter: refused sign-ups hid among the disabled.
#[tokio::test]
async fn no_disable_on_ones_own_row_and_a_refused_filter() {
    let s = Server::start();
    s.create_owner();
    company(&s, "11222333000181").await;
    signup_page(&s, "11222333000181", PERSON).await;
    let id = pending_user_id(&s, PERSON);
    let me = pending_user_id(&s, OWNER_EMAIL);
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let list = owner.get("/admin/users").await;
    assert!(
        !list.body.contains(&format!("/admin/users/{me}/disable")),
        "no Desativar on one's own row"
    );
    assert!(list.body.contains("value=\"refused\""), "a Recusado filter");
    owner
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/reject"),
            &[("confirm", "sim")],
        )
        .await;
    let refused = owner.get("/admin/users?status=refused").await;
    assert!(refused.body.contains(PERSON), "{}", refused.body);
    assert!(
        !refused
            .body
            .contains(OWNER_EMAIL.split('@').next().unwrap())
    );
    let active = owner.get("/admin/users?status=active").await;
    assert!(!active.body.contains(PERSON));
}
