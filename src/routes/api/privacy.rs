//! LGPD (DESIGN.md §8.3): a person's export (`GET /me/export`), their requests
//! (`POST /me/privacy-requests`), the owner's and staff's queue (`/privacy/requests`),
//! and the audit trail as CSV (`GET /audit/export`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ListJson;
use super::me::ApiPerson;
use super::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use crate::domain::{PrivacyKind, PrivacyStatus};
use crate::error::AppError;
use crate::services::data_rights::{self, Request};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

/// Everything the program holds about the signed-in person (LGPD Art. 18, II and V).
/// Other people in it are pseudonyms ("Pessoa 7F3A9C").
#[derive(Serialize, ToSchema)]
#[schema(as = PersonalDataExport)]
pub struct ExportDoc {
    #[schema(example = 1)]
    schema_version: u32,
    #[schema(format = DateTime)]
    exported_at: String,
    /// Id, name, e-mail, role, status, company, when created, last sign-in, second factor.
    #[schema(value_type = Object)]
    person: serde_json::Value,
    /// The person's company (null for the platform's people); its contact is shown only
    /// when it is this person.
    #[schema(value_type = Option<Object>)]
    company: serde_json::Value,
    /// Open page sessions (with address and browser) and live API tokens.
    #[schema(value_type = Vec<Object>)]
    sessions: serde_json::Value,
    /// Which version of the privacy notice was accepted, and when.
    #[schema(value_type = Vec<Object>)]
    consents: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    privacy_requests: serde_json::Value,
    /// Audit entries where the person acted or was acted on, newest first.
    #[schema(value_type = Vec<Object>)]
    events: serde_json::Value,
    /// Which applications read the company's data, what, and when.
    #[schema(value_type = Vec<Object>)]
    shared_with: serde_json::Value,
}

/// A request about one's personal data.
#[derive(Serialize, ToSchema)]
#[schema(as = PrivacyRequest)]
pub struct RequestJson {
    #[schema(example = "prq_abcdefghijklmnop")]
    id: String,
    kind: PrivacyKind,
    status: PrivacyStatus,
    /// Who asked.
    requested_by: RequesterJson,
    company_id: Option<String>,
    message: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// 15 days after `created_at` (LGPD Art. 19).
    #[schema(format = DateTime)]
    due_at: String,
    #[schema(format = DateTime)]
    resolved_at: Option<String>,
    /// Why it was refused (or a note on how it was done).
    reason: String,
}

impl From<Request> for RequestJson {
    fn from(r: Request) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            status: r.status,
            requested_by: RequesterJson {
                id: r.user_id,
                name: r.user_name,
                email: r.user_email,
            },
            company_id: r.company_id,
            message: r.message,
            created_at: time::db_to_rfc3339(&r.created_at),
            due_at: time::db_to_rfc3339(&r.due_at),
            resolved_at: r.resolved_at.as_deref().map(time::db_to_rfc3339),
            reason: r.reason,
        }
    }
}

/// The person who opened a request.
#[derive(Serialize, ToSchema)]
#[schema(as = PrivacyRequester)]
pub struct RequesterJson {
    #[schema(example = "usr_abcdefghijklmnop")]
    id: String,
    #[schema(example = "Joana Lima")]
    name: String,
    #[schema(example = "joana@padaria.com.br")]
    email: String,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NewPrivacyRequest)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    #[schema(value_type = String, example = "erasure",
        pattern = "^(access|correction|erasure|portability|information)$")]
    kind: String,
    /// What the person wants, in their words (up to 2,000 characters).
    #[serde(default, deserialize_with = "super::no_null")]
    #[schema(nullable = false, max_length = 2000)]
    message: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = PrivacyResolution)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    #[schema(value_type = String, example = "done", pattern = "^(done|refused)$")]
    outcome: String,
    /// Required when refused; mailed to the person.
    #[serde(default, deserialize_with = "super::no_null")]
    #[schema(nullable = false, max_length = 2000)]
    reason: Option<String>,
}

/// Download my data
///
/// Everything about the signed-in person as one JSON document (§8.3). Audited as
/// `privacy.export`. Applications have no personal data here: 404.
#[utoipa::path(
    get,
    path = "/api/v1/me/export",
    tag = "me",
    operation_id = "exportMyData",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The person's data.", body = ExportDoc),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn export(state: State, ApiPerson(who): ApiPerson) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let doc = state
        .run(move |conn, app| data_rights::export(conn, &app.keys, &actor, None))
        .await?;
    Ok(download_json(&doc, "meus-dados.json"))
}

