//! Background jobs under one supervisor. A job that panics is logged, reported (an
//! alert e-mail and an audit row, through the reporter) and started again after a
//! growing pause; one that panics too often in a short time is left dead, and
//! `/readyz` answers 503 until the server restarts. A shutdown asks every job to stop
//! at its next pause and waits a bounded time for them.

pub mod audit_verify;
pub mod digest;
pub mod health;
pub mod housekeeping;
pub mod privacy;
pub mod retention;
pub mod summary;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::services::app::{JobBoard, JobState};

/// Panics within this window count towards giving up.
const PANIC_WINDOW: Duration = Duration::from_secs(600);
/// Panics within the window after which a job stays dead.
const MAX_PANICS: usize = 5;

/// Tells a job that the server is shutting down.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves once shutdown began: select on it beside the job's pause.
    pub async fn requested(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Sleeps `d`, or less if shutdown begins meanwhile; true when it did.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = self.requested() => true,
        }
    }
}

/// Called when a job panics: `(job, panic message, gave up)`.
pub type Reporter = Arc<dyn Fn(&'static str, String, bool) + Send + Sync>;

pub struct Supervisor {
    board: Arc<JobBoard>,
    report: Reporter,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The first pause after a panic; it doubles with each panic.
    first_pause: Duration,
    /// Jobs that panic on purpose each time they start (`OTM_FAULT_JOBS`, a drill).
    faults: Vec<String>,
}

impl Supervisor {
    pub fn new(board: Arc<JobBoard>, report: Reporter) -> Self {
        Self {
            board,
            report,
            stop: watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
            first_pause: Duration::from_secs(1),
            faults: Vec::new(),
        }
    }

    /// Makes the named jobs fail on purpose, through the same path as a real panic.
    pub fn with_faults(mut self, faults: Vec<String>) -> Self {
        self.faults = faults;
        self
    }

    /// Starts `job` under supervision; `make` builds a fresh run of it each time.
    pub fn start<F, Fut>(&self, name: &'static str, make: F)
    where
        F: Fn(Stop) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (board, report) = (self.board.clone(), self.report.clone());
        let (stop, first_pause) = (Stop(self.stop.subscribe()), self.first_pause);
        let fault = self.faults.iter().any(|f| f == name);
        let task = tokio::spawn(async move {
            let mut panics: Vec<Instant> = Vec::new();
            let mut pause = first_pause;
            loop {
                board.set(name, JobState::Running);
                let run = if fault {
                    tokio::spawn(async { panic!("failure drill (OTM_FAULT_JOBS)") })
                } else {
                    tokio::spawn(make(stop.clone()))
                };
                let panic = match run.await {
                    Ok(()) => {
                        board.set(name, JobState::Finished);
                        return;
                    }
                    Err(e) if e.is_panic() => panic_message(e.into_panic()),
                    Err(_) => return,
                };
                panics.retain(|t| t.elapsed() < PANIC_WINDOW);
                panics.push(Instant::now());
                let gave_up = panics.len() >= MAX_PANICS;
                tracing::error!(job = name, panic = %panic, gave_up, "background job panicked");
                let state = if gave_up {
                    JobState::Dead {
                        panic: panic.clone(),
                    }
                } else {
                    JobState::Restarting {
                        panic: panic.clone(),
                    }
                };
                board.set(name, state);
                // The first panic and the giving up are worth a mail; the ones between
                // would only flood the owner's inbox.
                if panics.len() == 1 || gave_up {
                    report(name, panic, gave_up);
                }
                if gave_up || stop.clone().sleep(pause).await {
                    return;
                }
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        });
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Asks every job to stop and waits up to `grace` for them; the rest are cut off.
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.stop.send(true);
        let tasks: Vec<_> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("background jobs did not stop in time; cut off");
            aborts.iter().for_each(|a| a.abort());
        }
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".into());
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    type Reports = Arc<Mutex<Vec<(String, bool)>>>;

    fn supervisor() -> (Supervisor, Arc<JobBoard>, Reports) {
        let board = Arc::new(JobBoard::default());
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r = reports.clone();
        let mut s = Supervisor::new(
            board.clone(),
            Arc::new(move |job, panic, gave_up| {
                r.lock().unwrap().push((format!("{job}: {panic}"), gave_up))
            }),
        );
        s.first_pause = Duration::from_millis(5);
        (s, board, reports)
    }

    async fn until(what: impl Fn() -> bool) {
        for _ in 0..400 {
            if what() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("condition not reached");
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_and_started_again() {
        let (s, board, reports) = supervisor();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        s.start("flaky", move |mut stop| {
            let n = r.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    panic!("boom {n}");
                }
                stop.requested().await;
            }
        });
        until(|| runs.load(Ordering::SeqCst) == 3).await;
        until(|| board.snapshot() == vec![("flaky", JobState::Running)]).await;
        // One mail for the first panic, none for the second: no flood.
        assert_eq!(
            *reports.lock().unwrap(),
            vec![("flaky: boom 0".into(), false)]
        );
        assert!(board.dead().is_empty());
        s.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn a_job_that_keeps_panicking_is_left_dead() {
        let (s, board, reports) = supervisor();
        s.start("broken", |_stop| async { panic!("always") });
        until(|| board.dead() == vec!["broken"]).await;
        let r = reports.lock().unwrap().clone();
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[1], ("broken: always".into(), true));
    }

    #[tokio::test]
    async fn shutdown_stops_every_job_at_its_next_pause() {
        let (s, board, _) = supervisor();
        let stopped = Arc::new(AtomicUsize::new(0));
        for name in ["a", "b"] {
            let st = stopped.clone();
            s.start(name, move |mut stop| {
                let st = st.clone();
                async move {
                    while !stop.sleep(Duration::from_millis(10)).await {}
                    st.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        until(|| board.snapshot().len() == 2).await;
        s.shutdown(Duration::from_secs(2)).await;
        assert_eq!(stopped.load(Ordering::SeqCst), 2);
        assert!(
            board
                .snapshot()
                .iter()
                .all(|(_, st)| *st == JobState::Finished)
        );
    }
}
