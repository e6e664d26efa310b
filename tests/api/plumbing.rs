//! Request plumbing (DESIGN.md §8.1): body limits, form errors, request ids and the
//! access log, CSRF tokens bound to the session, cache-busted assets.

use crate::common::Server;

/// A login form with a valid token and a `filler` field of `size` bytes.
async fn big_login_form(s: &Server, size: usize) -> reqwest::Response {
    let b = s.browser();
    let csrf = b.get("/login").await.csrf();
    let filler = "x".repeat(size);
    b.http
        .post(s.url("/login"))
        .header("Origin", &s.base)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "a@example.com"),
            ("password", "x"),
            ("filler", filler.as_str()),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bodies_over_the_limit_answer_413() {
    let s = Server::start();
    let c = reqwest::Client::new();
    // JSON over 64 KiB: problem+json naming the limit.
    let big = "x".repeat(100 * 1024);
    let r = c
        .post(s.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(format!("{{\"email\":\"{big}\",\"password\":\"x\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["status"], 413);
    assert_eq!(p["title"], "Payload too large");
    assert!(p["detail"].as_str().unwrap().contains("64 KiB"), "{p}");
    // Any other body over 256 KiB (the token endpoint reads raw bytes).
    let r = c
        .post(s.url("/api/v1/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&x={}",
            "y".repeat(300 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["title"], "Payload too large");
    assert!(p["detail"].as_str().unwrap().contains("256 KiB"), "{p}");
    // A page form over 64 KiB, and over 256 KiB: a Portuguese page, not "form expired".
    for size in [100 * 1024, 300 * 1024] {
        let r = big_login_form(&s, size).await;
        assert_eq!(r.status(), 413, "{size}");
        let body = r.text().await.unwrap();
        assert!(body.contains("O envio é grande demais"), "{size}: {body}");
        assert!(!body.contains("Formulário expirado"), "{size}");
    }
    // Under the limit still works (wrong password: 401, the form was read).
    assert_eq!(big_login_form(&s, 1024).await.status(), 401);
}
#[tokio::test]
async fn a_malformed_form_is_a_400_that_says_what_to_do() {
    let s = Server::start();
    let b = s.browser();
    let csrf = b.get("/login").await.csrf();
    let post = |body: String, ct: &'static str| {
        b.http
            .post(s.url("/login"))
            .header("Origin", &s.base)
            .header("Sec-Fetch-Site", "same-origin")
            .header("content-type", ct)
            .body(body)
            .send()
    };
    // A field sent twice cannot fill the form.
    let r = post(
        format!("csrf_token={csrf}&email=a%40example.com&email=b%40example.com&password=x"),
        "application/x-www-form-urlencoded",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("Formulário inválido"), "{body}");
    assert!(body.contains("recarregue a página"), "{body}");
    // The same body without a valid token is still refused as an expired form.
    let r = post(
        "csrf_token=nope&email=a%40example.com&email=b%40example.com".into(),
        "application/x-www-form-urlencoded",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Formulário expirado"));
    // Not a url-encoded form at all.
    for ct in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json",
    ] {
        let r = post(format!("csrf_token={csrf}&email=a"), ct)
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{ct}");
        let body = r.text().await.unwrap();
        assert!(body.contains("Formato de envio não aceito"), "{ct}: {body}");
    }
}
