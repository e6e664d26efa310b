//! One error type for every use case, and the one place where it becomes an HTTP answer:
//! RFC 9457 problem+json for the API, a Portuguese page for people.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Why a person with the right password still cannot sign in. Only said after the
/// password checked out, so it tells a visitor nothing about which e-mails exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inactive {
    Pending,
    Rejected(String),
    Disabled,
    CompanyInactive,
}

impl Inactive {
    pub fn message_pt(&self) -> String {
        match self {
            Self::Pending => "Seu cadastro ainda aguarda aprovação. Você receberá um e-mail quando ele for analisado.".into(),
            Self::Rejected(r) if r.is_empty() => "Seu pedido de acesso foi recusado. Fale com quem administra o sistema na sua empresa.".into(),
            Self::Rejected(r) => format!("Seu pedido de acesso foi recusado. Motivo: {r}"),
            Self::Disabled => "Sua conta está desativada. Fale com quem administra o sistema na sua empresa.".into(),
            Self::CompanyInactive => "O acesso da sua empresa está suspenso. Fale com o responsável pelo sistema.".into(),
        }
    }

    fn detail_en(&self) -> &'static str {
        match self {
            Self::Pending => "The account is awaiting approval.",
            Self::Rejected(_) => "The account request was refused.",
            Self::Disabled => "The account is disabled.",
            Self::CompanyInactive => "The account's company is suspended or archived.",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("conflict")]
    Conflict(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("forbidden")]
    Forbidden,
    #[error("too many attempts")]
    Throttled { retry_after_secs: u64 },
    #[error("cross-site request refused")]
    CsrfRejected,
    #[error("account cannot sign in")]
    AccountInactive(Inactive),
    #[error("{0}")]
    BadRequest(String),
    /// A request body over `limit` bytes.
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthenticated | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::CsrfRejected | Self::AccountInactive(_) => {
                StatusCode::FORBIDDEN
            }
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The English title and detail used by the API.
    fn title_detail(&self) -> (&'static str, String) {
        match self {
            Self::Validation(_) => ("Invalid input", "One or more fields are invalid.".into()),
            Self::Conflict(_) => ("Conflict", "The value is already in use.".into()),
            Self::NotFound => ("Not found", "No such resource.".into()),
            Self::Unauthenticated => ("Unauthorized", "A valid bearer token is required.".into()),
            Self::InvalidCredentials => ("Unauthorized", "E-mail or password is incorrect.".into()),
            Self::Forbidden => ("Forbidden", "You may not do this.".into()),
            Self::Throttled { retry_after_secs } => (
                "Too many requests",
                format!("Too many failed attempts; try again in {retry_after_secs} s."),
            ),
            Self::CsrfRejected => ("Forbidden", "Cross-site request refused.".into()),
            Self::AccountInactive(why) => ("Forbidden", why.detail_en().into()),
            Self::BadRequest(d) => ("Bad request", d.clone()),
            Self::PayloadTooLarge { limit } => (
                "Payload too large",
                format!(
                    "The request body is over the limit of {} KiB.",
                    limit / 1024
                ),
            ),
            Self::Internal(_) => ("Internal error", "Something went wrong on our side.".into()),
        }
    }

    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) | Self::Conflict(f) => f,
            _ => &[],
        }
    }

    fn log(&self) {
        if let Self::Internal(e) = self {
            tracing::error!(error = ?e, "request failed");
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("database pool"))
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

/// An [`AppError`] answered as `application/problem+json`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub AppError);

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let (title, detail) = self.0.title_detail();
        let status = self.0.status();
        let body = Problem {
            kind: "about:blank",
            title,
            status: status.as_u16(),
            detail,
            errors: self.0.field_errors(),
        };
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/problem+json");
        if let AppError::Throttled { retry_after_secs } = self.0 {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if matches!(
            self.0,
            AppError::Unauthenticated | AppError::InvalidCredentials
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

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
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
        self.0.status()
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
            AppError::Internal(_) => (
                "Algo deu errado",
                "Tivemos um problema do nosso lado. Tente de novo em instantes; se continuar, avise o suporte."
                    .to_string(),
            ),
        };
        let mut resp = ErrorPage::response(self.0.status(), title, message);
        if let AppError::Throttled { retry_after_secs } = self.0
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
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

/// The message for `field` among a form's errors, for templates.
pub fn message_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}
