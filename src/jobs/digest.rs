//! The daily notification digest (`services::notify::digest_if_due`): checked every
//! minute, sent once the day's `OTM_DIGEST_TIME` (São Paulo) has passed.

use std::sync::Arc;
use std::time::Duration;

use super::Stop;
use crate::db;
use crate::services::app::App;
use crate::services::notify;

const EVERY: Duration = Duration::from_secs(60);

pub async fn run(app: Arc<App>, mut stop: Stop) {
    loop {
        let a = app.clone();
        let result = db::run(&app.pool, move |conn| {
            notify::digest_if_due(conn, &a.keys, &a.settings)
        })
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(digests = n, "notification digests queued"),
            Err(e) => {
                tracing::warn!(error = ?e, "notification digests failed; next try in a minute")
            }
        }
        if stop.sleep(EVERY).await {
            return;
        }
    }
}
