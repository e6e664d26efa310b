//! The second factor (DESIGN.md §8.2): enrolment, sign-in with and without a code, no
//! replay, single-use recovery codes, lock-out and its e-mail, enforcement for the roles
//! that must use it (pages and API), step-up before sensitive actions, and
//! `admin reset-mfa`. Codes are computed with the same TOTP crate the server uses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, Browser, OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::{Smtp, with_smtp};

pub fn code_at(secret: &str, unix: u64) -> String {
    let t = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    t.generate(unix).to_string()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits, if needed, until a new 30-s step has just begun, so that the codes of this
/// step and of the previous one both stay valid for the next 20 seconds or more.
pub async fn settle() -> u64 {
    let t = now();
    if t % 30 > 8 {
        tokio::time::sleep(Duration::from_secs(30 - t % 30) + Duration::from_millis(300)).await;
    }
    now()
}

/// Waits for the next 30-s step (a code of a later step than any used so far).
async fn next_step() -> u64 {
    let t = now();
    tokio::time::sleep(Duration::from_secs(30 - t % 30) + Duration::from_millis(300)).await;
    now()
}

async fn login(s: &Server, email: &str, password: &str, otp: Option<&str>) -> (u16, Value) {
    let mut body = json!({"email": email, "password": password});
    if let Some(o) = otp {
        body["otp"] = json!(o);
    }
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").is_some();
    let mut v: Value = r.json().await.unwrap_or(Value::Null);
    if retry {
        v["_retry_after"] = json!(true);
    }
    (status, v)
}

/// Turns the second factor on through the API, confirming with the previous step's
/// code (so the current step's stays free). Returns (secret, recovery codes, step time).
async fn enrol(api: &Api) -> (String, Vec<String>, u64) {
    let (st, e) = api.post("/api/v1/me/mfa", json!({})).await;
    assert_eq!(st, 200, "{e}");
    let secret = e["secret"].as_str().unwrap().to_string();
    assert!(
        e["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let t = settle().await;
    let (st, c) = api
        .post(
            "/api/v1/me/mfa/confirm",
            json!({"otp": code_at(&secret, t - 30)}),
        )
        .await;
    assert_eq!(st, 200, "{c}");
    let codes: Vec<String> = c["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes, t)
}

/// A code of the same length that is neither this step's nor the previous one's.
fn wrong_code(secret: &str, t: u64) -> String {
    let good = [code_at(secret, t), code_at(secret, t - 30)];
    (0..10)
        .map(|d| format!("{d}{d}{d}{d}{d}{d}"))
        .find(|c| !good.contains(c))
        .unwrap()
}

#[tokio::test]
async fn enrolment_then_sign_in_needs_a_code_refuses_replay_and_spends_recovery_codes_once() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, me) = api.get("/api/v1/me").await;
    assert_eq!(st, 200);
    assert_eq!(me["email"], OWNER_EMAIL);
    assert_eq!(me["role"], "owner");
    assert_eq!(me["mfa_enabled"], false);

    // Started but not confirmed: it does not count yet.
    let (st, e) = api.post("/api/v1/me/mfa", json!({})).await;
    assert_eq!(st, 200);
    let first_secret = e["secret"].as_str().unwrap().to_string();
    assert_eq!(login(&s, OWNER_EMAIL, OWNER_PASSWORD, None).await.0, 200);
    let (st, p) = api
        .post("/api/v1/me/mfa/confirm", json!({"otp": "12345"}))
        .await;
    assert_eq!((st, p["code"].as_str()), (401, Some("invalid_otp")));

    let (secret, codes, t) = enrol(&api).await;
    assert_ne!(secret, first_secret, "a new start replaces the secret");
    assert_eq!(api.get("/api/v1/me").await.1["mfa_enabled"], true);
    smtp.wait_for(OWNER_EMAIL, "etapas ativada").await;

    // Without a code, with a wrong one.
    let (st, p) = login(&s, OWNER_EMAIL, OWNER_PASSWORD, None).await;
    assert_eq!((st, p["code"].as_str()), (401, Some("mfa_required")), "{p}");
    let (st, p) = login(
        &s,
        OWNER_EMAIL,
        OWNER_PASSWORD,
        Some(&wrong_code(&secret, t)),
    )
    .await;
    assert_eq!((st, p["code"].as_str()), (401, Some("invalid_otp")), "{p}");
    // The confirming code (previous step) is spent: no replay.
    let (st, p) = login(
        &s,
        OWNER_EMAIL,
        OWNER_PASSWORD,
        Some(&code_at(&secret, t - 30)),
    )
    .await;
    assert_eq!((st, p["code"].as_str()), (401, Some("invalid_otp")), "{p}");
    // The current step's code works once, even sent twice at the same moment.
    let cur = code_at(&secret, t);
    let (a, b) = tokio::join!(
        login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&cur)),
        login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&cur))
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 401], "{a:?} {b:?}");
    let tok = if a.0 == 200 { a.1 } else { b.1 };
    assert!(tok["access_token"].is_string());
    let (st, p) = login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&cur)).await;
    assert_eq!(
        (st, p["code"].as_str()),
        (401, Some("invalid_otp")),
        "replay"
    );
    // Wrong password with a right code is still a wrong password.
    assert_eq!(
        login(&s, OWNER_EMAIL, "senha errada demais", Some(&cur))
            .await
            .0,
        401
    );

    // A recovery code works once, in any case and spacing; its use is mailed.
    let rc = codes[3].to_lowercase().replace('-', " ");
    assert_eq!(
        login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&rc)).await.0,
        200
    );
    let (st, p) = login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&codes[3])).await;
    assert_eq!(
        (st, p["code"].as_str()),
        (401, Some("invalid_otp")),
        "single use"
    );
    let mail = smtp.wait_for(OWNER_EMAIL, "foi usado").await;
    assert!(mail.text.contains("Restam 9"), "{}", mail.text);

    // Turning it off needs a code; the person is told.
    assert_eq!(
        api.send(
            Method::DELETE,
            "/api/v1/me/mfa",
            Some(json!({"otp": "000000x"}))
        )
        .await
        .0,
        401
    );
    let (st, _) = api
        .send(
            Method::DELETE,
            "/api/v1/me/mfa",
            Some(json!({"otp": codes[0]})),
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(api.get("/api/v1/me").await.1["mfa_enabled"], false);
    assert_eq!(login(&s, OWNER_EMAIL, OWNER_PASSWORD, None).await.0, 200);
    smtp.wait_for(OWNER_EMAIL, "etapas desativada").await;

    // Neither the secret nor a code reached the log or the audit trail.
    let log = std::fs::read_to_string(s.log_path()).unwrap_or_default();
    let (_, audit) = api.get("/api/v1/audit?limit=200").await;
    let audit = audit.to_string();
    for needle in [secret.as_str(), codes[3].as_str(), cur.as_str()] {
        assert!(!log.contains(needle), "log has {needle}");
        assert!(!audit.contains(needle), "audit has {needle}");
    }
    assert!(audit.contains("mfa.enable") && audit.contains("mfa.recovery_used"));
}

