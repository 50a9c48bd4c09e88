//! `/v1/jobs`: submit, read (with long-poll), list, cancel.
//!
//! A long poll (`?wait=N`, N > 0) waits on the process's job change feed, re-reading the job
//! only when the feed names it (plus a slow safety re-check), and holds one of the tenant's
//! stream slots (shared with event streams) while it waits. Lists are compact unless `include`
//! asks for the large parts, and a page is bounded in bytes as well as in items.

use std::time::Duration;

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use aide::transform::TransformOperation;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use schemars::JsonSchema;
use serde::Serialize;
use sparta_jobs::outbox::DeliveryRecord;
use sparta_jobs::view::{Included, JobView, instant};
use sparta_jobs::{Inserted, Job, JobId, ListQuery, TenantId};
use tokio::time::Instant;

use crate::auth::{Authenticated, Caller};
use crate::body::JsonBody;
use crate::context::AppCtx;
use crate::edge::CurrentRequestId;
use crate::envelope::{Page, Reply};
use crate::error::{ApiError, FieldIssue};
use crate::events::RECHECK;
use crate::params::{IdempotencyHeader, JobIdParam, ListParams, WaitParam, encode_cursor};
use crate::submission::{self, SubmitJobRequest};
use crate::{ApiConfig, batch, events};

/// The jobs resource: submit (one or a batch), list, read, cancel, retry, stream, deliveries.
pub(crate) fn routes(config: &ApiConfig) -> ApiRouter<AppCtx> {
    ApiRouter::new()
        .api_route(
            "/v1/jobs",
            post_with(submit, submit_docs).get_with(list, list_docs),
        )
        .api_route(
            batch::PATH,
            post_with(batch::submit_batch, batch::submit_batch_docs)
                .layer(DefaultBodyLimit::max(config.batch_body_limit_bytes)),
        )
        .api_route("/v1/jobs/{id}", get_with(get, get_docs))
        .api_route("/v1/jobs/{id}/cancel", post_with(cancel, cancel_docs))
        .api_route("/v1/jobs/{id}/retry", post_with(retry, retry_docs))
        .api_route(
            "/v1/jobs/{id}/events",
            get_with(events::events, events::events_docs),
        )
        .api_route(
            "/v1/jobs/{id}/deliveries",
            get_with(deliveries, deliveries_docs),
        )
}

/// `POST /v1/jobs`.
pub(crate) async fn submit(
    State(ctx): State<AppCtx>,
    caller: Caller,
    CurrentRequestId(request_id): CurrentRequestId,
    IdempotencyHeader(idempotency_key): IdempotencyHeader,
    JsonBody(bytes, ..): JsonBody<SubmitJobRequest>,
) -> Result<Reply<JobView>, ApiError> {
    let submission = submission::parse(&bytes, &ctx.api.config.destinations)?;
    let config = &ctx.api.config;
    let tenant = &caller.tenant;
    ctx.queued
        .admit_queued(
            ctx.api.store.as_ref(),
            tenant.id,
            config.max_queued_per_tenant,
        )
        .await?;

    let new_job = submission.into_new_job(
        tenant.id,
        idempotency_key,
        request_id,
        sparta_jobs::trace_context::traceparent(&tracing::Span::current()),
        config.default_max_attempts,
    )?;
    if !caller.acts_for(new_job.athlete_id.as_ref()) {
        return Err(ApiError::ForbiddenField(FieldIssue::at(
            "input.athlete.id",
            "an athlete's token submits jobs for that athlete only: `input.athlete.id` must be its `sub`",
        )));
    }
    // The row is committed (with those of concurrent requests) and announced before the
    // answer (DESIGN §3).
    match ctx.submits.submit(new_job).await? {
        Inserted::Created(job) => {
            crate::metrics::jobs_submitted(job.kind, 1);
            tracing::info!(job_id = %job.id, kind = %job.kind, "job accepted");
            Ok(Reply::with_status(StatusCode::ACCEPTED, JobView::from(job)))
        }
        Inserted::Replayed(job) => {
            tracing::info!(job_id = %job.id, "idempotent replay");
            Ok(Reply::ok(JobView::from(job)))
        }
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
    caller: Caller,
    JobIdParam(id): JobIdParam,
    WaitParam(wait): WaitParam,
) -> Result<Reply<JobView>, ApiError> {
    // Only a real long poll holds a slot; `wait=0` is a plain read.
    let _slot = if wait.is_zero() {
        None
    } else {
        Some(ctx.streams.acquire(
            caller.tenant.id,
            caller.athlete.as_ref(),
            ctx.api.config.max_streams_per_tenant,
        )?)
    };
    // An athlete's token does not wait on another athlete's job: checked before the wait.
    if caller.athlete.is_some() && !wait.is_zero() {
        caller.visible(wait_for_end(&ctx, caller.tenant.id, id, Duration::ZERO).await?)?;
    }
    let job = caller.visible(wait_for_end(&ctx, caller.tenant.id, id, wait).await?)?;
    Ok(Reply::ok(JobView::from(job)))
}

/// The job once terminal, or as it is after `wait`: re-read when the change feed names it (or
/// every [`RECHECK`] in case a notification was lost).
pub(crate) async fn wait_for_end(
    ctx: &AppCtx,
    tenant: TenantId,
    id: JobId,
    wait: Duration,
) -> Result<Job, ApiError> {
    let deadline = Instant::now() + wait;
    // Subscribed before the first read, so no change after it is missed.
    let mut changes = (!wait.is_zero()).then(|| ctx.api.changes.subscribe());
    loop {
        let job = ctx
            .api
            .store
            .get_job(tenant, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such job".into()))?;
        let now = Instant::now();
        let Some(changes) = changes.as_mut() else {
            return Ok(job);
        };
        if job.status.is_terminal() || now >= deadline {
            return Ok(job);
        }
        tokio::select! {
            () = changes.changed(id) => {}
            () = tokio::time::sleep(RECHECK.min(deadline - now)) => {}
        }
    }
}

/// `GET /v1/jobs/{id}/deliveries`.
pub(crate) async fn deliveries(
    State(ctx): State<AppCtx>,
    caller: Caller,
    JobIdParam(id): JobIdParam,
) -> Result<Reply<DeliveryView>, ApiError> {
    let tenant = caller.tenant.id;
    let job = ctx.api.store.get_job(tenant, id).await?;
    caller.visible(job.ok_or_else(|| ApiError::NotFound("no such job".into()))?)?;
    let records = ctx.api.store.job_deliveries(tenant, id).await?;
    Ok(Reply::many(
        records.into_iter().map(DeliveryView::from).collect(),
        None,
    ))
}

pub(crate) fn deliveries_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("listJobDeliveries")
        .tag("jobs")
        .summary("List a job's webhook deliveries")
        .description(
            "One entry per webhook event of the job (its `webhook-id`, type, status) with every \
             delivery attempt: when, how long, the receiver's status or the error. Pending events \
             show when the next attempt is due.",
        )
        .response_with::<200, Reply<DeliveryView>, _>(|r| {
            r.description("The job's events, oldest first.")
        })
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: no such job for this tenant.")
        })
}

