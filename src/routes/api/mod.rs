//! The JSON API, `/api/v1`. Authentication is `Authorization: Bearer <token>`.

pub mod applications;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod companies;
pub mod erasure;
pub mod health;
pub mod me;
pub mod notifications;
pub mod omie;
pub mod openapi;
pub mod privacy;
pub mod proxy;
pub mod reports;
pub mod token;
pub mod users;
pub mod validate;

use actix_web::{HttpRequest, error, web};

use crate::error::AppError;
use crate::web::error::ApiError;
use crate::web::limits;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(limits::JSON_LIMIT)
            .error_handler(|e, req: &HttpRequest| {
                if limits::json_overflow(&e) {
                    limits::too_large(req, limits::JSON_LIMIT)
                } else {
                    bad_body(e.to_string())
                }
            }),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _| bad_body(e.to_string())))
    .app_data(web::PathConfig::default().error_handler(|e, _| bad_body(e.to_string())));
    crate::routes::table::register(cfg, |r| {
        r.post("/auth/login", auth::login)
            .post("/auth/logout", auth::logout)
            .post("/auth/token", token::token)
            .get("/me", me::get)
            .post("/me/mfa", me::start)
            .delete("/me/mfa", me::disable)
            .post("/me/mfa/confirm", me::confirm)
            .get("/me/notifications", notifications::get)
            .put("/me/notifications", notifications::put)
            .get("/me/export", privacy::export)
            .post("/me/privacy-requests", privacy::open)
            .get("/privacy/requests", privacy::list)
            .post("/privacy/requests/{id}/resolve", privacy::resolve)
            .post("/signup", crate::routes::signup::api)
            .get("/companies", companies::list)
            .post("/companies", companies::create)
            .get("/companies/{id}", companies::get)
            .patch("/companies/{id}", companies::update)
            .delete("/companies/{id}", companies::archive)
            .post("/companies/{id}/anonymize", erasure::anonymize_company)
            .get("/companies/{id}/omie-credentials", omie::get)
            .put("/companies/{id}/omie-credentials", omie::put)
            .post("/companies/{id}/omie-credentials/test", omie::test)
            .get("/companies/{id}/users", users::list)
            .post("/companies/{id}/users", users::create)
            .get("/users/{id}", users::get)
            .patch("/users/{id}", users::update)
            .delete("/users/{id}", users::disable)
            .post("/users/{id}/approve", users::approve)
            .post("/users/{id}/anonymize", erasure::anonymize_user)
            .get("/applications", applications::list)
            .post("/applications", applications::create)
            .get("/applications/{id}", applications::get)
            .patch("/applications/{id}", applications::update)
            .delete("/applications/{id}", applications::revoke)
            .post("/applications/{id}/rotate-secret", applications::rotate)
            .delete(
                "/applications/{id}/secrets/{secret_id}",
                applications::revoke_secret,
            )
            .put("/companies/{id}/applications/{app_id}", applications::link)
            .delete(
                "/companies/{id}/applications/{app_id}",
                applications::unlink,
            )
            .post("/companies/{id}/omie/{endpoint:.*}", proxy::forward)
            .get("/reports/usage", reports::usage)
            .post("/reports/summary", reports::summary)
            .get("/audit", audit::list)
            .get("/audit/export", privacy::audit_export)
            .get("/backups", backups::list)
            .post("/backups", backups::create)
            .get("/backups/{id}", backups::get)
            .get("/health", health::get)
            .get("/validate/cnpj", validate::cnpj);
    });
}

fn bad_body(detail: String) -> error::Error {
    ApiError(AppError::BadRequest(detail)).into()
}

/// A JSON body that must be an object. serde reads a struct from an array too (`[]` is
/// a PATCH that changes nothing, `["x"]` names an application), which the document
/// forbids; every body of the API goes through here instead of `web::Json`.
pub struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for JsonBody<T> {
    type Error = error::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        // The limits and the error answers of `JsonConfig` still apply.
        let json = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            if !value.is_object() {
                return Err(bad_body("the body must be a JSON object".into()));
            }
            serde_json::from_value(value)
                .map(JsonBody)
                .map_err(|e| bad_body(e.to_string()))
        })
    }
}

/// One page of a list as JSON: `{items, next_cursor}`. Every list of the API answers
/// with this one type, so every list reads the same way.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Page)]
pub struct ListJson<T> {
    items: Vec<T>,
    /// Give it as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

impl<T> ListJson<T> {
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self { items, next_cursor }
    }
}

impl<T> From<crate::services::Page<T>> for ListJson<T> {
    fn from(p: crate::services::Page<T>) -> Self {
        Self {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

/// For optional body fields (`#[serde(default, deserialize_with = "no_null")]`): absent
/// is `None`, a value is `Some`, and `null` is refused (400) rather than read as absent,
/// so "a string, or leave it out" in the document is what the server does. A PATCH that
/// sends `null` meaning "clear it" learns at once that it does not.
pub fn no_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `limit` for lists: 1..=200, default 50. A value outside is refused with a field
/// error rather than clamped, so a client never silently gets fewer rows than it
/// asked for (and the document's `maximum` is what the server does).
pub fn page_limit(limit: Option<usize>) -> Result<usize, AppError> {
    match limit.unwrap_or(50) {
        n @ 1..=200 => Ok(n),
        _ => Err(AppError::field("limit", "Use um limite de 1 a 200.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_outside_1_to_200_is_refused_not_clamped() {
        assert_eq!(page_limit(None).ok(), Some(50));
        assert_eq!(page_limit(Some(1)).ok(), Some(1));
        assert_eq!(page_limit(Some(200)).ok(), Some(200));
        for bad in [0, 201, 10_000] {
            assert!(
                matches!(page_limit(Some(bad)), Err(AppError::Validation(_))),
                "{bad}"
            );
        }
    }
}
