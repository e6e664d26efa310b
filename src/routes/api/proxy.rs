//! `POST /api/v1/companies/{id}/omie/{endpoint}`: the Omie proxy (scope `omie:proxy`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::services::omie::{self, ProxyCall};
use crate::services::proxy::Refusal;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

/// An Omie call, without keys: the manager adds the company's.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = OmieCall, example = json!({"call": "ListarClientes", "param": [{"pagina": 1, "registros_por_pagina": 50}]}))]
pub struct OmieCall {
    /// The Omie method.
    #[schema(pattern = "^[A-Za-z0-9_]{1,100}$", example = "ListarClientes")]
    call: String,
    /// Omie's `param`; `[]` when absent.
    #[serde(default = "empty_param")]
    #[schema(value_type = Object)]
    param: Value,
}

fn empty_param() -> Value {
    json!([])
}

fn problem(
    status: StatusCode,
    title: &str,
    detail: &str,
    retry_after: Option<u64>,
) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    r.content_type("application/problem+json");
    if let Some(s) = retry_after {
        r.insert_header((header::RETRY_AFTER, s.to_string()));
    }
    r.body(json!({ "type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail }).to_string())
}

/// Call Omie for a company
///
/// Scope `omie:proxy`. The answer is Omie's, passed back with its status; Omie's limits
/// are kept here (429 and 425 with `Retry-After`).
#[utoipa::path(
    post,
    path = "/api/v1/companies/{id}/omie/{endpoint}",
    tag = "companies",
    operation_id = "omieProxy",
    params(
        ("id" = String, Path, description = "Company id."),
        ("endpoint" = String, Path, description = "Omie endpoint path, such as `geral/clientes`."),
    ),
    request_body = OmieCall,
    security(("bearerAuth" = []), ("applicationAuth" = ["omie:proxy"])),
    responses(
        (status = 200, description = "Omie's answer.", body = Object,
            headers(("X-Omie-Cache" = String, description = "`hit` or `miss`."))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthorized),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 422, response = super::openapi::ValidationFailed),
        (status = 425, description = "Omie blocked these keys for misuse.", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = "5XX", description = "Omie's own error passed back, or 502 when Omie could not be reached.", body = Object),
    )
)]
pub async fn forward(
    app: State,
    who: Acting,
    path: web::Path<(String, String)>,
    body: crate::routes::api::JsonBody<OmieCall>,
) -> Result<HttpResponse, ApiError> {
    let ((company_id, endpoint), body) = (path.into_inner(), body.into_inner());
    let c = ProxyCall {
        company_id,
        endpoint,
        call: body.call,
        param: body.param,
    };
    Ok(match omie::forward(&app, &who, c).await? {
        Ok(a) => {
            let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_GATEWAY);
            HttpResponse::build(status)
                .insert_header(("X-Omie-Cache", if a.cached { "hit" } else { "miss" }))
                .json(a.body)
        }
        Err(r) => refusal(r),
    })
}

/// Why a call was not forwarded, as problem+json with when to retry.
fn refusal(r: Refusal) -> HttpResponse {
    match r {
        Refusal::Busy(secs) => problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Omie's limits for these keys and method (240/min, 4 at once, 1 for writes) or for the server (960/min) are reached; retry later.",
            Some(secs),
        ),
        Refusal::Blocked(secs) => problem(
            StatusCode::from_u16(425).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
            "Blocked by Omie",
            "Omie blocked these keys for misuse; no calls are sent until the block ends.",
            Some(secs),
        ),
        Refusal::Unavailable(d) => problem(StatusCode::BAD_GATEWAY, "Bad gateway", &d, None),
    }
}
