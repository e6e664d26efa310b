use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ListJson, no_null, page_limit};
use crate::domain::{CompanyStatus, cnpj_format};
use crate::error::AppError;
use crate::services::companies::Company;
use crate::services::companies::{self as uc, CompanyInput, ListQuery};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

use super::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};

/// A client company.
#[derive(Serialize, ToSchema)]
#[schema(as = Company)]
pub struct CompanyJson {
    #[schema(example = "cmp_abcdefghijklmnop")]
    id: String,
    /// Razão social.
    #[schema(example = "Padaria Pão Quente Ltda")]
    legal_name: String,
    /// Nome fantasia; may be empty.
    #[schema(example = "Pão Quente")]
    trade_name: String,
    /// Normalized CNPJ, numeric or alphanumeric (the format in force since July 2026).
    #[schema(example = "11222333000181", pattern = "^[0-9A-Z]{12}[0-9]{2}$")]
    cnpj: String,
    #[schema(example = "11.222.333/0001-81")]
    cnpj_formatted: String,
    /// May be empty.
    #[schema(example = "Maria Souza")]
    contact_name: String,
    /// May be empty.
    #[schema(example = "financeiro@paoquente.com.br")]
    email: String,
    /// E.164, or empty.
    #[schema(example = "+5511912345678")]
    phone: String,
    /// What the client pays each month, in cents (`123456` is R$ 1.234,56); null when
    /// not set. Counted in the monthly recurring revenue while the company is active.
    /// Only the platform's people see it: for a company's own people and applications
    /// it is always null.
    #[schema(example = 123456, minimum = 0)]
    monthly_fee_cents: Option<i64>,
    /// A new company starts `active`.
    status: CompanyStatus,
    #[schema(format = DateTime, example = "2026-11-28T10:00:00-03:00")]
    created_at: String,
    #[schema(format = DateTime, example = "2026-11-28T10:00:00-03:00")]
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
            cnpj: c.cnpj.as_str().to_string(),
            contact_name: c.contact_name,
            email: c.email,
            phone: c.phone,
            status: c.status,
            monthly_fee_cents: c.monthly_fee_cents,
        }
    }
}

/// Filters and page of `GET /companies`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A parameter the document does not name is refused (400), so a typo is not silently
// a different query.
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Search by legal or trade name, e-mail or CNPJ (with or without its mask). No
    /// control characters: no name holds one.
    #[param(
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "11.222.333"
    )]
    q: Option<String>,
    /// Only companies with this status; archived companies appear only when asked for.
    #[param(value_type = Option<CompanyStatus>)]
    status: Option<String>,
    /// Page size, 1 to 200 (a value outside answers 422).
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page; empty or absent for the first page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    cursor: Option<String>,
}

/// An empty `status=` is refused like any other unknown status: "any status" is the
/// parameter left out.
fn parse_status(raw: Option<&str>) -> Result<Option<CompanyStatus>, AppError> {
    match raw {
        None => Ok(None),
        Some(s) => CompanyStatus::parse(s).map(Some).ok_or_else(|| {
            AppError::field("status", "status must be active, suspended or archived")
        }),
    }
}

/// List companies
///
/// Companies visible to the caller, ordered by legal name. Archived companies appear
/// only with `status=archived`.
#[utoipa::path(
    get,
    path = "/api/v1/companies",
    tag = "companies",
    operation_id = "listCompanies",
    params(ListParams),
    security(("bearerAuth" = []), ("applicationAuth" = ["companies:read"])),
    responses(
        (status = 200, description = "A page of companies.", body = ListJson<CompanyJson>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn list(
    app: State,
    who: Acting,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let (actor, p) = (who.actor(), params.into_inner());
    // No stored name has a control character (they are refused on input), so such a
    // search can match nothing; and a NUL inside the full-text query is a database
    // error (500) rather than an empty page. Refused, as the document says.
    if p.q
        .as_deref()
        .is_some_and(|q| q.chars().any(char::is_control))
    {
        return Err(AppError::field("q", "A busca não pode ter caracteres de controle.").into());
    }
    let q = ListQuery {
        status: parse_status(p.status.as_deref())?,
        q: p.q,
        cursor: p.cursor,
        limit: page_limit(p.limit)?,
        omie: None,
    };
    let page = app
        .run(move |conn, app| uc::list(app, conn, &actor, &q))
        .await?;
    Ok(HttpResponse::Ok().json(ListJson::from(page.map(CompanyJson::from))))
}

/// The company fields a request may give.
#[derive(Deserialize, ToSchema)]
#[schema(
    as = CompanyInput,
    example = json!({
        "legal_name": "Padaria Pão Quente Ltda", "trade_name": "Pão Quente",
        "cnpj": "11.222.333/0001-81", "contact_name": "Maria Souza",
        "email": "financeiro@paoquente.com.br", "phone": "(11) 91234-5678"
    })
)]
pub struct CompanyBody {
    /// Razão social. Required on create.
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false, max_length = 200)]
    legal_name: Option<String>,
    /// Nome fantasia.
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false, max_length = 200)]
    trade_name: Option<String>,
    /// Numeric or alphanumeric, with or without mask. Required on create.
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false, example = "11.222.333/0001-81")]
    cnpj: Option<String>,
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false, max_length = 200)]
    contact_name: Option<String>,
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false)]
    email: Option<String>,
    /// A Brazilian phone with area code; stored as E.164.
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false)]
    phone: Option<String>,
    /// The monthly fee in cents, 0 to 99999999999; `null` clears it (owner and staff
    /// only).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, nullable = true, minimum = 0, maximum = 99_999_999_999_i64, example = 123456)]
    monthly_fee_cents: Option<Option<i64>>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl From<CompanyBody> for CompanyInput {
    fn from(b: CompanyBody) -> Self {
        Self {
            legal_name: b.legal_name,
            trade_name: b.trade_name,
            cnpj: b.cnpj,
            contact_name: b.contact_name,
            email: b.email,
            phone: b.phone,
            monthly_fee: b.monthly_fee_cents.map(uc::FeeInput::Cents),
        }
    }
}

