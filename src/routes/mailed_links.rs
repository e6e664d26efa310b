//! Pages behind e-mailed links: forgotten password, reset, invitation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::error::{AppError, FieldError};
use crate::services::mailed_links;
use crate::web::error::PageError;
use crate::web::page::{
    Ctx, Flash, Form, form_outcome, redirect, redirect_with, render, render_status,
};
use crate::web::{Edge, State};

/// The page of a mailed link that no longer opens its form: what happened and the next
/// step, in Portuguese. The status stays 404 (nothing to act on at this address).
#[derive(Template)]
#[template(path = "link_gone.html")]
struct GonePage {
    ctx: Ctx,
    title: &'static str,
    message: &'static str,
    next_href: &'static str,
    next_label: &'static str,
}

pub(crate) fn gone(ctx: Ctx, why: mailed_links::GoneLink) -> Result<HttpResponse, PageError> {
    let (next_href, next_label) = why.next();
    render_status(
        StatusCode::NOT_FOUND,
        &GonePage {
            ctx,
            title: why.title(),
            message: why.message(),
            next_href,
            next_label,
        },
    )
}

async fn gone_reset(state: &State, ctx: Ctx, token: String) -> Result<HttpResponse, PageError> {
    let why = state
        .run(move |conn, _| mailed_links::gone_reset(conn, &token))
        .await?;
    gone(ctx, why)
}

async fn gone_invitation(
    state: &State,
    ctx: Ctx,
    token: String,
) -> Result<HttpResponse, PageError> {
    let why = state
        .run(move |conn, _| mailed_links::gone_invitation(conn, &token))
        .await?;
    gone(ctx, why)
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    ctx: Ctx,
    email: String,
    error: Option<String>,
    done: bool,
    /// Mail leaves; otherwise the answer says the link waits in the queue (for every
    /// address alike: it never says whether the address exists).
    mail_on: bool,
}

pub async fn forgot_form(ctx: Ctx) -> Result<HttpResponse, PageError> {
    render(&ForgotPage {
        ctx,
        email: String::new(),
        error: None,
        done: false,
        mail_on: true,
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// How long after answering "Esqueci minha senha" the look-up and the write start.
const RESET_WORK_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

pub async fn forgot(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    Form(f): Form<ForgotForm>,
) -> Result<HttpResponse, PageError> {
    let ip = state.client_ip(&req);
    // The answer waits only for what is the same for every address; the look-up and the
    // write run after it, so a known address is not answered later than an unknown one.
    let result = mailed_links::accept_reset_request(&state.throttle, &f.email);
    if let Ok(Some(email)) = &result {
        let (app, email) = (state.clone(), email.clone());
        actix_web::rt::spawn(async move {
            // Started only once the answer has long left: a write running beside the
            // answer would slow it on a busy machine, which is the difference to hide.
            tokio::time::sleep(RESET_WORK_DELAY).await;
            let sent = app
                .run(move |conn, app| {
                    let (keys, base) = (&app.keys, &app.settings.base_url);
                    mailed_links::send_requested_reset(conn, keys, &ip, &email, base)
                })
                .await;
            if let Err(e) = sent {
                e.log();
            }
        });
    }
    let page = |ctx, error: Option<String>, done, mail_on| {
        let email = f.email.clone();
        render(&ForgotPage {
            ctx,
            email,
            error,
            done,
            mail_on,
        })
    };
    match result {
        Ok(_) => {
            let mail_on = state
                .blocking(crate::services::mail_settings::mail_leaves)
                .await?;
            page(ctx, None, true, mail_on)
        }
        Err(e) => form_outcome(
            Err::<(), _>(e),
            |_| redirect("/password/forgot"),
            |e| page(ctx, e.first().map(|e| e.message.clone()), false, true),
        ),
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
        .run(move |conn, _| mailed_links::reset_link_is_usable(conn, &t))
        .await?
    {
        return gone_reset(&state, ctx, token.into_inner()).await;
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

impl PasswordForm {
    fn new_password(&self) -> mailed_links::NewPassword<'_> {
        mailed_links::NewPassword {
            password: &self.password,
            confirm: &self.password_confirm,
        }
    }
}

pub async fn reset(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    token: web::Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let (ip, t) = (state.client_ip(&req), token.clone());
    let result = state
        .blocking(move |app| {
            let (pool, keys, cost) = (&app.pool, &app.keys, app.settings.bcrypt_cost);
            let (np, base) = (f.new_password(), &app.settings.base_url);
            mailed_links::complete_reset(pool, keys, &ip, &t, np, cost, base)
        })
        .await;
    let done = |_| {
        let m = Flash::success("Senha trocada. Entre com a nova senha.");
        redirect_with(&state, "/login", m)
    };
    if let Err(AppError::NotFound) = result {
        return gone_reset(&state, ctx, token.into_inner()).await;
    }
    form_outcome(result, done, |errors| {
        let token = token.into_inner();
        render(&ResetPage { ctx, token, errors })
    })
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
    /// Why the invitation cannot be accepted any more; the page then shows no form.
    refusal: Option<String>,
}

impl InvitePage {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }
}

/// The invitation's page, with what was typed and what to fix; 404 once it is spent.
async fn invite_page(
    state: &State,
    ctx: Ctx,
    token: String,
    name: String,
    errors: Vec<FieldError>,
) -> Result<HttpResponse, PageError> {
    let t = token.clone();
    let Some(open) = state
        .run(move |conn, _| mailed_links::open_invitation(conn, &t))
        .await?
    else {
        return gone_invitation(state, ctx, token).await;
    };
    let role = open.invitation.role.label();
    // An invitation that no longer stands says why, instead of a form that cannot work.
    let refusal = open
        .refusal
        .or_else(|| crate::error::message_for(&errors, "invitation"))
        .map(str::to_string);
    // A cancelled invitation is gone (404), saying why; a refused acceptance is a 422.
    let status = if open.revoked {
        StatusCode::NOT_FOUND
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        status,
        &InvitePage {
            ctx,
            token,
            email: open.invitation.email,
            company: open.company,
            role,
            name,
            errors,
            refusal,
        },
    )
}

pub async fn invite_form(
    state: State,
    ctx: Ctx,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    invite_page(&state, ctx, token.into_inner(), String::new(), vec![]).await
}

pub async fn accept_invite(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    token: web::Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let (ip, t, name) = (state.client_ip(&req), token.clone(), f.name.clone());
    let result = state
        .blocking(move |app| {
            let (pool, keys, s) = (&app.pool, &app.keys, &app.settings);
            mailed_links::accept(pool, keys, &ip, &t, &f.name, f.new_password(), s)
        })
        .await;
    match result {
        // The form again needs the invitation again: an async page, not a closure.
        Err(AppError::Validation(errors)) | Err(AppError::Conflict(errors)) => {
            invite_page(&state, ctx, token.into_inner(), name, errors).await
        }
        Err(AppError::NotFound) => gone_invitation(&state, ctx, token.into_inner()).await,
        r => {
            r?;
            let m = "Conta criada. Entre com seu e-mail e a senha que você escolheu.";
            Ok(redirect_with(&state, "/login", Flash::success(m)))
        }
    }
}
