//! Erasure (LGPD, DESIGN.md §8.3): anonymizing a person or a company.

use actix_web::{HttpResponse, web};

use super::companies::CompanyJson;
use super::users::UserJson;
use crate::services::erasure;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

use super::openapi::{Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed};

/// Anonymize a person
///
/// Their name and e-mail leave every table and the database files, their sessions and
/// tokens end, and their audit entries remain with a pseudonym ("Pessoa 7F3A9C"). The
/// owner and staff may anonymize anyone but themselves (platform accounts: the owner
/// only); a company admin, its own company's people. Survives restoring older backups.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/anonymize",
    tag = "users",
    operation_id = "anonymizeUser",
    params(("id" = String, Path, description = "User id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Anonymized (`status: anonymized`).", body = UserJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn anonymize_user(
    app: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let u = app
        .run(move |conn, app| {
            erasure::anonymize_user(conn, &app.keys, &app.settings.data_dir, &actor, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}

/// Anonymize a company
///
/// At the end of a contract (owner only): the company is archived, its contact's name,
/// e-mail and phone erased, its people anonymized, its Omie credentials destroyed and its
/// application links removed. CNPJ and legal name stay (fiscal records).
#[utoipa::path(
    post,
    path = "/api/v1/companies/{id}/anonymize",
    tag = "companies",
    operation_id = "anonymizeCompany",
    params(("id" = String, Path, description = "Company id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Anonymized and archived.", body = CompanyJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn anonymize_company(
    app: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let c = app
        .run(move |conn, app| {
            erasure::anonymize_company(conn, &app.keys, &app.settings.data_dir, &actor, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CompanyJson::from(c)))
}
