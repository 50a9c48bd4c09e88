//! Logging and tracing, set up once per process: log lines on stderr (text or JSON; a process's
//! lines are formatted where they are logged and written by a thread of their own), and, when
//! `telemetry.otlp_endpoint` is set, SPARTA's spans exported over OTLP/HTTP (protobuf) by
//! OpenTelemetry's batch exporter, one trace per job across processes
//! ([`sparta_jobs::trace_context`]).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::settings::{LogFormat, LogSettings, Settings};

/// What must be flushed when the process ends.
#[must_use = "call shutdown() before the process exits, or the last spans and lines are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    /// Stops the log lines' writer thread once it has written every line sent to it.
    lines: WorkerGuard,
}

impl Telemetry {
    /// Exports the spans still buffered, then writes the log lines still queued (the one
    /// shutdown path calls it last).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "flushing the last spans failed");
        }
        drop(self.lines);
    }
}

/// Logging only, written where it is logged (tests start services in one process: the first
/// call wins).
pub fn init_telemetry(settings: &LogSettings) {
    install(settings, None, BoxMakeWriter::new(std::io::stderr));
}

/// Logging and, when configured, span export for a process named `service` (the OpenTelemetry
/// `service.name`, unless `telemetry.service_name` says otherwise).
pub fn init(settings: &Settings, service: &str) -> anyhow::Result<Telemetry> {
    let provider = match &settings.telemetry.otlp_endpoint {
        Some(endpoint) => {
            let service = settings
                .telemetry
                .service_name
                .as_deref()
                .unwrap_or(service);
            Some(provider(endpoint, service, settings)?)
        }
        None => None,
    };
    // A line written to stderr where it is logged is a `write` system call on a runtime
    // thread, with stderr's lock held: at the default level (two lines a submit in the API,
    // and the worker's per job), 5.6 % of the API's CPU. Here a thread of their own writes the
    // lines queued since its last write in one. It never drops one: a full queue (128,000
    // lines) makes the logging thread wait, as a blocked stderr did before.
    let (lines, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("sparta-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    install(&settings.log, provider.as_ref(), BoxMakeWriter::new(lines));
    if provider.is_some() {
        sparta_jobs::trace_context::enable();
    }
    Ok(Telemetry {
        provider,
        lines: guard,
    })
}

fn provider(
    endpoint: &str,
    service: &str,
    settings: &Settings,
) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()
        .map_err(|e| anyhow::anyhow!("telemetry.otlp_endpoint {endpoint}: {e}"))?;
    let every = std::time::Duration::from_millis(settings.telemetry.export_every_ms.max(10));
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(every)
                .build(),
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .build())
}

/// Installs the global subscriber: `RUST_LOG` when set, else the configured level, for the log
/// lines (stdout is kept for command output such as a new API key); SPARTA's own spans at info
/// for the exporter, whatever the log level.
fn install(settings: &LogSettings, provider: Option<&SdkTracerProvider>, writer: BoxMakeWriter) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match settings.format {
        LogFormat::Json => lines.json().flatten_event(true).with_filter(filter).boxed(),
        LogFormat::Text => lines.with_filter(filter).boxed(),
    };
    let spans = provider.map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("sparta"))
            .with_filter(
                Targets::new()
                    .with_default(LevelFilter::OFF)
                    .with_target("sparta", LevelFilter::INFO),
            )
    });
    // A second init (tests starting several services) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(spans)
        .try_init();
}
