//! `GET /v1/jobs/{id}/events`: Server-Sent Events of a job's status changes until it is
//! terminal. Each event is named after the status (`queued`, `running`, `succeeded`, `failed`,
//! `cancelled`) and carries the job as `GET /v1/jobs/{id}` returns it; the stream ends after the
//! terminal event. A client that reconnects simply gets the current state first.
//!
//! Streams do not poll: each one re-reads its job only when the process's change feed
//! ([`sparta_jobs::change_feed`]) names the job (or asks for a resync), plus a slow safety
//! re-check every [`RECHECK`], so a lost notification only delays an event.
//!
//! Limits: a tenant holds at most `max_streams_per_tenant` streams and long polls at once
//! ([`crate::limits::StreamSlots`]; beyond it 429 `RATE_LIMIT_EXCEEDED` with `Retry-After`), released when the
//! stream ends or the client goes away; a stream lives at most `stream_lifetime` and then ends
//! with a `reconnect` event.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use aide::OperationOutput;
use aide::generate::GenContext;
use aide::openapi::{MediaType, Operation, Response as DocResponse};
use aide::transform::TransformOperation;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use sparta_jobs::change_feed::Subscription;
use sparta_jobs::{Job, JobId, JobStatus, JobStore, TenantId};
use tokio::time::Instant;

use crate::auth::Caller;
use crate::context::AppCtx;
use crate::error::ApiError;
use crate::limits::StreamSlot;
use crate::params::JobIdParam;
use sparta_jobs::view::JobView;

/// The safety re-check of a stream or long poll that heard nothing: a notification lost
/// anywhere only delays an event by this much.
pub(crate) const RECHECK: Duration = Duration::from_secs(5);
/// How soon a client should reconnect after a `reconnect` event (the SSE `retry` field too).
const RECONNECT_RETRY: Duration = Duration::from_secs(1);

/// A `text/event-stream` response (documented in the OpenAPI document as such).
pub(crate) struct EventStream(Response);

impl IntoResponse for EventStream {
    fn into_response(self) -> Response {
        self.0
    }
}

impl OperationOutput for EventStream {
    type Inner = ();

    fn operation_response(
        _ctx: &mut GenContext,
        _operation: &mut Operation,
    ) -> Option<DocResponse> {
        Some(DocResponse {
            description: "A stream of `text/event-stream` events, one per status change; each \
                          event is named after the status and its data is the job (as `GET \
                          /v1/jobs/{id}` returns it). The stream ends after the terminal event, \
                          or, once it has been open for the server's stream lifetime (5 minutes \
                          by default), with a `reconnect` event whose data is \
                          `{\"reason\": \"stream lifetime reached\", \"retry_ms\": 1000}`: open \
                          the stream again (it starts with the current state)."
                .into(),
            content: std::iter::once(("text/event-stream".to_owned(), MediaType::default()))
                .collect(),
            ..Default::default()
        })
    }
}

/// Where the stream is.
struct Watch {
    store: Arc<dyn JobStore>,
    tenant: TenantId,
    id: JobId,
    /// Wakes the stream when its job may have changed.
    changes: Subscription,
    /// The job to announce next (the first look is done before the response starts).
    next: Option<Job>,
    /// What was announced last.
    last: Option<(JobStatus, i32)>,
    /// When the stream ends with `reconnect`.
    ends_at: Instant,
    done: bool,
    /// Held for the life of the stream.
    _slot: StreamSlot,
}

fn event(job: &Job) -> Event {
    let data = serde_json::to_string(&JobView::from(job.clone())).unwrap_or_else(|_| "{}".into());
    Event::default().event(job.status.as_str()).data(data)
}

/// The last event of a stream that reached its lifetime.
fn reconnect_event() -> Event {
    let data = serde_json::json!({
        "reason": "stream lifetime reached",
        "retry_ms": RECONNECT_RETRY.as_millis(),
    });
    Event::default()
        .event("reconnect")
        .retry(RECONNECT_RETRY)
        .data(data.to_string())
}

impl Watch {
    /// The next event: waits until the job's status or attempt changes, or the lifetime ends.
    async fn next_event(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        loop {
            let job = match self.next.take() {
                Some(job) => job,
                None => {
                    let lifetime_over = tokio::select! {
                        () = self.changes.changed(self.id) => false,
                        () = tokio::time::sleep(RECHECK) => false,
                        () = tokio::time::sleep_until(self.ends_at) => true,
                    };
                    if lifetime_over {
                        self.done = true;
                        return Some(reconnect_event());
                    }
                    match self.store.get_job(self.tenant, self.id).await {
                        Ok(Some(job)) => job,
                        // The job is gone or the store failed: end the stream; the client
                        // reconnects or reads the job.
                        Ok(None) | Err(_) => return None,
                    }
                }
            };
            let seen = (job.status, job.attempt);
            if self.last != Some(seen) {
                self.last = Some(seen);
                self.done = job.status.is_terminal();
                return Some(event(&job));
            }
        }
    }
}

/// `GET /v1/jobs/{id}/events`.
pub(crate) async fn events(
    State(ctx): State<AppCtx>,
    caller: Caller,
    JobIdParam(id): JobIdParam,
) -> Result<EventStream, ApiError> {
    let tenant = &caller.tenant;
    let config = &ctx.api.config;
    let slot = ctx.streams.acquire(
        tenant.id,
        caller.athlete.as_ref(),
        config.max_streams_per_tenant,
    )?;
    // Subscribe before the first read, so no change after it is missed.
    let changes = ctx.api.changes.subscribe();
    let job = ctx
        .api
        .store
        .get_job(tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such job".into()))?;
    let job = caller.visible(job)?;
    let watch = Watch {
        store: ctx.api.store.clone(),
        tenant: tenant.id,
        id,
        changes,
        next: Some(job),
        last: None,
        ends_at: Instant::now() + config.stream_lifetime,
        done: false,
        _slot: slot,
    };
    let stream = futures::stream::unfold(watch, |mut watch| async move {
        watch.next_event().await.map(|event| (Ok(event), watch))
    })
    .boxed();
    let stream: BoxStream<'static, Result<Event, Infallible>> = stream;
    Ok(EventStream(
        Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response(),
    ))
}

pub(crate) fn events_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("jobEvents")
        .tag("jobs")
        .summary("Stream a job's status changes")
        .description(
            "Server-Sent Events: the current state at once, then one event per status change \
             (a retry shows as `queued` again with a higher `attempt`), ending after `succeeded`, \
             `failed` or `cancelled`. A stream lives at most the server's stream lifetime (5 \
             minutes by default) and then ends with a `reconnect` event \
             (`{\"reason\": \"stream lifetime reached\", \"retry_ms\": …}`): open it again. A \
             tenant holds at most 50 streams and long polls (`GET /v1/jobs/{id}?wait=N`) at once \
             by default.",
        )
        .response_with::<200, EventStream, _>(|r| r)
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: no such job for this tenant.")
        })
        .response_with::<429, ApiError, _>(|r| {
            r.description(
                "`RATE_LIMIT_EXCEEDED`: the tenant already holds its maximum of open event \
                 streams and long polls; retry after `Retry-After` seconds or close one.",
            )
        })
}
