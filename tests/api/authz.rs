//! Authorization as a table: every route the router serves (`routes::table()`, read
//! from the router itself) is called as every kind of principal, with real ids of
//! company A and a harmless body, and the answer's class is checked against the
//! expectation table below, written from DESIGN.md §5. A route without a row fails the
//! test by name, so no route can be added without deciding who may use it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::join_all;
use omie_tenant_manager::routes::{self, Area, RouteInfo};
use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::common::{Api, OWNER_EMAIL, OWNER_PASSWORD, Server, cnpj_from};

const PW: &str = "senha da empresa bem longa";

/// Makes the e-mails and CNPJs of fresh objects distinct.
static SEQ: AtomicU64 = AtomicU64::new(0);

/// Who calls. Applications are linked to company A (except `AppNone`) with one scope
/// each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Who {
    Anon,
    Owner,
    Staff,
    AdminA,
    AdminB,
    UserA,
    AppRead,
    AppCreds,
    AppProxy,
    AppNone,
}

const EVERYONE: [Who; 10] = [
    Who::Anon,
    Who::Owner,
    Who::Staff,
    Who::AdminA,
    Who::AdminB,
    Who::UserA,
    Who::AppRead,
    Who::AppCreds,
    Who::AppProxy,
    Who::AppNone,
];

impl Who {
    fn person(self) -> Option<(&'static str, &'static str)> {
        match self {
            Who::Owner => Some((OWNER_EMAIL, OWNER_PASSWORD)),
            Who::Staff => Some(("equipe@example.com.br", PW)),
            Who::AdminA => Some(("admin@a.com.br", PW)),
            Who::AdminB => Some(("admin@b.com.br", PW)),
            Who::UserA => Some(("user@a.com.br", PW)),
            _ => None,
        }
    }

    fn platform(self) -> bool {
        matches!(self, Who::Owner | Who::Staff)
    }

    fn home(self) -> &'static str {
        if self.platform() { "/admin" } else { "/portal" }
    }
}

/// The classes of answer. Columns of the table use the one-letter codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// `A`: reached the handler: 2xx, 3xx (not to /login), or 400/409/422/429.
    Allowed,
    /// `4`: denied as "no such thing" (another tenant, or not permitted at all).
    NotFound,
    /// `3`: denied as forbidden, for something of one's own tenant.
    Forbidden,
    /// `D`: denied within one's own tenant where §5 does not say which of 403/404.
    Denied,
    /// `L`: a page that sends whoever is not signed in to /login.
    Login,
    /// `H`: a page of the other area, which sends a signed-in person to their own home.
    Home,
    /// `1`: the API without a valid token.
    Unauthorized,
    /// `P`: public: anything but 403 or a server error.
    Public,
}

fn code(c: char) -> Expect {
    match c {
        'A' => Expect::Allowed,
        '4' => Expect::NotFound,
        '3' => Expect::Forbidden,
        'D' => Expect::Denied,
        'L' => Expect::Login,
        'H' => Expect::Home,
        '1' => Expect::Unauthorized,
        'P' => Expect::Public,
        other => panic!("unknown code {other}"),
    }
}

