//! Who acts, and from where: one extractor for pages and the API alike.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::guard::{ApiUser, SignedIn};
use crate::error::AppError;
use crate::services::Actor;
use crate::web::error::PageError;

/// The person of a page session (put in the request by the area guard) or the bearer of
/// an API token, always with the client's address as `OTM_TRUSTED_PROXIES` decides, so
/// no audit row is written without it.
#[derive(Clone, Debug)]
pub struct Acting(pub Actor);

impl Acting {
    /// The actor, for moving into a use case.
    pub fn actor(&self) -> Actor {
        self.0.clone()
    }
}

impl std::ops::Deref for Acting {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.0
    }
}

impl FromRequest for Acting {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed_in = req.extensions().get::<SignedIn>().cloned();
        if let Some(s) = signed_in {
            let actor = s.actor();
            return Box::pin(async move { Ok(Acting(actor)) });
        }
        if req.path().starts_with("/api/") {
            let bearer = ApiUser::from_request(req, payload);
            return Box::pin(async move { Ok(Acting(bearer.await?.actor())) });
        }
        Box::pin(async { Err(PageError(AppError::Unauthenticated).into()) })
    }
}
