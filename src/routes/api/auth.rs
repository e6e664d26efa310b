use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::db;
use crate::error::ApiError;
use crate::services::auth::{self, LoginInput};
use crate::web::State;
use crate::web::guard::ApiUser;

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
    state: State,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let ip = state.client_ip(&req);
    let st = state.clone();
    let body = body.into_inner();
    let token = db::run_with_pool(&state.pool, move |pool| {
        let input = LoginInput {
            email: &body.email,
            password: &body.password,
            ip: &ip,
        };
        let p = auth::check_credentials(
            pool,
            &st.keys,
            &st.throttle,
            &input,
            st.settings.bcrypt_cost,
        )?;
        let conn = &mut *pool.get()?;
        auth::issue_token(conn, &st.keys, &p, &ip, st.settings.token_ttl_secs)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: state.settings.token_ttl_secs,
    }))
}

pub async fn logout(state: State, who: ApiUser) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    db::run(&state.pool, move |conn| match &who.principal {
        Some(p) => auth::revoke_token(conn, &st.keys, p, &who.token, &who.ip),
        None => crate::services::applications::revoke_own_token(
            conn,
            &st.keys,
            &who.actor(),
            &who.token,
        ),
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