/// The expectation table (DESIGN.md §5). Key: method and the router's pattern.
/// Columns by area (anonymous callers and the other area's people are implied):
/// - public routes: one code for everyone;
/// - `/admin`: owner, staff (company people go home, the rest to /login);
/// - `/portal`: admin of A, admin of B, user of A (platform people go home, the rest
///   to /login); the portal takes no company id: each acts on their own company;
/// - `/api/v1`: owner, staff, admin A, admin B, user A, app `companies:read`, app
///   `omie_credentials:read`, app `omie:proxy`, app without links (anonymous: 401).
///
/// Ids in paths are company A's (its user, its invitation, an application linked to
/// it, a backup).
const RULES: &[(&str, &str)] = &[
    // Public: health, static files, sign-in, one-time links (a made-up token), sign-up.
    ("GET /healthz", "P"),
    ("GET /readyz", "P"),
    // 404 here: the harness sets no OTM_METRICS_TOKEN (tests/api/metrics13.rs opens it).
    ("GET /metrics", "P"),
    ("GET /static/{file}", "P"),
    ("GET /", "P"),
    ("GET /login", "P"),
    ("POST /login", "P"),
    ("GET /login/code", "P"),
    ("POST /login/code", "P"),
    ("POST /logout", "P"),
    ("GET /setup/{token}", "P"),
    ("POST /setup/{token}", "P"),
    ("GET /password/forgot", "P"),
    ("POST /password/forgot", "P"),
    ("GET /password/reset/{token}", "P"),
    ("POST /password/reset/{token}", "P"),
    ("GET /invite/{token}", "P"),
    ("POST /invite/{token}", "P"),
    ("GET /signup", "P"),
    ("GET /signup/lookup", "P"),
    ("POST /signup", "P"),
    ("GET /privacidade", "P"),
    // The vendor's logo, for the portal and e-mails (an unknown hash is 404).
    ("GET /marca/{hash}", "P"),
    ("GET /api/openapi.json", "P"),
    ("POST /api/v1/auth/login", "P"),
    ("POST /api/v1/auth/token", "P"),
    ("POST /api/v1/signup", "P"),
    ("GET /api/v1/validate/cnpj", "P"),
    // API.             owner staff admA admB userA read creds proxy none
    ("POST /api/v1/auth/logout", "A A A A A A A A A"),
    // One's own account and second factor: people only; an application has no "me".
    ("GET /api/v1/me", "A A A A A 4 4 4 4"),
    ("POST /api/v1/me/mfa", "A A A A A 4 4 4 4"),
    ("DELETE /api/v1/me/mfa", "A A A A A 4 4 4 4"),
    ("POST /api/v1/me/mfa/confirm", "A A A A A 4 4 4 4"),
    // Notification choices (§8.4): the platform's people only; company people and
    // applications find nothing (404), as with the other platform-only routes.
    ("GET /api/v1/me/notifications", "A A 4 4 4 4 4 4 4"),
    ("PUT /api/v1/me/notifications", "A A 4 4 4 4 4 4 4"),
    // LGPD (§8.3): one's own data and requests; the queue is the platform's.
    ("GET /api/v1/me/export", "A A A A A 4 4 4 4"),
    ("POST /api/v1/me/privacy-requests", "A A A A A 4 4 4 4"),
    ("GET /api/v1/privacy/requests", "A A 4 4 4 4 4 4 4"),
    (
        "POST /api/v1/privacy/requests/{id}/resolve",
        "A A 4 4 4 4 4 4 4",
    ),
    // Lists are scoped to the caller: never refused, only narrowed.
    ("GET /api/v1/companies", "A A A A A A A A A"),
    ("POST /api/v1/companies", "A A 3 3 3 3 3 3 3"),
    // A link without the scope is "forbidden"; no link is "not found".
    ("GET /api/v1/companies/{id}", "A A A 4 A A 3 3 4"),
    ("PATCH /api/v1/companies/{id}", "A A A 4 3 3 3 3 4"),
    // A company admin may not change its company's status.
    ("DELETE /api/v1/companies/{id}", "A A 3 4 3 3 3 3 4"),
    (
        "GET /api/v1/companies/{id}/omie-credentials",
        "A A A 4 3 3 A 3 4",
    ),
    // Setting and testing credentials is for people.
    (
        "PUT /api/v1/companies/{id}/omie-credentials",
        "A A A 4 3 3 3 3 4",
    ),
    (
        "POST /api/v1/companies/{id}/omie-credentials/test",
        "A A A 4 3 3 3 3 4",
    ),
    ("GET /api/v1/companies/{id}/users", "A A A 4 D 4 4 4 4"),
    ("POST /api/v1/companies/{id}/users", "A A A 4 D 4 4 4 4"),
    ("GET /api/v1/users/{id}", "A A A 4 D 4 4 4 4"),
    ("PATCH /api/v1/users/{id}", "A A A 4 D 4 4 4 4"),
    ("DELETE /api/v1/users/{id}", "A A A 4 D 4 4 4 4"),
    ("POST /api/v1/users/{id}/approve", "A A A 4 D 4 4 4 4"),
    // Erasure (§8.3): owner/staff; a company admin for its own company's people.
    ("POST /api/v1/users/{id}/anonymize", "A A A 4 D 4 4 4 4"),
    // A company's anonymization is the owner's; who can see the company is refused.
    ("POST /api/v1/companies/{id}/anonymize", "A 3 3 4 3 3 3 3 4"),
    // Applications are the platform's.
    ("GET /api/v1/applications", "A A 4 4 4 4 4 4 4"),
    ("POST /api/v1/applications", "A A 4 4 4 4 4 4 4"),
    ("GET /api/v1/applications/{id}", "A A 4 4 4 4 4 4 4"),
    ("PATCH /api/v1/applications/{id}", "A A 4 4 4 4 4 4 4"),
    ("DELETE /api/v1/applications/{id}", "A A 4 4 4 4 4 4 4"),
    (
        "POST /api/v1/applications/{id}/rotate-secret",
        "A A 4 4 4 4 4 4 4",
    ),
    (
        "DELETE /api/v1/applications/{id}/secrets/{secret_id}",
        "A A 4 4 4 4 4 4 4",
    ),
    // The owner links; the company's admin may also cut a link.
    (
        "PUT /api/v1/companies/{id}/applications/{app_id}",
        "A A D 4 D 4 4 4 4",
    ),
    (
        "DELETE /api/v1/companies/{id}/applications/{app_id}",
        "A A A 4 D 4 4 4 4",
    ),
    (
        "POST /api/v1/companies/{id}/omie/{endpoint:.*}",
        "A A 3 4 3 3 3 A 4",
    ),
    // Usage and history: the platform's, or one's own company's for its admin.
    ("GET /api/v1/reports/usage", "A A A A 3 3 3 3 3"),
    // The weekly summary is the owner's (§8.4).
    ("POST /api/v1/reports/summary", "A 3 4 4 4 4 4 4 4"),
    ("GET /api/v1/audit", "A A A A 3 3 3 3 3"),
    // Anonymized by default; the clear form is probed in `privacy::staff_...`.
    ("GET /api/v1/audit/export", "A A A A 3 3 3 3 3"),
    // Backups are the platform's; restores (download, kit) are the owner's.
    ("GET /api/v1/backups", "A A 4 4 4 4 4 4 4"),
    ("POST /api/v1/backups", "A A 4 4 4 4 4 4 4"),
    ("GET /api/v1/backups/{id}", "A A 4 4 4 4 4 4 4"),
    // Saúde do sistema is the platform's.
    ("GET /api/v1/health", "A A 4 4 4 4 4 4 4"),
    // Dashboard.       owner staff
    ("GET /admin", "A A"),
    ("GET /admin/", "A A"),
    ("GET /admin/ajuda", "A A"),
    // Minha conta → Notificações (§8.4): the platform's people.
    ("GET /admin/profile/notifications", "A A"),
    ("POST /admin/profile/notifications", "A A"),
    // The first-steps checklist is the owner's (staff never see it).
    ("POST /admin/overview/checklist/hide", "A 3"),
    ("GET /admin/companies", "A A"),
    ("POST /admin/companies", "A A"),
    ("GET /admin/companies/new", "A A"),
    ("GET /admin/companies/lookup", "A A"),
    ("GET /admin/companies/{id}", "A A"),
    ("POST /admin/companies/{id}", "A A"),
    ("GET /admin/companies/{id}/edit", "A A"),
    ("POST /admin/companies/{id}/status", "A A"),
    ("POST /admin/companies/{id}/anonymize", "A 3"),
    ("GET /admin/companies/{id}/omie", "A A"),
    ("POST /admin/companies/{id}/omie", "A A"),
    ("POST /admin/companies/{id}/omie/reveal", "A A"),
    ("POST /admin/companies/{id}/omie/test", "A A"),
    ("GET /admin/applications", "A A"),
    ("POST /admin/applications", "A A"),
    ("GET /admin/applications/{id}", "A A"),
    ("GET /admin/applications/{id}/secret", "A A"),
    ("POST /admin/applications/{id}/edit", "A A"),
    ("POST /admin/applications/{id}/rotate", "A A"),
    ("POST /admin/applications/{id}/revoke-secret", "A A"),
    ("POST /admin/applications/{id}/revoke", "A A"),
    ("POST /admin/applications/{id}/link", "A A"),
    ("POST /admin/applications/{id}/unlink", "A A"),
    ("GET /admin/usage", "A A"),
    ("GET /admin/relatorios", "A A"),
    ("POST /admin/relatorios/resumo", "A 3"),
    ("GET /admin/usage.csv", "A A"),
    ("GET /admin/audit", "A A"),
    ("GET /admin/audit.csv", "A A"),
    ("POST /admin/audit/verify", "A A"),
    ("GET /admin/audit/export.csv", "A A"),
    ("GET /admin/privacidade", "A A"),
    ("POST /admin/privacidade/{id}/resolve", "A A"),
    // The owner exports anyone's data; staff may not.
    ("GET /admin/users/{id}/export", "A 3"),
    ("GET /admin/profile/export", "A A"),
    ("POST /admin/profile/privacy-requests", "A A"),
    ("GET /admin/profile", "A A"),
    ("POST /admin/profile/password", "A A"),
    ("POST /admin/profile/sessions/end-others", "A A"),
    ("POST /admin/profile/sessions/{session}/end", "A A"),
    ("GET /admin/profile/mfa", "A A"),
    ("POST /admin/profile/mfa/start", "A A"),
    ("POST /admin/profile/mfa/confirm", "A A"),
    ("POST /admin/profile/mfa/recovery", "A A"),
    ("POST /admin/profile/mfa/disable", "A A"),
    ("GET /admin/step-up", "A A"),
    ("POST /admin/step-up", "A A"),
    // On company people; platform accounts are probed in `staff_is_refused_...`.
    ("GET /admin/users", "A A"),
    // A person's page (issue 12): staff read platform accounts too, without actions.
    ("GET /admin/users/{id}", "A A"),
    ("POST /admin/invitations", "A A"),
    ("POST /admin/invitations/{id}/resend", "A A"),
    ("POST /admin/invitations/{id}/revoke", "A A"),
    // While mail is off: an invitation's link (owner and staff); a reset link (owner).
    ("POST /admin/invitations/{id}/copy-link", "A A"),
    ("GET /admin/invitations/{id}/link", "A A"),
    ("POST /admin/users/{id}/reset-link", "A 3"),
    ("GET /admin/users/{id}/reset-link", "A 3"),
    ("POST /admin/users/{id}/approve", "A A"),
    ("POST /admin/users/{id}/reject", "A A"),
    ("POST /admin/users/{id}/disable", "A A"),
    ("POST /admin/users/{id}/anonymize", "A A"),
    ("POST /admin/users/{id}/enable", "A A"),
    ("POST /admin/users/{id}/role", "A A"),
    ("POST /admin/users/{id}/send-reset", "A A"),
    // Sign-up requests for an unknown CNPJ: the id is the request's.
    ("POST /admin/users/{id}/accept", "A A"),
    ("POST /admin/users/{id}/refuse", "A A"),
    // A person's sessions: company people's here; staff on platform accounts is refused
    // (`sessions::staff_may_not_end_a_platform_accounts_sessions`).
    ("GET /admin/users/{id}/sessions", "A A"),
    ("POST /admin/users/{id}/sessions/end-all", "A A"),
    ("POST /admin/users/{id}/sessions/{session}/end", "A A"),
    ("GET /admin/backups", "A A"),
    ("GET /admin/saude", "A A"),
    ("POST /admin/backups", "A A"),
    // Staff may not manage settings or restores: forbidden, the same answer everywhere.
    ("POST /admin/backups/settings", "A 3"),
    ("POST /admin/backups/test-remote", "A 3"),
    ("GET /admin/backups/recovery-kit", "A 3"),
    ("POST /admin/backups/recovery-kit", "A 3"),
    ("GET /admin/backups/{id}/download", "A 3"),
    ("GET /admin/settings", "A 3"),
    ("POST /admin/settings/test-email", "A 3"),
    ("POST /admin/settings/mail", "A 3"),
    ("POST /admin/settings/vendor", "A 3"),
    ("POST /admin/settings/retry-mail", "A 3"),
    ("POST /admin/settings/mfa", "A 3"),
    // Privacy (issue 11): the record and the incidents are operations (owner and staff);
    // the retention periods are a setting: staff see them, only the owner changes them.
    ("GET /admin/privacidade/registro", "A A"),
    ("GET /admin/privacidade/registro.csv", "A A"),
    ("GET /admin/privacidade/retencao", "A A"),
    ("POST /admin/privacidade/retencao", "A 3"),
    ("GET /admin/privacidade/incidentes", "A A"),
    ("POST /admin/privacidade/incidentes", "A A"),
    // A made-up incident: "not found" for both (a real one is followed up in
    // `privacy::incidents_are_registered_with_their_anpd_deadline`).
    ("POST /admin/privacidade/incidentes/{id}", "4 4"),
    // Portal.          admin A, admin B, user A (each on their own company)
    ("GET /portal", "A A A"),
    ("GET /portal/", "A A A"),
    ("GET /portal/ajuda", "A A A"),
    ("POST /portal/company", "A A 3"),
    ("GET /portal/users", "A A D"),
    ("GET /portal/users/{id}", "A 4 D"),
    ("POST /portal/users/{id}/approve", "A 4 D"),
    ("POST /portal/users/{id}/disable", "A 4 D"),
    ("POST /portal/users/{id}/anonymize", "A 4 D"),
    ("POST /portal/users/{id}/enable", "A 4 D"),
    ("POST /portal/users/{id}/role", "A 4 D"),
    ("POST /portal/users/{id}/send-reset", "A 4 D"),
    ("POST /portal/invitations", "A A D"),
    ("POST /portal/invitations/{id}/resend", "A 4 D"),
    ("POST /portal/invitations/{id}/revoke", "A 4 D"),
    ("GET /portal/omie", "A A 3"),
    ("POST /portal/omie", "A A 3"),
    ("POST /portal/omie/reveal", "A A 3"),
    ("POST /portal/omie/test", "A A 3"),
    ("GET /portal/applications", "A A D"),
    ("POST /portal/applications/{app_id}/unlink", "A 4 D"),
    ("GET /portal/usage", "A A D"),
    ("GET /portal/usage.csv", "A A D"),
    ("GET /portal/history", "A A D"),
    ("GET /portal/profile", "A A A"),
    ("GET /portal/profile/export", "A A A"),
    ("POST /portal/profile/privacy-requests", "A A A"),
    ("POST /portal/profile/password", "A A A"),
    ("POST /portal/profile/sessions/end-others", "A A A"),
    ("POST /portal/profile/sessions/{session}/end", "A A A"),
    ("GET /portal/profile/mfa", "A A A"),
    ("POST /portal/profile/mfa/start", "A A A"),
    ("POST /portal/profile/mfa/confirm", "A A A"),
    ("POST /portal/profile/mfa/recovery", "A A A"),
    ("POST /portal/profile/mfa/disable", "A A A"),
    ("GET /portal/step-up", "A A A"),
    ("POST /portal/step-up", "A A A"),
];

