//! The one writer: a dedicated thread owning the program's only connection that writes rows,
//! committing the writes that wait for it in groups.
//!
//! Each write is a job (a `Send + 'static` closure). The thread blocks for the first job,
//! then takes every job already waiting (up to [`GROUP_CAP`]), opens one `BEGIN
//! IMMEDIATE` transaction and runs each job in its own `SAVEPOINT`: a job that fails (or
//! panics) is rolled back to its savepoint alone and gets its own error, its neighbours
//! keep their work. One `COMMIT` (one fsync under `synchronous=FULL`) then makes the whole
//! group durable, and only after it does the thread answer each caller; a failed commit
//! answers every job of the group with an error. Reads never come here: they use the
//! read-only pool.
//!
//! The audit chain's head (last id and hash) lives in the thread's memory ([`Tx`]), so
//! an append reads nothing; the `audit_head` row is written once per group. The head
//! follows a job's rollback and is forgotten after a failed commit or when another
//! process (a CLI command) committed in between (`PRAGMA data_version`).
//!
//! Back-pressure: the queue holds at most `queue_cap` jobs; a caller waits for room up to
//! the deadline, then gets [`AppError::Busy`] (503 with `Retry-After`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::AppError;

/// The most jobs one transaction takes.
pub const GROUP_CAP: usize = 512;

/// How the writer queues.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Jobs that may wait at once (memory is bounded by it).
    pub queue_cap: usize,
    /// How long a caller waits for room in a full queue before [`AppError::Busy`].
    pub deadline: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            queue_cap: 4096,
            deadline: Duration::from_secs(2),
        }
    }
}

/// The audit chain's head as the writer knows it.
#[derive(Clone, Debug, Default)]
pub struct AuditHead {
    /// Last row's id and hash; `None` = not known, read it from `audit_head`.
    pub(crate) known: Option<(i64, String)>,
    /// The MAC of `known` when the `audit_head` row does not hold it yet.
    pub(crate) unwritten_mac: Option<String>,
}

/// A write job's view of the transaction: the connection (it derefs to it) and the
/// writer's audit-chain head.
pub struct Tx<'a> {
    conn: &'a Connection,
    head: &'a RefCell<AuditHead>,
    /// Write the `audit_head` row after each append (outside the writer: tests, tools).
    per_row: bool,
}

impl Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl<'a> Tx<'a> {
    /// A `Tx` over a connection the caller already holds inside its own transaction,
    /// outside the writer (start-up work, tests): the head row is written on each append.
    pub fn direct(conn: &'a Connection, head: &'a RefCell<AuditHead>) -> Self {
        Self {
            conn,
            head,
            per_row: true,
        }
    }

    pub(crate) fn audit_head(&self) -> Option<(i64, String)> {
        self.head.borrow().known.clone()
    }

    pub(crate) fn set_audit_head(&self, id: i64, hash: String, mac: String) {
        let mut h = self.head.borrow_mut();
        h.known = Some((id, hash));
        h.unwritten_mac = Some(mac);
    }

    pub(crate) fn writes_head_per_row(&self) -> bool {
        self.per_row
    }

    /// Someone wrote the head row directly (a re-chain): read it again next time.
    pub(crate) fn forget_audit_head(&self) {
        *self.head.borrow_mut() = AuditHead::default();
    }

    /// Writes the pending head row, if any.
    pub(crate) fn flush_audit_head(&self) -> rusqlite::Result<()> {
        let pending = {
            let h = self.head.borrow();
            match (&h.known, &h.unwritten_mac) {
                (Some((id, hash)), Some(mac)) => Some((*id, hash.clone(), mac.clone())),
                _ => None,
            }
        };
        if let Some((id, hash, mac)) = pending {
            super::audit::store_head(self.conn, id, &hash, &mac)?;
            self.head.borrow_mut().unwritten_mac = None;
        }
        Ok(())
    }
}

type Answer<T> = Result<T, AppError>;

enum Reply<T> {
    Blocking(std::sync::mpsc::SyncSender<Answer<T>>),
    Async(tokio::sync::oneshot::Sender<Answer<T>>),
}

