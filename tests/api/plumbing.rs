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

#[tokio::test]
async fn every_response_carries_a_request_id_and_the_log_one_line_without_the_path() {
    let s = Server::start_with(&[("OTM_LOG", "info")]);
    s.create_owner();
    let token = s.token().await;
    let c = reqwest::Client::new();
    let mut seen = std::collections::HashSet::new();
    for path in [
        "/login",
        "/api/v1/validate/cnpj?value=1",
        "/nao-existe",
        "/api/v1/nothing",
    ] {
        let r = c.get(s.url(path)).send().await.unwrap();
        let id = r.headers().get("x-request-id").unwrap().to_str().unwrap();
        assert!(!id.is_empty(), "{path}");
        assert!(seen.insert(id.to_string()), "{path}: id {id} repeated");
    }
    // A proxy's id is kept; one that is not plain is replaced.
    let r = c
        .get(s.url("/login"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "abc-123");
    let long = "a".repeat(200);
    for bad in ["a b;c", long.as_str()] {
        let r = c
            .get(s.url("/login"))
            .header("X-Request-Id", bad)
            .send()
            .await
            .unwrap();
        let id = r.headers().get("x-request-id").unwrap().to_str().unwrap();
        assert!(!id.is_empty() && id != bad, "{bad}");
    }
    // A refused cross-site form post carries one too.
    let r = c
        .post(s.url("/login"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("email", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("x-request-id").is_some());

    let r = c
        .get(s.url("/api/v1/companies/cmp_hiddenid42?secret=xyz"))
        .bearer_auth(&token)
        .header("X-Request-Id", "log-test-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers().get("x-request-id").unwrap(), "log-test-42");
    let mut lines = Vec::new();
    for _ in 0..50 {
        let log = std::fs::read_to_string(s.log_path()).unwrap();
        lines = log
            .lines()
            .filter(|l| l.contains("log-test-42"))
            .map(str::to_string)
            .collect();
        if !lines.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    for wanted in ["/api/v1/companies/{id}", "GET", "404", "access"] {
        assert!(line.contains(wanted), "{wanted} missing: {line}");
    }
    assert!(line.contains("ms"), "{line}");
    for secret in ["cmp_hiddenid42", "secret", "xyz", token.as_str()] {
        assert!(!line.contains(secret), "{secret} in: {line}");
    }
}

/// The value of cookie `name` set by `r`, if any.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (k, val) = pair.split_once('=')?;
        (k == name && !val.is_empty()).then(|| val.to_string())
    })
}

/// A client that keeps no cookies: each request says exactly which it carries.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs the owner in through the pages; returns the session and the CSRF cookie.
async fn sign_in(s: &Server) -> (String, String) {
    let c = bare_client();
    let r = c.get(s.url("/login")).send().await.unwrap();
    let csrf_cookie = set_cookie(&r, "otm_csrf").unwrap();
    let page = crate::common::Page {
        status: 200,
        location: None,
        body: r.text().await.unwrap(),
    };
    let r = c
        .post(s.url("/login"))
        .header("cookie", format!("otm_csrf={csrf_cookie}"))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[
            ("csrf_token", page.csrf().as_str()),
            ("email", crate::common::OWNER_EMAIL),
            ("password", crate::common::OWNER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    (
        set_cookie(&r, "otm_session").unwrap(),
        set_cookie(&r, "otm_csrf").unwrap(),
    )
}

async fn form_token(s: &Server, cookies: &str) -> String {
    let r = bare_client()
        .get(s.url("/admin/companies/new"))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    crate::common::Page {
        status: 200,
        location: None,
        body: r.text().await.unwrap(),
    }
    .csrf()
}

async fn post_with(s: &Server, path: &str, cookies: &str, token: &str) -> (u16, String) {
    let r = bare_client()
        .post(s.url(path))
        .header("cookie", cookies)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("csrf_token", token), ("legal_name", "")])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_form_token_of_one_session_is_refused_in_another_with_the_same_csrf_cookie() {
    let s = Server::start();
    s.create_owner();
    let (session_a, csrf_a) = sign_in(&s).await;
    let (session_b, _) = sign_in(&s).await;
    let as_a = format!("otm_session={session_a}; otm_csrf={csrf_a}");
    // B's session, but A's CSRF cookie (planted, or the same browser profile).
    let as_b = format!("otm_session={session_b}; otm_csrf={csrf_a}");
    let token_a = form_token(&s, &as_a).await;
    let token_b = form_token(&s, &as_b).await;

    for path in ["/admin/companies", "/logout"] {
        let (status, body) = post_with(&s, path, &as_b, &token_a).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("Formulário expirado"), "{path}");
    }
    assert_ne!(token_a, token_b);
    // Each session's own token is taken: an empty company form re-renders with errors.
    assert_eq!(
        post_with(&s, "/admin/companies", &as_a, &token_a).await.0,
        422
    );
    assert_eq!(
        post_with(&s, "/admin/companies", &as_b, &token_b).await.0,
        422
    );
    // And signing out (outside /admin) takes the token its pages carry.
    assert_eq!(post_with(&s, "/logout", &as_b, &token_b).await.0, 303);
}

#[tokio::test]
async fn asset_urls_carry_a_hash_of_their_content() {
    use sha2::Digest;
    let s = Server::start();
    let page = reqwest::get(s.url("/login"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (marker, file) in [
        ("href=\"/static/app.css?v=", "app.css"),
        ("src=\"/static/app.js?v=", "app.js"),
    ] {
        let start = page.find(marker).unwrap_or_else(|| panic!("{marker}")) + marker.len();
        let v = &page[start..start + page[start..].find('"').unwrap()];
        let url = format!("/static/{file}?v={v}");
        let r = reqwest::get(s.url(&url)).await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let body = r.bytes().await.unwrap();
        let hash = hex::encode(sha2::Sha256::digest(&body));
        assert_eq!(v, &hash[..10], "{url}");
    }
}
