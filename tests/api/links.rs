//! Password reset and invitations, following the links in real e-mail.

use serde_json::json;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::{Smtp, link, with_smtp};

const NEW_PASSWORD: &str = "outra senha bem comprida";

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

fn sql(s: &Server, q: &str) {
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute_batch(q)
        .unwrap();
}

#[tokio::test]
async fn forgotten_password_by_e_mail() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    // A session and a token opened before the reset must end with it.
    let before = s.browser();
    before.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let api = s.api(&s.token().await);

    let b = s.browser();
    let known = b
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", OWNER_EMAIL)],
        )
        .await;
    let unknown = b
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "ninguem@example.com.br")],
        )
        .await;
    assert_eq!(known.status, 200);
    let strip = |body: &str, email: &str| {
        body.replace(email, "X")
            .replace(|c: char| c.is_ascii_hexdigit(), "")
    };
    assert_eq!(
        strip(&known.body, OWNER_EMAIL),
        strip(&unknown.body, "ninguem@example.com.br"),
        "same answer"
    );

    let mail = smtp.wait_for(OWNER_EMAIL, "Troca de senha").await;
    let path = link(&mail, "http://127.0.0.1:8080");
    assert!(path.starts_with("/password/reset/"), "{path}");
    assert_eq!(b.get(&path).await.status, 200);
    let weak = b
        .submit(
            &path,
            &path,
            &[("password", "curta"), ("password_confirm", "curta")],
        )
        .await;
    assert_eq!(weak.status, 422);
    let ok = b
        .submit(
            &path,
            &path,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!((ok.status, ok.location.as_deref()), (303, Some("/login")));

    assert_eq!(b.get(&path).await.status, 404, "single use");
    assert_eq!(before.get("/admin").await.status, 303, "old session ended");
    assert_eq!(
        api.get("/api/v1/companies").await.0,
        401,
        "old token revoked"
    );
    assert_eq!(try_login(&s, OWNER_EMAIL, OWNER_PASSWORD).await.status, 401);
    assert_eq!(
        try_login(&s, OWNER_EMAIL, NEW_PASSWORD)
            .await
            .location
            .as_deref(),
        Some("/admin")
    );
    assert!(
        !smtp
            .all()
            .iter()
            .any(|m| m.to.iter().any(|t| t.contains("ninguem"))),
        "no mail to unknown"
    );
}

#[tokio::test]
async fn reset_links_expire_after_an_hour() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let b = s.browser();
    b.submit(
        "/password/forgot",
        "/password/forgot",
        &[("email", OWNER_EMAIL)],
    )
    .await;
    let path = link(
        &smtp.wait_for(OWNER_EMAIL, "Troca de senha").await,
        "http://127.0.0.1:8080",
    );
    let expires: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT expires_at FROM password_resets", [], |r| r.get(0))
        .unwrap();
    let created: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT created_at FROM password_resets", [], |r| r.get(0))
        .unwrap();
    let hours = (chrono::DateTime::parse_from_rfc3339(&expires).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&created).unwrap())
    .num_minutes();
    assert_eq!(hours, 60);
    sql(
        &s,
        "UPDATE password_resets SET expires_at = '2000-01-01T00:00:00.000000Z'",
    );
    assert_eq!(b.get(&path).await.status, 404);
}

