//! The tenants: each with its access (disable, enable), its API keys (create, shown once;
//! revoke), its LLM budget and spend, its motivation schedules due next, and the limits.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::context;
use serde::Deserialize;
use sparta_jobs::motivation::ScheduleTarget;
use sparta_jobs::{ApiKeyId, TenantId};

use super::session::ConsoleSession;
use super::{NoFields, SessionForm, error_page, message, page, serialized};
use crate::admin::{self, KeyView, TenantView};
use crate::context::AppCtx;
use crate::error::ApiError;
use crate::usage::usage_of;

/// Motivation schedules listed as due next on a tenant's page.
const UPCOMING: u32 = 10;

pub(super) async fn tenants(State(ctx): State<AppCtx>, session: ConsoleSession) -> Response {
    let tenants = match ctx.api.store.list_tenants().await {
        Ok(tenants) => tenants,
        Err(error) => return error_page(&session, &error.into()),
    };
    let config = &ctx.api.config;
    page(
        StatusCode::OK,
        "tenants.html",
        context! {
            title => "Tenants",
            section => "tenants",
            csrf => session.csrf.as_str(),
            tenants => serialized(tenants.into_iter().map(TenantView::from).collect::<Vec<_>>()),
            limits => context! {
                rate => config.rate_per_key_per_sec,
                burst => config.rate_burst_per_key,
                queued => config.max_queued_per_tenant,
                streams => config.max_streams_per_tenant,
            },
        },
    )
}

pub(super) fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("no such tenant".into()))
}

/// The tenant's page; `new_key` is shown once (the answer to its creation), `error` says why a
/// form was refused.
async fn tenant_page(
    ctx: &AppCtx,
    session: &ConsoleSession,
    raw: &str,
    status: StatusCode,
    new_key: Option<KeyView>,
    error: Option<String>,
) -> Response {
    let loaded = async {
        let id = tenant_id(raw)?;
        let tenant = admin::tenant(ctx, id).await?;
        let keys = ctx.api.store.list_api_keys(id).await?;
        let usage = usage_of(ctx, id).await?;
        let schedule = ctx
            .api
            .store
            .motivation_schedule(id, &ScheduleTarget::Tenant)
            .await?;
        let subscriptions = ctx.api.store.count_motivation_subscriptions(id).await?;
        let upcoming = ctx
            .api
            .store
            .upcoming_motivation_schedules(id, UPCOMING)
            .await?;
        Ok::<_, ApiError>((tenant, keys, usage, schedule, subscriptions, upcoming))
    };
    let (tenant, keys, usage, schedule, subscriptions, upcoming) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return error_page(session, &error),
    };
    page(
        status,
        "tenant.html",
        context! {
            title => format!("Tenant {}", tenant.name.as_str()),
            section => "tenants",
            csrf => session.csrf.as_str(),
            tenant => serialized(TenantView::from(tenant)),
            keys => serialized(keys.into_iter().map(KeyView::from).collect::<Vec<_>>()),
            usage => serialized(usage),
            schedule => schedule.map(|s| context! {
                local_time => s.local_time.to_string(),
                timezone => s.timezone.to_string(),
                next_run_at => s.next_run_at.to_rfc3339(),
            }),
            subscriptions,
            upcoming => upcoming
                .iter()
                .map(|s| context! {
                    athlete => match &s.target {
                        ScheduleTarget::Tenant => None,
                        ScheduleTarget::Athlete(athlete) => Some(athlete.as_str()),
                    },
                    local_time => s.local_time.to_string(),
                    timezone => s.timezone.to_string(),
                    next_run_at => s.next_run_at.to_rfc3339(),
                })
                .collect::<Vec<_>>(),
            new_key => new_key.map(serialized),
            error,
        },
    )
}

pub(super) async fn tenant(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Path(raw): Path<String>,
) -> Response {
    tenant_page(&ctx, &session, &raw, StatusCode::OK, None, None).await
}

async fn set_access(ctx: &AppCtx, session: &ConsoleSession, raw: &str, disabled: bool) -> Response {
    let changed = match tenant_id(raw) {
        Ok(id) => admin::set_disabled(ctx, id, disabled).await,
        Err(error) => Err(error),
    };
    match changed {
        Ok(t) => Redirect::to(&format!("/console/tenants/{}", t.id)).into_response(),
        Err(error) => error_page(session, &error),
    }
}

