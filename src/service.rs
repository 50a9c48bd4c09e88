//! Starting and stopping SPARTA's roles (API, workers) on one set of backends.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use sparta_jobs::Backends;
use sparta_worker::{Deliverer, Executor, Scheduler, Worker};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::settings::Settings;

/// Which parts of SPARTA a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    /// The HTTP API.
    pub api: bool,
    /// Job workers (with the reconciler).
    pub worker: bool,
}

impl Roles {
    /// Everything in one process (`sparta serve`).
    pub const ALL: Roles = Roles {
        api: true,
        worker: true,
    };
    /// Only the API (`sparta api`).
    pub const API: Roles = Roles {
        api: true,
        worker: false,
    };
    /// Only workers (`sparta worker`).
    pub const WORKER: Roles = Roles {
        api: false,
        worker: true,
    };
}

/// A running SPARTA process.
pub struct Service {
    addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    backends: Backends,
}

/// Connects to the store and queue named by `settings`, with errors that name the URL (without
/// its password); when `auto_migrate` is on, migrates and seals any webhook secret not yet
/// sealed under the current key.
pub async fn connect(settings: &Settings) -> anyhow::Result<Backends> {
    crate::data_folder::prepare(settings)?;
    let config = settings.backends()?;
    let backends = sparta_jobs::connect(&config).await.with_context(|| {
        let redis = settings
            .redis_url_redacted()
            .map(|url| format!(" / redis {url}"))
            .unwrap_or_default();
        format!(
            "cannot use database {}{redis}",
            settings.database_url_redacted()
        )
    })?;
    if settings.auto_migrate {
        backends
            .store
            .migrate()
            .await
            .context("applying database migrations")?;
        // Secrets stored before sealing existed (or under a previous key) are sealed under the
        // current key now, so none stays readable in the store; a no-op once done.
        let done = sparta_jobs::store::secrets::reseal(backends.store.as_ref(), &config.secrets)
            .await
            .context("sealing stored webhook secrets")?;
        if done.tenants > 0 {
            tracing::info!(
                tenants = done.tenants,
                key = config.secrets.current_id(),
                "sealed stored webhook secrets under the current key"
            );
        }
    }
    Ok(backends)
}

impl Service {
    /// Connects, binds `settings.listen` (port 0 picks a free port) and starts the roles.
    pub async fn start(settings: &Settings, roles: Roles) -> anyhow::Result<Service> {
        let backends = connect(settings).await?;
        Self::start_with(settings, roles, backends).await
    }

