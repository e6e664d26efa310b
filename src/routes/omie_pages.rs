//! The Omie credentials page, shared by the dashboard (`/admin/companies/{id}/omie`)
//! and the portal (`/portal/omie`): the same use cases decide who may do what.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use serde::Deserialize;

use crate::error::{AppError, FieldError};
use crate::services::omie::{self, CredentialsView};
use crate::services::{Actor, companies};
use crate::time;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::page::{Ctx, Flash, redirect_with, render, render_status};

#[derive(Template)]
#[template(path = "omie.html")]
struct OmiePage {
    ctx: Ctx,
    /// Where the page's forms post, e.g. `/portal/omie`.
    base: String,
    back: String,
    company: String,
    creds: Option<CredentialsView>,
    revealed: bool,
    history: Vec<(String, String, String)>,
    app_key: String,
    errors: Vec<FieldError>,
}

impl OmiePage {
    fn error(&self, field: &str) -> Option<&str> {
        crate::error::message_for(&self.errors, field)
    }

    fn validated_br(&self) -> String {
        self.creds
            .as_ref()
            .and_then(|c| c.validated_at.as_deref())
            .and_then(time::parse_db)
            .map(|t| time::db_to_br(&time::to_db(t)))
            .unwrap_or_default()
    }
}

pub struct Place {
    pub base: String,
    pub back: String,
    pub company_id: String,
}

async fn page(
    state: &State,
    ctx: Ctx,
    actor: Actor,
    place: Place,
    reveal: bool,
    app_key: String,
    errors: Vec<FieldError>,
) -> Result<(OmiePage, bool), PageError> {
    let cid = place.company_id.clone();
    let (company, creds, history) = state
        .run(move |conn, app| {
            let c = companies::get(conn, &actor, &cid)?;
            let creds = omie::read(conn, &app.keys, &actor, &cid, reveal)?;
            let history = omie::history(conn, &actor, &cid)?;
            Ok((c, creds, history))
        })
        .await?;
    let history = history
        .into_iter()
        .map(|(at, by, key)| (time::db_to_br(&at), by, key))
        .collect();
    let has_errors = !errors.is_empty();
    Ok((
        OmiePage {
            ctx,
            base: place.base,
            back: place.back,
            company: company.legal_name,
            revealed: reveal && creds.is_some(),
            creds,
            history,
            app_key,
            errors,
        },
        has_errors,
    ))
}

pub async fn show(
    state: &State,
    ctx: Ctx,
    actor: Actor,
    place: Place,
) -> Result<HttpResponse, PageError> {
    let (p, _) = page(state, ctx, actor, place, false, String::new(), vec![]).await?;
    render(&p)
}

pub async fn reveal(
    state: &State,
    ctx: Ctx,
    actor: Actor,
    place: Place,
) -> Result<HttpResponse, PageError> {
    let (p, _) = page(state, ctx, actor, place, true, String::new(), vec![]).await?;
    render(&p)
}

#[derive(Deserialize)]
pub struct CredentialsForm {
    #[serde(default)]
    app_key: String,
    #[serde(default)]
    app_secret: String,
}

/// Saves the credentials; `actor` comes from `Acting`, so it carries the client's IP.
pub async fn save(
    state: &State,
    ctx: Ctx,
    actor: Actor,
    place: Place,
    form: CredentialsForm,
) -> Result<HttpResponse, PageError> {
    let (a, cid) = (actor.clone(), place.company_id.clone());
    let typed_key = form.app_key.clone();
    let result = state
        .run(move |conn, app| omie::set(conn, &app.keys, &a, &cid, &form.app_key, &form.app_secret))
        .await;
    match result {
        Ok(()) => Ok(redirect_with(
            state,
            &place.base,
            Flash::success(
                "Credenciais do Omie salvas (guardadas criptografadas). Use “Testar credenciais” para conferir.",
            ),
        )),
        Err(AppError::Validation(errors)) => {
            // Keep the App Key as typed; never echo the secret back.
            let (p, _) = page(state, ctx, actor, place, false, typed_key, errors).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &p)
        }
        Err(e) => Err(e.into()),
    }
}

/// A test's outcome in words: green only when Omie answered and the CNPJ matches.
fn test_flash(o: &omie::TestOutcome) -> Flash {
    let mut msg = o.message.clone();
    if o.cached {
        msg.push_str(
            " (Resultado do teste feito há menos de 1 minuto: o Omie não aceita repetir a mesma consulta em seguida.)",
        );
    }
    if o.ok && o.cnpj_matches != Some(false) {
        Flash::success(msg)
    } else {
        Flash::error(msg)
    }
}

pub async fn test(state: &State, actor: Actor, place: Place) -> Result<HttpResponse, PageError> {
    match omie::test(state.omie_test_deps(), &actor, &place.company_id).await {
        Ok(o) => Ok(redirect_with(state, &place.base, test_flash(&o))),
        Err(AppError::Validation(e)) => Ok(redirect_with(
            state,
            &place.base,
            Flash::error(e.first().map(|e| e.message.clone()).unwrap_or_default()),
        )),
        Err(e) => Err(e.into()),
    }
}
