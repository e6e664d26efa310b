//! The weekly summary report: every minute it asks whether the Monday summary is due
//! (`services::summary::weekly_if_due`, which sends it once per Monday from
//! `OTM_DIGEST_TIME` on, São Paulo time).

use std::sync::Arc;
use std::time::Duration;

use super::Stop;
use crate::db;
use crate::services::app::App;
use crate::services::summary;

const EVERY: Duration = Duration::from_secs(60);

pub async fn run(app: Arc<App>, mut stop: Stop) {
    loop {
        if stop.sleep(EVERY).await {
            return;
        }
        let a = app.clone();
        let result = db::run(&app.pool, move |conn| {
            summary::weekly_if_due(conn, &a.keys, &a.meter, &a.settings)
        })
        .await;
        match result {
            Ok(true) => tracing::info!("weekly summary sent to the owners"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = ?e, "weekly summary not sent; next try in a minute"),
        }
    }
}
