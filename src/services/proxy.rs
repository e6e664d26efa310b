//! The Omie proxy: an application sends `{call, param}`; the manager adds the company's
//! keys and forwards it, keeping Omie's published limits so apps cannot get a company
//! blocked: per key and method 240 calls a minute and at most 4 at once (1 for writes),
//! 960 a minute for the whole server, a 60-second cache of identical reads (Omie refuses
//! repeats), and a breaker that stops calling keys Omie has blocked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

pub const PER_KEY_PER_MINUTE: f64 = 240.0;
pub const GLOBAL_PER_MINUTE: f64 = 960.0;
pub const READ_CONCURRENCY: usize = 4;
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a call may wait for its turn before the app is told to come back later.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
const DEFAULT_BLOCK: Duration = Duration::from_secs(30 * 60);

/// Whether `url` is on the scheme, host and port of `base_url` (`OTM_OMIE_BASE_URL`):
/// the company's keys are sent nowhere else.
pub fn same_origin(base_url: &str, url: &str) -> bool {
    match (reqwest::Url::parse(base_url), reqwest::Url::parse(url)) {
        (Ok(b), Ok(u)) => {
            b.scheme() == u.scheme()
                && b.host_str() == u.host_str()
                && b.port_or_known_default() == u.port_or_known_default()
                && u.path().starts_with(b.path())
        }
        _ => false,
    }
}

/// Omie's methods that only read; everything else is a write (one at a time).
pub fn is_read(call: &str) -> bool {
    ["Listar", "Consultar", "Obter", "Pesquisar", "Status"]
        .iter()
        .any(|p| call.starts_with(p))
}

/// `geral/clientes` and the like: lower-case letters, digits, `_`, `-`, `/`.
pub fn valid_endpoint(e: &str) -> bool {
    !e.is_empty()
        && e.len() <= 100
        && !e.contains("..")
        && !e.starts_with('/')
        && e.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"/_-".contains(&b))
}

struct Bucket {
    tokens: f64,
    at: Instant,
    per_minute: f64,
}

impl Bucket {
    fn new(per_minute: f64) -> Self {
        Self {
            tokens: per_minute,
            at: Instant::now(),
            per_minute,
        }
    }

    /// Time until one token is available (zero: available now, not yet taken).
    fn wait(&mut self) -> Duration {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_minute / 60.0;
        self.tokens = (self.tokens + refill).min(self.per_minute);
        self.at = now;
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) * 60.0 / self.per_minute)
        }
    }
}

#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub cached: bool,
}

pub enum Refusal {
    /// Our own limits: come back after this many seconds.
    Busy(u64),
    /// Omie blocked these keys: no calls until then.
    Blocked(u64),
    /// Omie could not be reached or answered nonsense.
    Unavailable(String),
}

/// Per key-and-method entries. Their number is bounded: an entry is made only for a call
/// the server-wide budget admitted (at most [`GLOBAL_PER_MINUTE`] a minute, so calls with
/// made-up method names cannot grow the maps faster than that), and [`State::sweep`]
/// drops every entry that has become the same as a new one.
#[derive(Default)]
struct State {
    buckets: HashMap<String, Bucket>,
    gates: HashMap<String, Arc<Semaphore>>,
    cache: HashMap<String, (Instant, Answer)>,
    blocked: HashMap<String, Instant>,
    swept: Option<Instant>,
}

/// How often the maps are swept; entries are dropped only when idle a full window anyway.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// A bucket untouched this long has refilled completely: the same as a new one.
const BUCKET_IDLE: Duration = Duration::from_secs(60);

impl State {
    /// Drops entries that hold nothing a new one would not: full buckets, gates nobody
    /// holds or waits for, expired cache answers and blocks.
    fn sweep(&mut self, now: Instant) {
        if self
            .swept
            .is_some_and(|at| now.saturating_duration_since(at) < SWEEP_EVERY)
        {
            return;
        }
        self.swept = Some(now);
        self.buckets
            .retain(|_, b| now.saturating_duration_since(b.at) < BUCKET_IDLE);
        // The map's own Arc is the only one left when no permit is held and no call waits.
        self.gates.retain(|_, g| Arc::strong_count(g) > 1);
        self.cache
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < CACHE_TTL);
        self.blocked.retain(|_, until| *until > now);
    }

    /// Time until `method_key` may call under both budgets; when zero, the call's tokens
    /// are taken (and only then is the key's bucket made).
    fn admit(&mut self, global: &mut Bucket, method_key: &str) -> Duration {
        let own = self
            .buckets
            .get_mut(method_key)
            .map(Bucket::wait)
            .unwrap_or(Duration::ZERO);
        let w = own.max(global.wait());
        if w.is_zero() {
            self.buckets
                .entry(method_key.to_string())
                .or_insert_with(|| Bucket::new(PER_KEY_PER_MINUTE))
                .tokens -= 1.0;
            global.tokens -= 1.0;
        }
        w
    }
}

