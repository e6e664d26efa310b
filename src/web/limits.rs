//! Request body limits (DESIGN.md §8.1). A body over a limit is the sender's doing, not a
//! malformed request: it answers 413, as problem+json under `/api/` and as a Portuguese
//! page elsewhere, so a person knows to send less and a client knows not to retry as is.

use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PayloadError, UrlencodedError};
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{Error, HttpRequest};

use crate::error::AppError;
use crate::web::error::{ApiError, PageError};

/// Page forms (`CsrfForm`, `web::Form`).
pub const FORM_LIMIT: usize = 64 * 1024;
/// JSON bodies of the API.
pub const JSON_LIMIT: usize = 64 * 1024;
/// Any other body read whole (`web::Bytes`, e.g. the token endpoint's form or JSON).
pub const PAYLOAD_LIMIT: usize = 256 * 1024;

fn is_api(req: &HttpRequest) -> bool {
    req.path().starts_with("/api/")
}

fn refusal(req: &HttpRequest, e: AppError) -> Error {
    if is_api(req) {
        ApiError(e).into()
    } else {
        PageError(e).into()
    }
}

/// The 413 for a body over `limit` bytes, in the face of the path asked.
pub fn too_large(req: &HttpRequest, limit: usize) -> Error {
    refusal(req, AppError::PayloadTooLarge { limit })
}

pub fn json_overflow(e: &JsonPayloadError) -> bool {
    matches!(
        e,
        JsonPayloadError::Overflow { .. }
            | JsonPayloadError::OverflowKnownLength { .. }
            | JsonPayloadError::Payload(PayloadError::Overflow)
    )
}

/// `FormConfig`'s error handler.
pub fn form_error(e: UrlencodedError, req: &HttpRequest) -> Error {
    match e {
        UrlencodedError::Overflow { .. } | UrlencodedError::Payload(PayloadError::Overflow) => {
            too_large(req, FORM_LIMIT)
        }
        e => refusal(req, AppError::BadRequest(e.to_string())),
    }
}

/// `PayloadConfig` takes no error handler, and its overflow answers a plain-text 413.
/// This gives that 413 our two faces; a 413 we made already (problem+json or a page) is
/// left as it is.
pub fn reword_plain_413<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let ours = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("application/problem+json") || ct.starts_with("text/html")
        });
    if ours {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, _) = res.into_parts();
    let resp = too_large(&req, PAYLOAD_LIMIT).error_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, resp).map_into_right_body(),
    ))
}
