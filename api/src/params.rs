//! Path, query and header parameters: parsed by hand so that every refusal names the parameter
//! (`field` = its name) and documented by hand in the OpenAPI document.

use std::collections::HashMap;
use std::time::Duration;

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::{
    HeaderStyle, Operation, Parameter, ParameterData, ParameterSchemaOrContent, PathStyle,
    QueryStyle, SchemaObject,
};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use schemars::Schema;
use serde_json::{Value, json};
use sparta_coach::JobKind;
use sparta_coach::progress_report::ChartName;
use sparta_jobs::view::Included;
use sparta_jobs::{ApiKeyId, IdempotencyKey, JobId, JobStatus, ListQuery, TenantId};
use uuid::Uuid;

use crate::context::AppCtx;
use crate::error::{ApiError, FieldIssue};

/// Default page size of `GET /v1/jobs`.
pub(crate) const DEFAULT_LIMIT: u32 = 20;
/// Largest page size of `GET /v1/jobs`.
pub(crate) const MAX_LIMIT: u32 = 100;
/// The header carrying a client's idempotency key.
pub(crate) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// A schema from JSON (only objects and booleans are schemas; everything passed here is one).
fn schema(value: Value) -> Schema {
    Schema::try_from(value).unwrap_or_default()
}

fn data(name: &str, description: &str, required: bool, json_schema: Schema) -> ParameterData {
    ParameterData {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required,
        deprecated: None,
        format: ParameterSchemaOrContent::Schema(SchemaObject {
            json_schema,
            example: None,
            external_docs: None,
        }),
        example: None,
        examples: Default::default(),
        explode: None,
        extensions: Default::default(),
    }
}

fn query(name: &str, description: &str, json_schema: Schema) -> Parameter {
    Parameter::Query {
        parameter_data: data(name, description, false, json_schema),
        allow_reserved: false,
        style: QueryStyle::Form,
        allow_empty_value: None,
    }
}

/// Documents a path parameter with its schema (type, bounds, pattern).
pub(crate) fn path_parameter(
    ctx: &mut GenContext,
    operation: &mut Operation,
    name: &str,
    description: &str,
    json_schema: Value,
) {
    let parameter = Parameter::Path {
        parameter_data: data(name, description, true, schema(json_schema)),
        style: PathStyle::Simple,
    };
    aide::operation::add_parameters(ctx, operation, [parameter]);
}

/// An optional header parameter for the document.
pub(crate) fn header_doc(name: &str, description: &str, json_schema: Value) -> Parameter {
    Parameter::Header {
        parameter_data: data(name, description, false, schema(json_schema)),
        style: HeaderStyle::Simple,
    }
}

/// An optional query parameter for the document.
pub(crate) fn query_doc(name: &str, description: &str, json_schema: Value) -> Parameter {
    query(name, description, schema(json_schema))
}

/// Documents an optional query parameter.
pub(crate) fn query_parameter(
    ctx: &mut GenContext,
    operation: &mut Operation,
    name: &str,
    description: &str,
    json_schema: Value,
) {
    aide::operation::add_parameters(
        ctx,
        operation,
        [query(name, description, schema(json_schema))],
    );
}

/// The job id of `/v1/jobs/{id}`. A value that is not a UUID is 404 `NOT_FOUND`, exactly like
/// an unknown id: it names no job.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JobIdParam(pub JobId);

impl<S: Send + Sync> FromRequestParts<S> for JobIdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let not_found = || ApiError::NotFound("no such job".into());
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        raw.parse().map(Self).map_err(|_| not_found())
    }
}

impl OperationInput for JobIdParam {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        uuid_path(
            ctx,
            operation,
            "id",
            "The job's id (a UUID). Anything else is answered 404, like an unknown id.",
        );
    }
}

/// The tenant of `/v1/admin/tenants/{tenant_id}/…`; not a UUID: 404, like an unknown tenant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdminTenantParam(pub TenantId);

/// The tenant and key of `/v1/admin/tenants/{tenant_id}/keys/{key_id}/…`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdminKeyParams(pub TenantId, pub ApiKeyId);

/// The path's named segments.
async fn path_segments<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<HashMap<String, String>, ApiError> {
    Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|Path(segments)| segments)
        .map_err(|_| ApiError::NotFound("no such route".into()))
}

