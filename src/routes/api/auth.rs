use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::services::auth::{self, LoginInput};
use crate::web::error::ApiError;
use crate::web::guard::ApiUser;
use crate::web::{Edge, State};

use super::openapi::{BadRequest, PayloadTooLarge, TooManyRequests, Unauthorized};

/// A person's e-mail and password.
#[derive(Deserialize, ToSchema)]
#[schema(as = LoginRequest)]
pub struct LoginBody {
    #[schema(example = "maria@paoquente.com.br")]
    email: String,
    #[schema(example = "uma senha longa e boa")]
    password: String,
    /// The second factor's code (6 digits) or a recovery code, for a person who has one.
    #[serde(default, deserialize_with = "crate::routes::api::no_null")]
    #[schema(nullable = false, example = "123456")]
    otp: Option<String>,
}

/// A bearer token for a person.
#[derive(Serialize, ToSchema)]
#[schema(as = LoginToken)]
pub struct TokenResponse {
    access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    expires_in: u64,
}

/// Sign in (people)
///
/// Wrong e-mail or password, and an account that is not active, answer 401; repeated
/// failures are throttled (429). A person with a second factor also sends `otp`: without
/// it the answer is 401 with `code: mfa_required`, with a wrong or used one 401 with
/// `code: invalid_otp`; five wrong codes in a row lock the second factor for 15 minutes
/// (429 with `Retry-After`).
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    operation_id = "login",
    request_body = LoginBody,
    security(()),
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn login(
    req: HttpRequest,
    app: State,
    body: crate::routes::api::JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let (ip, body) = (app.client_ip(&req), body.into_inner());
    let ua = crate::web::user_agent(&req);
    let token = app
        .blocking(move |app| {
            let input = LoginInput {
                email: &body.email,
                password: &body.password,
                ip: &ip,
                device: None,
                user_agent: &ua,
                otp: body.otp.as_deref(),
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

/// Sign out
///
/// The token stops working at once.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    operation_id = "logout",
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Signed out."),
        (status = 401, response = Unauthorized),
    )
)]
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
