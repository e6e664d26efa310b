//! `/admin/audit`: the trail with filters and pagination.

use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use crate::domain::Action;
use crate::services::audit;
use crate::services::audit::Filter;
use crate::time;
use crate::views::AuditView;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Nav, Query, render};

const PAGE_SIZE: usize = 100;

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    company_id: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: Ctx,
    q: AuditQuery,
    actions: Vec<(&'static str, &'static str)>,
    rows: Vec<AuditView>,
    next_url: Option<String>,
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Turns the page's query into a store filter; dates are São Paulo calendar days, `to`
/// inclusive.
pub fn filter_from(q: &AuditQuery) -> Filter {
    Filter {
        company_id: non_empty(&q.company_id),
        actor: non_empty(&q.actor),
        action: non_empty(&q.action),
        from: time::parse_br_date(&q.from).and_then(time::br_day_start),
        to: time::parse_br_date(&q.to)
            .and_then(|d| d.succ_opt())
            .and_then(time::br_day_start),
        before: q.before.parse().ok(),
        tenant_team: None,
        subject: None,
    }
}

impl AuditQuery {
    /// The same filters, from the entry before `id` on.
    fn url_before(&self, id: i64) -> String {
        let qs = serde_urlencoded::to_string([
            ("company_id", self.company_id.as_str()),
            ("actor", &self.actor),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
            ("before", &id.to_string()),
        ]);
        format!("/admin/audit?{}", qs.unwrap_or_default())
    }
}

pub async fn list(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let (q, actor) = (query.into_inner(), who.actor());
    let filter = filter_from(&q);
    let (rows, more) = state
        .run(move |conn, _| audit::list(conn, &actor, filter, PAGE_SIZE))
        .await?;
    let next_url = rows
        .last()
        .filter(|_| more)
        .map(|last| q.url_before(last.id));
    render(&AuditPage {
        ctx: ctx.with_nav(Nav::Audit),
        q,
        actions: Action::ALL
            .iter()
            .map(|a| (a.as_str(), a.label()))
            .collect(),
        rows: rows.iter().map(AuditView::from).collect(),
        next_url,
    })
}
