//! `/signup` and `POST /api/v1/signup`: a person asks for access.

use crate::web::Edge;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::error::{AppError, FieldError};
use crate::services::users::{self, SignupInput};
use crate::web::error::{ApiError, PageError};
use crate::web::page::{Ctx, Form, form_outcome, redirect, render};
use crate::web::{App, State};

/// Said to every visitor, whatever happened: nobody learns which e-mails exist.
const RECEIVED: &str = "Pedido recebido. Enviamos um e-mail para o endereço informado; \
                        você receberá outro quando o pedido for analisado.";
/// The same, while no SMTP server is configured: the mail waits in the queue.
const RECEIVED_QUEUED: &str = "Pedido recebido. Ele será analisado, mas o envio de e-mail deste painel \
                               ainda não foi configurado: a confirmação e a resposta ficarão na fila até o envio \
                               ser configurado. Se precisar de acesso com urgência, fale com quem administra o painel.";

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    ctx: Ctx,
    v: SignupForm,
    errors: Vec<FieldError>,
    done: bool,
    /// The CNPJ look-up is on: the "Buscar dados do CNPJ" button.
    lookup: bool,
    /// What the last look-up said (the company's name, its situação).
    notes: Vec<String>,
    /// Mail leaves (an SMTP server is configured): the flash says a mail was sent.
    mail_on: bool,
}

impl SignupPage {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct SignupForm {
    #[serde(default)]
    cnpj: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default, skip_serializing)]
    password_confirm: String,
    /// Set by the "Buscar dados do CNPJ" button: show the company, ask nothing yet.
    #[serde(default)]
    lookup: String,
}

pub async fn form(state: State, ctx: Ctx) -> Result<HttpResponse, PageError> {
    render(&SignupPage {
        ctx,
        v: SignupForm::default(),
        errors: vec![],
        done: false,
        lookup: state.cnpj.enabled(),
        notes: vec![],
        mail_on: true,
    })
}

/// "Buscar dados do CNPJ" without JavaScript: the form again (never the password) with
/// the company's name and situação from the public register, limited per address.
async fn looked_up(
    req: &HttpRequest,
    state: &State,
    ctx: Ctx,
    v: SignupForm,
) -> Result<HttpResponse, PageError> {
    let mut kept = SignupForm {
        password: String::new(),
        password_confirm: String::new(),
        lookup: String::new(),
        ..v
    };
    let (errors, notes) = match crate::domain::Cnpj::parse(&kept.cnpj) {
        Err(m) => (vec![FieldError::new("cnpj", m)], vec![]),
        Ok(cnpj) => match state.cnpj.admit_visitor(&state.client_ip(req)) {
            Err(wait) => (
                vec![],
                vec![crate::routes::cnpj_lookup::throttled_message(wait)],
            ),
            Ok(()) => {
                let found = state.cnpj.lookup(&cnpj).await;
                kept.cnpj = cnpj.formatted();
                (vec![], crate::routes::cnpj_lookup::notes(&found, true))
            }
        },
    };
    render(&SignupPage {
        ctx,
        v: kept,
        errors,
        done: false,
        lookup: state.cnpj.enabled(),
        notes,
        mail_on: true,
    })
}

pub async fn submit(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    Form(v): Form<SignupForm>,
) -> Result<HttpResponse, PageError> {
    if !v.lookup.is_empty() {
        return looked_up(&req, &state, ctx, v).await;
    }
    let (ip, f) = (state.client_ip(&req), v.clone());
    let result = state
        .blocking(move |app| {
            sign_up(app, &ip, &f.input())?;
            crate::services::mail_settings::mail_leaves(app)
        })
        .await;
    // What was typed comes back, but never the password.
    let kept = SignupForm {
        password: String::new(),
        password_confirm: String::new(),
        ..v
    };
    let lookup = state.cnpj.enabled();
    let page = |ctx, v, errors, done, mail_on| {
        render(&SignupPage {
            ctx,
            v,
            errors,
            done,
            lookup,
            notes: vec![],
            mail_on,
        })
    };
    match result {
        Ok(mail_on) => page(ctx, kept, vec![], true, mail_on),
        r => form_outcome(
            r,
            |_| redirect("/signup"),
            |e| page(ctx, kept, e, false, true),
        ),
    }
}

impl SignupForm {
    fn input(&self) -> SignupInput<'_> {
        SignupInput {
            cnpj: &self.cnpj,
            name: &self.name,
            email: &self.email,
            password: &self.password,
            password_confirm: Some(&self.password_confirm),
        }
    }
}

fn sign_up(app: &App, ip: &str, input: &SignupInput<'_>) -> Result<users::SignupOutcome, AppError> {
    let (s, keys, throttle) = (&app.settings, &app.keys, &app.throttle);
    users::signup(&app.pool, keys, throttle, ip, input, s)
}

/// A person asking for access to a company (registered or not yet).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = SignupRequest)]
pub struct SignupBody {
    /// With or without mask.
    #[schema(example = "11.222.333/0001-81")]
    cnpj: String,
    #[schema(example = "Joana Lima")]
    name: String,
    #[schema(example = "joana@padaria.com.br")]
    email: String,
    /// At least 12 characters, not a common one.
    #[schema(min_length = 12, example = "uma senha longa e boa")]
    password: String,
}

/// The same answer whether or not the e-mail is known.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = SignupAccepted)]
pub struct SignupAccepted {
    /// Always `pending`: the owner or the company's admin decides.
    #[schema(example = "pending")]
    status: &'static str,
    /// In Portuguese, to show to the person.
    message: &'static str,
}

/// Ask for access
///
/// For a registered company this makes a pending user; for a CNPJ not registered yet, a
/// request the owner decides on. Throttled per address (429).
#[utoipa::path(
    post,
    path = "/api/v1/signup",
    tag = "auth",
    operation_id = "signup",
    request_body = SignupBody,
    security(()),
    responses(
        (status = 202, description = "Received.", body = SignupAccepted),
        (status = 400, response = crate::routes::api::openapi::BadRequest),
        (status = 413, response = crate::routes::api::openapi::PayloadTooLarge),
        (status = 422, response = crate::routes::api::openapi::ValidationFailed),
        (status = 429, response = crate::routes::api::openapi::TooManyRequests),
    )
)]
pub async fn api(
    req: HttpRequest,
    state: State,
    body: crate::routes::api::JsonBody<SignupBody>,
) -> Result<HttpResponse, ApiError> {
    let (ip, b) = (state.client_ip(&req), body.into_inner());
    let mail_on = state
        .blocking(move |app| {
            let input = SignupInput {
                cnpj: &b.cnpj,
                name: &b.name,
                email: &b.email,
                password: &b.password,
                password_confirm: None,
            };
            sign_up(app, &ip, &input)?;
            crate::services::mail_settings::mail_leaves(app)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(SignupAccepted {
        status: "pending",
        message: received_message(mail_on),
    }))
}

/// What every visitor is told after asking for access (the same whatever happened).
pub fn received_message(mail_on: bool) -> &'static str {
    if mail_on { RECEIVED } else { RECEIVED_QUEUED }
}