impl<S: Send + Sync> FromRequestParts<S> for AdminTenantParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = path_segments(parts, state).await?;
        segments
            .get("tenant_id")
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| ApiError::NotFound("no such tenant".into()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminKeyParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = path_segments(parts, state).await?;
        let tenant = segments.get("tenant_id").and_then(|id| id.parse().ok());
        let key = segments.get("key_id").and_then(|id| id.parse().ok());
        match (tenant, key) {
            (Some(tenant), Some(key)) => Ok(Self(tenant, key)),
            _ => Err(ApiError::NotFound("no such key for this tenant".into())),
        }
    }
}

/// The job and chart of `/v1/jobs/{id}/charts/{name}`: a job id that is not a UUID, or a name
/// that is not a chart, is 404 like an unknown one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChartParams(pub JobId, pub ChartName);

impl<S: Send + Sync> FromRequestParts<S> for ChartParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = path_segments(parts, state).await?;
        let id = segments
            .get("id")
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| ApiError::NotFound("no such job".into()))?;
        let name = segments
            .get("name")
            .and_then(|name| ChartName::ALL.iter().find(|c| c.as_str() == name))
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no such chart; a progress report has {}",
                    ChartName::ALL
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        Ok(Self(id, *name))
    }
}

impl OperationInput for ChartParams {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        uuid_path(ctx, operation, "id", "The job's id (a UUID).");
        let names: Vec<&str> = ChartName::ALL.iter().map(|c| c.as_str()).collect();
        let parameter = Parameter::Path {
            parameter_data: data(
                "name",
                "The chart, as the report's `charts[].name` lists it.",
                true,
                schema(json!({"type": "string", "enum": names})),
            ),
            style: PathStyle::Simple,
        };
        aide::operation::add_parameters(ctx, operation, [parameter]);
    }
}

/// The model of `/v1/admin/breakers/{model}`: 1 to 100 printable ASCII characters.
#[derive(Clone, Debug)]
pub(crate) struct ModelParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ModelParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = path_segments(parts, state).await?;
        Self::parse(segments.get("model").map_or("", String::as_str))
    }
}

impl ModelParam {
    /// A model's name as the routes take it: 1 to 100 printable ASCII characters.
    pub(crate) fn parse(model: &str) -> Result<Self, ApiError> {
        if (1..=100).contains(&model.len()) && model.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(model.to_owned()))
        } else {
            Err(ApiError::Validation(vec![FieldIssue::at(
                "model",
                "a model name of 1 to 100 printable characters",
            )]))
        }
    }
}

impl OperationInput for ModelParam {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let parameter = Parameter::Path {
            parameter_data: data(
                "model",
                "A model's name in the chains (`ai.models.*`, or `builtin`).",
                true,
                schema(
                    json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[!-~]+$"}),
                ),
            ),
            style: PathStyle::Simple,
        };
        aide::operation::add_parameters(ctx, operation, [parameter]);
    }
}

/// Documents a UUID path parameter.
fn uuid_path(ctx: &mut GenContext, operation: &mut Operation, name: &str, description: &str) {
    let parameter = Parameter::Path {
        parameter_data: data(
            name,
            description,
            true,
            schema(json!({"type": "string", "format": "uuid"})),
        ),
        style: PathStyle::Simple,
    };
    aide::operation::add_parameters(ctx, operation, [parameter]);
}

impl OperationInput for AdminTenantParam {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        uuid_path(ctx, operation, "tenant_id", "The tenant's id.");
    }
}

impl OperationInput for AdminKeyParams {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        uuid_path(ctx, operation, "tenant_id", "The tenant's id.");
        uuid_path(
            ctx,
            operation,
            "key_id",
            "The key's id (from the list of its keys).",
        );
    }
}

/// The query string as name → value, refusing unknown and repeated parameters (a misspelt
/// filter silently ignored would return the wrong jobs).
pub(crate) fn query_map(
    parts: &Parts,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    Ok(query_multimap(parts, allowed, &[])?
        .into_iter()
        .filter_map(|(name, mut values)| values.pop().map(|value| (name, value)))
        .collect())
}

