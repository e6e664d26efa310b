//! The route table: every URL the server answers is registered here.

pub mod admin;
pub mod api;
pub mod assets;
pub mod auth;
pub mod health;
pub mod links;
pub mod omie_pages;
pub mod portal;
pub mod profile;
pub mod signup;
pub mod usage_pages;

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::AppError;
use crate::web::error::{ApiError, PageError};
use crate::web::guard;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/static/{file}", web::get().to(assets::serve))
        .route("/", web::get().to(auth::home))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/setup/{token}", web::get().to(auth::setup_form))
        .route("/setup/{token}", web::post().to(auth::setup))
        .route("/password/forgot", web::get().to(links::forgot_form))
        .route("/password/forgot", web::post().to(links::forgot))
        .route("/password/reset/{token}", web::get().to(links::reset_form))
        .route("/password/reset/{token}", web::post().to(links::reset))
        .route("/invite/{token}", web::get().to(links::invite_form))
        .route("/invite/{token}", web::post().to(links::accept_invite))
        .route("/signup", web::get().to(signup::form))
        .route("/signup", web::post().to(signup::submit))
        .route("/api/openapi.json", web::get().to(api::openapi::document))
        .service(web::scope("/api/v1").configure(api::configure))
        .service(
            web::scope("/admin")
                .wrap(from_fn(guard::require_platform_user))
                .configure(admin::configure),
        )
        .service(
            web::scope("/portal")
                .wrap(from_fn(guard::require_company_user))
                .configure(portal::configure),
        )
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        ApiError(AppError::NotFound).error_response()
    } else {
        PageError(AppError::NotFound).error_response()
    }
}
