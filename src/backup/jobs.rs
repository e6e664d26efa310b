//! The server's backup jobs: the schedule (including a run missed while the server was
//! down), the live database's integrity check, and the alerts.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{Policy, RunLock, schedule};
use crate::db::{self, app_settings, backups};
use crate::error::AppError;
use crate::services::Actor;
use crate::services::alerts::{self, ANCHOR, Integrity};
use crate::services::app::App;
use crate::time;

type State = std::sync::Arc<App>;

const TICK: Duration = Duration::from_secs(5);
const ALERTS_EVERY: Duration = Duration::from_secs(60);
const INTEGRITY_EVERY: Duration = Duration::from_secs(3600);

/// Runs a recorded backup on a thread of its own, then looks at the alerts again.
pub fn spawn(state: State, lock: RunLock, id: String) {
    let spawned = std::thread::Builder::new()
        .name("backup".into())
        .spawn(move || run_to_end(&state, lock, &id));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the backup thread");
    }
}

fn run_to_end(state: &State, lock: RunLock, id: &str) {
    let (pool, keys, settings) = (&state.pool, &state.keys, &state.settings);
    if let Err(e) = super::execute(pool, keys, settings, lock, id) {
        tracing::error!(backup = id, error = ?e, "backup could not be recorded");
    }
    let r = pool
        .get()
        .map_err(AppError::from)
        .and_then(|mut c| alerts::evaluate(&mut c, keys, settings, &None));
    if let Err(e) = r {
        tracing::warn!(error = ?e, "alerts not evaluated");
    }
}

pub async fn run(state: State, mut stop: crate::jobs::Stop) {
    // Under the backup lock (skipped while a command-line backup runs): a run still
    // marked running died with its process; retention also applies when no backup has
    // run for a while. Neither failing stops the jobs.
    let st = state.clone();
    let tidied = tokio::task::spawn_blocking(move || -> Result<(), AppError> {
        let Some(lock) = super::try_lock(&st.settings)? else {
            return Ok(());
        };
        let mut conn = st.pool.get()?;
        let n = super::fail_interrupted(&mut conn, &st.keys)?;
        if n > 0 {
            tracing::warn!(runs = n, "backups interrupted by a stop were marked failed");
        }
        let policy = Policy::load(&conn, &st.settings)?;
        drop(conn);
        super::prune(&st.pool, &st.keys, &st.settings, &policy)?;
        drop(lock);
        Ok(())
    })
    .await;
    match tidied {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = ?e, "interrupted or old backups not tidied"),
        Err(e) => tracing::warn!(error = %e, "interrupted or old backups not tidied"),
    }

    let mut tick = tokio::time::interval(TICK);
    let mut last_alerts: Option<Instant> = None;
    let mut last_integrity: Option<Instant> = None;
    let mut handled: Option<DateTime<Utc>> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.requested() => return,
        }
        state.jobs.beat("backups");
        let mut integrity: Integrity = None;
        if last_integrity.is_none_or(|t| t.elapsed() >= INTEGRITY_EVERY) {
            last_integrity = Some(Instant::now());
            integrity = db::run(&state.pool, |conn| Ok(alerts::check_live(conn)))
                .await
                .ok();
        }
        if integrity.is_some() || last_alerts.is_none_or(|t| t.elapsed() >= ALERTS_EVERY) {
            last_alerts = Some(Instant::now());
            evaluate(&state, integrity).await;
        }
        match scheduled(&state, &mut handled).await {
            Ok(_) => crate::metrics::job_succeeded("backups"),
            Err(e) => tracing::warn!(error = ?e, "scheduled backup not started"),
        }
    }
}

async fn evaluate(state: &State, integrity: Integrity) {
    let st = state.clone();
    let r = db::run(&state.pool, move |conn| {
        alerts::evaluate(conn, &st.keys, &st.settings, &integrity)
    })
    .await;
    if let Err(e) = r {
        tracing::warn!(error = ?e, "alerts not evaluated");
    }
}

/// Starts the backup of the latest slot when no run started since that slot (and the
/// slot is after the schedule began counting, so a new install does not start with one).
async fn scheduled(state: &State, handled: &mut Option<DateTime<Utc>>) -> Result<(), AppError> {
    let st = state.clone();
    let policy = db::run(&state.pool, move |conn| Policy::load(conn, &st.settings)).await?;
    let Some(slot) = schedule::latest_slot(time::now(), &policy.times) else {
        return Ok(());
    };
    if *handled == Some(slot) {
        return Ok(());
    }
    let st = state.clone();
    let started = db::run(&state.pool, move |conn| {
        let at = time::to_db(slot);
        let anchor = app_settings::get(conn, ANCHOR)?.unwrap_or_default();
        if at <= anchor || backups::started_since(conn, &at)? {
            return Ok(None);
        }
        let actor = Actor::system();
        super::begin(conn, &st.keys, &st.settings, &actor, "scheduled").map(Some)
    })
    .await;
    let started = match started {
        Ok(s) => s,
        // Another backup, started before the slot, holds the lock: try again next tick.
        Err(AppError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    *handled = Some(slot);
    if let Some((lock, row)) = started {
        tracing::info!(backup = %row.id, slot = %slot, "scheduled backup started");
        // On its own thread: alerts and checks go on while it runs.
        spawn(state.clone(), lock, row.id);
    }
    Ok(())
}
