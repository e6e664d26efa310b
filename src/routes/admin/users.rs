//! `/admin/users`: people and sign-up requests — list, approve, refuse, enable, disable,
//! change role.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::companies::InvitationRow;
use crate::domain::{Role, UserStatus, cnpj_format};
use crate::routes::people;
use crate::services::mail_settings;
use crate::services::users::Request;
use crate::services::users::User;
use crate::services::users::{self as uc, DirectoryQuery};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::PageError;
use crate::web::page::{Ctx, Form, Nav, Query, redirect_outcome, render};

const PAGE_SIZE: usize = 50;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    company_id: String,
    #[serde(default)]
    cursor: String,
}

struct UserRow {
    id: String,
    name: String,
    email: String,
    company_id: String,
    company: String,
    role: String,
    role_label: &'static str,
    status: String,
    status_label: &'static str,
    is_platform: bool,
    created: String,
    last_login: String,
    /// The signed-in person's own row: no *Desativar* on it.
    is_me: bool,
}

struct RequestRow {
    id: String,
    cnpj: String,
    name: String,
    email: String,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    ctx: Ctx,
    q: ListQuery,
    roles: &'static [Role],
    statuses: &'static [UserStatus],
    rows: Vec<UserRow>,
    /// Sign-ups waiting for a decision, listed above the people.
    pending: Vec<UserRow>,
    requests: Vec<RequestRow>,
    invitations: Vec<super::companies::InvitationRow>,
    next_url: Option<String>,
}

impl UserRow {
    fn new((u, company): (User, Option<String>)) -> Self {
        let role = Some(u.role);
        Self {
            status_label: crate::views::user_status_label(&u),
            role_label: role.map(Role::label).unwrap_or(""),
            is_platform: role.is_some_and(Role::is_platform),
            created: time::db_to_br(&u.created_at),
            last_login: u
                .last_login_at
                .as_deref()
                .map(time::db_to_br)
                .unwrap_or_default(),
            is_me: false,
            id: u.id,
            name: u.name,
            email: u.email,
            company_id: u.company_id.unwrap_or_default(),
            company: company.unwrap_or_default(),
            role: u.role.as_str().to_string(),
            status: u.status.as_str().to_string(),
        }
    }
}

impl From<Request> for RequestRow {
    fn from(r: Request) -> Self {
        Self {
            id: r.id,
            cnpj: cnpj_format(&r.cnpj),
            name: r.requester_name,
            email: r.requester_email,
            created: time::db_to_br(&r.created_at),
        }
    }
}

impl ListQuery {
    fn directory(&self) -> DirectoryQuery {
        DirectoryQuery {
            q: self.q.clone(),
            company_id: self.company_id.clone(),
            role: Role::parse(&self.role),
            status: UserStatus::parse(&self.status),
            refused: self.status == "refused",
            cursor: self.cursor.clone(),
            limit: PAGE_SIZE,
        }
    }

    /// The same list, from `cursor` on.
    fn url_from(&self, cursor: &str) -> String {
        let qs = serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("role", &self.role),
            ("status", &self.status),
            ("company_id", &self.company_id),
            ("cursor", cursor),
        ]);
        format!("/admin/users?{}", qs.unwrap_or_default())
    }
}

pub async fn list(
    state: State,
    ctx: Ctx,
    who: Acting,
    query: Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let (actor, q) = (who.actor(), query.into_inner());
    let dq = q.directory();
    let d = state
        .run(move |conn, _| uc::directory(conn, &actor, &dq))
        .await?;
    render(&UsersPage {
        ctx: ctx.with_nav(Nav::Users),
        next_url: d.people.next_cursor.as_deref().map(|c| q.url_from(c)),
        q,
        roles: Role::ALL,
        statuses: UserStatus::ALL,
        rows: d
            .people
            .items
            .into_iter()
            .map(UserRow::new)
            .map(|mut r| {
                r.is_me = who.is_user(&r.id);
                r
            })
            .collect(),
        pending: d.pending.into_iter().map(UserRow::new).collect(),
        requests: d.requests.into_iter().map(RequestRow::from).collect(),
        invitations: d.invitations.iter().map(InvitationRow::from).collect(),
    })
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
    /// "sim" once the refusal was confirmed (`routes::people::confirmed`).
    #[serde(default)]
    confirm: String,
    /// "person" when sent from the person's page.
    #[serde(default)]
    back: String,
}

/// Refuses a pending sign-up, with a reason the person is told, once confirmed.
pub async fn reject(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = people::back_to::<people::Admin>(&id, &f.back);
    let r = state
        .run(move |conn, app| {
            uc::changeable(conn, &actor, &id)?;
            people::confirmed(&f.confirm, "recusar o pedido")?;
            uc::reject(
                conn,
                &app.keys,
                &actor,
                &id,
                &f.reason,
                &app.settings.base_url,
            )
            .and_then(|u| Ok((u, mail_settings::sending_configured(conn, &app.settings)?)))
        })
        .await
        .map(|(u, configured)| {
            mail_settings::mail_flash(
                configured,
                &format!(
                    "Pedido de {} recusado. A pessoa recebe um e-mail com o motivo.",
                    u.name
                ),
                &format!("Pedido de {} recusado.", u.name),
            )
        });
    redirect_outcome(&state, &back, r)
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    legal_name: String,
}

/// Accepts a request for an unknown CNPJ: the company is created with the legal name
/// typed here, and the person becomes its admin.
pub async fn accept(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<AcceptForm>,
    session: actix_session::Session,
    person: crate::web::guard::SignedIn,
) -> Result<HttpResponse, PageError> {
    // Accepting makes the requester their new company's admin.
    if let Some(r) = crate::routes::people::step_up_to_grant(
        &state,
        &session,
        &person,
        Role::CompanyAdmin,
        "/admin/users",
    ) {
        return Ok(r);
    }
    let (actor, id) = (who.actor(), id.into_inner());
    let r = state
        .run(move |conn, app| {
            let base = &app.settings.base_url;
            uc::accept_request(conn, &app.keys, &actor, &id, &f.legal_name, base)?;
            mail_settings::sending_configured(conn, &app.settings)
        })
        .await
        .map(|configured| {
            mail_settings::mail_flash(
                configured,
                "Empresa cadastrada e acesso aprovado. A pessoa recebe um e-mail avisando.",
                "Empresa cadastrada e acesso aprovado.",
            )
        });
    redirect_outcome(&state, "/admin/users", r)
}

/// Refuses a request for an unknown CNPJ, once confirmed.
pub async fn refuse(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<HttpResponse, PageError> {
    if let Err(e) = people::confirmed(&f.confirm, "recusar o pedido") {
        return redirect_outcome(&state, "/admin/users", Err(e));
    }
    let (actor, id) = (who.actor(), id.into_inner());
    let r = state
        .run(move |conn, app| {
            let base = &app.settings.base_url;
            uc::refuse_request(conn, &app.keys, &actor, &id, &f.reason, base)?;
            mail_settings::sending_configured(conn, &app.settings)
        })
        .await
        .map(|configured| {
            mail_settings::mail_flash(
                configured,
                "Pedido recusado. A pessoa recebe um e-mail com o motivo.",
                "Pedido recusado.",
            )
        });
    redirect_outcome(&state, "/admin/users", r)
}