/// A webhook event of a job and its attempts.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DeliveryView {
    /// The `webhook-id` header, the same on every attempt.
    pub id: String,
    /// `job.succeeded`, `job.failed` or `job.cancelled`.
    pub event: String,
    /// The destination.
    pub url: String,
    /// `pending` (attempts remain), `delivered` (a 2xx answer) or `failed` (given up).
    pub status: String,
    /// When the next attempt is due, while pending (RFC 3339).
    #[schemars(with = "Option<chrono::DateTime<Utc>>")]
    pub next_attempt_at: Option<String>,
    /// When the event was created: the job's end (RFC 3339).
    #[schemars(with = "chrono::DateTime<Utc>")]
    pub created_at: String,
    /// When it was delivered or given up (RFC 3339).
    #[schemars(with = "Option<chrono::DateTime<Utc>>")]
    pub finished_at: Option<String>,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptView>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AttemptView {
    /// 1 for the first.
    pub attempt: u32,
    /// When it started (RFC 3339).
    #[schemars(with = "chrono::DateTime<Utc>")]
    pub started_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(r: DeliveryRecord) -> Self {
        Self {
            id: r.id,
            event: r.event_type.as_str().to_owned(),
            url: r.url,
            status: r.status.as_str().to_owned(),
            next_attempt_at: r.next_attempt_at.map(instant),
            created_at: instant(r.created_at),
            finished_at: r.finished_at.map(instant),
            attempts: r
                .attempts
                .into_iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    started_at: instant(a.started_at),
                    duration_ms: a.duration_ms,
                    status_code: a.status_code,
                    error: a.error,
                })
                .collect(),
        }
    }
}

pub(crate) fn get_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getJob")
        .tag("jobs")
        .summary("Get a job")
        .description(
            "The job with its status, and its output or error once finished. With `?wait=N`, \
             waits up to N seconds for a terminal state (`succeeded`, `failed`, `cancelled`) and \
             then answers with the job as it is. A waiting request counts against the tenant's \
             open event streams and long polls (50 at once by default).",
        )
        .response_with::<200, Reply<JobView>, _>(|r| r.description("The job."))
        .response_with::<400, ApiError, _>(|r| {
            r.description("`VALIDATION_ERROR`: bad `wait` (field `wait`).")
        })
        .response_with::<429, ApiError, _>(|r| {
            r.description(
                "`RATE_LIMIT_EXCEEDED` (with `wait` > 0 only): the tenant already holds its \
                 maximum of open event streams and long polls; retry after `Retry-After` seconds.",
            )
        })
        .response_with::<404, ApiError, _>(|r| {
            r.description(
                "`NOT_FOUND`: no such job for this tenant (also for ids that are not UUIDs).",
            )
        })
}

