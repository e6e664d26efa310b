//! `/portal/omie`: the company's Omie credentials, through the page shared with the
//! dashboard (`routes::omie_pages`).

use actix_web::{HttpRequest, HttpResponse};

use super::company_id;
use crate::routes::auth::Empty;
use crate::routes::omie_pages::{self, CredentialsForm, Place};
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Form, Nav};

fn omie_place(who: &SignedIn) -> Place {
    Place {
        base: "/portal/omie".into(),
        back: "/portal".into(),
        company_id: company_id(who),
    }
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    omie_pages::show(
        &state,
        ctx.with_nav(Nav::Omie),
        who.actor(),
        omie_place(&who),
    )
    .await
}

pub async fn save(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<CredentialsForm>,
) -> Result<HttpResponse, PageError> {
    omie_pages::save(
        &state,
        ctx.with_nav(Nav::Omie),
        who.actor(),
        omie_place(&who),
        f,
    )
    .await
}

pub async fn reveal(
    _req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    _f: Form<Empty>,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    if let Some(r) = crate::routes::mfa_pages::step_up(&state, &session, &who, "/portal/omie") {
        return Ok(r);
    }
    let a = who.actor();
    omie_pages::reveal(&state, ctx.with_nav(Nav::Omie), a, omie_place(&who)).await
}

pub async fn test(state: State, who: SignedIn, _f: Form<Empty>) -> Result<HttpResponse, PageError> {
    omie_pages::test(&state, who.actor(), omie_place(&who)).await
}
