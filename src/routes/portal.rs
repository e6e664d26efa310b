//! The client portal, `/portal`, for company users. The scope is wrapped by the
//! company-user guard; the company always comes from the signed-in person, never from
//! the URL, and the use cases decide what each role may do (DESIGN.md §5).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::users::ListFilter;
use crate::domain::Role;
use crate::error::{AppError, FieldError};
use crate::routes::admin::companies::InvitationRow;
use crate::routes::omie_pages::{self, CredentialsForm, Place};
use crate::routes::people::{self, Portal};
use crate::routes::{auth::Empty, profile};
use crate::services::{Actor, companies, mailed_links, users};
use crate::views::CompanyView;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{
    Ctx, Flash, Form, Nav, redirect_outcome, redirect_with, render, render_status,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::routes::table::register(cfg, |r| {
        r.get("", home)
            .get("/", home)
            .post("/company", update_company)
            .get("/users", people)
            .post("/users/{id}/approve", people::approve::<Portal>)
            .post("/users/{id}/disable", people::disable::<Portal>)
            .post("/users/{id}/enable", people::enable::<Portal>)
            .post("/users/{id}/role", people::change_role::<Portal>)
            .post("/users/{id}/send-reset", people::send_reset::<Portal>)
            .post("/invitations", invite)
            .post(
                "/invitations/{id}/resend",
                people::resend_invitation::<Portal>,
            )
            .post(
                "/invitations/{id}/revoke",
                people::revoke_invitation::<Portal>,
            )
            .get("/omie", omie)
            .post("/omie", omie_save)
            .post("/omie/reveal", omie_reveal)
            .post("/omie/test", omie_test)
            .get("/applications", applications)
            .get("/usage", usage)
            .get("/history", history)
            .get("/usage.csv", usage_csv)
            .post("/applications/{app_id}/unlink", unlink_application)
            .get("/profile", profile::show)
            .post("/profile/password", profile::change_password)
            .post("/profile/sessions/end-others", profile::end_others);
    });
}

fn company_id(who: &SignedIn) -> String {
    who.principal.user.company_id.clone().unwrap_or_default()
}

