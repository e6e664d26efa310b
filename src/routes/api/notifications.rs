//! `GET/PUT /api/v1/me/notifications`: which e-mails the signed-in owner or staff member
//! gets, per category, and when (DESIGN §8.4). Company people and applications: 404.

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::me::ApiPerson;
use super::openapi::{BadRequest, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed};
use crate::domain::notify::{Category, Prefs};
use crate::error::{AppError, FieldError};
use crate::services::notify;
use crate::web::State;
use crate::web::error::ApiError;

/// When mail of one category comes: at once (repeats of the same change within a short
/// window come as one mail), in one daily digest, or never.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
#[schema(as = NotificationChoice)]
pub enum ChoiceJson {
    Immediate,
    Daily,
    Off,
}

/// The four categories every change belongs to.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = NotificationCategories)]
pub struct CategoriesJson {
    /// Second factor, passwords, roles, sessions, secrets shown, backups downloaded.
    security: ChoiceJson,
    /// Sign-up and company requests, invitations, LGPD requests.
    approvals: ChoiceJson,
    /// Companies, people, Omie credentials and applications changed.
    changes: ChoiceJson,
    /// Mail, backup, retention and brand settings, restores, key rotation.
    system: ChoiceJson,
}

/// A person's notification choices.
#[derive(Serialize, ToSchema)]
#[schema(as = Notifications)]
pub struct NotificationsJson {
    categories: CategoriesJson,
}

/// Some or all of the choices; categories left out (or null) keep theirs.
#[derive(Deserialize, ToSchema)]
#[schema(as = NotificationsUpdate)]
pub struct NotificationsBody {
    #[schema(value_type = PartialCategoriesJson)]
    #[allow(dead_code)]
    categories: Value,
}

/// The categories to change (no others: an unknown one is refused with 422).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PartialCategories)]
#[allow(dead_code)]
pub struct PartialCategoriesJson {
    security: Option<ChoiceJson>,
    approvals: Option<ChoiceJson>,
    changes: Option<ChoiceJson>,
    system: Option<ChoiceJson>,
}

fn to_json(p: Prefs) -> NotificationsJson {
    let c = |cat| match p.get(cat) {
        crate::domain::notify::Choice::Immediate => ChoiceJson::Immediate,
        crate::domain::notify::Choice::Daily => ChoiceJson::Daily,
        crate::domain::notify::Choice::Off => ChoiceJson::Off,
    };
    NotificationsJson {
        categories: CategoriesJson {
            security: c(Category::Security),
            approvals: c(Category::Approvals),
            changes: c(Category::Changes),
            system: c(Category::System),
        },
    }
}

/// My notification choices
///
/// Per category: `immediate`, `daily` or `off`. Defaults: `changes` daily, the others
/// immediate. Owner and staff only (anyone else: 404).
#[utoipa::path(
    get,
    path = "/api/v1/me/notifications",
    tag = "me",
    operation_id = "getNotifications",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The choices.", body = NotificationsJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(state: State, ApiPerson(who): ApiPerson) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let p = state
        .run(move |conn, _| notify::prefs(conn, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(to_json(p)))
}

/// Change my notification choices
///
/// `{"categories": {"changes": "immediate"}}`: the categories given change, the others
/// keep theirs. An unknown category or choice is refused with 422, naming the field.
#[utoipa::path(
    put,
    path = "/api/v1/me/notifications",
    tag = "me",
    operation_id = "putNotifications",
    request_body = NotificationsBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The choices now.", body = NotificationsJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn put(
    state: State,
    ApiPerson(who): ApiPerson,
    body: Result<super::JsonBody<Value>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    // Company people learn nothing here, not even what the body should be.
    notify::check(&who.actor()).map_err(ApiError)?;
    let body = body?.into_inner();
    let changes = match body.get("categories") {
        Some(Value::Object(m)) => {
            let mut out = Vec::new();
            let mut errors = Vec::new();
            for (k, v) in m {
                match v {
                    Value::String(s) => out.push((k.clone(), s.clone())),
                    // null: as if left out (the category keeps its choice).
                    Value::Null => {}
                    _ => errors.push(FieldError::new(
                        &format!("categories.{k}"),
                        "Use immediate, daily ou off.",
                    )),
                }
            }
            if !errors.is_empty() {
                return Err(ApiError(AppError::Validation(errors)).into());
            }
            out
        }
        _ => {
            return Err(ApiError(AppError::field(
                "categories",
                "Informe as categorias: security, approvals, changes, system.",
            ))
            .into());
        }
    };
    let actor = who.actor();
    let p = state
        .run(move |conn, app| notify::update(conn, &app.keys, &actor, &changes))
        .await
        .map_err(ApiError)?;
    Ok(HttpResponse::Ok().json(to_json(p)))
}
