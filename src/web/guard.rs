//! Who is asking: the page-session guard (for `/admin` and `/portal`) and the bearer
//! extractor (API). Page sessions come from actix-session (see `session_store`).

use crate::web::Edge;
use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;

use super::{SESSION_COOKIE, State, session_store};
use crate::error::AppError;
use crate::services::auth::{self, Principal};
use crate::services::{Actor, ActorKind};
use crate::services::{mfa, users};
use crate::web::error::{ApiError, PageError};

/// The signed-in person of a page request, put in the request by the guard.
#[derive(Clone)]
pub struct SignedIn {
    pub principal: Principal,
    /// The SHA-256 of the session key: the session's row. It marks the current session
    /// in "Minha conta" and binds form tokens to this session.
    pub session: String,
    /// Sign-ups waiting for a decision (platform users only).
    pub pending: i64,
    /// The client's address, as `OTM_TRUSTED_PROXIES` decides.
    pub ip: String,
}

impl SignedIn {
    /// The person acting, from where they act.
    pub fn actor(&self) -> Actor {
        self.principal.actor(&self.ip)
    }
}

/// What the sign-in page says when a session expired or was ended.
pub const SESSION_EXPIRED: &str = "Sua sessão expirou. Entre de novo para continuar.";

/// The page to come back to after signing in: the page asked for (a GET), or the page
/// the form was on (a POST: its same-origin `Referer`), when it lies in `area` ("/admin"
/// or "/portal"); `None` otherwise. Never another site (`domain::local_path`).
fn return_to(req: &ServiceRequest, area: &str) -> Option<String> {
    let target = if matches!(req.method().as_str(), "GET" | "HEAD") {
        match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{q}", req.path()),
        }
    } else {
        let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
        let host = req.headers().get(header::HOST)?.to_str().ok()?;
        let (_, rest) = referer.split_once("://")?;
        let path = rest.strip_prefix(host)?;
        path.to_string()
    };
    within_area(&target, area).then_some(target)
}

/// Whether `next` is a local path inside `area` ("/admin" or "/portal").
pub fn within_area(next: &str, area: &str) -> bool {
    crate::domain::local_path(next).is_some()
        && !next.contains("//")
        && (next == area
            || next.starts_with(&format!("{area}/"))
            || next.starts_with(&format!("{area}?")))
}

/// A request made by a page's script (`fetch`), not by the person navigating: it gets a
/// plain 401 and leaves the cookies alone, so the expiry notice is kept for the page the
/// person opens or posts next.
fn from_script(req: &ServiceRequest) -> bool {
    let h = req.headers();
    let mode = h.get("sec-fetch-mode").and_then(|v| v.to_str().ok());
    let accept = h.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    matches!(mode, Some(m) if m != "navigate")
        || accept.is_some_and(|a| a.starts_with("application/json"))
}

fn to_login(req: ServiceRequest, state: Option<&State>, area: Area) -> ServiceResponse<BoxBody> {
    if from_script(&req) {
        let body = serde_json::json!({
            "status": "signed_out",
            "messages": [SESSION_EXPIRED],
        });
        return req.into_response(HttpResponse::Unauthorized().json(body));
    }
    let session = req.get_session();
    let home = match area {
        Area::Admin => "/admin",
        Area::Portal => "/portal",
    };
    // The area's home is where signing in leads anyway.
    let location = match return_to(&req, home).filter(|n| n != home) {
        Some(next) => format!(
            "/login?{}",
            serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default()
        ),
        None => "/login".to_string(),
    };
    let had_cookie = req.cookie(SESSION_COOKIE).is_some();
    let mut resp = match state {
        // A cookie that leads to no session: it expired or was ended elsewhere.
        Some(state) if had_cookie && session_store::row(&session).is_none() => {
            crate::web::page::redirect_with(
                state,
                &location,
                crate::web::page::Flash::info(SESSION_EXPIRED),
            )
        }
        _ => crate::web::page::redirect(&location),
    };
    if session_store::row(&session).is_some() {
        // A live row whose person may no longer enter: the middleware deletes the row
        // and tells the browser to forget the cookie.
        session.purge();
    } else if let Some(state) = state
        && had_cookie
    {
        // A cookie that leads to no session (expired, ended, forged): forget it.
        let _ = resp.add_cookie(&state.removal(SESSION_COOKIE));
    }
    req.into_response(resp)
}

/// Who a scope admits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Area {
    Admin,
    Portal,
}

