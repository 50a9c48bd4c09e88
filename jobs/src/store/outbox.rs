//! The webhook delivery queue in the store (DESIGN §7): events are created by a trigger with the
//! job's terminal transition; deliverers claim due events (a capped number per tenant each, so
//! one tenant's backlog never holds back another's) and record each attempt. Written once for
//! both stores (through the store's `Backend` seam).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Backend, ColumnReader, PgStore, SqliteStore, checked, fenced, lease_delta, required};
use crate::JobsError;
use crate::model::{JobId, TenantId, WebhookUrl, WorkerId};
use crate::outbox::{
    DeliveryAttempt, DeliveryRecord, DeliveryStatus, EventType, NextStep, WebhookEvent,
};

/// The store's side of webhook delivery.
#[async_trait]
pub trait WebhookOutbox: Send + Sync + 'static {
    /// Claims up to `limit` pending events due at `now` for `worker`, oldest due first, and at
    /// most `per_tenant` in flight per tenant for `worker`: the tenant's events `worker` still
    /// holds (claimed, lease not run out, attempt not recorded) count against it, so one
    /// tenant's slow receiver cannot take every slot; events over the cap stay queued and do
    /// not hold back other tenants' events. A claim pushes the event's next attempt to
    /// `now + lease`: should the worker die mid-attempt, the event is due again then (at least
    /// once). Of concurrent claims of one event, one wins.
    async fn claim_webhook_events(
        &self,
        worker: &WorkerId,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        per_tenant: u32,
    ) -> Result<Vec<WebhookEvent>, JobsError>;

    /// Freezes an event's body: the first call stores `payload`, every later call answers the
    /// stored one, so each retry sends the same bytes.
    async fn freeze_webhook_payload(&self, event: &str, payload: &str)
    -> Result<String, JobsError>;

    /// Records an attempt and what follows it, while `worker` still holds the claim on the
    /// event and the attempt is the next one (`LeaseLost` otherwise: nothing changes).
    async fn record_webhook_attempt(
        &self,
        event: &str,
        worker: &WorkerId,
        attempt: &DeliveryAttempt,
        next: NextStep,
        now: DateTime<Utc>,
    ) -> Result<(), JobsError>;

    /// A tenant's job's events with every attempt, oldest first.
    async fn job_deliveries(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Vec<DeliveryRecord>, JobsError>;
}

/// The columns of a claimed event, in the order [`event_from`] reads them.
const EVENT_COLUMNS: &str = "id, tenant_id, job_id, event_type, url, attempts, payload, created_at";

/// The due events worker `$1` may claim at `$3`, as a `SELECT id` sub-query: each tenant's due
/// events ranked oldest due first, kept while the rank plus the events the worker already holds
/// for the tenant stays within the cap `$5`.
const CLAIMABLE: &str = "SELECT ranked.id FROM (\
       SELECT e.id, row_number() OVER \
         (PARTITION BY e.tenant_id ORDER BY e.next_attempt_at, e.id) AS pos \
       FROM webhook_events e WHERE e.status = 'pending' AND e.next_attempt_at <= $3\
     ) ranked JOIN webhook_events t ON t.id = ranked.id \
     WHERE ranked.pos + (SELECT count(*) FROM webhook_events held \
         WHERE held.tenant_id = t.tenant_id AND held.status = 'pending' \
           AND held.lease_owner = $1 AND held.next_attempt_at > $3) <= $5";

/// The columns of a listed event, in the order [`record_from`] reads them.
const RECORD_COLUMNS: &str =
    "id, event_type, url, status, next_attempt_at, created_at, finished_at";

/// The columns of an attempt, in the order [`attempt_from`] reads them.
/// The status code is read as text: a NULL (no answer) then decodes the same on both backends.
const ATTEMPT_COLUMNS: &str = "event_id, attempt, started_at, duration_ms, \
    CAST(status_code AS TEXT) AS status_code, error";

fn count(row: &impl ColumnReader, name: &str) -> Result<u32, JobsError> {
    u32::try_from(row.int(name)?).map_err(|_| JobsError::Corrupt(format!("{name} out of range")))
}

/// Decodes a row of [`EVENT_COLUMNS`].
fn event_from(row: &impl ColumnReader) -> Result<WebhookEvent, JobsError> {
    Ok(WebhookEvent {
        id: required(row.text("id")?, "id")?,
        tenant_id: TenantId::from_uuid(row.uuid("tenant_id")?),
        job_id: JobId::from_uuid(row.uuid("job_id")?),
        event_type: EventType::parse(&required(row.text("event_type")?, "event_type")?)?,
        url: required(checked(row.text("url")?, WebhookUrl::stored)?, "url")?,
        attempts: count(row, "attempts")?,
        payload: row.text("payload")?,
        created_at: required(row.instant("created_at")?, "created_at")?,
    })
}

/// Decodes a row of [`RECORD_COLUMNS`], without its attempts.
fn record_from(row: &impl ColumnReader) -> Result<DeliveryRecord, JobsError> {
    let status = DeliveryStatus::parse(&required(row.text("status")?, "status")?)?;
    Ok(DeliveryRecord {
        id: required(row.text("id")?, "id")?,
        event_type: EventType::parse(&required(row.text("event_type")?, "event_type")?)?,
        url: required(row.text("url")?, "url")?,
        status,
        next_attempt_at: row
            .instant("next_attempt_at")?
            .filter(|_| status == DeliveryStatus::Pending),
        created_at: required(row.instant("created_at")?, "created_at")?,
        finished_at: row.instant("finished_at")?,
        attempts: Vec::new(),
    })
}

