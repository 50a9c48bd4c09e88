//! `/v1/admin/*`: the operator's controls over tenants and their API keys, behind the
//! operator's token ([`Operator`]; a tenant's key is 403).
//!
//! - `GET /v1/admin/tenants`, `POST /v1/admin/tenants` (its first key and webhook secret are
//!   shown once), `POST /v1/admin/tenants/{tenant_id}/disable` and `…/enable`;
//! - `GET /v1/admin/tenants/{tenant_id}/keys`, `POST /v1/admin/tenants/{tenant_id}/keys` (the key
//!   is shown once), `POST /v1/admin/tenants/{tenant_id}/keys/{key_id}/revoke`.
//!
//! Disabling a tenant or revoking a key holds on the next request on every API process: the
//! change moves the store's auth epoch, which empties every process's cache of key lookups.

use aide::transform::TransformOperation;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sparta_jobs::{
    ApiKey, ApiKeyId, ApiKeyRecord, KeyName, Tenant, TenantId, TenantName, WebhookSecret,
};

use crate::app::AppCtx;
use crate::auth::Operator;
use crate::body::JsonBody;
use crate::envelope::Reply;
use crate::error::{ApiError, FieldIssue};
use crate::params::{AdminKeyParams, AdminTenantParam};
use crate::submission::deserialize_object;

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
    pub name: String,
}

/// The body of `POST /v1/admin/tenants/{tenant_id}/keys`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKeyRequest {
    /// 1 to 64 printable ASCII characters without spaces, for people (`ci`, `mobile-app`).
    pub name: String,
    /// When the key stops working (RFC 3339, in the future); never when absent.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The tenant named by the path, or 404.
async fn tenant(ctx: &AppCtx, id: TenantId) -> Result<Tenant, ApiError> {
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
async fn set_disabled(ctx: &AppCtx, id: TenantId, disabled: bool) -> Result<TenantView, ApiError> {
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
    let name = KeyName::parse(request.name)
        .map_err(|e| ApiError::Validation(vec![FieldIssue::at("name", e.to_string())]))?;
    let now = Utc::now();
    if request.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::Validation(vec![FieldIssue::at(
            "expires_at",
            "must be in the future",
        )]));
    }
    let key = ApiKey::generate();
    let record = ctx
        .api
        .store
        .create_api_key(id, &name, &key.hash(), request.expires_at, now)
        .await
        .map_err(|e| match e {
            sparta_jobs::JobsError::NotFound => ApiError::NotFound("no such tenant".into()),
            other => other.into(),
        })?;
    tracing::info!(key = %record.id, name = %record.name, "API key created by the operator");
    let mut view = KeyView::from(record);
    view.key = Some(key.reveal().to_owned());
    Ok(Reply::with_status(StatusCode::CREATED, view))
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

async fn revoke(ctx: &AppCtx, tenant: TenantId, key: ApiKeyId) -> Result<ApiKeyRecord, ApiError> {
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
