//! One error type for every use case, free of any web framework: the store, the use
//! cases, the jobs and the command line share it. `web::error` is the one place where it
//! becomes an HTTP answer.

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
    /// The company was archived (it ended its relation), not suspended.
    CompanyArchived,
}

impl Inactive {
    pub fn message_pt(&self) -> String {
        match self {
            Self::Pending => "Seu cadastro ainda aguarda aprovação. Você receberá um e-mail quando ele for analisado.".into(),
            Self::Rejected(r) if r.is_empty() => "Seu pedido de acesso foi recusado. Fale com quem administra o sistema na sua empresa.".into(),
            Self::Rejected(r) => format!("Seu pedido de acesso foi recusado. Motivo: {r}"),
            Self::Disabled => "Sua conta está desativada. Fale com quem administra o sistema na sua empresa.".into(),
            Self::CompanyInactive => "O acesso da sua empresa está suspenso. Fale com o responsável pelo sistema.".into(),
            Self::CompanyArchived => "O cadastro da sua empresa foi encerrado (arquivado), por isso o acesso não está mais disponível. Se isso não era esperado, fale com o responsável pelo sistema.".into(),
        }
    }

    pub fn detail_en(&self) -> &'static str {
        match self {
            Self::Pending => "The account is awaiting approval.",
            Self::Rejected(_) => "The account request was refused.",
            Self::Disabled => "The account is disabled.",
            Self::CompanyInactive => "The account's company is suspended.",
            Self::CompanyArchived => "The account's company is archived.",
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
    /// The person has a second factor and gave no code.
    #[error("second factor required")]
    MfaRequired,
    /// The code (TOTP or recovery code) is wrong, or was used already.
    #[error("invalid second-factor code")]
    InvalidOtp,
    /// Five wrong codes in a row: the factor is locked for a while.
    #[error("second factor locked")]
    MfaLocked { retry_after_secs: u64 },
    /// The person's role must use a second factor and they have none yet.
    #[error("second factor enrolment required")]
    MfaEnrollmentRequired,
    /// The writer's queue stayed full past its deadline (`OTM_WRITE_DEADLINE_MS`): the
    /// change was not made; the caller may try again shortly.
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status this error answers with, wherever it is answered.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Validation(_) => 422,
            Self::Conflict(_) => 409,
            Self::NotFound => 404,
            Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::MfaRequired
            | Self::InvalidOtp => 401,
            Self::MfaEnrollmentRequired => 403,
            Self::MfaLocked { .. } => 429,
            Self::Forbidden | Self::CsrfRejected | Self::AccountInactive(_) => 403,
            Self::Throttled { .. } => 429,
            Self::BadRequest(_) => 400,
            Self::PayloadTooLarge { .. } => 413,
            Self::Busy => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The English title and detail used by the API.
    pub fn title_detail(&self) -> (&'static str, String) {
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
            Self::MfaRequired => (
                "Unauthorized",
                "This account uses a second factor: send the code as `otp`.".into(),
            ),
            Self::InvalidOtp => (
                "Unauthorized",
                "The second-factor code is wrong or was already used.".into(),
            ),
            Self::MfaLocked { retry_after_secs } => (
                "Too many requests",
                format!("Too many wrong second-factor codes; try again in {retry_after_secs} s."),
            ),
            Self::MfaEnrollmentRequired => (
                "Forbidden",
                "This account must turn on a second factor first (POST /api/v1/me/mfa).".into(),
            ),
            Self::Busy => (
                "Service unavailable",
                "The server is busy; try again in a moment.".into(),
            ),
            Self::Internal(_) => ("Internal error", "Something went wrong on our side.".into()),
        }
    }

    /// A machine-readable `code` for the problem document, where clients must tell
    /// answers of the same status apart.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::MfaRequired => Some("mfa_required"),
            Self::InvalidOtp => Some("invalid_otp"),
            Self::MfaLocked { .. } => Some("mfa_locked"),
            Self::MfaEnrollmentRequired => Some("mfa_enrollment_required"),
            _ => None,
        }
    }

    /// Seconds to wait, for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Throttled { retry_after_secs } | Self::MfaLocked { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            Self::Busy => Some(1),
            _ => None,
        }
    }

    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) | Self::Conflict(f) => f,
            _ => &[],
        }
    }

    pub fn log(&self) {
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

/// The message for `field` among a form's errors, for templates.
pub fn message_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}
