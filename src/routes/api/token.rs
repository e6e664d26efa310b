//! `POST /api/v1/auth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4),
//! with the body as a form or JSON and client authentication in the body or by HTTP
//! Basic; errors as RFC 6749 §5.2.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::services::applications::{self, Grant, GrantError};
use crate::web::{Edge, State};

/// The client-credentials grant (RFC 6749 §4.4), as a form or JSON. `client_id` and
/// `client_secret` may instead come by HTTP Basic.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = TokenRequest)]
pub struct TokenRequest {
    #[serde(default)]
    #[schema(
        required = true,
        pattern = "^client_credentials$",
        example = "client_credentials"
    )]
    grant_type: String,
    #[serde(default)]
    #[schema(example = "cli_abcdefghijklmnop")]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    /// Space-separated subset of the known scopes; all of them when absent. The token
    /// carries only these (each check is token scope ∩ link scope); an unknown scope is
    /// `invalid_scope`.
    #[schema(nullable = false, example = "companies:read omie:proxy")]
    scope: Option<String>,
}

/// An application's bearer token.
#[derive(Serialize, ToSchema)]
#[schema(as = ApplicationToken)]
pub struct Issued {
    access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    expires_in: u64,
    /// The scopes granted to this token, space-separated: what was asked for (each
    /// once, in the usual order), or every scope when nothing was asked.
    #[schema(example = "companies:read omie_credentials:read omie:proxy")]
    scope: String,
}

/// An RFC 6749 §5.2 error.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    #[schema(example = "invalid_client")]
    error: String,
    error_description: String,
}

fn error(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    r.insert_header((header::CACHE_CONTROL, "no-store"));
    if code == "invalid_client" {
        r.insert_header((
            header::WWW_AUTHENTICATE,
            "Basic realm=\"omie-tenant-manager\"",
        ));
    }
    r.json(OAuthError {
        error: code.to_string(),
        error_description: description.to_string(),
    })
}

/// Client id and secret from `Authorization: Basic` (each form-urlencoded, §2.3.1).
fn basic(req: &HttpRequest) -> Option<(String, String)> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()?
            .pop()
            .map(|(_, v)| v)
    };
    Some((decode(id)?, decode(secret)?))
}

/// The grant's fields from a form or JSON body, with Basic authentication winning.
/// Refused as `invalid_request` with the message given.
fn parse(req: &HttpRequest, body: &[u8]) -> Result<TokenRequest, &'static str> {
    let parsed: Option<TokenRequest> = match req.content_type() {
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(body).ok(),
        "application/json" => serde_json::from_slice(body).ok(),
        _ => None,
    };
    let Some(mut t) = parsed else {
        return Err("send a form (application/x-www-form-urlencoded) or JSON body");
    };
    if let Some((id, secret)) = basic(req) {
        if !t.client_id.is_empty() && t.client_id != id {
            return Err("client_id differs between body and Authorization");
        }
        t.client_id = id;
        t.client_secret = secret;
    }
    Ok(t)
}

/// RFC 6749 §5.2 answers.
fn refusal(e: GrantError) -> HttpResponse {
    match e {
        GrantError::InvalidClient => error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        ),
        GrantError::InvalidRequest(d) => error(StatusCode::BAD_REQUEST, "invalid_request", d),
        GrantError::Busy => {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the server is busy; try again in a moment",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            r
        }
        GrantError::UnsupportedGrantType => error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        ),
        GrantError::InvalidScope => error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "known scopes: companies:read omie_credentials:read omie:proxy",
        ),
        GrantError::SlowDown(secs) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_client",
                "too many failed attempts; wait and retry",
            );
            if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}

/// Get an application token
///
/// OAuth 2.0 client credentials (RFC 6749 §4.4). Errors follow §5.2; repeated bad
/// secrets are throttled (429 with `Retry-After`).
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "auth",
    operation_id = "issueApplicationToken",
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json"),
    )),
    security((), ("basicClient" = [])),
    responses(
        (status = 200, description = "The token.", body = Issued,
            headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `invalid_scope`.", body = OAuthError),
        (status = 401, description = "`invalid_client`: unknown client or wrong secret.", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "`Basic realm=\"omie-tenant-manager\"`."))),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 429, description = "Too many failed attempts for this client.", body = OAuthError,
            headers(("Retry-After" = String, description = "Seconds to wait."))),
        (status = 500, description = "`server_error`.", body = OAuthError),
        (status = 503, description = "`temporarily_unavailable`: the server is busy.", body = OAuthError,
            headers(("Retry-After" = String, description = "Seconds to wait."))),
    )
)]
pub async fn token(req: HttpRequest, app: State, body: web::Bytes) -> HttpResponse {
    let t = match parse(&req, &body) {
        Ok(t) => t,
        Err(why) => return error(StatusCode::BAD_REQUEST, "invalid_request", why),
    };
    let (ip, ttl) = (app.client_ip(&req), app.settings.token_ttl_secs);
    match applications::issue_token(&app, &t.grant(&ip), ttl).await {
        Ok((access_token, scope)) => issued(access_token, scope, ttl),
        Err(e) => refusal(e),
    }
}

/// RFC 6749 §5.1: the token, never cached.
fn issued(access_token: String, scope: String, ttl: u64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(Issued {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            scope,
        })
}

impl TokenRequest {
    fn grant<'a>(&'a self, ip: &'a str) -> Grant<'a> {
        Grant {
            grant_type: &self.grant_type,
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            scope: self.scope.as_deref(),
            ip,
        }
    }
}
