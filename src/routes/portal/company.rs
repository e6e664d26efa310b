//! `/portal` (the company's data) and `POST /portal/company` (its contact fields,
//! which a company admin may change).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{company_id, is_admin};
use crate::error::{AppError, FieldError};
use crate::services::companies;
use crate::views::CompanyView;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Nav, redirect_with, render, render_status};

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home {
    ctx: Ctx,
    c: CompanyView,
    is_admin: bool,
    errors: Vec<FieldError>,
    form: ContactForm,
}

impl Home {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct ContactForm {
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
}

async fn home_page(
    state: &State,
    ctx: Ctx,
    who: &SignedIn,
    form: Option<ContactForm>,
    errors: Vec<FieldError>,
) -> Result<Home, PageError> {
    let actor = who.actor();
    let cid = company_id(who);
    let c = state
        .run(move |conn, _| companies::get(conn, &actor, &cid))
        .await?;
    let view = CompanyView::from(&c);
    let form = form.unwrap_or(ContactForm {
        contact_name: view.contact_name.clone(),
        email: view.email.clone(),
        phone: view.phone.clone(),
    });
    Ok(Home {
        ctx: ctx.with_nav(Nav::Company),
        c: view,
        is_admin: is_admin(who),
        errors,
        form,
    })
}

pub async fn home(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    render(&home_page(&state, ctx, &who, None, vec![]).await?)
}

pub async fn update(
    _req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<ContactForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, cid, input) = (who.actor(), company_id(&who), f.input());
    match state
        .run(move |conn, app| companies::update(conn, &app.keys, &actor, &cid, &input))
        .await
    {
        // The home page again needs the company: an async render, not a closure.
        Err(AppError::Validation(errors)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &home_page(&state, ctx, &who, Some(f), errors).await?,
        ),
        r => {
            r?;
            let m = Flash::success("Dados de contato salvos.");
            Ok(redirect_with(&state, "/portal", m))
        }
    }
}

impl ContactForm {
    /// The contact fields only: the rest of the company stays as it is.
    fn input(&self) -> companies::CompanyInput {
        companies::CompanyInput {
            contact_name: Some(self.contact_name.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            ..Default::default()
        }
    }
}
