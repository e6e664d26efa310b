use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::services::auth::{self, LoginInput};
use crate::web::error::ApiError;
use crate::web::guard::ApiUser;
use crate::web::{Edge, State};

#[derive(Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
}

#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

pub async fn login(
    req: HttpRequest,
    app: State,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let (ip, body) = (app.client_ip(&req), body.into_inner());
    let token = app
        .blocking(move |app| {
            let input = LoginInput {
                email: &body.email,
                password: &body.password,
                ip: &ip,
            };
            auth::sign_in_api(app, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: app.settings.token_ttl_secs,
    }))
}

pub async fn logout(app: State, who: ApiUser) -> Result<HttpResponse, ApiError> {
    app.run(move |conn, app| {
        auth::sign_out_api(
            conn,
            &app.keys,
            who.principal.as_ref(),
            &who.actor(),
            &who.token,
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
