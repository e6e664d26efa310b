//! The one context every use case runs in, and the runner that takes SQLite and bcrypt
//! off the async executor. Pages, the API and the background jobs share one `App`.

use std::sync::Arc;

use super::Keys;
use super::omie::{TestCache, TestDeps};
use super::proxy::Proxy;
use super::throttle::Throttle;
use super::usage::Meter;
use crate::config::Settings;
use crate::db::{self, Pool};
use crate::error::AppError;

/// What the use cases depend on, built once at start.
pub struct App {
    pub settings: Settings,
    pub pool: Pool,
    pub keys: Keys,
    pub throttle: Throttle,
    /// Client for Omie's API, with timeouts.
    pub http: reqwest::Client,
    pub omie_tests: TestCache,
    /// The public CNPJ service that fills a company's form (`OTM_CNPJ_LOOKUP_URL`).
    pub cnpj: super::cnpj_lookup::CnpjLookup,
    pub proxy: Proxy,
    pub meter: Meter,
    /// What the background jobs are doing, as their supervisor reports it.
    pub jobs: Arc<JobBoard>,
    /// The HTTPS certificate of the public address, as the health job last read it.
    pub tls: super::tls_cert::Watch,
    /// Company search in memory (`services::company_index`).
    pub search: super::company_index::CompanyIndex,
}

/// How a background job is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    Running,
    /// It panicked and starts again after a pause.
    Restarting {
        panic: String,
    },
    /// It panicked too often and was not started again: the server is not ready.
    Dead {
        panic: String,
    },
    /// It ended on its own (nothing to do, such as mail without SMTP settings).
    Finished,
}

/// The supervisor's record of every job, readable by `/readyz` and the pages.
#[derive(Debug, Default)]
pub struct JobBoard {
    jobs: std::sync::Mutex<std::collections::BTreeMap<&'static str, JobState>>,
    /// When each job last went round its loop (the health page's "alive").
    beats:
        std::sync::Mutex<std::collections::BTreeMap<&'static str, chrono::DateTime<chrono::Utc>>>,
}

impl JobBoard {
    pub fn set(&self, job: &'static str, state: JobState) {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(job, state);
    }

    pub fn snapshot(&self) -> Vec<(&'static str, JobState)> {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// A job went round its loop once more.
    pub fn beat(&self, job: &'static str) {
        self.beats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(job, crate::time::now());
    }

    /// When `job` last went round its loop, if it ever did.
    pub fn last_beat(&self, job: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.beats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(job)
            .copied()
    }

    /// The jobs that died for good.
    pub fn dead(&self) -> Vec<&'static str> {
        self.snapshot()
            .into_iter()
            .filter(|(_, s)| matches!(s, JobState::Dead { .. }))
            .map(|(k, _)| k)
            .collect()
    }
}

impl App {
    /// Runs `f` with a pooled (read-only) connection on one of the pool's reader threads
    /// (`db::readers`). Use cases that write hand their write to the writer from there
    /// (`db::write`), which commits the audit row with the change.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut db::Conn, &App) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let app = Arc::clone(self);
        db::run(&self.pool, move |conn| f(conn, &app)).await
    }

    /// Runs `f` on the blocking pool without a connection: for use cases that take one
    /// from the pool only while they need it (bcrypt must not hold one).
    pub async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&App) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let app = Arc::clone(self);
        db::run_with_pool(&self.pool, move |_| f(&app)).await
    }

    pub fn omie_test_deps(&self) -> TestDeps<'_> {
        TestDeps {
            pool: &self.pool,
            keys: &self.keys,
            http: &self.http,
            omie_base_url: &self.settings.omie_base_url,
            cache: &self.omie_tests,
        }
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("App(..)")
    }
}
