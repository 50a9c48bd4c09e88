//! `sparta`: parse the command line, load settings once, start logging, run.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use sparta::{Cli, Settings, init_telemetry, run_cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => {
            init_telemetry(&settings.log);
            run_cli(cli.command, settings).await
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
