//! "Minha conta", in both areas (`/admin/profile`, `/portal/profile`): own data, change
//! password, own sessions, end the others.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::error::{AppError, FieldError};
use crate::services::mailed_links::{self, NewPassword};
use crate::services::profile::{self, Access};
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Nav, redirect_with, render, render_status};

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    ctx: Ctx,
    base: &'static str,
    name: String,
    email: String,
    role: &'static str,
    access: Access,
    errors: Vec<FieldError>,
    /// The person's LGPD requests, and what they may ask for.
    privacy: Vec<crate::routes::data_rights_pages::RequestView>,
    privacy_kinds: Vec<(&'static str, &'static str)>,
}

impl ProfilePage {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }
}

pub(crate) fn base_of(who: &SignedIn) -> &'static str {
    if who.principal.role.is_platform() {
        "/admin/profile"
    } else {
        "/portal/profile"
    }
}

async fn page(
    state: &State,
    ctx: Ctx,
    who: &SignedIn,
    errors: Vec<FieldError>,
) -> Result<ProfilePage, PageError> {
    let actor = who.actor();
    let session = who.session.clone();
    let (access, requests) = state
        .run(move |conn, _| {
            let access = profile::sessions(conn, &actor, &session)?;
            Ok((
                access,
                crate::services::data_rights::my_requests(conn, &actor)?,
            ))
        })
        .await?;
    let u = &who.principal.user;
    Ok(ProfilePage {
        ctx: ctx.with_nav(Nav::Profile),
        base: base_of(who),
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role.label(),
        access,
        errors,
        privacy: requests
            .iter()
            .map(crate::routes::data_rights_pages::RequestView::from)
            .collect(),
        privacy_kinds: crate::routes::data_rights_pages::kinds(),
    })
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    render(&page(&state, ctx, &who, vec![]).await?)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn change_password(
    _req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, session) = (who.actor(), who.session.clone());
    let result = state
        .blocking(move |app| {
            let np = NewPassword {
                password: &f.password,
                confirm: &f.password_confirm,
            };
            let (pool, keys, cost) = (&app.pool, &app.keys, app.settings.bcrypt_cost);
            let (current, base) = (&f.current_password, &app.settings.base_url);
            let keep = Some(session.as_str());
            mailed_links::change_password(pool, keys, &actor, keep, current, np, cost, base)
        })
        .await;
    match result {
        Err(AppError::Validation(errors)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&state, ctx, &who, errors).await?,
        ),
        r => {
            r?;
            let m =
                "Senha alterada. As outras sessões abertas com a senha antiga foram encerradas.";
            Ok(redirect_with(&state, base_of(&who), Flash::success(m)))
        }
    }
}

pub async fn end_others(
    _req: HttpRequest,
    state: State,
    who: SignedIn,
    _f: Form<crate::routes::auth::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let session = who.session.clone();
    let n = state
        .run(move |conn, app| profile::end_other_sessions(conn, &app.keys, &actor, &session))
        .await?;
    Ok(redirect_with(
        &state,
        base_of(&who),
        Flash::success(format!(
            "{n} outra(s) sessão(ões) encerrada(s). Só esta continua aberta."
        )),
    ))
}