/// Routes whose call changes something a later call relies on: they get an object made
/// for that one call (a fresh application, user, invitation, company, session).
fn fresh_object(key: &str) -> bool {
    matches!(
        key,
        "DELETE /api/v1/companies/{id}"
            | "DELETE /api/v1/users/{id}"
            | "POST /api/v1/users/{id}/anonymize"
            | "POST /api/v1/companies/{id}/anonymize"
            | "POST /admin/companies/{id}/anonymize"
            | "POST /admin/users/{id}/anonymize"
            | "POST /portal/users/{id}/anonymize"
            | "DELETE /api/v1/applications/{id}"
            | "POST /api/v1/applications/{id}/rotate-secret"
            | "DELETE /api/v1/applications/{id}/secrets/{secret_id}"
            | "DELETE /api/v1/companies/{id}/applications/{app_id}"
            | "POST /admin/applications/{id}/revoke"
            | "POST /admin/applications/{id}/rotate"
            | "POST /admin/applications/{id}/revoke-secret"
            | "POST /admin/applications/{id}/unlink"
            | "POST /admin/invitations/{id}/resend"
            | "POST /admin/invitations/{id}/revoke"
            | "POST /admin/invitations/{id}/copy-link"
            | "GET /admin/invitations/{id}/link"
            | "POST /portal/invitations/{id}/resend"
            | "POST /portal/invitations/{id}/revoke"
            | "POST /admin/users/{id}/approve"
            | "POST /admin/users/{id}/reject"
            | "POST /admin/users/{id}/disable"
            | "POST /admin/users/{id}/enable"
            | "POST /admin/users/{id}/role"
            | "POST /admin/users/{id}/sessions/end-all"
            | "POST /admin/users/{id}/accept"
            | "POST /admin/users/{id}/refuse"
            | "POST /portal/users/{id}/approve"
            | "POST /portal/users/{id}/disable"
            | "POST /portal/users/{id}/enable"
            | "POST /portal/users/{id}/role"
            | "POST /portal/applications/{app_id}/unlink"
    )
}

