//! `/healthz` (liveness, version and build commit) and `/readyz` (readiness: store and queue
//! reachable; the LLM models' circuit breakers where this process runs workers). [`probe`] is
//! also what a worker's own listener answers at `/readyz`.

use std::time::Duration;

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use crate::context::AppCtx;
use crate::envelope::Reply;
use crate::error::ApiError;

/// The probes (no authentication).
pub(crate) fn routes() -> ApiRouter<AppCtx> {
    ApiRouter::new()
        .api_route("/healthz", get_with(live, live_docs))
        .api_route("/readyz", get_with(ready, ready_docs))
}

/// How long each readiness probe may take: a dependency slower than this is as good as down
/// for serving requests.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness, and what is running.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct Liveness {
    /// Always `ok`: the process serves requests.
    pub status: &'static str,
    /// SPARTA's version.
    pub version: &'static str,
    /// The commit it was built from (`unknown` when the build had no git metadata).
    pub commit: &'static str,
}

/// Readiness of each dependency.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    pub store: &'static str,
    /// `ok` or `unavailable`.
    pub queue: &'static str,
    /// Each LLM model's circuit breaker, where this process runs workers (an API-only process
    /// lists none: each worker answers for its own at its metrics listener's `/readyz`). An
    /// open breaker does not make the process unready: the chain falls back to the engine.
    pub llm: Vec<ModelReadiness>,
    /// Why it is not ready, when it is not (empty when ready).
    pub failures: Vec<String>,
}

impl Readiness {
    /// Whether the store and the queue answered.
    pub fn ready(&self) -> bool {
        self.failures.is_empty()
    }
}

/// One model's circuit breaker.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ModelReadiness {
    /// The model's name in the chain.
    pub model: String,
    /// `closed`, `half_open` or `open`.
    pub breaker: &'static str,
}

/// The breakers of this process's models, as (model, state) pairs.
pub type BreakerStates = std::sync::Arc<dyn Fn() -> Vec<(String, &'static str)> + Send + Sync>;

/// Pings the store and the queue (each within [`PROBE_TIMEOUT`]) and reads the breakers.
pub async fn probe(
    store: &dyn sparta_jobs::JobStore,
    queue: &dyn sparta_jobs::JobQueue,
    breakers: Option<&BreakerStates>,
) -> Readiness {
    let (store_ping, queue_ping) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, store.ping()),
        tokio::time::timeout(PROBE_TIMEOUT, queue.ping()),
    );
    let mut failures = Vec::new();
    let mut verdict =
        |name: &str, result: Result<Result<(), sparta_jobs::JobsError>, _>| match result {
            Ok(Ok(())) => "ok",
            Ok(Err(e)) => {
                failures.push(format!("{name}: {e}"));
                "unavailable"
            }
            Err(_) => {
                failures.push(format!("{name}: no answer within {PROBE_TIMEOUT:?}"));
                "unavailable"
            }
        };
    let store = verdict("store", store_ping);
    let queue = verdict("queue", queue_ping);
    let llm = breakers
        .map(|states| {
            states()
                .into_iter()
                .map(|(model, breaker)| ModelReadiness { model, breaker })
                .collect()
        })
        .unwrap_or_default();
    Readiness {
        store,
        queue,
        llm,
        failures,
    }
}

/// `GET /healthz`: 200 whenever the process can answer at all.
pub(crate) async fn live() -> Reply<Liveness> {
    Reply::ok(Liveness {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("SPARTA_BUILD_COMMIT"),
    })
}

pub(crate) fn live_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("healthz")
        .tag("health")
        .summary("Liveness")
        .response_with::<200, Reply<Liveness>, _>(|r| {
            r.description("The process is alive; its version and build commit.")
        })
}

/// `GET /readyz`: 200 when the store and the queue answer a ping in time, 503 otherwise.
pub(crate) async fn ready(State(ctx): State<AppCtx>) -> Result<Reply<Readiness>, ApiError> {
    let readiness = probe(
        ctx.api.store.as_ref(),
        ctx.api.queue.as_ref(),
        ctx.api.breakers.as_ref(),
    )
    .await;
    if readiness.ready() {
        Ok(Reply::ok(readiness))
    } else {
        Err(ApiError::Unavailable {
            detail: readiness.failures.join("; "),
            details: json!({ "store": readiness.store, "queue": readiness.queue }),
        })
    }
}

pub(crate) fn ready_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("readyz")
        .tag("health")
        .summary("Readiness")
        .response_with::<200, Reply<Readiness>, _>(|r| {
            r.description("The store and the queue answer; the breakers of this process's models.")
        })
        .response_with::<503, ApiError, _>(|r| {
            r.description(
                "`SERVICE_UNAVAILABLE`: `details` says which of `store` and `queue` failed.",
            )
        })
}
