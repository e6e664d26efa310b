//! The daily verification of the audit chain (`services::history::verify_now`): first a
//! few minutes after start, then every 24 hours. The audit page shows the stored outcome
//! ("Cadeia íntegra, verificada em …") and never walks the chain itself.

use std::sync::Arc;
use std::time::Duration;

use super::Stop;
use crate::db;
use crate::services::Actor;
use crate::services::app::App;
use crate::services::history;

const FIRST_RUN: Duration = Duration::from_secs(120);
const EVERY: Duration = Duration::from_secs(24 * 60 * 60);

pub async fn run(app: Arc<App>, mut stop: Stop) {
    let mut pause = FIRST_RUN;
    loop {
        if stop.sleep(pause).await {
            return;
        }
        pause = EVERY;
        let a = app.clone();
        let result = db::run(&app.pool, move |conn| {
            history::verify_now(conn, &a.keys, &a.settings, &Actor::system())
        })
        .await;
        match result {
            Ok(c) if c.intact => {
                crate::metrics::job_succeeded("audit-verify");
                tracing::info!(rows = c.rows, "audit chain verified")
            }
            Ok(c) => tracing::error!(at = ?c.broken_at, reason = c.reason, "audit chain broken"),
            Err(e) => tracing::warn!(error = ?e, "audit verification failed; next try in 24 hours"),
        }
    }
}
