//! Daily motivation schedules in the store (see [`crate::motivation`]), written once for both
//! stores (through the store's `Backend` seam).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::batch::Dialect as _;
use super::{Backend, ColumnReader, JOB_COLUMNS, PgStore, SqliteStore, job_from, required};
use crate::JobsError;
use crate::model::{IdempotencyKey, Job, TenantId};
use crate::motivation::{MotivationSchedule, ScheduleAdvance, ScheduleTarget};

/// The store's side of the motivation scheduler.
#[async_trait]
pub trait MotivationStore: Send + Sync + 'static {
    /// Stores a schedule. With `replace`, an existing one is overwritten (its creation time
    /// kept, its version bumped); without, an existing one wins. Answers the stored schedule.
    async fn put_motivation_schedule(
        &self,
        schedule: &MotivationSchedule,
        replace: bool,
    ) -> Result<MotivationSchedule, JobsError>;

    /// A tenant's schedule for itself or one of its athletes.
    async fn motivation_schedule(
        &self,
        tenant: TenantId,
        target: &ScheduleTarget,
    ) -> Result<Option<MotivationSchedule>, JobsError>;

    /// Removes a schedule; false when there was none.
    async fn delete_motivation_schedule(
        &self,
        tenant: TenantId,
        target: &ScheduleTarget,
    ) -> Result<bool, JobsError>;

    /// How many athlete subscriptions a tenant has (the tenant's own schedule not counted).
    async fn count_motivation_subscriptions(&self, tenant: TenantId) -> Result<u64, JobsError>;

    /// Tenants that have no schedule of their own yet (every tenant gets a daily message).
    async fn tenants_without_schedule(&self, limit: u32) -> Result<Vec<TenantId>, JobsError>;

    /// Schedules whose next run is due at `now`, earliest first.
    async fn due_motivation_schedules(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<MotivationSchedule>, JobsError>;

    /// A tenant's schedules (its own and its athletes') that are due next, earliest first.
    async fn upcoming_motivation_schedules(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> Result<Vec<MotivationSchedule>, JobsError>;

    /// Moves a schedule on to `date` due `at`, unless it changed since it was read (another
    /// scheduler advanced it, or the client updated it): then false and nothing changes.
    async fn advance_motivation_schedule(
        &self,
        schedule: &MotivationSchedule,
        date: NaiveDate,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, JobsError> {
        let advance = ScheduleAdvance::of(schedule, date, at);
        Ok(self
            .advance_motivation_schedules(std::slice::from_ref(&advance), now)
            .await?
            == 1)
    }

    /// [`MotivationStore::advance_motivation_schedule`] for many schedules in one statement,
    /// each fenced on its own version: how many moved on.
    async fn advance_motivation_schedules(
        &self,
        advances: &[ScheduleAdvance],
        now: DateTime<Utc>,
    ) -> Result<u64, JobsError>;

    /// The tenant's job created with an idempotency key (a day's message has a known key).
    async fn job_by_idempotency_key(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
    ) -> Result<Option<Job>, JobsError>;
}

/// The columns of a schedule, in the order [`schedule_from`] reads them.
const SCHEDULE_COLUMNS: &str = "tenant_id, athlete_id, timezone, local_time, profile, \
    CAST(next_local_date AS TEXT) AS next_local_date, next_run_at, version, created_at, updated_at";

/// Decodes a row of [`SCHEDULE_COLUMNS`].
fn schedule_from(row: &impl ColumnReader) -> Result<MotivationSchedule, JobsError> {
    let corrupt = |e: JobsError| JobsError::Corrupt(e.to_string());
    let date = required(row.text("next_local_date")?, "next_local_date")?;
    Ok(MotivationSchedule {
        tenant_id: TenantId::from_uuid(row.uuid("tenant_id")?),
        target: ScheduleTarget::from_stored(required(row.text("athlete_id")?, "athlete_id")?)
            .map_err(corrupt)?,
        timezone: required(row.text("timezone")?, "timezone")?
            .parse()
            .map_err(corrupt)?,
        local_time: required(row.text("local_time")?, "local_time")?
            .parse()
            .map_err(corrupt)?,
        profile: required(row.json("profile")?, "profile")?,
        next_local_date: date
            .parse()
            .map_err(|_| JobsError::Corrupt(format!("next_local_date '{date}'")))?,
        next_run_at: required(row.instant("next_run_at")?, "next_run_at")?,
        version: row.int("version")?,
        created_at: required(row.instant("created_at")?, "created_at")?,
        updated_at: required(row.instant("updated_at")?, "updated_at")?,
    })
}

/// A local date as stored (`YYYY-MM-DD`).
fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// One row of an advance batch.
#[derive(serde::Serialize)]
struct AdvanceRow<'a> {
    tenant_id: serde_json::Value,
    athlete_id: &'a str,
    version: i64,
    date: String,
    at: serde_json::Value,
}

/// The JSON of an advance batch ([`super::batch::Dialect::ADVANCE_SCHEDULES`]).
fn advance_payload<D: super::batch::Dialect>(
    advances: &[ScheduleAdvance],
) -> Result<String, JobsError> {
    let rows: Vec<AdvanceRow<'_>> = advances
        .iter()
        .map(|a| AdvanceRow {
            tenant_id: D::id(a.tenant_id.as_uuid()),
            athlete_id: a.target.stored(),
            version: a.version,
            date: date_text(a.date),
            at: D::instant(a.at),
        })
        .collect();
    serde_json::to_string(&rows).map_err(|e| JobsError::Corrupt(format!("batch payload: {e}")))
}

/// Implements [`MotivationStore`] for a store.
macro_rules! motivation_store {
    ($store:ty) => {
        #[async_trait]
        impl MotivationStore for $store {
            async fn put_motivation_schedule(
                &self,
                s: &MotivationSchedule,
                replace: bool,
            ) -> Result<MotivationSchedule, JobsError> {
                let on_conflict = if replace {
                    "DO UPDATE SET timezone = EXCLUDED.timezone, local_time = EXCLUDED.local_time, \
                     profile = EXCLUDED.profile, next_local_date = EXCLUDED.next_local_date, \
                     next_run_at = EXCLUDED.next_run_at, \
                     version = motivation_schedules.version + 1, updated_at = EXCLUDED.updated_at"
                } else {
                    // A no-op update so RETURNING answers the row that won.
                    "DO UPDATE SET version = motivation_schedules.version"
                };
                let sql = format!(
                    "INSERT INTO motivation_schedules \
                       (tenant_id, athlete_id, timezone, local_time, profile, next_local_date, \
                        next_run_at, version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9) \
                     ON CONFLICT (tenant_id, athlete_id) {on_conflict} RETURNING {SCHEDULE_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(s.tenant_id.as_uuid())
                    .bind(s.target.stored())
                    .bind(s.timezone.name())
                    .bind(s.local_time.to_string())
                    .bind(&s.profile)
                    .bind(s.next_local_date)
                    .bind(Self::instant(s.next_run_at))
                    .bind(Self::instant(s.created_at))
                    .bind(Self::instant(s.updated_at))
                    .fetch_one(self.writer())
                    .await?;
                schedule_from(&row)
            }

            async fn motivation_schedule(
                &self,
                tenant: TenantId,
                target: &ScheduleTarget,
            ) -> Result<Option<MotivationSchedule>, JobsError> {
                let sql = format!(
                    "SELECT {SCHEDULE_COLUMNS} FROM motivation_schedules \
                     WHERE tenant_id = $1 AND athlete_id = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(tenant.as_uuid())
                    .bind(target.stored())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(schedule_from).transpose()
            }

            async fn delete_motivation_schedule(
                &self,
                tenant: TenantId,
                target: &ScheduleTarget,
            ) -> Result<bool, JobsError> {
                let done = sqlx::query(
                    "DELETE FROM motivation_schedules WHERE tenant_id = $1 AND athlete_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(target.stored())
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn count_motivation_subscriptions(
                &self,
                tenant: TenantId,
            ) -> Result<u64, JobsError> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM motivation_schedules \
                     WHERE tenant_id = $1 AND athlete_id <> ''",
                )
                .bind(tenant.as_uuid())
                .fetch_one(self.reader())
                .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn tenants_without_schedule(
                &self,
                limit: u32,
            ) -> Result<Vec<TenantId>, JobsError> {
                let ids: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM tenants t WHERE NOT EXISTS \
                       (SELECT 1 FROM motivation_schedules s \
                        WHERE s.tenant_id = t.id AND s.athlete_id = '') \
                     ORDER BY created_at LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await?;
                Ok(ids.into_iter().map(TenantId::from_uuid).collect())
            }

            async fn due_motivation_schedules(
                &self,
                now: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<MotivationSchedule>, JobsError> {
                let sql = format!(
                    "SELECT {SCHEDULE_COLUMNS} FROM motivation_schedules WHERE next_run_at <= $1 \
                     ORDER BY next_run_at LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(Self::instant(now))
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(schedule_from).collect()
            }

            async fn upcoming_motivation_schedules(
                &self,
                tenant: TenantId,
                limit: u32,
            ) -> Result<Vec<MotivationSchedule>, JobsError> {
                let sql = format!(
                    "SELECT {SCHEDULE_COLUMNS} FROM motivation_schedules WHERE tenant_id = $1 \
                     ORDER BY next_run_at LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(tenant.as_uuid())
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(schedule_from).collect()
            }

            async fn advance_motivation_schedules(
                &self,
                advances: &[ScheduleAdvance],
                now: DateTime<Utc>,
            ) -> Result<u64, JobsError> {
                if advances.is_empty() {
                    return Ok(0);
                }
                type Dialect = <$store as Backend>::Dialect;
                let done = sqlx::query(Dialect::ADVANCE_SCHEDULES)
                    .bind(advance_payload::<Dialect>(advances)?)
                    .bind(Self::instant(now))
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }

            async fn job_by_idempotency_key(
                &self,
                tenant: TenantId,
                key: &IdempotencyKey,
            ) -> Result<Option<Job>, JobsError> {
                let sql = format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(tenant.as_uuid())
                    .bind(key.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(job_from).transpose()
            }
        }
    };
}

motivation_store!(PgStore);
motivation_store!(SqliteStore);
