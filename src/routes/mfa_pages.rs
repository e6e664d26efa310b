//! The second factor's pages, in both areas (`/admin/…`, `/portal/…`): the sign-in's
//! second step (`/login/code`), the enrolment and management page under "Minha conta"
//! (`/profile/mfa`), and step-up (`/step-up`), the one reusable piece that sensitive
//! actions put in front of themselves with [`step_up`].
//!
//! The sign-in's pending state (the password checked out, the code not yet) is a
//! short-lived cookie, `otm_mfa_pending`: the person's id and an expiry, MAC'd with a key
//! of ours together with when the person last signed in. It signs nobody in: the session
//! is made only once the code is right, and that sign-in spends it (single use).

use actix_session::Session;
use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::crypto::{constant_time_eq, hmac_hex};
use crate::error::AppError;
use crate::services::auth;
use crate::services::known_clients::Client;
use crate::services::mfa::{self, Enrolment};
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Nav, redirect, redirect_with, render, render_status};
use crate::web::session_store;
use crate::web::{Edge, State, user_agent};

/// The cookie of a sign-in waiting for its code.
pub const PENDING_COOKIE: &str = "otm_mfa_pending";
/// How long the sign-in waits for the code.
const PENDING_SECS: i64 = 300;
/// The session key holding when (Unix seconds) the session's person last gave a code
/// (or, without a second factor, their password): sign-in or step-up.
pub const STEP_UP_AT: &str = "step_up_at";

fn unix_now() -> i64 {
    crate::time::now().timestamp()
}

fn pending_mac(state: &State, user_id: &str, expires: &str, mark: &str) -> String {
    hmac_hex(
        &state.keys.csrf,
        &[
            b"otm-mfa-pending-v2",
            user_id.as_bytes(),
            expires.as_bytes(),
            mark.as_bytes(),
        ],
    )
}

/// The pending cookie for `user_id`, valid [`PENDING_SECS`] and bound to `mark`, when the
/// person last signed in ([`auth::login_mark`]): the sign-in its code completes moves
/// that mark on, so the cookie counts once.
pub fn pending_cookie(
    state: &State,
    user_id: &str,
    mark: &str,
) -> actix_web::cookie::Cookie<'static> {
    let expires = (unix_now() + PENDING_SECS).to_string();
    let mac = pending_mac(state, user_id, &expires, mark);
    let mut c = state.cookie(
        PENDING_COOKIE,
        format!("{user_id}.{expires}.{mac}"),
        SameSite::Strict,
    );
    c.set_max_age(actix_web::cookie::time::Duration::seconds(PENDING_SECS));
    c
}

/// A live pending cookie's parts: the person it names, its expiry and its MAC (checked
/// against the person's current mark with [`pending_valid`]).
struct Pending {
    user_id: String,
    expires: String,
    mac: String,
}

fn pending_parts(req: &HttpRequest) -> Option<Pending> {
    let c = req.cookie(PENDING_COOKIE)?;
    let mut parts = c.value().splitn(3, '.');
    let (user_id, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
    (expires.parse::<i64>().ok()? > unix_now()).then(|| Pending {
        user_id: user_id.to_string(),
        expires: expires.to_string(),
        mac: mac.to_string(),
    })
}

/// Whether `p` is untampered and made for the person's sign-in marked `mark`.
fn pending_valid(state: &State, p: &Pending, mark: &str) -> bool {
    let good = pending_mac(state, &p.user_id, &p.expires, mark);
    constant_time_eq(good.as_bytes(), p.mac.as_bytes())
}

/// The person a live, untampered, unspent pending cookie names.
async fn pending_user(req: &HttpRequest, state: &State) -> Option<String> {
    let p = pending_parts(req)?;
    let uid = p.user_id.clone();
    let mark = state
        .run(move |conn, _| auth::login_mark(conn, &uid))
        .await
        .ok()??;
    pending_valid(state, &p, &mark).then_some(p.user_id)
}

/// Marks the session's identity as just confirmed (sign-in or step-up).
pub fn mark_fresh(session: &Session) -> Result<(), AppError> {
    session
        .insert(STEP_UP_AT, unix_now())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session state: {e}")))
}

fn is_fresh(state: &State, session: &Session) -> bool {
    let at = session.get::<i64>(STEP_UP_AT).ok().flatten().unwrap_or(0);
    let window = i64::try_from(state.settings.step_up_secs).unwrap_or(300);
    unix_now() - at < window
}

fn area(who: &SignedIn) -> &'static str {
    if who.principal.role.is_platform() {
        "/admin"
    } else {
        "/portal"
    }
}

