//! `/v1/jobs`: submit, read (with long-poll), list, cancel.

use std::time::Duration;

use aide::transform::TransformOperation;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use sparta_jobs::{Inserted, JobId, NewJob};
use tokio::time::Instant;

use crate::app::AppCtx;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::edge::CurrentRequestId;
use crate::envelope::{Page, Reply};
use crate::error::ApiError;
use crate::params::{IdempotencyHeader, JobIdParam, ListParams, WaitParam, encode_cursor};
use crate::submission::{self, SubmitJobRequest};
use crate::view::JobView;

/// First pause of a long poll; doubled after each look at the store, up to [`POLL_MAX`]. Short
/// at first so fast jobs (the builtin engine answers in microseconds) come back at once, capped
/// so a long wait costs at most ten reads a second.
const POLL_START: Duration = Duration::from_millis(5);
/// Longest pause between two looks at the store during a long poll.
const POLL_MAX: Duration = Duration::from_millis(100);

/// `POST /v1/jobs`.
pub(crate) async fn submit(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    CurrentRequestId(request_id): CurrentRequestId,
    IdempotencyHeader(idempotency_key): IdempotencyHeader,
    JsonBody(bytes, ..): JsonBody<SubmitJobRequest>,
) -> Result<Reply<JobView>, ApiError> {
    let submission = submission::parse(&bytes)?;
    let config = &ctx.api.config;
    ctx.queued
        .admit(
            ctx.api.store.as_ref(),
            tenant.id,
            config.max_queued_per_tenant,
        )
        .await?;

    let request_hash = submission::request_hash(&submission);
    let new_job = NewJob {
        id: JobId::new(),
        tenant_id: tenant.id,
        kind: submission.kind,
        input: submission.input.to_value(),
        priority: submission.priority,
        max_attempts: config.default_max_attempts,
        idempotency_key,
        request_hash,
        webhook_url: submission.webhook_url,
        metadata: submission.metadata.map(serde_json::Value::Object),
        request_id: Some(request_id),
        created_at: Utc::now(),
    };
    // The row is committed before anything is announced or answered (DESIGN §3).
    match ctx.api.store.insert_job(&new_job).await? {
        Inserted::Created(job) => {
            announce(&ctx, job.id).await;
            tracing::info!(job_id = %job.id, kind = %job.kind, "job accepted");
            Ok(Reply::with_status(StatusCode::ACCEPTED, JobView::from(job)))
        }
        Inserted::Replayed(job) => {
            tracing::info!(job_id = %job.id, "idempotent replay");
            Ok(Reply::ok(JobView::from(job)))
        }
    }
}

/// Tells the workers about a committed job, bounded by `announce_timeout`. A failure is only
/// logged: the job is safe in the store and the reconciler announces it again, so the client
/// still gets its 202.
async fn announce(ctx: &AppCtx, id: JobId) {
    let timeout = ctx.api.config.announce_timeout;
    match tokio::time::timeout(timeout, ctx.api.queue.announce(&[id])).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(job_id = %id, error = %e, "announce failed; the reconciler will re-announce")
        }
        Err(_) => tracing::warn!(
            job_id = %id,
            timeout_ms = timeout.as_millis(),
            "announce timed out; the reconciler will re-announce"
        ),
    }
}

pub(crate) fn submit_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("submitJob")
        .tag("jobs")
        .summary("Submit a job")
        .description(
            "Validates the input against the kind's input schema (see `GET /v1/kinds`), stores the \
             job and queues it. The job is committed before the answer. With an `Idempotency-Key`, \
             a retry with the same body answers the original job with 200.",
        )
        .response_with::<202, Reply<JobView>, _>(|r| r.description("Accepted: the new job, `queued`."))
        .response_with::<200, Reply<JobView>, _>(|r| {
            r.description("Idempotent replay: the job first created with this `Idempotency-Key`.")
        })
        .response_with::<400, ApiError, _>(|r| {
            r.description(
                "`VALIDATION_ERROR`: malformed JSON, unknown kind, wrong types, missing or unknown \
                 fields, out-of-range values; `field` points into the body (`input.athlete.bodyweight_kg`).",
            )
        })
        .response_with::<409, ApiError, _>(|r| {
            r.description("`CONFLICT`: the `Idempotency-Key` was used with a different body.")
        })
        .response_with::<413, ApiError, _>(|r| r.description("`PAYLOAD_TOO_LARGE`: the body exceeds the limit."))
        .response_with::<415, ApiError, _>(|r| {
            r.description("`UNSUPPORTED_MEDIA_TYPE`: the body is not sent as `application/json`.")
        })
        .response_with::<422, ApiError, _>(|r| {
            r.description("`BUSINESS_RULE_VIOLATION`: a well-formed input the service will not answer.")
        })
        .response_with::<429, ApiError, _>(|r| {
            r.description("`RATE_LIMIT_EXCEEDED`: too many queued jobs; retry after `Retry-After` seconds.")
        })
        .response_with::<503, ApiError, _>(|r| r.description("`SERVICE_UNAVAILABLE`: the store is unavailable."))
}

