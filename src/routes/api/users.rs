use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{ListJson, page_limit};
use crate::db::users::User;
use crate::domain::Role;
use crate::error::AppError;
use crate::services::users::{self, Added, NewMember, UserPatch};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

#[derive(Serialize)]
pub struct UserJson {
    id: String,
    company_id: Option<String>,
    name: String,
    email: String,
    role: String,
    status: String,
    created_at: String,
    last_login_at: Option<String>,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        Self {
            created_at: time::db_to_rfc3339(&u.created_at),
            last_login_at: u.last_login_at.as_deref().map(time::db_to_rfc3339),
            id: u.id,
            company_id: u.company_id,
            name: u.name,
            email: u.email,
            role: u.role,
            status: u.status,
        }
    }
}

#[derive(Deserialize)]
pub struct ListParams {
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list(
    app: State,
    who: Acting,
    id: web::Path<String>,
    p: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, p) = (who.actor(), id.into_inner(), p.into_inner());
    let page = app
        .run(move |conn, _| {
            users::list_company(conn, &actor, &id, page_limit(p.limit)?, p.cursor.as_deref())
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListJson::from(page.map(UserJson::from))))
}

#[derive(Deserialize)]
pub struct CreateBody {
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: Option<String>,
    password: Option<String>,
}

fn company_role(role: Option<&str>) -> Result<Role, AppError> {
    match role {
        None => Ok(Role::CompanyUser),
        Some(r) => Role::parse(r)
            .filter(|r| !r.is_platform())
            .ok_or_else(|| AppError::field("role", "role must be company_admin or company_user")),
    }
}

/// With a `password`, an active user; without one, an invitation is e-mailed.
pub async fn create(
    app: State,
    who: Acting,
    id: web::Path<String>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, cid, b) = (who.actor(), id.into_inner(), body.into_inner());
    let role = company_role(b.role.as_deref())?;
    let added = app
        .blocking(move |app| {
            let m = NewMember {
                company_id: &cid,
                name: &b.name,
                email: &b.email,
                role,
                password: b.password.as_deref(),
            };
            users::add_to_company(app, &actor, &m)
        })
        .await?;
    Ok(match added {
        Added::User(u) => HttpResponse::Created()
            .insert_header(("Location", format!("/api/v1/users/{}", u.id)))
            .json(UserJson::from(u)),
        Added::Invitation(inv) => HttpResponse::Accepted().json(serde_json::json!({
            "invitation_id": inv.id,
            "email": inv.email,
            "role": inv.role,
            "expires_at": time::db_to_rfc3339(&inv.expires_at),
        })),
    })
}

pub async fn get(app: State, who: Acting, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let u = app
        .run(move |conn, _| users::get(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}

#[derive(Deserialize)]
pub struct PatchBody {
    name: Option<String>,
    role: Option<String>,
    status: Option<String>,
}

impl PatchBody {
    fn parse(self) -> Result<UserPatch, AppError> {
        let role = match self.role.as_deref() {
            None => None,
            Some(r) => Some(Role::parse(r).ok_or_else(|| AppError::field("role", "unknown role"))?),
        };
        let enabled = match self.status.as_deref() {
            None => None,
            Some("active") => Some(true),
            Some("disabled") => Some(false),
            Some(_) => {
                return Err(AppError::field(
                    "status",
                    "status must be active or disabled",
                ));
            }
        };
        Ok(UserPatch {
            name: self.name,
            role,
            enabled,
        })
    }
}

pub async fn update(
    app: State,
    who: Acting,
    id: web::Path<String>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, patch) = (who.actor(), id.into_inner(), body.into_inner().parse()?);
    let u = app
        .run(move |conn, app| users::patch(conn, &app.keys, &actor, &id, &patch))
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}

/// DELETE disables: the account and its history stay.
pub async fn disable(
    app: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    app.run(move |conn, app| users::set_enabled(conn, &app.keys, &actor, &id, false))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Default)]
pub struct ApproveBody {
    role: Option<String>,
}

pub async fn approve(
    app: State,
    who: Acting,
    id: web::Path<String>,
    body: Option<web::Json<ApproveBody>>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let role = match body.and_then(|b| b.into_inner().role) {
        None => None,
        Some(r) => Some(company_role(Some(&r))?),
    };
    let u = app
        .run(move |conn, app| {
            users::approve(conn, &app.keys, &actor, &id, role, &app.settings.base_url)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}
