//! Prometheus: `GET /metrics`, the HTTP families the edge records for every response, jobs
//! submitted, and the queue-depth gauge.
//!
//! The exposition is rendered by `metrics-exporter-prometheus` from the process's recorder
//! (installed by the binary). `/metrics` answers without a key when `metrics.public` is on (a
//! private network, a scraper that cannot hold a secret); otherwise only to the operator's token.
//! The queue depth and the webhook backlog are read from the store when a scrape finds them
//! older than a second (one reader at a time; the others render the last figures), never once
//! per scrape; a console page takes the last reading at once and has it read again in the
//! background.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::PrometheusHandle;
use sparta_coach::JobKind;
use sparta_jobs::JobStatus;

use crate::context::AppCtx;
use crate::error::ApiError;

/// Responses by `route` (the template, `unmatched` for none), `method` and `status`.
pub const HTTP_REQUESTS: &str = "sparta_http_requests_total";
/// Response time by `route` and `method`.
pub const HTTP_DURATION: &str = "sparta_http_request_duration_seconds";
/// Jobs accepted by `kind` (replays of an idempotency key not counted).
pub const JOBS_SUBMITTED: &str = "sparta_jobs_submitted_total";
/// Jobs by `kind` and `status` (`queued`, `running`), across tenants.
pub const QUEUE_DEPTH: &str = "sparta_queue_jobs";
/// Webhook events waiting for delivery, across tenants.
pub const WEBHOOK_BACKLOG: &str = "sparta_webhook_backlog_events";

/// How old the queue-depth figures may be when a scrape renders them.
const DEPTH_MAX_AGE: Duration = Duration::from_secs(1);

/// Describes every family of this crate (help text and unit).
pub fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        Unit::Count,
        "HTTP responses by route template, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP response time by route template and method"
    );
    describe_counter!(JOBS_SUBMITTED, Unit::Count, "Jobs accepted, by kind");
    describe_gauge!(
        QUEUE_DEPTH,
        "Jobs queued and running by kind, across tenants (read at most once a second)"
    );
    describe_gauge!(
        WEBHOOK_BACKLOG,
        "Webhook events waiting for delivery, across tenants (read with the queue depth)"
    );
}

/// What `/metrics` on the API port serves, and to whom.
#[derive(Clone)]
pub struct MetricsEndpoint {
    /// The process's recorder.
    pub handle: PrometheusHandle,
    /// Whether it answers without the operator's token (`metrics.public`).
    pub public: bool,
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The route template a request matched, carried on its response out to the edge.
#[derive(Clone)]
pub(crate) struct RouteTemplate(Arc<str>);

/// Route layer: remembers the matched template on the response for [`record_request`].
pub(crate) async fn remember_route(matched: MatchedPath, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .extensions_mut()
        .insert(RouteTemplate(Arc::from(matched.as_str())));
    response
}

/// Records one response (called by the edge, which sees every response).
pub(crate) fn record_request(response: &Response, method: &Method, elapsed: Duration) {
    let route = response
        .extensions()
        .get::<RouteTemplate>()
        .map_or_else(|| Arc::from("unmatched"), |r| r.0.clone());
    let method = method.as_str().to_owned();
    counter!(HTTP_REQUESTS, "route" => route.to_string(), "method" => method.clone(),
        "status" => response.status().as_str().to_owned())
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route.to_string(), "method" => method)
        .record(elapsed.as_secs_f64());
}

/// Counts accepted jobs.
pub(crate) fn jobs_submitted(kind: JobKind, n: usize) {
    if n > 0 {
        counter!(JOBS_SUBMITTED, "kind" => kind.as_str()).increment(n as u64);
    }
}

/// The gauges read from the store: jobs queued and running by kind, and the webhook backlog.
#[derive(Clone, Debug, Default)]
pub(crate) struct Gauges {
    /// Jobs queued and running by kind.
    pub(crate) depth: Vec<sparta_jobs::store::QueueDepth>,
    /// Webhook events waiting for delivery.
    pub(crate) webhooks: sparta_jobs::store::WebhookBacklog,
}

/// When the gauges were last read (held while a reader reads), and what was read: `/metrics`
/// and the console's overview show the same figures.
#[derive(Default)]
pub(crate) struct DepthClock {
    last: tokio::sync::Mutex<Option<Instant>>,
    snapshot: std::sync::Mutex<Option<Gauges>>,
}

impl DepthClock {
    /// The gauges as last read. Older than [`DEPTH_MAX_AGE`], they are read again in the
    /// background (the caller gets the last reading at once: a page never waits for a count of
    /// a large queue); only the very first call waits for its reading.
    pub(crate) async fn current(&self, ctx: &AppCtx) -> Gauges {
        let last = self.snapshot.lock().ok().and_then(|s| s.clone());
        match last {
            Some(gauges) => {
                let stale = self
                    .last
                    .try_lock()
                    .is_ok_and(|at| at.is_none_or(|at| at.elapsed() >= DEPTH_MAX_AGE));
                if stale {
                    let ctx = ctx.clone();
                    tokio::spawn(async move { ctx.depth.refresh(&ctx).await });
                }
                gauges
            }
            None => {
                self.refresh(ctx).await;
                self.snapshot
                    .lock()
                    .ok()
                    .and_then(|s| s.clone())
                    .unwrap_or_default()
            }
        }
    }

    /// Reads the gauges unless they were read within [`DEPTH_MAX_AGE`] or another request is
    /// reading them now. A failed read keeps the last figures (and is logged).
    async fn refresh(&self, ctx: &AppCtx) {
        let Ok(mut last) = self.last.try_lock() else {
            return;
        };
        if last.is_some_and(|at| at.elapsed() < DEPTH_MAX_AGE) {
            return;
        }
        let read = async {
            Ok::<_, sparta_jobs::JobsError>(Gauges {
                depth: ctx.api.store.queue_depth().await?,
                webhooks: ctx.api.store.webhook_backlog().await?,
            })
        };
        match read.await {
            Ok(gauges) => {
                // Every kind and status is set, so a kind whose queue emptied reads 0.
                for &kind in JobKind::ALL {
                    for status in [JobStatus::Queued, JobStatus::Running] {
                        let jobs = gauges
                            .depth
                            .iter()
                            .find(|d| d.kind == kind && d.status == status)
                            .map_or(0, |d| d.jobs);
                        gauge!(QUEUE_DEPTH, "kind" => kind.as_str(), "status" => status.as_str())
                            .set(jobs as f64);
                    }
                }
                gauge!(WEBHOOK_BACKLOG).set(gauges.webhooks.pending as f64);
                *last = Some(Instant::now());
                if let Ok(mut snapshot) = self.snapshot.lock() {
                    *snapshot = Some(gauges);
                }
            }
            Err(error) => tracing::warn!(%error, "reading the queue depth for metrics failed"),
        }
    }
}

/// `GET /metrics`: the Prometheus text exposition of this process.
pub(crate) async fn metrics(
    State(ctx): State<AppCtx>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(endpoint) = ctx.api.metrics.as_ref() else {
        return Err(ApiError::NotFound(
            "metrics are not served by this process".into(),
        ));
    };
    if !endpoint.public {
        crate::auth::check_operator(&headers, ctx.api.config.operator_token_hash.as_ref())?;
    }
    ctx.depth.refresh(&ctx).await;
    let body = endpoint.handle.render();
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}
