//! `/admin/applications`: create (secret shown once), rotate and revoke secrets, link to
//! companies with scopes, unlink, revoke.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::{applications::Application, applications::LinkRow};
use crate::domain::{Cnpj, cnpj_format};
use crate::error::{AppError, PageError};
use crate::services::applications as uc;
use crate::time;
use crate::web::State;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, redirect_with, render};

pub struct AppRow {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub status: String,
    pub last_used: String,
}

impl From<&Application> for AppRow {
    fn from(a: &Application) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            client_id: a.client_id.clone(),
            status: a.status.clone(),
            last_used: a
                .last_used_at
                .as_deref()
                .map(time::db_to_br)
                .unwrap_or_else(|| "nunca".into()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/applications.html")]
struct ListPage {
    ctx: Ctx,
    rows: Vec<AppRow>,
}

pub async fn list(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let apps = state.run(move |conn, _| uc::list(conn, &actor)).await?;
    render(&ListPage {
        ctx: ctx.with_nav("applications"),
        rows: apps.iter().map(AppRow::from).collect(),
    })
}

/// The one time a client secret is shown.
#[derive(Template)]
#[template(path = "admin/application_secret.html")]
struct SecretPage {
    ctx: Ctx,
    app: AppRow,
    secret: String,
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    _req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<CreateForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    match state
        .run(move |conn, app| uc::create(conn, &app.keys, &actor, &f.name, &f.description))
        .await
    {
        Ok((app, secret)) => render(&SecretPage {
            ctx: ctx.with_nav("applications"),
            app: AppRow::from(&app),
            secret,
        }),
        Err(AppError::Validation(e)) => Ok(redirect_with(
            &state,
            "/admin/applications",
            Flash::error(e.first().map(|e| e.message.clone()).unwrap_or_default()),
        )),
        Err(e) => Err(e.into()),
    }
}

struct SecretRow {
    id: String,
    hint: String,
    created: String,
    last_used: String,
    revoked: bool,
}

struct LinkView {
    company_id: String,
    company: String,
    cnpj: String,
    scopes: String,
    last_read: String,
}

impl From<LinkRow> for LinkView {
    fn from(l: LinkRow) -> Self {
        Self {
            company_id: l.other_id,
            company: l.other_name,
            cnpj: cnpj_format(&l.other_code),
            scopes: l.scopes,
            last_read: l
                .last_credentials_read_at
                .as_deref()
                .map(time::db_to_br)
                .unwrap_or_else(|| "nunca".into()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/application.html")]
struct ShowPage {
    ctx: Ctx,
    app: AppRow,
    description: String,
    secrets: Vec<SecretRow>,
    links: Vec<LinkView>,
    scopes: &'static [&'static str],
}

pub async fn show(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let id = id.into_inner();
    let (app, secrets, links) = state
        .run(move |conn, _| {
            Ok((
                uc::get(conn, &actor, &id)?,
                uc::secrets(conn, &actor, &id)?,
                uc::links_of_app(conn, &actor, &id)?,
            ))
        })
        .await?;
    render(&ShowPage {
        ctx: ctx.with_nav("applications"),
        description: app.description.clone(),
        app: AppRow::from(&app),
        secrets: secrets
            .into_iter()
            .map(|(id, hint, created, used, revoked)| SecretRow {
                id,
                hint,
                created: time::db_to_br(&created),
                last_used: used
                    .as_deref()
                    .map(time::db_to_br)
                    .unwrap_or_else(|| "nunca".into()),
                revoked: revoked.is_some(),
            })
            .collect(),
        links: links.into_iter().map(LinkView::from).collect(),
        scopes: uc::SCOPES,
    })
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    cnpj: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    target: String,
}

/// Actions on one application: rotate, revoke-secret, revoke, link, unlink.
pub async fn act(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    // Repeated `scopes` fields: parse the form by hand (serde_urlencoded keeps the last).
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let f = ActionForm {
        name: field("name"),
        description: field("description"),
        cnpj: pairs
            .iter()
            .find(|(k, _)| k == "cnpj")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        scopes: pairs
            .iter()
            .filter(|(k, _)| k == "scopes")
            .map(|(_, v)| v.clone())
            .collect(),
        target: pairs
            .iter()
            .find(|(k, _)| k == "target")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    };
    let sent = pairs
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    crate::web::csrf::check_token(&req, &state, sent)?;
    let (id, action) = path.into_inner();
    let back = format!("/admin/applications/{id}");
    let actor = who.actor();
    let app_id = id.clone();
    let result = state
        .run(
            move |conn, app| -> Result<Result<String, (Application, String)>, AppError> {
                let k = &app.keys;
                let msg = match action.as_str() {
                    // The new secret is shown once, on a page of its own.
                    "rotate" => return uc::rotate_secret(conn, k, &actor, &app_id).map(Err),
                    "edit" => {
                        uc::update(
                            conn,
                            k,
                            &actor,
                            &app_id,
                            Some(&f.name),
                            Some(&f.description),
                        )?;
                        "Aplicação alterada.".to_string()
                    }
                    "revoke-secret" => {
                        uc::revoke_secret(conn, k, &actor, &app_id, &f.target)?;
                        "Segredo revogado: os tokens emitidos com ele pararam de funcionar."
                            .to_string()
                    }
                    "revoke" => {
                        uc::revoke(conn, k, &actor, &app_id)?;
                        "Aplicação revogada: nenhum token dela funciona mais.".to_string()
                    }
                    "link" => {
                        let cnpj = Cnpj::parse(&f.cnpj).map_err(|m| AppError::field("cnpj", m))?;
                        let company = crate::db::companies::id_by_cnpj(conn, cnpj.as_str())?
                            .ok_or_else(|| {
                                AppError::field("cnpj", "Nenhuma empresa cadastrada com este CNPJ.")
                            })?;
                        uc::link(conn, k, &actor, &company, &app_id, &f.scopes)?;
                        format!("Aplicação ligada à empresa {}.", cnpj.formatted())
                    }
                    "unlink" => {
                        uc::unlink(conn, k, &actor, &f.target, &app_id)?;
                        "Ligação removida: a aplicação não acessa mais esta empresa.".to_string()
                    }
                    _ => return Err(AppError::NotFound),
                };
                Ok(Ok(msg))
            },
        )
        .await;
    match result {
        Ok(Ok(msg)) => Ok(redirect_with(&state, &back, Flash::success(msg))),
        Ok(Err((app, secret))) => render(&SecretPage {
            ctx: ctx.with_nav("applications"),
            app: AppRow::from(&app),
            secret,
        }),
        Err(AppError::Validation(e)) => Ok(redirect_with(
            &state,
            &back,
            Flash::error(
                e.iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        )),
        Err(e) => Err(e.into()),
    }
}
