use actix_web::HttpResponse;

use crate::web::State;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The database answers and no background job is dead.
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