/// The query string as name → values: unknown parameters refused, and repeated ones too unless
/// they are `repeatable` (`equipment=barbell&equipment=dumbbell`).
pub(crate) fn query_multimap(
    parts: &Parts,
    allowed: &[&str],
    repeatable: &[&str],
) -> Result<HashMap<String, Vec<String>>, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(|e| {
        ApiError::Validation(vec![FieldIssue::whole(format!(
            "malformed query string: {e}"
        ))])
    })?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    let mut issues = Vec::new();
    for (name, value) in pairs {
        if !allowed.contains(&name.as_str()) {
            issues.push(
                FieldIssue::at(&name, format!("unknown query parameter `{name}`"))
                    .with_details(json!({ "allowed": allowed })),
            );
            continue;
        }
        let values = map.entry(name.clone()).or_default();
        if !values.is_empty() && !repeatable.contains(&name.as_str()) {
            issues.push(FieldIssue::at(
                &name,
                format!("query parameter `{name}` is given more than once"),
            ));
        }
        values.push(value);
    }
    if issues.is_empty() {
        Ok(map)
    } else {
        Err(ApiError::Validation(issues))
    }
}

/// `?wait=N` of `GET /v1/jobs/{id}`: seconds to long-poll for a terminal state, `0..=max_wait`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitParam(pub Duration);

impl FromRequestParts<AppCtx> for WaitParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &AppCtx) -> Result<Self, ApiError> {
        let mut map = query_map(parts, &["wait"])?;
        match map.remove("wait") {
            None => Ok(Self(Duration::ZERO)),
            Some(raw) => wait_seconds(&raw, ctx.api.config.max_wait).map(Self),
        }
    }
}

/// A `wait` query parameter: whole seconds from 0 to `max` (the server's `max_wait`).
pub(crate) fn wait_seconds(raw: &str, max: Duration) -> Result<Duration, ApiError> {
    let max = max.as_secs();
    match raw.parse::<u64>() {
        // Digits only: `u64::from_str` would also take a leading `+`, which the document's
        // integer type does not allow.
        Ok(secs) if secs <= max && raw.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Duration::from_secs(secs))
        }
        _ => Err(ApiError::Validation(vec![
            FieldIssue::at(
                "wait",
                format!("wait must be a whole number of seconds from 0 to {max}"),
            )
            .with_details(json!({ "minimum": 0, "maximum": max })),
        ])),
    }
}

/// The schema of a `wait` parameter; its maximum is set to the server's `max_wait` when the
/// document is made (`openapi::set_wait_maximum`).
pub(crate) fn wait_schema() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// The schema of an athlete id (`AthleteKey`): 1 to 128 printable ASCII characters, no space.
pub(crate) fn athlete_id_schema() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"})
}

impl OperationInput for WaitParam {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let parameter = query(
            "wait",
            "Long-poll: wait up to this many seconds (0 to the server's `max_wait`, 30 by default) \
             for the job to reach a terminal state, then answer with the job as it is.",
            schema(wait_schema()),
        );
        aide::operation::add_parameters(ctx, operation, [parameter]);
    }
}

/// The filters and page position of `GET /v1/jobs`, and the large parts to show
/// (`include`, none by default).
#[derive(Clone, Debug)]
pub(crate) struct ListParams(pub ListQuery, pub Included);

const LIST_PARAMS: [&str; 7] = [
    "kind",
    "status",
    "created_from",
    "created_to",
    "limit",
    "cursor",
    "include",
];

/// Parses `include=input,output,trace` (a comma list; empty items are ignored).
fn parse_include(raw: &str) -> Result<Included, FieldIssue> {
    let mut included = Included::default();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !included.add(name) {
            return Err(FieldIssue::at(
                "include",
                format!("unknown include `{name}`: a comma list of input, output, trace"),
            )
            .with_details(json!({ "allowed": Included::NAMES })));
        }
    }
    Ok(included)
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let map = query_map(parts, &LIST_PARAMS)?;
        let mut issues = Vec::new();
        let (query, included) = list_query(&map, &mut issues);
        if issues.is_empty() {
            Ok(Self(query, included))
        } else {
            Err(ApiError::Validation(issues))
        }
    }
}

/// [`ListParams`] and `tenant_id`: the operator's list of every tenant's jobs.
#[derive(Clone, Debug)]
pub(crate) struct AdminListParams(pub Option<TenantId>, pub ListQuery, pub Included);