/// `GET /v1/jobs`: newest first, cursor-paginated, compact unless `include` asks for more, at
/// most `list_max_bytes` of items per page.
pub(crate) async fn list(
    State(ctx): State<AppCtx>,
    caller: Caller,
    ListParams(mut query, included): ListParams,
) -> Result<Reply<JobView>, ApiError> {
    // An athlete's token lists that athlete's jobs only.
    query.athlete = caller.athlete;
    page(
        &ctx,
        Some(caller.tenant.id),
        query,
        included,
        JobView::listed,
    )
    .await
}

/// A page of one tenant's jobs (`None`: every tenant's), each shown by `view`, at most
/// `list_max_bytes` long, with the cursor of the next.
pub(crate) async fn page<V: Serialize>(
    ctx: &AppCtx,
    tenant: Option<TenantId>,
    mut query: ListQuery,
    included: Included,
    view: impl Fn(Job, Included) -> V,
) -> Result<Reply<V>, ApiError> {
    let limit = query.limit;
    // One extra row tells whether another page exists, without a count.
    query.limit = limit + 1;
    let jobs = ctx.api.store.list_jobs(tenant, &query).await?;
    let max_bytes = ctx.api.config.list_max_bytes;
    let mut views = Vec::with_capacity(jobs.len().min(limit as usize));
    let mut bytes = 0usize;
    let mut more = false;
    let mut last = None;
    for job in jobs {
        if views.len() == limit as usize {
            more = true;
            break;
        }
        let id = job.id;
        let view = view(job, included);
        let size = serde_json::to_vec(&view).map(|v| v.len()).unwrap_or(0);
        // Always at least one item, so a single huge job still pages.
        if !views.is_empty() && bytes + size > max_bytes {
            more = true;
            break;
        }
        bytes += size;
        last = Some(id);
        views.push(view);
    }
    let next_cursor = if more { last.map(encode_cursor) } else { None };
    Ok(Reply::many(views, Some(Page { next_cursor, limit })))
}

pub(crate) fn list_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("listJobs")
        .tag("jobs")
        .summary("List jobs")
        .description(
            "The tenant's jobs, newest first, filtered by kind, status and creation time. Follow \
             `meta.page.next_cursor` (null on the last page) with `cursor` for the next page. \
             Jobs are compact by default (status and metadata, without `input`, `output` and \
             `trace`); `include=input,output,trace` adds them. A page holds at most `limit` jobs \
             and at most the server's byte budget (1 MiB by default): it may end early, with a \
             `next_cursor`, but always holds at least one job.",
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
    caller: Caller,
    JobIdParam(id): JobIdParam,
) -> Result<Reply<JobView>, ApiError> {
    let tenant = caller.tenant.id;
    if caller.athlete.is_some() {
        // The athlete of a job never changes: checking it first leaves no gap.
        let job = ctx.api.store.get_job(tenant, id).await?;
        caller.visible(job.ok_or_else(|| ApiError::NotFound("no such job".into()))?)?;
    }
    let job = ctx.api.store.cancel_job(tenant, id, Utc::now()).await?;
    tracing::info!(job_id = %job.id, "job cancelled");
    Ok(Reply::ok(JobView::from(job)))
}

/// `POST /v1/jobs/{id}/retry`: a new attempt cycle for a failed job.
pub(crate) async fn retry(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    JobIdParam(id): JobIdParam,
) -> Result<Reply<JobView>, ApiError> {
    // Committed first; an announcement lost here is made by the reconciler.
    let job = sparta_jobs::submit::retry_one(
        ctx.api.store.as_ref(),
        ctx.api.queue.as_ref(),
        tenant.id,
        id,
        Utc::now(),
        ctx.api.config.announce_timeout,
    )
    .await?;
    tracing::info!(job_id = %job.id, "failed job queued again");
    Ok(Reply::with_status(StatusCode::ACCEPTED, JobView::from(job)))
}

pub(crate) fn retry_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("retryJob")
        .tag("jobs")
        .summary("Re-run a failed job")
        .description(
            "Queues a `failed` job again under the same id: its attempts start from 0, its error \
             and output are cleared, and its trace keeps every earlier attempt followed by an \
             entry `{\"event\": \"retried\", \"at\": …, \"after_attempts\": n}`. Usage (tokens, \
             cost) keeps adding up. A webhook fires again when it ends.",
        )
        .response_with::<202, Reply<JobView>, _>(|r| r.description("The job, queued again."))
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: no such job for this tenant.")
        })
        .response_with::<409, ApiError, _>(|r| {
            r.description(
                "`CONFLICT`: only a failed job can be retried; `details.status` says what it is.",
            )
        })
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
