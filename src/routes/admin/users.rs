//! `/admin/users`: people and sign-up requests — list, approve, refuse, enable, disable,
//! change role.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::users::ListFilter;
use crate::domain::{Role, UserStatus, cnpj_format};
use crate::error::AppError;
use crate::services::users as uc;
use crate::time;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Query, redirect_with, render};

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
    requests: Vec<RequestRow>,
    invitations: Vec<super::companies::InvitationRow>,
    next_url: Option<String>,
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn list(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    query: Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let filter = ListFilter {
        q: non_empty(&q.q),
        company_id: non_empty(&q.company_id),
        role: Role::parse(&q.role).map(|r| r.as_str().to_string()),
        status: UserStatus::parse(&q.status).map(|s| s.as_str().to_string()),
        after: crate::db::keyset::decode(&q.cursor),
    };
    let actor = who.actor();
    let (users, more, requests, invitations) = state
        .run(move |conn, _| {
            let (users, more) = uc::list(conn, &actor, filter, PAGE_SIZE)?;
            let staff_invitations = crate::services::links::list_open(conn, &actor, None)?;
            Ok((
                users,
                more,
                uc::pending_requests(conn, &actor)?,
                staff_invitations,
            ))
        })
        .await?;
    let next_url = if more {
        users.last().map(|(u, _)| {
            let cursor = crate::db::users::cursor_after(u);
            let qs = serde_urlencoded::to_string([
                ("q", q.q.as_str()),
                ("role", &q.role),
                ("status", &q.status),
                ("company_id", &q.company_id),
                ("cursor", &cursor),
            ])
            .unwrap_or_default();
            format!("/admin/users?{qs}")
        })
    } else {
        None
    };
    let rows = users
        .into_iter()
        .map(|(u, company)| {
            let role = Role::parse(&u.role);
            let status = UserStatus::parse(&u.status);
            UserRow {
                status_label: if u.rejected_at.is_some() {
                    "Recusado"
                } else {
                    status.map(UserStatus::label).unwrap_or("")
                },
                role_label: role.map(Role::label).unwrap_or(""),
                is_platform: role.is_some_and(Role::is_platform),
                created: time::db_to_br(&u.created_at),
                last_login: u
                    .last_login_at
                    .as_deref()
                    .map(time::db_to_br)
                    .unwrap_or_default(),
                id: u.id,
                name: u.name,
                email: u.email,
                company_id: u.company_id.unwrap_or_default(),
                company: company.unwrap_or_default(),
                role: u.role,
                status: u.status,
            }
        })
        .collect();
    let requests = requests
        .into_iter()
        .map(|r| RequestRow {
            id: r.id,
            cnpj: cnpj_format(&r.cnpj),
            name: r.requester_name,
            email: r.requester_email,
            created: time::db_to_br(&r.created_at),
        })
        .collect();
    render(&UsersPage {
        ctx: ctx.with_nav("users"),
        q,
        roles: Role::ALL,
        statuses: UserStatus::ALL,
        rows,
        requests,
        invitations: invitations
            .iter()
            .map(super::companies::InvitationRow::from)
            .collect(),
        next_url,
    })
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    legal_name: String,
}

/// Runs one action on a user or request and goes back to the list with a message.
pub async fn act(
    _req: HttpRequest,
    state: State,
    who: SignedIn,
    path: web::Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let (id, action) = path.into_inner();
    let actor = who.actor();
    let role = Role::parse(&form.role);
    let base = state.settings.base_url.clone();
    let act = action.clone();
    let result = state
        .run(move |conn, app| {
            let keys = &app.keys;
            let msg = match act.as_str() {
                "approve" => {
                    let u = uc::approve(conn, keys, &actor, &id, role, &base)?;
                    format!(
                        "Acesso de {} aprovado. A pessoa recebe um e-mail avisando.",
                        u.name
                    )
                }
                "reject" => {
                    let u = uc::reject(conn, keys, &actor, &id, &form.reason, &base)?;
                    format!(
                        "Pedido de {} recusado. A pessoa recebe um e-mail com o motivo.",
                        u.name
                    )
                }
                "disable" => {
                    let u = uc::set_enabled(conn, keys, &actor, &id, false)?;
                    format!(
                        "Conta de {} desativada. Os acessos abertos foram encerrados.",
                        u.name
                    )
                }
                "enable" => {
                    let u = uc::set_enabled(conn, keys, &actor, &id, true)?;
                    format!("Conta de {} reativada.", u.name)
                }
                "role" => {
                    let r = role.ok_or_else(|| AppError::field("role", "Escolha um papel."))?;
                    let u = uc::change_role(conn, keys, &actor, &id, r)?;
                    format!("{} agora é {}.", u.name, r.label())
                }
                "send-reset" => {
                    let u = crate::services::links::send_reset(conn, keys, &actor, &id, &base)?;
                    format!("Link para trocar a senha enviado para {}.", u.email)
                }
                "accept" => {
                    uc::accept_request(conn, keys, &actor, &id, &form.legal_name, &base)?;
                    "Empresa cadastrada e acesso aprovado. A pessoa recebe um e-mail avisando."
                        .to_string()
                }
                "refuse" => {
                    uc::refuse_request(conn, keys, &actor, &id, &form.reason, &base)?;
                    "Pedido recusado. A pessoa recebe um e-mail com o motivo.".to_string()
                }
                _ => return Err(AppError::NotFound),
            };
            Ok(msg)
        })
        .await;
    match result {
        Ok(msg) => Ok(redirect_with(&state, "/admin/users", Flash::success(msg))),
        Err(AppError::Validation(errors)) | Err(AppError::Conflict(errors)) => {
            let msg = errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join(" ");
            Ok(redirect_with(&state, "/admin/users", Flash::error(msg)))
        }
        Err(AppError::Forbidden) => Ok(redirect_with(
            &state,
            "/admin/users",
            Flash::error("Sua conta não pode fazer isso; peça ao proprietário."),
        )),
        Err(e) => Err(e.into()),
    }
}
