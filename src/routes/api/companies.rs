use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::clamp_limit;
use crate::db;
use crate::db::companies::{self as store, Company, ListFilter};
use crate::domain::{CompanyStatus, cnpj_format};
use crate::error::{ApiError, AppError};
use crate::services::companies::{self as uc, CompanyInput};
use crate::time;
use crate::web::State;
use crate::web::guard::ApiUser;

#[derive(Serialize)]
pub struct CompanyJson {
    id: String,
    legal_name: String,
    trade_name: String,
    cnpj: String,
    cnpj_formatted: String,
    contact_name: String,
    email: String,
    phone: String,
    status: String,
    created_at: String,
    updated_at: String,
}

impl From<Company> for CompanyJson {
    fn from(c: Company) -> Self {
        Self {
            cnpj_formatted: cnpj_format(&c.cnpj),
            created_at: time::db_to_rfc3339(&c.created_at),
            updated_at: time::db_to_rfc3339(&c.updated_at),
            id: c.id,
            legal_name: c.legal_name,
            trade_name: c.trade_name,
            cnpj: c.cnpj,
            contact_name: c.contact_name,
            email: c.email,
            phone: c.phone,
            status: c.status,
        }
    }
}

#[derive(Serialize)]
pub struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
pub struct ListParams {
    q: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list(
    state: State,
    who: ApiUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            CompanyStatus::parse(s)
                .ok_or_else(|| {
                    AppError::field("status", "status must be active, suspended or archived")
                })?
                .as_str()
                .to_string(),
        ),
    };
    let after = match p.cursor.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(
            store::parse_cursor(c).ok_or_else(|| AppError::field("cursor", "invalid cursor"))?,
        ),
    };
    let filter = ListFilter {
        q: p.q,
        status,
        after,
    };
    let limit = clamp_limit(p.limit);
    let actor = who.actor();
    let (rows, more) = db::run(&state.pool, move |conn| {
        uc::list(conn, &actor, &filter, limit)
    })
    .await?;
    let next_cursor = if more {
        rows.last().map(store::cursor_after)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(CompanyJson::from).collect(),
        next_cursor,
    }))
}

pub async fn create(
    state: State,
    who: ApiUser,
    body: web::Json<CompanyInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let st = state.clone();
    let input = body.into_inner();
    let c = db::run(&state.pool, move |conn| {
        uc::create(conn, &st.keys, &actor, &input)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/companies/{}", c.id)))
        .json(CompanyJson::from(c)))
}

pub async fn get(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let id = id.into_inner();
    let (a, cid) = (actor.clone(), id.clone());
    let c = db::run(&state.pool, move |conn| uc::get(conn, &actor, &id)).await;
    state.meter.record(
        &a,
        &cid,
        if c.is_ok() {
            "companies.read"
        } else {
            "refused"
        },
    );
    Ok(HttpResponse::Ok().json(CompanyJson::from(c?)))
}

#[derive(Deserialize)]
pub struct PatchBody {
    #[serde(flatten)]
    fields: CompanyInput,
    status: Option<String>,
}

pub async fn update(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let id = id.into_inner();
    let body = body.into_inner();
    let status = match body.status.as_deref() {
        None => None,
        Some(s) => Some(CompanyStatus::parse(s).ok_or_else(|| {
            AppError::field("status", "status must be active, suspended or archived")
        })?),
    };
    let st = state.clone();
    let c = db::run(&state.pool, move |conn| {
        let has_fields = [
            &body.fields.legal_name,
            &body.fields.trade_name,
            &body.fields.cnpj,
            &body.fields.contact_name,
            &body.fields.email,
            &body.fields.phone,
        ]
        .iter()
        .any(|f| f.is_some());
        // One transaction: a refused field change leaves the status as it was too.
        crate::db::write(conn, |tx| {
            let mut c = uc::get(tx, &actor, &id)?;
            // Edit before archiving, and reactivate before editing.
            let archiving = status == Some(CompanyStatus::Archived);
            if let Some(s) = status.filter(|_| !archiving) {
                c = uc::set_status_in(tx, &st.keys, &actor, &id, s)?;
            }
            if has_fields {
                c = uc::update_in(tx, &st.keys, &actor, &id, &body.fields)?;
            }
            if archiving {
                c = uc::set_status_in(tx, &st.keys, &actor, &id, CompanyStatus::Archived)?;
            }
            Ok(c)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(CompanyJson::from(c)))
}

pub async fn archive(
    state: State,
    who: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let id = id.into_inner();
    let st = state.clone();
    db::run(&state.pool, move |conn| {
        uc::set_status(conn, &st.keys, &actor, &id, CompanyStatus::Archived)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
