//! `/portal/usage` and its CSV, through the page shared with the dashboard
//! (`routes::usage_pages`).

use actix_web::{HttpResponse, web};

use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::Ctx;

pub async fn page(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    q: web::Query<crate::routes::usage_pages::UsageQuery>,
) -> Result<HttpResponse, PageError> {
    crate::routes::usage_pages::page(&state, ctx, who.actor(), "/portal/usage", q.into_inner())
        .await
}

pub async fn csv(
    state: State,
    who: SignedIn,
    q: web::Query<crate::routes::usage_pages::UsageQuery>,
) -> Result<HttpResponse, PageError> {
    crate::routes::usage_pages::csv(&state, who.actor(), q.into_inner()).await
}