#[tokio::test]
async fn five_wrong_codes_lock_the_factor_for_15_minutes_and_mail_the_person() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (secret, _, t) = enrol(&api).await;
    // The sealed secret survives a master key rotation.
    let out = s.cli(&["key", "rotate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (st, p) = login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&code_at(&secret, t))).await;
    assert_eq!(st, 200, "{p}");
    let wrong = wrong_code(&secret, t);
    for i in 1..=4 {
        let (st, p) = login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&wrong)).await;
        assert_eq!(
            (st, p["code"].as_str()),
            (401, Some("invalid_otp")),
            "try {i}"
        );
    }
    let (st, p) = login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&wrong)).await;
    assert_eq!(st, 429, "{p}");
    assert_eq!(p["code"], "mfa_locked");
    assert_eq!(p["_retry_after"], true);
    // Locked: even the right code waits.
    let (st, p) = login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&code_at(&secret, t))).await;
    assert_eq!(st, 429, "{p}");
    let mail = smtp.wait_for(OWNER_EMAIL, "etapas bloqueada").await;
    assert!(mail.text.contains("15 minutos"), "{}", mail.text);
}

#[tokio::test]
async fn required_roles_must_enrol_first_on_pages_and_in_the_api() {
    let s = Server::start_with(&[("OTM_MFA_REQUIRED", "owner,staff")]);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, p) = api.get("/api/v1/companies").await;
    assert_eq!(
        (st, p["code"].as_str()),
        (403, Some("mfa_enrollment_required")),
        "{p}"
    );
    assert_eq!(api.get("/api/v1/me").await.0, 200);

    // Pages lead only to the enrolment page.
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    for path in ["/admin", "/admin/companies", "/admin/profile"] {
        let r = br.get(path).await;
        assert_eq!(
            (r.status, r.location.as_deref()),
            (303, Some("/admin/profile/mfa")),
            "{path}"
        );
    }
    let r = br.get("/admin/profile/mfa").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("exige a verificação em duas etapas"));

    let (_secret, _, _) = enrol(&api).await;
    assert_eq!(api.get("/api/v1/companies").await.0, 200);
    assert_eq!(br.get("/admin/companies").await.status, 200);
    // The owner's role must keep it: turning it off is refused.
    let (st, _) = api
        .send(
            Method::DELETE,
            "/api/v1/me/mfa",
            Some(json!({"otp": "123456"})),
        )
        .await;
    assert_eq!(st, 403);

    // Company admins: optional until the owner requires it on the settings page.
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Pão Quente Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let pw = "senha do administrador longa";
    let (st, u) = api
        .post(
            &format!("/api/v1/companies/{}/users", c["id"].as_str().unwrap()),
            json!({"name": "Ana", "email": "ana@paoquente.com.br", "role": "company_admin", "password": pw}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let (_, tok) = login(&s, "ana@paoquente.com.br", pw, None).await;
    let admin = s.api(tok["access_token"].as_str().unwrap());
    assert_eq!(admin.get("/api/v1/companies").await.0, 200);
    let r = br
        .submit(
            "/admin/settings",
            "/admin/settings/mfa",
            &[("company_admin", "on")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (st, p) = admin.get("/api/v1/companies").await;
    assert_eq!(
        (st, p["code"].as_str()),
        (403, Some("mfa_enrollment_required"))
    );
    let admin_pages = s.browser();
    admin_pages
        .login_to("ana@paoquente.com.br", pw, "/portal")
        .await;
    let r = admin_pages.get("/portal/omie").await;
    assert_eq!(r.location.as_deref(), Some("/portal/profile/mfa"));
}

#[tokio::test]
async fn admin_reset_mfa_removes_the_factor_signs_out_everywhere_and_mails_the_owners() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (secret, codes, t) = enrol(&api).await;
    let (st, tok) = login(&s, OWNER_EMAIL, OWNER_PASSWORD, Some(&code_at(&secret, t))).await;
    assert_eq!(st, 200);
    let with_code = s.api(tok["access_token"].as_str().unwrap());
    // A page session, signed in with a recovery code in the second step.
    let br = s.browser();
    let csrf = br.get("/login").await.csrf();
    let r = br
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/login/code"));
    assert_eq!(
        br.get("/admin").await.location.as_deref(),
        Some("/login"),
        "not signed in yet"
    );
    let r = br
        .submit("/login/code", "/login/code", &[("otp", &codes[0])])
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin"), "{}", r.body);
    assert_eq!(br.get("/admin").await.status, 200);

    let out = s.cli(
        &["admin", "reset-mfa", "--email", "ninguem@example.com.br"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let out = s.cli(&["admin", "reset-mfa", "--email", OWNER_EMAIL], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(
        with_code.get("/api/v1/companies").await.0,
        401,
        "tokens revoked"
    );
    assert_eq!(api.get("/api/v1/me").await.0, 401);
    assert_eq!(
        br.get("/admin").await.location.as_deref(),
        Some("/login"),
        "sessions ended"
    );
    let (st, tok) = login(&s, OWNER_EMAIL, OWNER_PASSWORD, None).await;
    assert_eq!(st, 200, "password alone again");
    let api = s.api(tok["access_token"].as_str().unwrap());
    assert_eq!(api.get("/api/v1/me").await.1["mfa_enabled"], false);
    smtp.wait_for(OWNER_EMAIL, "etapas removida").await;
    let (_, audit) = api.get("/api/v1/audit?action=mfa.reset").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}

/// Signs in through the pages (password, then the code when asked).
async fn page_login(br: &Browser, otp: Option<&str>) {
    let csrf = br.get("/login").await.csrf();
    let r = br
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    if let Some(code) = otp {
        assert_eq!(r.location.as_deref(), Some("/login/code"));
        let r = br
            .submit("/login/code", "/login/code", &[("otp", code)])
            .await;
        assert_eq!(r.location.as_deref(), Some("/admin"), "{}", r.body);
    } else {
        assert_eq!(r.location.as_deref(), Some("/admin"));
    }
}

fn asks_step_up(r: &crate::common::Page) -> bool {
    r.status == 303
        && r.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/admin/step-up?next="))
}

#[tokio::test]
async fn sensitive_actions_ask_for_a_fresh_code_or_the_password_again() {
    let s = Server::start_with(&[("OTM_STEP_UP_SECONDS", "2")]);
    s.create_owner();
    let api = s.api(&s.token().await);
    let (_, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Pão Quente Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let cid = c["id"].as_str().unwrap().to_string();
    let (_, a) = api
        .post("/api/v1/applications", json!({"name": "Robô de notas"}))
        .await;
    let aid = a["id"].as_str().unwrap().to_string();

    // Without a second factor: the password again.
    let br = s.browser();
    page_login(&br, None).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let csrf = br.get("/admin/profile").await.csrf();
    let reveal = format!("/admin/companies/{cid}/omie/reveal");
    let rotate = format!("/admin/applications/{aid}/rotate");
    let download = "/admin/backups/bkp_naoexiste/download";
    let actions = [
        br.post(&reveal, &[("csrf_token", &csrf)]).await,
        br.post(&rotate, &[("csrf_token", &csrf)]).await,
        br.get("/admin/backups/recovery-kit").await,
        br.post(
            "/admin/backups/recovery-kit",
            &[("csrf_token", &csrf), ("password", OWNER_PASSWORD)],
        )
        .await,
        br.get(download).await,
    ];
    for (i, r) in actions.iter().enumerate() {
        assert!(asks_step_up(r), "action {i}: {} {:?}", r.status, r.location);
    }
    let next = format!("/admin/companies/{cid}/omie");
    let form = br
        .get(&format!("/admin/step-up?next={}", next.replace('/', "%2F")))
        .await;
    assert!(form.body.contains("Senha"), "{}", form.body);
    let r = br
        .submit(
            "/admin/profile",
            "/admin/step-up",
            &[("answer", "senha errada demais"), ("next", &next)],
        )
        .await;
    assert_eq!(r.status, 422);
    let r = br
        .submit(
            "/admin/profile",
            "/admin/step-up",
            &[("answer", OWNER_PASSWORD), ("next", &next)],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some(next.as_str()));
    // Fresh now: every action goes through (the made-up backup is simply not found).
    let csrf = br.get("/admin/profile").await.csrf();
    assert_eq!(br.post(&reveal, &[("csrf_token", &csrf)]).await.status, 200);
    let r = br.post(&rotate, &[("csrf_token", &csrf)]).await;
    assert_eq!(
        r.location,
        Some(format!("/admin/applications/{aid}/secret"))
    );
    assert_eq!(br.get("/admin/backups/recovery-kit").await.status, 200);
    assert_eq!(br.get(download).await.status, 404);
    // An outside `next` leads home, not away.
    let r = br
        .submit(
            "/admin/profile",
            "/admin/step-up",
            &[("answer", OWNER_PASSWORD), ("next", "//evil.example/x")],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin"));

    // With a second factor: a code, and a used one is refused.
    let (secret, _, t) = enrol(&api).await;
    let br = s.browser();
    page_login(&br, Some(&code_at(&secret, t))).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let csrf = br.get("/admin/profile").await.csrf();
    assert!(asks_step_up(
        &br.post(&reveal, &[("csrf_token", &csrf)]).await
    ));
    let form = br.get("/admin/step-up?next=%2Fadmin").await;
    assert!(form.body.contains("Código"));
    let r = br
        .submit(
            "/admin/profile",
            "/admin/step-up",
            &[("answer", OWNER_PASSWORD), ("next", &next)],
        )
        .await;
    assert_eq!(r.status, 422, "a password is no code");
    let r = br
        .submit(
            "/admin/profile",
            "/admin/step-up",
            &[("answer", &code_at(&secret, t)), ("next", &next)],
        )
        .await;
    assert_eq!(r.status, 422, "the sign-in's code is spent");
    let t = next_step().await;
    let r = br
        .submit(
            "/admin/profile",
            "/admin/step-up",
            &[("answer", &code_at(&secret, t)), ("next", &next)],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some(next.as_str()), "{}", r.body);
    let csrf = br.get("/admin/profile").await.csrf();
    assert_eq!(br.post(&reveal, &[("csrf_token", &csrf)]).await.status, 200);
}

/// A browser whose cookies the test can read (to play a thief who copied them).
fn jar_browser(s: &Server) -> (Browser, std::sync::Arc<reqwest::cookie::Jar>) {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = s.url("");
    (Browser { http, base }, jar)
}

/// The sign-in's pending cookie counts once: a copy taken between the password and the
/// code is refused after the person's code was accepted with it, even with another good
/// code (here a recovery code, which moves no TOTP step).
#[tokio::test]
async fn a_pending_sign_in_cookie_is_refused_once_a_code_was_accepted_with_it() {
    use reqwest::cookie::CookieStore;
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let (secret, codes, t) = enrol(&api).await;
    let url: reqwest::Url = s.url("/").parse().unwrap();

    let (victim, vjar) = jar_browser(&s);
    let csrf = victim.get("/login").await.csrf();
    let r = victim
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/login/code"));
    let copied = vjar.cookies(&url).unwrap().to_str().unwrap().to_string();
    assert!(copied.contains("otm_mfa_pending="), "{copied}");
    let r = victim
        .submit(
            "/login/code",
            "/login/code",
            &[("otp", &code_at(&secret, t))],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin"), "{}", r.body);

    let (thief, tjar) = jar_browser(&s);
    for c in copied.split("; ") {
        tjar.add_cookie_str(&format!("{c}; Path=/"), &url);
    }
    let r = thief.get("/login/code").await;
    assert_eq!(r.location.as_deref(), Some("/login"), "{}", r.status);
    let r = thief
        .submit("/login", "/login/code", &[("otp", &codes[0])])
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some("/login"),
        "{} {}",
        r.status,
        r.body
    );
    assert_ne!(thief.get("/admin").await.status, 200);
    // The recovery code was not spent on the refused attempt: the owner still has it.
    let (victim2, _) = jar_browser(&s);
    let csrf = victim2.get("/login").await.csrf();
    let r = victim2
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/login/code"));
    let r = victim2
        .submit("/login/code", "/login/code", &[("otp", &codes[0])])
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin"), "{}", r.body);
}
