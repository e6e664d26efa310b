//! The owner's dashboard, `/admin`. The scope is wrapped by the platform-user guard.

pub mod applications;
pub mod audit;
pub mod backups;
pub mod companies;
pub mod health;
pub mod invitations;
pub mod links;
pub mod overview;
pub mod reports;
pub mod settings;
pub mod users;
pub mod vendor;

use crate::routes::people::{self, Admin};
use crate::routes::privacy_pages;
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::routes::table::register(cfg, |r| {
        r.get("", overview::show)
            .get("/", overview::show)
            .get("/ajuda", crate::routes::help_pages::admin)
            .post("/overview/checklist/hide", overview::hide_checklist)
            .get("/relatorios", reports::show)
            .post("/relatorios/resumo", reports::send_summary)
            .get("/companies", companies::list)
            .post("/companies", companies::create)
            .get("/companies/new", companies::new_form)
            .get(
                "/companies/lookup",
                crate::routes::cnpj_lookup::for_platform,
            )
            .get("/companies/{id}", companies::show)
            .post("/companies/{id}", companies::update)
            .get("/companies/{id}/edit", companies::edit_form)
            .post("/companies/{id}/status", companies::set_status)
            .post("/companies/{id}/anonymize", companies::anonymize)
            .get("/companies/{id}/omie", companies::omie)
            .post("/companies/{id}/omie", companies::omie_save)
            .post("/companies/{id}/omie/reveal", companies::omie_reveal)
            .post("/companies/{id}/omie/test", companies::omie_test)
            .get("/applications", applications::list)
            .post("/applications", applications::create)
            .get("/applications/{id}", applications::show)
            .get("/applications/{id}/secret", applications::secret)
            .post("/applications/{id}/edit", applications::edit)
            .post("/applications/{id}/rotate", applications::rotate)
            .post(
                "/applications/{id}/revoke-secret",
                applications::revoke_secret,
            )
            .post("/applications/{id}/revoke", applications::revoke)
            .post("/applications/{id}/link", applications::link)
            .post("/applications/{id}/unlink", applications::unlink)
            .get("/usage", overview::usage)
            .get("/usage.csv", overview::usage_csv)
            .get("/audit", audit::list)
            .post("/audit/verify", audit::verify)
            .get("/audit/export.csv", audit::export)
            .get("/audit.csv", crate::routes::data_rights_pages::audit_csv)
            .get("/privacidade", crate::routes::data_rights_pages::queue)
            .post(
                "/privacidade/{id}/resolve",
                crate::routes::data_rights_pages::resolve,
            )
            .get(
                "/users/{id}/export",
                crate::routes::data_rights_pages::export_person,
            )
            .get(
                "/profile/export",
                crate::routes::data_rights_pages::export_own,
            )
            .post(
                "/profile/privacy-requests",
                crate::routes::data_rights_pages::open,
            )
            .get("/profile", crate::routes::profile::show)
            .post("/profile/password", crate::routes::profile::change_password)
            .post(
                "/profile/sessions/end-others",
                crate::routes::profile::end_others,
            )
            .get("/profile/notifications", crate::routes::notify_pages::show)
            .post("/profile/notifications", crate::routes::notify_pages::save)
            .get("/profile/mfa", crate::routes::mfa_pages::show)
            .post("/profile/mfa/start", crate::routes::mfa_pages::start)
            .post("/profile/mfa/confirm", crate::routes::mfa_pages::confirm)
            .post(
                "/profile/mfa/recovery",
                crate::routes::mfa_pages::regenerate,
            )
            .post("/profile/mfa/disable", crate::routes::mfa_pages::disable)
            .get("/step-up", crate::routes::mfa_pages::step_up_form)
            .post("/step-up", crate::routes::mfa_pages::step_up_submit)
            .get("/users", users::list)
            .get("/users/{id}", people::show::<Admin>)
            .post("/invitations", invitations::create)
            .post(
                "/invitations/{id}/resend",
                people::resend_invitation::<Admin>,
            )
            .post(
                "/invitations/{id}/revoke",
                people::revoke_invitation::<Admin>,
            )
            .post("/invitations/{id}/copy-link", links::copy_invitation)
            .get("/invitations/{id}/link", links::show_invitation)
            .post("/users/{id}/reset-link", links::copy_reset)
            .get("/users/{id}/reset-link", links::show_reset)
            .post("/users/{id}/approve", people::approve::<Admin>)
            .post("/users/{id}/reject", users::reject)
            .post("/users/{id}/disable", people::disable::<Admin>)
            .post("/users/{id}/anonymize", people::anonymize::<Admin>)
            .post("/users/{id}/enable", people::enable::<Admin>)
            .post("/users/{id}/role", people::change_role::<Admin>)
            .post("/users/{id}/send-reset", people::send_reset::<Admin>)
            .post("/users/{id}/accept", users::accept)
            .post("/users/{id}/refuse", users::refuse)
            .get("/users/{id}/sessions", crate::routes::sessions::person)
            .post(
                "/users/{id}/sessions/end-all",
                crate::routes::sessions::end_all_persons,
            )
            .post(
                "/users/{id}/sessions/{session}/end",
                crate::routes::sessions::end_persons,
            )
            .post(
                "/profile/sessions/{session}/end",
                crate::routes::sessions::end_own,
            )
            .get("/saude", health::show)
            .get("/backups", backups::show)
            .post("/backups", backups::start)
            .post("/backups/settings", backups::save_settings)
            .post("/backups/test-remote", backups::test_remote)
            .get("/backups/recovery-kit", backups::kit_form)
            .post("/backups/recovery-kit", backups::kit_show)
            .get("/backups/{id}/download", backups::download)
            .get("/privacidade/registro", privacy_pages::record)
            .get("/privacidade/registro.csv", privacy_pages::record_csv)
            .get("/privacidade/retencao", privacy_pages::retention_show)
            .post("/privacidade/retencao", privacy_pages::retention_save)
            .get("/privacidade/incidentes", privacy_pages::incidents)
            .post("/privacidade/incidentes", privacy_pages::incident_create)
            .post(
                "/privacidade/incidentes/{id}",
                privacy_pages::incident_update,
            )
            .get("/settings", settings::show)
            .post("/settings/test-email", settings::send_test)
            .post("/settings/mail", settings::update_mail)
            .post("/settings/vendor", vendor::save)
            .post("/settings/retry-mail", settings::retry_mail)
            .post("/settings/mfa", crate::routes::mfa_pages::save_policy);
    });
}
