//! The JSON API, `/api/v1`. Authentication is `Authorization: Bearer <token>`.

pub mod applications;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod companies;
pub mod omie;
pub mod openapi;
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
    .app_data(web::PathConfig::default().error_handler(|e, _| bad_body(e.to_string())))
    .route("/auth/login", web::post().to(auth::login))
    .route("/auth/logout", web::post().to(auth::logout))
    .route("/auth/token", web::post().to(token::token))
    .route("/signup", web::post().to(crate::routes::signup::api))
    .route("/companies", web::get().to(companies::list))
    .route("/companies", web::post().to(companies::create))
    .route("/companies/{id}", web::get().to(companies::get))
    .route("/companies/{id}", web::patch().to(companies::update))
    .route("/companies/{id}", web::delete().to(companies::archive))
    .route("/companies/{id}/omie-credentials", web::get().to(omie::get))
    .route("/companies/{id}/omie-credentials", web::put().to(omie::put))
    .route(
        "/companies/{id}/omie-credentials/test",
        web::post().to(omie::test),
    )
    .route("/companies/{id}/users", web::get().to(users::list))
    .route("/companies/{id}/users", web::post().to(users::create))
    .route("/users/{id}", web::get().to(users::get))
    .route("/users/{id}", web::patch().to(users::update))
    .route("/users/{id}", web::delete().to(users::disable))
    .route("/users/{id}/approve", web::post().to(users::approve))
    .route("/applications", web::get().to(applications::list))
    .route("/applications", web::post().to(applications::create))
    .route("/applications/{id}", web::get().to(applications::get))
    .route("/applications/{id}", web::patch().to(applications::update))
    .route("/applications/{id}", web::delete().to(applications::revoke))
    .route(
        "/applications/{id}/rotate-secret",
        web::post().to(applications::rotate),
    )
    .route(
        "/applications/{id}/secrets/{secret_id}",
        web::delete().to(applications::revoke_secret),
    )
    .route(
        "/companies/{id}/applications/{app_id}",
        web::put().to(applications::link),
    )
    .route(
        "/companies/{id}/applications/{app_id}",
        web::delete().to(applications::unlink),
    )
    .route(
        "/companies/{id}/omie/{endpoint:.*}",
        web::post().to(proxy::forward),
    )
    .route("/reports/usage", web::get().to(reports::usage))
    .route("/audit", web::get().to(audit::list))
    .route("/backups", web::get().to(backups::list))
    .route("/backups", web::post().to(backups::create))
    .route("/backups/{id}", web::get().to(backups::get))
    .route("/validate/cnpj", web::get().to(validate::cnpj));
}

fn bad_body(detail: String) -> error::Error {
    ApiError(AppError::BadRequest(detail)).into()
}

/// One page of a list as JSON: `{items, next_cursor}`.
#[derive(serde::Serialize)]
pub struct ListJson<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

impl<T> From<crate::services::Page<T>> for ListJson<T> {
    fn from(p: crate::services::Page<T>) -> Self {
        Self {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

/// `limit` for lists: 1..=200, default 50.
pub fn clamp_limit(limit: Option<usize>) -> usize {
    limit.unwrap_or(50).clamp(1, 200)
}
