//! `/admin/settings`: the e-mail configuration state, the outbox, a test message.

use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use crate::config::Settings;
use crate::services::email;
use crate::services::email::Queued;
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, Nav, redirect_outcome, redirect_with, render};

struct QueueRow {
    created: String,
    to: String,
    subject: String,
    status: &'static str,
    attempts: i64,
    last_error: String,
    sent: String,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    ctx: Ctx,
    smtp: Option<(String, u16, &'static str, String, bool)>,
    mail_from: String,
    pending: i64,
    dead: i64,
    rows: Vec<QueueRow>,
    default_to: String,
    /// Where alerts go, and whether that comes from OTM_ALERT_EMAILS.
    alert_to: (String, bool),
    /// The second factor's policy: roles from `OTM_MFA_REQUIRED` (empty when `none`)
    /// and whether the owner requires it of company admins.
    mfa_roles: String,
    mfa_company_admin: bool,
}

impl From<Queued> for QueueRow {
    fn from(m: Queued) -> Self {
        Self {
            created: time::db_to_br(&m.created_at),
            status: if m.status == "sent" {
                "Enviado"
            } else if m.gave_up_at.is_some() {
                "Não enviado (desistimos)"
            } else {
                "Na fila"
            },
            to: m.to_addr,
            subject: m.subject,
            attempts: m.attempts,
            last_error: m.last_error.unwrap_or_default(),
            sent: m.sent_at.as_deref().map(time::db_to_br).unwrap_or_default(),
        }
    }
}

impl SettingsPage {
    fn new(ctx: Ctx, settings: &Settings, q: email::QueueState, default_to: String) -> Self {
        let alert_to = if settings.alert_emails.is_empty() {
            (q.owners.join(", "), false)
        } else {
            (settings.alert_emails.join(", "), true)
        };
        let smtp = settings.smtp.as_ref().map(|s| {
            let user = s.username.clone().unwrap_or_default();
            (
                s.host.clone(),
                s.port,
                s.security.as_str(),
                user,
                s.password.is_some(),
            )
        });
        Self {
            ctx,
            smtp,
            mail_from: settings.mail_from.clone(),
            pending: q.pending,
            dead: q.dead,
            rows: q.recent.into_iter().map(QueueRow::from).collect(),
            default_to,
            alert_to,
            mfa_roles: settings
                .mfa_required
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join(", "),
            mfa_company_admin: false,
        }
    }
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let (q, company_admin) = state
        .run(move |conn, _| {
            let q = email::queue_state(conn, &actor)?;
            Ok((q, crate::services::mfa::company_admin_required(conn)?))
        })
        .await?;
    let me = who.principal.user.email.clone();
    let mut page = SettingsPage::new(ctx.with_nav(Nav::Settings), &state.settings, q, me);
    page.mfa_company_admin = company_admin;
    render(&page)
}

#[derive(Deserialize)]
pub struct TestForm {
    #[serde(default)]
    to: String,
}

pub async fn send_test(
    state: State,
    who: Acting,
    Form(form): Form<TestForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, to) = (who.actor(), form.to.clone());
    let result = state
        .run(move |conn, app| {
            email::send_test(conn, &app.keys, &actor, &to, &app.settings.base_url)
        })
        .await;
    // Until mail is set up, say the truth: the message waits in the queue.
    let queued = if state.settings.smtp.is_some() {
        format!(
            "E-mail de teste colocado na fila para {}. Ele sai em alguns segundos.",
            form.to.trim()
        )
    } else {
        "E-mail de teste colocado na fila, mas o envio não está configurado: ele fica guardado até o servidor de e-mail ser configurado.".to_string()
    };
    redirect_outcome(&state, "/admin/settings", result.map(|()| queued))
}

/// "Tentar de novo": the dead letters get a new round of attempts.
pub async fn retry_mail(
    state: State,
    who: SignedIn,
    _f: Form<crate::routes::auth::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let n = state
        .run(move |conn, app| email::retry_dead(conn, &app.keys, &app.settings, &actor))
        .await?;
    let msg = format!("{n} e-mail(s) voltaram para a fila e serão enviados de novo.");
    Ok(redirect_with(
        &state,
        "/admin/settings",
        Flash::success(msg),
    ))
}
