//! `/admin/applications`: create (secret shown once), rotate and revoke secrets, link to
//! companies with scopes, unlink, revoke.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::cnpj_format;
use crate::error::AppError;
use crate::routes::auth::Empty;
use crate::services::applications as uc;
use crate::services::applications::{Application, LinkRow};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, FormPairs, Nav, redirect_outcome, redirect_with, render};

pub struct AppRow {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub status: String,
    pub last_used: String,
}

impl From<&Application> for AppRow {
    fn from(a: &Application) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            client_id: a.client_id.clone(),
            status: a.status.as_str().to_string(),
            last_used: a
                .last_used_at
                .as_deref()
                .map(time::db_to_br)
                .unwrap_or_else(|| "nunca".into()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/applications.html")]
struct ListPage {
    ctx: Ctx,
    rows: Vec<AppRow>,
}

pub async fn list(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let apps = state.run(move |conn, _| uc::list(conn, &actor)).await?;
    render(&ListPage {
        ctx: ctx.with_nav(Nav::Applications),
        rows: apps.iter().map(AppRow::from).collect(),
    })
}

/// The one time a client secret is shown.
#[derive(Template)]
#[template(path = "admin/application_secret.html")]
struct SecretPage {
    ctx: Ctx,
    app: AppRow,
    secret: String,
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    _req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<CreateForm>,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    // A new application's secret is shown once, like a rotated one; linked with
    // `omie_credentials:read` it reads the Omie secrets that revealing guards: the same
    // fresh identity is asked.
    if let Some(r) =
        crate::routes::mfa_pages::step_up(&state, &session, &who, "/admin/applications")
    {
        return Ok(r);
    }
    let actor = who.actor();
    match state
        .run(move |conn, app| uc::create(conn, &app.keys, &actor, &f.name, &f.description))
        .await
    {
        Ok((app, secret)) => render(&SecretPage {
            ctx: ctx.with_nav(Nav::Applications),
            app: AppRow::from(&app),
            secret,
        }),
        Err(AppError::Validation(e)) => Ok(redirect_with(
            &state,
            "/admin/applications",
            Flash::error(e.first().map(|e| e.message.clone()).unwrap_or_default()),
        )),
        Err(e) => Err(e.into()),
    }
}

struct SecretRow {
    id: String,
    hint: String,
    created: String,
    last_used: String,
    revoked: bool,
}

struct LinkView {
    company_id: String,
    company: String,
    cnpj: String,
    scopes: String,
    last_read: String,
}

impl From<LinkRow> for LinkView {
    fn from(l: LinkRow) -> Self {
        Self {
            company_id: l.other_id,
            company: l.other_name,
            cnpj: cnpj_format(&l.other_code),
            scopes: l.scopes,
            last_read: l
                .last_credentials_read_at
                .as_deref()
                .map(time::db_to_br)
                .unwrap_or_else(|| "nunca".into()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/application.html")]
struct ShowPage {
    ctx: Ctx,
    app: AppRow,
    description: String,
    secrets: Vec<SecretRow>,
    links: Vec<LinkView>,
    scopes: &'static [&'static str],
}

impl SecretRow {
    fn new((id, hint, created, used, revoked): crate::services::applications::SecretRow) -> Self {
        Self {
            id,
            hint,
            created: time::db_to_br(&created),
            last_used: used
                .as_deref()
                .map(time::db_to_br)
                .unwrap_or_else(|| "nunca".into()),
            revoked: revoked.is_some(),
        }
    }
}

pub async fn show(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let id = id.into_inner();
    let (app, secrets, links) = state
        .run(move |conn, _| {
            Ok((
                uc::get(conn, &actor, &id)?,
                uc::secrets(conn, &actor, &id)?,
                uc::links_of_app(conn, &actor, &id)?,
            ))
        })
        .await?;
    render(&ShowPage {
        ctx: ctx.with_nav(Nav::Applications),
        description: app.description.clone(),
        app: AppRow::from(&app),
        secrets: secrets.into_iter().map(SecretRow::new).collect(),
        links: links.into_iter().map(LinkView::from).collect(),
        scopes: uc::SCOPES,
    })
}

fn back(id: &str) -> String {
    format!("/admin/applications/{id}")
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn edit(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<EditForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let r = state
        .run(move |conn, app| {
            uc::update(
                conn,
                &app.keys,
                &actor,
                &id,
                Some(&f.name),
                Some(&f.description),
            )
        })
        .await;
    redirect_outcome(&state, &back, r.map(|_| "Aplicação alterada.".into()))
}

/// The new secret is shown once, on a page of its own.
pub async fn rotate(
    state: State,
    ctx: Ctx,
    who: Acting,
    id: web::Path<String>,
    _f: Form<Empty>,
    session: actix_session::Session,
    person: SignedIn,
) -> Result<HttpResponse, PageError> {
    let back = format!("/admin/applications/{}", id.as_str());
    if let Some(r) = crate::routes::mfa_pages::step_up(&state, &session, &person, &back) {
        return Ok(r);
    }
    let (actor, id) = (who.actor(), id.into_inner());
    let (app, secret) = state
        .run(move |conn, app| uc::rotate_secret(conn, &app.keys, &actor, &id))
        .await?;
    render(&SecretPage {
        ctx: ctx.with_nav(Nav::Applications),
        app: AppRow::from(&app),
        secret,
    })
}

/// Which secret or company an action is about.
#[derive(Deserialize)]
pub struct TargetForm {
    #[serde(default)]
    target: String,
}

pub async fn revoke_secret(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<TargetForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let r = state
        .run(move |conn, app| uc::revoke_secret(conn, &app.keys, &actor, &id, &f.target))
        .await;
    let m = "Segredo revogado: os tokens emitidos com ele pararam de funcionar.";
    redirect_outcome(&state, &back, r.map(|_| m.into()))
}

pub async fn revoke(
    state: State,
    who: Acting,
    id: web::Path<String>,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let r = state
        .run(move |conn, app| uc::revoke(conn, &app.keys, &actor, &id))
        .await;
    let m = "Aplicação revogada: nenhum token dela funciona mais.";
    redirect_outcome(&state, &back, r.map(|_| m.into()))
}

pub async fn link(
    state: State,
    who: Acting,
    id: web::Path<String>,
    FormPairs(f): FormPairs,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let (cnpj, scopes) = (f.first("cnpj").to_string(), f.all("scopes"));
    let r = state
        .run(move |conn, app| uc::link_by_cnpj(conn, &app.keys, &actor, &cnpj, &id, &scopes))
        .await;
    redirect_outcome(
        &state,
        &back,
        r.map(|c| format!("Aplicação ligada à empresa {}.", c.formatted())),
    )
}

pub async fn unlink(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<TargetForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let r = state
        .run(move |conn, app| uc::unlink(conn, &app.keys, &actor, &f.target, &id))
        .await;
    let m = "Ligação removida: a aplicação não acessa mais esta empresa.";
    redirect_outcome(&state, &back, r.map(|_| m.into()))
}
