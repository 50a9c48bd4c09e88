//! `GET /v1/jobs/{id}/charts/{name}`: a succeeded `progress_report`'s charts as SVG, drawn from
//! the stored answer (`sparta_coach::progress_report::charts`). A report never changes once it
//! has succeeded, so a chart may be cached; it holds no script and loads nothing, and is served
//! with a policy that lets it load nothing either.

use aide::OperationOutput;
use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::generate::GenContext;
use aide::openapi::{MediaType, Operation, Response as DocResponse};
use aide::transform::TransformOperation;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sparta_coach::JobKind;
use sparta_coach::progress_report::{ChartName, ProgressReportOutput, charts};
use sparta_jobs::{Job, JobStatus};

use crate::auth::Caller;
use crate::context::AppCtx;
use crate::error::ApiError;
use crate::params::ChartParams;

/// The charts resource.
pub(crate) fn routes() -> ApiRouter<AppCtx> {
    ApiRouter::new().api_route("/v1/jobs/{id}/charts/{name}", get_with(chart, chart_docs))
}

/// An SVG document.
pub(crate) struct Svg(String);

impl IntoResponse for Svg {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml; charset=utf-8"),
        );
        // A succeeded report is final: its charts never change.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=86400, immutable"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

impl OperationOutput for Svg {
    type Inner = ();

    fn operation_response(_: &mut GenContext, _: &mut Operation) -> Option<DocResponse> {
        Some(DocResponse {
            description: "The chart: a self-contained SVG document (no script, no external font \
                          or link), labelled axes with units."
                .into(),
            content: std::iter::once(("image/svg+xml".to_owned(), MediaType::default())).collect(),
            ..Default::default()
        })
    }
}

/// `GET /v1/jobs/{id}/charts/{name}`.
async fn chart(
    State(ctx): State<AppCtx>,
    caller: Caller,
    ChartParams(id, name): ChartParams,
) -> Result<Svg, ApiError> {
    let job = ctx
        .api
        .store
        .get_job(caller.tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such job".into()))?;
    render(&caller.visible(job)?, name)
}

/// The chart `name` of a job (404 for another kind or a chart the report does not name, 409
/// until it has succeeded); the API's route and the console's both draw through it.
pub(crate) fn render(job: &Job, name: ChartName) -> Result<Svg, ApiError> {
    if job.kind != JobKind::ProgressReport {
        return Err(ApiError::NotFound(format!(
            "a {} job has no charts; progress reports have",
            job.kind
        )));
    }
    let output = match (&job.status, &job.output) {
        (JobStatus::Succeeded, Some(output)) => output,
        (status, _) => {
            return Err(ApiError::Conflict {
                message: format!("the report is {status}: its charts exist once it has succeeded"),
                details: json!({ "status": status }),
            });
        }
    };
    let report: ProgressReportOutput = output
        .read()
        .map_err(|e| ApiError::Internal(format!("stored report unreadable: {e}")))?;
    if !report.charts.iter().any(|c| c.name == name) {
        return Err(ApiError::NotFound(format!(
            "this report has no `{name}` chart"
        )));
    }
    charts::svg(&report, name)
        .map(Svg)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn chart_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getJobChart")
        .tag("jobs")
        .summary("A progress report's chart")
        .description(
            "One of the charts a succeeded `progress_report` names in `output.charts` \
             (`strength`: e1RM per lift over time; `volume`: weekly sets per muscle; `sessions`: \
             sessions per week against the plan), as SVG. 404 for another kind or an unknown \
             chart, 409 while the report has not succeeded.",
        )
        .response_with::<200, Svg, _>(|r| r)
}
