use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::domain::Cnpj;

#[derive(Deserialize)]
pub struct Params {
    #[serde(default)]
    value: String,
}

#[derive(Serialize)]
struct Answer {
    valid: bool,
    normalized: Option<String>,
    formatted: Option<String>,
    message: String,
}

/// Public and side-effect free: the company form asks it while the person types.
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
