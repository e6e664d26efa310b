//! `/admin/applications`: create (secret shown once), rotate and revoke secrets, link to
//! companies with scopes, unlink, revoke.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::cnpj_format;
use crate::error::AppError;
use crate::routes::auth::Empty;
use crate::services::applications as uc;
use crate::services::applications::{Application, LinkRow};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Flash, Form, FormPairs, Nav, redirect_outcome, redirect_with, render};

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
            status: a.status.as_str().to_string(),
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
    once: String,
}

pub async fn list(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let apps = state.run(move |conn, _| uc::list(conn, &actor)).await?;
    render(&ListPage {
        ctx: ctx.with_nav(Nav::Applications),
        rows: apps.iter().map(AppRow::from).collect(),
        once: form_nonce(),
    })
}

/// Post/redirect/get for a secret shown once: the POST that creates an application or
/// rotates its secret keeps the secret here, in this process's memory only (never in the
/// sessions table, never on disk), under a random token the person's session holds; the
/// GET it redirects to takes it out and shows it. A refresh then finds nothing and says
/// the secret was already shown, instead of creating another application.
pub(crate) mod once {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// The session key holding the token of the secret waiting to be shown.
    pub const KEY: &str = "secret_once";
    /// The session key holding the last form nonces used (a re-POST of the same form).
    pub const USED: &str = "forms_used";
    const TTL: Duration = Duration::from_secs(600);
    const MAX: usize = 1_000;

    struct Held {
        app_id: String,
        secret: String,
        until: Instant,
    }

    static HELD: Mutex<Option<HashMap<String, Held>>> = Mutex::new(None);

    /// Keeps `secret` for one GET; the token to put in the session.
    pub fn hold(app_id: &str, secret: String) -> String {
        let token = crate::crypto::new_token();
        let now = Instant::now();
        let mut g = HELD.lock().unwrap_or_else(|e| e.into_inner());
        let map = g.get_or_insert_with(HashMap::new);
        map.retain(|_, h| h.until > now);
        if map.len() >= MAX {
            map.clear();
        }
        map.insert(
            token.clone(),
            Held {
                app_id: app_id.to_string(),
                secret,
                until: now + TTL,
            },
        );
        token
    }

    /// The secret held under `token` for `app_id`, taken out (shown once).
    pub fn take(token: &str, app_id: &str) -> Option<String> {
        let mut g = HELD.lock().unwrap_or_else(|e| e.into_inner());
        let h = g.as_mut()?.remove(token)?;
        (h.app_id == app_id && h.until > Instant::now()).then_some(h.secret)
    }
}

/// A fresh nonce for a form whose POST must not be repeated.
fn form_nonce() -> String {
    crate::crypto::new_token()
}

/// Whether the form `nonce` was already used in this session (a re-POST); records it.
fn repeated(session: &actix_session::Session, nonce: &str) -> bool {
    if nonce.is_empty() {
        return false;
    }
    let mut used: Vec<String> = session
        .get::<Vec<String>>(once::USED)
        .ok()
        .flatten()
        .unwrap_or_default();
    if used.iter().any(|u| u == nonce) {
        return true;
    }
    used.push(nonce.to_string());
    let skip = used.len().saturating_sub(20);
    let _ = session.insert(once::USED, &used[skip..]);
    false
}

/// Redirects to the page that shows the new secret once.
fn show_once(
    session: &actix_session::Session,
    app_id: &str,
    secret: String,
) -> Result<HttpResponse, PageError> {
    let token = once::hold(app_id, secret);
    session
        .insert(once::KEY, token)
        .map_err(|e| PageError(AppError::Internal(anyhow::anyhow!("session: {e}"))))?;
    Ok(crate::web::page::redirect(&format!(
        "/admin/applications/{app_id}/secret"
    )))
}

/// `GET /admin/applications/{id}/secret`: the one time a client secret is shown; after
/// that (a refresh, the back button) it says the secret was shown and how to get another.
pub async fn secret(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    id: web::Path<String>,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let token = session.remove_as::<String>(once::KEY).and_then(Result::ok);
    let Some(secret) = token.and_then(|t| once::take(&t, &id)) else {
        return Ok(redirect_with(
            &state,
            &back(&id),
            Flash::error(
                "O segredo desta aplicação já foi mostrado e não aparece de novo. \
                 Se ele não foi guardado, use \"Gerar novo segredo\"."
                    .to_string(),
            ),
        ));
    };
    let actor = who.actor();
    let app = state.run(move |conn, _| uc::get(conn, &actor, &id)).await?;
    let mut r = render(&SecretPage {
        ctx: ctx.with_nav(Nav::Applications),
        app: AppRow::from(&app),
        secret,
    })?;
    r.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
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
    /// The form's nonce: the same form posted twice creates one application.
    #[serde(default)]
    once: String,
}