    /// Starts the roles on already connected backends.
    pub async fn start_with(
        settings: &Settings,
        roles: Roles,
        backends: Backends,
    ) -> anyhow::Result<Service> {
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut addr = None;
        // Installed before anything records (breakers report their state as they are built).
        let metrics = crate::metrics::recorder()?;
        let mut breakers: Option<sparta_api::health::BreakerStates> = None;
        if roles.worker {
            sparta_worker::metrics::register_zeros(settings.scheduler.enabled);
            let executor = Executor::new(
                crate::models::orchestrator(settings)?,
                &crate::models::executor_config(settings)?,
            )
            .context("building the job executor")?;
            let executor = Arc::new(executor);
            let states = executor.clone();
            breakers = Some(Arc::new(move || {
                states
                    .orchestrator()
                    .breaker_states()
                    .into_iter()
                    .map(|(model, state)| (model, breaker_name(state)))
                    .collect()
            }));
            let worker = Worker::new(
                backends.store.clone(),
                backends.queue.clone(),
                executor,
                settings.worker(),
            );
            let deliverer = Deliverer::new(
                backends.store.clone(),
                settings.webhooks()?,
                worker.job_ended(),
            )
            .context("building the webhook deliverer")?;
            tasks.spawn(worker.run(shutdown.clone()));
            tasks.spawn(deliverer.run(shutdown.clone()));
            tasks.spawn(sparta_worker::activity::flush(
                metrics.activity.clone(),
                backends.store.clone(),
                settings.activity_flush(),
                shutdown.clone(),
            ));
            if settings.scheduler.enabled {
                let scheduler = Scheduler::new(
                    backends.store.clone(),
                    backends.queue.clone(),
                    settings.scheduler()?,
                );
                tasks.spawn(scheduler.run(shutdown.clone()));
            }
            // With the API in the process, its port serves the metrics of both.
            if let (Some(listen), false) = (settings.worker.metrics_listen, roles.api) {
                let listener = TcpListener::bind(listen).await.with_context(|| {
                    format!("cannot listen on {listen} (worker.metrics_listen)")
                })?;
                tasks.spawn(serve_worker_listener(
                    listener,
                    metrics.prometheus.clone(),
                    backends.clone(),
                    breakers.clone(),
                    shutdown.clone(),
                ));
                tracing::info!(%listen, "worker metrics listening");
            }
        }
        if roles.api {
            let listener = TcpListener::bind(settings.listen)
                .await
                .with_context(|| format!("cannot listen on {}", settings.listen))?;
            let local = listener.local_addr().context("reading the bound address")?;
            addr = Some(local);
            let router = sparta_api::router(sparta_api::ApiState {
                store: backends.store.clone(),
                queue: backends.queue.clone(),
                changes: backends.changes.clone(),
                config: sparta_api::ApiConfig {
                    console_key: Some(sparta_api::ConsoleKey(
                        crate::data_folder::keyring(settings)?.derive("sparta console session"),
                    )),
                    models: settings.ai.models.keys().cloned().collect(),
                    trace_viewer_url: settings.telemetry.viewer_url.clone(),
                    ..settings.api()?
                },
                metrics: Some(sparta_api::MetricsEndpoint {
                    handle: metrics.prometheus,
                    public: settings.metrics.public,
                }),
                breakers,
            });
            let stop = shutdown.clone();
            tasks.spawn(async move {
                // The peer address keys the limit on failed authentications.
                let served = axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
                if let Err(error) = served {
                    tracing::error!(%error, "http server failed");
                }
            });
            tracing::info!(%local, store = backends.store.backend(),
                queue = backends.queue.backend(), "api listening");
        }
        Ok(Service {
            addr,
            shutdown,
            tasks,
            backends,
        })
    }

    /// The API's bound address, when the API role runs.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The backends this service uses.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// A token that, cancelled, starts the shutdown (signal handlers hold one).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Runs until shutdown is requested and every role has stopped.
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }

    /// The one shutdown path: stop taking requests and jobs, finish in-flight work within the
    /// grace period, release the rest, and return when everything stopped.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.wait().await;
    }
}

/// A breaker state as readiness reports it.
fn breaker_name(state: sparta_ai::BreakerState) -> &'static str {
    match state {
        sparta_ai::BreakerState::Closed => "closed",
        sparta_ai::BreakerState::HalfOpen => "half_open",
        sparta_ai::BreakerState::Open => "open",
    }
}

/// A worker process's own listener, until shutdown: `GET /metrics` (Prometheus) and
/// `GET /readyz` (its store, queue and breakers; 503 when the store or the queue does not
/// answer). No token: it is meant for a private address.
async fn serve_worker_listener(
    listener: TcpListener,
    handle: metrics_exporter_prometheus::PrometheusHandle,
    backends: Backends,
    breakers: Option<sparta_api::health::BreakerStates>,
    shutdown: CancellationToken,
) {
    use axum::http::{StatusCode, header};
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move || {
                let handle = handle.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        handle.render(),
                    )
                }
            }),
        )
        .route(
            "/readyz",
            axum::routing::get(move || {
                let (backends, breakers) = (backends.clone(), breakers.clone());
                async move {
                    let readiness = sparta_api::health::probe(
                        backends.store.as_ref(),
                        backends.queue.as_ref(),
                        breakers.as_ref(),
                    )
                    .await;
                    let status = if readiness.ready() {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, axum::Json(readiness))
                }
            }),
        );
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await;
    if let Err(error) = served {
        tracing::error!(%error, "worker listener failed");
    }
}
