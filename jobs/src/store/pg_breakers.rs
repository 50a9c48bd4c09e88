//! [`BreakerOverrideStore`] on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::breakers::{BreakerOverride, BreakerOverrideStore, OVERRIDES_SQL, override_from};
use crate::JobsError;

use crate::store::PgStore;

#[async_trait]
impl BreakerOverrideStore for PgStore {
    async fn breaker_overrides(&self) -> Result<Vec<BreakerOverride>, JobsError> {
        let rows = sqlx::query(OVERRIDES_SQL).fetch_all(&self.pool).await?;
        rows.iter().map(override_from).collect()
    }

    async fn set_breaker_override(
        &self,
        model: &str,
        open: Option<bool>,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, JobsError> {
        let Some(open) = open else {
            let done = sqlx::query("DELETE FROM llm_breaker_overrides WHERE model = $1")
                .bind(model)
                .execute(&self.pool)
                .await?;
            return Ok(done.rows_affected() > 0);
        };
        sqlx::query(
            "INSERT INTO llm_breaker_overrides (model, state, reason, set_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (model) DO UPDATE \
             SET state = excluded.state, reason = excluded.reason, set_at = excluded.set_at",
        )
        .bind(model)
        .bind(if open { "open" } else { "closed" })
        .bind(reason)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(true)
    }
}
