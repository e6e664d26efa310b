use actix_web::HttpResponse;

use crate::web::State;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", operation_id = "healthz",
    responses((status = 200, description = "`ok`.", body = String, content_type = "text/plain")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The database answers and no background job is dead.
#[utoipa::path(get, path = "/readyz", tag = "health", operation_id = "readyz",
    responses(
        (status = 200, description = "`ready`.", body = String, content_type = "text/plain"),
        (status = 503, description = "The database does not answer or a job stopped.", body = String, content_type = "text/plain"),
    ))]
pub async fn readyz(state: State) -> HttpResponse {
    let dead = state.jobs.dead();
    if !dead.is_empty() {
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body(format!("background job stopped: {}", dead.join(", ")));
    }
    let ok = state
        .run(|conn, _| {
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map_err(Into::into)
        })
        .await;
    match ok {
        Ok(1) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        _ => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable"),
    }
}
