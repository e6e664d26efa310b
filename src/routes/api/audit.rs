use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::page_limit;
use crate::db::{audit::Entry, audit::Filter};
use crate::error::AppError;
use crate::services::audit;
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

#[derive(Serialize)]
struct EntryJson {
    id: String,
    at: String,
    actor_type: String,
    actor_id: Option<String>,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    company_id: Option<String>,
    ip: String,
    details: serde_json::Value,
}

impl From<Entry> for EntryJson {
    fn from(e: Entry) -> Self {
        Self {
            id: e.id.to_string(),
            at: time::db_to_rfc3339(&e.at),
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            company_id: e.company_id,
            ip: e.ip,
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Deserialize)]
pub struct Params {
    company_id: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

fn instant(field: &str, v: Option<String>) -> Result<Option<String>, AppError> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => time::parse_db(&s)
            .map(|t| Some(time::to_db(t)))
            .ok_or_else(|| {
                AppError::field(
                    field,
                    "must be an RFC 3339 timestamp, e.g. 2026-11-28T10:00:00-03:00",
                )
            }),
    }
}

pub async fn list(
    state: State,
    who: Acting,
    params: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let before = match p.cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| AppError::field("cursor", "invalid cursor"))?,
        ),
    };
    let filter = Filter {
        company_id: p.company_id.filter(|s| !s.is_empty()),
        actor: p.actor.filter(|s| !s.is_empty()),
        action: p.action.filter(|s| !s.is_empty()),
        from: instant("from", p.from)?,
        to: instant("to", p.to)?,
        before,
    };
    let limit = page_limit(p.limit)?;
    let actor = who.actor();
    let (rows, more) = state
        .run(move |conn, _| audit::list(conn, &actor, filter, limit))
        .await?;
    let next_cursor = if more {
        rows.last().map(|e| e.id.to_string())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": rows.into_iter().map(EntryJson::from).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}
