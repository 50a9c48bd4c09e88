//! `GET /v1/kinds`: the job kinds with their input and output JSON Schemas, straight from
//! `sparta-coach` (the one source of the schemas; the parser enforces exactly these).

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};
use sparta_coach::JobKind;

use crate::auth::Caller;
use crate::context::AppCtx;
use crate::envelope::Reply;
use crate::error::ApiError;

/// The kinds resource.
pub(crate) fn routes() -> ApiRouter<AppCtx> {
    ApiRouter::new().api_route("/v1/kinds", get_with(list, list_docs))
}

/// A job kind.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct KindView {
    /// The kind's name, as given in `kind` when submitting.
    pub kind: JobKind,
    /// What the kind answers.
    pub description: String,
    /// JSON Schema (draft 2020-12) of the submission's `input`.
    pub input_schema: Map<String, Value>,
    /// JSON Schema (draft 2020-12) of the job's `output` once succeeded.
    pub output_schema: Map<String, Value>,
    /// An `input` the kind accepts: the contract's example (`examples/requests/<kind>.json`).
    pub example_input: Map<String, Value>,
}

/// Every kind, in coach's stable order. Built once per router: the schemas are static.
pub(crate) fn all() -> Vec<KindView> {
    let object = |value: Value| match value {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    JobKind::ALL
        .iter()
        .map(|&kind| KindView {
            kind,
            description: kind.description().to_owned(),
            input_schema: object(sparta_coach::input_schema(kind)),
            output_schema: object(sparta_coach::output_schema(kind)),
            example_input: serde_json::from_str::<Value>(kind.example())
                .ok()
                .and_then(|body| body.get("input").cloned())
                .map(object)
                .unwrap_or_default(),
        })
        .collect()
}

/// `GET /v1/kinds`.
pub(crate) async fn list(
    State(ctx): State<AppCtx>,
    _caller: Caller,
) -> Result<Reply<KindView>, ApiError> {
    Ok(Reply::many(ctx.kinds.clone(), None))
}

pub(crate) fn list_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("listKinds")
        .tag("kinds")
        .summary("List job kinds")
        .description(
            "One entry per job kind with its input and output JSON Schemas (also in this \
             document's components, as `<Kind>Input` and `<Kind>Output`).",
        )
        .response_with::<200, Reply<KindView>, _>(|r| r.description("The kinds."))
}