/// Limits, cache and breaker, shared by all workers.
pub struct Proxy {
    state: Mutex<State>,
    global: Mutex<Bucket>,
}

impl Default for Proxy {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            global: Mutex::new(Bucket::new(GLOBAL_PER_MINUTE)),
        }
    }
}

/// Seconds in "Tente novamente em N segundos", if present.
fn block_seconds(text: &str) -> Option<u64> {
    let i = text.find("em ")?;
    text[i + 3..].split_whitespace().next()?.parse().ok()
}

impl Proxy {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forwards one call. `key_id` identifies the company's keys without holding them.
    /// Each call's outcome is counted for `/metrics`.
    #[allow(clippy::too_many_arguments)]
    pub async fn call(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        endpoint: &str,
        key_id: &str,
        app_key: &str,
        app_secret: &str,
        call: &str,
        param: &Value,
    ) -> Result<Answer, Refusal> {
        use crate::metrics::OmieOutcome;
        let result = self
            .forward(
                http, base_url, endpoint, key_id, app_key, app_secret, call, param,
            )
            .await;
        crate::metrics::record_omie_call(match &result {
            Ok(a) if a.cached => OmieOutcome::Cached,
            Ok(a) if (200..300).contains(&a.status) && a.body.get("faultstring").is_none() => {
                OmieOutcome::Ok
            }
            Ok(_) => OmieOutcome::OmieError,
            Err(Refusal::Busy(_)) => OmieOutcome::Busy,
            Err(Refusal::Blocked(_)) => OmieOutcome::Blocked,
            Err(Refusal::Unavailable(_)) => OmieOutcome::Unavailable,
        });
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn forward(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        endpoint: &str,
        key_id: &str,
        app_key: &str,
        app_secret: &str,
        call: &str,
        param: &Value,
    ) -> Result<Answer, Refusal> {
        let method_key = format!("{key_id}:{call}");
        let cache_key = format!("{method_key}:{endpoint}:{param}");
        let read = is_read(call);
        {
            let mut st = self.lock();
            st.sweep(Instant::now());
            if let Some(until) = st.blocked.get(key_id).copied() {
                if until > Instant::now() {
                    return Err(Refusal::Blocked((until - Instant::now()).as_secs().max(1)));
                }
                st.blocked.remove(key_id);
            }
            if read {
                st.cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
                if let Some((_, a)) = st.cache.get(&cache_key) {
                    return Ok(Answer {
                        cached: true,
                        ..a.clone()
                    });
                }
            }
        }
        // Our turn under the per-minute budgets, waiting at most MAX_WAIT.
        let started = Instant::now();
        loop {
            let wait = {
                let mut st = self.lock();
                let mut g = self.global.lock().unwrap_or_else(|e| e.into_inner());
                st.admit(&mut g, &method_key)
            };
            if wait.is_zero() {
                break;
            }
            if started.elapsed() + wait > MAX_WAIT {
                return Err(Refusal::Busy(wait.as_secs().max(1)));
            }
            tokio::time::sleep(wait).await;
        }
        let gate = {
            let mut st = self.lock();
            st.gates
                .entry(method_key.clone())
                .or_insert_with(|| {
                    Arc::new(Semaphore::new(if read { READ_CONCURRENCY } else { 1 }))
                })
                .clone()
        };
        let remaining = MAX_WAIT.saturating_sub(started.elapsed());
        let _permit = match tokio::time::timeout(remaining, gate.acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => return Err(Refusal::Busy(1)),
        };
        let body =
            json!({ "call": call, "app_key": app_key, "app_secret": app_secret, "param": param });
        let url = format!("{base_url}/{}/", endpoint.trim_end_matches('/'));
        if !same_origin(base_url, &url) {
            return Err(Refusal::Unavailable(
                "the call would leave OTM_OMIE_BASE_URL; not sent".into(),
            ));
        }
        // The client follows no redirect (startup), so the keys reach only this URL.
        let resp = http.post(&url).json(&body).send().await.map_err(|e| {
            // Never the body (it holds the keys), never the URL's query.
            tracing::warn!(error = %e.without_url(), call, "Omie proxy call failed");
            Refusal::Unavailable("Omie did not answer".into())
        })?;
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            tracing::warn!(call, status, "Omie answered with a redirect; not followed");
            return Err(Refusal::Unavailable(format!(
                "Omie answered with a redirect (HTTP {status}); redirects are not followed, \
                 so the company's keys are sent only to OTM_OMIE_BASE_URL"
            )));
        }
        let value: Value = resp.json().await.map_err(|_| {
            Refusal::Unavailable(format!("Omie answered HTTP {status} without JSON"))
        })?;
        let misuse = value.get("faultcode").and_then(Value::as_str) == Some("MISUSE_API_PROCESS");
        if status == 425 || misuse {
            let secs = value
                .get("faultstring")
                .and_then(Value::as_str)
                .and_then(block_seconds)
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_BLOCK);
            self.lock()
                .blocked
                .insert(key_id.to_string(), Instant::now() + secs);
            tracing::warn!(
                call,
                block_secs = secs.as_secs(),
                "Omie blocked a key; calls stop until the block ends"
            );
        }
        let answer = Answer {
            status,
            body: value,
            cached: false,
        };
        if read && status == 200 && answer.body.get("faultstring").is_none() {
            self.lock()
                .cache
                .insert(cache_key, (Instant::now(), answer.clone()));
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_writes_and_endpoints() {
        assert!(is_read("ListarClientes") && is_read("ConsultarPedido"));
        assert!(!is_read("IncluirCliente") && !is_read("AlterarPedido"));
        assert!(valid_endpoint("geral/clientes") && valid_endpoint("produtos/pedido"));
        assert!(
            !valid_endpoint("../x")
                && !valid_endpoint("/geral")
                && !valid_endpoint("geral?x=1")
                && !valid_endpoint("")
        );
    }

    #[test]
    fn only_the_omie_base_url_is_the_same_origin() {
        let base = "https://app.omie.com.br/api/v1";
        assert!(same_origin(
            base,
            "https://app.omie.com.br/api/v1/geral/clientes/"
        ));
        assert!(same_origin(
            base,
            "https://app.omie.com.br:443/api/v1/geral/"
        ));
        assert!(!same_origin(base, "http://app.omie.com.br/api/v1/geral/"));
        assert!(!same_origin(
            base,
            "https://app.omie.com.br.evil.example/api/v1/x/"
        ));
        assert!(!same_origin(base, "https://app.omie.com.br:8443/api/v1/x/"));
        assert!(!same_origin(base, "https://app.omie.com.br/other/"));
        assert!(!same_origin(base, "not a url"));
    }

    #[test]
    fn block_time_is_read_from_omie_message() {
        assert_eq!(
            block_seconds("API bloqueada por consumo indevido. Tente novamente em 1780 segundos."),
            Some(1780)
        );
        assert_eq!(block_seconds("outra coisa"), None);
    }

    #[test]
    fn made_up_methods_beyond_the_server_budget_make_no_entries() {
        let mut st = State::default();
        let mut global = Bucket::new(GLOBAL_PER_MINUTE);
        for i in 0..10_000 {
            st.admit(&mut global, &format!("key:Inventado{i}"));
        }
        // Only the calls the server-wide budget let through left a bucket behind.
        assert_eq!(st.buckets.len(), GLOBAL_PER_MINUTE as usize);
    }

    #[test]
    fn idle_entries_are_swept_and_busy_ones_kept() {
        let mut st = State::default();
        let mut global = Bucket::new(1e9);
        for i in 0..5_000 {
            let key = format!("key:Listar{i}");
            assert!(st.admit(&mut global, &key).is_zero());
            st.gates
                .insert(key, Arc::new(Semaphore::new(READ_CONCURRENCY)));
        }
        st.cache.insert(
            "k".into(),
            (
                Instant::now(),
                Answer {
                    status: 200,
                    body: Value::Null,
                    cached: false,
                },
            ),
        );
        st.blocked
            .insert("k".into(), Instant::now() + Duration::from_secs(5));
        let held = st.gates["key:Listar7"].clone();
        let now = Instant::now();
        st.sweep(now);
        // Buckets are still refilling; only the gates nobody holds go.
        assert_eq!(st.buckets.len(), 5_000);
        assert_eq!(st.gates.len(), 1);
        assert_eq!(st.cache.len() + st.blocked.len(), 2);
        // A minute later every bucket is full again and the rest has expired.
        drop(held);
        st.sweep(now + Duration::from_secs(61));
        assert_eq!(
            st.buckets.len() + st.gates.len() + st.cache.len() + st.blocked.len(),
            0
        );
    }

    #[test]
    fn bucket_refills_over_time() {
        let mut b = Bucket::new(60.0);
        b.tokens = 0.0;
        assert!(b.wait() > Duration::from_millis(900));
        b.at -= Duration::from_secs(2);
        assert!(b.wait().is_zero());
    }
}
