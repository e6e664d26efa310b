//! Usage report pages: `/admin/usage` (everything, filterable) and `/portal/usage` (own
//! company), with a per-day chart drawn as server-side SVG and a CSV download.

use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use crate::routes::api::reports::csv_response;
use crate::services::usage::Filter;
use crate::services::{Actor, usage};
use crate::web::State;
use crate::web::error::PageError;
use crate::web::page::{Ctx, Nav, render};

#[derive(Deserialize, Default, Clone)]
pub struct UsageQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub company_id: String,
    #[serde(default)]
    pub application_id: String,
}

struct Bar {
    x: u32,
    y: u32,
    height: u32,
    label: String,
    count: i64,
}

/// A row as the page shows it: names, not ids (the ids stay in a tooltip).
struct Line {
    date: String,
    /// `None` for the application's refusal counter (ids that are not its companies).
    company: Option<(String, String)>,
    application: String,
    application_id: String,
    operation: String,
    count: i64,
}

impl From<&crate::services::usage::Row> for Line {
    fn from(r: &crate::services::usage::Row) -> Self {
        let date = chrono::NaiveDate::parse_from_str(&r.date, "%Y-%m-%d")
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|_| r.date.clone());
        Self {
            date,
            company: r.company_id.as_ref().map(|id| {
                (
                    r.company_name.clone().unwrap_or_else(|| id.clone()),
                    id.clone(),
                )
            }),
            application: r
                .application_name
                .clone()
                .unwrap_or_else(|| r.application_id.clone()),
            application_id: r.application_id.clone(),
            operation: r.operation.clone(),
            count: r.count,
        }
    }
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    ctx: Ctx,
    base: &'static str,
    q: UsageQuery,
    show_company_filter: bool,
    rows: Vec<Line>,
    bars: Vec<Bar>,
    total: i64,
    csv_query: String,
}

fn filter(q: &UsageQuery) -> Filter {
    let day = |s: &str| crate::time::parse_br_date(s).map(|d| d.format("%Y-%m-%d").to_string());
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Filter {
        from: day(&q.from),
        to: day(&q.to),
        company_id: opt(&q.company_id),
        application_id: opt(&q.application_id),
    }
}

async fn rows(
    state: &State,
    actor: Actor,
    q: &UsageQuery,
) -> Result<Vec<crate::services::usage::Row>, PageError> {
    let f = filter(q);
    Ok(state
        .run(move |conn, app| usage::report(conn, &app.meter, &actor, f))
        .await?)
}

/// Totals per day, as bars 20 px wide in a 200 px tall chart.
fn bars(rows: &[crate::services::usage::Row]) -> Vec<Bar> {
    let mut per_day: Vec<(String, i64)> = Vec::new();
    for r in rows {
        match per_day.last_mut() {
            Some((d, total)) if *d == r.date => *total += r.count,
            _ => per_day.push((r.date.clone(), r.count)),
        }
    }
    let max = per_day.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    per_day
        .iter()
        .enumerate()
        .map(|(i, (date, n))| {
            let height = ((*n as f64 / max as f64) * 180.0).round() as u32;
            Bar {
                x: 10 + i as u32 * 24,
                y: 190 - height,
                height,
                label: date.get(5..).unwrap_or(date).to_string(),
                count: *n,
            }
        })
        .collect()
}

pub async fn page(
    state: &State,
    ctx: Ctx,
    actor: Actor,
    base: &'static str,
    q: UsageQuery,
) -> Result<HttpResponse, PageError> {
    let show_company_filter = actor.is_platform();
    let rows = rows(state, actor, &q).await?;
    let bars = bars(&rows);
    let csv_query = serde_urlencoded::to_string([
        ("from", q.from.as_str()),
        ("to", &q.to),
        ("company_id", &q.company_id),
        ("application_id", &q.application_id),
    ])
    .unwrap_or_default();
    let total = rows.iter().map(|r| r.count).sum();
    let rows = rows.iter().map(Line::from).collect();
    render(&UsagePage {
        ctx: ctx.with_nav(Nav::Usage),
        base,
        q,
        show_company_filter,
        rows,
        bars,
        total,
        csv_query,
    })
}

pub async fn csv(state: &State, actor: Actor, q: UsageQuery) -> Result<HttpResponse, PageError> {
    let rows = rows(state, actor, &q).await?;
    Ok(csv_response(&rows))
}
