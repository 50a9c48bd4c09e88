//! Tenants' LLM budgets: a monthly ceiling (and an optional daily one) in micro-dollars, the
//! reservations of the jobs running now (each job's worst case, reserved before it may call a
//! priced model) and the spend settled per day and model. A reservation is taken under a lock
//! on the tenant's budget (Postgres: `FOR UPDATE` on its row; SQLite: its single writer), so
//! concurrent jobs never reserve together more than the budget: the tenant is never overspent.
//! Written once for both stores (through the store's `Backend` seam).

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use super::{Backend, PgStore, SqliteStore};
use crate::JobsError;
use crate::model::{JobId, TenantId};

/// Micro-dollars (millionths of a US dollar): exact sums, where floats would drift.
pub type UsdMicros = i64;

/// A tenant's ceilings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// The most the tenant may spend in a calendar month (UTC).
    pub monthly_micros: UsdMicros,
    /// The most it may spend in a day (UTC), if limited per day too.
    pub daily_micros: Option<UsdMicros>,
}

/// What is used of a budget in a month and a day: settled spend and open reservations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Used {
    /// Settled this month.
    pub month_spent: UsdMicros,
    /// Reserved this month by jobs still running.
    pub month_reserved: UsdMicros,
    /// Settled today.
    pub day_spent: UsdMicros,
    /// Reserved today by jobs still running.
    pub day_reserved: UsdMicros,
}

/// Whether a job may call priced models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The tenant has no budget: no ceiling, nothing reserved.
    Unlimited,
    /// Its worst case is reserved.
    Reserved,
    /// Its worst case does not fit what is left: it may not call priced models.
    Refused,
}

/// Whether `amount` more fits `budget` given what is `used`.
fn fits(budget: Budget, used: Used, amount: UsdMicros) -> bool {
    let month = used.month_spent + used.month_reserved + amount <= budget.monthly_micros;
    let day = budget
        .daily_micros
        .is_none_or(|daily| used.day_spent + used.day_reserved + amount <= daily);
    month && day
}

/// A UTC day as stored (`YYYY-MM-DD`), and the first and last day of its month: months are
/// ranges of those strings.
fn day_and_month(at: DateTime<Utc>) -> (String, String, String) {
    let day = at.date_naive();
    let first = NaiveDate::from_ymd_opt(day.year(), day.month(), 1).unwrap_or(day);
    let (year, month) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    let last = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|next| next.pred_opt())
        .unwrap_or(day);
    let text = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    (text(day), text(first), text(last))
}

/// One day's settled spend on one model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DaySpend {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The model's name in the chains.
    pub model: String,
    /// Spent.
    pub spent_micros: UsdMicros,
    /// Attempts that cost something.
    pub calls: i64,
}

/// A tenant's budget and how it is used at a moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// The ceilings, if the tenant has a budget.
    pub budget: Option<Budget>,
    /// Spend and reservations of the month and the day.
    pub used: Used,
    /// The month's spend, by day and model.
    pub by_day: Vec<DaySpend>,
}

/// The store's side of LLM budgets.
#[async_trait]
pub trait BudgetStore: Send + Sync + 'static {
    /// Sets a tenant's budget (`None`: no budget, no ceiling). `NotFound` for an unknown tenant.
    async fn set_budget(
        &self,
        tenant: TenantId,
        budget: Option<Budget>,
        now: DateTime<Utc>,
    ) -> Result<(), JobsError>;

    /// Reserves `amount` for `job` (replacing what the job had reserved) if it fits the
    /// tenant's budget with everything spent and reserved this month and day.
    async fn reserve(
        &self,
        tenant: TenantId,
        job: JobId,
        amount: UsdMicros,
        now: DateTime<Utc>,
    ) -> Result<Reservation, JobsError>;

    /// Ends `job`'s reservation and adds what its attempt spent, per model (`(model, spent,
    /// calls)`), to the day's spend.
    async fn settle(
        &self,
        tenant: TenantId,
        job: JobId,
        spent: &[(String, UsdMicros, i64)],
        now: DateTime<Utc>,
    ) -> Result<(), JobsError>;

    /// Drops the reservations of jobs that have ended (a worker that died mid-job never
    /// settled); returns how many.
    async fn release_ended_reservations(&self) -> Result<u64, JobsError>;

    /// A tenant's budget and its use in the month and day of `now`.
    async fn usage(&self, tenant: TenantId, now: DateTime<Utc>) -> Result<Usage, JobsError>;
}

/// What is used of a tenant's budget (`$1`) today (`$2`) and this month (`$3`..`$4`), without
/// the reservation of job `$5`.
const USED_SQL: &str = "SELECT \
    (SELECT CAST(COALESCE(SUM(spent_micros), 0) AS bigint) FROM llm_spend \
      WHERE tenant_id = $1 AND day BETWEEN $3 AND $4) AS month_spent, \
    (SELECT CAST(COALESCE(SUM(amount_micros), 0) AS bigint) FROM llm_reservations \
      WHERE tenant_id = $1 AND day BETWEEN $3 AND $4 AND job_id <> $5) AS month_reserved, \
    (SELECT CAST(COALESCE(SUM(spent_micros), 0) AS bigint) FROM llm_spend \
      WHERE tenant_id = $1 AND day = $2) AS day_spent, \
    (SELECT CAST(COALESCE(SUM(amount_micros), 0) AS bigint) FROM llm_reservations \
      WHERE tenant_id = $1 AND day = $2 AND job_id <> $5) AS day_reserved";

