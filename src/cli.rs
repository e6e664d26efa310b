//! The command line (DESIGN.md §4). Usage errors exit 2 (clap), failures exit 1.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::{Parser, Subcommand};

use crate::backup;
use crate::config::Settings;
use crate::db::audit::Verdict;
use crate::services::{Actor, audit, setup};
use crate::startup::{self, Application};

#[derive(Parser, Debug)]
#[command(
    name = "omie-tenant-manager",
    version,
    about = "Client companies, their people, Omie credentials and applications, in one place."
)]
pub struct Cli {
    /// TOML settings file (same names as the OTM_ variables, lower case, without the prefix)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default)
    Serve,
    /// Manage platform accounts
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Run one backup now and print the backup file's path
    Backup,
    /// Restore a backup file into the data dir, after checking it
    Restore {
        /// The backup file (omie-tenant-manager-*.db.zst.age)
        file: PathBuf,
        /// Replace the database that is there (it is moved aside, not deleted)
        #[arg(long)]
        force: bool,
    },
    /// Inspect the audit trail
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Apply the data inventory's retention periods (what the daily job does)
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Notification e-mails
    Notify {
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// Manage the master key
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Fill an empty database with realistic fake data, for trying and benchmarking
    Demo {
        /// How many companies to create
        #[arg(long, default_value_t = 1000)]
        companies: usize,
        /// How many audit rows in all (at least one per company)
        #[arg(long)]
        audit_rows: Option<usize>,
    },
}

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// Queue every person's waiting daily digest now (what OTM_DIGEST_TIME does)
    Digest,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an owner account; the password is read from standard input
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Read the password from the first line of standard input
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove a person's second factor (break-glass for a locked-out owner): ends all
    /// their sessions and API tokens, audited, e-mails every owner
    ResetMfa {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Remove what is past its retention period now, print the counts; `--now` applies
    /// the periods as of another moment (RFC 3339, e.g. 2027-06-01T12:00:00Z), to check
    /// what a later run will remove
    Run {
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Make a new master key and re-seal every secret with it (the server may keep running)
    Rotate,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain; exits 1 when a row was changed, removed or inserted
    Verify,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OTM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,actix_server=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing();
    let settings = Settings::load(cli.config.as_deref())?;
    // Mail a command queues records the base URL its links were made with.
    crate::email::set_link_base(&settings.base_url);
    let command = cli.command.unwrap_or(Command::Serve);
    if matches!(command, Command::Serve) {
        return serve(settings);
    }
    // A restore refuses to run beside a server (and must leave the data dir as it was
    // when it fails); verifying the audit trail changes nothing.
    let changes = !matches!(command, Command::Restore { .. } | Command::Audit { .. });
    let done = command_run(command, &settings);
    // Whatever the command changed, a server running on this data dir reads it again
    // (its hot caches are dropped) before the command answers.
    if changes
        && settings.data_dir.is_dir()
        && let Err(e) = crate::services::hot::announce_change(&settings.data_dir)
    {
        done?;
        bail!(
            "{e:#}; a running server may answer from what it cached for up to a minute: restart it"
        );
    }
    done
}

/// Opens the database for a command; its invalidations reach a running server.
fn open(settings: &Settings) -> anyhow::Result<startup::Opened> {
    let opened = startup::open(settings)?;
    opened.keys.hot.announce_to(&settings.data_dir);
    Ok(opened)
}

fn command_run(command: Command, settings: &Settings) -> anyhow::Result<()> {
    let settings = settings.clone();
    match command {
        Command::Serve => serve(settings),
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    name,
                    password_stdin: _,
                },
        } => admin_create(settings, &email, &name),
        Command::Admin {
            command: AdminCommand::ResetMfa { email },
        } => {
            let opened = open(&settings)?;
            let mut conn = opened.pool.get()?;
            match crate::services::mfa::reset(&mut conn, &opened.keys, &settings.base_url, &email) {
                Ok(u) => {
                    println!(
                        "second factor removed for {} <{}>; their sessions and API tokens were ended",
                        u.name, u.email
                    );
                    Ok(())
                }
                Err(crate::error::AppError::NotFound) => {
                    bail!("no account with the e-mail {email}")
                }
                Err(e) => Err(anyhow!("{e:?}")),
            }
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => audit_verify(settings),
        Command::Backup => backup_now(settings),
        Command::Notify {
            command: NotifyCommand::Digest,
        } => {
            let opened = open(&settings)?;
            let mut conn = opened.pool.get()?;
            let n = crate::services::notify::send_digests(&mut conn, &opened.keys, &settings)
                .map_err(|e| anyhow!("{e:?}"))?;
            println!("digests queued: {n}");
            Ok(())
        }
        Command::Retention {
            command: RetentionCommand::Run { now },
        } => retention_run(settings, now),
        Command::Restore { file, force } => restore(settings, &file, force),
        Command::Key {
            command: KeyCommand::Rotate,
        } => {
            let opened = open(&settings)?;
            let mut conn = opened.pool.get()?;
            let (id, n) = crate::services::keys::rotate(&mut conn, &opened.keys)
                .map_err(|e| anyhow!("{e:?}"))?;
            println!(
                "master key rotated: secrets are now sealed with key {id} ({n} values re-sealed)"
            );
            Ok(())
        }
        Command::Demo {
            companies,
            audit_rows,
        } => {
            let opened = open(&settings)?;
            let mut conn = opened.pool.get()?;
            let report = crate::demo::fill(
                &mut conn,
                &opened.keys,
                companies,
                audit_rows,
                settings.bcrypt_cost,
            )?;
            println!("{report}");
            Ok(())
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn admin_create(settings: Settings, email: &str, name: &str) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    let opened = open(&settings)?;

    let input = setup::OwnerInput {
        name,
        email,
        password,
        password_confirm: None,
    };
    match setup::create_owner(
        &opened.pool,
        &opened.keys,
        "command line",
        None,
        &input,
        settings.bcrypt_cost,
    ) {
        Ok(u) => {
            println!("owner created: {} <{}> ({})", u.name, u.email, u.id);
            Ok(())
        }
        Err(crate::error::AppError::Validation(errs))
        | Err(crate::error::AppError::Conflict(errs)) => {
            let msg: Vec<String> = errs
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            bail!("{}", msg.join("; "))
        }
        Err(e) => Err(anyhow!("{e:?}")),
    }
}

fn audit_verify(settings: Settings) -> anyhow::Result<()> {
    let opened = open(&settings)?;
    let conn = opened.pool.get()?;
    match audit::verify(&conn, &opened.keys.audit).map_err(|e| anyhow!("{e:?}"))? {
        Verdict::Intact { rows } => {
            println!("audit chain intact: {rows} rows");
            Ok(())
        }
        Verdict::Broken { at_id, reason } => bail!("audit chain broken at row {at_id}: {reason}"),
    }
}

/// A bad `--now` is bad usage (exit 2), like any other argument clap refuses.
fn rfc3339(t: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("not an RFC 3339 time ({e})"))
}

fn retention_run(
    settings: Settings,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<()> {
    let now = now.unwrap_or_else(crate::time::now);
    let opened = open(&settings)?;
    let mut conn = opened.pool.get()?;
    let removed =
        crate::services::retention::run(&mut conn, &opened.keys, now, settings.session_idle_secs)
            .map_err(|e| anyhow!("{e:?}"))?;
    println!(
        "{}",
        serde_json::to_string(&removed).map_err(|e| anyhow!("{e}"))?
    );
    Ok(())
}

fn backup_now(settings: Settings) -> anyhow::Result<()> {
    let opened = open(&settings)?;
    let mut conn = opened.pool.get()?;
    let actor = Actor::system_at("command line");
    let (lock, row) = match backup::begin(&mut conn, &opened.keys, &settings, &actor, "manual") {
        Ok(v) => v,
        Err(crate::error::AppError::Conflict(_)) => {
            bail!("another backup is running on this data dir; try again when it ends")
        }
        Err(e) => return Err(anyhow!("{e:?}")),
    };
    drop(conn);
    let done = backup::execute(&opened.pool, &opened.keys, &settings, lock, &row.id)
        .map_err(|e| anyhow!("{e:?}"))?;
    if done.status != crate::domain::BackupStatus::Succeeded {
        bail!(
            "backup failed ({}): {}",
            done.error_code.unwrap_or_default(),
            done.error.unwrap_or_default()
        );
    }
    if done.remote_status == Some(crate::domain::RemoteStatus::Failed) {
        eprintln!(
            "warning: the off-site copy failed, the local file is kept: {}",
            done.remote_error.unwrap_or_default()
        );
    }
    let name = done.file_name.unwrap_or_default();
    println!("{}", backup::dir(&settings).join(name).display());
    Ok(())
}

fn restore(settings: Settings, file: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let r = backup::restore::run(&settings, file, force)?;
    let count = |t: &str| r.manifest.tables.get(t).copied().unwrap_or(0);
    println!(
        "restored the backup made at {}: {} companies, {} users, {} audit rows",
        crate::time::db_to_rfc3339(&r.manifest.created_at),
        count("companies"),
        count("users"),
        count("audit_log"),
    );
    match r.audit {
        Verdict::Intact { rows } => println!("audit chain intact: {rows} rows"),
        Verdict::Broken { at_id, reason } => {
            eprintln!("warning: audit chain broken at row {at_id}: {reason}")
        }
    }
    if let Some(dir) = r.replaced {
        println!("the replaced database was moved to {}", dir.display());
    }
    println!("database: {}", settings.db_path().display());
    Ok(())
}
