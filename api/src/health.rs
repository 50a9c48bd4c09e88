//! `/healthz` (liveness) and `/readyz` (readiness: store and queue reachable).

use std::time::Duration;

use aide::transform::TransformOperation;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use crate::app::AppCtx;
use crate::envelope::Reply;
use crate::error::ApiError;

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
pub(crate) struct Readiness {
    /// `ok` or `unavailable`.
    pub store: &'static str,
    /// `ok` or `unavailable`.
    pub queue: &'static str,
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
    let (store, queue) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, ctx.api.store.ping()),
        tokio::time::timeout(PROBE_TIMEOUT, ctx.api.queue.ping()),
    );
    let verdict = |name: &str, result: Result<Result<(), sparta_jobs::JobsError>, _>| match result {
        Ok(Ok(())) => ("ok", None),
        Ok(Err(e)) => ("unavailable", Some(format!("{name}: {e}"))),
        Err(_) => (
            "unavailable",
            Some(format!("{name}: no answer within {PROBE_TIMEOUT:?}")),
        ),
    };
    let (store, store_error) = verdict("store", store);
    let (queue, queue_error) = verdict("queue", queue);
    let failures: Vec<String> = store_error.into_iter().chain(queue_error).collect();
    if failures.is_empty() {
        Ok(Reply::ok(Readiness { store, queue }))
    } else {
        Err(ApiError::Unavailable {
            detail: failures.join("; "),
            details: json!({ "store": store, "queue": queue }),
        })
    }
}

pub(crate) fn ready_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("readyz")
        .tag("health")
        .summary("Readiness")
        .response_with::<200, Reply<Readiness>, _>(|r| {
            r.description("The store and the queue answer.")
        })
        .response_with::<503, ApiError, _>(|r| {
            r.description(
                "`SERVICE_UNAVAILABLE`: `details` says which of `store` and `queue` failed.",
            )
        })
}
