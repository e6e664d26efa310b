//! `/admin/settings`: the e-mail configuration state, the outbox, a test message.

use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use actix_web::http::StatusCode;

use crate::error::{AppError, FieldError};
use crate::services::email;
use crate::services::email::Queued;
use crate::services::mail_settings::{self, MailConfig, MailInput};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{
    Ctx, Flash, Form, Nav, redirect_outcome, redirect_with, render, render_status,
};

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
    /// True while an SMTP host is in force.
    configured: bool,
    /// The form's values (what is in force, or what was typed when it was refused).
    v: MailForm,
    has_password: bool,
    /// The environment variable of each field the server fixes, by field name.
    fixed: Vec<(&'static str, String)>,
    errors: Vec<FieldError>,
    pending: i64,
    dead: i64,
    rows: Vec<QueueRow>,
    default_to: String,
    /// Where alerts go now.
    alert_to: String,
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

/// The e-mail settings form, as typed (the password is never echoed back; no `Debug`,
/// as it holds the password).
#[derive(Clone, Default, Deserialize)]
pub struct MailForm {
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    security: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    clear_password: Option<String>,
    #[serde(default)]
    mail_from: String,
    #[serde(default)]
    alert_emails: String,
}

impl MailForm {
    fn from_config(c: &MailConfig) -> Self {
        Self {
            host: c.host.clone(),
            port: c.port.map(|p| p.to_string()).unwrap_or_default(),
            security: c.security.as_str().to_string(),
            username: c.username.clone(),
            password: String::new(),
            clear_password: None,
            mail_from: c.mail_from.clone(),
            alert_emails: c.alert_emails.join(", "),
        }
    }

    fn input(&self) -> MailInput {
        MailInput {
            host: self.host.clone(),
            port: self.port.clone(),
            security: self.security.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            clear_password: self.clear_password.clone(),
            mail_from: self.mail_from.clone(),
            alert_emails: self.alert_emails.clone(),
        }
    }
}

impl SettingsPage {
    fn new(ctx: Ctx, loaded: Loaded, default_to: String) -> Self {
        let Loaded {
            queue: q,
            mail: c,
            company_admin,
        } = loaded;
        let alert_to = if c.alert_emails.is_empty() {
            q.owners.join(", ")
        } else {
            c.alert_emails.join(", ")
        };
        let fixed = [
            ("host", mail_settings::HOST),
            ("port", mail_settings::PORT),
            ("security", mail_settings::SECURITY),
            ("username", mail_settings::USERNAME),
            ("password", mail_settings::PASSWORD),
            ("mail_from", mail_settings::MAIL_FROM),
            ("alert_emails", mail_settings::ALERT_EMAILS),
        ]
        .into_iter()
        .filter(|(_, k)| c.is_fixed(k))
        .map(|(f, k)| (f, mail_settings::env_name(k)))
        .collect();
        Self {
            ctx,
            configured: c.smtp.is_some(),
            v: MailForm::from_config(&c),
            has_password: c.has_password,
            fixed,
            errors: vec![],
            pending: q.pending,
            dead: q.dead,
            rows: q.recent.into_iter().map(QueueRow::from).collect(),
            default_to,
            alert_to,
            mfa_roles: String::new(),
            mfa_company_admin: company_admin,
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// The variable that fixes `field`, when one does.
    fn fixed_by(&self, field: &str) -> Option<&str> {
        self.fixed
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }
}

struct Loaded {
    queue: email::QueueState,
    mail: MailConfig,
    company_admin: bool,
}

async fn load(state: &State, who: &SignedIn) -> Result<Loaded, PageError> {
    let actor = who.actor();
    Ok(state
        .run(move |conn, app| {
            let queue = email::queue_state(conn, &actor)?;
            let mail = mail_settings::load(conn, &app.keys, &app.settings)?;
            let company_admin = crate::services::mfa::company_admin_required(conn)?;
            Ok(Loaded {
                queue,
                mail,
                company_admin,
            })
        })
        .await?)
}

fn page(state: &State, ctx: Ctx, who: &SignedIn, loaded: Loaded) -> SettingsPage {
    let me = who.principal.user.email.clone();
    let mut page = SettingsPage::new(ctx.with_nav(Nav::Settings), loaded, me);
    page.mfa_roles = state
        .settings
        .mfa_required
        .iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(", ");
    page
}

pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let loaded = load(&state, &who).await?;
    render(&page(&state, ctx, &who, loaded))
}

/// "Salvar configurações de e-mail": stored, or the page again with what was typed and
/// what to fix.
pub async fn update_mail(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(form): Form<MailForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, input) = (who.actor(), form.input());
    let result = state
        .run(move |conn, app| mail_settings::update(conn, &app.keys, &app.settings, &actor, &input))
        .await;
    match result {
        Ok(c) => {
            let msg = if c.smtp.is_some() {
                "Configurações de e-mail salvas. Use \"Enviar teste\" para conferir se as mensagens chegam."
            } else {
                "Configurações de e-mail salvas. Sem servidor de e-mail, as mensagens ficam na fila até o envio ser configurado."
            };
            Ok(redirect_with(
                &state,
                "/admin/settings",
                Flash::success(msg),
            ))
        }
        Err(AppError::Validation(errors)) => {
            let loaded = load(&state, &who).await?;
            let mut p = page(&state, ctx, &who, loaded);
            // Keep what was typed in the fields the page lets the owner change.
            let mut v = form;
            v.password = String::new();
            v.clear_password = None;
            for (field, _) in &p.fixed {
                match *field {
                    "host" => v.host = p.v.host.clone(),
                    "port" => v.port = p.v.port.clone(),
                    "security" => v.security = p.v.security.clone(),
                    "username" => v.username = p.v.username.clone(),
                    "mail_from" => v.mail_from = p.v.mail_from.clone(),
                    "alert_emails" => v.alert_emails = p.v.alert_emails.clone(),
                    _ => {}
                }
            }
            p.v = v;
            p.errors = errors;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &p)
        }
        Err(e) => Err(e.into()),
    }
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
    let queued = state
        .run(move |conn, app| {
            let id = email::send_test(conn, &app.keys, &actor, &to, &app.settings.base_url)?;
            Ok((id, mail_settings::sending_configured(conn, &app.settings)?))
        })
        .await;
    let to = form.to.trim().to_string();
    let (id, configured) = match queued {
        Ok(q) => q,
        Err(e) => return redirect_outcome(&state, "/admin/settings", Err(e)),
    };
    if !configured {
        return Ok(redirect_with(
            &state,
            "/admin/settings",
            Flash::success(format!(
                "E-mail de teste para {to} colocado na fila, mas o envio não está configurado: o e-mail ficará na fila até o envio ser configurado (preencha o servidor de e-mail acima)."
            )),
        ));
    }
    // Wait a little for the mailer, to say what happened.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(12);
    loop {
        let actor = who.actor();
        let status = state
            .run(move |conn, _| mail_settings::test_status(conn, &actor, id))
            .await?;
        let flash = match status {
            Some(Ok(())) => Some(Flash::success(format!(
                "E-mail de teste enviado para {to}. Confira a caixa de entrada (e a pasta de spam)."
            ))),
            Some(Err(reason)) => Some(Flash::error(format!(
                "O e-mail de teste para {to} não foi enviado: {} Ele continua na fila e será tentado de novo.",
                mail_settings::reason_br(&reason)
            ))),
            None if std::time::Instant::now() >= deadline => Some(Flash::success(format!(
                "E-mail de teste para {to} colocado na fila; o servidor de e-mail ainda não respondeu. Veja a situação na fila abaixo."
            ))),
            None => None,
        };
        if let Some(f) = flash {
            return Ok(redirect_with(&state, "/admin/settings", f));
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(250)).await;
    }
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