/// Routes that end the caller's own sessions or tokens: run with a session or token of
/// their own (logout), or after everything else (ending the other sessions).
fn ends_own_access(key: &str) -> bool {
    key.ends_with("/profile/sessions/end-others")
}

fn expectation(rules: &HashMap<&str, Vec<Expect>>, r: &RouteInfo, who: Who) -> Option<Expect> {
    let key = format!("{} {}", r.method, r.path);
    let row = rules.get(key.as_str())?;
    let col = |i: usize| row.get(i).copied();
    Some(match r.area {
        _ if row.len() == 1 => row[0],
        Area::Public => return None,
        Area::Admin => match who {
            Who::Owner => col(0)?,
            Who::Staff => col(1)?,
            Who::AdminA | Who::AdminB | Who::UserA => Expect::Home,
            _ => Expect::Login,
        },
        Area::Portal => match who {
            Who::AdminA => col(0)?,
            Who::AdminB => col(1)?,
            Who::UserA => col(2)?,
            Who::Owner | Who::Staff => Expect::Home,
            _ => Expect::Login,
        },
        Area::Api => match who {
            Who::Anon => Expect::Unauthorized,
            w => col(EVERYONE.iter().position(|x| *x == w)? - 1)?,
        },
    })
}

fn matches(e: Expect, who: Who, status: u16, location: Option<&str>) -> bool {
    let to_login =
        location == Some("/login") || location.is_some_and(|l| l.starts_with("/login?next="));
    let redirect = (300..400).contains(&status);
    match e {
        Expect::Allowed => {
            // 502: the Omie proxy reached (the closed port standing in for) Omie.
            matches!(status, 200..=299 | 400 | 409 | 422 | 429 | 502) || (redirect && !to_login)
        }
        Expect::NotFound => status == 404,
        Expect::Forbidden => status == 403,
        Expect::Denied => status == 403 || status == 404,
        Expect::Login => redirect && to_login,
        Expect::Home => redirect && location == Some(who.home()),
        Expect::Unauthorized => status == 401,
        // Sign-in forms answer 401 to wrong credentials; no public route answers 403.
        Expect::Public => !matches!(status, 403 | 500..),
    }
}

