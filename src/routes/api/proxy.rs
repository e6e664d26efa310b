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

#[derive(Deserialize)]
pub struct OmieCall {
    call: String,
    #[serde(default = "empty_param")]
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

pub async fn forward(
    app: State,
    who: Acting,
    path: web::Path<(String, String)>,
    body: web::Json<OmieCall>,
) -> Result<HttpResponse, ApiError> {
    let ((company_id, endpoint), body) = (path.into_inner(), body.into_inner());
    let c = ProxyCall {
        company_id,
        endpoint,
        call: body.call,
        param: body.param,
    };
    let result = omie::forward(&app, &who, c).await?;
    Ok(match result {
        Ok(a) => {
            let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_GATEWAY);
            HttpResponse::build(status)
                .insert_header(("X-Omie-Cache", if a.cached { "hit" } else { "miss" }))
                .json(a.body)
        }
        Err(Refusal::Busy(secs)) => problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Omie's limits for these keys and method (240/min, 4 at once, 1 for writes) or for the server (960/min) are reached; retry later.",
            Some(secs),
        ),
        Err(Refusal::Blocked(secs)) => problem(
            StatusCode::from_u16(425).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
            "Blocked by Omie",
            "Omie blocked these keys for misuse; no calls are sent until the block ends.",
            Some(secs),
        ),
        Err(Refusal::Unavailable(d)) => problem(StatusCode::BAD_GATEWAY, "Bad gateway", &d, None),
    })
}
