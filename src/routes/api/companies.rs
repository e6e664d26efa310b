use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{ListJson, page_limit};
use crate::db::companies::Company;
use crate::domain::{CompanyStatus, cnpj_format};
use crate::error::AppError;
use crate::services::companies::{self as uc, CompanyInput, ListQuery};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

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

#[derive(Deserialize)]
pub struct ListParams {
    q: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

fn parse_status(raw: Option<&str>) -> Result<Option<CompanyStatus>, AppError> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => CompanyStatus::parse(s).map(Some).ok_or_else(|| {
            AppError::field("status", "status must be active, suspended or archived")
        }),
    }
}

pub async fn list(
    app: State,
    who: Acting,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let (actor, p) = (who.actor(), params.into_inner());
    let q = ListQuery {
        status: parse_status(p.status.as_deref())?,
        q: p.q,
        cursor: p.cursor,
        limit: page_limit(p.limit)?,
    };
    let page = app
        .run(move |conn, app| uc::list(app, conn, &actor, &q))
        .await?;
    Ok(HttpResponse::Ok().json(ListJson::from(page.map(CompanyJson::from))))
}

pub async fn create(
    app: State,
    who: Acting,
    body: web::Json<CompanyInput>,
) -> Result<HttpResponse, ApiError> {
    let (actor, input) = (who.actor(), body.into_inner());
    let c = app
        .run(move |conn, app| uc::create(conn, &app.keys, &actor, &input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/companies/{}", c.id)))
        .json(CompanyJson::from(c)))
}

pub async fn get(app: State, who: Acting, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let c = app
        .run(move |conn, app| uc::read(app, conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(CompanyJson::from(c)))
}

#[derive(Deserialize)]
pub struct PatchBody {
    #[serde(flatten)]
    fields: CompanyInput,
    status: Option<String>,
}

pub async fn update(
    app: State,
    who: Acting,
    id: web::Path<String>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, body) = (who.actor(), id.into_inner(), body.into_inner());
    let status = parse_status(body.status.as_deref())?;
    let c = app
        .run(move |conn, app| uc::patch(conn, &app.keys, &actor, &id, &body.fields, status))
        .await?;
    Ok(HttpResponse::Ok().json(CompanyJson::from(c)))
}

pub async fn archive(
    app: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    app.run(move |conn, app| uc::set_status(conn, &app.keys, &actor, &id, CompanyStatus::Archived))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
