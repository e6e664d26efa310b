//! The outermost layer: security headers on every response, the CSRF cookie for every
//! browser, and removal of a flash message once a page has shown it.

use crate::web::Edge;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::SameSite;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use super::{CSRF_COOKIE, FLASH_COOKIE, State};
use crate::crypto::new_token;

/// No inline script or style anywhere: everything comes from /static.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
                   object-src 'none'";

/// The CSRF cookie value made for a browser that had none, for this request's forms.
#[derive(Clone)]
pub struct FreshCsrfCookie(pub String);

/// Set by the page extractor when it has read the flash message, so it is shown once.
#[derive(Clone, Copy)]
pub struct FlashShown;

pub async fn layer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // The vendor's logo is content-addressed too (`/marca/{hash}`).
    let is_static = req.path().starts_with("/static/") || req.path().starts_with("/marca/");
    let is_api = req.path().starts_with("/api/")
        || req.path().starts_with("/healthz")
        || req.path().starts_with("/readyz");
    let fresh = if !is_static && !is_api && req.cookie(CSRF_COOKIE).is_none() {
        let v = new_token();
        req.extensions_mut().insert(FreshCsrfCookie(v.clone()));
        Some(v)
    } else {
        None
    };
    let state = req.app_data::<State>().cloned();
    let had_flash = req.cookie(FLASH_COOKIE).is_some();

    let mut res = next.call(req).await?.map_into_boxed_body();

    let flash_shown = res.request().extensions().get::<FlashShown>().is_some();
    if let Some(state) = state {
        if let Some(v) = fresh {
            let _ = res
                .response_mut()
                .add_cookie(&state.cookie(CSRF_COOKIE, v, SameSite::Strict));
        }
        let sets_new_flash = res.response().cookies().any(|c| c.name() == FLASH_COOKIE);
        if had_flash && flash_shown && !sets_new_flash {
            let _ = res.response_mut().add_cookie(&state.removal(FLASH_COOKIE));
        }
    }
    let h = res.headers_mut();
    let set = |h: &mut actix_web::http::header::HeaderMap, name: HeaderName, v: &'static str| {
        h.insert(name, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    if is_static {
        // Asset URLs carry a hash of their content, so they may be cached for long.
        set(
            h,
            header::CACHE_CONTROL,
            "public, max-age=31536000, immutable",
        );
    } else {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    Ok(res)
}
