//! `GET /metrics` (DESIGN.md §8.4): Prometheus metrics in the OpenMetrics text format,
//! written by the `prometheus-client` crate.
//!
//! Two kinds of figures:
//! - counted in memory as things happen (HTTP requests by route *pattern*, their
//!   latency, Omie proxy calls by outcome, each background job's last success), in one
//!   process-wide registry: recording is an atomic add under a read lock, no await;
//! - read at scrape time ([`render`], on the blocking pool): pool use, database and WAL
//!   size, outbox depth and age, last backup, audit chain status. Each is one indexed or
//!   single-row read, so a scrape costs the same at any number of companies.
//!
//! No label carries an id, a name, an e-mail or a raw path: labels take their values
//! from fixed sets (methods, status classes, outcomes, job names) or from the router's
//! patterns (`/admin/companies/{id}`), and a request no route matched is `unmatched`.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use rusqlite::Connection;

use crate::config::Settings;
use crate::db::{self, Pool};
use crate::error::AppError;

/// The media type of the answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type Seconds = Gauge<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// The background jobs that report a last success (the supervisor's names).
pub const JOBS: [&str; 6] = [
    "mail",
    "backups",
    "retention",
    "privacy-reminders",
    "audit-verify",
    "housekeeping",
];

/// The figures counted as things happen, registered once.
struct Live {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    omie: Family<OutcomeLabels, Counter>,
    jobs: Family<JobLabels, Gauge>,
}

fn live() -> &'static Live {
    static LIVE: OnceLock<Live> = OnceLock::new();
    LIVE.get_or_init(|| {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "otm_http_requests",
            "HTTP requests answered, by method, route pattern and status class",
            requests.clone(),
        );
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register_with_unit(
            "otm_http_request_duration",
            "Time to answer an HTTP request, by method and route pattern",
            Unit::Seconds,
            latency.clone(),
        );
        let omie = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "otm_omie_proxy_calls",
            "Calls through the Omie proxy, by outcome",
            omie.clone(),
        );
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register(
            "otm_job_last_success_timestamp_seconds",
            "When each background job last finished a run without error (Unix time)",
            jobs.clone(),
        );
        registry.register(
            "otm_build",
            "The running program's version",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        // Every series shows from the start: 0 calls of each outcome, 0 ("never") for
        // each job, so a rate or an alert does not wait for the first event.
        for o in OmieOutcome::ALL {
            drop(omie.get_or_create(&OutcomeLabels { outcome: o.label() }));
        }
        for job in JOBS {
            drop(jobs.get_or_create(&JobLabels { job }));
        }
        Live {
            registry,
            requests,
            latency,
            omie,
            jobs,
        }
    })
}

/// The method as one of a fixed set, so a client cannot make up label values.
pub fn method_label(m: &str) -> &'static str {
    match m {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// The pattern without actix's regex parts (`{endpoint:.*}` → `{endpoint}`), the form
/// the OpenAPI document uses; most patterns have none and are returned as they are.
fn template(pattern: String) -> String {
    if !pattern.contains(':') {
        return pattern;
    }
    let mut out = String::with_capacity(pattern.len());
    let mut in_param = false;
    let mut skipping = false;
    for c in pattern.chars() {
        match c {
            '{' if !in_param => {
                in_param = true;
                out.push(c);
            }
            '}' if in_param => {
                in_param = false;
                skipping = false;
                out.push(c);
            }
            ':' if in_param => skipping = true,
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

/// Counts one answered request; `route` is the router's pattern (`None`: unmatched).
pub fn record_request(method: &'static str, route: Option<String>, status: u16, seconds: f64) {
    let l = live();
    let route = route.map_or_else(|| UNMATCHED.to_string(), template);
    l.latency
        .get_or_create(&LatencyLabels {
            method,
            route: route.clone(),
        })
        .observe(seconds);
    l.requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status_class: status_class(status),
        })
        .inc();
}

/// How a call through the Omie proxy ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OmieOutcome {
    /// Omie answered 2xx without a fault.
    Ok,
    /// Served from the short read cache.
    Cached,
    /// Omie answered with an error status or a fault.
    OmieError,
    /// Our own limits refused it.
    Busy,
    /// Omie blocked the company's keys for a while.
    Blocked,
    /// Omie could not be reached or answered nonsense.
    Unavailable,
}

impl OmieOutcome {
    const ALL: [Self; 6] = [
        Self::Ok,
        Self::Cached,
        Self::OmieError,
        Self::Busy,
        Self::Blocked,
        Self::Unavailable,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Cached => "cached",
            Self::OmieError => "omie_error",
            Self::Busy => "busy",
            Self::Blocked => "blocked",
            Self::Unavailable => "unavailable",
        }
    }
}

pub fn record_omie_call(outcome: OmieOutcome) {
    live()
        .omie
        .get_or_create(&OutcomeLabels {
            outcome: outcome.label(),
        })
        .inc();
}

