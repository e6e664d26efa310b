//! The daily retention run: removes what the data inventory's periods say is due
//! (`services::retention::run`), first a few minutes after start, then every 24 hours.
//! The command `omie-tenant-manager retention run [--now T]` does the same run at once.

use std::sync::Arc;
use std::time::Duration;

use super::Stop;
use crate::db;
use crate::services::app::App;
use crate::services::retention;

/// After a start, the server first serves; the run comes a little later.
const FIRST_RUN: Duration = Duration::from_secs(300);
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
            retention::run(
                conn,
                &a.keys,
                crate::time::now(),
                a.settings.session_idle_secs,
            )
        })
        .await;
        match result {
            Ok(r) => {
                crate::metrics::job_succeeded("retention");
                tracing::info!(removed = r.total(), "retention applied")
            }
            Err(e) => tracing::warn!(error = ?e, "retention run failed; next try in 24 hours"),
        }
    }
}
