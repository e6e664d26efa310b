//! `POST /api/v1/companies/{id}/omie/{endpoint}`: the Omie proxy (scope `omie:proxy`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db;
use crate::error::{ApiError, AppError};
use crate::services::omie;
use crate::services::proxy::{Refusal, valid_endpoint};
use crate::web::State;
use crate::web::guard::ApiUser;

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
    state: State,
    who: ApiUser,
    path: web::Path<(String, String)>,
    body: web::Json<OmieCall>,
) -> Result<HttpResponse, ApiError> {
    let (company_id, endpoint) = path.into_inner();
    if !valid_endpoint(&endpoint) {
        return Err(AppError::field("endpoint", "endpoint must look like geral/clientes").into());
    }
    let body = body.into_inner();
    if body.call.is_empty()
        || body.call.len() > 100
        || !body
            .call
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(AppError::field(
            "call",
            "call must be an Omie method name, e.g. ListarClientes",
        )
        .into());
    }
    let (actor, st, cid) = (who.actor(), state.clone(), company_id.clone());
    let keys = db::run(&state.pool, move |conn| {
        omie::proxy_keys(conn, &st.keys, &actor, &cid)
    })
    .await;
    let meter_actor = who.actor();
    let (app_key, app_secret, key_id) =
        keys.inspect_err(|_| state.meter.record(&meter_actor, &company_id, "refused"))?;
    let result = state
        .proxy
        .call(
            &state.http,
            &state.settings.omie_base_url,
            &endpoint,
            &key_id,
            &app_key,
            &app_secret,
            &body.call,
            &body.param,
        )
        .await;
    let operation = match &result {
        Ok(_) => format!("omie:{}", body.call),
        Err(_) => "refused".to_string(),
    };
    state.meter.record(&meter_actor, &company_id, &operation);
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
