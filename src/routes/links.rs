//! Pages behind e-mailed links: forgotten password, reset, invitation.

use crate::web::Edge;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::Role;
use crate::error::{AppError, FieldError};
use crate::services::links;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::page::{Ctx, Flash, Form, redirect_with, render, render_status};

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    ctx: Ctx,
    email: String,
    error: Option<String>,
    done: bool,
}

pub async fn forgot_form(ctx: Ctx) -> Result<HttpResponse, PageError> {
    render(&ForgotPage {
        ctx,
        email: String::new(),
        error: None,
        done: false,
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    Form(f): Form<ForgotForm>,
) -> Result<HttpResponse, PageError> {
    let ip = state.client_ip(&req);
    let email = f.email.clone();
    let result = state
        .run(move |conn, app| {
            links::request_reset(
                conn,
                &app.keys,
                &app.throttle,
                &ip,
                &email,
                &app.settings.base_url,
            )
        })
        .await;
    match result {
        Ok(()) => render(&ForgotPage {
            ctx,
            email: f.email,
            error: None,
            done: true,
        }),
        Err(AppError::Validation(e)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                ctx,
                email: f.email,
                error: e.first().map(|e| e.message.clone()),
                done: false,
            },
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    ctx: Ctx,
    token: String,
    errors: Vec<FieldError>,
}

impl ResetPage {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }
}

pub async fn reset_form(
    state: State,
    ctx: Ctx,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let t = token.clone();
    if !state
        .run(move |conn, _| links::reset_link_is_usable(conn, &t))
        .await?
    {
        return Err(PageError(AppError::NotFound));
    }
    render(&ResetPage {
        ctx,
        token: token.into_inner(),
        errors: vec![],
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn reset(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    token: web::Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let ip = state.client_ip(&req);
    let t = token.clone();
    let result = state
        .blocking(move |app| {
            links::complete_reset(
                &app.pool,
                &app.keys,
                &ip,
                &t,
                links::NewPassword {
                    password: &f.password,
                    confirm: &f.password_confirm,
                },
                app.settings.bcrypt_cost,
            )
        })
        .await;
    match result {
        Ok(_) => Ok(redirect_with(
            &state,
            "/login",
            Flash::success("Senha trocada. Entre com a nova senha."),
        )),
        Err(AppError::Validation(errors)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage {
                ctx,
                token: token.into_inner(),
                errors,
            },
        ),
        Err(AppError::NotFound) => Err(PageError(AppError::NotFound)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    ctx: Ctx,
    token: String,
    email: String,
    company: String,
    role: &'static str,
    name: String,
    errors: Vec<FieldError>,
}

impl InvitePage {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }
}

pub async fn invite_form(
    state: State,
    ctx: Ctx,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let t = token.clone();
    let (inv, company) = state
        .run(move |conn, _| links::open_invitation(conn, &t))
        .await?
        .ok_or(PageError(AppError::NotFound))?;
    render(&InvitePage {
        ctx,
        token: token.into_inner(),
        email: inv.email,
        company,
        role: Role::parse(&inv.role).map(Role::label).unwrap_or(""),
        name: String::new(),
        errors: vec![],
    })
}

pub async fn accept_invite(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    token: web::Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let ip = state.client_ip(&req);
    let t = token.clone();
    let name = f.name.clone();
    let result = state
        .blocking(move |app| {
            links::accept(
                &app.pool,
                &app.keys,
                &ip,
                &t,
                &f.name,
                links::NewPassword {
                    password: &f.password,
                    confirm: &f.password_confirm,
                },
                app.settings.bcrypt_cost,
            )
        })
        .await;
    match result {
        Ok(_) => Ok(redirect_with(
            &state,
            "/login",
            Flash::success("Conta criada. Entre com seu e-mail e a senha que você escolheu."),
        )),
        Err(AppError::Validation(errors)) | Err(AppError::Conflict(errors)) => {
            let t = token.clone();
            let (inv, company) = state
                .run(move |conn, _| links::open_invitation(conn, &t))
                .await?
                .ok_or(PageError(AppError::NotFound))?;
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &InvitePage {
                    ctx,
                    token: token.into_inner(),
                    email: inv.email,
                    company,
                    role: Role::parse(&inv.role).map(Role::label).unwrap_or(""),
                    name,
                    errors,
                },
            )
        }
        Err(AppError::NotFound) => Err(PageError(AppError::NotFound)),
        Err(e) => Err(e.into()),
    }
}
