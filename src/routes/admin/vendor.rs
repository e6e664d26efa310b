//! The vendor's name and logo: saved from the settings page (a multipart form, the one
//! upload of the dashboard), and the logo served from our own route under its content
//! hash, so it can be cached for a year and a new logo gets a new URL.

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use crate::error::AppError;
use crate::services::vendor::{self, VendorInput};
use crate::web::State;
use crate::web::csrf::{FormRefused, check_token};
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::multipart;
use crate::web::page::redirect_outcome;

pub async fn save(
    req: HttpRequest,
    state: State,
    who: SignedIn,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // The page sends multipart (with the file); a url-encoded form (no file) is read too.
    let parts = match multipart::boundary(&ct) {
        Some(boundary) => multipart::parse(&boundary, &body),
        None if req.content_type() == "application/x-www-form-urlencoded" => {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .ok()
                .map(|pairs| {
                    pairs
                        .into_iter()
                        .map(|(name, v)| multipart::Part {
                            name,
                            filename: None,
                            data: v.into_bytes(),
                        })
                        .collect()
                })
        }
        None => return Err(FormRefused::NotAForm.into()),
    };
    let field = |name: &str| {
        parts
            .as_ref()
            .and_then(|ps| ps.iter().find(|p| p.name == name))
    };
    let token = field("csrf_token")
        .map(|p| String::from_utf8_lossy(&p.data).to_string())
        .unwrap_or_default();
    check_token(&req, &state, &token)?;
    if parts.is_none() {
        return Err(FormRefused::Malformed.into());
    }
    let input = VendorInput {
        name: field("vendor_name")
            .map(|p| String::from_utf8_lossy(&p.data).to_string())
            .unwrap_or_default(),
        logo: field("logo")
            .filter(|p| !p.data.is_empty())
            .map(|p| p.data.clone()),
        remove_logo: field("remove_logo").is_some(),
    };
    let actor = who.actor();
    let r = state
        .run(move |conn, app| vendor::update(conn, &app.keys, &actor, &input))
        .await
        .map(|()| "Nome e logotipo salvos.".to_string());
    Ok(redirect_outcome(&state, "/admin/settings", r)?)
}

/// `GET /marca/{hash}`: the logo, for the portal's header and the e-mails (public: a
/// mail reader fetches it without a session).
pub async fn logo(state: State, hash: web::Path<String>) -> Result<HttpResponse, PageError> {
    let hash = hash.into_inner();
    if hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PageError(AppError::NotFound));
    }
    let l = state.run(move |conn, _| vendor::logo(conn, &hash)).await?;
    Ok(HttpResponse::Ok()
        .content_type(l.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(l.bytes))
}
