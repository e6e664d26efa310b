//! Building and running the server: data dir, master key, database, routes, jobs.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::db::{self, Pool};
use crate::files;
use crate::keyring::Keyring;
use crate::routes;
use crate::services::app;
use crate::services::{Keys, auth, setup};
use crate::web::{csrf, headers, limits, request_log};

/// What every command needs: the opened database and the keys.
pub struct Opened {
    pub pool: Pool,
    pub keys: Keys,
}

/// Creates the data dir (mode 0700), the master key (0600) and the database as needed.
pub fn open(settings: &Settings) -> anyhow::Result<Opened> {
    files::create_private_dir(&settings.data_dir)?;
    MasterKey::load_or_create(&settings.master_key_file)?;
    let ring = Arc::new(Keyring::load(&settings.master_key_file)?);
    let pool = db::open(&settings.db_path(), settings.db_pool_size)?;
    let keys = Keys::load(ring, &*pool.get()?)?;
    Ok(Opened { pool, keys })
}

pub struct Application {
    pub port: u16,
    pub server: Server,
    /// Held while the server runs: `restore` refuses to swap the database under it.
    _lock: std::fs::File,
}

impl Application {
    /// Opens everything, prints the setup link when no owner exists yet, and binds the
    /// listener (port 0 picks a free one; the real port is in `port`).
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        // The lock first: a restore running on this data dir must not see the database
        // opened (and a journal created) under it.
        files::create_private_dir(&settings.data_dir)?;
        let lock = crate::backup::restore::server_lock(&settings)?.with_context(|| {
            format!(
                "another server or a restore is running on {}",
                settings.data_dir.display()
            )
        })?;
        let opened = open(&settings)?;
        let mut conn = opened.pool.get()?;
        if let Some(token) =
            setup::ensure_link(&mut conn, &opened.keys).map_err(|e| anyhow::anyhow!("{e:?}"))?
        {
            println!("No owner account yet. Open this one-time link to create it:");
            println!("setup link: {}/setup/{}", settings.base_url, token);
        }
        // The schedule counts from the first start: a new install owes no backup yet.
        let now = crate::time::now_db();
        crate::db::app_settings::get_or_init(&conn, crate::services::alerts::ANCHOR, &now, &now)?;
        drop(conn);
        // Computes the dummy hash now, so the first unknown-e-mail login is not faster.
        auth::warm_up(settings.bcrypt_cost);

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let addr = listener.local_addr()?;
        let workers = if settings.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            settings.workers
        };
        let state = web::Data::new(Arc::new(app::App {
            settings,
            pool: opened.pool,
            keys: opened.keys,
            throttle: Default::default(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(30))
                .user_agent(concat!("omie-tenant-manager/", env!("CARGO_PKG_VERSION")))
                .build()
                .context("cannot build the HTTP client")?,
            omie_tests: Default::default(),
            proxy: Default::default(),
            meter: Default::default(),
        }));
        let jobs_state = state.get_ref().clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(
                    web::FormConfig::default()
                        .limit(limits::FORM_LIMIT)
                        .error_handler(limits::form_error),
                )
                .app_data(web::PayloadConfig::default().limit(limits::PAYLOAD_LIMIT))
                .wrap(
                    ErrorHandlers::new()
                        .handler(StatusCode::PAYLOAD_TOO_LARGE, limits::reword_plain_413),
                )
                .wrap(from_fn(csrf::origin_check))
                .wrap(from_fn(headers::layer))
                // Outermost, so 404s, CSRF refusals and 413s get an id and a log line too.
                .wrap(from_fn(request_log::layer))
                .configure(routes::configure)
        })
        .workers(workers)
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        actix_web::rt::spawn(housekeeping(jobs_state.clone()));
        actix_web::rt::spawn(crate::backup::jobs::run(jobs_state.clone()));
        actix_web::rt::spawn(crate::email::worker::run(jobs_state));
        println!("listening on http://{addr}");
        Ok(Self {
            port: addr.port(),
            server,
            _lock: lock,
        })
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Forgets expired sessions and tokens every few minutes.
async fn housekeeping(state: Arc<app::App>) {
    // Usage counts are saved every 10 seconds; expired sessions go every 5 minutes.
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(10));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        let st = state.clone();
        if let Err(e) = db::run(&state.pool, move |conn| st.meter.flush(conn)).await {
            tracing::warn!(error = ?e, "usage counts not saved yet");
        }
        if n % 30 != 1 {
            continue;
        }
        let idle = state.settings.session_idle_secs;
        match db::run(&state.pool, move |conn| auth::purge_expired(conn, idle)).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions and tokens removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "housekeeping failed"),
        }
    }
}
