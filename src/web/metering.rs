//! Every call of an application is counted (issue 12): the use cases count the calls
//! they serve; this layer, around `/api/v1`, counts the others once answered — a route
//! an application may not use, a request refused before its use case ran (a bad body,
//! an unknown route), a list that returned nothing — through `usage::Meter::unmetered`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use super::State;
use super::guard::{APP_TOKEN_PREFIX, bearer};
use crate::services::Actor;

/// The application acting in this request, put here by the API's authentication so the
/// layer can see whether a use case counted the call.
#[derive(Clone)]
pub struct AppCall(pub Actor);

/// The request's application token was looked up by the API's authentication (found
/// or not), so the layer does not look it up a second time.
#[derive(Clone, Copy)]
pub struct TokenLookedUp;

pub async fn layer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let state = req.app_data::<State>().cloned();
    let app_token =
        bearer(req.request()).and_then(|t| t.strip_prefix(APP_TOKEN_PREFIX).map(str::to_string));
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let (Some(state), Some(token)) = (state, app_token) else {
        return Ok(res);
    };
    let status = res.status().as_u16();
    let route = res.request().match_pattern();
    let (known, looked_up) = {
        let ext = res.request().extensions();
        (
            ext.get::<AppCall>().cloned(),
            ext.get::<TokenLookedUp>().is_some(),
        )
    };
    let actor = match known {
        Some(AppCall(actor)) => Some(actor),
        None if looked_up => None,
        // Refused before the application was looked up (another extractor failed
        // first): look the token up now; an unknown or expired one is nobody's call.
        None => state
            .blocking(move |app| crate::services::hot::application_token(app, &token))
            .await
            .ok()
            .flatten()
            .map(|(id, client_id, scope)| Actor::application(id, client_id, scope, String::new())),
    };
    if let Some(actor) = actor {
        state
            .meter
            .unmetered(&actor, status, &method, route.as_deref());
    }
    Ok(res)
}
