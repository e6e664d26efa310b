use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::clamp_limit;
use crate::db::{self, users::User};
use crate::domain::Role;
use crate::error::{ApiError, AppError};
use crate::services::{links, users};
use crate::time;
use crate::web::State;
use crate::web::guard::ApiUser;

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
    state: State,
    who: ApiUser,
    id: web::Path<String>,
    p: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let id = id.into_inner();
    let p = p.into_inner();
    let after = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            crate::db::keyset::decode(c)
                .ok_or_else(|| AppError::field("cursor", "invalid cursor"))?,
        ),
    };
    let limit = clamp_limit(p.limit);
    let (rows, more) = db::run(&state.pool, move |conn| {
        users::list_company(conn, &actor, &id, limit, after)
    })
    .await?;
    let next_cursor = if more {
        rows.last().map(|(u, _)| crate::db::users::cursor_after(u))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": rows.into_iter().map(|(u, _)| UserJson::from(u)).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
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
    state: State,
    who: ApiUser,
    id: web::Path<String>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let (st, cid, b) = (state.clone(), id.into_inner(), body.into_inner());
    let role = company_role(b.role.as_deref())?;
    enum Made {
        User(User),
        Invitation(crate::db::invitations::Invitation),
    }
    let made = db::run(&state.pool, move |conn| match &b.password {
        Some(pw) => users::create_with_password(
            conn,
            &st.keys,
            &actor,
            &cid,
            &b.name,
            &b.email,
            role,
            pw,
            st.settings.bcrypt_cost,
        )
        .map(Made::User),
        None => links::invite(
            conn,
            &st.keys,
            &actor,
            &b.email,
            role,
            Some(&cid),
            &st.settings.base_url,
        )
        .map(Made::Invitation),
    })
    .await?;
    Ok(match made {
        Made::User(u) => HttpResponse::Created()
            .insert_header(("Location", format!("/api/v1/users/{}", u.id)))
            .json(UserJson::from(u)),
        Made::Invitation(inv) => HttpResponse::Accepted().json(serde_json::json!({
            "invitation_id": inv.id,
            "email": inv.email,
            "role": inv.role,
            "expires_at": time::db_to_rfc3339(&inv.expires_at),
        })),
    })
}

pub async fn get(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let id = id.into_inner();
    let u = db::run(&state.pool, move |conn| users::get(conn, &actor, &id)).await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}

#[derive(Deserialize)]
pub struct PatchBody {
    name: Option<String>,
    role: Option<String>,
    status: Option<String>,
}

pub async fn update(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let (st, id, b) = (state.clone(), id.into_inner(), body.into_inner());
    let role = match b.role.as_deref() {
        None => None,
        Some(r) => Some(Role::parse(r).ok_or_else(|| AppError::field("role", "unknown role"))?),
    };
    let enabled = match b.status.as_deref() {
        None => None,
        Some("active") => Some(true),
        Some("disabled") => Some(false),
        Some(_) => {
            return Err(AppError::field("status", "status must be active or disabled").into());
        }
    };
    let u = db::run(&state.pool, move |conn| {
        // One transaction: all of the change, or none of it.
        db::write(conn, |tx| {
            let mut u = users::get(tx, &actor, &id)?;
            if let Some(n) = &b.name {
                u = users::rename_in(tx, &st.keys, &actor, &id, n)?;
            }
            if let Some(r) = role {
                u = users::change_role_in(tx, &st.keys, &actor, &id, r)?;
            }
            if let Some(e) = enabled {
                u = users::set_enabled_in(tx, &st.keys, &actor, &id, e)?;
            }
            Ok(u)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}

/// DELETE disables: the account and its history stay.
pub async fn disable(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let (st, id) = (state.clone(), id.into_inner());
    db::run(&state.pool, move |conn| {
        users::set_enabled(conn, &st.keys, &actor, &id, false)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Default)]
pub struct ApproveBody {
    role: Option<String>,
}

pub async fn approve(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
    body: Option<web::Json<ApproveBody>>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let (st, id) = (state.clone(), id.into_inner());
    let role = match body.and_then(|b| b.into_inner().role) {
        None => None,
        Some(r) => Some(company_role(Some(&r))?),
    };
    let u = db::run(&state.pool, move |conn| {
        users::approve(conn, &st.keys, &actor, &id, role, &st.settings.base_url)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}
