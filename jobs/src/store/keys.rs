//! API keys and disabled tenants: what authenticates a request, and the operator's controls
//! over it (several named keys per tenant, revocation, expiry, disabling a tenant). Written once
//! for both stores (through the store's `Backend` seam) but for the lookup that notes a key's
//! use: one statement in Postgres, two in SQLite.
//!
//! Whoever caches key lookups (the API) keys its cache on [`crate::change_feed::ChangeFeed::auth_epoch`],
//! which every change here moves: with Postgres through a trigger's notification to every
//! process, with SQLite (one process) directly.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    Backend, ColumnReader, PgStore, SqliteStore, TENANT_COLUMNS, checked, required, tenant_from,
};
use crate::JobsError;
use crate::api_key::ApiKeyHash;
use crate::model::{ApiKeyId, ApiKeyRecord, KeyName, Tenant, TenantId};

/// The columns of an API key as listed.
const KEY_COLUMNS: &str = "id, tenant_id, name, created_at, last_used_at, expires_at, revoked_at";

/// Decodes a row of [`KEY_COLUMNS`].
fn key_from(row: &impl ColumnReader) -> Result<ApiKeyRecord, JobsError> {
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
fn owner_from(row: &impl ColumnReader) -> Result<KeyOwner, JobsError> {
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

/// The columns of a key's owner: the tenant's, plus `key_id` and `key_expires_at`.
const OWNER_COLUMNS: &str = "k.id AS key_id, k.expires_at AS key_expires_at, \
    t.id, t.name, t.created_at, t.disabled_at";

impl PgStore {
    /// [`KeyStore::key_owner`]: the owner read and the use noted in one statement.
    async fn owner_noting_use(
        &self,
        hash: &ApiKeyHash,
        now: DateTime<Utc>,
    ) -> Result<Option<KeyOwner>, JobsError> {
        let sql = format!(
            "UPDATE api_keys k SET last_used_at = $2 FROM tenants t \
             WHERE t.id = k.tenant_id AND k.key_hash = $1 AND k.revoked_at IS NULL \
               AND (k.expires_at IS NULL OR k.expires_at > $2) RETURNING {OWNER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(hash.as_str())
            .bind(Self::instant(now))
            .fetch_optional(self.writer())
            .await?;
        row.as_ref().map(owner_from).transpose()
    }
}

impl SqliteStore {
    /// [`KeyStore::key_owner`]: SQLite's `RETURNING` sees only the updated table, so the owner
    /// is read, then the use noted.
    async fn owner_noting_use(
        &self,
        hash: &ApiKeyHash,
        now: DateTime<Utc>,
    ) -> Result<Option<KeyOwner>, JobsError> {
        let sql = format!(
            "SELECT {OWNER_COLUMNS} FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL \
               AND (k.expires_at IS NULL OR k.expires_at > $2)"
        );
        let row = sqlx::query(&sql)
            .bind(hash.as_str())
            .bind(Self::instant(now))
            .fetch_optional(self.writer())
            .await?;
        let Some(owner) = row.as_ref().map(owner_from).transpose()? else {
            return Ok(None);
        };
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE key_hash = $1")
            .bind(hash.as_str())
            .bind(Self::instant(now))
            .execute(self.writer())
            .await?;
        Ok(Some(owner))
    }
}

/// Implements [`KeyStore`] for a store. A key's list is read through the writer, so that it
/// shows a key created or revoked a moment ago.
macro_rules! key_store {
    ($store:ty) => {
        #[async_trait]
        impl KeyStore for $store {
            async fn key_owner(
                &self,
                hash: &ApiKeyHash,
                now: DateTime<Utc>,
            ) -> Result<Option<KeyOwner>, JobsError> {
                self.owner_noting_use(hash, now).await
            }

            async fn create_api_key(
                &self,
                tenant: TenantId,
                name: &KeyName,
                hash: &ApiKeyHash,
                expires_at: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> Result<ApiKeyRecord, JobsError> {
                let sql = format!(
                    "INSERT INTO api_keys (id, key_hash, tenant_id, name, created_at, expires_at) \
                     SELECT $1, $2, id, $4, $5, $6 FROM tenants WHERE id = $3 \
                     RETURNING {KEY_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(ApiKeyId::new().as_uuid())
                    .bind(hash.as_str())
                    .bind(tenant.as_uuid())
                    .bind(name.as_str())
                    .bind(Self::instant(now))
                    .bind(expires_at.map(Self::instant))
                    .fetch_optional(self.writer())
                    .await?
                    .ok_or(JobsError::NotFound)?;
                key_from(&row)
            }

            async fn list_api_keys(
                &self,
                tenant: TenantId,
            ) -> Result<Vec<ApiKeyRecord>, JobsError> {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 \
                     ORDER BY created_at, id"
                );
                let rows = sqlx::query(&sql)
                    .bind(tenant.as_uuid())
                    .fetch_all(self.writer())
                    .await?;
                rows.iter().map(key_from).collect()
            }

            async fn revoke_api_key(
                &self,
                tenant: TenantId,
                key: ApiKeyId,
                now: DateTime<Utc>,
            ) -> Result<ApiKeyRecord, JobsError> {
                let sql = format!(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) \
                     WHERE tenant_id = $1 AND id = $2 RETURNING {KEY_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(tenant.as_uuid())
                    .bind(key.as_uuid())
                    .bind(Self::instant(now))
                    .fetch_optional(self.writer())
                    .await?
                    .ok_or(JobsError::NotFound)?;
                self.auth_changed();
                key_from(&row)
            }

            async fn set_tenant_disabled(
                &self,
                tenant: TenantId,
                disabled: bool,
                now: DateTime<Utc>,
            ) -> Result<Tenant, JobsError> {
                let sql = format!(
                    "UPDATE tenants \
                     SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, $3) END \
                     WHERE id = $1 RETURNING {TENANT_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(tenant.as_uuid())
                    .bind(disabled)
                    .bind(Self::instant(now))
                    .fetch_optional(self.writer())
                    .await?
                    .ok_or(JobsError::NotFound)?;
                self.auth_changed();
                tenant_from(&row)
            }
        }
    };
}

key_store!(PgStore);
key_store!(SqliteStore);
