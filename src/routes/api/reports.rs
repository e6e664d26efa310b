//! `GET /api/v1/reports/usage`: usage per day, company, application and operation, as
//! JSON or (`format=csv`, or `Accept: text/csv`) CSV.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::db::usage::Filter;
use crate::error::AppError;
use crate::services::usage;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

#[derive(Deserialize)]
pub struct Params {
    from: Option<String>,
    to: Option<String>,
    company_id: Option<String>,
    application_id: Option<String>,
    format: Option<String>,
}

fn day(field: &str, v: Option<String>) -> Result<Option<String>, AppError> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(|d| Some(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| AppError::field(field, "must be a date like 2026-11-28")),
    }
}

/// One CSV field, quoted when needed.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn to_csv(rows: &[crate::db::usage::Row]) -> String {
    let mut out = String::from("date,company_id,application_id,operation,count\n");
    for (date, company, app, op, n) in rows {
        out.push_str(&format!(
            "{},{},{},{},{n}\n",
            csv_field(date),
            csv_field(company),
            csv_field(app),
            csv_field(op)
        ));
    }
    out
}

pub async fn usage(
    req: HttpRequest,
    state: State,
    who: Acting,
    p: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let p = p.into_inner();
    let filter = Filter {
        from: day("from", p.from)?,
        to: day("to", p.to)?,
        company_id: p.company_id.filter(|s| !s.is_empty()),
        application_id: p.application_id.filter(|s| !s.is_empty()),
    };
    let wants_csv = p.format.as_deref() == Some("csv")
        || req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    let actor = who.actor();
    let rows = state
        .run(move |conn, app| usage::report(conn, &app.meter, &actor, filter))
        .await?;
    if wants_csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"uso-da-api.csv\"",
            ))
            .body(to_csv(&rows)));
    }
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(date, company_id, application_id, operation, count)| {
            serde_json::json!({ "date": date, "company_id": company_id, "application_id": application_id, "operation": operation, "count": count })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": null })))
}
