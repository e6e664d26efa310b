//! The owner's dashboard, `/admin`. The scope is wrapped by the platform-user guard.

pub mod applications;
pub mod audit;
pub mod backups;
pub mod companies;
pub mod invitations;
pub mod overview;
pub mod settings;
pub mod users;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(overview::show))
        .route("/", web::get().to(overview::show))
        .route("/companies", web::get().to(companies::list))
        .route("/companies", web::post().to(companies::create))
        .route("/companies/new", web::get().to(companies::new_form))
        .route("/companies/{id}", web::get().to(companies::show))
        .route("/companies/{id}", web::post().to(companies::update))
        .route("/companies/{id}/edit", web::get().to(companies::edit_form))
        .route(
            "/companies/{id}/status",
            web::post().to(companies::set_status),
        )
        .route("/companies/{id}/omie", web::get().to(companies::omie))
        .route("/companies/{id}/omie", web::post().to(companies::omie_save))
        .route(
            "/companies/{id}/omie/reveal",
            web::post().to(companies::omie_reveal),
        )
        .route(
            "/companies/{id}/omie/test",
            web::post().to(companies::omie_test),
        )
        .route("/applications", web::get().to(applications::list))
        .route("/applications", web::post().to(applications::create))
        .route("/applications/{id}", web::get().to(applications::show))
        .route(
            "/applications/{id}/edit",
            web::post().to(applications::edit),
        )
        .route(
            "/applications/{id}/rotate",
            web::post().to(applications::rotate),
        )
        .route(
            "/applications/{id}/revoke-secret",
            web::post().to(applications::revoke_secret),
        )
        .route(
            "/applications/{id}/revoke",
            web::post().to(applications::revoke),
        )
        .route(
            "/applications/{id}/link",
            web::post().to(applications::link),
        )
        .route(
            "/applications/{id}/unlink",
            web::post().to(applications::unlink),
        )
        .route("/usage", web::get().to(overview::usage))
        .route("/usage.csv", web::get().to(overview::usage_csv))
        .route("/audit", web::get().to(audit::list))
        .route("/profile", web::get().to(crate::routes::profile::show))
        .route(
            "/profile/password",
            web::post().to(crate::routes::profile::change_password),
        )
        .route(
            "/profile/sessions/end-others",
            web::post().to(crate::routes::profile::end_others),
        )
        .route("/users", web::get().to(users::list))
        .route("/invitations", web::post().to(invitations::create))
        .route(
            "/invitations/{id}/{action}",
            web::post().to(invitations::act),
        )
        .route("/users/{id}/{action}", web::post().to(users::act))
        .route("/backups", web::get().to(backups::show))
        .route("/backups", web::post().to(backups::start))
        .route("/backups/settings", web::post().to(backups::save_settings))
        .route("/backups/recovery-kit", web::get().to(backups::kit_form))
        .route("/backups/recovery-kit", web::post().to(backups::kit_show))
        .route("/backups/{id}/download", web::get().to(backups::download))
        .route("/settings", web::get().to(settings::show))
        .route("/settings/test-email", web::post().to(settings::send_test))
        .route("/settings/retry-mail", web::post().to(settings::retry_mail));
}
