//! `/admin/audit`: the trail in words with filters and pagination, the chain's last
//! verification (and "Verificar agora"), and the spreadsheet of what the filters find.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use askama::Template;
use serde::Deserialize;

use crate::error::AppError;
use crate::services::audit::Filter;
use crate::services::history::{self, Check, Line};
use crate::time;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Nav, Query, redirect_with, render};

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
    groups: Vec<(&'static str, Vec<(&'static str, &'static str)>)>,
    rows: Vec<Line>,
    next_url: Option<String>,
    /// The same filters, for the spreadsheet.
    export_url: String,
    check: Option<Check>,
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
    fn query_string(&self, before: Option<i64>) -> String {
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        let mut pairs = vec![
            ("company_id", self.company_id.as_str()),
            ("actor", &self.actor),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ];
        if !before.is_empty() {
            pairs.push(("before", &before));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// The same filters, from the entry before `id` on.
    fn url_before(&self, id: i64) -> String {
        format!("/admin/audit?{}", self.query_string(Some(id)))
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
    let (rows, more, check) = state
        .run(move |conn, _| {
            let (rows, more) = history::page(conn, &actor, filter, PAGE_SIZE)?;
            Ok((rows, more, history::last_check(conn)?))
        })
        .await?;
    let next_url = rows
        .last()
        .filter(|_| more)
        .map(|last| q.url_before(last.id));
    render(&AuditPage {
        ctx: ctx.with_nav(Nav::Audit),
        export_url: format!("/admin/audit/export.csv?{}", q.query_string(None)),
        q,
        groups: history::action_groups(),
        rows,
        next_url,
        check,
    })
}

#[derive(Deserialize)]
pub struct Empty {}

/// "Verificar agora": walks the chain, stores the outcome, back to the page.
pub async fn verify(
    state: State,
    who: SignedIn,
    _form: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let check = state
        .run(move |conn, app| history::verify_now(conn, &app.keys, &app.settings, &actor))
        .await?;
    let flash = if check.intact {
        Flash::success(format!(
            "Cadeia íntegra: nenhum dos {} registros foi alterado.",
            crate::views::int_br(check.rows as i64)
        ))
    } else {
        Flash::error("A cadeia de auditoria está quebrada. Veja o aviso abaixo.")
    };
    Ok(redirect_with(&state, "/admin/audit", flash))
}

/// The spreadsheet of what the page's filters find, for Brazilian Excel. Streamed a
/// thousand rows at a time from the blocking pool, so it stays small at any size. Not on
/// the reader threads (`App::run`): it goes at the pace of the client's download, and a
/// few slow downloads would hold readers everyone else needs.
pub async fn export(
    state: State,
    who: SignedIn,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let (q, actor) = (query.into_inner(), who.actor());
    if !actor.is_platform() {
        return Err(AppError::Forbidden.into());
    }
    let filter = filter_from(&q);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let st = state.clone();
    actix_web::rt::spawn(async move {
        let sent = st
            .blocking(move |app| {
                let mut conn = app.pool.get()?;
                history::export_csv(&mut conn, &app.keys.audit, &actor, filter, &mut |chunk| {
                    tx.blocking_send(Bytes::from(chunk)).is_ok()
                })
            })
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = ?e, "the audit spreadsheet stopped early");
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<Bytes, std::io::Error>(chunk), rx))
    });
    let name = format!("auditoria-{}.csv", time::today_br().format("%d-%m-%Y"));
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(body))
}
