//! The signed-in person's own account: `GET /api/v1/me` and the second factor
//! (`/api/v1/me/mfa`). Applications have no "me": they get 404 here.

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    ValidationFailed,
};
use super::users::UserJson;
use crate::error::AppError;
use crate::services::auth::Principal;
use crate::services::mfa;
use crate::web::State;
use crate::web::error::ApiError;
use crate::web::guard::ApiUser;

/// The signed-in person and whether their second factor is on.
#[derive(Serialize, ToSchema)]
#[schema(as = Me)]
pub struct MeJson {
    #[serde(flatten)]
    user: UserJson,
    /// True once a second factor was confirmed.
    mfa_enabled: bool,
}

/// A new second-factor secret, not active until confirmed.
#[derive(Serialize, ToSchema)]
#[schema(as = MfaEnrolment)]
pub struct EnrolmentJson {
    /// The TOTP secret in base32 (RFC 4648), for typing into an authenticator app.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    secret: String,
    /// The `otpauth://totp/…` URI (what the QR code holds).
    #[schema(
        example = "otpauth://totp/Omie%20Tenant%20Manager:maria%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Omie%20Tenant%20Manager"
    )]
    otpauth_uri: String,
}

/// A code from the authenticator app (6 digits) or, where said, a recovery code.
#[derive(Deserialize, ToSchema)]
#[schema(as = MfaCode)]
pub struct OtpBody {
    #[schema(example = "123456")]
    otp: String,
}

/// The recovery codes, shown this once.
#[derive(Serialize, ToSchema)]
#[schema(as = MfaRecoveryCodes)]
pub struct RecoveryCodesJson {
    /// Ten single-use codes; store them somewhere safe.
    #[schema(example = json!(["ABCDE-FGHJK"]))]
    recovery_codes: Vec<String>,
}

fn person(who: &ApiUser) -> Result<Principal, ApiError> {
    who.principal.clone().ok_or(ApiError(AppError::NotFound))
}

/// A person's token (an application's answers 404 here, before any body is read).
pub struct ApiPerson(pub ApiUser);

impl actix_web::FromRequest for ApiPerson {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let who = ApiUser::from_request(req, payload);
        Box::pin(async move {
            let who = who.await?;
            person(&who)?;
            Ok(ApiPerson(who))
        })
    }
}

/// Who am I
///
/// The person the token belongs to (§4 user fields) and whether their second factor is
/// on. Answers even before a required second factor is turned on.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    operation_id = "getMe",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The signed-in person.", body = MeJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(state: State, who: ApiUser) -> Result<HttpResponse, ApiError> {
    let p = person(&who)?;
    let (id, actor) = (p.user.id.clone(), who.actor());
    let (user, enabled) = state
        .run(move |conn, _| {
            let u = mfa::person(conn, &actor)?;
            Ok((u, mfa::enabled(conn, &id)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(MeJson {
        user: user.into(),
        mfa_enabled: enabled,
    }))
}

/// Start turning on the second factor
///
/// A new TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s). It does not count until
/// confirmed with a code; starting again replaces an unconfirmed secret. 409 when the
/// second factor is already on.
#[utoipa::path(
    post,
    path = "/api/v1/me/mfa",
    tag = "me",
    operation_id = "startMfa",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The secret to put in an authenticator app.", body = EnrolmentJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn start(state: State, ApiPerson(who): ApiPerson) -> Result<HttpResponse, ApiError> {
    let actor = who.actor();
    let e = state
        .run(move |conn, app| mfa::start(conn, &app.keys, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(EnrolmentJson {
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
    }))
}

/// Confirm the second factor
///
/// With a code from the app; the second factor counts from now on. Answers the ten
/// single-use recovery codes, shown this once. 409 when no enrolment was started or the
/// second factor is already on.
#[utoipa::path(
    post,
    path = "/api/v1/me/mfa/confirm",
    tag = "me",
    operation_id = "confirmMfa",
    request_body = OtpBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "On; the recovery codes.", body = RecoveryCodesJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn confirm(
    state: State,
    ApiPerson(who): ApiPerson,
    body: Result<super::JsonBody<OtpBody>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    // The body is read only after the caller is known to be a person (an application
    // gets 404, not a complaint about the body).
    let (actor, otp) = (who.actor(), body?.into_inner().otp);
    let codes = state
        .run(move |conn, app| mfa::confirm(conn, &app.keys, &app.settings.base_url, &actor, &otp))
        .await
        .map_err(ApiError)?;
    Ok(HttpResponse::Ok().json(RecoveryCodesJson {
        recovery_codes: codes,
    }))
}

/// Turn the second factor off
///
/// With a current code (or a recovery code). Refused with 403 for a role that must use
/// a second factor; 409 when it is not on.
#[utoipa::path(
    delete,
    path = "/api/v1/me/mfa",
    tag = "me",
    operation_id = "disableMfa",
    request_body = OtpBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Off."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn disable(
    state: State,
    ApiPerson(who): ApiPerson,
    body: Result<super::JsonBody<OtpBody>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    // The body is read only after the caller is known to be a person (an application
    // gets 404, not a complaint about the body).
    let (actor, otp) = (who.actor(), body?.into_inner().otp);
    state
        .run(move |conn, app| mfa::disable(conn, &app.keys, &app.settings, &actor, &otp))
        .await
        .map_err(ApiError)?;
    Ok(HttpResponse::NoContent().finish())
}
