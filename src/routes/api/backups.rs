//! `/api/v1/backups`: the history, one backup, and starting one (202, in the background).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::backup::remote;
use crate::db::backups::Backup;
use crate::services::backups as uc;
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

pub fn backup_json(b: &Backup) -> Value {
    let copied_to = match (&b.remote, &b.file_name, b.remote_status.as_deref()) {
        (Some(r), Some(name), Some("copied")) => Some(remote::target(r, name)),
        _ => None,
    };
    json!({
        "id": b.id,
        "kind": b.kind,
        "status": b.status,
        "phase": b.phase,
        "started_at": time::db_to_rfc3339(&b.started_at),
        "finished_at": b.finished_at.as_deref().map(time::db_to_rfc3339),
        "size_bytes": b.size_bytes,
        "sha256": b.sha256,
        "duration_ms": b.duration_ms,
        "verified": b.verified,
        "remote": copied_to,
        "remote_status": b.remote_status,
        "remote_error": b.remote_error,
        "error": b.error,
        "file_name": b.file_name.as_ref().filter(|_| b.pruned_at.is_none()),
    })
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list(
    state: State,
    who: Acting,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let q = q.into_inner();
    let limit = super::page_limit(q.limit)?;
    let (rows, next) = state
        .run(move |conn, _| uc::list(conn, &actor, q.cursor.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "items": rows.iter().map(backup_json).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

pub async fn get(
    state: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let b = state.run(move |conn, _| uc::get(conn, &actor, &id)).await?;
    Ok(HttpResponse::Ok().json(backup_json(&b)))
}

pub async fn create(state: State, who: Acting) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let (lock, row) = state
        .run(move |conn, app| uc::start(conn, &app.keys, &app.settings, &actor))
        .await?;
    crate::backup::jobs::spawn(state.get_ref().clone(), lock, row.id.clone());
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/v1/backups/{}", row.id)))
        .json(backup_json(&row)))
}
