//! The route table: every URL the server answers is registered here.

pub mod admin;
pub mod api;
pub mod assets;
pub mod auth;
pub mod cnpj_lookup;
pub mod data_rights_pages;
pub mod health;
pub mod help_pages;
pub mod mailed_links;
pub mod metrics;
pub mod mfa_pages;
pub mod notify_pages;
pub mod omie_pages;
pub mod people;
pub mod portal;
pub mod privacy_pages;
pub mod profile;
pub mod sessions;
pub mod signup;
pub mod table;
pub mod usage_pages;

pub use table::{Area, RouteInfo, table};

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::AppError;
use crate::services::app::App;
use crate::web::error::{ApiError, PageError};
use crate::web::{guard, session_store};

/// `app` gives the session layer its store and keys.
pub fn configure(cfg: &mut web::ServiceConfig, app: &App) {
    all(cfg, |pages| pages.wrap(session_store::middleware(app)));
}

/// Every route, for [`table()`]: built, never served, so the pages need no session layer.
fn unserved(cfg: &mut web::ServiceConfig) {
    all(cfg, |pages| pages);
}

fn all<S>(cfg: &mut web::ServiceConfig, with_session: impl FnOnce(actix_web::Scope) -> S)
where
    S: actix_web::dev::HttpServiceFactory + 'static,
{
    // Without a session: probes, metrics, assets, the API document and the API itself
    // (bearer tokens only). The session layer costs every request it wraps a load and a
    // look at its changes, ~2 µs of an API request (issue 14).
    table::register(cfg, |r| {
        r.get("/healthz", health::healthz)
            .get("/readyz", health::readyz)
            .get("/metrics", metrics::scrape)
            .get("/static/{file}", assets::serve)
            .get("/api/openapi.json", api::openapi::document);
    });
    cfg.service(
        table::scope("/api/v1", Area::Api, api::configure)
            .wrap(from_fn(crate::web::metering::layer)),
    )
    // Every page: the guards, the form tokens and sign-in read the session this loads.
    .service(with_session(table::scope("", Area::Public, pages)))
    .default_service(web::to(not_found));
}

fn pages(cfg: &mut web::ServiceConfig) {
    table::register(cfg, |r| {
        r.get("/", auth::home)
            .get("/login", auth::login_form)
            .post("/login", auth::login)
            .get("/login/code", mfa_pages::login_code_form)
            .post("/login/code", mfa_pages::login_code)
            .post("/logout", auth::logout)
            .get("/setup/{token}", auth::setup_form)
            .post("/setup/{token}", auth::setup)
            .get("/password/forgot", mailed_links::forgot_form)
            .post("/password/forgot", mailed_links::forgot)
            .get("/password/reset/{token}", mailed_links::reset_form)
            .post("/password/reset/{token}", mailed_links::reset)
            .get("/invite/{token}", mailed_links::invite_form)
            .post("/invite/{token}", mailed_links::accept_invite)
            .get("/signup", signup::form)
            .get("/signup/lookup", cnpj_lookup::for_visitor)
            .post("/signup", signup::submit)
            .get("/privacidade", privacy_pages::notice)
            .get("/marca/{hash}", crate::routes::admin::vendor::logo);
    });
    cfg.service(
        table::scope("/admin", Area::Admin, admin::configure)
            .wrap(from_fn(guard::require_platform_user)),
    )
    .service(
        table::scope("/portal", Area::Portal, portal::configure)
            .wrap(from_fn(guard::require_company_user)),
    );
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        ApiError(AppError::NotFound).error_response()
    } else {
        PageError(AppError::NotFound).error_response()
    }
}