/// Step-up, the reusable piece: `None` when the session's person confirmed who they are
/// within `OTM_STEP_UP_SECONDS` (5 minutes by default); otherwise the answer that sends
/// them to confirm it (a code, or their password when they have no second factor) and
/// then back to `next`, a page of their own area. Put it first in a sensitive handler:
/// `if let Some(r) = step_up(&state, &session, &who, next) { return Ok(r); }`.
pub fn step_up(
    state: &State,
    session: &Session,
    who: &SignedIn,
    next: &str,
) -> Option<HttpResponse> {
    if is_fresh(state, session) {
        return None;
    }
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    let to = format!("{}/step-up?{query}", area(who));
    Some(redirect(&to))
}

/// `next` if it is a path of the person's own area; their home otherwise (no open
/// redirect).
fn safe_next(who: &SignedIn, next: &str) -> String {
    let home = area(who);
    let ok = crate::domain::local_path(next).is_some()
        && next.starts_with(&format!("{home}/"))
        && !next.contains("//");
    if ok {
        next.to_string()
    } else {
        home.to_string()
    }
}

// ---- sign-in, second step -----------------------------------------------------------

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    ctx: Ctx,
    error: Option<String>,
    /// The page to return to after signing in (checked again by `auth::enter`).
    next: String,
}

pub async fn login_code_form(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    q: web::Query<crate::routes::auth::NextQuery>,
) -> Result<HttpResponse, PageError> {
    if pending_user(&req, &state).await.is_none() {
        return Ok(redirect_with(
            &state,
            "/login",
            Flash::error("Entre de novo com seu e-mail e senha."),
        ));
    }
    let next = crate::routes::auth::clean_next(q.next());
    render(&CodePage {
        ctx,
        error: None,
        next,
    })
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    otp: String,
    #[serde(default)]
    next: String,
}

pub async fn login_code(
    req: HttpRequest,
    state: State,
    session: Session,
    ctx: Ctx,
    Form(form): Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let next = crate::routes::auth::clean_next(&form.next);
    let Some(pending) = pending_parts(&req) else {
        let mut r = redirect_with(
            &state,
            "/login",
            Flash::error(
                "O tempo para digitar o código acabou. Entre de novo com seu e-mail e senha.",
            ),
        );
        let _ = r.add_cookie(&state.removal(PENDING_COOKIE));
        return Ok(r);
    };
    let (ip, ua) = (state.client_ip(&req), user_agent(&req));
    let old_session = session_store::row(&session);
    let device = crate::routes::auth::device_of(&req);
    let (at, agent, dev) = (ip.clone(), ua.clone(), device.clone());
    let st = state.clone();
    let result = state
        .blocking(move |app| {
            let client = Client {
                ip: &at,
                device: Some(&dev),
                user_agent: &agent,
            };
            let ok = |mark: &str| pending_valid(&st, &pending, mark);
            let user_id = pending.user_id.clone();
            auth::sign_in_page_code(
                app,
                &user_id,
                &form.otp,
                &client,
                old_session.as_deref(),
                &ok,
            )
        })
        .await;
    let p = match result {
        Ok(p) => p,
        Err(AppError::InvalidOtp | AppError::MfaRequired) => {
            return render_status(
                StatusCode::UNAUTHORIZED,
                &CodePage {
                    ctx,
                    error: Some(
                        "Código incorreto ou já usado. Digite o código que o aplicativo mostra agora."
                            .into(),
                    ),
                    next,
                },
            );
        }
        Err(AppError::MfaLocked { retry_after_secs }) => {
            let mut r = render_status(
                StatusCode::TOO_MANY_REQUESTS,
                &CodePage {
                    ctx,
                    next,
                    error: Some(format!(
                        "Foram digitados {} códigos errados seguidos. Por segurança, aguarde {} minuto(s) e tente de novo.",
                        mfa::LOCK_AFTER,
                        retry_after_secs.div_ceil(60)
                    )),
                },
            )?;
            if let Ok(v) =
                actix_web::http::header::HeaderValue::from_str(&retry_after_secs.to_string())
            {
                r.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, v);
            }
            return Ok(r);
        }
        Err(AppError::Unauthenticated) => {
            // Tampered, already used (a sign-in since), or the person can no longer enter.
            let mut r = redirect_with(
                &state,
                "/login",
                Flash::error("Entre de novo com seu e-mail e senha."),
            );
            let _ = r.add_cookie(&state.removal(PENDING_COOKIE));
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    };
    let mut resp = crate::routes::auth::enter(&state, &session, &p, &ip, &ua, device, &next)?;
    let _ = resp.add_cookie(&state.removal(PENDING_COOKIE));
    Ok(resp)
}