const ADMIN_LIST_PARAMS: [&str; 8] = [
    "tenant_id",
    "kind",
    "status",
    "created_from",
    "created_to",
    "limit",
    "cursor",
    "include",
];

impl<S: Send + Sync> FromRequestParts<S> for AdminListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Self::parse(&query_map(parts, &ADMIN_LIST_PARAMS)?)
    }
}

impl AdminListParams {
    /// The filters of an admin list from its query parameters (the console's filter form sends
    /// the same names).
    pub(crate) fn parse(map: &HashMap<String, String>) -> Result<Self, ApiError> {
        let mut issues = Vec::new();
        let (query, included) = list_query(map, &mut issues);
        let tenant = map.get("tenant_id").and_then(|raw| match raw.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                issues.push(FieldIssue::at("tenant_id", "tenant_id is not a UUID"));
                None
            }
        });
        if issues.is_empty() {
            Ok(Self(tenant, query, included))
        } else {
            Err(ApiError::Validation(issues))
        }
    }
}

impl OperationInput for AdminListParams {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        ListParams::operation_input(ctx, operation);
        let tenant = query(
            "tenant_id",
            "Only this tenant's jobs.",
            schema(json!({"type": "string", "format": "uuid"})),
        );
        aide::operation::add_parameters(ctx, operation, [tenant]);
    }
}

/// A `limit` query parameter: a whole number from 1 to `max`, or the issue naming it.
pub(crate) fn page_limit(raw: &str, max: u32) -> Result<u32, FieldIssue> {
    match raw.parse::<u32>() {
        // Digits only: `u32::from_str` would also take a leading `+`.
        Ok(limit) if (1..=max).contains(&limit) && raw.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(limit)
        }
        _ => Err(FieldIssue::at(
            "limit",
            format!("limit must be a whole number from 1 to {max}"),
        )
        .with_details(json!({ "minimum": 1, "maximum": max }))),
    }
}

/// The list filters of a query string, each problem added to `issues`.
fn list_query(
    map: &HashMap<String, String>,
    issues: &mut Vec<FieldIssue>,
) -> (ListQuery, Included) {
    {
        let mut query = ListQuery {
            limit: DEFAULT_LIMIT,
            ..ListQuery::default()
        };
        if let Some(raw) = map.get("kind") {
            match raw.parse::<JobKind>() {
                Ok(kind) => query.kind = Some(kind),
                Err(_) => issues.push(
                    FieldIssue::at("kind", format!("unknown job kind `{raw}`"))
                        .with_details(json!({ "allowed": JobKind::names() })),
                ),
            }
        }
        if let Some(raw) = map.get("status") {
            match raw.parse::<JobStatus>() {
                Ok(status) => query.status = Some(status),
                Err(_) => issues.push(
                    FieldIssue::at("status", format!("unknown job status `{raw}`"))
                        .with_details(json!({ "allowed": status_names() })),
                ),
            }
        }
        for (name, slot) in [
            ("created_from", &mut query.created_from),
            ("created_to", &mut query.created_to),
        ] {
            if let Some(raw) = map.get(name) {
                match DateTime::parse_from_rfc3339(raw) {
                    Ok(t) => *slot = Some(t.with_timezone(&Utc)),
                    Err(_) => issues.push(FieldIssue::at(
                        name,
                        format!(
                            "{name} must be an RFC 3339 timestamp such as 2024-02-16T12:00:00Z \
                             (percent-encode a `+` offset as %2B)"
                        ),
                    )),
                }
            }
        }
        if let Some(raw) = map.get("limit") {
            match page_limit(raw, MAX_LIMIT) {
                Ok(limit) => query.limit = limit,
                Err(issue) => issues.push(issue),
            }
        }
        if let Some(raw) = map.get("cursor") {
            match decode_cursor(raw) {
                Some(after) => query.after = Some(after),
                None => issues.push(FieldIssue::at(
                    "cursor",
                    "cursor is not one this API produced; pass `meta.page.next_cursor` unchanged",
                )),
            }
        }
        let mut included = Included::default();
        if let Some(raw) = map.get("include") {
            match parse_include(raw) {
                Ok(parts) => included = parts,
                Err(issue) => issues.push(issue),
            }
        }
        (query, included)
    }
}