pub async fn create(
    _req: HttpRequest,
    state: State,
    who: SignedIn,
    Form(f): Form<CreateForm>,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    // A new application's secret is shown once, like a rotated one; linked with
    // `omie_credentials:read` it reads the Omie secrets that revealing guards: the same
    // fresh identity is asked.
    if let Some(r) =
        crate::routes::mfa_pages::step_up(&state, &session, &who, "/admin/applications")
    {
        return Ok(r);
    }
    if repeated(&session, &f.once) {
        return Ok(redirect_with(
            &state,
            "/admin/applications",
            Flash::error(
                "Este formulário já foi enviado: a aplicação foi criada uma vez só, e o \
                 segredo dela aparece só uma vez."
                    .to_string(),
            ),
        ));
    }
    let actor = who.actor();
    match state
        .run(move |conn, app| uc::create(conn, &app.keys, &actor, &f.name, &f.description))
        .await
    {
        Ok((app, secret)) => show_once(&session, &app.id, secret),
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
    /// The scopes in words, one each.
    scope_words: Vec<&'static str>,
    last_read: String,
}

/// A company found by the picker, with whether the application already reaches it.
struct FoundCompany {
    id: String,
    legal_name: String,
    trade_name: String,
    cnpj: String,
    linked: bool,
}

/// The company picker's query: `empresa` (a name or CNPJ, with or without its mask) and
/// the `scopes` to grant, repeated.
struct Picker {
    searched: bool,
    q: String,
    scopes: Vec<String>,
    found: Vec<FoundCompany>,
}

impl Picker {
    fn from_query(qs: &str) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(qs).unwrap_or_default();
        let q = pairs
            .iter()
            .find(|(k, _)| k == "empresa")
            .map(|(_, v)| v.trim().to_string());
        let mut scopes: Vec<String> = pairs
            .iter()
            .filter(|(k, v)| k == "scopes" && uc::SCOPES.contains(&v.as_str()))
            .map(|(_, v)| v.clone())
            .collect();
        if scopes.is_empty() {
            scopes.push("companies:read".into());
        }
        Self {
            searched: q.is_some(),
            q: q.unwrap_or_default(),
            scopes,
            found: Vec::new(),
        }
    }

    fn chosen(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

impl From<LinkRow> for LinkView {
    fn from(l: LinkRow) -> Self {
        Self {
            company_id: l.other_id,
            company: l.other_name,
            cnpj: cnpj_format(&l.other_code),
            scope_words: l.scopes.split_whitespace().map(uc::scope_words).collect(),
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
    /// (scope, what it lets the application do)
    scopes: Vec<(&'static str, &'static str)>,
    once: String,
    picker: Picker,
}

impl SecretRow {
    fn new((id, hint, created, used, revoked): crate::services::applications::SecretRow) -> Self {
        Self {
            id,
            hint,
            created: time::db_to_br(&created),
            last_used: used
                .as_deref()
                .map(time::db_to_br)
                .unwrap_or_else(|| "nunca".into()),
            revoked: revoked.is_some(),
        }
    }
}

pub async fn show(
    req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let id = id.into_inner();
    let mut picker = Picker::from_query(req.query_string());
    let q = picker.searched.then(|| picker.q.clone());
    let (app, secrets, links, found) = state
        .run(move |conn, _| {
            let links = uc::links_of_app(conn, &actor, &id)?;
            // The picker: active companies whose name or CNPJ matches, ten at most.
            let found = match q.filter(|q| !q.is_empty()) {
                Some(q) => crate::services::companies::pick(
                    conn,
                    &actor,
                    &q,
                    Some(crate::domain::CompanyStatus::Active),
                    10,
                )?,
                None => Vec::new(),
            };
            Ok((
                uc::get(conn, &actor, &id)?,
                uc::secrets(conn, &actor, &id)?,
                links,
                found,
            ))
        })
        .await?;
    picker.found = found
        .into_iter()
        .map(|c| FoundCompany {
            linked: links.iter().any(|l| l.other_id == c.id),
            cnpj: cnpj_format(&c.cnpj),
            id: c.id,
            legal_name: c.legal_name,
            trade_name: c.trade_name,
        })
        .collect();
    render(&ShowPage {
        picker,
        ctx: ctx.with_nav(Nav::Applications),
        description: app.description.clone(),
        app: AppRow::from(&app),
        secrets: secrets.into_iter().map(SecretRow::new).collect(),
        links: links.into_iter().map(LinkView::from).collect(),
        scopes: uc::SCOPES
            .iter()
            .map(|s| (*s, uc::scope_words(s)))
            .collect(),
        once: form_nonce(),
    })
}

fn back(id: &str) -> String {
    format!("/admin/applications/{id}")
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn edit(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<EditForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let r = state
        .run(move |conn, app| {
            uc::update(
                conn,
                &app.keys,
                &actor,
                &id,
                Some(&f.name),
                Some(&f.description),
            )
        })
        .await;
    redirect_outcome(&state, &back, r.map(|_| "Aplicação alterada.".into()))
}

/// The rotate form: its nonce, so the same form posted twice rotates once.
#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    once: String,
}

/// The new secret is shown once, on a page of its own (post/redirect/get).
pub async fn rotate(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<RotateForm>,
    session: actix_session::Session,
    person: SignedIn,
) -> Result<HttpResponse, PageError> {
    let back = format!("/admin/applications/{}", id.as_str());
    if let Some(r) = crate::routes::mfa_pages::step_up(&state, &session, &person, &back) {
        return Ok(r);
    }
    if repeated(&session, &f.once) {
        return Ok(redirect_with(
            &state,
            &back,
            Flash::error(
                "Este formulário já foi enviado: um novo segredo foi gerado uma vez só, e \
                 ele aparece só uma vez."
                    .to_string(),
            ),
        ));
    }
    let (actor, id) = (who.actor(), id.into_inner());
    let (app, secret) = state
        .run(move |conn, app| uc::rotate_secret(conn, &app.keys, &actor, &id))
        .await?;
    show_once(&session, &app.id, secret)
}

/// Which secret or company an action is about.
#[derive(Deserialize)]
pub struct TargetForm {
    #[serde(default)]
    target: String,
    /// "sim" once a destructive action was confirmed (`routes::people::confirmed`).
    #[serde(default)]
    confirm: String,
}

pub async fn revoke_secret(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<TargetForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let r = state
        .run(move |conn, app| uc::revoke_secret(conn, &app.keys, &actor, &id, &f.target))
        .await;
    let m = "Segredo revogado: os tokens emitidos com ele pararam de funcionar.";
    redirect_outcome(&state, &back, r.map(|_| m.into()))
}

pub async fn revoke(
    state: State,
    who: Acting,
    id: web::Path<String>,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let r = state
        .run(move |conn, app| uc::revoke(conn, &app.keys, &actor, &id))
        .await;
    let m = "Aplicação revogada: nenhum token dela funciona mais.";
    redirect_outcome(&state, &back, r.map(|_| m.into()))
}

pub async fn link(
    state: State,
    who: Acting,
    id: web::Path<String>,
    FormPairs(f): FormPairs,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let (cnpj, scopes) = (f.first("cnpj").to_string(), f.all("scopes"));
    let company_id = f.first("company_id").trim().to_string();
    let r = state
        .run(move |conn, app| {
            // Picked from the search (the page's way), or a CNPJ typed (the older form).
            if company_id.is_empty() {
                let c = uc::link_by_cnpj(conn, &app.keys, &actor, &cnpj, &id, &scopes)?;
                return Ok(format!(
                    "Aplicação vinculada à empresa de CNPJ {}.",
                    c.formatted()
                ));
            }
            if !crate::domain::is_entity_id(&company_id, "cmp") {
                return Err(AppError::field(
                    "company_id",
                    "Escolha a empresa na lista da busca.",
                ));
            }
            uc::link(conn, &app.keys, &actor, &company_id, &id, &scopes)?;
            let c = crate::services::companies::get(conn, &actor, &company_id)?;
            Ok(format!("Aplicação vinculada à empresa {}.", c.legal_name))
        })
        .await;
    redirect_outcome(&state, &back, r)
}

pub async fn unlink(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<TargetForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back(&id);
    let r = state
        .run(move |conn, app| {
            crate::routes::people::confirmed(&f.confirm, "desligar a aplicação da empresa")?;
            uc::unlink(conn, &app.keys, &actor, &f.target, &id)
        })
        .await;
    let m = "Ligação removida: a aplicação não acessa mais esta empresa.";
    redirect_outcome(&state, &back, r.map(|_| m.into()))
}
