//! The sign-in throttle cannot be turned against the owner (issue 10, item 5), and
//! the e-mails that protect an account: a sign-in from a new client, a password changed.
//!
//! Distinct client addresses: the server trusts 127.0.0.1 as a proxy
//! (`OTM_TRUSTED_PROXIES`), so a request's `X-Forwarded-For` is its client address.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::redirect::Policy;
use serde_json::json;

use crate::common::{Browser, OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::{Mail, Smtp};

const ATTACKER: &str = "203.0.113.66";
const WRONG: &str = "senha errada demais";

fn server(extra: &[(&str, String)]) -> Server {
    let mut env: Vec<(&str, &str)> = vec![("OTM_TRUSTED_PROXIES", "127.0.0.1")];
    env.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    Server::start_with(&env)
}

/// A client whose requests come from `ip` (through the trusted proxy), or from
/// 127.0.0.1 itself; cookies kept, redirects not followed.
fn client_from(ip: Option<&str>, user_agent: &str) -> reqwest::Client {
    let mut h = HeaderMap::new();
    if let Some(ip) = ip {
        h.insert("x-forwarded-for", HeaderValue::from_str(ip).unwrap());
    }
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .default_headers(h)
        .user_agent(user_agent)
        .build()
        .unwrap()
}

fn browser_from(s: &Server, ip: Option<&str>) -> Browser {
    let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
    Browser {
        http: client_from(ip, ua),
        base: s.base.clone(),
    }
}

/// A page sign-in: its status (303 in, 401 wrong, 429 wait).
async fn page_sign_in(b: &Browser, password: &str) -> u16 {
    let csrf = b.get("/login").await.csrf();
    b.post(
        "/login",
        &[
            ("csrf_token", &csrf),
            ("email", OWNER_EMAIL),
            ("password", password),
        ],
    )
    .await
    .status
}

/// An API sign-in from `c`: its status and `Retry-After`.
async fn api_sign_in(s: &Server, c: &reqwest::Client, password: &str) -> (u16, Option<u64>) {
    let r = c
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": password}))
        .send()
        .await
        .unwrap();
    let wait = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (r.status().as_u16(), wait)
}

async fn grant(s: &Server, c: &reqwest::Client, client_id: &str, secret: &str) -> (u16, bool) {
    let r = c
        .post(s.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    (
        r.status().as_u16(),
        r.headers().get("retry-after").is_some(),
    )
}

/// An attacker at one address keeps sending wrong passwords for the owner and wrong
/// secrets for an application. The attacker's address waits (429); the owner still
/// signs in, on the page (a browser that signed in before, even from the attacker's
/// own address) and through the API (from an address it signed in from before), and the
/// application still gets tokens. A client known for nothing is the one the account's
/// budget keeps out.
#[tokio::test]
async fn an_attacker_cannot_lock_out_the_owner_or_an_application() {
    let s = server(&[]);
    s.create_owner();
    // The owner's usual clients: a browser at home, and a script on 127.0.0.1.
    let home = browser_from(&s, Some("192.0.2.10"));
    assert_eq!(page_sign_in(&home, OWNER_PASSWORD).await, 303);
    let owner = s.api(&s.token().await);
    let (st, app) = owner
        .post("/api/v1/applications", json!({"name": "Integração"}))
        .await;
    assert_eq!(st, 201, "{app}");
    let client_id = app["client_id"].as_str().unwrap();
    let secret = app["client_secret"].as_str().unwrap();

    let attacker = client_from(Some(ATTACKER), "curl/8.5.0");
    let mut statuses = vec![];
    for _ in 0..12 {
        statuses.push(api_sign_in(&s, &attacker, WRONG).await);
    }
    assert!(
        statuses[..5].iter().all(|(st, _)| *st == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[5..]
            .iter()
            .all(|(st, wait)| *st == 429 && wait.is_some_and(|w| w >= 1)),
        "the attacker's address waits: {statuses:?}"
    );
    let mut grants = vec![];
    for _ in 0..12 {
        grants.push(grant(&s, &attacker, client_id, "segredo-inventado").await);
    }
    assert!(grants[..5].iter().all(|g| g.0 == 401), "{grants:?}");
    assert!(
        grants[5..].iter().all(|g| *g == (429, true)),
        "the attacker's address waits for secrets too: {grants:?}"
    );
    // Even the right password and the right secret wait at the attacker's address.
    assert_eq!(api_sign_in(&s, &attacker, OWNER_PASSWORD).await.0, 429);
    assert_eq!(grant(&s, &attacker, client_id, secret).await.0, 429);

    // The owner: through the API from the usual address, on the page from the usual
    // browser, even when that browser is now behind the attacker's address.
    let script = client_from(None, "owner-script/1.0");
    assert_eq!(api_sign_in(&s, &script, OWNER_PASSWORD).await.0, 200);
    assert_eq!(page_sign_in(&home, OWNER_PASSWORD).await, 303);
    let shared = browser_from(&s, Some(ATTACKER));
    // (a fresh browser at the attacker's address waits: no device cookie)
    assert_eq!(page_sign_in(&shared, OWNER_PASSWORD).await, 429);
    // The same browser as `home`, its cookies copied, behind the attacker's address.
    let device = device_cookie(&s, &home).await;
    let behind = moved_browser(&s, ATTACKER, &device);
    assert_eq!(
        page_sign_in(&behind, OWNER_PASSWORD).await,
        303,
        "the owner's browser gets in even from an exhausted address"
    );

    // The application, from its own address, still gets tokens.
    assert_eq!(grant(&s, &script, client_id, secret).await.0, 200);

    // A client known for nothing, at a fresh address, waits: the account's budget
    // was spent by the attacker, and it is what stops guessing from many addresses.
    let stranger = client_from(Some("198.51.100.9"), "curl/8.5.0");
    assert_eq!(api_sign_in(&s, &stranger, OWNER_PASSWORD).await.0, 429);
}

/// A fresh browser at `ip` that carries the device cookie `device` (the same browser,
/// moved to another network).
fn moved_browser(s: &Server, ip: &str, device: &str) -> Browser {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(
        &format!("otm_device={device}; Path=/"),
        &s.base.parse().unwrap(),
    );
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", HeaderValue::from_str(ip).unwrap());
    Browser {
        http: reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(Policy::none())
            .default_headers(h)
            .build()
            .unwrap(),
        base: s.base.clone(),
    }
}

/// The value of the `otm_device` cookie a browser got at sign-in.
async fn device_cookie(s: &Server, b: &Browser) -> String {
    // Sign in once more and read the cookie off the answer.
    let csrf = b.get("/login").await.csrf();
    let r = b
        .http
        .post(s.url("/login"))
        .header("Origin", &s.base)
        .header("Sec-Fetch-Site", "same-origin")
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
        .find(|l| l.starts_with("otm_device="))
        .expect("a device cookie");
    assert!(
        line.contains("HttpOnly") && line.contains("Max-Age="),
        "{line}"
    );
    line["otm_device=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn with_smtp(smtp: &Smtp) -> Server {
    let env: Vec<(&str, String)> = Smtp::env(smtp.port);
    server(&env)
}

/// Waits until `n` messages to the owner have a subject containing `subject`.
async fn wait_for_n(smtp: &Smtp, subject: &str, n: usize) -> Vec<Mail> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found: Vec<Mail> = smtp
            .all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == OWNER_EMAIL) && m.subject.contains(subject))
            .collect();
        if found.len() >= n {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {n} mails about {subject:?}",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A sign-in from a client the person never signed in from (neither the browser nor
/// the address) mails them in Portuguese; the first sign-in ever, a known address and a
/// known browser do not.
#[tokio::test]
async fn a_sign_in_from_a_new_device_and_address_mails_the_person() {
    let smtp = Smtp::start();
    let s = with_smtp(&smtp);
    s.create_owner();
    // First sign-in ever (nothing to compare with), then a new browser at a known
    // address, then that browser at a new address: no mail.
    let script = client_from(None, "owner-script/1.0");
    assert_eq!(api_sign_in(&s, &script, OWNER_PASSWORD).await.0, 200);
    let b = browser_from(&s, None);
    assert_eq!(page_sign_in(&b, OWNER_PASSWORD).await, 303);
    let device = device_cookie(&s, &b).await;
    let moved = moved_browser(&s, "198.51.100.30", &device);
    assert_eq!(page_sign_in(&moved, OWNER_PASSWORD).await, 303);

    // A new client altogether: a browser never seen, at an address never seen.
    let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
    let stranger = Browser {
        http: client_from(Some("198.51.100.20"), chrome),
        base: s.base.clone(),
    };
    assert_eq!(page_sign_in(&stranger, OWNER_PASSWORD).await, 303);
    let mails = wait_for_n(&smtp, "Novo acesso", 1).await;
    let m = &mails[0];
    assert!(m.text.contains("198.51.100.20"), "{}", m.text);
    assert!(m.text.contains("Chrome no Windows"), "{}", m.text);
    assert!(m.text.contains("troque sua senha"), "{}", m.text);
    assert!(m.html.contains("198.51.100.20"));
    // The same client again: known now.
    assert_eq!(page_sign_in(&stranger, OWNER_PASSWORD).await, 303);
    // The outbox sends in order: what the earlier sign-ins could have queued came before.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all: Vec<serde_json::Value> = smtp
        .all()
        .iter()
        .filter(|m| m.subject.contains("Novo acesso"))
        .map(|m| serde_json::Value::String(m.text.clone()))
        .collect();
    assert_eq!(all.len(), 1, "one new client, one mail: {all:?}");
}

/// Changing one's password, on "Minha conta" or through a reset link, mails the person.
#[tokio::test]
async fn a_changed_password_mails_the_person() {
    let smtp = Smtp::start();
    let s = with_smtp(&smtp);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let new_password = "outra senha bem comprida";
    let r = b
        .submit(
            "/admin/profile",
            "/admin/profile/password",
            &[
                ("current_password", OWNER_PASSWORD),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mails = wait_for_n(&smtp, "foi trocada", 1).await;
    assert!(mails[0].text.contains("127.0.0.1"), "{}", mails[0].text);
    assert!(!mails[0].text.contains("pelo link"), "{}", mails[0].text);
    assert!(mails[0].text.contains("Se não foi você"));

    // Through a reset link.
    let anon = s.browser();
    let r = anon
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", OWNER_EMAIL)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let reset = smtp.wait_for(OWNER_EMAIL, "Troca de senha").await;
    let path = crate::smtp::link(&reset, "http://127.0.0.1:8080");
    let r = anon
        .submit(
            &path,
            &path,
            &[
                ("password", "terceira senha comprida"),
                ("password_confirm", "terceira senha comprida"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mails = wait_for_n(&smtp, "foi trocada", 2).await;
    assert!(
        mails.iter().any(|m| m.text.contains("pelo link")),
        "{:?}",
        mails.iter().map(|m| &m.text).collect::<Vec<_>>()
    );
}
