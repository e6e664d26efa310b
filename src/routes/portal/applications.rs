//! `/portal/applications`: which applications reach the company; a company admin may
//! cut a link.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::company_id;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Form, Nav, redirect_outcome, render};

struct PortalLink {
    app_id: String,
    name: String,
    client_id: String,
    scopes: String,
    last_read: String,
}

#[derive(Template)]
#[template(path = "portal/applications.html")]
struct AppsPage {
    ctx: Ctx,
    links: Vec<PortalLink>,
}

/// Which applications reach the company, with which scopes, and when each last read the
/// Omie credentials; the company admin may cut a link.
pub async fn list(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let (a, cid) = (who.actor(), company_id(&who));
    let links = state
        .run(move |conn, _| crate::services::applications::links_of_company(conn, &a, &cid))
        .await?;
    let links = links
        .into_iter()
        .map(|l| PortalLink {
            app_id: l.other_id,
            name: l.other_name,
            client_id: l.other_code,
            scopes: crate::services::applications::scopes_in_words(&l.scopes),
            last_read: l
                .last_credentials_read_at
                .as_deref()
                .map(crate::time::db_to_br)
                .unwrap_or_else(|| "nunca".into()),
        })
        .collect();
    render(&AppsPage {
        ctx: ctx.with_nav(Nav::Applications),
        links,
    })
}

pub async fn unlink(
    _req: HttpRequest,
    state: State,
    who: SignedIn,
    app_id: web::Path<String>,
    Form(f): Form<crate::routes::people::ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let a = who.actor();
    let (cid, aid) = (company_id(&who), app_id.into_inner());
    let result = state
        .run(move |conn, app| {
            crate::routes::people::confirmed(&f.confirm, "revogar o acesso da aplicação")?;
            crate::services::applications::unlink(conn, &app.keys, &a, &cid, &aid)?;
            Ok("Acesso da aplicação revogado: ela não acessa mais esta empresa.".to_string())
        })
        .await;
    redirect_outcome(&state, "/portal/applications", result)
}