/// A background job finished one run without error now.
pub fn job_succeeded(job: &'static str) {
    live()
        .jobs
        .get_or_create(&JobLabels { job })
        .set(crate::time::now().timestamp());
}

fn unix(db_time: &str) -> Option<f64> {
    crate::time::parse_db(db_time).map(|t| t.timestamp_millis() as f64 / 1000.0)
}

fn file_size(path: &std::path::Path) -> i64 {
    std::fs::metadata(path).map_or(0, |m| m.len() as i64)
}

fn gauge(reg: &mut Registry, name: &str, help: &str, v: i64) {
    let g = Gauge::<i64>::default();
    g.set(v);
    reg.register(name, help, g);
}

fn seconds(reg: &mut Registry, name: &str, help: &str, v: f64) {
    let g = Seconds::default();
    g.set(v);
    reg.register(name, help, g);
}

/// The whole exposition: the live figures, then the ones read now. Runs on the
/// blocking pool (it reads the database and the file system).
pub fn render(conn: &Connection, pool: &Pool, settings: &Settings) -> Result<String, AppError> {
    let now = crate::time::now().timestamp_millis() as f64 / 1000.0;
    let mut reg = Registry::default();

    let state = pool.state();
    gauge(
        &mut reg,
        "otm_db_pool_connections",
        "Database connections open in the pool",
        i64::from(state.connections),
    );
    gauge(
        &mut reg,
        "otm_db_pool_idle_connections",
        "Open database connections not in use",
        i64::from(state.idle_connections),
    );
    gauge(
        &mut reg,
        "otm_db_pool_max_connections",
        "Most database connections the pool opens (OTM_DB_POOL_SIZE)",
        i64::from(pool.max_size()),
    );
    gauge(
        &mut reg,
        "otm_db_read_queue",
        "Reads waiting for a reader thread (one thread per pool connection)",
        i64::try_from(pool.read_queue()).unwrap_or(i64::MAX),
    );
    let path = settings.db_path();
    gauge(
        &mut reg,
        "otm_db_size_bytes",
        "Size of the database file",
        file_size(&path),
    );
    let mut wal = path.into_os_string();
    wal.push("-wal");
    gauge(
        &mut reg,
        "otm_db_wal_size_bytes",
        "Size of the database's write-ahead log",
        file_size(std::path::Path::new(&wal)),
    );

    let (depth, oldest) = db::metrics::outbox_queue(conn)?;
    gauge(
        &mut reg,
        "otm_outbox_depth",
        "E-mails waiting to be sent (dead letters not included)",
        depth,
    );
    seconds(
        &mut reg,
        "otm_outbox_oldest_age_seconds",
        "Age of the oldest e-mail waiting to be sent (0 when none waits)",
        oldest
            .as_deref()
            .and_then(unix)
            .map_or(0.0, |t| (now - t).max(0.0)),
    );
    gauge(
        &mut reg,
        "otm_outbox_dead_letters",
        "E-mails the mailer gave up on",
        db::metrics::outbox_dead(conn)?,
    );

    let backup = db::metrics::last_backup(conn)?;
    seconds(
        &mut reg,
        "otm_backup_last_success_timestamp_seconds",
        "When the last successful backup finished (Unix time; 0: never)",
        backup.as_ref().and_then(|(at, _)| unix(at)).unwrap_or(0.0),
    );
    gauge(
        &mut reg,
        "otm_backup_last_success_size_bytes",
        "Size of the last successful backup's file (0: never)",
        backup.and_then(|(_, size)| size).unwrap_or(0),
    );

    let check = crate::services::history::last_check(conn)?;
    gauge(
        &mut reg,
        "otm_audit_chain_intact",
        "Last stored verification of the audit chain: 1 intact, 0 broken, -1 never verified",
        check.as_ref().map_or(-1, |c| i64::from(c.intact)),
    );
    seconds(
        &mut reg,
        "otm_audit_chain_verified_timestamp_seconds",
        "When the audit chain was last verified (Unix time; 0: never)",
        check.as_ref().and_then(|c| unix(&c.at)).unwrap_or(0.0),
    );

    let mut out = String::with_capacity(8 * 1024);
    let io = |e: std::fmt::Error| AppError::Internal(anyhow::anyhow!("metrics encoding: {e}"));
    encode_registry(&mut out, &live().registry).map_err(io)?;
    encode_registry(&mut out, &reg).map_err(io)?;
    encode_eof(&mut out).map_err(io)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(999), "5xx");
        assert_eq!(
            template("/api/v1/companies/{id}/omie/{endpoint:.*}".into()),
            "/api/v1/companies/{id}/omie/{endpoint}"
        );
        assert_eq!(template("/admin/{id}".into()), "/admin/{id}");
    }
}
