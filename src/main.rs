//! `sparta`: parse the command line, load settings once, start logging, run.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use sparta::{Cli, Command, Settings, init, run_cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => {
            let service = match cli.command {
                Command::Api => "sparta-api",
                Command::Worker => "sparta-worker",
                Command::Serve => "sparta",
                _ => "sparta-cli",
            };
            match init(&settings, service) {
                Ok(telemetry) => {
                    let outcome = run_cli(cli.command, settings).await;
                    telemetry.shutdown();
                    outcome
                }
                Err(error) => Err(error.context("starting telemetry")),
            }
        }
        Err(error) => Err(error.context("invalid configuration")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line that says what failed and why (the whole cause chain).
            let _ = writeln!(std::io::stderr(), "sparta: {error:#}");
            ExitCode::FAILURE
        }
    }
}