async fn require(
    area: Area,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<State>().cloned();
    let session = req.get_session();
    let signed_in = session_store::user_id(&session).zip(session_store::row(&session));
    let (Some(state), Some((user_id, row))) = (state, signed_in) else {
        let state = req.app_data::<State>().cloned();
        return Ok(to_login(req, state.as_ref(), area));
    };
    let found = state
        .run(move |conn, app| {
            let Some(p) = auth::session_principal(conn, &user_id)? else {
                return Ok(None);
            };
            let pending = users::pending_for(conn, &p)?;
            let must_enrol = mfa::must_enrol(conn, &app.settings, &p)?;
            Ok(Some((p, pending, must_enrol)))
        })
        .await;
    match found {
        Ok(Some((principal, pending, must_enrol))) => {
            let admitted = match area {
                Area::Admin => principal.role.is_platform(),
                Area::Portal => !principal.role.is_platform(),
            };
            if !admitted {
                // Each kind of person has one home; send them there.
                let home = if principal.role.is_platform() {
                    "/admin"
                } else {
                    "/portal"
                };
                let resp = HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, home))
                    .finish();
                return Ok(req.into_response(resp));
            }
            // A role that must use a second factor, without one: only the enrolment
            // page, the step-up it may ask for (the password again), and signing out,
            // until it is on.
            let (enrol, step_up) = if principal.role.is_platform() {
                ("/admin/profile/mfa", "/admin/step-up")
            } else {
                ("/portal/profile/mfa", "/portal/step-up")
            };
            if must_enrol && !req.path().starts_with(enrol) && req.path() != step_up {
                let resp = HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, enrol))
                    .finish();
                return Ok(req.into_response(resp));
            }
            let ip = state.client_ip(req.request());
            req.extensions_mut().insert(SignedIn {
                principal,
                session: row,
                pending,
                ip,
            });
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Ok(None) => Ok(to_login(req, Some(&state), area)),
        Err(e) => {
            let resp = PageError(e).error_response();
            Ok(req.into_response(resp))
        }
    }
}

/// Admits platform users (owner, staff) with a live session.
pub async fn require_platform_user(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    require(Area::Admin, req, next).await
}

/// Admits company users with a live session.
pub async fn require_company_user(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    require(Area::Portal, req, next).await
}

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<SignedIn>()
                .cloned()
                .ok_or(PageError(AppError::Unauthenticated)),
        )
    }
}

/// The principal of an API request, from `Authorization: Bearer <token>`: a person
/// (token from `/auth/login`) or an application (token from `/auth/token`, which
/// starts with [`APP_TOKEN_PREFIX`] so one lookup decides).
#[derive(Clone)]
pub struct ApiUser {
    pub principal: Option<Principal>,
    actor: Actor,
    pub token: String,
    pub ip: String,
}

pub use crate::services::applications::APP_TOKEN_PREFIX;

impl ApiUser {
    pub fn actor(&self) -> Actor {
        self.actor.clone()
    }
}

pub fn bearer(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<State>()
                .cloned()
                .ok_or(ApiError(AppError::Unauthenticated))?;
            let token = bearer(&req).ok_or(ApiError(AppError::Unauthenticated))?;
            let t = token.clone();
            let ip = state.client_ip(&req);
            if let Some(app_token) = t.strip_prefix(APP_TOKEN_PREFIX).map(str::to_string) {
                // A hit in the hot cache is answered here; only a miss takes a blocking
                // thread (a connection and SQL).
                let found = match crate::services::hot::cached_application_token(&state, &app_token)
                {
                    Some(e) => Some(e),
                    None => {
                        state
                            .blocking(move |app| {
                                crate::services::hot::application_token(app, &app_token)
                            })
                            .await?
                    }
                };
                let Some((id, client_id, scope)) = found else {
                    // Nobody's: the metering layer need not look it up again.
                    req.extensions_mut().insert(super::metering::TokenLookedUp);
                    return Err(ApiError(AppError::Unauthenticated));
                };
                // One mark per request, however many times the token is extracted.
                let metered = req
                    .extensions()
                    .get::<super::metering::AppCall>()
                    .and_then(|c| c.0.call_mark().cloned())
                    .unwrap_or_default();
                let actor = Actor {
                    kind: ActorKind::Application {
                        id,
                        client_id,
                        scope,
                        metered,
                    },
                    ip: ip.clone(),
                };
                req.extensions_mut()
                    .insert(super::metering::AppCall(actor.clone()));
                return Ok(ApiUser {
                    principal: None,
                    actor,
                    token,
                    ip,
                });
            }
            // Until a required second factor is on, a person's token opens only their
            // own account, the enrolment and the sign-out.
            let exempt = matches!(req.path(), "/api/v1/me" | "/api/v1/auth/logout")
                || req.path().starts_with("/api/v1/me/mfa");
            let found = match crate::services::hot::cached_person_token(&state, &t) {
                Some(e) => e,
                None => state
                    .blocking(move |app| crate::services::hot::person_token(app, &t))
                    .await?
                    .ok_or(ApiError(AppError::Unauthenticated))?,
            };
            if !exempt && found.must_enrol {
                return Err(ApiError(AppError::MfaEnrollmentRequired));
            }
            let principal = found.principal;
            let actor = principal.actor(&ip);
            Ok(ApiUser {
                principal: Some(principal),
                actor,
                token,
                ip,
            })
        })
    }
}
