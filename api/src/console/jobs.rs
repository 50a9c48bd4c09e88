//! The jobs: every tenant's, filtered by tenant, kind, status and creation time, a page at a
//! time; a job with its input and output, the orchestrator's attempts, its webhook deliveries,
//! cancel and retry where it allows them, its trace's link and a progress report's charts.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::{Value, context};
use sparta_coach::JobKind;
use sparta_coach::progress_report::ChartName;
use sparta_jobs::view::JobView;
use sparta_jobs::{Job, JobId, JobStatus, JsonText};

use super::session::ConsoleSession;
use super::{NoFields, SessionForm, error_page, message, page, percent, serialized};
use crate::admin::{self};
use crate::context::AppCtx;
use crate::error::ApiError;
use crate::jobs::DeliveryView;
use crate::params::AdminListParams;

/// Jobs per page of the list.
const PAGE: u32 = 50;

pub(super) async fn jobs(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    // The form sends every field; an empty one is no filter.
    let mut filters: HashMap<String, String> = raw
        .into_iter()
        .filter(|(name, value)| {
            !value.is_empty()
                && [
                    "tenant_id",
                    "kind",
                    "status",
                    "created_from",
                    "created_to",
                    "cursor",
                ]
                .contains(&name.as_str())
        })
        .collect();
    filters.insert("limit".into(), PAGE.to_string());
    let tenants = match ctx.api.store.list_tenants().await {
        Ok(tenants) => tenants,
        Err(error) => return error_page(&session, &error.into()),
    };
    let names: HashMap<String, String> = tenants
        .iter()
        .map(|t| (t.id.to_string(), t.name.as_str().to_owned()))
        .collect();
    let listed = match AdminListParams::parse(&filters) {
        Ok(AdminListParams(tenant, query, _)) => ctx
            .api
            .store
            .list_jobs(tenant, &query)
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    let (jobs, error) = match listed {
        Ok(jobs) => (jobs, None),
        Err(error) => (Vec::new(), Some(message(&error))),
    };
    let next = (jobs.len() == PAGE as usize)
        .then(|| jobs.last().map(|j| next_page(&filters, j.id)))
        .flatten();
    let rows: Vec<Value> = jobs
        .iter()
        .map(|j| {
            context! {
                id => j.id.to_string(),
                kind => j.kind.as_str(),
                status => j.status.as_str(),
                tenant => names.get(&j.tenant_id.to_string()).cloned().unwrap_or_default(),
                created_at => j.created_at.to_rfc3339(),
                provider => j.provider.clone(),
            }
        })
        .collect();
    page(
        StatusCode::OK,
        "jobs.html",
        context! {
            title => "Jobs",
            section => "jobs",
            csrf => session.csrf.as_str(),
            tenants => tenants.iter().map(|t| context! { id => t.id.to_string(), name => t.name.as_str() }).collect::<Vec<_>>(),
            kinds => JobKind::names(),
            statuses => JobStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            filters => serialized(&filters),
            jobs => rows,
            next,
            error,
        },
    )
}

/// The list's next page: the same filters after `last`.
fn next_page(filters: &HashMap<String, String>, last: JobId) -> String {
    let mut pairs: Vec<(String, String)> = filters
        .iter()
        .filter(|(name, _)| name.as_str() != "cursor" && name.as_str() != "limit")
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    pairs.sort();
    pairs.push(("cursor".into(), crate::params::encode_cursor(last)));
    let query: Vec<String> = pairs
        .iter()
        .map(|(n, v)| format!("{n}={}", percent(v)))
        .collect();
    format!("/console/jobs?{}", query.join("&"))
}

/// The job of a path's id, any tenant's (an id that is not a UUID names no job: 404).
async fn any_job(ctx: &AppCtx, raw: &str) -> Result<Job, ApiError> {
    let id: JobId = raw
        .parse()
        .map_err(|_| ApiError::NotFound("no such job".into()))?;
    admin::any_job(ctx, id).await
}

pub(super) async fn job(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Path(raw): Path<String>,
    Query(notice): Query<HashMap<String, String>>,
) -> Response {
    let job = match any_job(&ctx, &raw).await {
        Ok(job) => job,
        Err(error) => return error_page(&session, &error),
    };
    let deliveries = match ctx.api.store.job_deliveries(job.tenant_id, job.id).await {
        Ok(records) => records
            .into_iter()
            .map(DeliveryView::from)
            .collect::<Vec<_>>(),
        Err(error) => return error_page(&session, &error.into()),
    };
    let tenant = match admin::tenant(&ctx, job.tenant_id).await {
        Ok(t) => t.name.as_str().to_owned(),
        Err(error) => return error_page(&session, &error),
    };
    let trace_link = trace_link(
        ctx.api.config.trace_viewer_url.as_deref(),
        job.traceparent.as_deref(),
    );
    let view = JobView::from(job);
    let pretty = |document: Option<&JsonText>| {
        document.and_then(|d| serde_json::to_string_pretty(&d.to_value()).ok())
    };
    let mut documents = Vec::new();
    if let Some(json) = pretty(view.input.as_ref()) {
        documents.push(context! { title => "Input", json });
    }
    if let Some(json) = pretty(view.output.as_ref().and_then(Option::as_ref)) {
        documents.push(context! { title => "Output", json });
    }
    let can_cancel = matches!(view.status, JobStatus::Queued | JobStatus::Running);
    let can_retry = view.status == JobStatus::Failed;
    // A report's charts, drawn by the console's own route (the API's needs the tenant's key).
    let charts: Vec<&str> =
        if view.kind == JobKind::ProgressReport && view.status == JobStatus::Succeeded {
            ChartName::ALL.iter().map(|c| c.as_str()).collect()
        } else {
            Vec::new()
        };
    page(
        StatusCode::OK,
        "job.html",
        context! {
            title => format!("Job {}", view.id),
            section => "jobs",
            csrf => session.csrf.as_str(),
            notice => notice.get("notice").cloned(),
            attempts => serialized(view.trace.clone().unwrap_or_default()),
            job => serialized(&view),
            tenant,
            documents,
            deliveries => serialized(&deliveries),
            can_cancel,
            can_retry,
            charts,
            trace_link,
            // While it is in flight, the page follows it (no script needed).
            refresh => can_cancel.then_some(1),
        },
    )
}

/// The viewer's link to a job's trace: the trace id of its W3C `traceparent`
/// (`00-<32 hex>-<16 hex>-<2 hex>`) in place of `{trace_id}`.
fn trace_link(viewer: Option<&str>, traceparent: Option<&str>) -> Option<String> {
    let trace_id = traceparent?.split('-').nth(1)?;
    let well_formed = trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| viewer.map(|url| url.replace("{trace_id}", trace_id)))?
}

