//! The `sparta` binary's library half: settings, wiring and the service lifecycle.
//!
//! `main.rs` only parses the command line and calls in here, so tests start the very same
//! service in-process on port 0 ([`Service::start`]) and stop it through the one shutdown
//! path ([`Service::stop`]).

/// The allocator of every SPARTA process, and of the benchmarks and tests that link this
/// library: mimalloc. A job allocates thousands of small, short-lived objects (parsed input,
/// the answer as JSON, guardrail bookkeeping); mimalloc's per-thread free lists make that
/// markedly cheaper than the system allocator, measured with `cargo bench --bench engine`.
/// Built without transparent huge pages (`no_thp`): mimalloc asked the kernel for them on its
/// large regions, and the kernel then zeroed a whole 2 MiB page at each first touch after the
/// allocator had handed memory back, 45 % of the API's CPU under batch submits (`perf`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod data_folder;
mod metrics;
mod models;
mod service;
mod settings;
mod submit;
mod telemetry;

pub use cli::{Cli, Command, run_cli};
pub use service::{Roles, Service, connect};
pub use settings::{
    AdminSettings, AiSettings, BreakerSettings, KindSettings, LogFormat, LogSettings,
    MetricsSettings, ModelSettings, RetrySettings, SchedulerSettings, SecretsSettings, Settings,
    TelemetrySettings, WebhookSettings,
};
pub use telemetry::{Telemetry, init, init_telemetry};
