//! `/portal/history`: the company's own audit trail.

use actix_web::HttpResponse;
use askama::Template;

use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Nav, render};

#[derive(Template)]
#[template(path = "portal/history.html")]
struct HistoryPage {
    ctx: Ctx,
    rows: Vec<crate::services::history::Line>,
}

/// The company's own history, including every credential read by an application.
pub async fn page(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let a = who.actor();
    let (rows, _) = state
        .run(move |conn, _| crate::services::history::page(conn, &a, Default::default(), 200))
        .await?;
    render(&HistoryPage {
        ctx: ctx.with_nav(Nav::History),
        rows,
    })
}
