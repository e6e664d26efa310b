//! Ending sessions and API tokens one by one: one's own on "Minha conta"
//! (`/admin/profile`, `/portal/profile`), and a person's from their page in the dashboard
//! (`/admin/users/{id}/sessions`: the owner for anyone, staff for company people).

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::routes::auth::Empty;
use crate::routes::profile::base_of;
use crate::services::sessions::{self, Access, Ended};
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Nav, redirect_with, render};

fn said(ended: &Ended) -> &'static str {
    match ended {
        Ended::Session { .. } => "Sessão encerrada.",
        Ended::Token => "Chave de acesso da API encerrada.",
        Ended::Nothing => "Essa sessão já estava encerrada.",
    }
}

/// `POST {profile}/sessions/{session}/end`: ends one of one's own sessions or tokens.
pub async fn end_own(
    state: State,
    who: SignedIn,
    session: Session,
    handle: web::Path<String>,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (actor, current, id) = (
        who.actor(),
        who.session.clone(),
        who.principal.user.id.clone(),
    );
    let handle = handle.into_inner();
    let ended = state
        .run(move |conn, app| {
            sessions::end_one(conn, &app.keys, &actor, &id, &handle, Some(&current))
        })
        .await?;
    if ended == (Ended::Session { current: true }) {
        // The row is gone; the middleware removes the cookie too.
        session.purge();
        let m = Flash::success("Você encerrou esta sessão. Entre de novo para continuar.");
        return Ok(redirect_with(&state, "/login", m));
    }
    let to = format!("{}#sessoes", base_of(&who));
    Ok(redirect_with(&state, &to, Flash::success(said(&ended))))
}

#[derive(Template)]
#[template(path = "admin/user_sessions.html")]
struct UserSessionsPage {
    ctx: Ctx,
    base: String,
    name: String,
    email: String,
    role: &'static str,
    access: Access,
    /// The button to anonymize the person (not oneself; platform accounts: owner only).
    may_anonymize: bool,
}

/// `GET /admin/users/{id}/sessions`: a person's sessions and API tokens.
pub async fn person(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (actor, current, id) = (who.actor(), who.session.clone(), id.into_inner());
    let me = who.actor();
    let (u, access) = state
        .run(move |conn, _| sessions::list(conn, &actor, &id, Some(&current)))
        .await?;
    let may_anonymize = !me.is_user(&u.id) && (ctx.is_owner || !u.role.is_platform());
    render(&UserSessionsPage {
        may_anonymize,
        ctx: ctx.with_nav(Nav::Users),
        base: format!("/admin/users/{}", u.id),
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role.label(),
        access,
    })
}

/// `POST /admin/users/{id}/sessions/{session}/end`: ends one of a person's sessions or
/// tokens.
pub async fn end_persons(
    state: State,
    who: SignedIn,
    session: Session,
    path: web::Path<(String, String)>,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (actor, current) = (who.actor(), who.session.clone());
    let (id, handle) = path.into_inner();
    let user = id.clone();
    let ended = state
        .run(move |conn, app| {
            sessions::end_one(conn, &app.keys, &actor, &user, &handle, Some(&current))
        })
        .await?;
    if ended == (Ended::Session { current: true }) {
        session.purge();
        return Ok(redirect_with(
            &state,
            "/login",
            Flash::success(said(&ended)),
        ));
    }
    let to = format!("/admin/users/{id}/sessions");
    Ok(redirect_with(&state, &to, Flash::success(said(&ended))))
}

/// `POST /admin/users/{id}/sessions/end-all`: signs a person out everywhere.
pub async fn end_all_persons(
    state: State,
    who: SignedIn,
    id: web::Path<String>,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let user = id.clone();
    let (n, t) = state
        .run(move |conn, app| sessions::end_all(conn, &app.keys, &actor, &user))
        .await?;
    let m = format!("{n} sessão(ões) e {t} chave(s) de acesso da API encerrada(s).");
    Ok(redirect_with(
        &state,
        &format!("/admin/users/{id}/sessions"),
        Flash::success(m),
    ))
}
