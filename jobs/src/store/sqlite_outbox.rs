//! [`WebhookOutbox`] on SQLite: writes on the single writer connection, reads on the reader pool.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::outbox::{
    ATTEMPT_COLUMNS, EVENT_COLUMNS, RECORD_COLUMNS, WebhookOutbox, attempt_from, claimable_sql,
    event_from, next_columns, record_from, with_attempts,
};
use super::{fenced, lease_delta};
use crate::JobsError;
use crate::model::{JobId, TenantId, WorkerId, to_millis};
use crate::outbox::{DeliveryAttempt, DeliveryRecord, NextStep, WebhookEvent};
use crate::store::SqliteStore;

#[async_trait]
impl WebhookOutbox for SqliteStore {
    async fn claim_webhook_events(
        &self,
        worker: &WorkerId,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        per_tenant: u32,
    ) -> Result<Vec<WebhookEvent>, JobsError> {
        // The claimable set is ranked per tenant first; the locking level re-checks that the
        // event is still pending and due, so one claimed meanwhile by another deliverer is
        // skipped.
        let claimable = claimable_sql("?1", "?3", "?5");
        let sql = format!(
            "UPDATE webhook_events SET lease_owner = ?1, next_attempt_at = ?2 \
             WHERE id IN (SELECT id FROM webhook_events WHERE status = 'pending' \
                          AND next_attempt_at <= ?3 AND id IN ({claimable}) \
                          ORDER BY next_attempt_at LIMIT ?4 ) \
             RETURNING {EVENT_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(worker.as_str())
            .bind(to_millis(now + lease_delta(lease)))
            .bind(to_millis(now))
            .bind(i64::from(limit))
            .bind(i64::from(per_tenant))
            .fetch_all(&self.write)
            .await?;
        rows.iter().map(event_from).collect()
    }

    async fn freeze_webhook_payload(
        &self,
        event: &str,
        payload: &str,
    ) -> Result<String, JobsError> {
        let stored: Option<String> = sqlx::query_scalar(
            "UPDATE webhook_events SET payload = COALESCE(payload, ?2) WHERE id = ?1 \
             RETURNING payload",
        )
        .bind(event)
        .bind(payload)
        .fetch_optional(&self.write)
        .await?;
        stored.ok_or(JobsError::NotFound)
    }

    async fn record_webhook_attempt(
        &self,
        event: &str,
        worker: &WorkerId,
        attempt: &DeliveryAttempt,
        next: NextStep,
        now: DateTime<Utc>,
    ) -> Result<(), JobsError> {
        let (status, next_at, finished_at) = next_columns(next, now);
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE webhook_events SET attempts = ?3, status = ?4, \
               next_attempt_at = COALESCE(?5, next_attempt_at), finished_at = ?6, \
               lease_owner = NULL \
             WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending' AND attempts = ?3 - 1",
        )
        .bind(event)
        .bind(worker.as_str())
        .bind(i64::from(attempt.attempt))
        .bind(status)
        .bind(next_at.map(to_millis))
        .bind(finished_at.map(to_millis))
        .execute(&mut *tx)
        .await?;
        fenced(done.rows_affected())?;
        sqlx::query(
            "INSERT INTO webhook_attempts \
               (event_id, attempt, started_at, duration_ms, status_code, error) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(event)
        .bind(i64::from(attempt.attempt))
        .bind(to_millis(attempt.started_at))
        .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
        .bind(attempt.status_code.map(i32::from))
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn job_deliveries(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Vec<DeliveryRecord>, JobsError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM webhook_events WHERE tenant_id = ?1 AND job_id = ?2 \
             ORDER BY created_at, id"
        );
        let records = sqlx::query(&sql)
            .bind(tenant.as_uuid())
            .bind(job.as_uuid())
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(record_from)
            .collect::<Result<Vec<_>, _>>()?;
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE event_id IN \
               (SELECT id FROM webhook_events WHERE tenant_id = ?1 AND job_id = ?2) \
             ORDER BY event_id, attempt"
        );
        let attempts = sqlx::query(&sql)
            .bind(tenant.as_uuid())
            .bind(job.as_uuid())
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(attempt_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(with_attempts(records, attempts))
    }
}
