//! `/admin/companies`: list and search, create, show with history, edit, change status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::CompanyStatus;
use crate::error::{AppError, FieldError};
use crate::services::companies::{self as uc, CompanyInput};
use crate::views::CompanyView;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::PageError;
use crate::web::page::{Ctx, Flash, Form, Nav, Query, redirect_with, render, render_status};

const PAGE_SIZE: usize = 50;

#[derive(Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    cursor: String,
    /// `missing` or `failed`: the overview's lists of companies and their Omie keys.
    #[serde(default)]
    omie: String,
}

#[derive(Template)]
#[template(path = "admin/companies/list.html")]
struct ListPage {
    ctx: Ctx,
    q: String,
    status: String,
    statuses: &'static [CompanyStatus],
    /// `missing`, `failed` or "".
    omie: &'static str,
    rows: Vec<CompanyView>,
    next_url: Option<String>,
    /// The first page with the same search, or "" when this is the first page.
    first_url: String,
}

pub async fn list(
    app: State,
    ctx: Ctx,
    who: Acting,
    query: Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let (actor, query) = (who.actor(), query.into_inner());
    let status = CompanyStatus::parse(&query.status);
    let q = uc::ListQuery {
        q: Some(query.q.clone()),
        status,
        cursor: Some(query.cursor.clone()),
        limit: PAGE_SIZE,
        omie: uc::OmieFilter::parse(&query.omie),
    };
    let omie = uc::OmieFilter::parse(&query.omie).map_or("", |o| o.as_str());
    let page = app
        .run(move |conn, app| uc::list(app, conn, &actor, &q))
        .await?;
    render(&ListPage {
        ctx: ctx.with_nav(Nav::Companies),
        next_url: page.next_cursor.as_deref().map(|c| query.url(Some(c))),
        first_url: if query.cursor.is_empty() {
            String::new()
        } else {
            query.url(None)
        },
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        q: query.q,
        statuses: CompanyStatus::ALL,
        omie,
        rows: page.items.iter().map(CompanyView::from).collect(),
    })
}

