//! `GET /v1/jobs/{id}/events`: Server-Sent Events of a job's status changes until it is
//! terminal. Each event is named after the status (`queued`, `running`, `succeeded`, `failed`,
//! `cancelled`) and carries the job as `GET /v1/jobs/{id}` returns it; the stream ends after the
//! terminal event. A client that reconnects simply gets the current state first.

use std::convert::Infallible;
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
use sparta_jobs::{Job, JobId, JobStatus, JobStore, TenantId};
use std::sync::Arc;

use crate::app::AppCtx;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::params::JobIdParam;
use sparta_jobs::view::JobView;

/// First pause between two looks at the store; doubled up to [`POLL_MAX`] while nothing changes,
/// back to the start after a change (jobs move fast right after a change).
const POLL_START: Duration = Duration::from_millis(10);
/// Longest pause between two looks at the store.
const POLL_MAX: Duration = Duration::from_millis(250);

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
                          /v1/jobs/{id}` returns it). The stream ends after the terminal event."
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
    /// The job to announce next (the first look is done before the response starts).
    next: Option<Job>,
    /// What was announced last.
    last: Option<(JobStatus, i32)>,
    done: bool,
}

fn event(job: &Job) -> Event {
    let data = serde_json::to_string(&JobView::from(job.clone())).unwrap_or_else(|_| "{}".into());
    Event::default().event(job.status.as_str()).data(data)
}

impl Watch {
    /// The next event: waits until the job's status or attempt changes.
    async fn next_event(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        let mut pause = POLL_START;
        loop {
            let job = match self.next.take() {
                Some(job) => job,
                None => match self.store.get_job(self.tenant, self.id).await {
                    Ok(Some(job)) => job,
                    // The job is gone or the store failed: end the stream; the client
                    // reconnects or reads the job.
                    Ok(None) | Err(_) => return None,
                },
            };
            let seen = (job.status, job.attempt);
            if self.last != Some(seen) {
                self.last = Some(seen);
                self.done = job.status.is_terminal();
                return Some(event(&job));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(POLL_MAX);
        }
    }
}

/// `GET /v1/jobs/{id}/events`.
pub(crate) async fn events(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    JobIdParam(id): JobIdParam,
) -> Result<EventStream, ApiError> {
    let job = ctx
        .api
        .store
        .get_job(tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such job".into()))?;
    let watch = Watch {
        store: ctx.api.store.clone(),
        tenant: tenant.id,
        id,
        next: Some(job),
        last: None,
        done: false,
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
             `failed` or `cancelled`.",
        )
        .response_with::<200, EventStream, _>(|r| r)
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: no such job for this tenant.")
        })
}
