//! Settings: defaults, then an optional TOML file, then `OTM_*` environment variables.
//! Every name is declared once in [`KEYS`] so the file and the environment cannot drift.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

#[derive(Clone, Debug)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub base_url: String,
    pub secure_cookies: bool,
    pub master_key_file: PathBuf,
    pub bcrypt_cost: u32,
    /// Idle expiry of a page session, in seconds (the variable is in minutes, fractions allowed).
    pub session_idle_secs: u64,
    pub session_absolute_hours: u64,
    pub token_ttl_secs: u64,
    pub trusted_proxies: Vec<IpAddr>,
    /// Roles that must use a second factor (`OTM_MFA_REQUIRED`; empty for `none`). The
    /// owner may add company admins on the settings page.
    pub mfa_required: Vec<crate::domain::Role>,
    /// How long a code given in a page session stays fresh for step-up (`OTM_STEP_UP_SECONDS`).
    pub step_up_secs: u64,
    /// Open LGPD requests due within this many days are mailed to the owners, once a
    /// day each (`OTM_PRIVACY_REMINDER_DAYS`, 1 to 15).
    pub privacy_reminder_days: u64,
    /// When the daily notification digest goes out, `HH:MM` São Paulo time.
    pub digest_time: String,
    /// How long an immediate notification waits in the outbox for repeats to join it.
    pub notify_coalesce_secs: u64,
    pub workers: usize,
    pub db_pool_size: u32,
    /// Entries in each hot-path cache (`OTM_HOT_CACHE_ENTRIES`); 0 turns them off.
    pub hot_cache_entries: usize,
    /// How long a write waits for room in the writer's full queue before the caller is
    /// answered 503 (`OTM_WRITE_DEADLINE_MS`).
    pub write_deadline_ms: u64,
    pub omie_base_url: String,
    /// The public CNPJ service's root (BrasilAPI's shape); `None` when `off`.
    pub cnpj_lookup_url: Option<String>,
    pub backup_times: String,
    pub backup_retention_days: u32,
    /// rclone destination; `None` keeps backups local only.
    pub backup_remote: Option<String>,
    /// `None` when `OTM_SMTP_HOST` is unset: e-mail stays queued.
    pub smtp: Option<SmtpSettings>,
    /// The SMTP fields as the environment or config file gave them, one by one (each
    /// that is in [`Settings::explicit`] wins over the dashboard's value).
    pub smtp_fields: SmtpFields,
    pub mail_from: String,
    pub alert_emails: Vec<String>,
    pub mail_retry_max_secs: u64,
    pub mail_max_attempts: i64,
    /// Free disk space (MB) below which the health check is critical; `None`: the
    /// default of `services::health::LIMITS`.
    pub health_disk_min_free_mb: Option<u64>,
    /// Age (seconds) of the oldest queued e-mail at which the health check is critical.
    pub health_mail_max_age_secs: Option<u64>,
    /// How often the health job evaluates the checks and their alerts.
    pub health_every_secs: u64,
    /// Background jobs made to fail on purpose (a drill of Saúde do sistema and its
    /// alerts): each one named here panics every time it starts.
    pub fault_jobs: Vec<String>,
    /// Names (as in [`KEYS`]) set by the config file or the environment: the dashboard
    /// cannot override those.
    pub explicit: Vec<&'static str>,
    /// `OTM_METRICS_TOKEN`: the bearer `/metrics` wants; `None` (unset) hides it (404).
    pub metrics_token: Option<MetricsToken>,
}

/// The `/metrics` bearer: never shown by `Debug`, so it cannot reach a log.
#[derive(Clone)]
pub struct MetricsToken(pub String);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

