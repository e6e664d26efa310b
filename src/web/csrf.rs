//! Cross-site request forgery defence for the pages (the bearer-token API uses no
//! cookies and is exempt):
//! 1. unsafe requests must come from our own origin (`Sec-Fetch-Site`, else `Origin`);
//! 2. every form carries a token, an HMAC of the browser's CSRF cookie under a server key,
//!    so a cookie planted from a sibling domain cannot be paired with a valid token.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::guard::SignedIn;
use super::headers::FreshCsrfCookie;
use super::limits::FORM_LIMIT;
use super::{CSRF_COOKIE, State};
use crate::crypto::{constant_time_eq, hmac_hex};
use crate::error::AppError;
use crate::web::error::{ErrorPage, PageError};

/// The token forms must echo back, for this request's browser and, once signed in, for
/// this session: a token read from one session's page is refused in another session even
/// when both carry the same CSRF cookie (one planted from a sibling domain, or a shared
/// browser profile).
pub fn form_token(req: &HttpRequest, state: &State) -> String {
    let cookie = req
        .cookie(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .or_else(|| {
            req.extensions()
                .get::<FreshCsrfCookie>()
                .map(|f| f.0.clone())
        })
        .unwrap_or_default();
    match bound_session(req) {
        Some(session) => hmac_hex(
            &state.keys.csrf,
            &[cookie.as_bytes(), b"session", session.as_bytes()],
        ),
        None => hmac_hex(&state.keys.csrf, &[cookie.as_bytes()]),
    }
}

/// The session a form token is bound to: the SHA-256 of its key (its row). A page and
/// the post it makes must agree: inside /admin and /portal both run behind the guard,
/// which puts `SignedIn` in the request. `/logout` is posted from those pages but lies
/// outside their scopes, so there the session the middleware loaded stands in. Pages used
/// before signing in (login, sign-up, links) stay bound to the CSRF cookie alone,
/// whatever session cookie the browser holds.
fn bound_session(req: &HttpRequest) -> Option<String> {
    if let Some(s) = req.extensions().get::<SignedIn>() {
        return Some(s.session.clone());
    }
    if req.path() == "/logout" {
        return super::session_store::row(&req.get_session());
    }
    None
}

fn same_origin(req: &ServiceRequest, state: &State) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match h.get("origin").and_then(|v| v.to_str().ok()) {
        // Browsers without Fetch Metadata: compare Origin with our address or the Host asked.
        Some(origin) => {
            let host = h.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
            let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or("");
            origin == state.settings.origin() || (!host.is_empty() && authority == host)
        }
        // Neither header (old browser, script): the form token still has to match.
        None => true,
    }
}

pub async fn origin_check(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let unsafe_method = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let exempt = req.path().starts_with("/api/");
    if unsafe_method
        && !exempt
        && let Some(state) = req.app_data::<State>().cloned()
        && !same_origin(&req, &state)
    {
        tracing::warn!(path = %loggable_path(req.path()), "cross-origin form post refused");
        let resp = PageError(AppError::CsrfRejected).error_response();
        return Ok(req.into_response(resp));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The path with single-use tokens left out (`/password/reset/{token}`, `/invite/…`,
/// `/setup/…`): a refused post does not spend its token, so the log must not hold it.
/// Tokens are 43 characters; our ids are at most 20.
pub fn loggable_path(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.len() > 32 { "{token}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Checks a form's token against this browser's CSRF cookie.
pub fn check_token(req: &HttpRequest, state: &State, sent: &str) -> Result<(), PageError> {
    let expected = form_token(req, state);
    let has_cookie = req.cookie(CSRF_COOKIE).is_some();
    if !has_cookie || !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        tracing::warn!(path = %loggable_path(req.path()), "form without a valid CSRF token refused");
        return Err(PageError(AppError::CsrfRejected));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf_token: String,
}

/// Why a page form could not be read, each with what the person can do about it.
#[derive(Debug, thiserror::Error)]
pub enum FormRefused {
    /// Not `application/x-www-form-urlencoded`: not sent by our pages' forms.
    #[error("not a url-encoded form")]
    NotAForm,
    /// The token checked out, but the fields do not fit the form.
    #[error("form fields do not fit")]
    Malformed,
}

impl ResponseError for FormRefused {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotAForm => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Malformed => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let (title, message) = match self {
            Self::NotAForm => (
                "Formato de envio não aceito",
                "Este endereço só aceita formulários enviados pelas páginas do sistema. Volte, recarregue a página e envie o formulário por ela.",
            ),
            Self::Malformed => (
                "Formulário inválido",
                "Os campos enviados não correspondem a este formulário (um campo repetido ou fora do formato). Volte, recarregue a página e preencha o formulário de novo.",
            ),
        };
        ErrorPage::response(self.status_code(), title, message.to_string())
    }
}

/// A url-encoded form whose CSRF token has been checked. Page handlers take this instead
/// of `web::Form`.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let bad = |m: &str| PageError(AppError::BadRequest(m.to_string()));
            let ct = req.content_type().to_string();
            if ct != "application/x-www-form-urlencoded" {
                return Err(FormRefused::NotAForm.into());
            }
            let too_large = || PageError(AppError::PayloadTooLarge { limit: FORM_LIMIT });
            let body = body.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    bad("form unreadable")
                }
            })?;
            // The body is read under the general payload limit; forms get the smaller one.
            if body.len() > FORM_LIMIT {
                return Err(too_large().into());
            }
            let state = req
                .app_data::<State>()
                .cloned()
                .ok_or_else(|| bad("no state"))?;
            // A token field that cannot be read is a token that cannot be checked: the
            // same refusal as a wrong one, before anything else about the form is told.
            let sent = serde_urlencoded::from_bytes::<TokenField>(&body)
                .map(|t| t.csrf_token)
                .unwrap_or_default();
            check_token(&req, &state, &sent)?;
            let value = serde_urlencoded::from_bytes(&body).map_err(|_| FormRefused::Malformed)?;
            Ok(CsrfForm(value))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn logged_paths_leave_tokens_out() {
        let token = "3-CF9T0aQk2mZx7Lr1YpV8sWcNbHdEuJgKiOqAtF5Gh";
        assert_eq!(
            super::loggable_path(&format!("/password/reset/{token}")),
            "/password/reset/{token}"
        );
        assert_eq!(
            super::loggable_path("/admin/companies/cmp_abcdefghijklmnop"),
            "/admin/companies/cmp_abcdefghijklmnop"
        );
    }
}