impl ListParams {
    /// The same search and filter, from `cursor` on (or from the first page).
    fn url(&self, cursor: Option<&str>) -> String {
        let status = CompanyStatus::parse(&self.status)
            .map(|s| s.as_str())
            .unwrap_or("");
        let omie = uc::OmieFilter::parse(&self.omie).map_or("", |o| o.as_str());
        let mut pairs = vec![("q", self.q.as_str()), ("status", status)];
        if !omie.is_empty() {
            pairs.push(("omie", omie));
        }
        pairs.extend(cursor.map(|c| ("cursor", c)));
        format!(
            "/admin/companies?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// The create/edit form with what was typed and a message per invalid field.
#[derive(Template)]
#[template(path = "admin/companies/form.html")]
struct FormPage {
    ctx: Ctx,
    /// `None` when creating.
    id: Option<String>,
    v: FormValues,
    errors: Vec<FieldError>,
    /// The CNPJ look-up is on (creating only): the "Buscar dados do CNPJ" button.
    lookup: bool,
    /// What the last look-up said.
    notes: Vec<String>,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct FormValues {
    #[serde(default)]
    legal_name: String,
    #[serde(default)]
    trade_name: String,
    #[serde(default)]
    cnpj: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    /// The monthly fee as typed ("R$ 1.234,56"); empty: no fee.
    #[serde(default)]
    monthly_fee_cents: String,
    /// Set by the "Buscar dados do CNPJ" button: fill the form, save nothing.
    #[serde(default)]
    lookup: String,
}

impl FormValues {
    fn input(&self) -> CompanyInput {
        CompanyInput {
            legal_name: Some(self.legal_name.clone()),
            trade_name: Some(self.trade_name.clone()),
            cnpj: Some(self.cnpj.clone()),
            contact_name: Some(self.contact_name.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            monthly_fee: Some(uc::FeeInput::Typed(self.monthly_fee_cents.clone())),
        }
    }
}

pub async fn new_form(state: State, ctx: Ctx) -> Result<HttpResponse, PageError> {
    render(&FormPage {
        ctx: ctx.with_nav(Nav::Companies),
        id: None,
        v: FormValues::default(),
        errors: vec![],
        lookup: state.cnpj.enabled(),
        notes: vec![],
    })
}

fn form_errors(
    state: &State,
    ctx: Ctx,
    id: Option<String>,
    v: FormValues,
    e: AppError,
) -> Result<HttpResponse, PageError> {
    match e {
        AppError::Validation(errors) | AppError::Conflict(errors) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormPage {
                ctx: ctx.with_nav(Nav::Companies),
                lookup: id.is_none() && state.cnpj.enabled(),
                id,
                v,
                errors,
                notes: vec![],
            },
        ),
        other => Err(other.into()),
    }
}

/// "Buscar dados do CNPJ" without JavaScript: the form again, its empty fields filled
/// from the public register, and what the look-up said. Nothing is saved.
async fn looked_up(state: &State, ctx: Ctx, mut v: FormValues) -> Result<HttpResponse, PageError> {
    v.lookup.clear();
    let (errors, notes) = match crate::domain::Cnpj::parse(&v.cnpj) {
        Err(m) => (vec![FieldError::new("cnpj", m)], vec![]),
        Ok(cnpj) => {
            let found = state.cnpj.lookup(&cnpj).await;
            v.cnpj = cnpj.formatted();
            if let crate::services::cnpj_lookup::Lookup::Found(i) = &found {
                let fill = |field: &mut String, value: &str| {
                    if field.trim().is_empty() {
                        *field = value.to_string();
                    }
                };
                fill(&mut v.legal_name, &i.legal_name);
                fill(&mut v.trade_name, &i.trade_name);
                fill(&mut v.email, &i.email);
                fill(&mut v.phone, &i.phone);
            }
            (vec![], crate::routes::cnpj_lookup::notes(&found, false))
        }
    };
    render(&FormPage {
        ctx: ctx.with_nav(Nav::Companies),
        id: None,
        v,
        errors,
        lookup: state.cnpj.enabled(),
        notes,
    })
}

pub async fn create(
    state: State,
    ctx: Ctx,
    who: Acting,
    Form(v): Form<FormValues>,
) -> Result<HttpResponse, PageError> {
    if !v.lookup.is_empty() {
        return looked_up(&state, ctx, v).await;
    }
    let (actor, input) = (who.actor(), v.input());
    match state
        .run(move |conn, app| uc::create(conn, &app.keys, &actor, &input))
        .await
    {
        Ok(c) => Ok(redirect_with(
            &state,
            &format!("/admin/companies/{}", c.id),
            Flash::success(format!("Empresa {} cadastrada.", c.legal_name)),
        )),
        Err(e) => form_errors(&state, ctx, None, v, e),
    }
}

#[derive(Template)]
#[template(path = "admin/companies/show.html")]
struct ShowPage {
    ctx: Ctx,
    c: CompanyView,
    history: Vec<crate::services::history::Line>,
    people: Vec<PersonRow>,
    invitations: Vec<InvitationRow>,
}

/// A person of the company, for its page.
pub struct PersonRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub status: String,
    pub status_label: &'static str,
}

/// An open invitation, for the company and users pages.
pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub expires: String,
    pub expired: bool,
    /// Its sender may no longer invite, or its company is not active: it cannot be
    /// accepted.
    pub fallen: bool,
}

impl From<crate::services::users::User> for PersonRow {
    fn from(u: crate::services::users::User) -> Self {
        Self {
            role: u.role.label(),
            status_label: crate::views::user_status_label(&u),
            id: u.id,
            name: u.name,
            email: u.email,
            status: u.status.as_str().to_string(),
        }
    }
}

impl From<&crate::services::mailed_links::Invitation> for InvitationRow {
    fn from(i: &crate::services::mailed_links::Invitation) -> Self {
        Self {
            id: i.id.clone(),
            email: i.email.clone(),
            role: i.role.label(),
            expires: crate::time::db_to_br(&i.expires_at),
            expired: i.expires_at < crate::time::now_db(),
            fallen: i.fallen,
        }
    }
}

pub async fn show(
    state: State,
    ctx: Ctx,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let d = state
        .run(move |conn, _| {
            let d = uc::detail(conn, &actor, &id)?;
            let history = crate::services::history::lines(conn, &actor, &d.history)?;
            Ok((d, history))
        })
        .await?;
    let (d, history) = d;
    render(&ShowPage {
        ctx: ctx.with_nav(Nav::Companies),
        c: CompanyView::from(&d.company),
        history,
        people: d
            .people
            .into_iter()
            .map(|(u, _)| PersonRow::from(u))
            .collect(),
        invitations: d.invitations.iter().map(InvitationRow::from).collect(),
    })
}

pub async fn edit_form(
    state: State,
    ctx: Ctx,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let c = state.run(move |conn, _| uc::get(conn, &actor, &id)).await?;
    let view = CompanyView::from(&c);
    let v = FormValues {
        legal_name: c.legal_name,
        trade_name: c.trade_name,
        cnpj: view.cnpj,
        contact_name: c.contact_name,
        email: c.email,
        phone: view.phone,
        monthly_fee_cents: c
            .monthly_fee_cents
            .map(crate::domain::money::money_input)
            .unwrap_or_default(),
        lookup: String::new(),
    };
    render(&FormPage {
        ctx: ctx.with_nav(Nav::Companies),
        id: Some(c.id),
        v,
        errors: vec![],
        lookup: false,
        notes: vec![],
    })
}

pub async fn update(
    state: State,
    ctx: Ctx,
    who: Acting,
    id: web::Path<String>,
    Form(v): Form<FormValues>,
) -> Result<HttpResponse, PageError> {
    let (actor, id, input) = (who.actor(), id.into_inner(), v.input());
    let cid = id.clone();
    match state
        .run(move |conn, app| uc::update(conn, &app.keys, &actor, &cid, &input))
        .await
    {
        Ok(c) => Ok(redirect_with(
            &state,
            &format!("/admin/companies/{}", c.id),
            Flash::success("Alterações salvas."),
        )),
        Err(e) => form_errors(&state, ctx, Some(id), v, e),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
}

pub async fn set_status(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<HttpResponse, PageError> {
    let status = CompanyStatus::parse(&form.status)
        .ok_or_else(|| AppError::BadRequest("unknown status".into()))?;
    let (actor, id) = (who.actor(), id.into_inner());
    let c = state
        .run(move |conn, app| uc::set_status(conn, &app.keys, &actor, &id, status))
        .await?;
    let message = match status {
        CompanyStatus::Active => "Empresa reativada.",
        CompanyStatus::Suspended => {
            "Empresa suspensa. Os acessos dela ficam bloqueados até a reativação."
        }
        CompanyStatus::Archived => {
            "Empresa arquivada. Ela não aparece mais na lista, mas o histórico fica guardado."
        }
    };
    Ok(redirect_with(
        &state,
        &format!("/admin/companies/{}", c.id),
        Flash::success(message),
    ))
}

/// `POST /admin/companies/{id}/anonymize`: end of contract (owner), after a fresh
/// confirmation of who asks.
pub async fn anonymize(
    state: State,
    who: Acting,
    person: crate::web::guard::SignedIn,
    session: actix_session::Session,
    id: web::Path<String>,
    _f: Form<crate::routes::auth::Empty>,
) -> Result<HttpResponse, PageError> {
    let back = format!("/admin/companies/{}", id.as_str());
    if let Some(r) = crate::routes::mfa_pages::step_up(&state, &session, &person, &back) {
        return Ok(r);
    }
    let (actor, id) = (who.actor(), id.into_inner());
    let c = state
        .run(move |conn, app| {
            crate::services::erasure::anonymize_company(
                conn,
                &app.keys,
                &app.settings.data_dir,
                &actor,
                &id,
            )
        })
        .await?;
    Ok(redirect_with(
        &state,
        &format!("/admin/companies/{}", c.id),
        Flash::success(
            "Empresa anonimizada e arquivada: contato apagado, pessoas anonimizadas, credenciais do Omie destruídas e aplicações desligadas.",
        ),
    ))
}

fn omie_place(id: &str) -> crate::routes::omie_pages::Place {
    crate::routes::omie_pages::Place {
        base: format!("/admin/companies/{id}/omie"),
        back: format!("/admin/companies/{id}"),
        company_id: id.to_string(),
    }
}

pub async fn omie(
    state: State,
    ctx: Ctx,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    crate::routes::omie_pages::show(
        &state,
        ctx.with_nav(Nav::Companies),
        who.actor(),
        omie_place(&id),
    )
    .await
}

pub async fn omie_save(
    state: State,
    ctx: Ctx,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<crate::routes::omie_pages::CredentialsForm>,
) -> Result<HttpResponse, PageError> {
    crate::routes::omie_pages::save(
        &state,
        ctx.with_nav(Nav::Companies),
        who.actor(),
        omie_place(&id),
        f,
    )
    .await
}

pub async fn omie_reveal(
    state: State,
    ctx: Ctx,
    who: Acting,
    id: web::Path<String>,
    _f: Form<crate::routes::auth::Empty>,
    session: actix_session::Session,
    person: crate::web::guard::SignedIn,
) -> Result<HttpResponse, PageError> {
    let back = format!("/admin/companies/{}/omie", id.as_str());
    if let Some(r) = crate::routes::mfa_pages::step_up(&state, &session, &person, &back) {
        return Ok(r);
    }
    crate::routes::omie_pages::reveal(
        &state,
        ctx.with_nav(Nav::Companies),
        who.actor(),
        omie_place(&id),
    )
    .await
}

pub async fn omie_test(
    state: State,
    who: Acting,
    id: web::Path<String>,
    _f: Form<crate::routes::auth::Empty>,
) -> Result<HttpResponse, PageError> {
    crate::routes::omie_pages::test(&state, who.actor(), omie_place(&id)).await
}
