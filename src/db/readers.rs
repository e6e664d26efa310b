//! The threads that run the requests' reads: as many as the pool has connections, started
//! once, fed from one queue.
//!
//! Why not tokio's blocking pool: it starts a thread whenever a read arrives and none is
//! idle at that instant, and keeps it ten seconds. 64 concurrent searches at 100,000
//! companies kept ~50–100 threads alive, each with its stack and a malloc arena: 17 MB
//! of RSS measured (130 → 113 MB) on a server whose target is 100 MB. Here a burst waits
//! in the queue (a boxed closure each) instead, and the threads are never more than the
//! connections they would wait for anyway.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::writer::internal;
use crate::error::AppError;

type Job = Box<dyn FnOnce() + Send>;

/// How long a read may wait in the queue: past it, it answers "busy" (503 with
/// `Retry-After` in the API, "O sistema está ocupado" on pages) instead of running late.
/// The same ten seconds a read used to wait for a pooled connection.
const QUEUE_DEADLINE: Duration = Duration::from_secs(10);

/// The queue into the reader threads. The threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct Readers {
    jobs: mpsc::Sender<Job>,
    deadline: Duration,
    /// Reads queued and not yet taken by a thread (for `/metrics`).
    waiting: Arc<AtomicUsize>,
}

impl Readers {
    /// Starts `n` reader threads (at least one).
    pub fn start(n: usize) -> std::io::Result<Readers> {
        Self::with_deadline(n, QUEUE_DEADLINE)
    }

    fn with_deadline(n: usize, deadline: Duration) -> std::io::Result<Readers> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..n.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("otm-reader-{i}"))
                .spawn(move || serve(&queue))?;
        }
        Ok(Readers {
            jobs,
            deadline,
            waiting: Arc::default(),
        })
    }

    /// Reads queued and not yet taken by a thread.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs `f` on a reader thread and awaits its answer without holding a thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let (queued, deadline) = (Instant::now(), self.deadline);
        let taken = Arc::clone(&self.waiting);
        self.waiting.fetch_add(1, Ordering::Relaxed);
        self.jobs
            .send(Box::new(move || {
                taken.fetch_sub(1, Ordering::Relaxed);
                // Nobody waiting any more (the client went away): not worth running.
                if answer.is_closed() {
                    return;
                }
                let out = if queued.elapsed() > deadline {
                    Err(AppError::Busy)
                } else {
                    f()
                };
                let _ = answer.send(out);
            }))
            .map_err(|_| {
                self.waiting.fetch_sub(1, Ordering::Relaxed);
                internal("the reader threads have stopped".into())
            })?;
        // A panic in `f` drops `answer` unsent: the caller gets an error, the thread lives.
        answered
            .await
            .map_err(|_| internal("a read failed without an answer".into()))?
    }
}

fn serve(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // One idle thread waits in `recv` holding the lock, the others for the lock;
        // a job runs with the lock released.
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("a read panicked");
        }
    }
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Readers(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_run_on_the_reader_threads_and_a_panic_costs_only_its_own_answer() {
        let readers = Readers::start(2).expect("threads");
        let name = readers
            .run(|| Ok(std::thread::current().name().map(str::to_string)))
            .await
            .expect("answer");
        assert!(name.is_some_and(|n| n.starts_with("otm-reader-")));

        let failed: Result<(), AppError> = readers.run(|| panic!("boom")).await;
        assert!(failed.is_err());
        // Both threads still serve: two reads that each wait for the other at a barrier
        // finish only if two threads run them at once.
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let meet = || {
            let b = Arc::clone(&barrier);
            readers.run(move || {
                b.wait();
                Ok(())
            })
        };
        let (a, b) = tokio::join!(meet(), meet());
        assert!(a.is_ok() && b.is_ok());
    }

    /// A read that waited past the deadline answers "busy" without running; one whose
    /// caller went away is not run at all.
    #[tokio::test]
    async fn a_late_read_is_refused_and_an_abandoned_one_never_runs() {
        // One thread, kept busy for `busy`; then a read queued behind it.
        async fn behind_a_slow_one(
            readers: &Readers,
            busy: Duration,
            then: impl FnOnce() -> Result<(), AppError> + Send + 'static,
            give_up: bool,
        ) -> Option<Result<(), AppError>> {
            let r = readers.clone();
            let slow = tokio::spawn(async move {
                r.run(move || {
                    std::thread::sleep(busy);
                    Ok(())
                })
                .await
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
            let next = readers.run(then);
            let out = if give_up {
                // Queued (polled once), then dropped.
                assert!(
                    tokio::time::timeout(Duration::from_millis(10), next)
                        .await
                        .is_err()
                );
                // Still in the queue, behind the slow one: what `/metrics` shows.
                assert_eq!(readers.waiting(), 1);
                None
            } else {
                Some(next.await)
            };
            assert!(slow.await.expect("task").is_ok());
            out
        }

        let strict = Readers::with_deadline(1, Duration::from_millis(50)).expect("thread");
        let late = behind_a_slow_one(&strict, Duration::from_millis(200), || Ok(()), false).await;
        assert_eq!(strict.waiting(), 0);
        assert!(matches!(late, Some(Err(AppError::Busy))), "{late:?}");

        let patient = Readers::start(1).expect("thread");
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = Arc::clone(&ran);
        let mark = move || {
            r.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        };
        behind_a_slow_one(&patient, Duration::from_millis(100), mark, true).await;
        // One more read after the abandoned one, so the queue got past it.
        patient.run(|| Ok(())).await.expect("a fresh read runs");
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(patient.waiting(), 0);
    }
}