/// `GET /v1/jobs/{id}`, optionally long-polling with `?wait=N`.
pub(crate) async fn get(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    JobIdParam(id): JobIdParam,
    WaitParam(wait): WaitParam,
) -> Result<Reply<JobView>, ApiError> {
    let deadline = Instant::now() + wait;
    let mut pause = POLL_START;
    loop {
        let job = ctx
            .api
            .store
            .get_job(tenant.id, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such job".into()))?;
        let now = Instant::now();
        if job.status.is_terminal() || now >= deadline {
            return Ok(Reply::ok(JobView::from(job)));
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(POLL_MAX);
    }
}

pub(crate) fn get_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getJob")
        .tag("jobs")
        .summary("Get a job")
        .description(
            "The job with its status, and its output or error once finished. With `?wait=N`, \
             waits up to N seconds for a terminal state (`succeeded`, `failed`, `cancelled`) and \
             then answers with the job as it is.",
        )
        .response_with::<200, Reply<JobView>, _>(|r| r.description("The job."))
        .response_with::<400, ApiError, _>(|r| {
            r.description("`VALIDATION_ERROR`: bad `wait` (field `wait`).")
        })
        .response_with::<404, ApiError, _>(|r| {
            r.description(
                "`NOT_FOUND`: no such job for this tenant (also for ids that are not UUIDs).",
            )
        })
}

/// `GET /v1/jobs`: newest first, cursor-paginated.
pub(crate) async fn list(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    ListParams(mut query): ListParams,
) -> Result<Reply<JobView>, ApiError> {
    let limit = query.limit;
    // One extra row tells whether another page exists, without a count.
    query.limit = limit + 1;
    let mut jobs = ctx.api.store.list_jobs(tenant.id, &query).await?;
    let more = jobs.len() > limit as usize;
    jobs.truncate(limit as usize);
    let next_cursor = if more {
        jobs.last().map(|job| encode_cursor(job.id))
    } else {
        None
    };
    let views = jobs.into_iter().map(JobView::from).collect();
    Ok(Reply::many(views, Some(Page { next_cursor, limit })))
}

pub(crate) fn list_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("listJobs")
        .tag("jobs")
        .summary("List jobs")
        .description(
            "The tenant's jobs, newest first, filtered by kind, status and creation time. Follow \
             `meta.page.next_cursor` (null on the last page) with `cursor` for the next page.",
        )
        .response_with::<200, Reply<JobView>, _>(|r| {
            r.description("A page of jobs; `meta.page` says how to continue.")
        })
        .response_with::<400, ApiError, _>(|r| {
            r.description(
                "`VALIDATION_ERROR`: a bad or unknown query parameter; `field` is its name.",
            )
        })
}

/// `POST /v1/jobs/{id}/cancel`.
pub(crate) async fn cancel(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    JobIdParam(id): JobIdParam,
) -> Result<Reply<JobView>, ApiError> {
    let job = ctx.api.store.cancel_job(tenant.id, id, Utc::now()).await?;
    tracing::info!(job_id = %job.id, "job cancelled");
    Ok(Reply::ok(JobView::from(job)))
}

pub(crate) fn cancel_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("cancelJob")
        .tag("jobs")
        .summary("Cancel a job")
        .description("Cancels a `queued` or `running` job; a running job's worker loses its lease.")
        .response_with::<200, Reply<JobView>, _>(|r| r.description("The cancelled job."))
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: no such job for this tenant.")
        })
        .response_with::<409, ApiError, _>(|r| {
            r.description("`CONFLICT`: the job already finished; `details.status` says how.")
        })
}