pub(super) async fn disable(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    set_access(&ctx, &session, &raw, true).await
}

pub(super) async fn enable(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    set_access(&ctx, &session, &raw, false).await
}

#[derive(Deserialize)]
pub(super) struct NewKeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_at: String,
}

pub(super) async fn create_key(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, form): SessionForm<NewKeyForm>,
) -> Response {
    let expires_at = match form.expires_at.trim() {
        "" => Ok(None),
        text => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| "expires_at: an RFC 3339 instant, like 2027-01-01T00:00:00Z".to_owned()),
    };
    let created = match (tenant_id(&raw), expires_at) {
        (Ok(id), Ok(expires_at)) => admin::new_key(&ctx, id, form.name, expires_at)
            .await
            .map_err(|e| message(&e)),
        (Err(error), _) => return error_page(&session, &error),
        (_, Err(why)) => Err(why),
    };
    match created {
        // The key is in this answer only: a page, not a redirect (never in a URL).
        Ok(key) => tenant_page(&ctx, &session, &raw, StatusCode::CREATED, Some(key), None).await,
        Err(why) => {
            tenant_page(
                &ctx,
                &session,
                &raw,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(why),
            )
            .await
        }
    }
}

pub(super) async fn revoke_key(
    State(ctx): State<AppCtx>,
    Path((raw, key)): Path<(String, String)>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    let revoked = match (tenant_id(&raw), key.parse::<ApiKeyId>()) {
        (Ok(id), Ok(key)) => admin::revoke(&ctx, id, key).await,
        _ => Err(ApiError::NotFound("no such key for this tenant".into())),
    };
    match revoked {
        Ok(_) => Redirect::to(&format!("/console/tenants/{raw}")).into_response(),
        Err(error) => error_page(&session, &error),
    }
}

#[derive(Deserialize)]
pub(super) struct BudgetForm {
    #[serde(default)]
    monthly_usd: String,
    #[serde(default)]
    daily_usd: String,
}

/// A dollar amount of the budget form (`None`: left empty).
fn dollars(field: &str, text: &str) -> Result<Option<f64>, ApiError> {
    match text.trim() {
        "" => Ok(None),
        t => t.parse::<f64>().map(Some).map_err(|_| {
            ApiError::Validation(vec![crate::error::FieldIssue::at(
                field,
                "a number of US dollars, like 25 or 2.50",
            )])
        }),
    }
}

pub(super) async fn budget(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, form): SessionForm<BudgetForm>,
) -> Response {
    let set = async {
        let id = tenant_id(&raw)?;
        let monthly = dollars("monthly_usd", &form.monthly_usd)?.ok_or_else(|| {
            ApiError::Validation(vec![crate::error::FieldIssue::at(
                "monthly_usd",
                "required (remove the budget to have none)",
            )])
        })?;
        let daily = dollars("daily_usd", &form.daily_usd)?;
        crate::usage::set_budget(&ctx, id, monthly, daily).await
    };
    match set.await {
        Ok(()) => Redirect::to(&format!("/console/tenants/{raw}")).into_response(),
        Err(error) if error.status() == StatusCode::NOT_FOUND => error_page(&session, &error),
        Err(error) => {
            let why = error
                .issues()
                .iter()
                .map(|i| format!("{}: {}", i.field.as_deref().unwrap_or("budget"), i.message))
                .collect::<Vec<_>>()
                .join("; ");
            let why = if why.is_empty() { message(&error) } else { why };
            tenant_page(
                &ctx,
                &session,
                &raw,
                StatusCode::BAD_REQUEST,
                None,
                Some(why),
            )
            .await
        }
    }
}

pub(super) async fn remove_budget(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    let removed = match tenant_id(&raw) {
        Ok(id) => ctx
            .api
            .store
            .set_budget(id, None, Utc::now())
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    match removed {
        Ok(()) => Redirect::to(&format!("/console/tenants/{raw}")).into_response(),
        Err(error) => error_page(&session, &error),
    }
}
