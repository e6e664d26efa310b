//! `GET /api/v1/reports/usage`: usage per day, company, application and operation, as
//! JSON or (`format=csv`, or `Accept: text/csv`) CSV.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;
use crate::services::usage;
use crate::services::usage::Filter;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

use super::ListJson;
use super::openapi::{BadRequest, Forbidden, Unauthorized, ValidationFailed};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A parameter the document does not name is refused (400), so a typo is not silently
// a different query.
#[serde(deny_unknown_fields)]
pub struct Params {
    /// From this day (São Paulo), inclusive.
    #[param(format = Date, example = "2026-11-01")]
    from: Option<String>,
    /// Up to this day, inclusive.
    #[param(format = Date, example = "2026-11-30")]
    to: Option<String>,
    company_id: Option<String>,
    application_id: Option<String>,
    /// `csv` for CSV (as `Accept: text/csv` does); JSON otherwise.
    #[param(example = "csv")]
    format: Option<String>,
}

/// Calls of one day, company, application and operation. A row without `company_id`
/// is about no company of the application: its refusal counter (operation `refused`:
/// calls refused on ids that are not its companies, or on routes it may not use,
/// counted without the id), or its other calls such as `auth.token` (tokens issued).
#[derive(Serialize, ToSchema)]
#[schema(as = UsageRow)]
pub struct UsageJson {
    #[schema(format = Date, example = "2026-11-28")]
    date: String,
    /// `null` for the application's refusal counter and its calls about no company.
    company_id: Option<String>,
    application_id: String,
    /// Such as `omie:ListarClientes`, `omie_credentials.read`, `companies.read`,
    /// `companies.list`, `auth.token`, `refused` or `failed` (Omie unreachable, timed
    /// out or answering with an error).
    #[schema(example = "omie:ListarClientes")]
    operation: String,
    count: i64,
}

/// An empty `from=` or `to=` is refused (422) like any other non-date: "no bound" is
/// the parameter left out.
fn day(field: &str, v: Option<String>) -> Result<Option<String>, AppError> {
    match v {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(|d| Some(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| AppError::field(field, "must be a date like 2026-11-28")),
    }
}

/// The CSV's columns: the usage row's fields, then the names of the company and the
/// application (empty for a refusal counter's company).
pub const CSV_HEADER: &str =
    "date,company_id,application_id,operation,count,company_name,application_name\n";

/// The rows as CSV; every text cell through [`crate::csv::cell`], so none can start a
/// formula.
pub fn to_csv(rows: &[crate::services::usage::Row]) -> String {
    let mut out = String::from(CSV_HEADER);
    for r in rows {
        out.push_str(&crate::csv::line(&[
            r.date.as_str(),
            r.company_id.as_deref().unwrap_or(""),
            &r.application_id,
            &r.operation,
            &r.count.to_string(),
            r.company_name.as_deref().unwrap_or(""),
            r.application_name.as_deref().unwrap_or(""),
        ]));
    }
    out
}

/// API usage
///
/// Per day, company, application and operation; one page holds every row.
#[utoipa::path(
    get,
    path = "/api/v1/reports/usage",
    tag = "reports",
    operation_id = "usageReport",
    params(Params),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The rows.", content(
            (ListJson<UsageJson> = "application/json"),
            (String = "text/csv", example = "date,company_id,application_id,operation,count,company_name,application_name\n"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn usage(
    req: HttpRequest,
    state: State,
    who: Acting,
    p: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let (p, actor) = (p.into_inner(), who.actor());
    let wants_csv = p.format.as_deref() == Some("csv") || accepts_csv(&req);
    let filter = p.filter()?;
    let rows = state
        .run(move |conn, app| usage::report(conn, &app.meter, &actor, filter))
        .await?;
    if wants_csv {
        return Ok(csv_response(&rows));
    }
    let items = rows.into_iter().map(UsageJson::from).collect();
    Ok(HttpResponse::Ok().json(ListJson::new(items, None)))
}

impl Params {
    fn filter(&self) -> Result<Filter, AppError> {
        Ok(Filter {
            from: day("from", self.from.clone())?,
            to: day("to", self.to.clone())?,
            company_id: self.company_id.clone().filter(|s| !s.is_empty()),
            application_id: self.application_id.clone().filter(|s| !s.is_empty()),
        })
    }
}

fn accepts_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"))
}

/// The usage rows as a CSV download (the dashboard's link and `format=csv` alike).
pub fn csv_response(rows: &[crate::services::usage::Row]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"uso-da-api.csv\"",
        ))
        .body(to_csv(rows))
}

impl From<crate::services::usage::Row> for UsageJson {
    fn from(r: crate::services::usage::Row) -> Self {
        Self {
            date: r.date,
            company_id: r.company_id,
            application_id: r.application_id,
            operation: r.operation,
            count: r.count,
        }
    }
}

/// Send the summary report now
///
/// The summary report e-mailed to the owners every Monday at `OTM_DIGEST_TIME` goes out
/// now: companies added, suspended and archived in the last 7 days, people waiting for
/// approval, usage by company and application against the week before, companies whose
/// Omie credentials fail, the week's backups and alerts, and the monthly recurring
/// revenue. No person's name or e-mail is in it. Owner only.
#[utoipa::path(
    post,
    path = "/api/v1/reports/summary",
    tag = "reports",
    operation_id = "sendSummaryReport",
    security(("bearerAuth" = [])),
    responses(
        (status = 202, description = "Queued to every owner."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = super::openapi::NotFound),
    )
)]
pub async fn summary(state: State, who: Acting) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    state
        .run(move |conn, app| {
            crate::services::summary::send(
                conn,
                &app.keys,
                &app.meter,
                &app.settings.base_url,
                &actor,
            )
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