/// Decodes a row of [`ATTEMPT_COLUMNS`] with the id of its event.
fn attempt_from(row: &impl ColumnReader) -> Result<(String, DeliveryAttempt), JobsError> {
    let status_code = row
        .text("status_code")?
        .map(|code| code.parse::<u16>())
        .transpose()
        .map_err(|_| JobsError::Corrupt("status_code out of range".into()))?;
    Ok((
        required(row.text("event_id")?, "event_id")?,
        DeliveryAttempt {
            attempt: count(row, "attempt")?,
            started_at: required(row.instant("started_at")?, "started_at")?,
            duration_ms: u64::from(count(row, "duration_ms")?),
            status_code,
            error: row.text("error")?,
        },
    ))
}

/// Puts each attempt under its event (both lists are oldest first).
fn with_attempts(
    mut records: Vec<DeliveryRecord>,
    attempts: Vec<(String, DeliveryAttempt)>,
) -> Vec<DeliveryRecord> {
    for (event, attempt) in attempts {
        if let Some(record) = records.iter_mut().find(|r| r.id == event) {
            record.attempts.push(attempt);
        }
    }
    records
}

/// The stored columns of a [`NextStep`]: status, next attempt, finished at.
fn next_columns(
    next: NextStep,
    now: DateTime<Utc>,
) -> (&'static str, Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    match next {
        NextStep::Delivered => (DeliveryStatus::Delivered.as_str(), None, Some(now)),
        NextStep::RetryAt(at) => (DeliveryStatus::Pending.as_str(), Some(at), None),
        NextStep::GiveUp => (DeliveryStatus::Failed.as_str(), None, Some(now)),
    }
}

/// Implements [`WebhookOutbox`] for a store.
macro_rules! webhook_outbox {
    ($store:ty) => {
        #[async_trait]
        impl WebhookOutbox for $store {
            async fn claim_webhook_events(
                &self,
                worker: &WorkerId,
                now: DateTime<Utc>,
                lease: Duration,
                limit: u32,
                per_tenant: u32,
            ) -> Result<Vec<WebhookEvent>, JobsError> {
                // The claimable set is ranked per tenant first; the locking level re-checks that
                // the event is still pending and due, so one claimed meanwhile by another
                // deliverer is skipped.
                let sql = format!(
                    "UPDATE webhook_events SET lease_owner = $1, next_attempt_at = $2 \
                     WHERE id IN (SELECT id FROM webhook_events WHERE status = 'pending' \
                       AND next_attempt_at <= $3 AND id IN ({CLAIMABLE}) \
                       ORDER BY next_attempt_at LIMIT $4{skip_locked}) \
                     RETURNING {EVENT_COLUMNS}",
                    skip_locked = Self::SKIP_LOCKED,
                );
                let rows = sqlx::query(&sql)
                    .bind(worker.as_str())
                    .bind(Self::instant(now + lease_delta(lease)))
                    .bind(Self::instant(now))
                    .bind(i64::from(limit))
                    .bind(i64::from(per_tenant))
                    .fetch_all(self.writer())
                    .await?;
                rows.iter().map(event_from).collect()
            }

            async fn freeze_webhook_payload(
                &self,
                event: &str,
                payload: &str,
            ) -> Result<String, JobsError> {
                let stored: Option<String> = sqlx::query_scalar(
                    "UPDATE webhook_events SET payload = COALESCE(payload, $2) WHERE id = $1 \
                     RETURNING payload",
                )
                .bind(event)
                .bind(payload)
                .fetch_optional(self.writer())
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
                let mut tx = self.writer().begin().await?;
                let done = sqlx::query(
                    "UPDATE webhook_events SET attempts = $3, status = $4, \
                       next_attempt_at = COALESCE($5, next_attempt_at), finished_at = $6, \
                       lease_owner = NULL \
                     WHERE id = $1 AND lease_owner = $2 AND status = 'pending' \
                       AND attempts = $3 - 1",
                )
                .bind(event)
                .bind(worker.as_str())
                .bind(i64::from(attempt.attempt))
                .bind(status)
                .bind(next_at.map(Self::instant))
                .bind(finished_at.map(Self::instant))
                .execute(&mut *tx)
                .await?;
                fenced(done.rows_affected())?;
                sqlx::query(
                    "INSERT INTO webhook_attempts \
                       (event_id, attempt, started_at, duration_ms, status_code, error) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(event)
                .bind(i64::from(attempt.attempt))
                .bind(Self::instant(attempt.started_at))
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
                    "SELECT {RECORD_COLUMNS} FROM webhook_events \
                     WHERE tenant_id = $1 AND job_id = $2 ORDER BY created_at, id"
                );
                let records = sqlx::query(&sql)
                    .bind(tenant.as_uuid())
                    .bind(job.as_uuid())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(record_from)
                    .collect::<Result<Vec<_>, _>>()?;
                let sql = format!(
                    "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE event_id IN \
                       (SELECT id FROM webhook_events WHERE tenant_id = $1 AND job_id = $2) \
                     ORDER BY event_id, attempt"
                );
                let attempts = sqlx::query(&sql)
                    .bind(tenant.as_uuid())
                    .bind(job.as_uuid())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(attempt_from)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(with_attempts(records, attempts))
            }
        }
    };
}

webhook_outbox!(PgStore);
webhook_outbox!(SqliteStore);
