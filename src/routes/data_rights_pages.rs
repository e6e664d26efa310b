//! LGPD pages: "Minha conta → Baixar meus dados" and a person's requests (both areas),
//! the owner's queue `/admin/privacidade` with its deadlines, the owner's export of any
//! person, and the audit trail's CSV downloads.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::PrivacyKind;
use crate::error::AppError;
use crate::routes::api::privacy::{csv_download, download_json};
use crate::routes::profile::base_of;
use crate::services::data_rights::{self, Request};
use crate::time;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Nav, Query, redirect_with, render};

/// A request as the pages show it: Brazilian dates, the deadline in days.
pub struct RequestView {
    pub id: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub status_kind: &'static str,
    pub open: bool,
    pub person: String,
    pub email: String,
    pub message: String,
    pub created: String,
    pub due: String,
    /// "vence em 3 dias", "vence hoje", "atrasado há 2 dias".
    pub deadline: String,
    pub overdue: bool,
    pub resolved: String,
    pub reason: String,
}

impl From<&Request> for RequestView {
    fn from(r: &Request) -> Self {
        use crate::domain::PrivacyStatus as S;
        let open = r.status == S::Open;
        let now = time::now();
        let due = time::parse_db(&r.due_at).unwrap_or(now);
        let overdue = open && due < now;
        // Days counted on São Paulo's calendar, as people count a deadline.
        let day = |t: chrono::DateTime<chrono::Utc>| {
            t.with_timezone(&chrono_tz::America::Sao_Paulo).date_naive()
        };
        let days = (day(due) - day(now)).num_days();
        let deadline = if !open {
            String::new()
        } else if overdue {
            match -days {
                i64::MIN..=0 => "prazo vencido hoje".to_string(),
                1 => "atrasado há 1 dia".to_string(),
                n => format!("atrasado há {n} dias"),
            }
        } else {
            match days {
                i64::MIN..=0 => "vence hoje".to_string(),
                1 => "vence amanhã".to_string(),
                n => format!("vence em {n} dias"),
            }
        };
        Self {
            id: r.id.clone(),
            kind: r.kind.label(),
            status: r.status.label(),
            status_kind: match r.status {
                S::Open => "pending",
                S::Done => "active",
                S::Refused => "archived",
            },
            open,
            person: r.user_name.clone(),
            email: r.user_email.clone(),
            message: r.message.clone(),
            created: time::db_to_br(&r.created_at),
            due: time::db_to_br(&r.due_at),
            deadline,
            overdue,
            resolved: r
                .resolved_at
                .as_deref()
                .map(time::db_to_br)
                .unwrap_or_default(),
            reason: r.reason.clone(),
        }
    }
}

/// The kinds a person may ask for, for the form's select.
pub fn kinds() -> Vec<(&'static str, &'static str)> {
    PrivacyKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}

/// `GET {profile}/export`: the person's own data as a JSON download.
pub async fn export_own(state: State, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let doc = state
        .run(move |conn, app| data_rights::export(conn, &app.keys, &actor, None))
        .await?;
    Ok(download_json(&doc, "meus-dados.json"))
}

/// `GET /admin/users/{id}/export`: the owner downloads anyone's data (staff: 403).
pub async fn export_person(
    state: State,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let doc = state
        .run(move |conn, app| data_rights::export(conn, &app.keys, &actor, Some(&id)))
        .await?;
    Ok(download_json(&doc, "dados-da-pessoa.json"))
}

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    message: String,
}

