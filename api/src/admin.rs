//! `/v1/admin/*`: the operator's controls over tenants and their API keys, behind the
//! operator's token ([`Operator`]; a tenant's key is 403).
//!
//! - `GET /v1/admin/tenants`, `POST /v1/admin/tenants` (its first key and webhook secret are
//!   shown once), `POST /v1/admin/tenants/{tenant_id}/disable` and `…/enable`;
//! - `GET /v1/admin/tenants/{tenant_id}/keys`, `POST /v1/admin/tenants/{tenant_id}/keys` (the key
//!   is shown once), `POST /v1/admin/tenants/{tenant_id}/keys/{key_id}/revoke`;
//! - `GET /v1/admin/jobs` (every tenant's, the tenant's list filters plus `tenant_id`),
//!   `GET /v1/admin/jobs/{id}`, `POST /v1/admin/jobs/{id}/retry` (a failed job, as its tenant
//!   would), and `POST /v1/admin/jobs/retry-failed` (every failed job matching a filter, up to
//!   1,000 a call);
//! - `GET /v1/admin/breakers`, `PUT|DELETE /v1/admin/breakers/{model}`: a model's circuit breaker
//!   forced open or closed in every worker (applied at each reconciliation tick) until lifted.
//!
//! Disabling a tenant or revoking a key holds on the next request on every API process: the
//! change moves the store's auth epoch, which empties every process's cache of key lookups.

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with, put_with};
use aide::transform::TransformOperation;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sparta_jobs::view::JobView;
use sparta_jobs::{
    ApiKey, ApiKeyId, ApiKeyRecord, Job, JobId, KeyName, Tenant, TenantId, TenantName,
    WebhookSecret,
};

use crate::auth::Operator;
use crate::body::JsonBody;
use crate::body::deserialize_object;
use crate::context::AppCtx;
use crate::envelope::Reply;
use crate::error::{ApiError, FieldIssue};
use crate::params::{AdminKeyParams, AdminListParams, AdminTenantParam, JobIdParam, ModelParam};

/// The operator's resource (`/v1/admin/*`), behind the operator's token.
pub(crate) fn routes() -> ApiRouter<AppCtx> {
    ApiRouter::new()
        .api_route(
            "/v1/admin/tenants",
            get_with(list_tenants, list_tenants_docs).post_with(create_tenant, create_tenant_docs),
        )
        .api_route(
            "/v1/admin/tenants/{tenant_id}/disable",
            post_with(disable_tenant, disable_tenant_docs),
        )
        .api_route(
            "/v1/admin/tenants/{tenant_id}/enable",
            post_with(enable_tenant, enable_tenant_docs),
        )
        .api_route(
            "/v1/admin/tenants/{tenant_id}/keys",
            get_with(list_keys, list_keys_docs).post_with(create_key, create_key_docs),
        )
        .api_route(
            "/v1/admin/tenants/{tenant_id}/keys/{key_id}/revoke",
            post_with(revoke_key, revoke_key_docs),
        )
        .api_route("/v1/admin/jobs", get_with(list_jobs, list_jobs_docs))
        .api_route(
            "/v1/admin/jobs/retry-failed",
            post_with(retry_failed, retry_failed_docs),
        )
        .api_route("/v1/admin/jobs/{id}", get_with(get_job, get_job_docs))
        .api_route(
            "/v1/admin/jobs/{id}/retry",
            post_with(retry_job, retry_job_docs),
        )
        .api_route(
            "/v1/admin/breakers",
            get_with(list_breakers, list_breakers_docs),
        )
        .api_route(
            "/v1/admin/breakers/{model}",
            put_with(force_breaker, force_breaker_docs)
                .delete_with(lift_breaker, lift_breaker_docs),
        )
        .merge(crate::token_verifier::routes())
}

