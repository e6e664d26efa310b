//! First start, sign-in, sessions, throttling and CSRF.

use std::time::Duration;

use serde_json::json;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};

#[tokio::test]
async fn setup_link_creates_the_owner_once() {
    let s = Server::start();
    let token = s
        .setup_token
        .clone()
        .expect("first start prints a setup link");
    let b = s.browser();
    let path = format!("/setup/{token}");

    // A weak password is refused with a Portuguese message, and what was typed stays.
    let weak = b
        .submit(
            &path,
            &path,
            &[
                ("name", "Dona Maria"),
                ("email", OWNER_EMAIL),
                ("password", "password1234"),
                ("password_confirm", "password1234"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.body.contains("entre as mais usadas"), "{}", weak.body);
    assert!(weak.body.contains(OWNER_EMAIL));

    let ok = b
        .submit(
            &path,
            &path,
            &[
                ("name", "Dona Maria"),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
                ("password_confirm", OWNER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        (ok.status, ok.location.as_deref()),
        (303, Some("/login")),
        "{}",
        ok.body
    );

    // The link stops working once used.
    assert_eq!(b.get(&path).await.status, 404);
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let dash = b.get("/admin").await;
    assert!(dash.body.contains("Visão geral"));

    // A restart with an owner prints no new link.
    let mut s = s;
    s.setup_token = None;
    s.restart();
    assert!(s.setup_token.is_none());
}

#[tokio::test]
async fn admin_create_from_a_script() {
    let s = Server::start();
    let bad = s.cli(
        &[
            "admin",
            "create",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--password-stdin",
        ],
        Some("curta\n"),
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("12 caracteres"));
    let usage = s.cli(&["admin", "create", "--email"], None);
    assert_eq!(usage.status.code(), Some(2));
    s.create_owner();
    let token = s.token().await;
    assert!(token.len() >= 40);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let s = Server::start();
    s.create_owner();
    let c = reqwest::Client::new();
    let mut bodies = Vec::new();
    for (email, password) in [
        (OWNER_EMAIL, "senha errada demais"),
        ("ninguem@example.com", "senha errada demais"),
    ] {
        let r = c
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        bodies.push(r.text().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    let b = s.browser();
    let p = b.get("/login").await;
    let r = b
        .post(
            "/login",
            &[
                ("csrf_token", &p.csrf()),
                ("email", OWNER_EMAIL),
                ("password", "senha errada demais"),
            ],
        )
        .await;
    assert!(r.body.contains("E-mail ou senha incorretos"));
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_then_allowed_again() {
    let s = Server::start();
    s.create_owner();
    let c = reqwest::Client::new();
    for i in 0..5 {
        let r = c
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"email": OWNER_EMAIL, "password": "senha errada demais"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "attempt {i}");
    }
    // Even the right password waits now at this address (and, for a client the
    // account never signed in from, on this account).
    let r = c
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=4).contains(&wait), "{wait}");
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["status"], 429);

    // The page says so in Portuguese.
    let b = s.browser();
    let p = b.get("/login").await;
    let page = b
        .post(
            "/login",
            &[
                ("csrf_token", &p.csrf()),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 429);
    assert!(page.body.contains("Muitas tentativas"), "{}", page.body);

    // The delay ends; the owner is not locked out for good.
    tokio::time::sleep(Duration::from_secs(wait + 1)).await;
    let r = c
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn forms_without_token_or_from_another_origin_are_refused() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let csrf = b.get("/admin/companies/new").await.csrf();
    let form = [
        ("legal_name", "Forjada Ltda"),
        ("cnpj", "11.222.333/0001-81"),
    ];

    // No token.
    let r = b.post("/admin/companies", &form).await;
    assert_eq!(r.status, 403);
    // A wrong token.
    let mut with_bad = vec![("csrf_token", "0000")];
    with_bad.extend_from_slice(&form);
    assert_eq!(b.post("/admin/companies", &with_bad).await.status, 403);
    // The right token, but sent from another site.
    let mut with_token = vec![("csrf_token", csrf.as_str())];
    with_token.extend_from_slice(&form);
    for (header, value) in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let r = b
            .http
            .post(s.url("/admin/companies"))
            .header(header, value)
            .form(&with_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{header}: {value}");
    }
    // Nothing was created by any of them.
    let list = b.get("/admin/companies").await;
    assert!(!list.body.contains("Forjada"));
    // The genuine post works.
    let ok = b.post("/admin/companies", &with_token).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}

#[tokio::test]
async fn idle_sessions_expire() {
    let s = Server::start_with(&[("OTM_SESSION_IDLE_MINUTES", "0.05")]);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(b.get("/admin").await.status, 200);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let p = b.get("/admin").await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/login")));
}

#[tokio::test]
async fn logout_ends_the_session_and_the_token() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let csrf = b.get("/admin").await.csrf();
    let r = b.post("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.location.as_deref(), Some("/login"));
    assert_eq!(b.get("/admin").await.status, 303);

    let token = s.token().await;
    let api = s.api(&token);
    assert_eq!(api.get("/api/v1/companies").await.0, 200);
    assert_eq!(
        api.send(reqwest::Method::POST, "/api/v1/auth/logout", None)
            .await
            .0,
        204
    );
    assert_eq!(api.get("/api/v1/companies").await.0, 401);
}

#[tokio::test]
async fn login_renews_the_session_id() {
    let s = Server::start();
    s.create_owner();
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |planted: Option<&'static str>| {
        let c = c.clone();
        let url = s.url("/login");
        let base = s.base.clone();
        async move {
            let page = c.get(&url).send().await.unwrap();
            let csrf_cookie = page
                .cookies()
                .find(|c| c.name() == "otm_csrf")
                .unwrap()
                .value()
                .to_string();
            let body = page.text().await.unwrap();
            let csrf = crate::common::Page {
                status: 200,
                location: None,
                body,
            }
            .csrf();
            let mut cookie = format!("otm_csrf={csrf_cookie}");
            if let Some(p) = planted {
                cookie.push_str(&format!("; otm_session={p}"));
            }
            let r = c
                .post(&url)
                .header("Origin", base)
                .header("Cookie", cookie)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("email", OWNER_EMAIL),
                    ("password", OWNER_PASSWORD),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
            r.cookies()
                .find(|c| c.name() == "otm_session")
                .unwrap()
                .value()
                .to_string()
        }
    };
    let first = login(None).await;
    let second = login(Some("attacker-chosen-id")).await;
    assert_ne!(first, second);
    assert_ne!(second, "attacker-chosen-id");
}

async fn api_login(s: &Server, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": password}))
        .send()
        .await
        .unwrap()
}

/// A restart must not hand an attacker a fresh set of free guesses: the account's
/// failures are in its row, and the server reads them back.
#[tokio::test]
async fn a_lock_out_survives_a_restart() {
    let mut s = Server::start();
    s.create_owner();
    for i in 0..5 {
        assert_eq!(
            api_login(&s, "senha errada demais").await.status(),
            401,
            "attempt {i}"
        );
    }
    s.kill9();
    // The row as the server left it; the last failure made "now" again, so the test
    // does not depend on how fast the restart is.
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let failures: i64 = db
        .query_row("SELECT failed_attempts FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(failures, 5);
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    db.execute("UPDATE users SET last_failed_at = ?1", [now])
        .unwrap();
    drop(db);
    s.restart();
    let r = api_login(&s, OWNER_PASSWORD).await;
    assert_eq!(r.status(), 429, "still locked after the restart");
    assert!(r.headers().get("retry-after").is_some());
}

/// Wrong guesses sent at once must not all pass the throttle's check while the first
/// is still in bcrypt: each reserves its attempt before the password is checked.
#[tokio::test]
async fn concurrent_wrong_guesses_cannot_all_pass_the_throttle() {
    // bcrypt at cost 10 takes tens of milliseconds: long enough for 20 requests to be
    // in flight together.
    let s = Server::start_with(&[("OTM_BCRYPT_COST", "10")]);
    s.create_owner();
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let url = s.url("/api/v1/auth/login");
        tries.spawn(async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"email": OWNER_EMAIL, "password": "senha errada demais"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = tries.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 20, "{statuses:?}");
    assert_eq!(
        checked, 5,
        "only the free attempts reach bcrypt: {statuses:?}"
    );
}

/// Signs the owner in with a bare client (no cookie store), sending `session` as the
/// session cookie when given; returns the new session cookie's value and its whole
/// `Set-Cookie` line.
async fn sign_in_bare(s: &Server, session: Option<&str>) -> (String, String) {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c.get(s.url("/login")).send().await.unwrap();
    let csrf_cookie = page
        .cookies()
        .find(|c| c.name() == "otm_csrf")
        .unwrap()
        .value()
        .to_string();
    let csrf = crate::common::Page {
        status: 200,
        location: None,
        body: page.text().await.unwrap(),
    }
    .csrf();
    let mut cookie = format!("otm_csrf={csrf_cookie}");
    if let Some(v) = session {
        cookie.push_str(&format!("; otm_session={v}"));
    }
    let r = c
        .post(s.url("/login"))
        .header("Origin", s.base.clone())
        .header("Cookie", cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", OWNER_EMAIL),
            ("password", OWNER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let line = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|l| l.starts_with("otm_session="))
        .expect("a session cookie");
    let value = line["otm_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (value, line)
}

/// Where a request with only this session cookie lands: 200, or 303 and where to.
async fn admin_with(s: &Server, session: &str) -> (u16, Option<String>) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(s.url("/admin"))
        .header("Cookie", format!("otm_session={session}"))
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), location)
}

#[tokio::test]
async fn signing_in_again_ends_the_session_the_browser_had() {
    let s = Server::start();
    s.create_owner();
    let (first, _) = sign_in_bare(&s, None).await;
    assert_eq!(admin_with(&s, &first).await.0, 200);
    let (second, _) = sign_in_bare(&s, Some(&first)).await;
    assert_ne!(first, second);
    assert_eq!(
        admin_with(&s, &first).await,
        (303, Some("/login".to_string()))
    );
    assert_eq!(admin_with(&s, &second).await.0, 200);
    let conn = rusqlite::Connection::open(s.db_path()).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "the old row is gone");
}

/// The table holds the SHA-256 of the session key: what someone who copies the database
/// file finds there does not open a session.
#[tokio::test]
async fn a_session_id_read_from_the_database_is_no_cookie() {
    let s = Server::start();
    s.create_owner();
    let (cookie, _) = sign_in_bare(&s, None).await;
    assert_eq!(admin_with(&s, &cookie).await.0, 200);
    let conn = rusqlite::Connection::open(s.db_path()).unwrap();
    let (id_hash, state): (String, String) = conn
        .query_row("SELECT id_hash, state FROM sessions", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(!cookie.contains(&id_hash) && !state.contains(&cookie));
    assert_eq!(
        admin_with(&s, &id_hash).await,
        (303, Some("/login".to_string()))
    );
    // The real cookie still works: the refusal was about the value, not the session.
    assert_eq!(admin_with(&s, &cookie).await.0, 200);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_secure_behind_tls() {
    let s = Server::start();
    s.create_owner();
    let (_, line) = sign_in_bare(&s, None).await;
    let attrs: Vec<String> = line.split("; ").skip(1).map(str::to_lowercase).collect();
    for want in ["httponly", "samesite=lax", "path=/"] {
        assert!(attrs.iter().any(|a| a == want), "{want} in {line}");
    }
    // It ends with the browser; idle expiry is the server's.
    assert!(
        !attrs
            .iter()
            .any(|a| a.starts_with("max-age") || a.starts_with("expires")),
        "{line}"
    );
    assert!(!attrs.iter().any(|a| a == "secure"), "{line}");

    let s = Server::start_with(&[("OTM_SECURE_COOKIES", "true")]);
    s.create_owner();
    let (_, line) = sign_in_bare(&s, None).await;
    assert!(line.split("; ").any(|a| a == "Secure"), "{line}");
}

/// "Sair" on a page left open past the idle limit: nothing is left to end, so it leads
/// to the sign-in page instead of a "form expired" error.
#[tokio::test]
async fn signing_out_of_an_expired_session_leads_to_sign_in() {
    let s = Server::start_with(&[("OTM_SESSION_IDLE_MINUTES", "0.05")]);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let csrf = b.get("/admin").await.csrf();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let r = b.post("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")));
}
