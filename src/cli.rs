//! The command line (DESIGN.md §4). Usage errors exit 2 (clap), failures exit 1.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::{Parser, Subcommand};

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
    /// Inspect the audit trail
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
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
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    name,
                    password_stdin: _,
                },
        } => admin_create(settings, &email, &name),
        Command::Audit {
            command: AuditCommand::Verify,
        } => audit_verify(settings),
        Command::Key {
            command: KeyCommand::Rotate,
        } => {
            let opened = startup::open(&settings)?;
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
            let opened = startup::open(&settings)?;
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
    let opened = startup::open(&settings)?;
    let mut conn = opened.pool.get()?;
    let input = setup::OwnerInput {
        name,
        email,
        password,
        password_confirm: None,
    };
    let actor = Actor {
        ip: "command line".into(),
        ..Actor::system()
    };
    match setup::create_owner(
        &mut conn,
        &opened.keys,
        &actor,
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
    let opened = startup::open(&settings)?;
    let conn = opened.pool.get()?;
    match audit::verify(&conn, &opened.keys.audit).map_err(|e| anyhow!("{e:?}"))? {
        Verdict::Intact { rows } => {
            println!("audit chain intact: {rows} rows");
            Ok(())
        }
        Verdict::Broken { at_id, reason } => bail!("audit chain broken at row {at_id}: {reason}"),
    }
}
