use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::db;
use crate::error::{ApiError, AppError};
use crate::services::omie;
use crate::time;
use crate::web::State;
use crate::web::guard::ApiUser;

#[derive(Deserialize)]
pub struct ReadParams {
    #[serde(default)]
    reveal: bool,
}

pub async fn get(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
    params: web::Query<ReadParams>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let st = state.clone();
    let (id, reveal) = (id.into_inner(), params.reveal);
    let (a, cid) = (actor.clone(), id.clone());
    let view = db::run(&state.pool, move |conn| {
        omie::read(conn, &st.keys, &actor, &id, reveal)
    })
    .await
    .and_then(|v| v.ok_or(AppError::NotFound));
    state.meter.record(
        &a,
        &cid,
        if view.is_ok() {
            "omie_credentials.read"
        } else {
            "refused"
        },
    );
    Ok(HttpResponse::Ok().json(view?))
}

#[derive(Deserialize)]
pub struct PutBody {
    app_key: String,
    app_secret: String,
}

pub async fn put(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
    body: web::Json<PutBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let st = state.clone();
    let id = id.into_inner();
    let b = body.into_inner();
    let view = db::run(&state.pool, move |conn| {
        omie::set(conn, &st.keys, &actor, &id, &b.app_key, &b.app_secret)?;
        omie::read(conn, &st.keys, &actor, &id, false)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn test(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let o = omie::test(state.omie_test_deps(), &actor, &id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "ok": o.ok,
        "message": o.message,
        "cnpj_matches": o.cnpj_matches,
        "checked_at": time::db_to_rfc3339(&o.checked_at),
        "cached": o.cached,
    })))
}
