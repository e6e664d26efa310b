//! **Minha conta → Notificações** (`/admin/profile/notifications`): which e-mails the
//! owner or staff member gets, per category, and when (`services::notify`).

use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use crate::domain::notify::{Category, Choice, Prefs};
use crate::services::notify;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Nav, redirect_with, render};

/// One category as the page shows it.
struct Row {
    key: &'static str,
    label: &'static str,
    explanation: &'static str,
    chosen: &'static str,
}

#[derive(Template)]
#[template(path = "profile_notifications.html")]
struct NotificationsPage {
    ctx: Ctx,
    rows: Vec<Row>,
    choices: Vec<(&'static str, &'static str)>,
    digest_time: String,
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let p: Prefs = state
        .run(move |conn, _| notify::prefs(conn, &actor))
        .await?;
    let rows = Category::ALL
        .into_iter()
        .map(|c| Row {
            key: c.as_str(),
            label: c.label(),
            explanation: c.explanation(),
            chosen: p.get(c).as_str(),
        })
        .collect();
    render(&NotificationsPage {
        ctx: ctx.with_nav(Nav::Profile),
        rows,
        choices: Choice::ALL
            .iter()
            .map(|c| (c.as_str(), c.label()))
            .collect(),
        digest_time: state.settings.digest_time.clone(),
    })
}

#[derive(Deserialize)]
pub struct ChoicesForm {
    #[serde(default)]
    security: String,
    #[serde(default)]
    approvals: String,
    #[serde(default)]
    changes: String,
    #[serde(default)]
    system: String,
}

pub async fn save(
    state: State,
    who: SignedIn,
    Form(f): Form<ChoicesForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let changes: Vec<(String, String)> = [
        ("security", f.security),
        ("approvals", f.approvals),
        ("changes", f.changes),
        ("system", f.system),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    state
        .run(move |conn, app| notify::update(conn, &app.keys, &actor, &changes))
        .await?;
    Ok(redirect_with(
        &state,
        notify::PAGE,
        Flash::success("Preferências de notificação salvas."),
    ))
}
