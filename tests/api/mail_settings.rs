//! E-mail settings on the owner's settings page: stored in the database, the
//! environment winning, the password sealed and never shown, and flashes that tell the
//! truth while mail cannot leave.

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::Smtp;

const SECRET: &str = "senha-do-smtp-Xyz987";

fn audit_details(s: &Server, action: &str) -> Vec<String> {
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let mut st = db
        .prepare("SELECT details FROM audit_log WHERE action = ?1 ORDER BY id")
        .unwrap();
    st.query_map([action], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn all_audit(s: &Server) -> String {
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let mut st = db.prepare("SELECT details FROM audit_log").unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_owner_configures_smtp_in_the_page_and_the_test_mail_arrives() {
    let smtp = Smtp::start();
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = b.get("/admin/settings").await.body;
    assert!(page.contains("ainda não está configurado"), "{page}");

    // A typo is refused in Portuguese, and what was typed stays.
    let port = smtp.port.to_string();
    let bad = b
        .submit(
            "/admin/settings",
            "/admin/settings/mail",
            &[
                ("host", "127.0.0.1"),
                ("port", "porta"),
                ("security", "none"),
                ("username", "gestor"),
                ("password", SECRET),
                ("mail_from", "Gestor <gestor@example.com.br>"),
                ("alert_emails", "alertas@example.com.br"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("Informe a porta com números"),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("value=\"porta\""), "keeps what was typed");
    assert!(bad.body.contains("value=\"alertas@example.com.br\""));
    assert!(!bad.body.contains(SECRET), "the password is not echoed");

    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/mail",
            &[
                ("host", "127.0.0.1"),
                ("port", &port),
                ("security", "none"),
                ("username", ""),
                ("password", SECRET),
                ("mail_from", "Gestor <gestor@example.com.br>"),
                ("alert_emails", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get("/admin/settings").await.body;
    assert!(page.contains("Configurações de e-mail salvas"), "{page}");
    assert!(page.contains("value=\"127.0.0.1\""), "{page}");
    assert!(page.contains("uma senha está guardada"), "{page}");
    assert!(!page.contains(SECRET), "the password is never shown again");

    // The test button, with no restart: the mail arrives, and the page says so.
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/test-email",
            &[("to", OWNER_EMAIL)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mail = smtp.wait_for(OWNER_EMAIL, "Teste de e-mail").await;
    assert!(
        mail.raw.contains("gestor@example.com.br"),
        "the sender typed"
    );
    let page = b.get("/admin/settings").await.body;
    assert!(
        page.contains(&format!("E-mail de teste enviado para {OWNER_EMAIL}")),
        "{page}"
    );
    assert!(!page.contains(SECRET));

    // Audited, without the password.
    let rows = audit_details(&s, "mail.settings_update");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("\"password\":\"changed\""), "{}", rows[0]);
    assert!(!all_audit(&s).contains(SECRET));
    assert!(
        !std::fs::read_to_string(s.log_path())
            .unwrap_or_default()
            .contains(SECRET)
    );

    // Blank keeps the password; the checkbox clears it.
    let form = |clear: bool| {
        let mut f = vec![
            ("host", "127.0.0.1"),
            ("port", port.as_str()),
            ("security", "none"),
            ("username", ""),
            ("password", ""),
            ("mail_from", "Gestor <gestor@example.com.br>"),
            ("alert_emails", ""),
        ];
        if clear {
            f.push(("clear_password", "1"));
        }
        f
    };
    b.submit("/admin/settings", "/admin/settings/mail", &form(false))
        .await;
    assert!(
        b.get("/admin/settings")
            .await
            .body
            .contains("uma senha está guardada")
    );
    b.submit("/admin/settings", "/admin/settings/mail", &form(true))
        .await;
    assert!(
        b.get("/admin/settings")
            .await
            .body
            .contains("nenhuma senha guardada")
    );
}

#[tokio::test]
async fn an_environment_variable_wins_and_its_field_is_read_only() {
    let smtp = Smtp::start();
    let s = Server::start_with(&[("OTM_SMTP_HOST", "127.0.0.1")]);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = b.get("/admin/settings").await.body;
    let host_input = page
        .split("<input id=\"host\"")
        .nth(1)
        .and_then(|r| r.split('>').next())
        .unwrap_or_default()
        .to_string();
    assert!(host_input.contains("readonly"), "{page}");
    assert!(page.contains("Definido pela variável OTM_SMTP_HOST"));
    let port_input = page
        .split("<input id=\"port\"")
        .nth(1)
        .and_then(|r| r.split('>').next())
        .unwrap_or_default()
        .to_string();
    assert!(!port_input.contains("readonly"), "{port_input}");

    // The page's host is ignored; the rest is stored and used.
    let port = smtp.port.to_string();
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/mail",
            &[
                ("host", "outro.example.com.br"),
                ("port", &port),
                ("security", "none"),
                ("username", ""),
                ("password", ""),
                ("mail_from", "Gestor <gestor@example.com.br>"),
                ("alert_emails", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get("/admin/settings").await.body;
    assert!(page.contains("value=\"127.0.0.1\""), "{page}");
    assert!(!page.contains("outro.example.com.br"));
    b.submit(
        "/admin/settings",
        "/admin/settings/test-email",
        &[("to", OWNER_EMAIL)],
    )
    .await;
    smtp.wait_for(OWNER_EMAIL, "Teste de e-mail").await;
}

#[tokio::test]
async fn without_smtp_the_flashes_say_the_mail_waits() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = b
        .submit(
            "/admin/users",
            "/admin/invitations",
            &[
                ("email", "nova@example.com.br"),
                ("role", "staff"),
                ("company_id", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(r.location.as_deref().unwrap()).await.body;
    assert!(
        page.contains("e-mail ficará na fila até o envio ser configurado"),
        "{page}"
    );
    assert!(!page.contains("Convite enviado"), "{page}");

    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/test-email",
            &[("to", OWNER_EMAIL)],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = b.get("/admin/settings").await.body;
    assert!(
        page.contains("e-mail ficará na fila até o envio ser configurado"),
        "{page}"
    );
}

#[tokio::test]
async fn the_test_button_says_why_the_mail_did_not_leave() {
    let port = crate::smtp::free_port().to_string();
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/mail",
            &[
                ("host", "127.0.0.1"),
                ("port", &port),
                ("security", "none"),
                ("username", ""),
                ("password", ""),
                ("mail_from", "gestor@example.com.br"),
                ("alert_emails", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    b.submit(
        "/admin/settings",
        "/admin/settings/test-email",
        &[("to", OWNER_EMAIL)],
    )
    .await;
    let page = b.get("/admin/settings").await.body;
    assert!(
        page.contains("não foi enviado: o servidor de e-mail recusou a conexão"),
        "{page}"
    );
}
