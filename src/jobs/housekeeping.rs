//! Saves usage counts every 10 seconds and forgets expired sessions and tokens every
//! 5 minutes.

use std::sync::Arc;
use std::time::Duration;

use super::Stop;
use crate::db;
use crate::services::app::App;
use crate::services::auth;

pub async fn run(app: Arc<App>, mut stop: Stop) {
    let mut n: u64 = 0;
    loop {
        app.jobs.beat("housekeeping");
        let stopping = stop.sleep(Duration::from_secs(10)).await;
        // The counts of the last seconds are saved on the way out too.
        let a = app.clone();
        if let Err(e) = db::run(&app.pool, move |conn| a.meter.flush(conn)).await {
            tracing::warn!(error = ?e, "usage counts not saved yet");
        }
        if stopping {
            return;
        }
        n += 1;
        if n % 30 != 1 {
            continue;
        }
        let idle = app.settings.session_idle_secs;
        match app
            .pool
            .writer()
            .write(move |tx| auth::purge_expired(tx, idle))
            .await
        {
            Ok(n) => {
                crate::metrics::job_succeeded("housekeeping");
                if n > 0 {
                    tracing::info!(removed = n, "expired sessions and tokens removed");
                }
            }
            Err(e) => tracing::warn!(error = ?e, "housekeeping failed"),
        }
    }
}
