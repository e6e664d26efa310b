//! `/admin/invitations`: invite by e-mail, resend, revoke.

use actix_web::HttpResponse;
use serde::Deserialize;

use crate::services::{mail_settings, mailed_links};
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Form, redirect_outcome};

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    company_id: String,
}

fn back_to(company_id: Option<&str>) -> String {
    match company_id {
        Some(c) => format!("/admin/companies/{c}"),
        None => "/admin/users".to_string(),
    }
}

pub async fn create(
    state: State,
    who: Acting,
    Form(f): Form<InviteForm>,
    session: actix_session::Session,
    person: SignedIn,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let (role, company_id) =
        crate::routes::people::check_invite_form(&f.email, &f.role, Some(&f.company_id))?;
    // Staff belong to no company: the page to go back to is the people page.
    let company_id = company_id.filter(|_| !role.is_platform());
    let back = back_to(company_id.as_deref());
    if let Some(r) = crate::routes::people::step_up_to_grant(&state, &session, &person, role, &back)
    {
        return Ok(r);
    }
    let result = state
        .run(move |conn, app| {
            let inv = mailed_links::invite(
                conn,
                &app.keys,
                &actor,
                &f.email,
                role,
                company_id.as_deref(),
                &app.settings.base_url,
            )?;
            let configured = mail_settings::sending_configured(conn, &app.settings)?;
            Ok(mail_settings::mail_flash(
                configured,
                &format!(
                    "Convite enviado para {}. O link vale por 72 horas.",
                    inv.email
                ),
                &format!(
                    "Convite criado para {}; o link vale por 72 horas.",
                    inv.email
                ),
            ))
        })
        .await;
    // Staff inviting staff is refused with the same 403 page as other owner-only actions.
    redirect_outcome(&state, &back, result)
}