/// A tenant, as the operator sees it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct TenantView {
    /// Its id.
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Since when its keys are refused (403), if it is disabled.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.as_str().to_owned(),
            created_at: t.created_at,
            disabled_at: t.disabled_at,
        }
    }
}

/// A new tenant, with what is shown only now.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct NewTenantView {
    /// The tenant.
    pub tenant: TenantView,
    /// Its first API key (named `default`): shown once, stored only as a hash.
    pub api_key: String,
    /// Its webhook signing secret: shown once.
    pub webhook_secret: String,
}

/// An API key (never the key itself, except once in the answer that creates it).
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct KeyView {
    /// Its id.
    pub id: String,
    /// The tenant it authenticates.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request (noted at most every 30 s per API process).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key: only in the answer that creates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl From<ApiKeyRecord> for KeyView {
    fn from(k: ApiKeyRecord) -> Self {
        Self {
            id: k.id.to_string(),
            tenant_id: k.tenant_id.to_string(),
            name: k.name.as_str().to_owned(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            key: None,
        }
    }
}

/// The body of `POST /v1/admin/tenants`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenantRequest {
    /// Letters, digits, `-`, `_` and `.`.
    #[schemars(length(min = 1, max = 100), regex(pattern = "^[A-Za-z0-9._-]+$"))]
    pub name: String,
}

/// The body of `POST /v1/admin/tenants/{tenant_id}/keys`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKeyRequest {
    /// 1 to 64 printable ASCII characters without spaces, for people (`ci`, `mobile-app`).
    #[schemars(length(min = 1, max = 64), regex(pattern = "^[!-~]+$"))]
    pub name: String,
    /// When the key stops working (RFC 3339, in the future); never when absent.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The tenant named by the path, or 404.
pub(crate) async fn tenant(ctx: &AppCtx, id: TenantId) -> Result<Tenant, ApiError> {
    ctx.api
        .store
        .list_tenants()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::NotFound("no such tenant".into()))
}

/// `GET /v1/admin/tenants`.
pub(crate) async fn list_tenants(
    State(ctx): State<AppCtx>,
    _: Operator,
) -> Result<Reply<TenantView>, ApiError> {
    let tenants = ctx.api.store.list_tenants().await?;
    Ok(Reply::many(
        tenants.into_iter().map(TenantView::from).collect(),
        None,
    ))
}

pub(crate) fn list_tenants_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminListTenants")
        .tag("admin")
        .summary("List tenants (operator)")
        .response_with::<200, Reply<TenantView>, _>(|r| {
            r.description("Every tenant, oldest first.")
        })
}

/// `POST /v1/admin/tenants`.
pub(crate) async fn create_tenant(
    State(ctx): State<AppCtx>,
    _: Operator,
    JsonBody(bytes, _): JsonBody<NewTenantRequest>,
) -> Result<Reply<NewTenantView>, ApiError> {
    let request: NewTenantRequest = deserialize_object(&bytes, &["name"])?;
    let name = TenantName::parse(request.name)
        .map_err(|e| ApiError::Validation(vec![FieldIssue::at("name", e.to_string())]))?;
    let key = ApiKey::generate();
    let secret = WebhookSecret::generate();
    let tenant = ctx
        .api
        .store
        .create_tenant(&name, &key.hash(), &secret)
        .await?;
    tracing::info!(tenant = %tenant.name, "tenant created by the operator");
    Ok(Reply::with_status(
        StatusCode::CREATED,
        NewTenantView {
            tenant: tenant.into(),
            api_key: key.reveal().to_owned(),
            webhook_secret: secret.reveal(),
        },
    ))
}

pub(crate) fn create_tenant_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminCreateTenant")
        .tag("admin")
        .summary("Create a tenant (operator)")
        .description("Its first API key (named `default`) and its webhook signing secret are in this answer only.")
        .response_with::<201, Reply<NewTenantView>, _>(|r| r.description("The tenant, its key and secret."))
        .response_with::<409, ApiError, _>(|r| r.description("`CONFLICT`: the name is taken."))
}