/// One principal's ways in: a browser (cookies, a form token) and an API bearer token.
struct Caller {
    who: Who,
    browser: reqwest::Client,
    csrf: String,
    /// The token of the public forms (sign-in, sign-up, one-time links): those pages
    /// are outside the session, so their token is bound to the CSRF cookie only.
    public_csrf: String,
    bearer: Option<String>,
    /// A second page session and API token, for logging out without losing the first.
    spare_browser: Option<(reqwest::Client, String)>,
    spare_bearer: Option<String>,
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn csrf_of(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("a form token") + marker.len();
    let end = body[start..].find('"').unwrap();
    body[start..start + end].to_string()
}

async fn page_session(s: &Server, who: Who) -> (reqwest::Client, String) {
    let b = browser();
    let login = b.get(s.url("/login")).send().await.unwrap();
    let csrf = csrf_of(&login.text().await.unwrap());
    let Some((email, password)) = who.person() else {
        return (b, csrf);
    };
    let r = b
        .post(s.url("/login"))
        .header("Origin", &s.base)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some(who.home()),
        "{who:?} signs in"
    );
    // The form token is renewed at sign-in: take it from a page of their area.
    let page = b
        .get(s.url(&format!("{}/profile", who.home())))
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    (b, csrf)
}

async fn person_token(s: &Server, who: Who) -> Option<String> {
    let (email, password) = who.person()?;
    Some(s.token_of(email, password).await)
}