/// `OTM_MFA_REQUIRED`: role names separated by commas, or `none`.
fn parse_roles(s: &str) -> anyhow::Result<Vec<crate::domain::Role>> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") || s.is_empty() {
        return Ok(vec![]);
    }
    s.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            crate::domain::Role::parse(r).ok_or_else(|| {
                anyhow!(
                    "OTM_MFA_REQUIRED: {r:?} is not a role (owner, staff, company_admin, company_user) nor none"
                )
            })
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    None,
    Starttls,
    Tls,
}

impl SmtpSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Starttls => "starttls",
            Self::Tls => "tls",
        }
    }
}

/// Each SMTP field as set outside the dashboard (empty/`None` when unset).
#[derive(Clone, Default)]
pub struct SmtpFields {
    pub host: String,
    pub port: Option<u16>,
    pub security: Option<SmtpSecurity>,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SmtpFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpFields")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &(!self.password.is_empty()).then_some("***"))
            .finish()
    }
}

impl SmtpSecurity {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "starttls" => Some(Self::Starttls),
            "tls" => Some(Self::Tls),
            _ => None,
        }
    }

    /// The port a security mode uses when none is given.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::Starttls => 587,
            Self::Tls => 465,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Every setting: (name without prefix, default, one-line meaning). The README table is
/// written from the same list.
pub const KEYS: &[(&str, &str, &str)] = &[
    ("data_dir", "./data", "database, master key, local backups"),
    (
        "bind",
        "127.0.0.1:8080",
        "listen address (port 0 picks a free port)",
    ),
    (
        "base_url",
        "http://127.0.0.1:8080",
        "public address used in links",
    ),
    ("secure_cookies", "false", "set true behind TLS"),
    (
        "master_key_file",
        "",
        "defaults to $OTM_DATA_DIR/master.key",
    ),
    ("bcrypt_cost", "12", "bcrypt work factor (tests lower it)"),
    (
        "session_idle_minutes",
        "30",
        "idle expiry of a page session",
    ),
    (
        "session_absolute_hours",
        "12",
        "hard limit of a page session",
    ),
    ("token_ttl_seconds", "3600", "lifetime of API bearer tokens"),
    (
        "trusted_proxies",
        "127.0.0.1,::1",
        "peers whose X-Forwarded-For is believed",
    ),
    (
        "mfa_required",
        "owner,staff",
        "roles that must use a second factor (none turns it off)",
    ),
    (
        "step_up_seconds",
        "300",
        "how long a second-factor code keeps sensitive actions open",
    ),
    (
        "privacy_reminder_days",
        "3",
        "days before an LGPD request's deadline when the owners are reminded daily",
    ),
    (
        "digest_time",
        "08:00",
        "when the daily notification digest goes out, America/Sao_Paulo",
    ),
    (
        "notify_coalesce_secs",
        "120",
        "seconds an immediate notification waits for repeats of the same change to join it",
    ),
    ("workers", "0", "HTTP worker threads (0 = one per core)"),
    ("db_pool_size", "8", "database connections kept open"),
    (
        "hot_cache_entries",
        "10000",
        "entries in each hot-path cache (tokens, links); 0 turns them off",
    ),
    (
        "write_deadline_ms",
        "2000",
        "how long a write waits for room in the writer's full queue before a 503",
    ),
    (
        "omie_base_url",
        "https://app.omie.com.br/api/v1",
        "Omie API root",
    ),
    (
        "cnpj_lookup_url",
        "https://brasilapi.com.br",
        "public CNPJ service that fills a company's form (off turns it off)",
    ),
    (
        "backup_times",
        "03:00,15:00",
        "daily backup times, America/Sao_Paulo",
    ),
    (
        "backup_retention_days",
        "30",
        "days of backups kept, locally and on the remote",
    ),
    ("smtp_host", "", "outgoing mail server"),
    ("smtp_port", "", "outgoing mail port"),
    ("smtp_security", "", "none, starttls or tls"),
    ("smtp_username", "", "SMTP user"),
    ("smtp_password", "", "SMTP password"),
    (
        "mail_from",
        "Omie Tenant Manager <no-reply@localhost>",
        "sender",
    ),
    (
        "alert_emails",
        "",
        "where alerts go (comma-separated; default: the owners)",
    ),
    (
        "mail_retry_max_seconds",
        "600",
        "longest wait between two attempts to send a message",
    ),
    (
        "mail_max_attempts",
        "150",
        "attempts before a message becomes a dead letter",
    ),
    (
        "health_disk_min_free_mb",
        "",
        "free disk space (MB) below which Saúde do sistema is red (default 1024)",
    ),
    (
        "health_mail_max_age_seconds",
        "",
        "age of the oldest queued e-mail at which Saúde do sistema is red (default 3600)",
    ),
    (
        "health_every_seconds",
        "60",
        "how often the health checks and their alerts are evaluated",
    ),
    (
        "fault_jobs",
        "",
        "drill: background jobs (comma-separated names, e.g. housekeeping) made to fail on purpose, to see Saúde do sistema and its alert react; empty in normal use",
    ),
    (
        "backup_remote",
        "",
        "rclone destination such as gdrive:omie-backups (unset: local only)",
    ),
    (
        "metrics_token",
        "",
        "bearer token that opens GET /metrics (unset: /metrics answers 404)",
    ),
];

