//! `/portal/users` (the company's people and open invitations) and
//! `POST /portal/invitations`; the actions on one person or invitation are shared with
//! the dashboard (`routes::people`).

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::company_id;
use crate::routes::admin::companies::InvitationRow;
use crate::services::users::ListFilter;
use crate::services::{mail_settings, mailed_links, users};
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Form, Nav, redirect_outcome, render};

struct PersonRow {
    id: String,
    name: String,
    email: String,
    role: String,
    role_label: &'static str,
    status: String,
    status_label: &'static str,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "portal/users.html")]
struct PeoplePage {
    ctx: Ctx,
    rows: Vec<PersonRow>,
    invitations: Vec<InvitationRow>,
}

pub async fn list(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let cid = company_id(&who);
    let me = who.principal.user.id.clone();
    let (rows, invitations) = state
        .run(move |conn, _| {
            let (rows, _) = users::list(conn, &actor, ListFilter::default(), 500)?;
            Ok((rows, mailed_links::list_open(conn, &actor, Some(&cid))?))
        })
        .await?;
    let row = |(u, _): (crate::services::users::User, Option<String>)| PersonRow {
        role_label: u.role.label(),
        status_label: crate::views::user_status_label(&u),
        is_me: u.id == me,
        id: u.id,
        name: u.name,
        email: u.email,
        role: u.role.as_str().to_string(),
        status: u.status.as_str().to_string(),
    };
    render(&PeoplePage {
        ctx: ctx.with_nav(Nav::People),
        rows: rows.into_iter().map(row).collect(),
        invitations: invitations.iter().map(InvitationRow::from).collect(),
    })
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    _req: HttpRequest,
    state: State,
    who: SignedIn,
    Form(f): Form<InviteForm>,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let (role, _) = crate::routes::people::check_invite_form(&f.email, &f.role, None)?;
    if role.is_platform() {
        return Err(PageError(crate::error::AppError::field(
            "role",
            "Escolha um papel da lista.",
        )));
    }
    if let Some(r) =
        crate::routes::people::step_up_to_grant(&state, &session, &who, role, "/portal/users")
    {
        return Ok(r);
    }
    let cid = company_id(&who);
    let result = state
        .run(move |conn, app| {
            let inv = mailed_links::invite(
                conn,
                &app.keys,
                &actor,
                &f.email,
                role,
                Some(&cid),
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
    redirect_outcome(&state, "/portal/users", result)
}