/// A new company: `legal_name` and `cnpj` are required (missing ones answer 422 with
/// each field's error in Portuguese, like every other check).
#[derive(ToSchema)]
#[schema(as = CompanyCreate)]
#[allow(dead_code)] // only its schema is used: the body is read as `CompanyBody`
pub struct CreateSchema {
    #[schema(max_length = 200, example = "Padaria Pão Quente Ltda")]
    legal_name: String,
    #[schema(nullable = false, max_length = 200, example = "Pão Quente")]
    trade_name: Option<String>,
    /// Numeric or alphanumeric, with or without mask.
    #[schema(example = "11.222.333/0001-81")]
    cnpj: String,
    #[schema(nullable = false, max_length = 200, example = "Maria Souza")]
    contact_name: Option<String>,
    #[schema(nullable = false, example = "financeiro@paoquente.com.br")]
    email: Option<String>,
    /// A Brazilian phone with area code; stored as E.164.
    #[schema(nullable = false, example = "(11) 91234-5678")]
    phone: Option<String>,
    /// The monthly fee in cents; null or absent: none.
    #[schema(
        nullable = true,
        minimum = 0,
        maximum = 99_999_999_999_i64,
        example = 123456
    )]
    monthly_fee_cents: Option<i64>,
}

/// Create a company
///
/// The CNPJ may be numeric or alphanumeric, with or without mask. A new company starts
/// `active`.
#[utoipa::path(
    post,
    path = "/api/v1/companies",
    tag = "companies",
    operation_id = "createCompany",
    request_body = CreateSchema,
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Company created.", body = CompanyJson,
            headers(("Location" = String, description = "URL of the new company.")),
            links(
                ("GetCompany" = (operation_id = "getCompany", parameters(("id" = "$response.body#/id")))),
                ("UpdateCompany" = (operation_id = "updateCompany", parameters(("id" = "$response.body#/id")))),
                ("ArchiveCompany" = (operation_id = "archiveCompany", parameters(("id" = "$response.body#/id")))),
                ("ListCompanyUsers" = (operation_id = "listCompanyUsers", parameters(("id" = "$response.body#/id")))),
                ("CreateCompanyUser" = (operation_id = "createCompanyUser", parameters(("id" = "$response.body#/id")))),
                ("GetOmieCredentials" = (operation_id = "getOmieCredentials", parameters(("id" = "$response.body#/id")))),
                ("PutOmieCredentials" = (operation_id = "putOmieCredentials", parameters(("id" = "$response.body#/id")))),
                ("TestOmieCredentials" = (operation_id = "testOmieCredentials", parameters(("id" = "$response.body#/id")))),
            )
        ),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn create(
    app: State,
    who: Acting,
    body: crate::routes::api::JsonBody<CompanyBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, input) = (who.actor(), CompanyInput::from(body.into_inner()));
    let c = app
        .run(move |conn, app| uc::create(conn, &app.keys, &actor, &input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/companies/{}", c.id)))
        .json(CompanyJson::from(c)))
}

/// Read a company
#[utoipa::path(
    get,
    path = "/api/v1/companies/{id}",
    tag = "companies",
    operation_id = "getCompany",
    params(("id" = String, Path, description = "Company id.")),
    security(("bearerAuth" = []), ("applicationAuth" = ["companies:read"])),
    responses(
        (status = 200, description = "The company.", body = CompanyJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(app: State, who: Acting, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let c = app
        .run(move |conn, app| uc::read(app, conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(CompanyJson::from(c)))
}

/// The fields to change, all optional, and `status`.
#[derive(Deserialize, ToSchema)]
#[schema(as = CompanyPatch, example = json!({"trade_name": "Pão Quente Centro", "status": "suspended"}))]
pub struct PatchBody {
    #[serde(flatten)]
    fields: CompanyBody,
    /// Suspend, reactivate or archive.
    #[serde(default, deserialize_with = "no_null")]
    #[schema(value_type = CompanyStatus, required = false)]
    status: Option<String>,
}

/// Change a company
///
/// A company admin may change only the contact fields of their own company.
#[utoipa::path(
    patch,
    path = "/api/v1/companies/{id}",
    tag = "companies",
    operation_id = "updateCompany",
    params(("id" = String, Path, description = "Company id.")),
    request_body = PatchBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The changed company.", body = CompanyJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn update(
    app: State,
    who: Acting,
    id: web::Path<String>,
    body: crate::routes::api::JsonBody<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, body) = (who.actor(), id.into_inner(), body.into_inner());
    let status = parse_status(body.status.as_deref())?;
    let fields = CompanyInput::from(body.fields);
    let c = app
        .run(move |conn, app| uc::patch(conn, &app.keys, &actor, &id, &fields, status))
        .await?;
    Ok(HttpResponse::Ok().json(CompanyJson::from(c)))
}

/// Archive a company
///
/// Its links and tokens are revoked; it leaves the lists unless `status=archived` is
/// asked for.
#[utoipa::path(
    delete,
    path = "/api/v1/companies/{id}",
    tag = "companies",
    operation_id = "archiveCompany",
    params(("id" = String, Path, description = "Company id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Archived."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
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
