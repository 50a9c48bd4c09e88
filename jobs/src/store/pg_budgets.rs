//! [`BudgetStore`] on Postgres: a reservation holds the tenant's budget row (`FOR UPDATE`)
//! while it sums what is used and adds itself, so concurrent reservations are judged one after
//! the other.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::budgets::{
    Budget, BudgetStore, DaySpend, Reservation, Usage, UsdMicros, Used, day_and_month, fits,
};
use crate::JobsError;
use crate::model::{JobId, TenantId};
use crate::store::PgStore;

/// What is used of a tenant's budget (`$1`) today (`$2`) and this month (`$3`..`$4`), without
/// the reservation of job `$5`.
const USED_SQL: &str = "SELECT \
    (SELECT COALESCE(SUM(spent_micros), 0)::bigint FROM llm_spend \
      WHERE tenant_id = $1 AND day BETWEEN $3 AND $4) AS month_spent, \
    (SELECT COALESCE(SUM(amount_micros), 0)::bigint FROM llm_reservations \
      WHERE tenant_id = $1 AND day BETWEEN $3 AND $4 AND job_id <> $5) AS month_reserved, \
    (SELECT COALESCE(SUM(spent_micros), 0)::bigint FROM llm_spend \
      WHERE tenant_id = $1 AND day = $2) AS day_spent, \
    (SELECT COALESCE(SUM(amount_micros), 0)::bigint FROM llm_reservations \
      WHERE tenant_id = $1 AND day = $2 AND job_id <> $5) AS day_reserved";

async fn used(
    executor: impl sqlx::PgExecutor<'_>,
    tenant: TenantId,
    except: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<Used, JobsError> {
    let (day, first, last) = day_and_month(now);
    let (month_spent, month_reserved, day_spent, day_reserved): (i64, i64, i64, i64) =
        sqlx::query_as(USED_SQL)
            .bind(tenant.as_uuid())
            .bind(&day)
            .bind(&first)
            .bind(&last)
            .bind(except)
            .fetch_one(executor)
            .await?;
    Ok(Used {
        month_spent,
        month_reserved,
        day_spent,
        day_reserved,
    })
}

#[async_trait]
impl BudgetStore for PgStore {
    async fn set_budget(
        &self,
        tenant: TenantId,
        budget: Option<Budget>,
        now: DateTime<Utc>,
    ) -> Result<(), JobsError> {
        let Some(budget) = budget else {
            sqlx::query("DELETE FROM llm_budgets WHERE tenant_id = $1")
                .bind(tenant.as_uuid())
                .execute(&self.pool)
                .await?;
            return Ok(());
        };
        let done = sqlx::query(
            "INSERT INTO llm_budgets (tenant_id, monthly_micros, daily_micros, updated_at) \
             SELECT id, $2, $3, $4 FROM tenants WHERE id = $1 \
             ON CONFLICT (tenant_id) DO UPDATE SET monthly_micros = excluded.monthly_micros, \
               daily_micros = excluded.daily_micros, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_uuid())
        .bind(budget.monthly_micros)
        .bind(budget.daily_micros)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(JobsError::NotFound);
        }
        Ok(())
    }

    async fn reserve(
        &self,
        tenant: TenantId,
        job: JobId,
        amount: UsdMicros,
        now: DateTime<Utc>,
    ) -> Result<Reservation, JobsError> {
        let mut tx = self.pool.begin().await?;
        let budget: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT monthly_micros, daily_micros FROM llm_budgets WHERE tenant_id = $1 FOR UPDATE",
        )
        .bind(tenant.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((monthly_micros, daily_micros)) = budget else {
            tx.commit().await?;
            return Ok(Reservation::Unlimited);
        };
        let budget = Budget {
            monthly_micros,
            daily_micros,
        };
        let used = used(&mut *tx, tenant, job.as_uuid(), now).await?;
        if !fits(budget, used, amount) {
            tx.commit().await?;
            return Ok(Reservation::Refused);
        }
        sqlx::query(
            "INSERT INTO llm_reservations (job_id, tenant_id, day, amount_micros, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO UPDATE \
             SET day = excluded.day, amount_micros = excluded.amount_micros, \
                 created_at = excluded.created_at",
        )
        .bind(job.as_uuid())
        .bind(tenant.as_uuid())
        .bind(day_and_month(now).0)
        .bind(amount)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Reservation::Reserved)
    }

    async fn settle(
        &self,
        tenant: TenantId,
        job: JobId,
        spent: &[(String, UsdMicros, i64)],
        now: DateTime<Utc>,
    ) -> Result<(), JobsError> {
        let day = day_and_month(now).0;
        let mut tx = self.pool.begin().await?;
        for (model, micros, calls) in spent {
            sqlx::query(
                "INSERT INTO llm_spend (tenant_id, day, model, spent_micros, calls) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, day, model) DO UPDATE \
                 SET spent_micros = llm_spend.spent_micros + excluded.spent_micros, \
                     calls = llm_spend.calls + excluded.calls",
            )
            .bind(tenant.as_uuid())
            .bind(&day)
            .bind(model)
            .bind(micros)
            .bind(calls)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM llm_reservations WHERE job_id = $1")
            .bind(job.as_uuid())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn release_ended_reservations(&self) -> Result<u64, JobsError> {
        let done = sqlx::query(
            "DELETE FROM llm_reservations r USING jobs j WHERE j.id = r.job_id \
             AND j.status IN ('succeeded', 'failed', 'cancelled')",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn usage(&self, tenant: TenantId, now: DateTime<Utc>) -> Result<Usage, JobsError> {
        let budget: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT monthly_micros, daily_micros FROM llm_budgets WHERE tenant_id = $1",
        )
        .bind(tenant.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        let used = used(&self.pool, tenant, uuid::Uuid::nil(), now).await?;
        let (_, first, last) = day_and_month(now);
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT day, model, spent_micros, calls FROM llm_spend \
             WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day, model",
        )
        .bind(tenant.as_uuid())
        .bind(&first)
        .bind(&last)
        .fetch_all(&self.pool)
        .await?;
        Ok(Usage {
            budget: budget.map(|(monthly_micros, daily_micros)| Budget {
                monthly_micros,
                daily_micros,
            }),
            used,
            by_day: rows
                .into_iter()
                .map(|(day, model, spent_micros, calls)| DaySpend {
                    day,
                    model,
                    spent_micros,
                    calls,
                })
                .collect(),
        })
    }
}
