//! Sign-in, sign-out and the first-start setup page.

use actix_session::Session;
use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::error::{AppError, FieldError};
use crate::routes::mfa_pages;
use crate::services::auth::{self, LoginInput};
use crate::services::known_clients::well_formed_device;
use crate::services::setup;
use crate::web::error::PageError;
use crate::web::page::{
    Ctx, Flash, Form, form_outcome, redirect, redirect_with, render, render_status,
};
use crate::web::session_store;
use crate::web::{CSRF_COOKIE, DEVICE_COOKIE, Edge, SESSION_COOKIE, State, user_agent};

pub async fn home(session: Session) -> HttpResponse {
    if session_store::user_id(&session).is_some() {
        redirect("/admin")
    } else {
        redirect("/login")
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    email: String,
    error: Option<String>,
    /// The page to return to after signing in (a local path, or empty).
    next: String,
}

/// `?next=`: where the person was when their session ended. Only a local path is kept;
/// [`enter`] also checks it lies in the person's own area.
#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

impl NextQuery {
    pub fn next(&self) -> &str {
        &self.next
    }
}

/// `next` when it is a local path of one of the two areas; empty otherwise.
pub(crate) fn clean_next(next: &str) -> String {
    let ok = crate::web::guard::within_area(next, "/admin")
        || crate::web::guard::within_area(next, "/portal");
    if ok { next.to_string() } else { String::new() }
}

pub async fn login_form(ctx: Ctx, q: web::Query<NextQuery>) -> Result<HttpResponse, PageError> {
    render(&LoginPage {
        ctx,
        email: String::new(),
        error: None,
        next: clean_next(&q.next),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    req: HttpRequest,
    state: State,
    session: Session,
    ctx: Ctx,
    Form(form): Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let (ip, ua) = (state.client_ip(&req), user_agent(&req));
    let old_session = session_store::row(&session);
    let device = device_of(&req);
    let next = clean_next(&form.next);
    let (email, at, agent, dev) = (form.email.clone(), ip.clone(), ua.clone(), device.clone());
    let result = state
        .blocking(move |app| {
            let input = form.input(&at, &dev, &agent);
            auth::sign_in_page(app, &input, old_session.as_deref())
        })
        .await;
    let p = match result {
        Ok(auth::PageSignIn::Done(p)) => p,
        Ok(auth::PageSignIn::NeedsCode(p)) => {
            // Not signed in yet: the code comes in a second step, within minutes.
            let to = if next.is_empty() {
                "/login/code".to_string()
            } else {
                let q = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                format!("/login/code?{q}")
            };
            let mut resp = redirect(&to);
            let mark = p.user.last_login_at.as_deref().unwrap_or_default();
            let _ = resp.add_cookie(&mfa_pages::pending_cookie(&state, &p.user.id, mark));
            return Ok(resp);
        }
        Err(e) => return refused(ctx, email, next, e),
    };
    enter(&state, &session, &p, &ip, &ua, device, &next)
}

/// The browser's device cookie when it has a well-formed one, or a new one to set if this
/// sign-in succeeds (`known_clients`).
pub(crate) fn device_of(req: &HttpRequest) -> String {
    req.cookie(DEVICE_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| well_formed_device(v))
        .unwrap_or_else(crate::crypto::new_token)
}

/// The answer to a complete sign-in (password, and the code when the person has a second
/// factor): a new session id (the middleware saves the session under a new key), a new
/// CSRF cookie, and the device cookie; each kind of person has one home, and goes back
/// to `next` (the page they were on when their session expired) when it lies there.
pub(crate) fn enter(
    state: &State,
    session: &Session,
    p: &auth::Principal,
    ip: &str,
    ua: &str,
    device: String,
    next: &str,
) -> Result<HttpResponse, PageError> {
    session_store::sign_in(session, &p.user.id, ip, ua)?;
    // The password (and code) were just typed: sensitive actions need no step-up for a while.
    mfa_pages::mark_fresh(session)?;
    let home = if p.role.is_platform() {
        "/admin"
    } else {
        "/portal"
    };
    let to = if crate::web::guard::within_area(next, home) {
        next
    } else {
        home
    };
    let mut resp = redirect_with(state, to, Flash::success("Você entrou."));
    let csrf = state.cookie(CSRF_COOKIE, crate::crypto::new_token(), SameSite::Strict);
    let _ = resp.add_cookie(&csrf);
    // The browser is now known for this account: it keeps that for a year after its
    // last sign-in.
    let mut device = state.cookie(DEVICE_COOKIE, device, SameSite::Strict);
    device.set_max_age(actix_web::cookie::time::Duration::days(400));
    let _ = resp.add_cookie(&device);
    Ok(resp)
}

/// The sign-in page again, saying in Portuguese why the sign-in was refused.
fn refused(ctx: Ctx, email: String, next: String, e: AppError) -> Result<HttpResponse, PageError> {
    let (status, error) = match &e {
        AppError::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            "E-mail ou senha incorretos. Confira e tente de novo.".to_string(),
        ),
        AppError::Throttled { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Muitas tentativas sem sucesso. Por segurança, aguarde {retry_after_secs} segundos antes de tentar de novo."
            ),
        ),
        AppError::AccountInactive(why) => (StatusCode::FORBIDDEN, why.message_pt()),
        _ => return Err(e.into()),
    };
    let mut resp = render_status(
        status,
        &LoginPage {
            ctx,
            email,
            error: Some(error),
            next,
        },
    )?;
    if let AppError::Throttled { retry_after_secs } = e
        && let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(resp)
}

#[derive(Deserialize)]
pub struct Empty {}

/// Signing out. The form token is checked only when there is a session to end: a
/// session that expired meanwhile has nothing left to forge, and its pages' token was
/// bound to it, so "Sair" on an expired page leads to the sign-in page, not to an error.
pub async fn logout(
    req: HttpRequest,
    state: State,
    session: Session,
    form: Result<Form<Empty>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let mut resp = redirect_with(&state, "/login", Flash::success("Você saiu. Até logo!"));
    match session_store::row(&session) {
        Some(row) => {
            form?;
            let ip = state.client_ip(&req);
            state
                .run(move |conn, app| auth::end_session(conn, &app.keys, &row, &ip))
                .await
                .map_err(PageError)?;
            // The row is gone; the middleware also removes the cookie.
            session.purge();
        }
        None if req.cookie(SESSION_COOKIE).is_some() => {
            let _ = resp.add_cookie(&state.removal(SESSION_COOKIE));
        }
        None => {}
    }
    Ok(resp)
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    ctx: Ctx,
    token: String,
    name: String,
    email: String,
    errors: Vec<FieldError>,
}

impl SetupPage {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }
}

