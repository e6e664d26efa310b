//! The client portal, `/portal`, for company users: one module per area of the portal,
//! as the URLs are. The scope is wrapped by the company-user guard; the company always
//! comes from the signed-in person, never from the URL, and the use cases decide what
//! each role may do (DESIGN.md §5).

mod applications;
mod company;
mod history;
mod omie;
mod people;
mod usage;

use actix_web::web;

use crate::domain::Role;
use crate::routes::people::{self as shared, Portal};
use crate::routes::profile;
use crate::web::guard::SignedIn;

pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::routes::table::register(cfg, |r| {
        r.get("", company::home)
            .get("/", company::home)
            .get("/ajuda", crate::routes::help_pages::portal)
            .post("/company", company::update)
            .get("/users", people::list)
            .get("/users/{id}", shared::show::<Portal>)
            .post("/users/{id}/approve", shared::approve::<Portal>)
            .post("/users/{id}/disable", shared::disable::<Portal>)
            .post("/users/{id}/anonymize", shared::anonymize::<Portal>)
            .post("/users/{id}/enable", shared::enable::<Portal>)
            .post("/users/{id}/role", shared::change_role::<Portal>)
            .post("/users/{id}/send-reset", shared::send_reset::<Portal>)
            .post("/invitations", people::invite)
            .post(
                "/invitations/{id}/resend",
                shared::resend_invitation::<Portal>,
            )
            .post(
                "/invitations/{id}/revoke",
                shared::revoke_invitation::<Portal>,
            )
            .get("/omie", omie::show)
            .post("/omie", omie::save)
            .post("/omie/reveal", omie::reveal)
            .post("/omie/test", omie::test)
            .get("/applications", applications::list)
            .get("/usage", usage::page)
            .get("/history", history::page)
            .get("/usage.csv", usage::csv)
            .post("/applications/{app_id}/unlink", applications::unlink)
            .get("/profile", profile::show)
            .get(
                "/profile/export",
                crate::routes::data_rights_pages::export_own,
            )
            .post(
                "/profile/privacy-requests",
                crate::routes::data_rights_pages::open,
            )
            .post("/profile/password", profile::change_password)
            .post("/profile/sessions/end-others", profile::end_others)
            .post(
                "/profile/sessions/{session}/end",
                crate::routes::sessions::end_own,
            )
            .get("/profile/mfa", crate::routes::mfa_pages::show)
            .post("/profile/mfa/start", crate::routes::mfa_pages::start)
            .post("/profile/mfa/confirm", crate::routes::mfa_pages::confirm)
            .post(
                "/profile/mfa/recovery",
                crate::routes::mfa_pages::regenerate,
            )
            .post("/profile/mfa/disable", crate::routes::mfa_pages::disable)
            .get("/step-up", crate::routes::mfa_pages::step_up_form)
            .post("/step-up", crate::routes::mfa_pages::step_up_submit);
    });
}

/// The signed-in person's company: the only one any portal page shows or changes.
fn company_id(who: &SignedIn) -> String {
    who.principal.user.company_id.clone().unwrap_or_default()
}

fn is_admin(who: &SignedIn) -> bool {
    who.principal.role == Role::CompanyAdmin
}