/// A checked form's action on a job, then the job's page with `notice`.
async fn act_on_job<F>(
    ctx: &AppCtx,
    session: &ConsoleSession,
    raw: &str,
    notice: &str,
    action: F,
) -> Response
where
    F: AsyncFnOnce(&AppCtx, Job) -> Result<Job, ApiError>,
{
    let done = match any_job(ctx, raw).await {
        Ok(job) => action(ctx, job).await,
        Err(error) => Err(error),
    };
    match done {
        Ok(job) => Redirect::to(&format!(
            "/console/jobs/{}?notice={}",
            job.id,
            percent(notice)
        ))
        .into_response(),
        Err(error) => error_page(session, &error),
    }
}

pub(super) async fn retry(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    act_on_job(&ctx, &session, &raw, "Queued again.", async |ctx, job| {
        admin::retry_any(ctx, &job).await
    })
    .await
}

pub(super) async fn cancel(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    act_on_job(&ctx, &session, &raw, "Cancelled.", async |ctx, job| {
        let job = ctx
            .api
            .store
            .cancel_job(job.tenant_id, job.id, Utc::now())
            .await?;
        tracing::info!(job_id = %job.id, "job cancelled from the console");
        Ok(job)
    })
    .await
}

/// A progress report's chart, for the job page (the API's route needs the tenant's key).
pub(super) async fn chart(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Path((raw, name)): Path<(String, String)>,
) -> Response {
    let drawn = async {
        let job = any_job(&ctx, &raw).await?;
        let name = ChartName::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| ApiError::NotFound("no such chart".into()))?;
        crate::charts::render(&job, name)
    };
    match drawn.await {
        Ok(svg) => svg.into_response(),
        Err(error) => error_page(&session, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_link_takes_the_trace_id_of_the_traceparent() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_link(Some("https://jaeger.local/trace/{trace_id}"), Some(parent)).as_deref(),
            Some("https://jaeger.local/trace/4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_link(None, Some(parent)), None);
        assert_eq!(trace_link(Some("https://x/{trace_id}"), None), None);
        assert_eq!(
            trace_link(Some("https://x/{trace_id}"), Some("00-zz-00-01")),
            None
        );
    }
}