/// A type-erased job: run it in the group's transaction, then answer its caller.
trait Job: Send {
    /// Runs the work; false when it failed (or panicked) and must be rolled back.
    fn run(&mut self, tx: &Tx<'_>) -> bool;
    /// Its savepoint could not be released: it failed after all.
    fn fail(&mut self, why: &str);
    /// Answers the caller once the group's fate is known.
    fn answer(self: Box<Self>, commit: Result<(), &str>);
    /// Runs alone and outside any transaction (a checkpoint, a VACUUM).
    fn solo(&self) -> bool;
}

struct Typed<T, F> {
    f: Option<F>,
    out: Option<Answer<T>>,
    reply: Reply<T>,
    solo: bool,
}

pub(super) fn internal(msg: String) -> AppError {
    AppError::Internal(anyhow::anyhow!(msg))
}

impl<T, F> Job for Typed<T, F>
where
    F: FnOnce(&Tx<'_>) -> Answer<T> + Send + 'static,
    T: Send + 'static,
{
    fn run(&mut self, tx: &Tx<'_>) -> bool {
        let Some(f) = self.f.take() else {
            return false;
        };
        let out = match catch_unwind(AssertUnwindSafe(|| f(tx))) {
            Ok(out) => out,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(panic = %what, "a write job panicked; rolled back alone");
                Err(internal(format!("write job panicked: {what}")))
            }
        };
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn fail(&mut self, why: &str) {
        self.out = Some(Err(internal(format!("write job failed: {why}"))));
    }

    fn solo(&self) -> bool {
        self.solo
    }

    fn answer(self: Box<Self>, commit: Result<(), &str>) {
        let out = match (self.out, commit) {
            (Some(Err(e)), _) => Err(e),
            (_, Err(why)) => Err(internal(format!("the write was not committed: {why}"))),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (None, Ok(())) => Err(internal("write job never ran".into())),
        };
        // A caller that went away (a cancelled request) needs no answer.
        match self.reply {
            Reply::Blocking(s) => {
                let _ = s.send(out);
            }
            Reply::Async(s) => {
                let _ = s.send(out);
            }
        }
    }
}

struct State {
    jobs: VecDeque<Box<dyn Job>>,
    closed: bool,
}

struct Queue {
    state: Mutex<State>,
    /// The thread waits here for work.
    not_empty: Condvar,
    /// Blocking callers wait here for room.
    not_full: Condvar,
    /// Async callers wait here for room.
    room: tokio::sync::Notify,
    cap: usize,
    /// Held by whoever checkpoints: the checkpoint thread, and the writer while it runs
    /// a maintenance job (a TRUNCATE checkpoint or a VACUUM must not meet a passive
    /// checkpoint of the other connection half-way, which SQLite answers `SQLITE_BUSY`).
    checkpointing: Mutex<()>,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push_blocking(&self, job: Box<dyn Job>, deadline: Duration) -> Result<(), AppError> {
        let until = Instant::now() + deadline;
        let mut st = self.lock();
        loop {
            if st.closed {
                return Err(internal("the writer has stopped".into()));
            }
            if st.jobs.len() < self.cap {
                st.jobs.push_back(job);
                drop(st);
                self.not_empty.notify_one();
                return Ok(());
            }
            let now = Instant::now();
            if now >= until {
                return Err(AppError::Busy);
            }
            st = self
                .not_full
                .wait_timeout(st, until - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    async fn push_async(&self, job: Box<dyn Job>, deadline: Duration) -> Result<(), AppError> {
        let until = tokio::time::Instant::now() + deadline;
        let mut job = Some(job);
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            // Registered before looking, so a wake-up between the look and the wait counts.
            notified.as_mut().enable();
            {
                let mut st = self.lock();
                if st.closed {
                    return Err(internal("the writer has stopped".into()));
                }
                if st.jobs.len() < self.cap
                    && let Some(j) = job.take()
                {
                    st.jobs.push_back(j);
                    drop(st);
                    self.not_empty.notify_one();
                    return Ok(());
                }
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return Err(AppError::Busy);
            }
        }
    }

    /// Blocks for the first job, then takes what is waiting (up to `GROUP_CAP`).
    /// `None` once closed and empty.
    fn take_group(&self, into: &mut Vec<Box<dyn Job>>) -> bool {
        let mut st = self.lock();
        while st.jobs.is_empty() {
            if st.closed {
                return false;
            }
            st = self.not_empty.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        // A solo job goes alone; a group stops before the next solo one.
        let n = if st.jobs.front().is_some_and(|j| j.solo()) {
            1
        } else {
            st.jobs
                .iter()
                .take(GROUP_CAP)
                .take_while(|j| !j.solo())
                .count()
        };
        into.extend(st.jobs.drain(..n));
        drop(st);
        self.not_full.notify_all();
        self.room.notify_waiters();
        true
    }

    fn close(&self) {
        self.lock().closed = true;
        self.not_empty.notify_all();
        self.not_full.notify_all();
        self.room.notify_waiters();
    }
}

struct CloseOnExit(Arc<Queue>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.0.close();
        let left: Vec<_> = self.0.lock().jobs.drain(..).collect();
        drop(left);
    }
}

/// Closes the queue when the last handle goes; the thread finishes what is queued.
pub(crate) struct Handle {
    queue: Arc<Queue>,
    deadline: Duration,
    thread: Mutex<Option<std::thread::JoinHandle<Connection>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.queue.close();
    }
}

/// The handle every write goes through (cheap to clone).
#[derive(Clone)]
pub struct Writer {
    inner: Arc<Handle>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer(..)")
    }
}

impl AsRef<Writer> for Writer {
    fn as_ref(&self) -> &Writer {
        self
    }
}

impl Writer {
    /// A reference that does not keep the writer open (for helper threads).
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Handle> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn from_handle(inner: Arc<Handle>) -> Self {
        Self { inner }
    }

    /// Starts the writer thread on `conn`, which must be read-write with the program's
    /// connection settings.
    pub fn start(conn: Connection, opts: Options) -> std::io::Result<Self> {
        let queue = Arc::new(Queue {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                closed: false,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            room: tokio::sync::Notify::new(),
            cap: opts.queue_cap.max(1),
            checkpointing: Mutex::new(()),
        });
        let q = Arc::clone(&queue);
        let thread = std::thread::Builder::new()
            .name("otm-writer".into())
            .spawn(move || {
                // However the loop ends (even by a panic outside a job), callers must not
                // wait forever: the queue closes and what is left in it is dropped, which
                // answers each of those callers with an error.
                let _closing = CloseOnExit(Arc::clone(&q));
                writer_loop(&conn, &q);
                conn
            })?;
        Ok(Self {
            inner: Arc::new(Handle {
                queue,
                deadline: opts.deadline,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// Stops taking jobs, lets the thread finish the queued ones, and returns its
    /// connection.
    pub fn finish(&self) -> anyhow::Result<Connection> {
        self.inner.queue.close();
        let thread = self
            .inner
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| anyhow::anyhow!("the writer was already finished"))?;
        let conn = thread
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?;
        // A checkpoint of the checkpoint thread may still be running: wait for it (the
        // closed queue keeps it from starting another), so the caller's own checkpoint
        // does not meet it.
        drop(
            self.inner
                .queue
                .checkpointing
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        Ok(conn)
    }

    /// Runs `f` unless the writer has stopped, with no maintenance job running meanwhile
    /// (for the checkpoint thread). `None` once stopped.
    pub(crate) fn while_open<T>(&self, f: impl FnOnce() -> T) -> Option<T> {
        let q = &self.inner.queue;
        let _gate = q.checkpointing.lock().unwrap_or_else(|p| p.into_inner());
        if q.lock().closed {
            return None;
        }
        Some(f())
    }

    /// Runs `f` in the writer and waits (blocking this thread) until its group committed.
    /// For use cases already off the async executor.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Tx<'_>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (s, r) = std::sync::mpsc::sync_channel(1);
        let job = Box::new(Typed {
            f: Some(f),
            out: None,
            reply: Reply::Blocking(s),
            solo: false,
        });
        self.inner.queue.push_blocking(job, self.inner.deadline)?;
        r.recv()
            .map_err(|_| internal("the writer dropped a job".into()))?
    }

    /// Runs `f` on the writer's connection alone and OUTSIDE any transaction, between
    /// two groups: for what SQLite refuses inside one (a WAL checkpoint, a VACUUM). A
    /// `Tx` still, so the audit head in memory is forgotten afterwards if `f` touched it.
    pub fn maintenance_blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (s, r) = std::sync::mpsc::sync_channel(1);
        let job = Box::new(Typed {
            f: Some(move |tx: &Tx<'_>| f(tx)),
            out: None,
            reply: Reply::Blocking(s),
            solo: true,
        });
        self.inner.queue.push_blocking(job, self.inner.deadline)?;
        r.recv()
            .map_err(|_| internal("the writer dropped a job".into()))?
    }

    /// Runs `f` in the writer and awaits its group's commit without holding a thread.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Tx<'_>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (s, r) = tokio::sync::oneshot::channel();
        let job = Box::new(Typed {
            f: Some(f),
            out: None,
            reply: Reply::Async(s),
            solo: false,
        });
        self.inner
            .queue
            .push_async(job, self.inner.deadline)
            .await?;
        r.await
            .map_err(|_| internal("the writer dropped a job".into()))?
    }
}

fn writer_loop(conn: &Connection, queue: &Queue) {
    let head = RefCell::new(AuditHead::default());
    let mut data_version: Option<i64> = None;
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(GROUP_CAP);
    while queue.take_group(&mut group) {
        let _gate = group.first().is_some_and(|j| j.solo()).then(|| {
            queue
                .checkpointing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        });
        run_group(conn, &head, &mut data_version, &mut group);
        group.clear();
    }
}

fn answer_all(group: &mut Vec<Box<dyn Job>>, commit: Result<(), &str>) {
    for job in group.drain(..) {
        job.answer(commit);
    }
}

/// Runs one statement through the statement cache (per job: no parse each time).
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// One transaction for the whole group; see the module's documentation.
fn run_group(
    conn: &Connection,
    head: &RefCell<AuditHead>,
    data_version: &mut Option<i64>,
    group: &mut Vec<Box<dyn Job>>,
) {
    if group.len() == 1 && group[0].solo() {
        let tx = Tx {
            conn,
            head,
            per_row: true,
        };
        group[0].run(&tx);
        // Whatever it did, it did outside our knowledge of the chain's head.
        *head.borrow_mut() = AuditHead::default();
        *data_version = None;
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        return answer_all(group, Ok(()));
    }
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "the writer could not begin a transaction");
        *head.borrow_mut() = AuditHead::default();
        return answer_all(group, Err(&e.to_string()));
    }
    // Another process (a CLI command) may have appended to the trail since our last
    // group: then the head in memory is stale.
    match conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)) {
        Ok(v) => {
            if *data_version != Some(v) {
                *head.borrow_mut() = AuditHead::default();
                *data_version = Some(v);
            }
        }
        Err(_) => *head.borrow_mut() = AuditHead::default(),
    }
    let tx = Tx {
        conn,
        head,
        per_row: false,
    };
    for job in group.iter_mut() {
        let before = head.borrow().clone();
        if let Err(e) = exec(conn, "SAVEPOINT job") {
            job.fail(&e.to_string());
            continue;
        }
        let mut ok = job.run(&tx);
        if conn.is_autocommit() {
            // The job's error made SQLite drop the whole transaction (disk full, I/O):
            // nothing of the group is left to commit.
            tracing::error!("a write job's failure rolled back its whole group");
            *head.borrow_mut() = AuditHead::default();
            return answer_all(group, Err("the transaction was rolled back"));
        }
        if ok && let Err(e) = exec(conn, "RELEASE job") {
            job.fail(&e.to_string());
            ok = false;
        }
        if !ok {
            *head.borrow_mut() = before;
            if let Err(e) = conn.execute_batch("ROLLBACK TO job; RELEASE job") {
                tracing::error!(error = %e, "the writer could not roll a job back");
                let _ = conn.execute_batch("ROLLBACK");
                *head.borrow_mut() = AuditHead::default();
                return answer_all(group, Err(&e.to_string()));
            }
        }
    }
    let committed = tx
        .flush_audit_head()
        .and_then(|()| conn.execute_batch("COMMIT"));
    match committed {
        Ok(()) => answer_all(group, Ok(())),
        Err(e) => {
            tracing::error!(error = %e, "the writer's commit failed");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            *head.borrow_mut() = AuditHead::default();
            answer_all(group, Err(&e.to_string()));
        }
    }
    // Our own commit moved data_version for no one else; keep the value we saw.
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::audit::{self, NewEntry};

    fn setup() -> (tempfile::TempDir, Writer, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let mut c = Connection::open(&path).unwrap();
        c.execute_batch(super::super::CONNECTION_PRAGMAS).unwrap();
        let _: String = c
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        super::super::migrate(&mut c).unwrap();
        c.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .unwrap();
        let w = Writer::start(c, Options::default()).unwrap();
        (dir, w, path)
    }

    fn read(path: &std::path::Path, sql: &str) -> i64 {
        let c = Connection::open(path).unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn entry() -> NewEntry {
        NewEntry {
            actor_type: "system",
            action: "company.create",
            ..Default::default()
        }
    }

    /// Holds the writer busy so that the next jobs queue up and commit as one group.
    fn gate(w: &Writer) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (open, wait) = std::sync::mpsc::channel::<()>();
        let w2 = w.clone();
        let h = std::thread::spawn(move || {
            w2.write_blocking(move |_| {
                let _ = wait.recv();
                Ok(())
            })
            .unwrap();
        });
        std::thread::sleep(Duration::from_millis(50));
        (open, h)
    }

    #[test]
    fn a_failing_job_rolls_back_alone_while_its_neighbours_commit() {
        let (_d, w, path) = setup();
        let (open, h) = gate(&w);
        let mut handles = Vec::new();
        for v in 1..=5i64 {
            let w = w.clone();
            handles.push(std::thread::spawn(move || {
                w.write_blocking(move |tx| {
                    tx.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                    if v == 3 {
                        return Err(AppError::Conflict(vec![]));
                    }
                    Ok(v)
                })
            }));
        }
        std::thread::sleep(Duration::from_millis(100));
        open.send(()).unwrap();
        h.join().unwrap();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for (i, r) in results.iter().enumerate() {
            if i == 2 {
                assert!(matches!(r, Err(AppError::Conflict(_))));
            } else {
                assert_eq!(r.as_ref().ok(), Some(&(i as i64 + 1)));
            }
        }
        assert_eq!(read(&path, "SELECT count(*) FROM t"), 4);
        assert_eq!(read(&path, "SELECT count(*) FROM t WHERE v = 3"), 0);
    }

    #[test]
    fn a_panicking_job_is_rolled_back_alone_and_the_writer_lives_on() {
        let (_d, w, path) = setup();
        let (open, h) = gate(&w);
        let w1 = w.clone();
        let bad = std::thread::spawn(move || {
            w1.write_blocking(|tx| -> Result<(), AppError> {
                tx.execute("INSERT INTO t (v) VALUES (1)", [])?;
                panic!("boom");
            })
        });
        let w2 = w.clone();
        let good = std::thread::spawn(move || {
            w2.write_blocking(|tx| {
                tx.execute("INSERT INTO t (v) VALUES (2)", [])?;
                Ok(())
            })
        });
        std::thread::sleep(Duration::from_millis(100));
        open.send(()).unwrap();
        h.join().unwrap();
        assert!(matches!(bad.join().unwrap(), Err(AppError::Internal(_))));
        good.join().unwrap().unwrap();
        w.write_blocking(|tx| {
            tx.execute("INSERT INTO t (v) VALUES (3)", [])?;
            Ok(())
        })
        .unwrap();
        assert_eq!(read(&path, "SELECT count(*) FROM t"), 2);
        assert_eq!(read(&path, "SELECT count(*) FROM t WHERE v = 1"), 0);
    }

    #[test]
    fn many_jobs_commit_in_few_groups_and_the_chain_verifies() {
        let (_d, w, path) = setup();
        let (open, h) = gate(&w);
        let mut handles = Vec::new();
        for _ in 0..300 {
            let w = w.clone();
            handles.push(std::thread::spawn(move || {
                w.write_blocking(|tx| {
                    audit::append(tx, b"k", "2026-01-01T00:00:00.000000Z", &entry())?;
                    Ok(())
                })
            }));
        }
        std::thread::sleep(Duration::from_millis(300));
        open.send(()).unwrap();
        h.join().unwrap();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        let c = Connection::open(&path).unwrap();
        assert_eq!(
            audit::verify(&c, b"k").unwrap(),
            audit::Verdict::Intact { rows: 300 }
        );
    }

    #[tokio::test]
    async fn the_async_path_answers_after_commit() {
        let (_d, w, path) = setup();
        let n = w
            .write(|tx| {
                tx.execute("INSERT INTO t (v) VALUES (7)", [])?;
                Ok(7)
            })
            .await
            .unwrap();
        assert_eq!(n, 7);
        assert_eq!(read(&path, "SELECT count(*) FROM t WHERE v = 7"), 1);
    }

    #[test]
    fn a_failed_commit_answers_every_job_of_the_group_with_an_error() {
        let (_d, w, path) = setup();
        // A deferred foreign key violated by one job only fails at COMMIT.
        w.write_blocking(|tx| {
            tx.execute_batch(
                "CREATE TABLE p (id INTEGER PRIMARY KEY);
                 CREATE TABLE ch (p INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);",
            )?;
            Ok(())
        })
        .unwrap();
        let (open, h) = gate(&w);
        let w1 = w.clone();
        let a = std::thread::spawn(move || {
            w1.write_blocking(|tx| {
                tx.execute("INSERT INTO t (v) VALUES (1)", [])?;
                Ok(())
            })
        });
        let w2 = w.clone();
        let b = std::thread::spawn(move || {
            w2.write_blocking(|tx| {
                tx.execute("INSERT INTO ch (p) VALUES (99)", [])?;
                Ok(())
            })
        });
        std::thread::sleep(Duration::from_millis(100));
        open.send(()).unwrap();
        // The gate's own job is in the failing group too.
        let _ = h.join();
        assert!(a.join().unwrap().is_err());
        assert!(b.join().unwrap().is_err());
        assert_eq!(read(&path, "SELECT count(*) FROM t"), 0);
        // The writer carries on.
        w.write_blocking(|tx| {
            tx.execute("INSERT INTO t (v) VALUES (2)", [])?;
            Ok(())
        })
        .unwrap();
        assert_eq!(read(&path, "SELECT count(*) FROM t"), 1);
    }

    #[test]
    fn the_head_survives_a_rolled_back_append_and_a_failed_commit() {
        let (_d, w, path) = setup();
        w.write_blocking(|tx| {
            audit::append(tx, b"k", "2026-01-01T00:00:00.000000Z", &entry())?;
            Ok(())
        })
        .unwrap();
        // Appended, then failed: the row and the head move back.
        let r = w.write_blocking(|tx| -> Result<(), AppError> {
            audit::append(tx, b"k", "2026-01-01T00:00:00.000000Z", &entry())?;
            Err(AppError::NotFound)
        });
        assert!(matches!(r, Err(AppError::NotFound)));
        w.write_blocking(|tx| {
            audit::append(tx, b"k", "2026-01-01T00:00:00.000000Z", &entry())?;
            Ok(())
        })
        .unwrap();
        let c = Connection::open(&path).unwrap();
        assert_eq!(
            audit::verify(&c, b"k").unwrap(),
            audit::Verdict::Intact { rows: 2 }
        );
        // Another connection (a CLI command) appends: the writer notices.
        {
            let head = RefCell::new(AuditHead::default());
            c.execute_batch("BEGIN IMMEDIATE").unwrap();
            audit::append(
                &Tx::direct(&c, &head),
                b"k",
                "2026-01-01T00:00:00.000000Z",
                &entry(),
            )
            .unwrap();
            c.execute_batch("COMMIT").unwrap();
        }
        w.write_blocking(|tx| {
            audit::append(tx, b"k", "2026-01-01T00:00:00.000000Z", &entry())?;
            Ok(())
        })
        .unwrap();
        assert_eq!(
            audit::verify(&c, b"k").unwrap(),
            audit::Verdict::Intact { rows: 4 }
        );
    }

    #[test]
    fn a_full_queue_answers_busy_past_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let c = Connection::open(dir.path().join("b.db")).unwrap();
        let w = Writer::start(
            c,
            Options {
                queue_cap: 1,
                deadline: Duration::from_millis(100),
            },
        )
        .unwrap();
        let (open, h) = gate(&w);
        // One job fills the queue; the next one waits, then is refused.
        let w1 = w.clone();
        let queued = std::thread::spawn(move || w1.write_blocking(|_| Ok(())));
        std::thread::sleep(Duration::from_millis(50));
        assert!(matches!(w.write_blocking(|_| Ok(())), Err(AppError::Busy)));
        open.send(()).unwrap();
        h.join().unwrap();
        queued.join().unwrap().unwrap();
        w.write_blocking(|_| Ok(())).unwrap();
    }
}
