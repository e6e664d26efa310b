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
use crate::jobs;
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
    files::check_private_dir(&settings.data_dir)?;
    MasterKey::load_or_create(&settings.master_key_file)?;
    let ring = Arc::new(Keyring::load(&settings.master_key_file)?);
    // Pending migrations on an existing database: a backup first, then all or nothing.
    crate::backup::upgrade::before_migrations(settings, &ring)?;
    let pool = db::open_with(
        &settings.db_path(),
        settings.db_pool_size,
        db::writer::Options {
            deadline: Duration::from_millis(settings.write_deadline_ms),
            ..Default::default()
        },
    )?;
    let keys = Keys::load(ring, &pool)?;
    {
        let mut conn = pool.get()?;
        // A trail from before migration 0017 is verified and re-chained once.
        crate::services::audit::upgrade(&mut conn, &keys.audit)
            .map_err(|e| anyhow::anyhow!("cannot convert the audit trail: {e:?}"))?;
        // Erasures a restored older backup does not show are applied again before
        // anything serves or reads the database.
        crate::services::erasure::reapply(&mut conn, &keys, &settings.data_dir)?;
    }
    keys.hot.set_capacity(settings.hot_cache_entries);
    // From here on, every audit row may mail the platform's people (services::notify).
    crate::services::notify::install(&keys, settings);
    Ok(Opened { pool, keys })
}

pub struct Application {
    pub port: u16,
    pub server: Server,
    jobs: jobs::Supervisor,
    /// Held while the server runs: `restore` refuses to swap the database under it.
    _lock: std::fs::File,
}

impl Application {
    /// Opens everything, prints the setup link when no owner exists yet, and binds the
    /// listener (port 0 picks a free one; the real port is in `port`).
    pub fn build(mut settings: Settings) -> anyhow::Result<Self> {
        // The lock first: a restore running on this data dir must not see the database
        // opened (and a journal created) under it.
        files::create_private_dir(&settings.data_dir)?;
        files::check_private_dir(&settings.data_dir)?;
        let lock = crate::backup::restore::server_lock(&settings)?.with_context(|| {
            format!(
                "another server or a restore is running on {}",
                settings.data_dir.display()
            )
        })?;
        let opened = open(&settings)?;
        // The command line's changes reach this server's hot caches through a file.
        opened.keys.hot.watch(&settings.data_dir);
        let mut conn = opened.pool.get()?;
        let setup_token =
            setup::ensure_link(&mut conn, &opened.keys).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        // The schedule counts from the first start: a new install owes no backup yet.
        let now = crate::time::now_db();
        crate::db::write(&opened.pool, move |tx| {
            crate::db::app_settings::get_or_init(tx, crate::services::alerts::ANCHOR, &now, &now)?;
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        // The vendor's name and logo, read by templates and audit labels from memory.
        crate::services::vendor::refresh(&conn).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        // Pages offer "Copiar link" while mail is off: they read the state kept here.
        crate::services::mail_settings::sending_configured(&conn, &settings)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        drop(conn);
        // Computes the dummy hash now, so the first unknown-e-mail login is not faster.
        auth::warm_up(settings.bcrypt_cost);

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let addr = listener.local_addr()?;
        // Port 0 picked a free port: the links use it, not the configured 0.
        settings.bound(addr.port());
        // Queued mail records the base URL its links were made with (see email::rebase).
        crate::email::set_link_base(&settings.base_url);
        if let Some(token) = setup_token {
            println!("No owner account yet. Open this one-time link to create it:");
            println!("setup link: {}/setup/{}", settings.base_url, token);
        }
        let workers = if settings.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            settings.workers
        };
        let cnpj = crate::services::cnpj_lookup::CnpjLookup::new(settings.cnpj_lookup_url.clone())
            .context("cannot build the CNPJ look-up client")?;
        let state = web::Data::new(Arc::new(app::App {
            cnpj,
            settings,
            pool: opened.pool,
            keys: opened.keys,
            throttle: Default::default(),
            // Only Omie is called with this client, with a company's keys in the body:
            // a redirect is never followed, so the keys go nowhere but OTM_OMIE_BASE_URL.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(30))
                .user_agent(concat!("omie-tenant-manager/", env!("CARGO_PKG_VERSION")))
                .build()
                .context("cannot build the HTTP client")?,
            omie_tests: Default::default(),
            proxy: Default::default(),
            meter: Default::default(),
            jobs: Default::default(),
            tls: Default::default(),
            search: Default::default(),
        }));
        // Company search's in-memory index: its own thread builds it now and after changes.
        crate::services::companies::start_index(state.get_ref())
            .context("cannot start the company search index's thread")?;
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
                // Counts every answer by route pattern, 404s and refusals included.
                .wrap(from_fn(crate::web::metrics::layer))
                // Outermost, so 404s, CSRF refusals and 413s get an id and a log line too.
                .wrap(from_fn(request_log::layer))
                // The session layer wraps the pages only (routes::configure).
                .configure(|cfg| routes::configure(cfg, state.get_ref()))
        })
        .workers(workers)
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        let jobs = start_jobs(jobs_state);
        println!("listening on http://{addr}");
        Ok(Self {
            port: addr.port(),
            server,
            jobs,
            _lock: lock,
        })
    }

    /// Serves until a stop signal, then stops the background jobs too.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.jobs.shutdown(Duration::from_secs(10)).await;
        tracing::info!("background jobs stopped");
        served
    }
}

/// Mail, backups and alerts, housekeeping: each under the supervisor.
fn start_jobs(app: Arc<app::App>) -> jobs::Supervisor {
    let reporter = app.clone();
    let report: jobs::Reporter = Arc::new(move |job, panic, gave_up| {
        let a = reporter.clone();
        tokio::task::spawn_blocking(move || {
            let r = a.pool.get().map_err(Into::into).and_then(|mut conn| {
                crate::services::alerts::job_failed(
                    &mut conn,
                    &a.keys,
                    &a.settings,
                    job,
                    &panic,
                    gave_up,
                )
            });
            if let Err(e) = r {
                tracing::error!(error = ?e, job, "job failure not recorded");
            }
        });
    });
    let sup = jobs::Supervisor::new(app.jobs.clone(), report)
        .with_faults(app.settings.fault_jobs.clone());
    let a = app.clone();
    sup.start("mail", move |stop| {
        crate::email::worker::run(a.clone(), stop)
    });
    let a = app.clone();
    sup.start("backups", move |stop| {
        crate::backup::jobs::run(a.clone(), stop)
    });
    let a = app.clone();
    sup.start("retention", move |stop| {
        jobs::retention::run(a.clone(), stop)
    });
    let a = app.clone();
    sup.start("privacy-reminders", move |stop| {
        jobs::privacy::run(a.clone(), stop)
    });
    let a = app.clone();
    sup.start("audit-verify", move |stop| {
        jobs::audit_verify::run(a.clone(), stop)
    });
    let a = app.clone();
    sup.start("weekly-summary", move |stop| {
        jobs::summary::run(a.clone(), stop)
    });
    let a = app.clone();
    sup.start("notify-digest", move |stop| {
        jobs::digest::run(a.clone(), stop)
    });
    let a = app.clone();
    sup.start("health", move |stop| jobs::health::run(a.clone(), stop));
    sup.start("housekeeping", move |stop| {
        jobs::housekeeping::run(app.clone(), stop)
    });
    sup
}
