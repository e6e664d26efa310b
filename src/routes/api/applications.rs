use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::applications::Application;
use crate::services::applications as uc;
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;
use crate::web::guard::ApiUser;

fn app_json(a: &Application, secret: Option<&str>) -> Value {
    let mut v = json!({
        "id": a.id, "name": a.name, "description": a.description, "client_id": a.client_id,
        "scopes": uc::SCOPES, "status": a.status,
        "created_at": time::db_to_rfc3339(&a.created_at),
        "last_used_at": a.last_used_at.as_deref().map(time::db_to_rfc3339),
    });
    if let (Some(s), Some(obj)) = (secret, v.as_object_mut()) {
        // Shown once, here; only its hash is kept.
        obj.insert("client_secret".into(), json!(s));
    }
    v
}

pub async fn list(state: State, who: ApiUser) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let apps = state.run(move |conn, _| uc::list(conn, &actor)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "items": apps.iter().map(|a| app_json(a, None)).collect::<Vec<_>>(),
        "next_cursor": null,
    })))
}

#[derive(Deserialize)]
pub struct CreateBody {
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    state: State,
    who: Acting,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b) = (who.actor(), body.into_inner());
    let (app, secret) = state
        .run(move |conn, app| uc::create(conn, &app.keys, &actor, &b.name, &b.description))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/applications/{}", app.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(app_json(&app, Some(&secret))))
}

pub async fn get(
    state: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let (app, secrets) = state
        .run(move |conn, _| {
            let app = uc::get(conn, &actor, &id)?;
            Ok((app, uc::secrets(conn, &actor, &id)?))
        })
        .await?;
    let mut v = app_json(&app, None);
    let secrets: Vec<Value> = secrets
        .into_iter()
        .map(|(id, hint, created, used, revoked)| {
            json!({
                "id": id, "hint": hint, "created_at": time::db_to_rfc3339(&created),
                "last_used_at": used.as_deref().map(time::db_to_rfc3339),
                "revoked_at": revoked.as_deref().map(time::db_to_rfc3339),
            })
        })
        .collect();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("secrets".into(), json!(secrets));
    }
    Ok(HttpResponse::Ok().json(v))
}

/// Revokes one secret; tokens issued with it stop working at once.
pub async fn revoke_secret(
    state: State,
    who: Acting,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (actor, (id, secret_id)) = (who.actor(), path.into_inner());
    state
        .run(move |conn, app| uc::revoke_secret(conn, &app.keys, &actor, &id, &secret_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct PatchBody {
    name: Option<String>,
    description: Option<String>,
}

pub async fn update(
    state: State,
    who: Acting,
    id: web::Path<String>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b) = (who.actor(), id.into_inner(), body.into_inner());
    let app = state
        .run(move |conn, app| {
            uc::update(
                conn,
                &app.keys,
                &actor,
                &id,
                b.name.as_deref(),
                b.description.as_deref(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(app_json(&app, None)))
}

pub async fn revoke(
    state: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    state
        .run(move |conn, app| uc::revoke(conn, &app.keys, &actor, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn rotate(
    state: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let (app, secret) = state
        .run(move |conn, app| uc::rotate_secret(conn, &app.keys, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(app_json(&app, Some(&secret))))
}

#[derive(Deserialize)]
pub struct LinkBody {
    scopes: Vec<String>,
}

pub async fn link(
    state: State,
    who: Acting,
    path: web::Path<(String, String)>,
    body: web::Json<LinkBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, (company_id, app_id), b) = (who.actor(), path.into_inner(), body.into_inner());
    let (cid, aid) = (company_id.clone(), app_id.clone());
    let scopes = state
        .run(move |conn, app| uc::link(conn, &app.keys, &actor, &cid, &aid, &b.scopes))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "company_id": company_id,
        "application_id": app_id,
        "scopes": scopes.split(' ').collect::<Vec<_>>(),
    })))
}

pub async fn unlink(
    state: State,
    who: Acting,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (actor, (company_id, app_id)) = (who.actor(), path.into_inner());
    state
        .run(move |conn, app| uc::unlink(conn, &app.keys, &actor, &company_id, &app_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
