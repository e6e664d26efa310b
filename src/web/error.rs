//! The one place where an [`AppError`] becomes an HTTP answer: RFC 9457 problem+json
//! for the API, a Portuguese page for people.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

use crate::error::{AppError, FieldError};

fn status_of(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

/// An [`AppError`] answered as `application/problem+json`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub AppError);

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let (title, detail) = self.0.title_detail();
        let status = status_of(&self.0);
        let body = Problem {
            kind: "about:blank",
            title,
            status: status.as_u16(),
            detail,
            code: self.0.code(),
            errors: self.0.field_errors(),
        };
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/problem+json");
        if let Some(secs) = self.0.retry_after() {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if matches!(
            self.0,
            AppError::Unauthenticated
                | AppError::InvalidCredentials
                | AppError::MfaRequired
                | AppError::InvalidOtp
        ) {
            resp.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        resp.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: &'static str,
    pub message: String,
}

impl ErrorPage {
    pub fn response(status: StatusCode, title: &'static str, message: String) -> HttpResponse {
        let html = ErrorPage { title, message }
            .render()
            .unwrap_or_else(|_| "<!doctype html><title>Erro</title>Erro".to_string());
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html)
    }
}

/// An [`AppError`] answered as a Portuguese page.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PageError(#[from] pub AppError);

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        status_of(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let (title, message) = match &self.0 {
            AppError::Unauthenticated => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/login"))
                    .finish();
            }
            AppError::NotFound => (
                "Página não encontrada",
                "O endereço não existe ou o item foi removido. Volte ao painel e tente de novo.".to_string(),
            ),
            AppError::Forbidden => ("Acesso negado", "Sua conta não pode fazer isso.".to_string()),
            AppError::CsrfRejected => (
                "Formulário expirado",
                "O formulário veio de outra página ou expirou. Volte, recarregue a página e envie de novo."
                    .to_string(),
            ),
            AppError::Throttled { retry_after_secs } => (
                "Muitas tentativas",
                format!("Aguarde {retry_after_secs} segundos e tente de novo."),
            ),
            AppError::Validation(f) | AppError::Conflict(f) => (
                "Dados inválidos",
                f.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" "),
            ),
            AppError::BadRequest(_) => (
                "Pedido inválido",
                "O pedido não pôde ser entendido. Volte e tente de novo.".to_string(),
            ),
            AppError::PayloadTooLarge { limit } => (
                "Envio grande demais",
                format!(
                    "O envio é grande demais: o limite é de {} KiB. Volte, encurte os textos do formulário e envie de novo.",
                    limit / 1024
                ),
            ),
            AppError::InvalidCredentials => ("Acesso negado", "E-mail ou senha incorretos.".to_string()),
            AppError::AccountInactive(why) => ("Acesso negado", why.message_pt()),
            AppError::MfaRequired | AppError::InvalidOtp => (
                "Código incorreto",
                "O código de verificação está errado ou já foi usado. Volte e tente de novo com o código atual do aplicativo.".to_string(),
            ),
            AppError::MfaLocked { retry_after_secs } => (
                "Verificação bloqueada",
                format!(
                    "Foram digitados 5 códigos errados seguidos. Por segurança, a verificação em duas etapas ficou bloqueada: aguarde {} minuto(s) e tente de novo.",
                    retry_after_secs.div_ceil(60)
                ),
            ),
            AppError::MfaEnrollmentRequired => (
                "Ative a verificação em duas etapas",
                "Sua conta precisa da verificação em duas etapas. Ative-a em Minha conta.".to_string(),
            ),
            AppError::Busy => (
                "Sistema ocupado",
                "O sistema está ocupado; tente de novo em instantes.".to_string(),
            ),
            AppError::Internal(_) => (
                "Algo deu errado",
                "Tivemos um problema do nosso lado. Tente de novo em instantes; se continuar, avise o suporte."
                    .to_string(),
            ),
        };
        let mut resp = ErrorPage::response(status_of(&self.0), title, message);
        if let Some(secs) = self.0.retry_after()
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<rusqlite::Error> for PageError {
    fn from(e: rusqlite::Error) -> Self {
        Self(e.into())
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        Self(AppError::Internal(
            anyhow::Error::new(e).context("render template"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_busy_writer_is_503_with_retry_after_in_the_api_and_portuguese_on_pages() {
        let api = ApiError(AppError::Busy).error_response();
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            api.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        assert_eq!(
            api.headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(&b"application/problem+json"[..])
        );
        let page = PageError(AppError::Busy).error_response();
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(page.headers().contains_key(header::RETRY_AFTER));
        let body = actix_web::body::to_bytes(page.into_body())
            .await
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("O sistema está ocupado; tente de novo em instantes."),
            "{text}"
        );
    }
}