// ---- "Minha conta" → second factor ---------------------------------------------------

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    ctx: Ctx,
    base: String,
    /// "Minha conta" of this area.
    profile: String,
    status: mfa::Status,
    enrolment: Option<Enrolment>,
    /// A data: URL of the enrolment's QR code (an SVG image).
    qr: String,
    /// Recovery codes to show this once (after confirming or regenerating).
    codes: Vec<String>,
    /// The codes as a data: URL of a .txt file, for "Baixar".
    codes_txt: String,
    error: Option<String>,
    locked_until: String,
}

fn base_of(who: &SignedIn) -> String {
    format!("{}/profile/mfa", area(who))
}

fn qr_data_url(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(220, 220)
                .quiet_zone(true)
                .build();
            format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg))
        }
        Err(_) => String::new(),
    }
}

fn codes_txt(codes: &[String]) -> String {
    if codes.is_empty() {
        return String::new();
    }
    let mut text = String::from(
        "Omie Tenant Manager — códigos de recuperação da verificação em duas etapas\r\n\
         Cada código vale uma vez só. Guarde-os em lugar seguro.\r\n\r\n",
    );
    for c in codes {
        text.push_str(c);
        text.push_str("\r\n");
    }
    format!(
        "data:text/plain;charset=utf-8;base64,{}",
        STANDARD.encode(text)
    )
}

async fn mfa_page(
    state: &State,
    ctx: Ctx,
    who: &SignedIn,
    codes: Vec<String>,
    error: Option<String>,
) -> Result<MfaPage, PageError> {
    let (actor, p) = (who.actor(), who.principal.clone());
    let (status, enrolment) = state
        .run(move |conn, app| {
            let status = mfa::status(conn, &app.settings, &p)?;
            let enrolment = if status.pending {
                mfa::pending(conn, &app.keys, &actor)?
            } else {
                None
            };
            Ok((status, enrolment))
        })
        .await?;
    let qr = enrolment
        .as_ref()
        .map(|e| qr_data_url(&e.otpauth_uri))
        .unwrap_or_default();
    let locked_until = status
        .locked_until
        .as_deref()
        .map(crate::time::db_to_br)
        .unwrap_or_default();
    Ok(MfaPage {
        ctx: ctx.with_nav(Nav::Profile),
        base: base_of(who),
        profile: format!("{}/profile", area(who)),
        status,
        enrolment,
        qr,
        codes_txt: codes_txt(&codes),
        codes,
        error,
        locked_until,
    })
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    render(&mfa_page(&state, ctx, &who, vec![], None).await?)
}

pub async fn start(
    state: State,
    session: Session,
    who: SignedIn,
    _f: Form<crate::routes::auth::Empty>,
) -> Result<HttpResponse, PageError> {
    // A factor once on is what step-up asks for: turning one on needs a fresh identity
    // (the password again), or a stale session could enrol its own authenticator and
    // get past step-up without ever knowing the password.
    if let Some(r) = step_up(&state, &session, &who, &base_of(&who)) {
        return Ok(r);
    }
    let actor = who.actor();
    state
        .run(move |conn, app| mfa::start(conn, &app.keys, &actor))
        .await?;
    Ok(redirect(&base_of(&who)))
}

/// The page again with a message about the code, or an error page for anything else.
async fn code_refused(
    state: &State,
    ctx: Ctx,
    who: &SignedIn,
    e: AppError,
) -> Result<HttpResponse, PageError> {
    let (status, msg) = match e {
        AppError::InvalidOtp | AppError::MfaRequired => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Código incorreto ou já usado. Digite o código que o aplicativo mostra agora."
                .to_string(),
        ),
        AppError::Validation(f) | AppError::Conflict(f) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            f.first().map(|e| e.message.clone()).unwrap_or_default(),
        ),
        AppError::MfaLocked { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Foram digitados {} códigos errados seguidos. Por segurança, aguarde {} minuto(s).",
                mfa::LOCK_AFTER,
                retry_after_secs.div_ceil(60)
            ),
        ),
        AppError::Forbidden => (
            StatusCode::FORBIDDEN,
            "O seu papel exige a verificação em duas etapas: ela não pode ser desativada."
                .to_string(),
        ),
        e => return Err(e.into()),
    };
    render_status(status, &mfa_page(state, ctx, who, vec![], Some(msg)).await?)
}

