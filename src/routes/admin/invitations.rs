//! `/admin/invitations`: invite by e-mail, resend, revoke.

use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::domain::Role;
use crate::error::AppError;
use crate::services::mailed_links;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Flash, Form, redirect_with};

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    company_id: String,
}

fn back_to(company_id: Option<&str>) -> String {
    match company_id {
        Some(c) => format!("/admin/companies/{c}"),
        None => "/admin/users".to_string(),
    }
}

fn flash_for(result: Result<String, AppError>) -> Result<Flash, PageError> {
    match result {
        Ok(m) => Ok(Flash::success(m)),
        Err(AppError::Validation(e)) | Err(AppError::Conflict(e)) => Ok(Flash::error(
            e.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join(" "),
        )),
        Err(AppError::Forbidden) => Ok(Flash::error(
            "Só o proprietário pode convidar pessoas para a equipe.",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn create(
    _req: HttpRequest,
    state: State,
    who: SignedIn,
    Form(f): Form<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let role = Role::parse(&f.role).unwrap_or(Role::CompanyUser);
    let company_id = Some(f.company_id.trim().to_string()).filter(|c| !c.is_empty());
    let back = back_to(company_id.as_deref());
    let result = state
        .run(move |conn, app| {
            let inv = mailed_links::invite(
                conn,
                &app.keys,
                &actor,
                &f.email,
                role,
                company_id.as_deref(),
                &app.settings.base_url,
            )?;
            Ok(format!(
                "Convite enviado para {}. O link vale por 72 horas.",
                inv.email
            ))
        })
        .await;
    Ok(redirect_with(&state, &back, flash_for(result)?))
}
