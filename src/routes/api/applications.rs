use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use super::{ListJson, no_null};
use crate::services::applications as uc;
use crate::services::applications::Application;
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;
use crate::web::guard::ApiUser;

/// An application (an integration that acts for companies). Its GET never shows a
/// client secret.
#[derive(Serialize, ToSchema)]
#[schema(as = Application)]
pub struct ApplicationJson {
    #[schema(example = "app_abcdefghijklmnop")]
    id: String,
    #[schema(example = "Integração de estoque")]
    name: String,
    description: String,
    #[schema(example = "cli_abcdefghijklmnop")]
    client_id: String,
    /// The scopes an application can be given; each link grants a subset.
    #[schema(example = json!(["companies:read", "omie_credentials:read", "omie:proxy"]))]
    scopes: Vec<&'static str>,
    status: crate::domain::ApplicationStatus,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
}

impl From<&Application> for ApplicationJson {
    fn from(a: &Application) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            client_id: a.client_id.clone(),
            scopes: uc::SCOPES.to_vec(),
            status: a.status,
            created_at: time::db_to_rfc3339(&a.created_at),
            last_used_at: a.last_used_at.as_deref().map(time::db_to_rfc3339),
        }
    }
}

/// An application and a new client secret, shown this once (only its hash is kept).
#[derive(Serialize, ToSchema)]
#[schema(as = ApplicationWithSecret)]
pub struct WithSecretJson {
    #[serde(flatten)]
    app: ApplicationJson,
    client_secret: String,
}

/// One of an application's secrets, without its value.
#[derive(Serialize, ToSchema)]
#[schema(as = ApplicationSecret)]
pub struct SecretJson {
    #[schema(example = "sec_abcdefghijklmnop")]
    id: String,
    /// The last characters, to tell secrets apart.
    hint: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
    #[schema(format = DateTime)]
    revoked_at: Option<String>,
}

/// An application and its secrets (two active at most, for rotation).
#[derive(Serialize, ToSchema)]
#[schema(as = ApplicationDetail)]
pub struct DetailJson {
    #[serde(flatten)]
    app: ApplicationJson,
    secrets: Vec<SecretJson>,
}

/// List applications
#[utoipa::path(
    get,
    path = "/api/v1/applications",
    tag = "applications",
    operation_id = "listApplications",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Every application, in one page.", body = ListJson<ApplicationJson>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list(state: State, who: ApiUser) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let apps = state.run(move |conn, _| uc::list(conn, &actor)).await?;
    let items = apps.iter().map(ApplicationJson::from).collect();
    Ok(HttpResponse::Ok().json(ListJson::new(items, None)))
}

/// A new application.
#[derive(Deserialize, ToSchema)]
#[schema(as = NewApplication)]
pub struct CreateBody {
    /// Not blank, no control characters.
    #[schema(
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        max_length = 120,
        example = "Integração de estoque"
    )]
    name: String,
    #[serde(default)]
    description: String,
}

/// Create an application
///
/// The answer holds the `client_secret` once; it is stored as SHA-256 only.
#[utoipa::path(
    post,
    path = "/api/v1/applications",
    tag = "applications",
    operation_id = "createApplication",
    request_body = CreateBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Created.", body = WithSecretJson,
            headers(("Location" = String, description = "URL of the new application.")),
            links(
                ("GetApplication" = (operation_id = "getApplication", parameters(("id" = "$response.body#/id")))),
                ("UpdateApplication" = (operation_id = "updateApplication", parameters(("id" = "$response.body#/id")))),
                ("RevokeApplication" = (operation_id = "revokeApplication", parameters(("id" = "$response.body#/id")))),
                ("RotateSecret" = (operation_id = "rotateApplicationSecret", parameters(("id" = "$response.body#/id")))),
                ("LinkToCompany" = (operation_id = "linkApplication", parameters(("app_id" = "$response.body#/id")))),
                ("UnlinkFromCompany" = (operation_id = "unlinkApplication", parameters(("app_id" = "$response.body#/id")))),
            )
        ),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn create(
    state: State,
    who: Acting,
    body: crate::routes::api::JsonBody<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b) = (who.actor(), body.into_inner());
    let (app, secret) = state
        .run(move |conn, app| uc::create(conn, &app.keys, &actor, &b.name, &b.description))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/applications/{}", app.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(WithSecretJson {
            app: ApplicationJson::from(&app),
            client_secret: secret,
        }))
}

