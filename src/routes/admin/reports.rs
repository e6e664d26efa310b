//! "Relatórios avançados" (`/admin/relatorios`) and the "Enviar o resumo semanal agora"
//! button.

use actix_web::HttpResponse;
use askama::Template;

use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Form, Nav, redirect_outcome, render};

#[derive(Template)]
#[template(path = "admin/reports.html")]
struct ReportsPage {
    ctx: Ctx,
    r: crate::services::summary::Advanced,
}

/// `GET /admin/relatorios`.
pub async fn show(state: State, ctx: Ctx, who: SignedIn) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let r = state
        .run(move |conn, app| crate::services::summary::advanced(conn, &app.meter, &actor))
        .await?;
    render(&ReportsPage {
        ctx: ctx.with_nav(Nav::Reports),
        r,
    })
}

/// `POST /admin/relatorios/resumo`: the weekly summary goes to the owners now.
pub async fn send_summary(
    state: State,
    who: SignedIn,
    _form: Form<super::backups::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let r = state
        .run(move |conn, app| {
            crate::services::summary::send(
                conn,
                &app.keys,
                &app.meter,
                &app.settings.base_url,
                &actor,
            )
        })
        .await
        .map(|n| match n {
            0 => "Nenhum proprietário ativo para receber o resumo.".to_string(),
            1 => "Resumo semanal enviado ao proprietário.".to_string(),
            n => format!("Resumo semanal enviado aos {n} proprietários."),
        });
    redirect_outcome(&state, "/admin", r)
}
