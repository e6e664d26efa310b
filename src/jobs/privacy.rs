//! Reminds the owners of LGPD requests near their 15-day deadline: a few seconds after
//! start, then every hour; each request is mailed about at most once a São Paulo day
//! (the use case records the day), so restarts and the hourly pass never flood.

use std::sync::Arc;
use std::time::Duration;

use super::Stop;
use crate::db;
use crate::services::app::App;
use crate::services::data_rights;

pub async fn run(app: Arc<App>, mut stop: Stop) {
    let mut pause = Duration::from_secs(3);
    loop {
        if stop.sleep(pause).await {
            return;
        }
        pause = Duration::from_secs(3600);
        let a = app.clone();
        let days = app.settings.privacy_reminder_days;
        let r = db::run(&app.pool, move |conn| {
            data_rights::remind(conn, &a.keys, &a.settings.base_url, days)
        })
        .await;
        match r {
            Ok(n) => {
                crate::metrics::job_succeeded("privacy-reminders");
                if n > 0 {
                    tracing::info!(requests = n, "LGPD deadline reminders queued");
                }
            }
            Err(e) => tracing::warn!(error = ?e, "LGPD reminders failed"),
        }
    }
}
