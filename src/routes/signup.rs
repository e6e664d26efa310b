//! `/signup` and `POST /api/v1/signup`: a person asks for access.

use crate::web::Edge;
use actix_web::{HttpRequest, HttpResponse, web};
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

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    ctx: Ctx,
    v: SignupForm,
    errors: Vec<FieldError>,
    done: bool,
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
}

pub async fn form(ctx: Ctx) -> Result<HttpResponse, PageError> {
    render(&SignupPage {
        ctx,
        v: SignupForm::default(),
        errors: vec![],
        done: false,
    })
}

pub async fn submit(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    Form(v): Form<SignupForm>,
) -> Result<HttpResponse, PageError> {
    let (ip, f) = (state.client_ip(&req), v.clone());
    let result = state
        .blocking(move |app| {
            let input = SignupInput {
                cnpj: &f.cnpj,
                name: &f.name,
                email: &f.email,
                password: &f.password,
                password_confirm: Some(&f.password_confirm),
            };
            sign_up(app, &ip, &input)
        })
        .await;
    // What was typed comes back, but never the password.
    let kept = SignupForm {
        password: String::new(),
        password_confirm: String::new(),
        ..v
    };
    let page = |ctx, v, errors, done| {
        render(&SignupPage {
            ctx,
            v,
            errors,
            done,
        })
    };
    match result {
        Ok(_) => page(ctx, kept, vec![], true),
        r => form_outcome(r, |_| redirect("/signup"), |e| page(ctx, kept, e, false)),
    }
}

fn sign_up(app: &App, ip: &str, input: &SignupInput<'_>) -> Result<users::SignupOutcome, AppError> {
    let (s, keys, throttle) = (&app.settings, &app.keys, &app.throttle);
    users::signup(
        &app.pool,
        keys,
        throttle,
        ip,
        input,
        s.bcrypt_cost,
        &s.base_url,
    )
}

#[derive(Deserialize)]
pub struct SignupBody {
    cnpj: String,
    name: String,
    email: String,
    password: String,
}

pub async fn api(
    req: HttpRequest,
    state: State,
    body: web::Json<SignupBody>,
) -> Result<HttpResponse, ApiError> {
    let (ip, b) = (state.client_ip(&req), body.into_inner());
    state
        .blocking(move |app| {
            let input = SignupInput {
                cnpj: &b.cnpj,
                name: &b.name,
                email: &b.email,
                password: &b.password,
                password_confirm: None,
            };
            sign_up(app, &ip, &input)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({
        "status": "pending",
        "message": RECEIVED,
    })))
}

pub fn received_message() -> &'static str {
    RECEIVED
}
