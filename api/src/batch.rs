//! `POST /v1/jobs/batch`: up to 1,000 jobs in one request, stored by one statement and
//! announced in one round trip, answered per item.
//!
//! Each item is a submission (as `POST /v1/jobs` takes it) with its own `idempotency_key`. An
//! item is checked on its own: a refused one answers its errors, with field paths rooted at the
//! item (`jobs[3].input.athlete`), and never refuses the others. Only a body that is not a batch
//! at all (not JSON, no `jobs` array, too many items, too large) refuses the request.

use aide::transform::TransformOperation;
use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sparta_jobs::submit::submit_jobs;
use sparta_jobs::view::JobView;
use sparta_jobs::{IdempotencyKey, Inserted, NewJob};

use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::context::AppCtx;
use crate::edge::CurrentRequestId;
use crate::envelope::{ErrorItem, Reply};
use crate::error::{ApiError, FieldIssue};
use crate::limits::queued_cap_reached;
use crate::submission::{self, SubmitJobRequest};

/// The route.
pub(crate) const PATH: &str = "/v1/jobs/batch";
/// The most jobs one batch holds.
pub(crate) const MAX_ITEMS: usize = 1000;

/// A batch of job submissions.
// Documentation only: the handler reads items one by one (see `parse_items`), so that a bad
// item refuses itself alone.
#[derive(Debug, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)] // read by schemars only
pub(crate) struct BatchRequest {
    /// The jobs, 1 to 1,000.
    #[schemars(length(min = 1, max = 1000))]
    pub jobs: Vec<BatchJobRequest>,
}

/// One job of a batch: a submission, plus its idempotency key.
#[derive(Debug, JsonSchema)]
#[allow(dead_code)] // read by schemars only
pub(crate) struct BatchJobRequest {
    /// The submission, as `POST /v1/jobs` takes it.
    #[serde(flatten)]
    pub job: SubmitJobRequest,
    /// Makes this item safe to send again: the same key with the same item answers the
    /// original job (200); with another item, 409. Unique per tenant, shared with the
    /// `Idempotency-Key` header of single submissions.
    #[serde(default)]
    #[schemars(length(min = 1, max = 255), regex(pattern = "^[!-~]+$"))]
    pub idempotency_key: Option<String>,
}

/// What became of one item, at its position in the request.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct BatchItem {
    /// The item's own status: 202 stored and queued, 200 an idempotent replay (the original
    /// job), otherwise the status of its errors (400, 409, 422, 429).
    pub status: u16,
    /// The job, when the item was stored or replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobView>,
    /// Why the item was refused (empty when it was not), with field paths into the request.
    pub errors: Vec<ErrorItem>,
}

impl BatchItem {
    fn job(status: StatusCode, job: sparta_jobs::Job) -> Self {
        Self {
            status: status.as_u16(),
            job: Some(JobView::from(job)),
            errors: Vec::new(),
        }
    }

    fn refused(error: &ApiError) -> Self {
        Self {
            status: error.status().as_u16(),
            job: None,
            errors: error.items(),
        }
    }
}

/// `POST /v1/jobs/batch`.
pub(crate) async fn submit_batch(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
    CurrentRequestId(request_id): CurrentRequestId,
    JsonBody(bytes, ..): JsonBody<BatchRequest, true>,
) -> Result<Reply<BatchItem>, ApiError> {
    let config = &ctx.api.config;
    let items = parse_items(&bytes)?;
    let traceparent = sparta_jobs::trace_context::traceparent(&tracing::Span::current());
    let mut answers: Vec<Option<BatchItem>> = Vec::with_capacity(items.len());
    // The jobs to store, each with its position in the request.
    let mut jobs: Vec<(usize, NewJob)> = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let job = parse_item(item, &config.destinations).and_then(|(submission, key)| {
            submission.into_new_job(
                tenant.id,
                key,
                request_id.clone(),
                traceparent.clone(),
                config.default_max_attempts,
            )
        });
        match job {
            Ok(job) => {
                jobs.push((index, job));
                answers.push(None);
            }
            Err(error) => answers.push(Some(BatchItem::refused(
                &error.within(&format!("jobs[{index}]")),
            ))),
        }
    }
    let wanted = u64::try_from(jobs.len()).unwrap_or(u64::MAX);
    let admitted = ctx
        .queued
        .admit_up_to(tenant.id, config.max_queued_per_tenant, wanted, || {
            ctx.api.store.count_queued(tenant.id)
        })
        .await?;
    let admitted = usize::try_from(admitted).unwrap_or(usize::MAX);
    if admitted < jobs.len() {
        let full = queued_cap_reached(config.max_queued_per_tenant);
        for (index, _) in jobs.drain(admitted..) {
            answers[index] = Some(BatchItem::refused(&full));
        }
    }
    let (positions, jobs): (Vec<usize>, Vec<NewJob>) = jobs.into_iter().unzip();
    // The rows are committed before anything is announced or answered (DESIGN §3).
    let stored = submit_jobs(
        ctx.api.store.as_ref(),
        ctx.api.queue.as_ref(),
        &jobs,
        config.announce_timeout,
    )
    .await?;
    for (index, answer) in positions.into_iter().zip(stored) {
        answers[index] = Some(match answer {
            Ok(Inserted::Created(job)) => {
                crate::metrics::jobs_submitted(job.kind, 1);
                BatchItem::job(StatusCode::ACCEPTED, job)
            }
            Ok(Inserted::Replayed(job)) => BatchItem::job(StatusCode::OK, job),
            Err(error) => {
                BatchItem::refused(&ApiError::from(error).within(&format!("jobs[{index}]")))
            }
        });
    }
    let answers: Vec<BatchItem> = answers.into_iter().flatten().collect();
    let accepted = answers.iter().filter(|a| a.status == 202).count();
    tracing::info!(items = answers.len(), accepted, "job batch");
    Ok(Reply::many(answers, None))
}