/// Read an application
#[utoipa::path(
    get,
    path = "/api/v1/applications/{id}",
    tag = "applications",
    operation_id = "getApplication",
    params(("id" = String, Path, description = "Application id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The application and its secrets (without values).", body = DetailJson,
            links(
                ("RevokeSecret" = (operation_id = "revokeApplicationSecret", parameters(("id" = "$request.path.id"), ("secret_id" = "$response.body#/secrets/0/id")))),
            )
        ),
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
    let (app, secrets) = state
        .run(move |conn, _| {
            let app = uc::get(conn, &actor, &id)?;
            Ok((app, uc::secrets(conn, &actor, &id)?))
        })
        .await?;
    let secrets = secrets
        .into_iter()
        .map(|(id, hint, created, used, revoked)| SecretJson {
            id,
            hint,
            created_at: time::db_to_rfc3339(&created),
            last_used_at: used.as_deref().map(time::db_to_rfc3339),
            revoked_at: revoked.as_deref().map(time::db_to_rfc3339),
        })
        .collect();
    Ok(HttpResponse::Ok().json(DetailJson {
        app: ApplicationJson::from(&app),
        secrets,
    }))
}

/// Revoke one secret of an application
///
/// Tokens issued with it stop working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/applications/{id}/secrets/{secret_id}",
    tag = "applications",
    operation_id = "revokeApplicationSecret",
    params(
        ("id" = String, Path, description = "Application id."),
        ("secret_id" = String, Path, description = "Secret id."),
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
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

/// What to change; all optional.
#[derive(Deserialize, ToSchema)]
#[schema(as = ApplicationPatch)]
pub struct PatchBody {
    /// Not blank, no control characters.
    #[serde(default, deserialize_with = "no_null")]
    #[schema(
        nullable = false,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        max_length = 120
    )]
    name: Option<String>,
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false)]
    description: Option<String>,
}

/// Change an application
#[utoipa::path(
    patch,
    path = "/api/v1/applications/{id}",
    tag = "applications",
    operation_id = "updateApplication",
    params(("id" = String, Path, description = "Application id.")),
    request_body = PatchBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The changed application.", body = ApplicationJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn update(
    state: State,
    who: Acting,
    id: web::Path<String>,
    body: crate::routes::api::JsonBody<PatchBody>,
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
    Ok(HttpResponse::Ok().json(ApplicationJson::from(&app)))
}

/// Revoke an application
///
/// Its tokens and links end at once.
#[utoipa::path(
    delete,
    path = "/api/v1/applications/{id}",
    tag = "applications",
    operation_id = "revokeApplication",
    params(("id" = String, Path, description = "Application id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
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

/// Add a second secret
///
/// For rotation without downtime: both work until the old one is revoked. Two active
/// secrets at most, and not for a revoked application (422).
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/rotate-secret",
    tag = "applications",
    operation_id = "rotateApplicationSecret",
    params(("id" = String, Path, description = "Application id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The new secret, shown this once.", body = WithSecretJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
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
        .json(WithSecretJson {
            app: ApplicationJson::from(&app),
            client_secret: secret,
        }))
}

/// The scopes a link grants.
#[derive(Deserialize, ToSchema)]
#[schema(as = LinkRequest)]
pub struct LinkBody {
    /// At least one.
    #[schema(value_type = Vec<Scope>, min_items = 1, example = json!(["companies:read", "omie:proxy"]))]
    scopes: Vec<String>,
}

/// What a link lets an application do for the company.
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used: scopes are read as strings and checked
pub enum Scope {
    #[schema(rename = "companies:read")]
    CompaniesRead,
    #[schema(rename = "omie_credentials:read")]
    OmieCredentialsRead,
    #[schema(rename = "omie:proxy")]
    OmieProxy,
}

/// An application's link to a company.
#[derive(Serialize, ToSchema)]
#[schema(as = Link)]
pub struct LinkJson {
    company_id: String,
    application_id: String,
    scopes: Vec<String>,
}

/// Link an application to a company
///
/// Or change the link's scopes: `companies:read`, `omie_credentials:read`, `omie:proxy`.
#[utoipa::path(
    put,
    path = "/api/v1/companies/{id}/applications/{app_id}",
    tag = "applications",
    operation_id = "linkApplication",
    params(
        ("id" = String, Path, description = "Company id."),
        ("app_id" = String, Path, description = "Application id."),
    ),
    request_body = LinkBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The link.", body = LinkJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn link(
    state: State,
    who: Acting,
    path: web::Path<(String, String)>,
    body: crate::routes::api::JsonBody<LinkBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, (company_id, app_id), b) = (who.actor(), path.into_inner(), body.into_inner());
    let (cid, aid) = (company_id.clone(), app_id.clone());
    let scopes = state
        .run(move |conn, app| uc::link(conn, &app.keys, &actor, &cid, &aid, &b.scopes))
        .await?;
    Ok(HttpResponse::Ok().json(LinkJson {
        company_id,
        application_id: app_id,
        scopes: scopes.split(' ').map(str::to_string).collect(),
    }))
}

/// Unlink an application from a company
///
/// Its access to the company stops at once.
#[utoipa::path(
    delete,
    path = "/api/v1/companies/{id}/applications/{app_id}",
    tag = "applications",
    operation_id = "unlinkApplication",
    params(
        ("id" = String, Path, description = "Company id."),
        ("app_id" = String, Path, description = "Application id."),
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Unlinked."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
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
