//! LLM budgets and spend: `GET /v1/usage` (the tenant's own), and the operator's
//! `PUT|DELETE /v1/admin/tenants/{tenant_id}/budget` and `GET /v1/admin/tenants/{tenant_id}/usage`.
//! Amounts are US dollars on the wire and micro-dollars in the store (exact sums). How a
//! budget is held (reservations of each job's worst case, settlement) is the worker's and the
//! store's (`sparta_jobs::store::budgets`).

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, put_with};
use aide::transform::TransformOperation;
use axum::extract::State;
use chrono::Utc;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sparta_jobs::store::budgets::{Budget, Usage, UsdMicros};
use sparta_jobs::{JobsError, TenantId};

use crate::auth::{Authenticated, Operator};
use crate::body::{JsonBody, deserialize_object};
use crate::context::AppCtx;
use crate::envelope::Reply;
use crate::error::ApiError;
use crate::params::AdminTenantParam;

/// The largest budget accepted, in US dollars.
const MAX_USD: f64 = 1_000_000.0;

/// The routes: the tenant's usage, and the operator's budget and usage of any tenant.
pub(crate) fn routes() -> ApiRouter<AppCtx> {
    ApiRouter::new()
        .api_route("/v1/usage", get_with(usage, usage_docs))
        .api_route(
            "/v1/admin/tenants/{tenant_id}/budget",
            put_with(put_budget, put_budget_docs).delete_with(delete_budget, delete_budget_docs),
        )
        .api_route(
            "/v1/admin/tenants/{tenant_id}/usage",
            get_with(admin_usage, admin_usage_docs),
        )
}

fn usd(micros: UsdMicros) -> f64 {
    micros as f64 / 1e6
}

/// The body of `PUT …/budget`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BudgetRequest {
    /// The most the tenant's jobs may spend on priced models in a calendar month (UTC), in US
    /// dollars.
    #[schemars(range(min = 0.0, max = 1_000_000.0))]
    pub monthly_usd: f64,
    /// The most they may spend in a day (UTC), if limited per day too.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1_000_000.0))]
    pub daily_usd: Option<f64>,
}

/// A budget, in US dollars.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema)]
pub(crate) struct BudgetView {
    /// The monthly ceiling.
    pub monthly_usd: f64,
    /// The daily ceiling, if any.
    pub daily_usd: Option<f64>,
}

/// Spend, reservations and what is left of a period.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema)]
pub(crate) struct PeriodView {
    /// Settled spend.
    pub spent_usd: f64,
    /// Reserved by jobs running now (their worst case, until they end).
    pub reserved_usd: f64,
    /// What new jobs may still reserve; `null` without a budget.
    pub remaining_usd: Option<f64>,
}

/// One day's spend on one model.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct DayView {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The model's name in the chains.
    pub model: String,
    /// Spent.
    pub spent_usd: f64,
    /// Attempts that cost something.
    pub calls: i64,
}

/// A tenant's budget and spend this month and today.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct UsageView {
    /// The budget, or `null`: no ceiling.
    pub budget: Option<BudgetView>,
    /// This calendar month (UTC).
    pub month: PeriodView,
    /// Today (UTC); `remaining_usd` is the least of what the month and the day leave.
    pub today: PeriodView,
    /// This month's spend by day and model.
    pub by_day: Vec<DayView>,
}

impl From<Usage> for UsageView {
    fn from(usage: Usage) -> Self {
        let used = usage.used;
        let month_left = usage
            .budget
            .map(|b| b.monthly_micros - used.month_spent - used.month_reserved);
        let day_left = usage.budget.map(|b| {
            let day = b
                .daily_micros
                .map_or(UsdMicros::MAX, |d| d - used.day_spent - used.day_reserved);
            day.min(b.monthly_micros - used.month_spent - used.month_reserved)
        });
        Self {
            budget: usage.budget.map(|b| BudgetView {
                monthly_usd: usd(b.monthly_micros),
                daily_usd: b.daily_micros.map(usd),
            }),
            month: PeriodView {
                spent_usd: usd(used.month_spent),
                reserved_usd: usd(used.month_reserved),
                remaining_usd: month_left.map(|m| usd(m.max(0))),
            },
            today: PeriodView {
                spent_usd: usd(used.day_spent),
                reserved_usd: usd(used.day_reserved),
                remaining_usd: day_left.map(|d| usd(d.max(0))),
            },
            by_day: usage
                .by_day
                .into_iter()
                .map(|d| DayView {
                    day: d.day,
                    model: d.model,
                    spent_usd: usd(d.spent_micros),
                    calls: d.calls,
                })
                .collect(),
        }
    }
}

/// A tenant's budget and spend (the routes and the console).
pub(crate) async fn usage_of(ctx: &AppCtx, tenant: TenantId) -> Result<UsageView, ApiError> {
    Ok(ctx.api.store.usage(tenant, Utc::now()).await?.into())
}