pub async fn confirm(
    state: State,
    session: Session,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    // As for starting: the pending secret is on the page, so confirming needs a fresh
    // identity too.
    if let Some(r) = step_up(&state, &session, &who, &base_of(&who)) {
        return Ok(r);
    }
    let actor = who.actor();
    let r = state
        .run(move |conn, app| mfa::confirm(conn, &app.keys, &app.settings.base_url, &actor, &f.otp))
        .await;
    match r {
        Ok(codes) => {
            mark_fresh(&session)?;
            let mut ctx = ctx;
            ctx.flash = Some(Flash::success(
                "Verificação em duas etapas ativada. Guarde agora os códigos de recuperação.",
            ));
            render(&mfa_page(&state, ctx, &who, codes, None).await?)
        }
        Err(e) => code_refused(&state, ctx, &who, e).await,
    }
}

pub async fn regenerate(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let r = state
        .run(move |conn, app| {
            mfa::regenerate_codes(conn, &app.keys, &app.settings.base_url, &actor, &f.otp)
        })
        .await;
    match r {
        Ok(codes) => {
            let mut ctx = ctx;
            ctx.flash = Some(Flash::success(
                "Novos códigos de recuperação gerados; os antigos deixaram de valer.",
            ));
            render(&mfa_page(&state, ctx, &who, codes, None).await?)
        }
        Err(e) => code_refused(&state, ctx, &who, e).await,
    }
}

pub async fn disable(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let r = state
        .run(move |conn, app| mfa::disable(conn, &app.keys, &app.settings, &actor, &f.otp))
        .await;
    match r {
        Ok(()) => Ok(redirect_with(
            &state,
            &base_of(&who),
            Flash::success("Verificação em duas etapas desativada."),
        )),
        Err(e) => code_refused(&state, ctx, &who, e).await,
    }
}

// ---- step-up ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "step_up.html")]
struct StepUpPage {
    ctx: Ctx,
    action: String,
    next: String,
    with_code: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn step_up_page(
    state: &State,
    ctx: Ctx,
    who: &SignedIn,
    next: String,
    error: Option<String>,
) -> Result<StepUpPage, PageError> {
    let id = who.principal.user.id.clone();
    let with_code = state.run(move |conn, _| mfa::enabled(conn, &id)).await?;
    Ok(StepUpPage {
        ctx,
        action: format!("{}/step-up", area(who)),
        next: safe_next(who, &next),
        with_code,
        error,
    })
}

pub async fn step_up_form(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = q.into_inner().next;
    render(&step_up_page(&state, ctx, &who, next, None).await?)
}

#[derive(Deserialize)]
pub struct StepUpForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    next: String,
}

pub async fn step_up_submit(
    state: State,
    session: Session,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<StepUpForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let answer = f.answer.clone();
    let r = state
        .blocking(move |app| mfa::step_up(app, &actor, &answer))
        .await;
    let (status, msg) = match r {
        Ok(_) => {
            mark_fresh(&session)?;
            return Ok(redirect_with(
                &state,
                &safe_next(&who, &f.next),
                Flash::success("Identidade confirmada. Pode continuar."),
            ));
        }
        Err(AppError::InvalidOtp | AppError::MfaRequired) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Código incorreto ou já usado. Digite o código que o aplicativo mostra agora."
                .to_string(),
        ),
        Err(AppError::Validation(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            e.first().map(|e| e.message.clone()).unwrap_or_default(),
        ),
        Err(
            AppError::MfaLocked { retry_after_secs } | AppError::Throttled { retry_after_secs },
        ) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Muitas tentativas erradas. Por segurança, aguarde {} minuto(s) e tente de novo.",
                retry_after_secs.div_ceil(60)
            ),
        ),
        Err(e) => return Err(e.into()),
    };
    render_status(
        status,
        &step_up_page(&state, ctx, &who, f.next, Some(msg)).await?,
    )
}

// ---- the owner's setting --------------------------------------------------------------

#[derive(Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    company_admin: String,
}

/// `/admin/settings/mfa`: require the second factor of company admins too (owner only).
pub async fn save_policy(
    state: State,
    who: SignedIn,
    Form(f): Form<PolicyForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let on = f.company_admin == "on" || f.company_admin == "true";
    state
        .run(move |conn, app| mfa::set_company_admin_required(conn, &app.keys, &actor, on))
        .await?;
    let m = if on {
        "A verificação em duas etapas agora é obrigatória também para administradores das empresas."
    } else {
        "A verificação em duas etapas deixou de ser obrigatória para administradores das empresas."
    };
    Ok(redirect_with(&state, "/admin/settings", Flash::success(m)))
}