/// Implements [`BudgetStore`] for a store. A reservation holds the budget row (`FOR_UPDATE`) while
/// it is judged.
macro_rules! budget_store {
    ($store:ty) => {
        impl $store {
            /// [`USED_SQL`] on `executor`.
            async fn budget_used(
                executor: impl sqlx::Executor<'_, Database = <$store as Backend>::Db>,
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
        }

        #[async_trait]
        impl BudgetStore for $store {
            async fn set_budget(
                &self,
                tenant: TenantId,
                budget: Option<Budget>,
                now: DateTime<Utc>,
            ) -> Result<(), JobsError> {
                let Some(budget) = budget else {
                    sqlx::query("DELETE FROM llm_budgets WHERE tenant_id = $1")
                        .bind(tenant.as_uuid())
                        .execute(self.writer())
                        .await?;
                    return Ok(());
                };
                let done = sqlx::query(
                    "INSERT INTO llm_budgets (tenant_id, monthly_micros, daily_micros, updated_at) \
                     SELECT id, $2, $3, $4 FROM tenants WHERE id = $1 \
                     ON CONFLICT (tenant_id) DO UPDATE \
                     SET monthly_micros = excluded.monthly_micros, \
                       daily_micros = excluded.daily_micros, updated_at = excluded.updated_at",
                )
                .bind(tenant.as_uuid())
                .bind(budget.monthly_micros)
                .bind(budget.daily_micros)
                .bind(Self::instant(now))
                .execute(self.writer())
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
                let mut tx = self.writer().begin().await?;
                let sql = format!(
                    "SELECT monthly_micros, daily_micros FROM llm_budgets WHERE tenant_id = $1{}",
                    Self::FOR_UPDATE
                );
                let budget: Option<(i64, Option<i64>)> = sqlx::query_as(&sql)
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
                let used = Self::budget_used(&mut *tx, tenant, job.as_uuid(), now).await?;
                if !fits(budget, used, amount) {
                    tx.commit().await?;
                    return Ok(Reservation::Refused);
                }
                sqlx::query(
                    "INSERT INTO llm_reservations \
                       (job_id, tenant_id, day, amount_micros, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO UPDATE \
                     SET day = excluded.day, amount_micros = excluded.amount_micros, \
                         created_at = excluded.created_at",
                )
                .bind(job.as_uuid())
                .bind(tenant.as_uuid())
                .bind(day_and_month(now).0)
                .bind(amount)
                .bind(Self::instant(now))
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
                let mut tx = self.writer().begin().await?;
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
                    "DELETE FROM llm_reservations WHERE EXISTS (SELECT 1 FROM jobs j \
                     WHERE j.id = llm_reservations.job_id \
                       AND j.status IN ('succeeded', 'failed', 'cancelled'))",
                )
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected())
            }

            async fn usage(
                &self,
                tenant: TenantId,
                now: DateTime<Utc>,
            ) -> Result<Usage, JobsError> {
                let budget: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "SELECT monthly_micros, daily_micros FROM llm_budgets WHERE tenant_id = $1",
                )
                .bind(tenant.as_uuid())
                .fetch_optional(self.reader())
                .await?;
                let used = Self::budget_used(self.reader(), tenant, uuid::Uuid::nil(), now).await?;
                let (_, first, last) = day_and_month(now);
                let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
                    "SELECT day, model, spent_micros, calls FROM llm_spend \
                     WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day, model",
                )
                .bind(tenant.as_uuid())
                .bind(&first)
                .bind(&last)
                .fetch_all(self.reader())
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
    };
}

budget_store!(PgStore);
budget_store!(SqliteStore);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_fits_month_and_day() {
        let budget = Budget {
            monthly_micros: 100,
            daily_micros: Some(40),
        };
        let used = Used {
            month_spent: 50,
            month_reserved: 10,
            day_spent: 20,
            day_reserved: 10,
        };
        assert!(fits(budget, used, 10));
        assert!(!fits(budget, used, 11), "the day's ceiling");
        let monthly_only = Budget {
            daily_micros: None,
            ..budget
        };
        assert!(fits(monthly_only, used, 40));
        assert!(!fits(monthly_only, used, 41), "the month's ceiling");
    }

    #[test]
    fn months_are_ranges_of_days() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            day_and_month(at("2026-12-06T23:59:59Z")),
            (
                "2026-12-06".into(),
                "2026-12-01".into(),
                "2026-12-31".into()
            )
        );
        assert_eq!(
            day_and_month(at("2028-02-10T00:00:00Z")).2,
            "2028-02-29",
            "a leap year"
        );
    }
}