/// The items of a batch body, each still raw JSON: the body must be `{"jobs": [...]}` with 1
/// to [`MAX_ITEMS`] items.
fn parse_items(bytes: &[u8]) -> Result<Vec<Value>, ApiError> {
    let mut body = crate::body::json_object(bytes, &["jobs"])?;
    let Some(object) = body.as_object_mut() else {
        return Err(ApiError::invalid_body("the body must be a JSON object"));
    };
    if let Some(unknown) = object.keys().find(|k| k.as_str() != "jobs") {
        return Err(ApiError::Validation(vec![
            FieldIssue::at(
                unknown.clone(),
                format!("unknown field `{unknown}` (check the spelling)"),
            )
            .with_details(json!({ "allowed_fields": ["jobs"] })),
        ]));
    }
    let items = match object.remove("jobs") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::invalid("jobs", "`jobs` must be an array of jobs")),
        None => {
            return Err(ApiError::invalid(
                "jobs",
                "required field `jobs` is missing",
            ));
        }
    };
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Err(ApiError::Validation(vec![
            FieldIssue::at(
                "jobs",
                format!("a batch holds 1 to {MAX_ITEMS} jobs, not {}", items.len()),
            )
            .with_details(json!({ "minItems": 1, "maxItems": MAX_ITEMS })),
        ]));
    }
    Ok(items)
}

/// One item: its submission and idempotency key, or why it is refused (paths relative to it).
fn parse_item(
    mut item: Value,
    destinations: &sparta_jobs::destination::DestinationPolicy,
) -> Result<(submission::Submission, Option<IdempotencyKey>), ApiError> {
    let key = match item
        .as_object_mut()
        .and_then(|o| o.remove("idempotency_key"))
    {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) => Some(IdempotencyKey::parse(key).map_err(|_| {
            ApiError::Validation(vec![
                FieldIssue::at(
                    "idempotency_key",
                    "idempotency_key must be 1 to 255 printable ASCII characters without spaces",
                )
                .with_details(json!({ "minLength": 1, "maxLength": 255 })),
            ])
        })?),
        Some(_) => {
            return Err(ApiError::invalid(
                "idempotency_key",
                "idempotency_key must be a string",
            ));
        }
    };
    if !item.is_object() {
        return Err(ApiError::invalid_body(
            "each job must be a JSON object like the body of POST /v1/jobs",
        ));
    }
    Ok((submission::parse_value(item, destinations)?, key))
}

pub(crate) fn submit_batch_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("submitJobBatch")
        .tag("jobs")
        .summary("Submit up to 1,000 jobs at once")
        .description(
            "Each item is checked like the body of `POST /v1/jobs` and answered on its own, at its \
             position in `data`: `status` 202 with the new job, 200 with the original job of a \
             replayed `idempotency_key`, or the status of its `errors` (field paths start at the \
             item: `jobs[3].input.athlete`). A refused item never refuses the others. The jobs \
             that are accepted are committed together before the answer. The body may be up to \
             `api.batch_body_limit_bytes` (16 MiB).",
        )
        .response_with::<200, Reply<BatchItem>, _>(|r| {
            r.description("The batch was read: one answer per item, in order.")
        })
        .response_with::<400, ApiError, _>(|r| {
            r.description("`VALIDATION_ERROR`: not JSON, no `jobs` array, or not 1 to 1,000 items.")
        })
        .response_with::<413, ApiError, _>(|r| {
            r.description("`PAYLOAD_TOO_LARGE`: the body exceeds the batch limit.")
        })
        .response_with::<415, ApiError, _>(|r| {
            r.description("`UNSUPPORTED_MEDIA_TYPE`: the body is not sent as `application/json`.")
        })
        .response_with::<503, ApiError, _>(|r| {
            r.description("`SERVICE_UNAVAILABLE`: the store is unavailable.")
        })
}