impl Settings {
    /// Once the listener is bound: a base URL made from `OTM_BIND` with port 0 (no
    /// `OTM_BASE_URL`) gets the port actually bound, so printed and mailed links work.
    pub fn bound(&mut self, port: u16) {
        if let Some(head) = self.base_url.strip_suffix(":0") {
            self.base_url = format!("{head}:{port}");
        }
    }

    /// Loads settings from `config_file` (or `OTM_CONFIG`) and the process environment.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Self> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let file = match config_file {
            Some(p) => Some(p.to_path_buf()),
            None => env.get("OTM_CONFIG").map(PathBuf::from),
        };
        let file_values = match file {
            Some(path) => read_toml(&path)?,
            None => BTreeMap::new(),
        };
        Self::from_sources(&file_values, &env)
    }

    pub fn from_sources(
        file: &BTreeMap<String, String>,
        env: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        let get = |key: &str| -> String {
            let env_name = format!("OTM_{}", key.to_ascii_uppercase());
            env.get(&env_name)
                .cloned()
                .or_else(|| file.get(key).cloned())
                .or_else(|| {
                    KEYS.iter()
                        .find(|(k, _, _)| *k == key)
                        .map(|(_, d, _)| (*d).to_string())
                })
                .unwrap_or_default()
        };
        let data_dir = PathBuf::from(get("data_dir"));
        let master_key_file = match get("master_key_file") {
            s if s.is_empty() => data_dir.join("master.key"),
            s => PathBuf::from(s),
        };
        let bind: SocketAddr = get("bind")
            .parse()
            .map_err(|_| anyhow!("OTM_BIND must look like 127.0.0.1:8080"))?;
        // Without OTM_BASE_URL, links point at the listen address itself (port 0 is
        // replaced by the port actually bound, once it is known: `Settings::bound`).
        let base_url = if env.contains_key("OTM_BASE_URL") || file.contains_key("base_url") {
            get("base_url").trim_end_matches('/').to_string()
        } else {
            let host = match bind.ip() {
                ip if ip.is_unspecified() => "127.0.0.1".to_string(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            };
            format!("http://{host}:{}", bind.port())
        };
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            bail!("OTM_BASE_URL must start with http:// or https://");
        }
        let bcrypt_cost: u32 = parse(&get("bcrypt_cost"), "OTM_BCRYPT_COST")?;
        if !(4..=31).contains(&bcrypt_cost) {
            bail!("OTM_BCRYPT_COST must be between 4 and 31");
        }
        let idle_minutes: f64 = parse(&get("session_idle_minutes"), "OTM_SESSION_IDLE_MINUTES")?;
        if !(idle_minutes > 0.0 && idle_minutes <= 24.0 * 60.0) {
            bail!("OTM_SESSION_IDLE_MINUTES must be more than 0 and at most 1440");
        }
        let trusted_proxies = get("trusted_proxies")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpAddr>()
                    .map_err(|_| anyhow!("OTM_TRUSTED_PROXIES: {s:?} is not an IP address"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            data_dir,
            bind,
            base_url,
            secure_cookies: parse_bool(&get("secure_cookies"), "OTM_SECURE_COOKIES")?,
            master_key_file,
            bcrypt_cost,
            session_idle_secs: ((idle_minutes * 60.0).round() as u64).max(1),
            session_absolute_hours: bounded(
                parse(&get("session_absolute_hours"), "OTM_SESSION_ABSOLUTE_HOURS")?,
                1..=720,
                "OTM_SESSION_ABSOLUTE_HOURS",
            )?,
            token_ttl_secs: bounded(
                parse(&get("token_ttl_seconds"), "OTM_TOKEN_TTL_SECONDS")?,
                60..=2_592_000,
                "OTM_TOKEN_TTL_SECONDS",
            )?,
            trusted_proxies,
            mfa_required: parse_roles(&get("mfa_required"))?,
            step_up_secs: bounded(
                parse(&get("step_up_seconds"), "OTM_STEP_UP_SECONDS")?,
                1..=86_400,
                "OTM_STEP_UP_SECONDS",
            )?,
            privacy_reminder_days: bounded(
                parse(&get("privacy_reminder_days"), "OTM_PRIVACY_REMINDER_DAYS")?,
                1..=15,
                "OTM_PRIVACY_REMINDER_DAYS",
            )?,
            digest_time: {
                let t = get("digest_time");
                match crate::backup::schedule::parse_times(&t) {
                    Ok(v) if v.len() == 1 => t,
                    _ => bail!("OTM_DIGEST_TIME: give one time, such as 08:00"),
                }
            },
            notify_coalesce_secs: bounded(
                parse(&get("notify_coalesce_secs"), "OTM_NOTIFY_COALESCE_SECS")?,
                0..=3600,
                "OTM_NOTIFY_COALESCE_SECS",
            )?,
            workers: parse(&get("workers"), "OTM_WORKERS")?,
            write_deadline_ms: bounded(
                parse(&get("write_deadline_ms"), "OTM_WRITE_DEADLINE_MS")?,
                1..=60_000,
                "OTM_WRITE_DEADLINE_MS",
            )?,
            db_pool_size: bounded(
                parse(&get("db_pool_size"), "OTM_DB_POOL_SIZE")?,
                1..=64,
                "OTM_DB_POOL_SIZE",
            )? as u32,
            hot_cache_entries: bounded(
                parse(&get("hot_cache_entries"), "OTM_HOT_CACHE_ENTRIES")?,
                0..=1_000_000,
                "OTM_HOT_CACHE_ENTRIES",
            )? as usize,
            omie_base_url: get("omie_base_url").trim_end_matches('/').to_string(),
            cnpj_lookup_url: match get("cnpj_lookup_url").trim() {
                "" | "off" => None,
                u if u.starts_with("https://") || u.starts_with("http://") => {
                    Some(u.trim_end_matches('/').to_string())
                }
                u => bail!("OTM_CNPJ_LOOKUP_URL must be an http(s) address or off (not {u:?})"),
            },
            backup_times: {
                let t = get("backup_times");
                crate::backup::schedule::parse_times(&t)
                    .map_err(|m| anyhow!("OTM_BACKUP_TIMES: {m}"))?;
                t
            },
            backup_retention_days: bounded(
                parse(&get("backup_retention_days"), "OTM_BACKUP_RETENTION_DAYS")?,
                1..=3650,
                "OTM_BACKUP_RETENTION_DAYS",
            )? as u32,
            backup_remote: match get("backup_remote").trim() {
                "" => None,
                r => {
                    crate::backup::remote::validate(r)
                        .map_err(|m| anyhow!("OTM_BACKUP_REMOTE: {m}"))?;
                    Some(r.to_string())
                }
            },
            metrics_token: match get("metrics_token").trim() {
                "" => None,
                t if t.len() < 16 => bail!("OTM_METRICS_TOKEN must be at least 16 characters"),
                t => Some(MetricsToken(t.to_string())),
            },
            smtp: smtp_settings(&get)?,
            smtp_fields: SmtpFields {
                host: get("smtp_host").trim().to_string(),
                port: match get("smtp_port").trim() {
                    "" => None,
                    p => Some(parse(p, "OTM_SMTP_PORT")?),
                },
                security: match get("smtp_security").trim() {
                    "" => None,
                    v => Some(SmtpSecurity::parse(v).ok_or_else(|| {
                        anyhow!("OTM_SMTP_SECURITY must be none, starttls or tls (not {v:?})")
                    })?),
                },
                username: get("smtp_username"),
                password: get("smtp_password"),
            },
            mail_from: get("mail_from"),
            alert_emails: get("alert_emails")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    crate::domain::Email::parse(s)
                        .map(|e| e.as_str().to_string())
                        .map_err(|_| anyhow!("OTM_ALERT_EMAILS: {s:?} is not an e-mail address"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            mail_retry_max_secs: parse::<u64>(
                &get("mail_retry_max_seconds"),
                "OTM_MAIL_RETRY_MAX_SECONDS",
            )?
            .max(1),
            mail_max_attempts: bounded(
                parse(&get("mail_max_attempts"), "OTM_MAIL_MAX_ATTEMPTS")?,
                1..=10_000,
                "OTM_MAIL_MAX_ATTEMPTS",
            )? as i64,
            health_disk_min_free_mb: match get("health_disk_min_free_mb").trim() {
                "" => None,
                v => Some(parse(v, "OTM_HEALTH_DISK_MIN_FREE_MB")?),
            },
            health_mail_max_age_secs: match get("health_mail_max_age_seconds").trim() {
                "" => None,
                v => Some(parse(v, "OTM_HEALTH_MAIL_MAX_AGE_SECONDS")?),
            },
            health_every_secs: bounded(
                parse(&get("health_every_seconds"), "OTM_HEALTH_EVERY_SECONDS")?,
                1..=3600,
                "OTM_HEALTH_EVERY_SECONDS",
            )?,
            fault_jobs: get("fault_jobs")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            explicit: KEYS
                .iter()
                .map(|(k, _, _)| *k)
                .filter(|k| {
                    env.contains_key(&format!("OTM_{}", k.to_ascii_uppercase()))
                        || file.contains_key(*k)
                })
                .collect(),
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("omie-tenant-manager.db")
    }

    /// The origin (scheme://host[:port]) forms must come from.
    pub fn origin(&self) -> &str {
        // base_url has no trailing slash; strip any path after the authority.
        let after_scheme = self.base_url.find("://").map(|i| i + 3).unwrap_or(0);
        match self.base_url[after_scheme..].find('/') {
            Some(i) => &self.base_url[..after_scheme + i],
            None => &self.base_url,
        }
    }
}

fn smtp_settings(get: &dyn Fn(&str) -> String) -> anyhow::Result<Option<SmtpSettings>> {
    let host = get("smtp_host").trim().to_string();
    if host.is_empty() {
        return Ok(None);
    }
    let security = match get("smtp_security").trim().to_ascii_lowercase().as_str() {
        "" | "starttls" => SmtpSecurity::Starttls,
        "none" => SmtpSecurity::None,
        "tls" => SmtpSecurity::Tls,
        other => bail!("OTM_SMTP_SECURITY must be none, starttls or tls (not {other:?})"),
    };
    let port = match get("smtp_port").trim() {
        "" => match security {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        },
        p => parse(p, "OTM_SMTP_PORT")?,
    };
    let opt = |k: &str| Some(get(k)).filter(|v| !v.is_empty());
    Ok(Some(SmtpSettings {
        host,
        port,
        security,
        username: opt("smtp_username"),
        password: opt("smtp_password"),
    }))
}

fn bounded(v: u64, range: std::ops::RangeInclusive<u64>, name: &str) -> anyhow::Result<u64> {
    if range.contains(&v) {
        Ok(v)
    } else {
        bail!(
            "{name} must be between {} and {}",
            range.start(),
            range.end()
        )
    }
}

fn parse<T: std::str::FromStr>(v: &str, name: &str) -> anyhow::Result<T> {
    v.trim()
        .parse()
        .map_err(|_| anyhow!("{name} has an invalid value {v:?}"))
}

fn parse_bool(v: &str, name: &str) -> anyhow::Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => bail!("{name} must be true or false"),
    }
}

fn read_toml(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
    let mut out = BTreeMap::new();
    for (k, v) in table {
        if !KEYS.iter().any(|(name, _, _)| *name == k) {
            bail!("config file {}: unknown setting {k:?}", path.display());
        }
        let s = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
            other => bail!(
                "config file {}: {k} has an unsupported value {other}",
                path.display()
            ),
        };
        out.insert(k, s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = Settings::from_sources(&BTreeMap::new(), &BTreeMap::new()).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.master_key_file, PathBuf::from("./data/master.key"));
        assert_eq!(s.session_idle_secs, 30 * 60);
        assert_eq!(s.bcrypt_cost, 12);
        assert!(!s.secure_cookies);
    }

    #[test]
    fn environment_wins_over_file() {
        let file = env(&[("bcrypt_cost", "10"), ("bind", "127.0.0.1:9000")]);
        let s = Settings::from_sources(&file, &env(&[("OTM_BCRYPT_COST", "4")])).unwrap();
        assert_eq!(s.bcrypt_cost, 4);
        assert_eq!(s.bind.port(), 9000);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Settings::from_sources(&BTreeMap::new(), &env(&[("OTM_BCRYPT_COST", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("OTM_BCRYPT_COST"), "{err}");
    }

    #[test]
    fn backup_settings_are_checked_and_remembered_as_explicit() {
        for (var, value) in [
            ("OTM_BACKUP_TIMES", "25:00"),
            ("OTM_BACKUP_RETENTION_DAYS", "0"),
            ("OTM_BACKUP_REMOTE", ":s3,secret_access_key=x:bucket"),
            ("OTM_ALERT_EMAILS", "dono@example.com.br, não é e-mail"),
        ] {
            let err = Settings::from_sources(&BTreeMap::new(), &env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(var), "{var}: {err}");
        }
        let s = Settings::from_sources(
            &env(&[("backup_retention_days", "7")]),
            &env(&[
                ("OTM_BACKUP_REMOTE", "gdrive:omie-backups"),
                ("OTM_ALERT_EMAILS", "a@example.com.br,b@example.com.br"),
            ]),
        )
        .unwrap();
        assert_eq!(s.backup_remote.as_deref(), Some("gdrive:omie-backups"));
        assert_eq!(s.alert_emails.len(), 2);
        assert_eq!(s.backup_retention_days, 7);
        assert!(s.explicit.contains(&"backup_remote"));
        assert!(s.explicit.contains(&"backup_retention_days"));
        assert!(!s.explicit.contains(&"backup_times"));
    }

    #[test]
    fn origin_drops_any_path() {
        let s = Settings::from_sources(
            &BTreeMap::new(),
            &env(&[("OTM_BASE_URL", "https://gestor.example.com.br/app/")]),
        )
        .unwrap();
        assert_eq!(s.origin(), "https://gestor.example.com.br");
    }
}