impl OperationInput for ListParams {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let kind = ctx.schema.subschema_for::<JobKind>();
        let parameters = [
            query("kind", "Only jobs of this kind.", kind),
            query(
                "status",
                "Only jobs in this status.",
                schema(json!({"type": "string", "enum": status_names()})),
            ),
            query(
                "created_from",
                "Only jobs created at or after this instant (RFC 3339).",
                schema(json!({"type": "string", "format": "date-time"})),
            ),
            query(
                "created_to",
                "Only jobs created before this instant (RFC 3339).",
                schema(json!({"type": "string", "format": "date-time"})),
            ),
            query(
                "limit",
                "Page size.",
                schema(
                    json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
                ),
            ),
            query(
                "cursor",
                "Opaque position from the previous page's `meta.page.next_cursor`.",
                schema(json!({"type": "string", "pattern": CURSOR_PATTERN})),
            ),
            comma_list(query(
                "include",
                "Large parts to show, as a comma list (`include=input,output,trace`). Lists are \
                 compact by default: status and metadata without `input`, `output` and `trace`. \
                 An unknown name is 400 with `field` = `include`.",
                schema(json!({
                    "type": "array",
                    "items": {"type": "string", "enum": Included::NAMES}
                })),
            )),
        ];
        aide::operation::add_parameters(ctx, operation, parameters);
    }
}

/// A query array parameter sent as one comma-separated value (`style: form, explode: false`).
fn comma_list(mut parameter: Parameter) -> Parameter {
    if let Parameter::Query { parameter_data, .. } = &mut parameter {
        parameter_data.explode = Some(false);
    }
    parameter
}

fn status_names() -> Vec<&'static str> {
    JobStatus::ALL.iter().map(|s| s.as_str()).collect()
}

/// Every string [`decode_cursor`] takes: 16 bytes in base64url without padding (22 characters,
/// the last one carrying two bits, so one of four).
const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]{21}[AQgw]$";

/// The cursor that continues a list after `last`: base64url of its 16 bytes. Opaque to clients,
/// so its form may change without breaking them.
pub(crate) fn encode_cursor(last: JobId) -> String {
    URL_SAFE_NO_PAD.encode(last.as_uuid().as_bytes())
}

fn decode_cursor(raw: &str) -> Option<JobId> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    Some(JobId::from_uuid(Uuid::from_bytes(bytes)))
}

/// The optional `Idempotency-Key` header.
#[derive(Clone, Debug)]
pub(crate) struct IdempotencyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY) else {
            return Ok(Self(None));
        };
        value
            .to_str()
            .ok()
            .and_then(|v| IdempotencyKey::parse(v).ok())
            .map(|key| Self(Some(key)))
            .ok_or_else(|| {
                ApiError::Validation(vec![
                    FieldIssue::at(
                        IDEMPOTENCY_KEY,
                        "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
                    )
                    .with_details(json!({ "minLength": 1, "maxLength": 255 })),
                ])
            })
    }
}

impl OperationInput for IdempotencyHeader {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let parameter = Parameter::Header {
            parameter_data: data(
                IDEMPOTENCY_KEY,
                "Makes the submission safe to retry: the same key with the same body answers the \
                 original job (200); the same key with another body is 409 CONFLICT. Unique per tenant.",
                false,
                schema(
                    json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}),
                ),
            ),
            style: HeaderStyle::Simple,
        };
        aide::operation::add_parameters(ctx, operation, [parameter]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_is_a_comma_list_of_known_parts() {
        assert_eq!(parse_include("").ok(), Some(Included::default()));
        let both = parse_include("input, trace").ok();
        assert_eq!(
            both,
            Some(Included {
                input: true,
                output: false,
                trace: true
            })
        );
        assert_eq!(
            parse_include("input,output,trace").ok(),
            Some(Included::ALL)
        );
        assert!(parse_include("input,secrets").is_err());
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = JobId::new();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(""), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode([1u8; 15])), None);
        // Every cursor the documented pattern allows decodes, and no other last character does.
        let last_class = CURSOR_PATTERN
            .split('[')
            .nth(2)
            .unwrap()
            .split(']')
            .next()
            .unwrap();
        for last in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".chars() {
            let cursor = format!("{}{last}", "-".repeat(21));
            assert_eq!(
                decode_cursor(&cursor).is_some(),
                last_class.contains(last),
                "{cursor}"
            );
        }
    }
}
