//! [`KeyStore`] on SQLite. Embedded mode is one process: after a revocation or a disabled
//! tenant the store moves its own change feed's auth epoch.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::keys::{KEY_COLUMNS, KeyOwner, KeyStore, key_from, owner_from};
use super::{TENANT_COLUMNS, tenant_from};
use crate::JobsError;
use crate::api_key::ApiKeyHash;
use crate::model::{ApiKeyId, ApiKeyRecord, KeyName, Tenant, TenantId, to_millis};
use crate::store::SqliteStore;

#[async_trait]
impl KeyStore for SqliteStore {
    async fn key_owner(
        &self,
        hash: &ApiKeyHash,
        now: DateTime<Utc>,
    ) -> Result<Option<KeyOwner>, JobsError> {
        // SQLite's RETURNING sees only the updated table: read, then note the use.
        let row = sqlx::query(
            "SELECT k.id AS key_id, k.expires_at AS key_expires_at, \
                    t.id, t.name, t.created_at, t.disabled_at \
             FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.key_hash = ?1 AND k.revoked_at IS NULL \
               AND (k.expires_at IS NULL OR k.expires_at > ?2)",
        )
        .bind(hash.as_str())
        .bind(to_millis(now))
        .fetch_optional(&self.write)
        .await?;
        let Some(owner) = row.as_ref().map(owner_from).transpose()? else {
            return Ok(None);
        };
        sqlx::query("UPDATE api_keys SET last_used_at = ?2 WHERE key_hash = ?1")
            .bind(hash.as_str())
            .bind(to_millis(now))
            .execute(&self.write)
            .await?;
        Ok(Some(owner))
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
             SELECT ?1, ?2, id, ?4, ?5, ?6 FROM tenants WHERE id = ?3 RETURNING {KEY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(ApiKeyId::new().as_uuid())
            .bind(hash.as_str())
            .bind(tenant.as_uuid())
            .bind(name.as_str())
            .bind(to_millis(now))
            .bind(expires_at.map(to_millis))
            .fetch_optional(&self.write)
            .await?
            .ok_or(JobsError::NotFound)?;
        key_from(&row)
    }

    async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyRecord>, JobsError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant.as_uuid())
            .fetch_all(&self.write)
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
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3) \
             WHERE tenant_id = ?1 AND id = ?2 RETURNING {KEY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.as_uuid())
            .bind(key.as_uuid())
            .bind(to_millis(now))
            .fetch_optional(&self.write)
            .await?
            .ok_or(JobsError::NotFound)?;
        self.changes.publish_auth_change();
        key_from(&row)
    }

    async fn set_tenant_disabled(
        &self,
        tenant: TenantId,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<Tenant, JobsError> {
        let sql = format!(
            "UPDATE tenants SET disabled_at = CASE WHEN ?2 THEN COALESCE(disabled_at, ?3) END \
             WHERE id = ?1 RETURNING {TENANT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.as_uuid())
            .bind(disabled)
            .bind(to_millis(now))
            .fetch_optional(&self.write)
            .await?
            .ok_or(JobsError::NotFound)?;
        self.changes.publish_auth_change();
        tenant_from(&row)
    }
}