/// `POST /v1/admin/tenants/{tenant_id}/disable` and `…/enable`.
/// Disables or enables a tenant (the admin route and the console).
pub(crate) async fn set_disabled(
    ctx: &AppCtx,
    id: TenantId,
    disabled: bool,
) -> Result<TenantView, ApiError> {
    let tenant = ctx
        .api
        .store
        .set_tenant_disabled(id, disabled, Utc::now())
        .await
        .map_err(|e| match e {
            sparta_jobs::JobsError::NotFound => ApiError::NotFound("no such tenant".into()),
            other => other.into(),
        })?;
    tracing::info!(tenant = %tenant.name, disabled, "tenant access changed by the operator");
    Ok(tenant.into())
}

/// `POST /v1/admin/tenants/{tenant_id}/disable`.
pub(crate) async fn disable_tenant(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(id): AdminTenantParam,
) -> Result<Reply<TenantView>, ApiError> {
    Ok(Reply::ok(set_disabled(&ctx, id, true).await?))
}

pub(crate) fn disable_tenant_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminDisableTenant")
        .tag("admin")
        .summary("Disable a tenant (operator)")
        .description("Its keys answer 403 from the next request on, on every API process; its jobs stay as they are.")
        .response_with::<200, Reply<TenantView>, _>(|r| r.description("The tenant, disabled."))
        .response_with::<404, ApiError, _>(|r| r.description("`NOT_FOUND`: no such tenant."))
}

/// `POST /v1/admin/tenants/{tenant_id}/enable`.
pub(crate) async fn enable_tenant(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(id): AdminTenantParam,
) -> Result<Reply<TenantView>, ApiError> {
    Ok(Reply::ok(set_disabled(&ctx, id, false).await?))
}

pub(crate) fn enable_tenant_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminEnableTenant")
        .tag("admin")
        .summary("Enable a disabled tenant (operator)")
        .response_with::<200, Reply<TenantView>, _>(|r| r.description("The tenant, enabled."))
        .response_with::<404, ApiError, _>(|r| r.description("`NOT_FOUND`: no such tenant."))
}

/// `GET /v1/admin/tenants/{tenant_id}/keys`.
pub(crate) async fn list_keys(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(id): AdminTenantParam,
) -> Result<Reply<KeyView>, ApiError> {
    tenant(&ctx, id).await?;
    let keys = ctx.api.store.list_api_keys(id).await?;
    Ok(Reply::many(
        keys.into_iter().map(KeyView::from).collect(),
        None,
    ))
}

pub(crate) fn list_keys_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminListKeys")
        .tag("admin")
        .summary("List a tenant's API keys (operator)")
        .response_with::<200, Reply<KeyView>, _>(|r| {
            r.description("Its keys, oldest first, revoked ones included.")
        })
        .response_with::<404, ApiError, _>(|r| r.description("`NOT_FOUND`: no such tenant."))
}

/// `POST /v1/admin/tenants/{tenant_id}/keys`.
pub(crate) async fn create_key(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(id): AdminTenantParam,
    JsonBody(bytes, _): JsonBody<NewKeyRequest>,
) -> Result<Reply<KeyView>, ApiError> {
    let request: NewKeyRequest = deserialize_object(&bytes, &["name", "expires_at"])?;
    let view = new_key(&ctx, id, request.name, request.expires_at).await?;
    Ok(Reply::with_status(StatusCode::CREATED, view))
}

