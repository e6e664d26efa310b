//! Saúde do sistema in the background: every `OTM_HEALTH_EVERY_SECONDS` (a minute by
//! default) the checks are computed and each one that turned critical for a cause no
//! other alert covers raises its alert (one mail when it starts, one when it clears).

use std::sync::Arc;
use std::time::Duration;

use super::Stop;
use crate::db;
use crate::services::app::App;
use crate::services::{alerts, health, tls_cert};

pub async fn run(app: Arc<App>, mut stop: Stop) {
    let every = Duration::from_secs(app.settings.health_every_secs);
    loop {
        app.jobs.beat("health");
        tls_cert::refresh(&app.tls, &app.settings.base_url).await;
        let a = app.clone();
        let r = db::run(&app.pool, move |conn| {
            health::refresh(conn)?;
            let report = health::compute(conn, &a)?;
            alerts::evaluate_health(conn, &a.keys, &a.settings, &report.checks)
        })
        .await;
        if let Err(e) = r {
            tracing::warn!(error = ?e, "health checks not evaluated");
        }
        if stop.sleep(every).await {
            return;
        }
    }
}
