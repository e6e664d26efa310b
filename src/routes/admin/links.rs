//! "Copiar link" while mail cannot leave: an invitation's link (owner and staff) and a
//! password reset link (the owner only, never a company admin). The POST makes the link
//! and redirects; the GET shows it once (post/redirect/get, the link held in this
//! process's memory only, as an application's new secret is).

use actix_web::{HttpResponse, web};
use askama::Template;

use super::applications::once;
use crate::error::AppError;
use crate::services::mailed_links;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Nav, redirect, redirect_outcome, redirect_with, render};

#[derive(Template)]
#[template(path = "admin/copied_link.html")]
struct LinkPage {
    ctx: Ctx,
    title: &'static str,
    intro: String,
    power: &'static str,
    who: String,
    expires: String,
    link: String,
    back: String,
}

/// What is held for the GET: the link and the words around it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Held {
    link: String,
    email: String,
    expires: String,
    back: String,
}

fn hold(session: &actix_session::Session, key: &str, held: &Held) -> Result<(), PageError> {
    let value = serde_json::to_string(held)
        .map_err(|e| PageError(AppError::Internal(anyhow::Error::new(e))))?;
    let token = once::hold(key, value);
    session
        .insert(once::KEY, token)
        .map_err(|e| PageError(AppError::Internal(anyhow::anyhow!("session: {e}"))))
}

fn take(session: &actix_session::Session, key: &str) -> Option<Held> {
    let token = session
        .remove_as::<String>(once::KEY)
        .and_then(Result::ok)?;
    serde_json::from_str(&once::take(&token, key)?).ok()
}

fn no_store(mut r: HttpResponse) -> HttpResponse {
    r.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    r
}

fn back_for(company_id: Option<&str>) -> String {
    match company_id {
        Some(c) => format!("/admin/companies/{c}"),
        None => "/admin/users".to_string(),
    }
}

/// One kind of copied link: where it is held and shown, and the words around it.
struct Kind {
    /// Prefix of the key it is held under (with the item's id).
    key: &'static str,
    title: &'static str,
    intro: fn(&str) -> String,
    power: &'static str,
    /// What a second look at the page says.
    gone: &'static str,
    /// The GET that shows it, for the item's id.
    shown_at: fn(&str) -> String,
}

const INVITATION: Kind = Kind {
    key: "invitation",
    title: "Link do convite",
    intro: invitation_intro,
    power: "pode criar a conta convidada",
    gone: "Este link já foi mostrado e não aparece de novo. Se ele não foi guardado, use \"Copiar link\" outra vez (o anterior deixa de valer).",
    shown_at: invitation_page,
};

const RESET: Kind = Kind {
    key: "reset",
    title: "Link de troca de senha",
    intro: reset_intro,
    power: "pode trocar a senha e entrar na conta",
    gone: "Este link já foi mostrado e não aparece de novo. Se ele não foi guardado, copie outro.",
    shown_at: reset_page,
};

fn invitation_intro(email: &str) -> String {
    format!("Convite para {email}.")
}

fn reset_intro(email: &str) -> String {
    format!("Link para {email} escolher uma nova senha.")
}

fn invitation_page(id: &str) -> String {
    format!("/admin/invitations/{id}/link")
}

fn reset_page(id: &str) -> String {
    format!("/admin/users/{id}/reset-link")
}

/// Holds a new link for its one showing and sends the browser there.
fn hold_and_show(
    session: &actix_session::Session,
    kind: &Kind,
    id: &str,
    held: &Held,
) -> Result<HttpResponse, PageError> {
    hold(session, &format!("{}:{id}", kind.key), held)?;
    Ok(redirect(&(kind.shown_at)(id)))
}

/// Shows a held link once; a second look says it is gone and what to do.
fn show_once(
    state: &State,
    ctx: Ctx,
    session: &actix_session::Session,
    kind: &Kind,
    id: &str,
) -> Result<HttpResponse, PageError> {
    let Some(h) = take(session, &format!("{}:{id}", kind.key)) else {
        return Ok(redirect_with(
            state,
            "/admin/users",
            Flash::error(kind.gone),
        ));
    };
    Ok(no_store(render(&LinkPage {
        ctx: ctx.with_nav(Nav::Users),
        title: kind.title,
        intro: (kind.intro)(&h.email),
        power: kind.power,
        who: h.email,
        expires: h.expires,
        link: h.link,
        back: h.back,
    })?))
}

pub async fn copy_invitation(
    state: State,
    who: SignedIn,
    id: web::Path<String>,
    session: actix_session::Session,
    _form: Form<super::backups::Empty>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let r = state
        .run(move |conn, app| {
            mailed_links::copy_invitation_link(conn, &app.keys, &app.settings, &actor, &id)
        })
        .await;
    match r {
        Ok((inv, link)) => hold_and_show(
            &session,
            &INVITATION,
            &inv.id,
            &Held {
                link,
                email: inv.email.clone(),
                expires: crate::time::db_to_br(&inv.expires_at),
                back: back_for(inv.company_id.as_deref()),
            },
        ),
        Err(e) => redirect_outcome(&state, "/admin/users", Err(e)),
    }
}

pub async fn show_invitation(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    id: web::Path<String>,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    let _ = who;
    show_once(&state, ctx, &session, &INVITATION, &id)
}

pub async fn copy_reset(
    state: State,
    who: SignedIn,
    id: web::Path<String>,
    session: actix_session::Session,
    _form: Form<super::backups::Empty>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let r = state
        .run(move |conn, app| {
            mailed_links::copy_reset_link(conn, &app.keys, &app.settings, &actor, &id)
        })
        .await;
    match r {
        Ok((u, link, expires)) => hold_and_show(
            &session,
            &RESET,
            &u.id,
            &Held {
                link,
                email: u.email.clone(),
                expires: crate::time::db_to_br(&expires),
                back: "/admin/users".into(),
            },
        ),
        Err(e) => redirect_outcome(&state, "/admin/users", Err(e)),
    }
}

pub async fn show_reset(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    id: web::Path<String>,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    mailed_links::may_copy_reset_link(&who.actor())?;
    show_once(&state, ctx, &session, &RESET, &id)
}