/// `GET /v1/usage`.
pub(crate) async fn usage(
    State(ctx): State<AppCtx>,
    Authenticated(tenant): Authenticated,
) -> Result<Reply<UsageView>, ApiError> {
    Ok(Reply::ok(usage_of(&ctx, tenant.id).await?))
}

fn usage_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getUsage")
        .tag("usage")
        .summary("The tenant's LLM budget and spend")
        .description(
            "Spend settled and reserved this month and today (UTC), what is left, and the \
             month's spend by day and model. A job that may call a priced model reserves its \
             worst case before it runs; what does not fit is answered by the rest of its chain, \
             in the end the engine (`budget_exhausted` in its trace).",
        )
        .response_with::<200, Reply<UsageView>, _>(|r| r.description("The usage."))
}

/// A dollar amount as micro-dollars, or the issue with `field`.
fn micros(field: &str, value: f64) -> Result<UsdMicros, ApiError> {
    if !(0.0..=MAX_USD).contains(&value) {
        return Err(ApiError::invalid(
            field,
            format!("{field} must be from 0 to {MAX_USD} US dollars"),
        ));
    }
    // Exact: at most 1e12 micro-dollars.
    #[allow(clippy::cast_possible_truncation)]
    Ok((value * 1e6).round() as UsdMicros)
}

/// `PUT /v1/admin/tenants/{tenant_id}/budget`.
pub(crate) async fn put_budget(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(tenant): AdminTenantParam,
    JsonBody(bytes, _): JsonBody<BudgetRequest>,
) -> Result<Reply<UsageView>, ApiError> {
    let request: BudgetRequest = deserialize_object(&bytes, &["monthly_usd", "daily_usd"])?;
    set_budget(&ctx, tenant, request.monthly_usd, request.daily_usd).await?;
    Ok(Reply::ok(usage_of(&ctx, tenant).await?))
}

/// Sets a tenant's budget in dollars, checked to the micro-dollar (the admin route and the
/// console).
pub(crate) async fn set_budget(
    ctx: &AppCtx,
    tenant: TenantId,
    monthly_usd: f64,
    daily_usd: Option<f64>,
) -> Result<(), ApiError> {
    let budget = Budget {
        monthly_micros: micros("monthly_usd", monthly_usd)?,
        daily_micros: daily_usd.map(|d| micros("daily_usd", d)).transpose()?,
    };
    ctx.api
        .store
        .set_budget(tenant, Some(budget), Utc::now())
        .await
        .map_err(|e| match e {
            JobsError::NotFound => ApiError::NotFound("no such tenant".into()),
            other => other.into(),
        })?;
    tracing::warn!(tenant_id = %tenant, monthly_usd, daily_usd, "LLM budget set");
    Ok(())
}

fn put_budget_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminPutBudget")
        .tag("admin")
        .summary("Set a tenant's LLM budget (operator)")
        .response_with::<200, Reply<UsageView>, _>(|r| r.description("The budget and its use."))
        .response_with::<404, ApiError, _>(|r| r.description("`NOT_FOUND`: no such tenant."))
}

/// `DELETE /v1/admin/tenants/{tenant_id}/budget`: no ceiling any more.
pub(crate) async fn delete_budget(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(tenant): AdminTenantParam,
) -> Result<Reply<UsageView>, ApiError> {
    ctx.api.store.set_budget(tenant, None, Utc::now()).await?;
    Ok(Reply::ok(usage_of(&ctx, tenant).await?))
}

fn delete_budget_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminDeleteBudget")
        .tag("admin")
        .summary("Remove a tenant's LLM budget (operator)")
        .response_with::<200, Reply<UsageView>, _>(|r| r.description("The usage, unlimited."))
}

/// `GET /v1/admin/tenants/{tenant_id}/usage`.
pub(crate) async fn admin_usage(
    State(ctx): State<AppCtx>,
    _: Operator,
    AdminTenantParam(tenant): AdminTenantParam,
) -> Result<Reply<UsageView>, ApiError> {
    Ok(Reply::ok(usage_of(&ctx, tenant).await?))
}

fn admin_usage_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("adminGetUsage")
        .tag("admin")
        .summary("A tenant's LLM budget and spend (operator)")
        .response_with::<200, Reply<UsageView>, _>(|r| r.description("The usage."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparta_jobs::store::budgets::Used;

    #[test]
    fn what_is_left_is_the_least_of_month_and_day() {
        let view = UsageView::from(Usage {
            budget: Some(Budget {
                monthly_micros: 10_000_000,
                daily_micros: Some(3_000_000),
            }),
            used: Used {
                month_spent: 8_000_000,
                month_reserved: 500_000,
                day_spent: 1_000_000,
                day_reserved: 500_000,
            },
            by_day: Vec::new(),
        });
        assert_eq!(view.month.remaining_usd, Some(1.5));
        assert_eq!(view.today.remaining_usd, Some(1.5));
        assert!(micros("monthly_usd", -1.0).is_err());
        assert_eq!(micros("monthly_usd", 12.345678).unwrap(), 12_345_678);
    }
}
