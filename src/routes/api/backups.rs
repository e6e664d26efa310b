//! `/api/v1/backups`: the history, one backup, and starting one (202, in the background).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ListJson;
use super::openapi::{BadRequest, Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed};
use crate::backup::remote;
use crate::domain::{BackupStatus, RemoteStatus};
use crate::services::backups as uc;
use crate::services::backups::Backup;
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

/// One backup, running or done.
#[derive(Serialize, ToSchema)]
#[schema(as = Backup)]
pub struct BackupJson {
    #[schema(example = "bkp_abcdefghijklmnop")]
    id: String,
    /// `manual` or `scheduled`.
    #[schema(pattern = "^(manual|scheduled)$", example = "manual")]
    kind: String,
    /// `running`, `succeeded` or `failed`.
    status: BackupStatus,
    /// What a running backup is doing (start, snapshot, check, encrypt, verify, copy);
    /// `done` when finished.
    #[schema(example = "done")]
    phase: String,
    #[schema(format = DateTime)]
    started_at: String,
    #[schema(format = DateTime)]
    finished_at: Option<String>,
    /// Size of the encrypted file.
    size_bytes: Option<i64>,
    /// SHA-256 of the encrypted file (also written next to it as `FILE.sha256`).
    sha256: Option<String>,
    duration_ms: Option<i64>,
    /// The file was decrypted again, integrity-checked and its row counts matched.
    verified: bool,
    /// Where the off-site copy went, when it succeeded.
    remote: Option<String>,
    /// Null when there is no off-site destination.
    remote_status: Option<RemoteStatus>,
    remote_error: Option<String>,
    /// Why the backup failed.
    error: Option<String>,
    /// The local file, while retention keeps it.
    file_name: Option<String>,
}

impl From<&Backup> for BackupJson {
    fn from(b: &Backup) -> Self {
        let copied_to = match (&b.remote, &b.file_name, b.remote_status) {
            (Some(r), Some(name), Some(RemoteStatus::Copied)) => Some(remote::target(r, name)),
            _ => None,
        };
        Self {
            id: b.id.clone(),
            kind: b.kind.clone(),
            status: b.status,
            phase: b.phase.clone(),
            started_at: time::db_to_rfc3339(&b.started_at),
            finished_at: b.finished_at.as_deref().map(time::db_to_rfc3339),
            size_bytes: b.size_bytes,
            sha256: b.sha256.clone(),
            duration_ms: b.duration_ms,
            verified: b.verified,
            remote: copied_to,
            remote_status: b.remote_status,
            remote_error: b.remote_error.clone(),
            error: b.error.clone(),
            file_name: b.file_name.clone().filter(|_| b.pruned_at.is_none()),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A parameter the document does not name is refused (400), so a typo is not silently
// a different query.
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size, 1 to 200 (a value outside answers 422).
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page; empty or absent for the first page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    cursor: Option<String>,
}

/// Backup history
///
/// Newest first; owner and staff.
#[utoipa::path(
    get,
    path = "/api/v1/backups",
    tag = "backups",
    operation_id = "listBackups",
    params(ListQuery),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "A page of backups.", body = ListJson<BackupJson>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn list(
    state: State,
    who: Acting,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let q = q.into_inner();
    let limit = super::page_limit(q.limit)?;
    let (rows, next) = state
        // An empty cursor is the first page, as in every other list.
        .run(move |conn, _| {
            let cursor = q.cursor.as_deref().filter(|c| !c.is_empty());
            uc::list(conn, &actor, cursor, limit)
        })
        .await?;
    let items = rows.iter().map(BackupJson::from).collect();
    Ok(HttpResponse::Ok().json(ListJson::new(items, next)))
}

/// One backup
#[utoipa::path(
    get,
    path = "/api/v1/backups/{id}",
    tag = "backups",
    operation_id = "getBackup",
    params(("id" = String, Path, description = "Backup id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The backup.", body = BackupJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(
    state: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let b = state.run(move |conn, _| uc::get(conn, &actor, &id)).await?;
    Ok(HttpResponse::Ok().json(BackupJson::from(&b)))
}

/// Start a backup
///
/// It runs in the background; follow `Location` to see it end. Owner only.
#[utoipa::path(
    post,
    path = "/api/v1/backups",
    tag = "backups",
    operation_id = "startBackup",
    security(("bearerAuth" = [])),
    responses(
        (status = 202, description = "Started.", body = BackupJson,
            headers(("Location" = String, description = "URL of the running backup.")),
            links(
                ("GetBackup" = (operation_id = "getBackup", parameters(("id" = "$response.body#/id")))),
            )
        ),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(state: State, who: Acting) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let (lock, row) = state
        .run(move |conn, app| uc::start(conn, &app.keys, &app.settings, &actor))
        .await?;
    crate::backup::jobs::spawn(state.get_ref().clone(), lock, row.id.clone());
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/v1/backups/{}", row.id)))
        .json(BackupJson::from(&row)))
}