/// Creates a key for a tenant; the view holds the key, shown this once (the admin route and the
/// console).
pub(crate) async fn new_key(
    ctx: &AppCtx,
    tenant: TenantId,
    name: String,
    expires_at: Option<DateTime<Utc>>,
) -> Result<KeyView, ApiError> {
    let name = KeyName::parse(name)
        .map_err(|e| ApiError::Validation(vec![FieldIssue::at("name", e.to_string())]))?;
    let now = Utc::now();
    // Well-formed but already past: a rule about the time of the request, not the shape.
    if expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::BusinessRule(vec![FieldIssue::at(
            "expires_at",
            "must be in the future",
        )]));
    }
    let key = ApiKey::generate();
    let record = ctx
        .api
        .store
        .create_api_key(tenant, &name, &key.hash(), expires_at, now)
        .await
        .map_err(|e| match e {
            sparta_jobs::JobsError::NotFound => ApiError::NotFound("no such tenant".into()),
            other => other.into(),
        })?;
    tracing::info!(key = %record.id, name = %record.name, "API key created by the operator");
    let mut view = KeyView::from(record);
    view.key = Some(key.reveal().to_owned());
    Ok(view)
}

pub(crate) fn create_key_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminCreateKey")
        .tag("admin")
        .summary("Create an API key for a tenant (operator)")
        .description("The key is in this answer only (`key`); the store keeps its hash.")
        .response_with::<201, Reply<KeyView>, _>(|r| {
            r.description("The key, with `key` shown once.")
        })
        .response_with::<404, ApiError, _>(|r| r.description("`NOT_FOUND`: no such tenant."))
        .response_with::<422, ApiError, _>(|r| {
            r.description("`BUSINESS_RULE_VIOLATION`: `expires_at` is not in the future.")
        })
}

/// `POST /v1/admin/tenants/{tenant_id}/keys/{key_id}/revoke`.
pub(crate) async fn revoke_key(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminKeyParams(tenant, key): AdminKeyParams,
) -> Result<Reply<KeyView>, ApiError> {
    let record = revoke(&ctx, tenant, key).await?;
    Ok(Reply::ok(record.into()))
}

/// Revokes a tenant's key (the admin route and the console).
pub(crate) async fn revoke(
    ctx: &AppCtx,
    tenant: TenantId,
    key: ApiKeyId,
) -> Result<ApiKeyRecord, ApiError> {
    let record = ctx
        .api
        .store
        .revoke_api_key(tenant, key, Utc::now())
        .await
        .map_err(|e| match e {
            sparta_jobs::JobsError::NotFound => {
                ApiError::NotFound("no such key for this tenant".into())
            }
            other => other.into(),
        })?;
    tracing::info!(key = %record.id, "API key revoked by the operator");
    Ok(record)
}

pub(crate) fn revoke_key_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminRevokeKey")
        .tag("admin")
        .summary("Revoke an API key (operator)")
        .description("It answers 401 from the next request on, on every API process. Revoking it again changes nothing.")
        .response_with::<200, Reply<KeyView>, _>(|r| r.description("The key, revoked."))
        .response_with::<404, ApiError, _>(|r| r.description("`NOT_FOUND`: no such key for this tenant."))
}

/// A job as the operator sees it: the tenant's view and whose it is.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct AdminJobView {
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// The job, as its tenant sees it.
    #[serde(flatten)]
    pub job: JobView,
}

impl AdminJobView {
    fn listed(job: Job, included: sparta_jobs::view::Included) -> Self {
        Self {
            tenant_id: job.tenant_id.to_string(),
            job: JobView::listed(job, included),
        }
    }
}

impl From<Job> for AdminJobView {
    fn from(job: Job) -> Self {
        Self {
            tenant_id: job.tenant_id.to_string(),
            job: JobView::from(job),
        }
    }
}

/// `GET /v1/admin/jobs`.
pub(crate) async fn list_jobs(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminListParams(tenant, query, included): AdminListParams,
) -> Result<Reply<AdminJobView>, ApiError> {
    crate::jobs::page(&ctx, tenant, query, included, AdminJobView::listed).await
}