pub async fn setup_form(
    state: State,
    ctx: Ctx,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let t = token.clone();
    if !state
        .run(move |conn, _| setup::link_is_usable(conn, &t))
        .await?
    {
        let why = state.run(|conn, _| setup::gone_link(conn)).await?;
        return crate::routes::mailed_links::gone(ctx, why);
    }
    render(&SetupPage {
        ctx,
        token: token.into_inner(),
        name: String::new(),
        email: String::new(),
        errors: vec![],
    })
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn setup(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    token: web::Path<String>,
    Form(form): Form<SetupForm>,
) -> Result<HttpResponse, PageError> {
    let (ip, t) = (state.client_ip(&req), token.clone());
    let (name, email) = (form.name.clone(), form.email.clone());
    let result = state
        .blocking(move |app| {
            let (keys, cost) = (&app.keys, app.settings.bcrypt_cost);
            setup::create_owner(&app.pool, keys, &ip, Some(&t), &form.input(), cost)
        })
        .await;
    if let Err(AppError::NotFound) = result {
        let why = state.run(|conn, _| setup::gone_link(conn)).await?;
        return crate::routes::mailed_links::gone(ctx, why);
    }
    let done = |_| {
        let m = Flash::success("Conta do proprietário criada. Entre com seu e-mail e senha.");
        redirect_with(&state, "/login", m)
    };
    form_outcome(result, done, |errors| {
        let token = token.into_inner();
        render(&SetupPage {
            ctx,
            token,
            name,
            email,
            errors,
        })
    })
}

impl LoginForm {
    fn input<'a>(&'a self, ip: &'a str, device: &'a str, user_agent: &'a str) -> LoginInput<'a> {
        LoginInput {
            email: &self.email,
            password: &self.password,
            ip,
            device: Some(device),
            user_agent,
            otp: None,
        }
    }
}

impl SetupForm {
    fn input(&self) -> setup::OwnerInput<'_> {
        setup::OwnerInput {
            name: &self.name,
            email: &self.email,
            password: &self.password,
            password_confirm: Some(&self.password_confirm),
        }
    }
}
