//! `GET /api/v1/health`: Saúde do sistema as JSON (owner and staff), the same checks as
//! the page `/admin/saude`.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::{Forbidden, NotFound, Unauthorized};
use crate::services::health;
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

/// One check.
#[derive(Serialize, ToSchema)]
#[schema(as = HealthCheck)]
pub struct CheckJson {
    /// `database`, `backups`, `mail`, `disk`, `jobs`, `audit_chain` or `omie`.
    #[schema(example = "disk")]
    name: String,
    /// `ok`, `warning` or `critical`.
    #[schema(pattern = "^(ok|warning|critical)$", example = "ok")]
    status: String,
    /// One sentence, in Portuguese.
    message: String,
    /// What to do about it, in Portuguese.
    what_to_do: String,
    /// When what the check reports was found (for the integrity of the database and
    /// the audit chain, their last stored verification).
    #[schema(format = DateTime)]
    checked_at: String,
}

/// Every check, and the worst of them.
#[derive(Serialize, ToSchema)]
#[schema(as = Health)]
pub struct HealthJson {
    /// `ok`, `warning` or `critical`: the worst check.
    #[schema(pattern = "^(ok|warning|critical)$", example = "ok")]
    status: String,
    checks: Vec<CheckJson>,
}

impl From<&health::Report> for HealthJson {
    fn from(r: &health::Report) -> Self {
        Self {
            status: r.status.as_str().into(),
            checks: r
                .checks
                .iter()
                .map(|c| CheckJson {
                    name: c.name.into(),
                    status: c.status.as_str().into(),
                    message: c.message.clone(),
                    what_to_do: c.what_to_do.clone(),
                    checked_at: time::db_to_rfc3339(&c.checked_at),
                })
                .collect(),
        }
    }
}

/// System health
///
/// Database, backups, e-mail, disk, background jobs, audit chain and Omie, each `ok`,
/// `warning` or `critical`; owner and staff.
#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "health",
    operation_id = "systemHealth",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The checks.", body = HealthJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(state: State, who: Acting) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let report = state
        .run(move |conn, app| health::report(conn, app, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(HealthJson::from(&report)))
}