fn is_admin(who: &SignedIn) -> bool {
    who.principal.role == Role::CompanyAdmin
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home {
    ctx: Ctx,
    c: CompanyView,
    is_admin: bool,
    errors: Vec<FieldError>,
    form: ContactForm,
}

impl Home {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct ContactForm {
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
}

async fn home_page(
    state: &State,
    ctx: Ctx,
    who: &SignedIn,
    form: Option<ContactForm>,
    errors: Vec<FieldError>,
) -> Result<Home, PageError> {
    let actor = who.actor();
    let cid = company_id(who);
    let c = state
        .run(move |conn, _| companies::get(conn, &actor, &cid))
        .await?;
    let view = CompanyView::from(&c);
    let form = form.unwrap_or(ContactForm {
        contact_name: view.contact_name.clone(),
        email: view.email.clone(),
        phone: view.phone.clone(),
    });
    Ok(Home {
        ctx: ctx.with_nav(Nav::Company),
        c: view,
        is_admin: is_admin(who),
        errors,
        form,
    })
}

pub async fn home(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    render(&home_page(&state, ctx, &who, None, vec![]).await?)
}

pub async fn update_company(
    _req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<ContactForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let cid = company_id(&who);
    let input = companies::CompanyInput {
        contact_name: Some(f.contact_name.clone()),
        email: Some(f.email.clone()),
        phone: Some(f.phone.clone()),
        ..Default::default()
    };
    match state
        .run(move |conn, app| companies::update(conn, &app.keys, &actor, &cid, &input))
        .await
    {
        Ok(_) => Ok(redirect_with(
            &state,
            "/portal",
            Flash::success("Dados de contato salvos."),
        )),
        Err(AppError::Validation(errors)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &home_page(&state, ctx, &who, Some(f), errors).await?,
        ),
        Err(AppError::Forbidden) => Err(PageError(AppError::Forbidden)),
        Err(e) => Err(e.into()),
    }
}

struct PersonRow {
    id: String,
    name: String,
    email: String,
    role: String,
    role_label: &'static str,
    status: String,
    status_label: &'static str,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "portal/users.html")]
struct PeoplePage {
    ctx: Ctx,
    rows: Vec<PersonRow>,
    invitations: Vec<InvitationRow>,
}

pub async fn people(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let cid = company_id(&who);
    let me = who.principal.user.id.clone();
    let (rows, invitations) = state
        .run(move |conn, _| {
            let (rows, _) = users::list(conn, &actor, ListFilter::default(), 500)?;
            Ok((rows, mailed_links::list_open(conn, &actor, Some(&cid))?))
        })
        .await?;
    let row = |(u, _): (crate::db::users::User, Option<String>)| PersonRow {
        role_label: crate::views::role_label(&u.role),
        status_label: crate::views::user_status_label(&u),
        is_me: u.id == me,
        id: u.id,
        name: u.name,
        email: u.email,
        role: u.role,
        status: u.status,
    };
    render(&PeoplePage {
        ctx: ctx.with_nav(Nav::People),
        rows: rows.into_iter().map(row).collect(),
        invitations: invitations.iter().map(InvitationRow::from).collect(),
    })
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    _req: HttpRequest,
    state: State,
    who: SignedIn,
    Form(f): Form<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let role = Role::parse(&f.role)
        .filter(|r| !r.is_platform())
        .unwrap_or(Role::CompanyUser);
    let cid = company_id(&who);
    let result = state
        .run(move |conn, app| {
            let inv = mailed_links::invite(
                conn,
                &app.keys,
                &actor,
                &f.email,
                role,
                Some(&cid),
                &app.settings.base_url,
            )?;
            Ok(format!(
                "Convite enviado para {}. O link vale por 72 horas.",
                inv.email
            ))
        })
        .await;
    redirect_outcome(&state, "/portal/users", result)
}

fn omie_place(who: &SignedIn) -> Place {
    Place {
        base: "/portal/omie".into(),
        back: "/portal".into(),
        company_id: company_id(who),
    }
}

fn actor(who: &SignedIn) -> Actor {
    who.actor()
}

pub async fn omie(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    omie_pages::show(
        &state,
        ctx.with_nav(Nav::Omie),
        actor(&who),
        omie_place(&who),
    )
    .await
}

pub async fn omie_save(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<CredentialsForm>,
) -> Result<HttpResponse, PageError> {
    omie_pages::save(
        &req,
        &state,
        ctx.with_nav(Nav::Omie),
        actor(&who),
        omie_place(&who),
        f,
    )
    .await
}

pub async fn omie_reveal(
    _req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let a = who.actor();
    omie_pages::reveal(&state, ctx.with_nav(Nav::Omie), a, omie_place(&who)).await
}

pub async fn omie_test(
    req: HttpRequest,
    state: State,
    who: SignedIn,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    omie_pages::test(&req, &state, actor(&who), omie_place(&who)).await
}

struct PortalLink {
    app_id: String,
    name: String,
    client_id: String,
    scopes: String,
    last_read: String,
}

#[derive(Template)]
#[template(path = "portal/applications.html")]
struct AppsPage {
    ctx: Ctx,
    links: Vec<PortalLink>,
}

/// Which applications reach the company, with which scopes, and when each last read the
/// Omie credentials; the company admin may cut a link.
pub async fn applications(
    state: State,
    ctx: Ctx,
    who: SignedIn,
) -> Result<HttpResponse, PageError> {
    let (a, cid) = (actor(&who), company_id(&who));
    let links = state
        .run(move |conn, _| crate::services::applications::links_of_company(conn, &a, &cid))
        .await?;
    let links = links
        .into_iter()
        .map(|l| PortalLink {
            app_id: l.other_id,
            name: l.other_name,
            client_id: l.other_code,
            scopes: l.scopes,
            last_read: l
                .last_credentials_read_at
                .as_deref()
                .map(crate::time::db_to_br)
                .unwrap_or_else(|| "nunca".into()),
        })
        .collect();
    render(&AppsPage {
        ctx: ctx.with_nav(Nav::Applications),
        links,
    })
}

pub async fn unlink_application(
    _req: HttpRequest,
    state: State,
    who: SignedIn,
    app_id: web::Path<String>,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let a = who.actor();
    let (cid, aid) = (company_id(&who), app_id.into_inner());
    let result = state
        .run(move |conn, app| {
            crate::services::applications::unlink(conn, &app.keys, &a, &cid, &aid)?;
            Ok("Acesso da aplicação revogado: ela não acessa mais esta empresa.".to_string())
        })
        .await;
    redirect_outcome(&state, "/portal/applications", result)
}

pub async fn usage(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    q: web::Query<crate::routes::usage_pages::UsageQuery>,
) -> Result<HttpResponse, PageError> {
    crate::routes::usage_pages::page(&state, ctx, actor(&who), "/portal/usage", q.into_inner())
        .await
}

pub async fn usage_csv(
    state: State,
    who: SignedIn,
    q: web::Query<crate::routes::usage_pages::UsageQuery>,
) -> Result<HttpResponse, PageError> {
    crate::routes::usage_pages::csv(&state, actor(&who), q.into_inner()).await
}

#[derive(Template)]
#[template(path = "portal/history.html")]
struct HistoryPage {
    ctx: Ctx,
    rows: Vec<crate::views::AuditView>,
}

/// The company's own history, including every credential read by an application.
pub async fn history(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let a = actor(&who);
    let (rows, _) = state
        .run(move |conn, _| crate::services::audit::list(conn, &a, Default::default(), 200))
        .await?;
    render(&HistoryPage {
        ctx: ctx.with_nav(Nav::History),
        rows: rows.iter().map(crate::views::AuditView::from).collect(),
    })
}
