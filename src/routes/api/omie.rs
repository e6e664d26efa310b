use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::services::omie;
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

#[derive(Deserialize)]
pub struct ReadParams {
    #[serde(default)]
    reveal: bool,
}

pub async fn get(
    state: State,
    who: Acting,
    id: web::Path<String>,
    params: web::Query<ReadParams>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, reveal) = (who.actor(), id.into_inner(), params.reveal);
    let view = state
        .run(move |conn, app| omie::get(app, conn, &actor, &id, reveal))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
pub struct PutBody {
    app_key: String,
    app_secret: String,
}

pub async fn put(
    state: State,
    who: Acting,
    id: web::Path<String>,
    body: web::Json<PutBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b) = (who.actor(), id.into_inner(), body.into_inner());
    let view = state
        .run(move |conn, app| omie::put(conn, &app.keys, &actor, &id, &b.app_key, &b.app_secret))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn test(
    state: State,
    who: Acting,
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
