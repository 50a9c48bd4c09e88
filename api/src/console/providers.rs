//! The providers page: every model of the chains and `builtin` — its breaker here and any
//! forced state (force open or closed, lift), and from the workers' activity its attempts, error
//! classes, latency percentiles and cache hit rate over the last hour, and its calls, tokens and
//! spend per day over the last fortnight (two charts and their table).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::{Value, context};
use serde::Deserialize;
use sparta_jobs::activity::{Activity, Period};

use super::activity::{DAYS, HOUR_MINUTES, ModelLine, Periods, dollars};
use super::session::ConsoleSession;
use super::{SessionForm, chart, error_page, message, page, percent, serialized};
use crate::admin;
use crate::context::AppCtx;
use crate::error::ApiError;

/// Every model of the chains, of the last hour's activity and `builtin`: this process's breaker
/// state (when it runs workers), the forced state if any, and `hour`'s figures when given.
pub(super) async fn models(ctx: &AppCtx) -> Result<Vec<Value>, ApiError> {
    with_activity(ctx, None).await
}

async fn with_activity(ctx: &AppCtx, hour: Option<&Activity>) -> Result<Vec<Value>, ApiError> {
    let overrides = ctx.api.store.breaker_overrides().await?;
    let live: Vec<(String, &'static str)> = ctx
        .api
        .breakers
        .as_ref()
        .map(|states| states())
        .unwrap_or_default();
    let mut names: Vec<String> = ctx.api.config.models.clone();
    names.extend(live.iter().map(|(m, _)| m.clone()));
    names.extend(overrides.iter().map(|o| o.model.clone()));
    names.extend(hour.iter().flat_map(|h| h.models.keys().cloned()));
    names.push(admin::BUILTIN_MODEL.to_owned());
    names.sort();
    names.dedup();
    let empty = Default::default();
    Ok(names
        .iter()
        .map(|model| {
            context! {
                model => model.as_str(),
                action => format!("/console/providers/{}", percent(model)),
                live => live.iter().find(|(m, _)| m == model).map(|(_, s)| *s),
                forced => overrides
                    .iter()
                    .find(|o| &o.model == model)
                    .map(|o| serialized(admin::BreakerOverrideView::from(o.clone()))),
                hour => hour.map(|h| serialized(ModelLine::of(h.models.get(model).unwrap_or(&empty)))),
            }
        })
        .collect())
}

/// The page, with an error above the table when a form was refused.
async fn providers_page(
    ctx: &AppCtx,
    session: &ConsoleSession,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    match providers_context(ctx).await {
        Ok(figures) => page(
            status,
            "providers.html",
            context! {
                title => "Providers",
                section => "providers",
                csrf => session.csrf.as_str(),
                error,
                ..figures
            },
        ),
        Err(error) => error_page(session, &error),
    }
}

async fn providers_context(ctx: &AppCtx) -> Result<Value, ApiError> {
    let now = Utc::now();
    let hour = Periods::read(ctx, Period::Minute, HOUR_MINUTES, now).await?;
    let days = Periods::read(ctx, Period::Day, DAYS, now).await?;
    let per_day = |value: fn(&sparta_jobs::activity::ModelActivity) -> f64| {
        days.periods
            .iter()
            .map(|(day, a)| {
                let by_model: BTreeMap<String, f64> = a
                    .models
                    .iter()
                    .map(|(m, f)| (m.clone(), value(f)))
                    .collect();
                (*day, by_model)
            })
            .collect::<Vec<_>>()
    };
    let tokens = chart::per_day(
        &per_day(|m| (m.input_tokens + m.output_tokens) as f64),
        "Tokens (prompt + completion)",
        "Tokens per day by model, last 14 days",
    )?;
    let spend = chart::per_day(
        &per_day(|m| m.cost_microusd as f64 / 1e6),
        "Spend (USD)",
        "Spend per day by model, last 14 days",
    )?;
    let table: Vec<Value> = days
        .periods
        .iter()
        .rev()
        .flat_map(|(day, a)| {
            a.models.iter().map(move |(model, f)| {
                context! {
                    day => day.format("%Y-%m-%d").to_string(),
                    model => model.as_str(),
                    calls => f.attempts.values().sum::<u64>(),
                    input_tokens => f.input_tokens,
                    output_tokens => f.output_tokens,
                    spend => dollars(f.cost_microusd),
                }
            })
        })
        .collect();
    Ok(context! {
        models => with_activity(ctx, Some(&hour.total)).await?,
        cache => context! {
            hits => hour.total.cache_hits,
            misses => hour.total.cache_misses,
        },
        tokens_chart => Value::from_safe_string(tokens),
        spend_chart => Value::from_safe_string(spend),
        days => table,
    })
}

pub(super) async fn providers(State(ctx): State<AppCtx>, session: ConsoleSession) -> Response {
    providers_page(&ctx, &session, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(super) struct BreakerForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn force_breaker(
    State(ctx): State<AppCtx>,
    Path(model): Path<String>,
    SessionForm(session, form): SessionForm<BreakerForm>,
) -> Response {
    let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
    // The same bound on a model's name as `/v1/admin/breakers/{model}`.
    let model = match crate::params::ModelParam::parse(&model) {
        Ok(crate::params::ModelParam(model)) => model,
        Err(error) => {
            return providers_page(&ctx, &session, error.status(), Some(message(&error))).await;
        }
    };
    let done = match form.state.as_str() {
        "open" => admin::force(&ctx, &model, true, reason).await.map(|_| ()),
        "closed" => admin::force(&ctx, &model, false, reason).await.map(|_| ()),
        "lift" => admin::lift(&ctx, &model).await,
        _ => Err(ApiError::Validation(vec![crate::error::FieldIssue::at(
            "state",
            "open, closed or lift",
        )])),
    };
    match done {
        Ok(()) => Redirect::to("/console/providers").into_response(),
        Err(error) => providers_page(&ctx, &session, error.status(), Some(message(&error))).await,
    }
}
