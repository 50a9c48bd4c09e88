//! API keys and disabled tenants: what authenticates a request, and the operator's controls
//! over it (several named keys per tenant, revocation, expiry, disabling a tenant). What both
//! stores share is written here: the columns, the row decoding, and the refusal of an unknown
//! key or tenant.
//!
//! Whoever caches key lookups (the API) keys its cache on [`crate::change_feed::ChangeFeed::auth_epoch`],
//! which every change here moves: with Postgres through a trigger's notification to every
//! process, with SQLite (one process) directly.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ColumnReader, checked, required, tenant_from};
use crate::JobsError;
use crate::api_key::ApiKeyHash;
use crate::model::{ApiKeyId, ApiKeyRecord, KeyName, Tenant, TenantId};

/// The columns of an API key as listed.
pub(super) const KEY_COLUMNS: &str =
    "id, tenant_id, name, created_at, last_used_at, expires_at, revoked_at";

/// Decodes a row of [`KEY_COLUMNS`].
pub(super) fn key_from(row: &impl ColumnReader) -> Result<ApiKeyRecord, JobsError> {
    Ok(ApiKeyRecord {
        id: ApiKeyId::from_uuid(row.uuid("id")?),
        tenant_id: TenantId::from_uuid(row.uuid("tenant_id")?),
        name: required(checked(row.text("name")?, KeyName::parse)?, "name")?,
        created_at: required(row.instant("created_at")?, "created_at")?,
        last_used_at: row.instant("last_used_at")?,
        expires_at: row.instant("expires_at")?,
        revoked_at: row.instant("revoked_at")?,
    })
}

/// Decodes the owner of a key: the tenant's columns plus `key_id` and `key_expires_at`.
pub(super) fn owner_from(row: &impl ColumnReader) -> Result<KeyOwner, JobsError> {
    Ok(KeyOwner {
        tenant: tenant_from(row)?,
        key: ApiKeyId::from_uuid(row.uuid("key_id")?),
        expires_at: row.instant("key_expires_at")?,
    })
}

/// The tenant a key authenticates, and what a cache needs to know of the key.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyOwner {
    /// The tenant (possibly disabled: the caller refuses it with 403).
    pub tenant: Tenant,
    /// The key's id.
    pub key: ApiKeyId,
    /// When the key stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The store's side of API keys and disabled tenants.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// The owner of the key with this hash if it is neither revoked nor expired at `now`, and
    /// notes that it was used at `now`.
    async fn key_owner(
        &self,
        hash: &ApiKeyHash,
        now: DateTime<Utc>,
    ) -> Result<Option<KeyOwner>, JobsError>;

    /// Adds a key to a tenant (`NotFound` for an unknown tenant).
    async fn create_api_key(
        &self,
        tenant: TenantId,
        name: &KeyName,
        hash: &ApiKeyHash,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<ApiKeyRecord, JobsError>;

    /// A tenant's keys, oldest first, revoked ones included.
    async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyRecord>, JobsError>;

    /// Revokes a tenant's key at `now` (a revoked key stays revoked as it was); `NotFound` for
    /// a key that is not the tenant's.
    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        key: ApiKeyId,
        now: DateTime<Utc>,
    ) -> Result<ApiKeyRecord, JobsError>;

    /// Disables a tenant at `now` (its keys answer 403), or enables it again.
    async fn set_tenant_disabled(
        &self,
        tenant: TenantId,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<Tenant, JobsError>;
}