pub(crate) fn list_jobs_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminListJobs")
        .tag("admin")
        .summary("List every tenant's jobs (operator)")
        .description("The tenant's list, across tenants: the same filters, pages and `include`, and `tenant_id`. Failed jobs (`status=failed`) are the dead ones: retry them one by one or with `retry-failed`.")
        .response_with::<200, Reply<AdminJobView>, _>(|r| r.description("A page of jobs, newest first, each with its `tenant_id`."))
}

/// A job of any tenant, or 404.
pub(crate) async fn any_job(ctx: &AppCtx, id: JobId) -> Result<Job, ApiError> {
    ctx.api
        .store
        .find_job(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such job".into()))
}

/// `GET /v1/admin/jobs/{id}`.
pub(crate) async fn get_job(
    State(ctx): State<AppCtx>,
    _: Operator,
    JobIdParam(id): JobIdParam,
) -> Result<Reply<AdminJobView>, ApiError> {
    Ok(Reply::ok(AdminJobView::from(any_job(&ctx, id).await?)))
}

pub(crate) fn get_job_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminGetJob")
        .tag("admin")
        .summary("Show any tenant's job (operator)")
        .response_with::<200, Reply<AdminJobView>, _>(|r| {
            r.description("The job, with its `tenant_id`.")
        })
        .response_with::<404, ApiError, _>(|r| r.description("`NOT_FOUND`: no such job."))
}

/// Queues any tenant's failed job again, as `POST /v1/jobs/{id}/retry` does for its tenant (the
/// admin route and the console).
pub(crate) async fn retry_any(ctx: &AppCtx, job: &Job) -> Result<Job, ApiError> {
    let retried = sparta_jobs::submit::retry_one(
        ctx.api.store.as_ref(),
        ctx.api.queue.as_ref(),
        job.tenant_id,
        job.id,
        Utc::now(),
        ctx.api.config.announce_timeout,
    )
    .await?;
    tracing::info!(job_id = %retried.id, "failed job queued again by the operator");
    Ok(retried)
}

/// `POST /v1/admin/jobs/{id}/retry`.
pub(crate) async fn retry_job(
    State(ctx): State<AppCtx>,
    _: Operator,
    JobIdParam(id): JobIdParam,
) -> Result<Reply<JobView>, ApiError> {
    let retried = retry_any(&ctx, &any_job(&ctx, id).await?).await?;
    Ok(Reply::with_status(
        StatusCode::ACCEPTED,
        JobView::from(retried),
    ))
}

pub(crate) fn retry_job_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminRetryJob")
        .tag("admin")
        .summary("Re-run any tenant's failed job (operator)")
        .response_with::<202, Reply<AdminJobView>, _>(|r| r.description("The job, queued again."))
        .response_with::<404, ApiError, _>(|r| r.description("`NOT_FOUND`: no such job."))
        .response_with::<409, ApiError, _>(|r| r.description("`CONFLICT`: the job is not failed."))
}

/// The body of `POST /v1/admin/jobs/retry-failed`: which failed jobs.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetryFailedRequest {
    /// Only this tenant's.
    #[serde(default)]
    #[schemars(with = "Option<uuid::Uuid>")]
    pub tenant_id: Option<String>,
    /// Only this kind's.
    #[serde(default)]
    pub kind: Option<sparta_coach::JobKind>,
    /// Only jobs created at or after this instant.
    #[serde(default)]
    pub created_from: Option<DateTime<Utc>>,
    /// Only jobs created before this instant.
    #[serde(default)]
    pub created_to: Option<DateTime<Utc>>,
    /// At most this many (1 to 1,000; default 1,000). Call again for more.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
}

/// What `retry-failed` did.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct RetriedFailed {
    /// The jobs queued again.
    pub retried: Vec<String>,
    /// Whether more failed jobs match (call again).
    pub more: bool,
}

