//! The operator's circuit-breaker overrides: a model forced open or closed until lifted, kept in
//! the store so that every worker process applies the same (at its reconciliation tick). Written
//! once for both stores (through the store's `Backend` seam).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Backend, ColumnReader, PgStore, SqliteStore, required};
use crate::JobsError;

/// Decodes a row of the overrides' query.
fn override_from(row: &impl ColumnReader) -> Result<BreakerOverride, JobsError> {
    let state = required(row.text("state")?, "state")?;
    Ok(BreakerOverride {
        model: required(row.text("model")?, "model")?,
        open: match state.as_str() {
            "open" => true,
            "closed" => false,
            other => {
                return Err(JobsError::Corrupt(format!(
                    "breaker override state {other}"
                )));
            }
        },
        reason: row.text("reason")?,
        set_at: required(row.instant("set_at")?, "set_at")?,
    })
}

/// One model's override.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakerOverride {
    /// The model's name in the chains.
    pub model: String,
    /// Forced open (every call skipped), else forced closed (every call made).
    pub open: bool,
    /// Why, for the next operator.
    pub reason: Option<String>,
    /// When it was set.
    pub set_at: DateTime<Utc>,
}

/// The store's side of breaker overrides.
#[async_trait]
pub trait BreakerOverrideStore: Send + Sync + 'static {
    /// Every override, by model name.
    async fn breaker_overrides(&self) -> Result<Vec<BreakerOverride>, JobsError>;

    /// Sets a model's override (replacing any), or lifts it with `None` (true when there was
    /// one).
    async fn set_breaker_override(
        &self,
        model: &str,
        open: Option<bool>,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, JobsError>;
}

/// Implements [`BreakerOverrideStore`] for a store.
macro_rules! breaker_override_store {
    ($store:ty) => {
        #[async_trait]
        impl BreakerOverrideStore for $store {
            async fn breaker_overrides(&self) -> Result<Vec<BreakerOverride>, JobsError> {
                let rows = sqlx::query(
                    "SELECT model, state, reason, set_at FROM llm_breaker_overrides ORDER BY model",
                )
                .fetch_all(self.reader())
                .await?;
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
                        .execute(self.writer())
                        .await?;
                    return Ok(done.rows_affected() > 0);
                };
                sqlx::query(
                    "INSERT INTO llm_breaker_overrides (model, state, reason, set_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (model) DO UPDATE \
                     SET state = excluded.state, reason = excluded.reason, \
                       set_at = excluded.set_at",
                )
                .bind(model)
                .bind(if open { "open" } else { "closed" })
                .bind(reason)
                .bind(Self::instant(now))
                .execute(self.writer())
                .await?;
                Ok(true)
            }
        }
    };
}

breaker_override_store!(PgStore);
breaker_override_store!(SqliteStore);
