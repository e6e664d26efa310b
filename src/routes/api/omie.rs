use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use crate::services::omie::{self, CredentialsView, TestOutcome};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

/// A company's Omie credentials: masked for people unless `reveal=true`, in clear for
/// an application whose link grants `omie_credentials:read`.
#[derive(Serialize, ToSchema)]
#[schema(as = OmieCredentials)]
pub struct CredentialsJson {
    #[schema(example = "•••••••••5368")]
    app_key: String,
    #[schema(example = "••••••••••••9b8a")]
    app_secret: String,
    /// When the last "test" ran.
    #[schema(format = DateTime)]
    validated_at: Option<String>,
    /// `ok` or `failed`; null until tested.
    #[schema(example = "ok")]
    validation_status: Option<crate::domain::ValidationStatus>,
    /// The last test's explanation, in Portuguese.
    validation_message: Option<String>,
    #[schema(format = DateTime)]
    updated_at: String,
    /// Who stored them: an e-mail, or, to a client company and its applications,
    /// "Equipe <vendor>" when the platform's owner or staff did.
    updated_by: String,
}

impl From<CredentialsView> for CredentialsJson {
    fn from(v: CredentialsView) -> Self {
        Self {
            app_key: v.app_key,
            app_secret: v.app_secret,
            validated_at: v.validated_at,
            validation_status: v.validation_status,
            validation_message: v.validation_message,
            updated_at: v.updated_at,
            updated_by: v.updated_by,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A parameter the document does not name is refused (400), so a typo is not silently
// a different query.
#[serde(deny_unknown_fields)]
pub struct ReadParams {
    /// People only: show the values in clear (audited as `omie_credentials.reveal`).
    #[serde(default)]
    #[param(default = false)]
    reveal: bool,
}

/// Read a company's Omie credentials
#[utoipa::path(
    get,
    path = "/api/v1/companies/{id}/omie-credentials",
    tag = "companies",
    operation_id = "getOmieCredentials",
    params(("id" = String, Path, description = "Company id."), ReadParams),
    security(("bearerAuth" = []), ("applicationAuth" = ["omie_credentials:read"])),
    responses(
        (status = 200, description = "The credentials.", body = CredentialsJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such company, or no credentials stored yet.", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server is busy: retry after `Retry-After` seconds.", body = super::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    state: State,
    who: Acting,
    id: web::Path<String>,
    params: web::Query<ReadParams>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, reveal) = (who.actor(), id.into_inner(), params.reveal);
    let view = omie::get_for(&state, actor, id, reveal).await?;
    Ok(HttpResponse::Ok().json(CredentialsJson::from(view)))
}

/// The keys Omie gave the company.
#[derive(Deserialize, ToSchema)]
#[schema(as = OmieCredentialsInput)]
pub struct PutBody {
    /// Digits only, 6 to 20 (surrounding spaces are dropped).
    #[schema(pattern = "^\\s*[0-9]{6,20}\\s*$", example = "1234567895368")]
    app_key: String,
    /// Hexadecimal, 20 to 64 (surrounding spaces are dropped).
    #[schema(
        pattern = "^\\s*[0-9A-Fa-f]{20,64}\\s*$",
        example = "a1b2c3d4e5f60718293a4b5c6d7e9b8a"
    )]
    app_secret: String,
}

/// Set or rotate a company's Omie credentials
///
/// People only (an application gets 403). The values are checked for shape and stored
/// sealed; the answer shows them masked.
#[utoipa::path(
    put,
    path = "/api/v1/companies/{id}/omie-credentials",
    tag = "companies",
    operation_id = "putOmieCredentials",
    params(("id" = String, Path, description = "Company id.")),
    request_body = PutBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Stored; shown masked.", body = CredentialsJson,
            links(
                ("GetOmieCredentials" = (operation_id = "getOmieCredentials", parameters(("id" = "$request.path.id")))),
                ("TestOmieCredentials" = (operation_id = "testOmieCredentials", parameters(("id" = "$request.path.id")))),
            )
        ),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn put(
    state: State,
    who: Acting,
    id: web::Path<String>,
    body: crate::routes::api::JsonBody<PutBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b) = (who.actor(), id.into_inner(), body.into_inner());
    let view = state
        .run(move |conn, app| omie::put(conn, &app.keys, &actor, &id, &b.app_key, &b.app_secret))
        .await?;
    Ok(HttpResponse::Ok().json(CredentialsJson::from(view)))
}

/// What testing the credentials against Omie found.
#[derive(Serialize, ToSchema)]
#[schema(as = OmieTestResult)]
pub struct TestJson {
    /// Omie accepted the keys.
    ok: bool,
    /// What happened, in Portuguese.
    message: String,
    /// Whether the CNPJ Omie returned is the company's; null when Omie did not say.
    cnpj_matches: Option<bool>,
    #[schema(format = DateTime)]
    checked_at: String,
    /// Answered from the last minute's result instead of calling Omie again (Omie
    /// refuses repeats).
    cached: bool,
}

impl From<TestOutcome> for TestJson {
    fn from(o: TestOutcome) -> Self {
        Self {
            ok: o.ok,
            message: o.message,
            cnpj_matches: o.cnpj_matches,
            checked_at: time::db_to_rfc3339(&o.checked_at),
            cached: o.cached,
        }
    }
}

/// Test a company's Omie credentials
///
/// Calls Omie's `ListarEmpresas` with the stored keys. 422 when none are stored.
#[utoipa::path(
    post,
    path = "/api/v1/companies/{id}/omie-credentials/test",
    tag = "companies",
    operation_id = "testOmieCredentials",
    params(("id" = String, Path, description = "Company id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The outcome (also when Omie refused the keys).", body = TestJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn test(
    state: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let o = omie::test(state.omie_test_deps(), &actor, &id).await?;
    Ok(HttpResponse::Ok().json(TestJson::from(o)))
}