/// The export as a JSON download (the API and the pages alike).
pub fn download_json(doc: &serde_json::Value, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(serde_json::to_string_pretty(doc).unwrap_or_default())
}

/// Open a request about my data
///
/// Access, correction, erasure, portability or information about sharing (LGPD Art.
/// 18). Due 15 days later (Art. 19); the person is e-mailed now and when it is answered.
#[utoipa::path(
    post,
    path = "/api/v1/me/privacy-requests",
    tag = "me",
    operation_id = "openPrivacyRequest",
    request_body = OpenBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Opened.", body = RequestJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn open(
    state: State,
    ApiPerson(who): ApiPerson,
    body: Result<super::JsonBody<OpenBody>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let (actor, b) = (who.actor(), body?.into_inner());
    let r = state
        .run(move |conn, app| {
            let msg = b.message.unwrap_or_default();
            data_rights::open_request(
                conn,
                &app.keys,
                &app.settings.base_url,
                &actor,
                &b.kind,
                &msg,
            )
        })
        .await
        .map_err(ApiError)?;
    Ok(HttpResponse::Created().json(RequestJson::from(r)))
}

/// Requests about personal data
///
/// The queue of the owner and staff: open requests first, nearest deadline first.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/requests",
    tag = "privacy",
    operation_id = "listPrivacyRequests",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The requests (one page holds them all).", body = ListJson<RequestJson>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn list(state: State, who: Acting) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let rows = state
        .run(move |conn, _| data_rights::list_requests(conn, &actor))
        .await?;
    let items = rows.into_iter().map(RequestJson::from).collect();
    Ok(HttpResponse::Ok().json(ListJson::new(items, None)))
}

/// Answer a request
///
/// `done`, or `refused` with a reason (required). The person is e-mailed. 409 when it
/// was answered already.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/requests/{id}/resolve",
    tag = "privacy",
    operation_id = "resolvePrivacyRequest",
    params(("id" = String, Path, description = "The request's id.")),
    request_body = ResolveBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Answered.", body = RequestJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn resolve(
    state: State,
    who: Acting,
    path: web::Path<String>,
    body: Result<super::JsonBody<ResolveBody>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let (actor, id) = (who.actor(), path.into_inner());
    // Who may answer is decided before the body is read: anyone else learns nothing.
    if !actor.role().is_some_and(|r| r.is_platform()) {
        return Err(ApiError(AppError::NotFound).into());
    }
    let b = body?.into_inner();
    let r = state
        .run(move |conn, app| {
            let reason = b.reason.unwrap_or_default();
            let base = &app.settings.base_url;
            data_rights::resolve(conn, &app.keys, base, &actor, &id, &b.outcome, &reason)
        })
        .await
        .map_err(ApiError)?;
    Ok(HttpResponse::Ok().json(RequestJson::from(r)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// Only `csv`.
    #[param(example = "csv", pattern = "^csv$")]
    format: Option<String>,
    /// `true` (the default): people as stable pseudonyms, no e-mail and no IP address.
    /// `false`: the trail as stored; the owner only (403 for anyone else).
    #[param(default = true)]
    anonymized: Option<bool>,
}

/// The audit trail as CSV
///
/// Newest first. Anonymized by default: each person a stable pseudonym, no e-mail and
/// no IP address anywhere (details included). `anonymized=false` is the owner's only.
/// Company admins get their company's rows. Audited as `audit.export`.
#[utoipa::path(
    get,
    path = "/api/v1/audit/export",
    tag = "reports",
    operation_id = "exportAudit",
    params(ExportParams),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The trail.", content(
            (String = "text/csv", example = "id,at,actor_type,actor,action,what,entity_type,entity,company_id,details\n"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn audit_export(
    state: State,
    who: Acting,
    p: web::Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let (p, actor) = (p.into_inner(), who.actor());
    if p.format.as_deref().is_some_and(|f| f != "csv") {
        return Err(AppError::field("format", "Only csv.").into());
    }
    let anonymized = p.anonymized.unwrap_or(true);
    let csv = state
        .run(move |conn, app| data_rights::audit_csv(conn, &app.keys, &actor, anonymized))
        .await?;
    Ok(csv_download(csv, anonymized))
}

/// The trail as a CSV download (the API and the audit page alike).
pub fn csv_download(csv: String, anonymized: bool) -> HttpResponse {
    let name = if anonymized {
        "auditoria-anonimizada.csv"
    } else {
        "auditoria.csv"
    };
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(csv)
}