/// `POST /v1/admin/jobs/retry-failed`.
pub(crate) async fn retry_failed(
    State(ctx): State<AppCtx>,
    _: Operator,
    JsonBody(bytes, _): JsonBody<RetryFailedRequest>,
) -> Result<Reply<RetriedFailed>, ApiError> {
    const FIELDS: [&str; 5] = ["tenant_id", "kind", "created_from", "created_to", "limit"];
    let request: RetryFailedRequest = deserialize_object(&bytes, &FIELDS)?;
    let tenant: Option<TenantId> = match &request.tenant_id {
        Some(raw) => Some(raw.parse().map_err(|_| {
            ApiError::Validation(vec![FieldIssue::at("tenant_id", "tenant_id is not a UUID")])
        })?),
        None => None,
    };
    let limit = request.limit.unwrap_or(1000);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation(vec![FieldIssue::at(
            "limit",
            "limit must be a whole number from 1 to 1000",
        )]));
    }
    let query = sparta_jobs::ListQuery {
        kind: request.kind,
        status: Some(sparta_jobs::JobStatus::Failed),
        created_from: request.created_from,
        created_to: request.created_to,
        limit: limit + 1,
        ..sparta_jobs::ListQuery::default()
    };
    let mut failed = ctx.api.store.list_jobs(tenant, &query).await?;
    let more = failed.len() > limit as usize;
    failed.truncate(limit as usize);
    let targets: Vec<(TenantId, JobId)> = failed.iter().map(|j| (j.tenant_id, j.id)).collect();
    // One announcement for all of them.
    let answers = sparta_jobs::submit::retry_jobs(
        ctx.api.store.as_ref(),
        ctx.api.queue.as_ref(),
        &targets,
        Utc::now(),
        ctx.api.config.announce_timeout,
    )
    .await;
    let mut retried = Vec::with_capacity(answers.len());
    for answer in answers {
        match answer {
            Ok(job) => retried.push(job.id.to_string()),
            // Retried (or cancelled) meanwhile by someone else: not this call's.
            Err(sparta_jobs::JobsError::InvalidTransition { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    tracing::info!(
        retried = retried.len(),
        more,
        "failed jobs queued again by the operator"
    );
    Ok(Reply::ok(RetriedFailed { retried, more }))
}

pub(crate) fn retry_failed_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminRetryFailedJobs")
        .tag("admin")
        .summary("Re-run every failed job matching a filter (operator)")
        .description("Each under its own id, as `retry` does; newest first, up to `limit` (1,000) a call; `more` says whether to call again.")
        .response_with::<200, Reply<RetriedFailed>, _>(|r| r.description("The jobs queued again."))
}

/// A breaker override, as the operator sees it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct BreakerOverrideView {
    /// The model's name in the chains.
    pub model: String,
    /// `open` (every call skipped) or `closed` (every call made).
    pub state: &'static str,
    /// Why, for the next operator.
    pub reason: Option<String>,
    /// When it was set.
    pub set_at: DateTime<Utc>,
}

impl From<sparta_jobs::store::BreakerOverride> for BreakerOverrideView {
    fn from(o: sparta_jobs::store::BreakerOverride) -> Self {
        Self {
            model: o.model,
            state: if o.open { "open" } else { "closed" },
            reason: o.reason,
            set_at: o.set_at,
        }
    }
}

/// The body of `PUT /v1/admin/breakers/{model}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BreakerOverrideRequest {
    /// `open`: skip the model on every job; `closed`: call it whatever its failures.
    pub state: ForcedState,
    /// Why (shown to the next operator).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A forced breaker state.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ForcedState {
    /// Every call skipped.
    Open,
    /// Every call made.
    Closed,
}

/// `GET /v1/admin/breakers`.
pub(crate) async fn list_breakers(
    State(ctx): State<AppCtx>,
    _: Operator,
) -> Result<Reply<BreakerOverrideView>, ApiError> {
    let overrides = ctx.api.store.breaker_overrides().await?;
    Ok(Reply::many(
        overrides
            .into_iter()
            .map(BreakerOverrideView::from)
            .collect(),
        None,
    ))
}