/// `POST {profile}/privacy-requests`: the person opens a request.
pub async fn open(
    state: State,
    who: SignedIn,
    Form(f): Form<OpenForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let back = format!("{}#privacidade", base_of(&who));
    let r = state
        .run(move |conn, app| {
            let base = &app.settings.base_url;
            data_rights::open_request(conn, &app.keys, base, &actor, &f.kind, &f.message)
        })
        .await;
    match r {
        Ok(r) => Ok(redirect_with(
            &state,
            &back,
            Flash::success(format!(
                "Pedido registrado. A resposta vem até {}; você recebe um e-mail a cada passo.",
                time::db_to_br(&r.due_at)
            )),
        )),
        Err(AppError::Validation(errors)) => {
            let m = errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| "Confira o pedido.".into());
            Ok(redirect_with(&state, &back, Flash::error(m)))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/privacidade.html")]
struct QueuePage {
    ctx: Ctx,
    open: Vec<RequestView>,
    answered: Vec<RequestView>,
}

/// `GET /admin/privacidade`: the requests, open ones first with their deadlines.
pub async fn queue(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let rows = state
        .run(move |conn, _| data_rights::list_requests(conn, &actor))
        .await?;
    let (open, answered): (Vec<RequestView>, Vec<RequestView>) =
        rows.iter().map(RequestView::from).partition(|r| r.open);
    render(&QueuePage {
        ctx: ctx.with_nav(Nav::Privacy),
        open,
        answered,
    })
}

#[derive(Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
}

/// `POST /admin/privacidade/{id}/resolve`.
pub async fn resolve(
    state: State,
    who: SignedIn,
    id: web::Path<String>,
    Form(f): Form<ResolveForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let r = state
        .run(move |conn, app| {
            let base = &app.settings.base_url;
            data_rights::resolve(conn, &app.keys, base, &actor, &id, &f.outcome, &f.reason)
        })
        .await;
    let back = "/admin/privacidade";
    match r {
        Ok(r) => Ok(redirect_with(
            &state,
            back,
            Flash::success(format!(
                "Pedido de {} respondido ({}). A pessoa foi avisada por e-mail.",
                r.user_name,
                r.status.label().to_lowercase()
            )),
        )),
        Err(AppError::Validation(errors) | AppError::Conflict(errors)) => {
            let m = errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| "Confira a resposta.".into());
            Ok(redirect_with(&state, back, Flash::error(m)))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsvQuery {
    #[serde(default)]
    anonymized: Option<String>,
}

/// `GET /admin/audit.csv?anonymized=true|false`: the trail as a download; the clear
/// form is the owner's only.
pub async fn audit_csv(
    state: State,
    who: SignedIn,
    q: Query<CsvQuery>,
) -> Result<HttpResponse, PageError> {
    let anonymized = q.into_inner().anonymized.as_deref() != Some("false");
    let actor = who.actor();
    let csv = state
        .run(move |conn, app| data_rights::audit_csv(conn, &app.keys, &actor, anonymized))
        .await?;
    Ok(csv_download(csv, anonymized))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PrivacyStatus;

    fn request(due_in_days: i64, status: PrivacyStatus) -> Request {
        let now = time::now();
        Request {
            id: "prq_1".into(),
            user_id: "usr_1".into(),
            company_id: None,
            kind: PrivacyKind::Erasure,
            message: String::new(),
            status,
            created_at: time::to_db(now - chrono::Duration::days(15 - due_in_days)),
            due_at: time::to_db(now + chrono::Duration::days(due_in_days)),
            resolved_at: None,
            resolved_by: None,
            reason: String::new(),
            user_name: "Bruno".into(),
            user_email: "bruno@x.com.br".into(),
        }
    }

    #[test]
    fn deadlines_read_in_days_and_late_requests_stand_out() {
        let v = RequestView::from(&request(15, PrivacyStatus::Open));
        assert_eq!(
            (v.deadline.as_str(), v.overdue),
            ("vence em 15 dias", false)
        );
        let v = RequestView::from(&request(1, PrivacyStatus::Open));
        assert_eq!(v.deadline, "vence amanhã");
        let v = RequestView::from(&request(-3, PrivacyStatus::Open));
        assert_eq!(
            (v.deadline.as_str(), v.overdue),
            ("atrasado há 3 dias", true)
        );
        let v = RequestView::from(&request(-3, PrivacyStatus::Done));
        assert_eq!((v.deadline.as_str(), v.overdue), ("", false));
    }
}
