//! [`SecretStore`] on SQLite.

use async_trait::async_trait;

use super::secrets::{STORED_SECRETS_SQL, SecretStore, StoredSecrets, stored_from};
use crate::JobsError;
use crate::store::SqliteStore;

#[async_trait]
impl SecretStore for SqliteStore {
    async fn stored_webhook_secrets(&self) -> Result<Vec<StoredSecrets>, JobsError> {
        let rows = sqlx::query(STORED_SECRETS_SQL)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(stored_from).collect()
    }

    async fn replace_stored_webhook_secrets(
        &self,
        old: &StoredSecrets,
        new: &StoredSecrets,
    ) -> Result<bool, JobsError> {
        let done = sqlx::query(
            "UPDATE tenants SET webhook_secret = ?2, previous_webhook_secret = ?3 \
             WHERE id = ?1 AND webhook_secret IS ?4 \
               AND previous_webhook_secret IS ?5",
        )
        .bind(old.tenant.as_uuid())
        .bind(new.current.as_deref())
        .bind(new.previous.as_deref())
        .bind(old.current.as_deref())
        .bind(old.previous.as_deref())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