pub(crate) fn list_breakers_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminListBreakerOverrides")
        .tag("admin")
        .summary("List the breaker overrides (operator)")
        .description("The models forced open or closed. Each worker's live breaker states are in its `/readyz` (at `worker.metrics_listen`) and in `sparta_llm_breaker_state`.")
        .response_with::<200, Reply<BreakerOverrideView>, _>(|r| r.description("Every override, by model."))
}

/// `PUT /v1/admin/breakers/{model}`.
pub(crate) async fn force_breaker(
    State(ctx): State<AppCtx>,
    _: Operator,
    ModelParam(model): ModelParam,
    JsonBody(bytes, _): JsonBody<BreakerOverrideRequest>,
) -> Result<Reply<BreakerOverrideView>, ApiError> {
    let request: BreakerOverrideRequest = deserialize_object(&bytes, &["state", "reason"])?;
    let open = request.state == ForcedState::Open;
    Ok(Reply::ok(
        force(&ctx, &model, open, request.reason.as_deref()).await?,
    ))
}

/// Forces a model's breaker open or closed in every worker (the admin route and the console);
/// the builtin engine is never forced open.
pub(crate) async fn force(
    ctx: &AppCtx,
    model: &str,
    open: bool,
    reason: Option<&str>,
) -> Result<BreakerOverrideView, ApiError> {
    if model == BUILTIN_MODEL && open {
        return Err(ApiError::Validation(vec![FieldIssue::at(
            "state",
            "the builtin engine cannot be forced open: it is every chain's last resort",
        )]));
    }
    let store = &ctx.api.store;
    store
        .set_breaker_override(model, Some(open), reason, Utc::now())
        .await?;
    tracing::warn!(model, open, reason, "breaker forced by the operator");
    store
        .breaker_overrides()
        .await?
        .into_iter()
        .find(|o| o.model == model)
        .map(BreakerOverrideView::from)
        .ok_or_else(|| ApiError::Internal("the override just set is missing".into()))
}

/// Lifts a model's breaker override (the admin route and the console); 404 without one.
pub(crate) async fn lift(ctx: &AppCtx, model: &str) -> Result<(), ApiError> {
    let lifted = ctx
        .api
        .store
        .set_breaker_override(model, None, None, Utc::now())
        .await?;
    if !lifted {
        return Err(ApiError::NotFound(format!(
            "no override for model '{model}'"
        )));
    }
    tracing::warn!(model, "breaker override lifted by the operator");
    Ok(())
}

/// The engine's model name, `sparta_ai::BUILTIN` (the API does not depend on the AI crate).
pub(crate) const BUILTIN_MODEL: &str = "builtin";

pub(crate) fn force_breaker_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminForceBreaker")
        .tag("admin")
        .summary("Force a model's breaker open or closed (operator)")
        .description("Every worker applies it within one reconciliation tick (`worker.reconcile_every_ms`, 1 s by default) until it is lifted with DELETE. `builtin` can be forced closed, never open.")
        .response_with::<200, Reply<BreakerOverrideView>, _>(|r| r.description("The override."))
}

/// `DELETE /v1/admin/breakers/{model}`.
pub(crate) async fn lift_breaker(
    State(ctx): State<AppCtx>,
    _: Operator,
    ModelParam(model): ModelParam,
) -> Result<Reply<BreakerOverrideView>, ApiError> {
    lift(&ctx, &model).await?;
    Ok(Reply::many(Vec::new(), None))
}

pub(crate) fn lift_breaker_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminLiftBreaker")
        .tag("admin")
        .summary("Lift a model's breaker override (operator)")
        .description("The model's breaker counts its calls again, starting closed.")
        .response_with::<200, Reply<BreakerOverrideView>, _>(|r| r.description("Lifted (no data)."))
        .response_with::<404, ApiError, _>(|r| {
            r.description("`NOT_FOUND`: no override for this model.")
        })
}
