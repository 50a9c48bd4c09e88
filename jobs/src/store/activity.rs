//! The store's side of [`crate::activity`]: one row per process and period, its figures as
//! JSON text. Written once for both stores (through the store's `Backend` seam): the statements
//! differ only in how a batch is unpacked, and instants are unix seconds in both.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use serde::Serialize;

use super::{Backend, ColumnReader, PgStore, SqliteStore, required};
use crate::JobsError;
use crate::activity::{Activity, ActivityRow, Period};

/// The store's side of the workers' activity.
#[async_trait]
pub trait ActivityStore: Send + Sync + 'static {
    /// Writes each row in one statement, replacing the row of the same process and period.
    async fn record_activity(&self, rows: &[ActivityRow]) -> Result<(), JobsError>;

    /// Every process's rows of `period` that started at `since` or later.
    async fn activity(
        &self,
        period: Period,
        since: DateTime<Utc>,
    ) -> Result<Vec<ActivityRow>, JobsError>;

    /// Deletes the rows older than their period keeps ([`Period::kept`]) as of `now`.
    async fn prune_activity(&self, now: DateTime<Utc>) -> Result<u64, JobsError>;
}

/// One row of a write batch.
#[derive(Serialize)]
struct RowPayload<'a> {
    period: &'static str,
    start_at: i64,
    source: &'a str,
    body: String,
}

fn payload(rows: &[ActivityRow]) -> Result<String, JobsError> {
    let rows = rows
        .iter()
        .map(|row| {
            Ok(RowPayload {
                period: row.period.as_str(),
                start_at: row.start.timestamp(),
                source: &row.source,
                body: serde_json::to_string(&row.activity)
                    .map_err(|e| JobsError::Corrupt(format!("activity: {e}")))?,
            })
        })
        .collect::<Result<Vec<_>, JobsError>>()?;
    serde_json::to_string(&rows).map_err(|e| JobsError::Corrupt(format!("activity: {e}")))
}

fn row_from(period: Period, row: &impl ColumnReader) -> Result<ActivityRow, JobsError> {
    let start = row.int("start_at")?;
    let body = required(row.text("body")?, "body")?;
    Ok(ActivityRow {
        period,
        start: Utc
            .timestamp_opt(start, 0)
            .single()
            .ok_or_else(|| JobsError::Corrupt(format!("activity start {start}")))?,
        source: required(row.text("source")?, "source")?,
        activity: serde_json::from_str::<Activity>(&body)
            .map_err(|e| JobsError::Corrupt(format!("activity body: {e}")))?,
    })
}

/// The rows of a period (`$1`) from an instant on (`$2`).
const READ_SQL: &str = "SELECT start_at, source, body FROM activity \
    WHERE period = $1 AND start_at >= $2 ORDER BY start_at, source";

/// Deletes the minutes older than `$1` and the days older than `$2`.
const PRUNE_SQL: &str = "DELETE FROM activity WHERE (period = 'minute' AND start_at < $1) \
    OR (period = 'day' AND start_at < $2)";

/// Implements [`ActivityStore`] for a store given its statement that writes a batch.
macro_rules! activity_store {
    ($store:ty, record: $record:expr $(,)?) => {
        #[async_trait]
        impl ActivityStore for $store {
            async fn record_activity(&self, rows: &[ActivityRow]) -> Result<(), JobsError> {
                if rows.is_empty() {
                    return Ok(());
                }
                sqlx::query($record)
                    .bind(payload(rows)?)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn activity(
                &self,
                period: Period,
                since: DateTime<Utc>,
            ) -> Result<Vec<ActivityRow>, JobsError> {
                let rows = sqlx::query(READ_SQL)
                    .bind(period.as_str())
                    .bind(since.timestamp())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(|row| row_from(period, row)).collect()
            }

            async fn prune_activity(&self, now: DateTime<Utc>) -> Result<u64, JobsError> {
                let done = sqlx::query(PRUNE_SQL)
                    .bind((now - Period::Minute.kept()).timestamp())
                    .bind((now - Period::Day.kept()).timestamp())
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

activity_store!(
    PgStore,
    record: "INSERT INTO activity (period, start_at, source, body) \
             SELECT v.period, v.start_at, v.source, v.body \
             FROM json_to_recordset($1::json) AS v(period text, start_at bigint, source text, body text) \
             ON CONFLICT (period, start_at, source) DO UPDATE SET body = excluded.body",
);

// `WHERE true` tells SQLite's parser the `ON CONFLICT` belongs to the insert.
activity_store!(
    SqliteStore,
    record: "INSERT INTO activity (period, start_at, source, body) \
             SELECT value ->> 'period', value ->> 'start_at', value ->> 'source', value ->> 'body' \
             FROM json_each($1) WHERE true \
             ON CONFLICT (period, start_at, source) DO UPDATE SET body = excluded.body",
);
