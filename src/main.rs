use std::process::ExitCode;

use clap::Parser;
use omie_tenant_manager::cli::{self, Cli};

fn main() -> ExitCode {
    // One TLS provider for the whole process (SMTP and the Omie client): ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line on stderr, as the command-line contract asks.
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
