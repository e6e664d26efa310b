//! `GET /metrics` (DESIGN.md §8.4): absent (404) unless `OTM_METRICS_TOKEN` is set; then
//! it wants `Authorization: Bearer <that token>`, compared in constant time.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::bearer;

pub async fn scrape(req: HttpRequest, state: State) -> HttpResponse {
    let Some(token) = state.settings.metrics_token.as_ref() else {
        return PageError(AppError::NotFound).error_response();
    };
    let given = bearer(&req).unwrap_or_default();
    let same: bool = given.as_bytes().ct_eq(token.0.as_bytes()).into();
    if !same {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
            .content_type("text/plain; charset=utf-8")
            .body("a valid bearer token is required");
    }
    let body = state
        .run(|conn, app| crate::metrics::render(conn, &app.pool, &app.settings))
        .await;
    match body {
        Ok(text) => HttpResponse::Ok()
            .content_type(crate::metrics::CONTENT_TYPE)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(text),
        Err(e) => {
            tracing::error!(error = ?e, "metrics scrape failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("metrics unavailable")
        }
    }
}
