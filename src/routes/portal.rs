//! The client portal, `/portal`, for company users. The scope is wrapped by the
//! company-user guard; every page is scoped to the signed-in person's company.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db;
use crate::error::PageError;
use crate::services::companies;
use crate::views::CompanyView;
use crate::web::State;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, render};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(home))
        .route("/", web::get().to(home));
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home {
    ctx: Ctx,
    c: CompanyView,
    is_admin: bool,
}

pub async fn home(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.principal.actor("");
    let company_id = who.principal.user.company_id.clone().unwrap_or_default();
    let c = db::run(&state.pool, move |conn| {
        companies::get(conn, &actor, &company_id)
    })
    .await?;
    render(&Home {
        ctx: ctx.with_nav("portal"),
        c: CompanyView::from(&c),
        is_admin: who.principal.role == crate::domain::Role::CompanyAdmin,
    })
}
