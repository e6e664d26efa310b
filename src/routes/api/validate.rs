use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::Cnpj;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A parameter the document does not name is refused (400), so a typo is not silently
// a different query.
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The CNPJ as typed, with or without mask. Required: an empty value is answered
    /// (`valid: false`, "Informe o CNPJ"), a missing one is a malformed request (400).
    #[param(example = "11.222.333/0001-81")]
    value: String,
}

/// Whether a CNPJ is valid, and its normalized and masked forms.
#[derive(Serialize, ToSchema)]
#[schema(as = CnpjValidation)]
struct Answer {
    valid: bool,
    /// Without mask; null when invalid.
    #[schema(example = "11222333000181")]
    normalized: Option<String>,
    /// With mask; null when invalid.
    #[schema(example = "11.222.333/0001-81")]
    formatted: Option<String>,
    /// In Portuguese, to show while the person types.
    #[schema(example = "CNPJ válido.")]
    message: String,
}

/// Check a CNPJ
///
/// Public and side-effect free: the company form asks it while the person types. An
/// invalid value answers 200 with `valid: false` and why.
#[utoipa::path(
    get,
    path = "/api/v1/validate/cnpj",
    tag = "validation",
    operation_id = "validateCnpj",
    params(Params),
    security(()),
    responses(
        (status = 200, description = "The verdict.", body = Answer),
        (status = 400, response = super::openapi::BadRequest),
    )
)]
pub async fn cnpj(params: web::Query<Params>) -> HttpResponse {
    let answer = match Cnpj::parse(&params.value) {
        Ok(c) => Answer {
            valid: true,
            normalized: Some(c.as_str().to_string()),
            formatted: Some(c.formatted()),
            message: "CNPJ válido.".to_string(),
        },
        Err(m) => Answer {
            valid: false,
            normalized: None,
            formatted: None,
            message: m.to_string(),
        },
    };
    HttpResponse::Ok().json(answer)
}
