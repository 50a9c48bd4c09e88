//! The response envelope: its wire types (also its OpenAPI schemas) and how handlers hand their
//! results to the edge middleware, which renders every envelope (it alone knows the request id).

use aide::OperationOutput;
use aide::generate::GenContext;
use aide::openapi::{Operation, Response as DocResponse};
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::{RawValue, to_raw_value};

use crate::error::{ApiError, ErrorCode};

/// One error of a response.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub(crate) struct ErrorItem {
    /// Stable code; the HTTP status follows from it.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// Where: a dotted path into the body (`input.athlete.bodyweight_kg`), a query parameter
    /// (`cursor`) or a header (`Idempotency-Key`); `null` for the request as a whole.
    pub field: Option<String>,
    /// Machine-readable context, e.g. `{"allowed": [...]}` or `{"minimum": 0, "maximum": 9}`;
    /// `{}` when there is none.
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub details: Value,
}

/// Cursor pagination state of a list.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub(crate) struct Page {
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The page size used.
    pub limit: u32,
}

/// Response metadata.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct Meta {
    /// The request's id (also in the `x-request-id` header and on submitted jobs).
    pub request_id: String,
    /// Pagination, on lists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<Page>,
}

/// The envelope of every response.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "{T}Envelope")]
pub(crate) struct Envelope<T> {
    /// The results; always an array, empty on errors.
    pub data: Vec<T>,
    /// What went wrong; empty on success.
    pub errors: Vec<ErrorItem>,
    /// Request id and, on lists, pagination.
    pub meta: Meta,
    /// When the response was produced, in Unix seconds.
    pub timestamp: i64,
}

/// The envelope of an error response (documentation only: the same shape as [`Envelope`]).
#[derive(Debug, JsonSchema)]
#[allow(dead_code)] // read by schemars only
pub(crate) struct ErrorEnvelope {
    /// Always empty on errors.
    pub data: Vec<Value>,
    /// At least one error.
    pub errors: Vec<ErrorItem>,
    /// The request id.
    pub meta: Meta,
    /// When the response was produced, in Unix seconds.
    pub timestamp: i64,
}

/// A response body waiting for the edge middleware: handlers and [`ApiError`] produce it (as a
/// response extension with an empty body); the edge adds the request id and timestamp and
/// serializes it. One renderer, so no response can miss a field.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    /// The `data` array, each item already written out as JSON text: built as a `Value` tree
    /// first, then written and dropped, a batch's 1,000 jobs took a third of the API's CPU.
    pub data: Vec<Box<RawValue>>,
    /// The `errors` array.
    pub errors: Vec<ErrorItem>,
    /// `meta.page`.
    pub page: Option<Page>,
}

impl Pending {
    /// A response with `status` that the edge will render.
    pub(crate) fn into_response_with(self, status: StatusCode) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        response.extensions_mut().insert(self);
        response
    }
}

/// A successful handler result: status, data and (for lists) the page.
#[derive(Debug)]
pub(crate) struct Reply<T> {
    status: StatusCode,
    data: Vec<T>,
    page: Option<Page>,
}

impl<T> Reply<T> {
    /// 200 with one item.
    pub(crate) fn ok(item: T) -> Self {
        Self::with_status(StatusCode::OK, item)
    }

    /// `status` with one item.
    pub(crate) fn with_status(status: StatusCode, item: T) -> Self {
        Self {
            status,
            data: vec![item],
            page: None,
        }
    }

    /// 200 with many items (and a page, for lists).
    pub(crate) fn many(data: Vec<T>, page: Option<Page>) -> Self {
        Self {
            status: StatusCode::OK,
            data,
            page,
        }
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let data: Result<Vec<_>, _> = self.data.iter().map(to_raw_value).collect();
        match data {
            Ok(data) => Pending {
                data,
                errors: Vec::new(),
                page: self.page,
            }
            .into_response_with(self.status),
            Err(e) => {
                ApiError::Internal(format!("cannot serialize response data: {e}")).into_response()
            }
        }
    }
}

impl<T: JsonSchema> OperationOutput for Reply<T> {
    type Inner = Envelope<T>;

    fn operation_response(ctx: &mut GenContext, _operation: &mut Operation) -> Option<DocResponse> {
        let json_schema = ctx.schema.subschema_for::<Envelope<T>>();
        Some(DocResponse {
            description: String::new(),
            content: crate::openapi::json_content(json_schema),
            ..Default::default()
        })
    }

    // No inferred responses: each operation states its success status (200 or 202) itself.
}
