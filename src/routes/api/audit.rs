use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::{BadRequest, Unauthorized, ValidationFailed};
use super::{ListJson, page_limit};
use crate::error::AppError;
use crate::services::audit;
use crate::services::audit::{Entry, Filter};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

/// One row of the audit trail.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub struct EntryJson {
    #[schema(example = "42")]
    id: String,
    #[schema(format = DateTime)]
    at: String,
    /// `user`, `application` or `system`.
    #[schema(pattern = "^(user|application|system)$", example = "user")]
    actor_type: String,
    /// Null for the system; for a client company's people, actions of the platform's
    /// owner and staff show as the system.
    #[schema(example = "usr_abcdefghijklmnop")]
    actor_id: Option<String>,
    /// Who acted, as shown: a person's e-mail, an application's client id, or, to a
    /// client company, "Equipe <vendor>" for whatever the platform did.
    #[schema(example = "ana@empresa.com.br")]
    actor_label: String,
    /// Dotted, such as `company.create` or `auth.login_failed`.
    #[schema(example = "company.create")]
    action: String,
    #[schema(example = "company")]
    entity_type: String,
    entity_id: Option<String>,
    company_id: Option<String>,
    /// The client's address; empty for system actions, and to a client company for
    /// whatever the platform did.
    #[schema(example = "203.0.113.7")]
    ip: String,
    /// What the action changed; never a secret.
    #[schema(value_type = Object)]
    details: serde_json::Value,
}

impl From<Entry> for EntryJson {
    fn from(e: Entry) -> Self {
        Self {
            id: e.id.to_string(),
            at: time::db_to_rfc3339(&e.at),
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            actor_label: e.actor_label,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            company_id: e.company_id,
            ip: e.ip,
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A parameter the document does not name is refused (400), so a typo is not silently
// a different query.
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Only rows about this company.
    company_id: Option<String>,
    /// Only rows by this person or application id.
    actor: Option<String>,
    /// An action, or a prefix with `*` such as `company.*`.
    #[param(example = "company.*")]
    action: Option<String>,
    /// From this instant (RFC 3339), inclusive.
    #[param(format = DateTime)]
    from: Option<String>,
    /// Up to this instant (RFC 3339), inclusive.
    #[param(format = DateTime)]
    to: Option<String>,
    /// Page size, 1 to 200 (a value outside answers 422).
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page; empty or absent for the first page.
    #[param(pattern = "^[0-9]{0,18}$")]
    cursor: Option<String>,
}

/// An empty `from=` or `to=` is refused like any other non-timestamp: a client that
/// means "no bound" leaves the parameter out, and one whose date field came out empty
/// learns it instead of silently getting the whole trail.
fn instant(field: &str, v: Option<String>) -> Result<Option<String>, AppError> {
    match v {
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

/// The audit trail
///
/// Newest first. Company admins see their company's rows.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "reports",
    operation_id = "listAudit",
    params(Params),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "A page of the trail.", body = ListJson<EntryJson>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn list(
    state: State,
    who: Acting,
    params: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let (p, actor) = (params.into_inner(), who.actor());
    let limit = page_limit(p.limit)?;
    let filter = p.filter()?;
    let (rows, more) = state
        .run(move |conn, _| audit::list(conn, &actor, filter, limit))
        .await?;
    let next_cursor = rows.last().filter(|_| more).map(|e| e.id.to_string());
    let items = rows.into_iter().map(EntryJson::from).collect();
    Ok(HttpResponse::Ok().json(ListJson::new(items, next_cursor)))
}

impl Params {
    fn filter(self) -> Result<Filter, AppError> {
        let before = match self.cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(
                c.parse::<i64>()
                    .map_err(|_| AppError::field("cursor", "invalid cursor"))?,
            ),
        };
        Ok(Filter {
            company_id: self.company_id.filter(|s| !s.is_empty()),
            actor: self.actor.filter(|s| !s.is_empty()),
            action: self.action.filter(|s| !s.is_empty()),
            from: instant("from", self.from)?,
            to: instant("to", self.to)?,
            before,
            tenant_team: None,
            subject: None,
        })
    }
}
