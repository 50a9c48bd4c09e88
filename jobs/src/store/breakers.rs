//! The operator's circuit-breaker overrides: a model forced open or closed until lifted, kept in
//! the store so that every worker process applies the same (at its reconciliation tick). The
//! statements are the same in both stores but for how an instant is bound.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ColumnReader, required};
use crate::JobsError;

/// The query both stores list the overrides with.
pub(super) const OVERRIDES_SQL: &str =
    "SELECT model, state, reason, set_at FROM llm_breaker_overrides ORDER BY model";

/// Decodes a row of [`OVERRIDES_SQL`].
pub(super) fn override_from(row: &impl ColumnReader) -> Result<BreakerOverride, JobsError> {
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