#[tokio::test]
async fn invitation_to_a_company_resend_revoke_and_accept() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (_, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Oficina Aurora Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let cid = c["id"].as_str().unwrap();
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = format!("/admin/companies/{cid}");
    let r = owner
        .submit(
            &page,
            "/admin/invitations",
            &[
                ("email", "bia@aurora.com.br"),
                ("role", "company_admin"),
                ("company_id", cid),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some(page.as_str()));
    let first = link(
        &smtp.wait_for("bia@aurora.com.br", "Convite").await,
        "http://127.0.0.1:8080",
    );
    assert!(owner.get(&page).await.body.contains("Convites em aberto"));

    // Resending makes a new link; the old one dies.
    let id: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT id FROM invitations", [], |r| r.get(0))
        .unwrap();
    owner
        .submit(&page, &format!("/admin/invitations/{id}/resend"), &[])
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let second = loop {
        let links: Vec<String> = smtp
            .all()
            .iter()
            .filter(|m| m.subject.contains("Convite"))
            .map(|m| link(m, "http://127.0.0.1:8080"))
            .collect();
        if links.len() == 2 {
            break links[1].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no second invitation mail"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_ne!(first, second);
    let visitor = s.browser();
    assert_eq!(visitor.get(&first).await.status, 404);
    let form = visitor.get(&second).await;
    assert!(
        form.body.contains("Oficina Aurora Ltda") && form.body.contains("Administrador da empresa")
    );

    let bad = visitor
        .submit(
            &second,
            &second,
            &[
                ("name", ""),
                ("password", "curta"),
                ("password_confirm", "curta"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Informe seu nome") && bad.body.contains("12 caracteres"));
    let ok = visitor
        .submit(
            &second,
            &second,
            &[
                ("name", "Beatriz Souza"),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(ok.location.as_deref(), Some("/login"));
    assert_eq!(visitor.get(&second).await.status, 404, "single use");
    assert_eq!(
        try_login(&s, "bia@aurora.com.br", NEW_PASSWORD)
            .await
            .location
            .as_deref(),
        Some("/portal")
    );

    // Revoked invitations stop working.
    owner
        .submit(
            &page,
            "/admin/invitations",
            &[
                ("email", "caio@aurora.com.br"),
                ("role", "company_user"),
                ("company_id", cid),
            ],
        )
        .await;
    let caio = link(
        &smtp.wait_for("caio@aurora.com.br", "Convite").await,
        "http://127.0.0.1:8080",
    );
    let id: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(
            "SELECT id FROM invitations WHERE email = 'caio@aurora.com.br'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    owner
        .submit(&page, &format!("/admin/invitations/{id}/revoke"), &[])
        .await;
    assert_eq!(visitor.get(&caio).await.status, 404);

    // Inviting an address that already has an account is refused.
    let dup = owner
        .submit(
            &page,
            "/admin/invitations",
            &[
                ("email", "bia@aurora.com.br"),
                ("role", "company_user"),
                ("company_id", cid),
            ],
        )
        .await;
    assert_eq!(dup.status, 303);
    assert!(
        owner
            .get(&page)
            .await
            .body
            .contains("Já existe uma conta com este e-mail")
    );
}

#[tokio::test]
async fn staff_invitation_and_expiry() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    owner
        .submit(
            "/admin/users",
            "/admin/invitations",
            &[("email", "equipe@example.com.br"), ("role", "staff")],
        )
        .await;
    let path = link(
        &smtp.wait_for("equipe@example.com.br", "Convite").await,
        "http://127.0.0.1:8080",
    );
    let b = s.browser();
    b.submit(
        &path,
        &path,
        &[
            ("name", "Pessoa da Equipe"),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        try_login(&s, "equipe@example.com.br", NEW_PASSWORD)
            .await
            .location
            .as_deref(),
        Some("/admin")
    );

    owner
        .submit(
            "/admin/users",
            "/admin/invitations",
            &[("email", "tarde@example.com.br"), ("role", "staff")],
        )
        .await;
    let late = link(
        &smtp.wait_for("tarde@example.com.br", "Convite").await,
        "http://127.0.0.1:8080",
    );
    sql(
        &s,
        "UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE email = 'tarde@example.com.br'",
    );
    assert_eq!(b.get(&late).await.status, 404, "expired after 72 hours");

    // Staff may not invite staff: the same 403 as every owner-only action.
    let staff = s.browser();
    staff.login("equipe@example.com.br", NEW_PASSWORD).await;
    let refused = staff
        .submit(
            "/admin/users",
            "/admin/invitations",
            &[("email", "outro@example.com.br"), ("role", "staff")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Acesso negado"), "{}", refused.body);
    // Nor disable the owner: platform accounts are the owner's to manage.
    let owner_id: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT id FROM users WHERE role = 'owner'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let refused = staff
        .submit(
            "/admin/users",
            &format!("/admin/users/{owner_id}/disable"),
            &[],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("Sua conta não pode fazer isso"),
        "{}",
        refused.body
    );
    assert_eq!(
        owner.get("/admin").await.status,
        200,
        "the owner is still in"
    );
}
