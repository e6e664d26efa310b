use actix_web::HttpResponse;
use askama::Template;

use crate::services::overview;
use crate::time;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Form, Nav, redirect_outcome, render};

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct Overview {
    ctx: Ctx,
    active: i64,
    suspended: i64,
    archived: i64,
    users: i64,
    recent: Vec<crate::services::history::Line>,
    /// How long ago the newest good backup finished, and whether that is too long.
    last_backup: Option<(String, bool)>,
    copy_failing: bool,
    running: bool,
    attention: Vec<overview::Attention>,
    /// The first-steps checklist, for the owner until hidden.
    steps: Option<Vec<overview::Step>>,
    /// Monthly recurring revenue of active companies, and its trend.
    mrr: crate::services::companies::Mrr,
    /// Saúde do sistema's worst status and how many checks are not fine.
    health: (crate::services::health::Status, usize),
}

impl Overview {
    fn steps_done(&self) -> usize {
        self.steps
            .as_ref()
            .map_or(0, |s| s.iter().filter(|s| s.done).count())
    }

    fn all_done(&self) -> bool {
        self.steps
            .as_ref()
            .is_some_and(|s| s.iter().all(|s| s.done))
    }
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let (o, recent, attention, steps, mrr, health) = state
        .run(move |conn, app| {
            let o = overview::overview(conn, &actor, &app.settings)?;
            let recent = crate::services::history::lines(conn, &actor, &o.recent)?;
            let h = crate::services::health::report(conn, app, &actor)?;
            Ok((
                o,
                recent,
                overview::attention(conn, &actor, &app.settings)?,
                overview::checklist(conn, &actor, &app.settings)?,
                crate::services::companies::mrr(conn, &actor)?,
                (h.status, h.problems()),
            ))
        })
        .await?;
    render(&Overview {
        ctx: ctx.with_nav(Nav::Overview),
        active: o.active,
        suspended: o.suspended,
        archived: o.archived,
        users: o.users,
        recent,
        last_backup: o.last_backup.map(|(at, stale)| (time::ago_br(&at), stale)),
        copy_failing: o.copy_failing,
        running: o.running,
        attention,
        steps,
        mrr,
        health,
    })
}

/// "Ocultar esta lista" once every first step is done.
pub async fn hide_checklist(
    state: State,
    who: SignedIn,
    _form: Form<super::backups::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let r = state
        .run(move |conn, app| overview::hide_checklist(conn, &app.keys, &app.settings, &actor))
        .await
        .map(|()| "Lista de primeiros passos ocultada.".to_string());
    redirect_outcome(&state, "/admin", r)
}

pub async fn usage(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    q: actix_web::web::Query<crate::routes::usage_pages::UsageQuery>,
) -> Result<HttpResponse, PageError> {
    crate::routes::usage_pages::page(&state, ctx, who.actor(), "/admin/usage", q.into_inner()).await
}

pub async fn usage_csv(
    state: State,
    who: SignedIn,
    q: actix_web::web::Query<crate::routes::usage_pages::UsageQuery>,
) -> Result<HttpResponse, PageError> {
    crate::routes::usage_pages::csv(&state, who.actor(), q.into_inner()).await
}