async fn app_token(s: &Server, client_id: &str, secret: &str) -> String {
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// The world the table runs in: companies A and B, their people, staff, applications,
/// Omie credentials on A, an open invitation, a finished backup.
struct World {
    s: Server,
    owner: Api,
    a: String,
    owner_id: String,
    victim: String,
    app: String,
    app_secret: String,
    backup: String,
    /// An LGPD request opened by the user of A.
    privacy_request: String,
    callers: Vec<Caller>,
}

async fn create_user(owner: &Api, company: &str, email: &str, role: &str) -> String {
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{company}/users"),
            json!({"name": email, "email": email, "role": role, "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

/// An application linked to `company` with `scopes`: (id, client_id, client secret).
async fn create_app(
    owner: &Api,
    company: Option<&str>,
    scopes: &[&str],
) -> (String, String, String) {
    let (st, app) = owner
        .post("/api/v1/applications", json!({"name": "Robô de teste"}))
        .await;
    assert_eq!(st, 201, "{app}");
    let id = app["id"].as_str().unwrap().to_string();
    if let Some(c) = company {
        let (st, l) = owner
            .send(
                Method::PUT,
                &format!("/api/v1/companies/{c}/applications/{id}"),
                Some(json!({"scopes": scopes})),
            )
            .await;
        assert!(st == 200 || st == 201, "{l}");
    }
    (
        id,
        app["client_id"].as_str().unwrap().to_string(),
        app["client_secret"].as_str().unwrap().to_string(),
    )
}

async fn first_secret(owner: &Api, app: &str) -> String {
    let (_, v) = owner.get(&format!("/api/v1/applications/{app}")).await;
    v["secrets"][0]["id"].as_str().unwrap().to_string()
}

async fn world() -> World {
    // Omie is a closed loopback port: "test credentials" fails fast, nothing leaves.
    let s = Server::start_with(&[("OTM_OMIE_BASE_URL", "http://127.0.0.1:9/api/v1")]);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let mut companies = Vec::new();
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
        companies.push(c["id"].as_str().unwrap().to_string());
    }
    let (a, b) = (companies[0].clone(), companies[1].clone());
    create_user(&owner, &a, "admin@a.com.br", "company_admin").await;
    create_user(&owner, &b, "admin@b.com.br", "company_admin").await;
    create_user(&owner, &a, "user@a.com.br", "company_user").await;
    let victim = create_user(&owner, &a, "alvo@a.com.br", "company_user").await;
    // Staff come from an e-mailed invitation (tested in links.rs); here the fixture
    // turns a person into staff directly.
    let staff = create_user(&owner, &a, "equipe@example.com.br", "company_user").await;
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "UPDATE users SET role = 'staff', company_id = NULL WHERE id = ?1",
            [&staff],
        )
        .unwrap();
    let owner_id: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT id FROM users WHERE role = 'owner'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let (st, _) = owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{a}/omie-credentials"),
            Some(json!({"app_key": "1724630275368", "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"})),
        )
        .await;
    assert_eq!(st, 200);
    let (app, _, _) = create_app(&owner, Some(&a), &["companies:read"]).await;
    let app_secret = first_secret(&owner, &app).await;
    let backup = crate::backups::api_backup(&owner).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let user_a = s.api(&person_token(&s, Who::UserA).await.unwrap());
    let (st, r) = user_a
        .post(
            "/api/v1/me/privacy-requests",
            json!({"kind": "access", "message": "Quero ver meus dados."}),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    let privacy_request = r["id"].as_str().unwrap().to_string();

    let mut callers = Vec::new();
    for who in EVERYONE {
        let (browser, csrf) = page_session(&s, who).await;
        let login = browser.get(s.url("/login")).send().await.unwrap();
        let public_csrf = csrf_of(&login.text().await.unwrap());
        let mut c = Caller {
            who,
            browser,
            csrf,
            public_csrf,
            bearer: person_token(&s, who).await,
            spare_browser: None,
            spare_bearer: person_token(&s, who).await,
        };
        if who.person().is_some() {
            c.spare_browser = Some(page_session(&s, who).await);
        }
        let scopes: Option<&[&str]> = match who {
            Who::AppRead => Some(&["companies:read"]),
            Who::AppCreds => Some(&["omie_credentials:read"]),
            Who::AppProxy => Some(&["omie:proxy"]),
            Who::AppNone => Some(&[]),
            _ => None,
        };
        if let Some(scopes) = scopes {
            let link = (who != Who::AppNone).then_some(a.as_str());
            let (_, client_id, secret) = create_app(&owner, link, scopes).await;
            c.bearer = Some(app_token(&s, &client_id, &secret).await);
            c.spare_bearer = Some(app_token(&s, &client_id, &secret).await);
        }
        callers.push(c);
    }
    World {
        s,
        owner,
        a,
        owner_id,
        victim,
        app,
        app_secret,
        backup,
        privacy_request,
        callers,
    }
}

/// The path of `r` with real ids for `who`, and the fields its form needs to get past
/// parsing; routes in [`fresh_object`] get new objects.
async fn concrete(w: &World, r: &RouteInfo, who: Who) -> (String, Vec<(&'static str, String)>) {
    let key = format!("{} {}", r.method, r.path);
    let mut values: Vec<(String, String)> = Vec::new();
    let (mut app, mut secret) = (w.app.clone(), w.app_secret.clone());
    let mut user = w.victim.clone();
    let mut company = w.a.clone();
    let mut invitation = None;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    if fresh_object(&key) {
        if key.contains("invitations") {
            let (st, inv) = w
                .owner
                .post(
                    &format!("/api/v1/companies/{}/users", w.a),
                    json!({"email": format!("convite-{n}@a.com.br")}),
                )
                .await;
            assert_eq!(st, 202, "{inv}");
            invitation = inv["invitation_id"].as_str().map(str::to_string);
        } else if key.contains("applications") {
            app = create_app(&w.owner, Some(&w.a), &["companies:read"])
                .await
                .0;
            secret = first_secret(&w.owner, &app).await;
        } else if key.ends_with("/accept") || key.ends_with("/refuse") {
            // A sign-up for a CNPJ nobody registered, as the sign-up use case stores it
            // (through the API the visitor is told nothing, not even the request's id,
            // and a burst of sign-ups is throttled).
            let id = format!("req_tabela{n}");
            let now = chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            rusqlite::Connection::open(w.s.db_path())
                .unwrap()
                .execute(
                    "INSERT INTO company_requests (id, cnpj, requester_name, requester_email,
                     password_hash, created_at) VALUES (?1, ?2, 'Pedro', ?3, 'x', ?4)",
                    rusqlite::params![
                        id,
                        cnpj_from(5_000 + n),
                        format!("pedido-{n}@x.com.br"),
                        now
                    ],
                )
                .unwrap();
            user = id;
        } else if key.contains("/users/") {
            let email = format!("alvo-{n}@a.com.br");
            user = create_user(&w.owner, &w.a, &email, "company_user").await;
        } else if who.platform() {
            // Platform people archive a company of their own making; the others try A.
            let n = 900 + n;
            let (st, c) = w
                .owner
                .post(
                    "/api/v1/companies",
                    json!({"legal_name": format!("Arquivável {n} Ltda"), "cnpj": cnpj_from(n)}),
                )
                .await;
            assert_eq!(st, 201, "{c}");
            company = c["id"].as_str().unwrap().to_string();
        }
    }
    for p in r.params() {
        let v = match p.as_str() {
            "id" if r.path.contains("/invitations/") => invitation
                .clone()
                .unwrap_or_else(|| panic!("{key}: no invitation")),
            "id" if r.path.contains("/companies/") => company.clone(),
            "id" if r.path.contains("/users/") => user.clone(),
            "id" | "app_id" if r.path.contains("/applications/") => app.clone(),
            "id" if r.path.contains("/backups/") => w.backup.clone(),
            "id" if r.path.contains("/incidentes/") => "inc-que-nao-existe".into(),
            "id" if r.path.contains("/privacidade/") || r.path.contains("/privacy/") => {
                w.privacy_request.clone()
            }
            "secret_id" => secret.clone(),
            "endpoint" => "geral/clientes".into(),
            "file" => "app.css".into(),
            "token" => "link-que-nao-existe".into(),
            "hash" => "0123456789abcdef".into(),
            "session" => "s-que-nao-existe".into(),
            other => panic!("{key}: no value for {{{other}}}"),
        };
        values.push((p, v));
    }
    let mut path = r.template();
    for (k, v) in values {
        path = path.replace(&format!("{{{k}}}"), &v);
    }
    let form = match key.as_str() {
        "POST /admin/applications/{id}/revoke-secret" => vec![("target", secret)],
        "POST /admin/applications/{id}/unlink" => {
            vec![("target", w.a.clone()), ("confirm", "sim".into())]
        }
        "POST /admin/users/{id}/role" | "POST /portal/users/{id}/role" => {
            vec![("role", "company_admin".into())]
        }
        "POST /admin/users/{id}/accept" => vec![("legal_name", format!("Pedida {n} Ltda"))],
        // Destructive buttons carry their confirmation (`people12` tests its absence).
        "POST /admin/users/{id}/reject"
        | "POST /admin/users/{id}/refuse"
        | "POST /admin/users/{id}/disable"
        | "POST /portal/users/{id}/disable"
        | "POST /portal/applications/{app_id}/unlink" => vec![("confirm", "sim".into())],
        "POST /admin/invitations" | "POST /portal/invitations" => vec![
            ("email", format!("convidado-{n}@a.com.br")),
            ("role", "company_user".into()),
            ("company_id", w.a.clone()),
        ],
        _ => vec![],
    };
    (path, form)
}

/// A JSON body for `key`. Where a use case validates before it checks who asks, an
/// invalid body would hide the check, so those get a valid body that changes nothing
/// that matters here (the credentials A already has, a link it already has, an
/// invitation, a contact name).
fn api_body(key: &str) -> Value {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    match key {
        "PATCH /api/v1/companies/{id}" => json!({"contact_name": "Contato da Tabela"}),
        "PUT /api/v1/companies/{id}/omie-credentials" => {
            json!({"app_key": "1724630275368", "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"})
        }
        "POST /api/v1/companies/{id}/users" => json!({"email": format!("api-{n}@a.com.br")}),
        "PUT /api/v1/companies/{id}/applications/{app_id}" => json!({"scopes": ["companies:read"]}),
        // Omie is a closed port: an allowed call ends in 502 and nothing leaves.
        "POST /api/v1/companies/{id}/omie/{endpoint:.*}" => {
            json!({"call": "ListarClientes", "param": [{"pagina": 1}]})
        }
        "POST /api/v1/applications" => json!({"name": ""}),
        // Refused without a reason: 422, the request stays open.
        "POST /api/v1/privacy/requests/{id}/resolve" => json!({"outcome": "refused"}),
        _ => json!({}),
    }
}

/// Calls `r` as `c` with a harmless body: [`api_body`] on the API, the form token
/// (and `form`) on pages. Returns the status and `Location`.
async fn call(
    s: &Server,
    c: &Caller,
    r: &RouteInfo,
    path: &str,
    form: &[(&'static str, String)],
    spare: bool,
) -> (u16, Option<String>) {
    let url = s.url(path);
    let method = Method::from_bytes(r.method.as_str().as_bytes()).unwrap();
    let req = if r.area == Area::Api || r.path.starts_with("/api/") {
        let mut req = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap()
            .request(method.clone(), url);
        let bearer = if spare { &c.spare_bearer } else { &c.bearer };
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
            req = req.json(&api_body(&format!("{} {}", r.method, r.path)));
        }
        req
    } else {
        let (b, csrf) = match (&c.spare_browser, spare) {
            (Some((b, csrf)), true) => (b, csrf),
            _ if r.area == Area::Public => (&c.browser, &c.public_csrf),
            _ => (&c.browser, &c.csrf),
        };
        let mut req = b.request(method.clone(), url);
        // Applications have no page session; their token must not open pages either.
        if let (Some(t), None) = (&c.bearer, c.who.person()) {
            req = req.bearer_auth(t);
        }
        if method == Method::POST {
            let mut fields = vec![("csrf_token", csrf.as_str())];
            fields.extend(form.iter().map(|(k, v)| (*k, v.as_str())));
            req = req
                .header("Origin", &s.base)
                .header("Sec-Fetch-Site", "same-origin")
                .form(&fields);
        }
        req
    };
    let resp = req.send().await.unwrap();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (resp.status().as_u16(), location)
}

struct Outcome {
    who: Who,
    key: String,
    path: String,
    status: u16,
    location: Option<String>,
}

async fn run_as(w: &World, c: &Caller, routes: &[RouteInfo]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for r in routes {
        let key = format!("{} {}", r.method, r.path);
        let (path, form) = concrete(w, r, c.who).await;
        // Logging out ends the session or token it is made with: use the spare one.
        let spare = key == "POST /logout" || key == "POST /api/v1/auth/logout";
        let (status, location) = call(&w.s, c, r, &path, &form, spare).await;
        out.push(Outcome {
            who: c.who,
            key,
            path,
            status,
            location,
        });
    }
    out
}

/// Platform accounts are the owner's to manage (§5): staff may read them, and every
/// change is refused. The table's ids are company people, so this probes the owner's
/// own account. Returns what disagrees.
async fn staff_on_platform_accounts(w: &World) -> Vec<String> {
    let staff = w.callers.iter().find(|c| c.who == Who::Staff).unwrap();
    let api = w.s.api(staff.bearer.as_deref().unwrap());
    let me = format!("/api/v1/users/{}", w.owner_id);
    let mut out = Vec::new();
    for (m, body, want) in [
        (Method::GET, None, 200),
        (Method::PATCH, Some(json!({"name": "Outro Nome"})), 403),
        (Method::PATCH, Some(json!({"status": "disabled"})), 403),
        (Method::DELETE, None, 403),
    ] {
        let (st, p) = api.send(m.clone(), &me, body).await;
        if st != want {
            out.push(format!(
                "Staff {m} {me} (the owner): expected {want}, got {st} {p}"
            ));
        }
    }
    // The page refuses as the API does, and as the owner-only settings pages do: 403.
    let r = staff
        .browser
        .post(w.s.url(&format!("/admin/users/{}/disable", w.owner_id)))
        .header("Origin", &w.s.base)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("csrf_token", staff.csrf.as_str())])
        .send()
        .await
        .unwrap();
    let status: String = rusqlite::Connection::open(w.s.db_path())
        .unwrap()
        .query_row(
            "SELECT status FROM users WHERE id = ?1",
            [&w.owner_id],
            |r| r.get(0),
        )
        .unwrap();
    if status != "active" || r.status() != 403 {
        out.push(format!(
            "Staff POST /admin/users/(owner)/disable: {} and the owner is {status}",
            r.status()
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_principal_as_designed() {
    let w = world().await;
    let table = routes::table();
    let rules: HashMap<&str, Vec<Expect>> = RULES
        .iter()
        .map(|(k, codes)| {
            (
                *k,
                codes
                    .split_whitespace()
                    .map(|c| code(c.chars().next().unwrap()))
                    .collect(),
            )
        })
        .collect();
    let mut failures = Vec::new();
    let keys: Vec<String> = table
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    for r in &table {
        let key = format!("{} {}", r.method, r.path);
        if !rules.contains_key(key.as_str()) {
            failures.push(format!(
                "route {key} is not in the expectation table of tests/api/authz.rs: decide who may use it"
            ));
        }
    }
    for (k, _) in RULES {
        if !keys.iter().any(|x| x == k) {
            failures.push(format!("rule {k} names no route of the router"));
        }
    }
    let (first, last): (Vec<RouteInfo>, Vec<RouteInfo>) = table
        .iter()
        .cloned()
        .partition(|r| !ends_own_access(&format!("{} {}", r.method, r.path)));
    let mut outcomes: Vec<Outcome> = join_all(w.callers.iter().map(|c| run_as(&w, c, &first)))
        .await
        .into_iter()
        .flatten()
        .collect();
    failures.extend(staff_on_platform_accounts(&w).await);
    for c in &w.callers {
        outcomes.extend(run_as(&w, c, &last).await);
    }
    let mut grid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in &outcomes {
        let r = table
            .iter()
            .find(|r| format!("{} {}", r.method, r.path) == o.key)
            .unwrap();
        let shown = match o.location.as_deref() {
            Some(l) if (300..400).contains(&o.status) => format!("{}>{}", o.status, l),
            _ => o.status.to_string(),
        };
        grid.entry(o.key.clone())
            .or_default()
            .push(format!("{:?}={shown}", o.who));
        let Some(e) = expectation(&rules, r, o.who) else {
            continue;
        };
        if !matches(e, o.who, o.status, o.location.as_deref()) {
            failures.push(format!(
                "{:?} {} {} (route {}): expected {e:?}, got {}",
                o.who, r.method, o.path, o.key, shown
            ));
        }
    }
    if std::env::var_os("AUTHZ_GRID").is_some() {
        for (k, v) in &grid {
            eprintln!("{k}\t{}", v.join(" "));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} answers disagree with DESIGN.md §5 ({} routes × {} principals):\n{}",
        failures.len(),
        outcomes.len(),
        table.len(),
        EVERYONE.len(),
        failures.join("\n")
    );
}
