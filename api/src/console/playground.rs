//! The playground: a kind's example input pre-filled, edited and submitted as a tenant through
//! the same parsing and insert as `POST /v1/jobs`, then followed on the job's page.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use sparta_coach::JobKind;

use super::session::ConsoleSession;
use super::tenants::tenant_id;
use super::{SessionForm, error_page, message, page, serialized};
use crate::admin::{self, TenantView};
use crate::context::AppCtx;

/// The playground's form: the kind's example input, or what was sent back with its errors.
async fn playground_page(
    ctx: &AppCtx,
    session: &ConsoleSession,
    status: StatusCode,
    kind: JobKind,
    input: String,
    tenant_id: Option<String>,
    errors: Vec<Value>,
) -> Response {
    let tenants = match ctx.api.store.list_tenants().await {
        Ok(tenants) => tenants,
        Err(error) => return error_page(session, &error.into()),
    };
    page(
        status,
        "playground.html",
        context! {
            title => "Playground",
            section => "playground",
            csrf => session.csrf.as_str(),
            kinds => JobKind::names(),
            kind => kind.as_str(),
            tenants => serialized(tenants.into_iter().map(TenantView::from).collect::<Vec<_>>()),
            tenant_id,
            input,
            errors,
        },
    )
}

/// The example input of `kind`, as `/v1/kinds` serves it, pretty-printed for editing.
fn example_text(ctx: &AppCtx, kind: JobKind) -> String {
    ctx.kinds
        .iter()
        .find(|k| k.kind == kind)
        .and_then(|k| serde_json::to_string_pretty(&k.example_input).ok())
        .unwrap_or_else(|| "{}".to_owned())
}

pub(super) async fn playground(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let kind = query
        .get("kind")
        .and_then(|k| k.parse().ok())
        .unwrap_or(JobKind::ALL[0]);
    let input = example_text(&ctx, kind);
    playground_page(
        &ctx,
        &session,
        StatusCode::OK,
        kind,
        input,
        None,
        Vec::new(),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct PlayForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    input: String,
}

/// Submits the playground's job as the chosen tenant, through the same parsing and the same
/// coalesced insert as `POST /v1/jobs`, then shows it.
pub(super) async fn play(
    State(ctx): State<AppCtx>,
    request_id: crate::edge::CurrentRequestId,
    SessionForm(session, form): SessionForm<PlayForm>,
) -> Response {
    let kind = form.kind.parse::<JobKind>().unwrap_or(JobKind::ALL[0]);
    let refused = |status: StatusCode, errors: Vec<Value>| {
        let ctx = ctx.clone();
        let session = session.clone();
        let (input, tenant) = (form.input.clone(), form.tenant_id.clone());
        async move { playground_page(&ctx, &session, status, kind, input, Some(tenant), errors).await }
    };
    let known = match tenant_id(&form.tenant_id) {
        Ok(id) => admin::tenant(&ctx, id).await.ok(),
        Err(_) => None,
    };
    let tenant = match known {
        Some(t) if t.disabled_at.is_none() => t.id,
        Some(t) => {
            let e = context! { field => "tenant_id", message => format!("{} is disabled: its jobs are refused", t.name.as_str()) };
            return refused(StatusCode::FORBIDDEN, vec![e]).await;
        }
        None => {
            let e = context! { field => "tenant_id", message => "pick a tenant" };
            return refused(StatusCode::BAD_REQUEST, vec![e]).await;
        }
    };
    let input: serde_json::Value = match serde_json::from_str(&form.input) {
        Ok(input) => input,
        Err(error) => {
            let e = context! { field => "input", message => format!("not JSON: {error}") };
            return refused(StatusCode::BAD_REQUEST, vec![e]).await;
        }
    };
    let body = serde_json::json!({ "kind": kind.as_str(), "input": input });
    let submitted = async {
        let submission = crate::submission::parse_value(body, &ctx.api.config.destinations)?;
        // The tenant's cap on queued jobs holds here as in `POST /v1/jobs`.
        ctx.queued
            .admit_queued(
                ctx.api.store.as_ref(),
                tenant,
                ctx.api.config.max_queued_per_tenant,
            )
            .await?;
        let new_job = submission.into_new_job(
            tenant,
            None,
            request_id.0,
            None,
            ctx.api.config.default_max_attempts,
        )?;
        ctx.submits.submit(new_job).await
    };
    match submitted.await {
        Ok(sparta_jobs::Inserted::Created(job) | sparta_jobs::Inserted::Replayed(job)) => {
            crate::metrics::jobs_submitted(job.kind, 1);
            Redirect::to(&format!("/console/jobs/{}?notice=Submitted.", job.id)).into_response()
        }
        Err(error) => {
            let issues = error.issues();
            let errors: Vec<Value> = if issues.is_empty() {
                vec![context! { message => message(&error) }]
            } else {
                issues
                    .iter()
                    .map(|i| context! { field => i.field.clone(), message => i.message.clone() })
                    .collect()
            };
            refused(error.status(), errors).await
        }
    }
}
