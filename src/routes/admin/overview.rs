use actix_web::HttpResponse;
use askama::Template;

use crate::db::{self, companies, users};
use crate::error::PageError;
use crate::services::audit;
use crate::views::AuditView;
use crate::web::State;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, render};

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct Overview {
    ctx: Ctx,
    active: i64,
    suspended: i64,
    archived: i64,
    users: i64,
    recent: Vec<AuditView>,
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.principal.actor("");
    let (counts, users, recent) = db::run(&state.pool, move |conn| {
        let counts = companies::count_by_status(conn)?;
        let users = users::count(conn)?;
        let (recent, _) = audit::list(conn, &actor, Default::default(), 10)?;
        Ok((counts, users, recent))
    })
    .await?;
    let count = |s: &str| {
        counts
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    render(&Overview {
        ctx: ctx.with_nav("overview"),
        active: count("active"),
        suspended: count("suspended"),
        archived: count("archived"),
        users,
        recent: recent.iter().map(AuditView::from).collect(),
    })
}

pub async fn usage(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    q: actix_web::web::Query<crate::routes::usage_pages::UsageQuery>,
) -> Result<HttpResponse, PageError> {
    crate::routes::usage_pages::page(
        &state,
        ctx,
        who.principal.actor(""),
        "/admin/usage",
        q.into_inner(),
    )
    .await
}

pub async fn usage_csv(
    state: State,
    who: SignedIn,
    q: actix_web::web::Query<crate::routes::usage_pages::UsageQuery>,
) -> Result<HttpResponse, PageError> {
    crate::routes::usage_pages::csv(&state, who.principal.actor(""), q.into_inner()).await
}
