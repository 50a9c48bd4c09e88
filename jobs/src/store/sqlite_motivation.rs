//! [`MotivationStore`] on SQLite: writes on the single writer connection, reads on the reader pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::batch::{self, Dialect as _};
use super::motivation::{
    MotivationStore, SCHEDULE_COLUMNS, advance_payload, date_text, schedule_from,
};
use super::{JOB_COLUMNS, job_from};
use crate::JobsError;
use crate::model::{IdempotencyKey, Job, TenantId, to_millis};
use crate::motivation::{MotivationSchedule, ScheduleAdvance, ScheduleTarget};
use crate::store::SqliteStore;

#[async_trait]
impl MotivationStore for SqliteStore {
    async fn put_motivation_schedule(
        &self,
        s: &MotivationSchedule,
        replace: bool,
    ) -> Result<MotivationSchedule, JobsError> {
        let on_conflict = if replace {
            "DO UPDATE SET timezone = EXCLUDED.timezone, local_time = EXCLUDED.local_time, \
             profile = EXCLUDED.profile, next_local_date = EXCLUDED.next_local_date, \
             next_run_at = EXCLUDED.next_run_at, version = motivation_schedules.version + 1, \
             updated_at = EXCLUDED.updated_at"
        } else {
            // A no-op update so RETURNING answers the row that won.
            "DO UPDATE SET version = motivation_schedules.version"
        };
        let sql = format!(
            "INSERT INTO motivation_schedules (tenant_id, athlete_id, timezone, local_time, \
               profile, next_local_date, next_run_at, version, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9) \
             ON CONFLICT (tenant_id, athlete_id) {on_conflict} RETURNING {SCHEDULE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(s.tenant_id.as_uuid())
            .bind(s.target.stored())
            .bind(s.timezone.name())
            .bind(s.local_time.to_string())
            .bind(s.profile.to_string())
            .bind(date_text(s.next_local_date))
            .bind(to_millis(s.next_run_at))
            .bind(to_millis(s.created_at))
            .bind(to_millis(s.updated_at))
            .fetch_one(&self.write)
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
             WHERE tenant_id = ?1 AND athlete_id = ?2"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.as_uuid())
            .bind(target.stored())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(schedule_from).transpose()
    }

    async fn delete_motivation_schedule(
        &self,
        tenant: TenantId,
        target: &ScheduleTarget,
    ) -> Result<bool, JobsError> {
        let done = sqlx::query(
            "DELETE FROM motivation_schedules WHERE tenant_id = ?1 AND athlete_id = ?2",
        )
        .bind(tenant.as_uuid())
        .bind(target.stored())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_motivation_subscriptions(&self, tenant: TenantId) -> Result<u64, JobsError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM motivation_schedules WHERE tenant_id = ?1 AND athlete_id <> ''",
        )
        .bind(tenant.as_uuid())
        .fetch_one(&self.read)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn tenants_without_schedule(&self, limit: u32) -> Result<Vec<TenantId>, JobsError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM tenants t WHERE NOT EXISTS \
               (SELECT 1 FROM motivation_schedules s WHERE s.tenant_id = t.id AND s.athlete_id = '') \
             ORDER BY created_at LIMIT ?1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        Ok(ids.into_iter().map(TenantId::from_uuid).collect())
    }

    async fn due_motivation_schedules(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<MotivationSchedule>, JobsError> {
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM motivation_schedules WHERE next_run_at <= ?1 \
             ORDER BY next_run_at LIMIT ?2"
        );
        let rows = sqlx::query(&sql)
            .bind(to_millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(schedule_from).collect()
    }

    async fn upcoming_motivation_schedules(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> Result<Vec<MotivationSchedule>, JobsError> {
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM motivation_schedules WHERE tenant_id = ?1 \
             ORDER BY next_run_at LIMIT ?2"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant.as_uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
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
        let done = sqlx::query(batch::Sqlite::ADVANCE_SCHEDULES)
            .bind(advance_payload::<batch::Sqlite>(advances)?)
            .bind(to_millis(now))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    async fn job_by_idempotency_key(
        &self,
        tenant: TenantId,
        key: &IdempotencyKey,
    ) -> Result<Option<Job>, JobsError> {
        let sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ?1 AND idempotency_key = ?2");
        let row = sqlx::query(&sql)
            .bind(tenant.as_uuid())
            .bind(key.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(job_from).transpose()
    }
}
