//! [`SecretStore`] on Pg.

use async_trait::async_trait;
use sqlx::Row as _;
use uuid::Uuid;

use super::secrets::{SecretStore, StoredSecrets};
use crate::JobsError;
use crate::model::TenantId;
use crate::store::PgStore;

#[async_trait]
impl SecretStore for PgStore {
    async fn stored_webhook_secrets(&self) -> Result<Vec<StoredSecrets>, JobsError> {
        let rows = sqlx::query(
            "SELECT id, webhook_secret, previous_webhook_secret FROM tenants ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredSecrets {
                    tenant: TenantId::from_uuid(row.try_get::<Uuid, _>("id")?),
                    current: row.try_get("webhook_secret")?,
                    previous: row.try_get("previous_webhook_secret")?,
                })
            })
            .collect()
    }

    async fn replace_stored_webhook_secrets(
        &self,
        old: &StoredSecrets,
        new: &StoredSecrets,
    ) -> Result<bool, JobsError> {
        let done = sqlx::query(
            "UPDATE tenants SET webhook_secret = $2, previous_webhook_secret = $3 \
             WHERE id = $1 AND webhook_secret IS NOT DISTINCT FROM $4 \
               AND previous_webhook_secret IS NOT DISTINCT FROM $5",
        )
        .bind(old.tenant.as_uuid())
        .bind(new.current.as_deref())
        .bind(new.previous.as_deref())
        .bind(old.current.as_deref())
        .bind(old.previous.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
