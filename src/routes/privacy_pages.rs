//! The privacy pages: the public notice `/privacidade`, and under `/admin/privacidade/`
//! the record of processing (`registro`, CSV), the retention periods (`retencao`) and
//! the incident register (`incidentes`). Everything they show comes from the data
//! inventory through `services::privacy` and `services::retention`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::holidays;
use crate::domain::inventory::Rule;
use crate::services::privacy::{self, FollowUpInput, IncidentInput, IncidentView, Notice};
use crate::services::retention;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Form, Nav, redirect_outcome, render};

// ---- /privacidade ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "privacy_notice.html")]
struct NoticePage {
    ctx: Ctx,
    n: Notice,
}

pub async fn notice(state: State, ctx: Ctx) -> Result<HttpResponse, PageError> {
    let n = state
        .run(|conn, app| privacy::notice(conn, &app.settings))
        .await?;
    render(&NoticePage { ctx, n })
}

// ---- /admin/privacidade/registro ---------------------------------------------------

#[derive(Template)]
#[template(path = "admin/privacy_record.html")]
struct RecordPage {
    ctx: Ctx,
    n: Notice,
}

pub async fn record(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let n = state
        .run(move |conn, app| {
            actor.platform_only()?;
            privacy::notice(conn, &app.settings)
        })
        .await?;
    render(&RecordPage {
        ctx: ctx.with_nav(Nav::Audit),
        n,
    })
}

pub async fn record_csv(state: State, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let body = state
        .run(move |conn, app| privacy::record_csv(conn, &actor, &app.settings))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"registro-de-operacoes.csv\"",
        ))
        .body(body))
}

// ---- /admin/privacidade/retencao ---------------------------------------------------

struct PeriodRow {
    key: &'static str,
    label: &'static str,
    days: u32,
    min: u32,
    max: u32,
    counted_from: &'static str,
    note: &'static str,
}

#[derive(Template)]
#[template(path = "admin/privacy_retention.html")]
struct RetentionPage {
    ctx: Ctx,
    rows: Vec<PeriodRow>,
    may_change: bool,
}

pub async fn retention_show(
    state: State,
    ctx: Ctx,
    who: SignedIn,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let may_change = privacy::may_change_retention(&actor);
    let periods = state
        .run(move |conn, _| retention::periods_for(conn, &actor))
        .await?;
    let rows = periods
        .into_iter()
        .map(|(r, days): (Rule, u32)| PeriodRow {
            key: r.key(),
            label: r.label(),
            days,
            min: r.min_days(),
            max: r.max_days(),
            counted_from: r.counted_from(),
            note: r.legal_note(),
        })
        .collect();
    render(&RetentionPage {
        ctx: ctx.with_nav(Nav::Audit),
        rows,
        may_change,
    })
}

#[derive(Deserialize)]
pub struct RetentionForm {
    #[serde(default)]
    rule: String,
    #[serde(default)]
    days: String,
}

pub async fn retention_save(
    state: State,
    who: Acting,
    Form(f): Form<RetentionForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let result = state
        .run(move |conn, app| retention::set_days(conn, &app.keys, &actor, &f.rule, &f.days))
        .await
        .map(|d| format!("Prazo salvo: {d} dias."));
    redirect_outcome(&state, "/admin/privacidade/retencao", result)
}

// ---- /admin/privacidade/incidentes -------------------------------------------------

struct IncidentRow {
    id: String,
    known_on: String,
    deadline: String,
    overdue: bool,
    summary: String,
    data_affected: String,
    people_affected: String,
    risk: &'static str,
    measures: String,
    anpd_notified_on: String,
    subjects_notified_on: String,
    communication: String,
    created_by: String,
}

fn br(d: &str) -> String {
    crate::time::parse_br_date(d)
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

impl From<IncidentView> for IncidentRow {
    fn from(v: IncidentView) -> Self {
        let i = v.incident;
        let overdue = i.anpd_notified_on.is_none()
            && i.risk == "relevant"
            && v.deadline.is_some_and(|d| d < crate::time::today_br());
        Self {
            deadline: v
                .deadline
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_default(),
            overdue,
            known_on: br(&i.known_on),
            risk: if i.risk == "relevant" {
                "Risco ou dano relevante"
            } else {
                "Baixo"
            },
            anpd_notified_on: i.anpd_notified_on.as_deref().map(br).unwrap_or_default(),
            subjects_notified_on: i
                .subjects_notified_on
                .as_deref()
                .map(br)
                .unwrap_or_default(),
            id: i.id,
            summary: i.summary,
            data_affected: i.data_affected,
            people_affected: i.people_affected,
            measures: i.measures,
            communication: i.communication,
            created_by: i.created_by,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/privacy_incidents.html")]
struct IncidentsPage {
    ctx: Ctx,
    rows: Vec<IncidentRow>,
    today: String,
    today_deadline: String,
}

pub async fn incidents(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let list = state
        .run(move |conn, _| privacy::incidents(conn, &actor))
        .await?;
    let today = crate::time::today_br();
    render(&IncidentsPage {
        ctx: ctx.with_nav(Nav::Audit),
        rows: list.into_iter().map(IncidentRow::from).collect(),
        today: today.format("%d/%m/%Y").to_string(),
        today_deadline: holidays::anpd_deadline(today)
            .format("%d/%m/%Y")
            .to_string(),
    })
}

#[derive(Deserialize)]
pub struct IncidentForm {
    #[serde(default)]
    known_on: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    data_affected: String,
    #[serde(default)]
    people_affected: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    measures: String,
}

pub async fn incident_create(
    state: State,
    who: Acting,
    Form(f): Form<IncidentForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let result = state
        .run(move |conn, app| {
            let input = IncidentInput {
                known_on: &f.known_on,
                summary: &f.summary,
                data_affected: &f.data_affected,
                people_affected: &f.people_affected,
                risk: &f.risk,
                measures: &f.measures,
            };
            privacy::create_incident(conn, &app.keys, &actor, &input)
        })
        .await
        .map(|i| {
            let deadline = crate::time::parse_br_date(&i.known_on)
                .map(|d| holidays::anpd_deadline(d).format("%d/%m/%Y").to_string())
                .unwrap_or_default();
            format!("Incidente registrado. Prazo para comunicar a ANPD, se houver risco ou dano relevante: {deadline}.")
        });
    redirect_outcome(&state, "/admin/privacidade/incidentes", result)
}

#[derive(Deserialize)]
pub struct FollowUpForm {
    #[serde(default)]
    measures: String,
    #[serde(default)]
    anpd_notified_on: String,
    #[serde(default)]
    subjects_notified_on: String,
    #[serde(default)]
    communication: String,
}

pub async fn incident_update(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<FollowUpForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let result = state
        .run(move |conn, app| {
            let input = FollowUpInput {
                measures: &f.measures,
                anpd_notified_on: &f.anpd_notified_on,
                subjects_notified_on: &f.subjects_notified_on,
                communication: &f.communication,
            };
            privacy::follow_up_incident(conn, &app.keys, &actor, &id, &input)
        })
        .await
        .map(|_| "Incidente atualizado.".to_string());
    redirect_outcome(&state, "/admin/privacidade/incidentes", result)
}
