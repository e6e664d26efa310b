//! E-mail through a real SMTP server on loopback.

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::{Smtp, free_port, with_smtp};

async fn send_test_mail(s: &Server, to: &str) -> String {
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = b
        .submit(
            "/admin/settings",
            "/admin/settings/test-email",
            &[("to", to)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    b.get("/admin/settings").await.body
}

#[tokio::test]
async fn the_settings_page_sends_a_test_message() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let page = send_test_mail(&s, "teste@example.com.br").await;
    assert!(
        page.contains("value=\"127.0.0.1\"")
            && page.contains("E-mail de teste enviado para teste@example.com.br"),
        "{page}"
    );
    let mail = smtp
        .wait_for("teste@example.com.br", "Teste de e-mail")
        .await;
    assert!(
        mail.text.contains("o envio de e-mails está funcionando"),
        "{}",
        mail.text
    );
    assert!(mail.html.contains("<a href=\"http"), "an HTML part too");
    assert!(mail.text.contains(OWNER_EMAIL), "says who asked");
    assert!(mail.raw.contains("multipart/alternative"));
    assert_eq!(crate::smtp::link(&mail, "http://127.0.0.1:8080"), "/admin");

    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let settings = b.get("/admin/settings").await.body;
    assert!(settings.contains("Enviado"), "the queue shows it sent");
    assert!(
        settings.contains(&format!("vão para: <strong>{OWNER_EMAIL}</strong>")),
        "alerts go to the owners by default"
    );
    let audit = b.get("/admin/audit?action=email.test").await.body;
    assert!(audit.contains(r#"data-action="email.test""#));
}

#[tokio::test]
async fn mail_waits_while_smtp_is_down_and_leaves_when_it_is_back() {
    let port = free_port();
    let s = with_smtp(port);
    s.create_owner();
    send_test_mail(&s, "espera@example.com.br").await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = b.get("/admin/settings").await.body;
    assert!(page.contains("1 mensagem(ns) esperando envio"), "{page}");
    assert!(page.contains("Na fila"));

    let smtp = Smtp::start_on(port);
    let mail = smtp
        .wait_for("espera@example.com.br", "Teste de e-mail")
        .await;
    assert!(mail.text.contains("funcionando"));
    assert_eq!(smtp.all().len(), 1, "sent once");
}

#[tokio::test]
async fn a_queued_reset_link_is_sealed_until_it_is_sent() {
    let port = free_port();
    let s = with_smtp(port);
    s.create_owner();
    let b = s.browser();
    let r = b
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", OWNER_EMAIL)],
        )
        .await;
    assert_eq!(r.status, 200);
    // While SMTP is down the message waits in the outbox: neither the database file nor
    // its WAL holds the link (nor the body's text) in clear.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut bytes = std::fs::read(s.db_path()).unwrap();
    bytes.extend(std::fs::read(format!("{}-wal", s.db_path().display())).unwrap_or_default());
    for needle in [
        "/password/reset/",
        "Recebemos um pedido para trocar a senha",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle:?} is in the database in clear"
        );
    }
    let queued: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(
            "SELECT text_body FROM outbox WHERE kind = 'password_reset'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(queued.starts_with("v1."), "sealed: {queued}");

    let smtp = Smtp::start_on(port);
    let mail = smtp.wait_for(OWNER_EMAIL, "Troca de senha").await;
    assert!(mail.text.contains("/password/reset/"), "{}", mail.text);
}

#[tokio::test]
async fn without_smtp_mail_is_kept_and_the_page_says_so() {
    let s = Server::start();
    s.create_owner();
    let page = send_test_mail(&s, "fila@example.com.br").await;
    assert!(page.contains("não está configurado"), "{page}");
    assert!(page.contains("1 mensagem(ns) esperando envio"));
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn only_the_owner_sees_settings() {
    let s = Server::start();
    let b = s.browser();
    let p = b.get("/admin/settings").await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/login?next=%2Fadmin%2Fsettings"))
    );
}

/// A message the mail server refuses for good is not retried for ever: it becomes a
/// dead letter, the settings page shows it, the owner is alerted, and "Tentar de novo"
/// gives it another round.
#[tokio::test]
async fn a_refused_message_becomes_a_dead_letter_that_is_alerted_and_retried() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    send_test_mail(&s, crate::smtp::REFUSED_MAILBOX).await;
    let alert = smtp
        .wait_for(OWNER_EMAIL, "e-mails que não puderam ser enviados")
        .await;
    assert!(alert.text.contains("Tentar de novo"), "{}", alert.text);
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = b.get("/admin/settings").await.body;
    assert!(page.contains("Não enviado (desistimos)"), "{page}");
    assert!(
        page.contains("550"),
        "the server's refusal is shown: {page}"
    );
    assert!(page.contains("Tentar de novo"));
    let attempts: i64 = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(
            "SELECT attempts FROM outbox WHERE to_addr = ?1",
            [crate::smtp::REFUSED_MAILBOX],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attempts, 1, "a permanent refusal is not tried again");
    assert_eq!(
        reqwest::get(s.url("/readyz")).await.unwrap().status(),
        200,
        "a dead letter is not a dead job"
    );

    let r = b
        .submit("/admin/settings", "/admin/settings/retry-mail", &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get("/admin/settings").await.body;
    assert!(
        page.contains("voltaram para a fila"),
        "{}",
        &page[page.len().saturating_sub(3000)..]
    );
    let audit = b.get("/admin/audit?action=email.retry").await.body;
    assert!(audit.contains(r#"data-action="email.retry""#), "{audit}");
}

/// A stop signal ends the server and its background jobs cleanly.
#[tokio::test]
async fn a_stop_signal_ends_the_jobs_cleanly() {
    let mut s = Server::start_with(&[("OTM_LOG", "info")]);
    s.create_owner();
    let code = s.terminate();
    let log = std::fs::read_to_string(s.log_path()).unwrap();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("background jobs stopped"), "{log}");
}
