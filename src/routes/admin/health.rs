//! `/admin/saude`: Saúde do sistema, one card per check, refreshed every 30 seconds.

use actix_web::HttpResponse;
use askama::Template;

use crate::services::health::{self, Check, Status};
use crate::time;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Nav, render};

#[derive(Template)]
#[template(path = "admin/health.html")]
struct Page {
    ctx: Ctx,
    status: Status,
    problems: usize,
    checks: Vec<Check>,
    now: String,
}

impl Page {
    fn when(&self, c: &Check) -> String {
        time::db_to_br(&c.checked_at)
    }
}

/// The CSS class of a status (the page always writes the word too).
pub fn class(s: &Status) -> &'static str {
    match s {
        Status::Ok => "health-ok",
        Status::Warning => "health-warning",
        Status::Critical => "health-critical",
    }
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let report = state
        .run(move |conn, app| health::report(conn, app, &actor))
        .await?;
    render(&Page {
        ctx: ctx.with_nav(Nav::Health),
        status: report.status,
        problems: report.problems(),
        checks: report.checks,
        now: time::db_to_br(&time::now_db()),
    })
}
