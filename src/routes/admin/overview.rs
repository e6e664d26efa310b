use actix_web::HttpResponse;
use askama::Template;

use crate::db::{self, backups, companies, users};
use crate::error::PageError;
use crate::services::audit;
use crate::time;
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
    /// How long ago the newest good backup finished, and whether that is too long.
    last_backup: Option<(String, bool)>,
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.principal.actor("");
    let (counts, users, recent, last) = db::run(&state.pool, move |conn| {
        let counts = companies::count_by_status(conn)?;
        let users = users::count(conn)?;
        let (recent, _) = audit::list(conn, &actor, Default::default(), 10)?;
        let last = backups::last_good(conn)?;
        Ok((counts, users, recent, last))
    })
    .await?;
    let last_backup = last.map(|b| {
        let at = b.finished_at.unwrap_or(b.started_at);
        let old = time::parse_db(&at).is_none_or(|t| {
            time::now() - t > chrono::Duration::hours(crate::services::alerts::STALE_AFTER_HOURS)
        });
        (time::ago_br(&at), old)
    });
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
        last_backup,
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
