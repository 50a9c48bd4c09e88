//! Reading a JSON request body: content type, size limit, bytes ([`JsonBody`]); then parsing it
//! into the handler's type so that every refusal names its field ([`deserialize_object`]; the
//! field paths come from `sparta_coach::field_path`, the same mapping job inputs use).

use std::marker::PhantomData;

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::{Operation, RequestBody};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use schemars::JsonSchema;
use serde_json::{Value, json};
use sparta_coach::field_path::{Problem, SerdeIssue};

use crate::context::AppCtx;
use crate::error::{ApiError, FieldIssue};

/// The raw bytes of a body declared `application/json`, at most `body_limit_bytes` long
/// (`batch_body_limit_bytes` with `BATCH`, on the route that raises its limit to it). `T` is
/// the body's documented type; the handler parses the bytes itself (see `submission`), so that
/// every parse error names its field.
#[derive(Debug)]
pub(crate) struct JsonBody<T, const BATCH: bool = false>(pub Bytes, pub PhantomData<T>);

impl<T: Send, const BATCH: bool> FromRequest<AppCtx> for JsonBody<T, BATCH> {
    type Rejection = ApiError;

    async fn from_request(request: Request, ctx: &AppCtx) -> Result<Self, ApiError> {
        let config = &ctx.api.config;
        let limit = if BATCH {
            config.batch_body_limit_bytes
        } else {
            config.body_limit_bytes
        };
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match content_type {
            Some(value) if is_json(&value) => {}
            Some(value) => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "the body must be sent as `Content-Type: application/json`, not `{value}`"
                )));
            }
            None => {
                return Err(ApiError::UnsupportedMediaType(
                    "the body must be sent with `Content-Type: application/json`".into(),
                ));
            }
        }
        // The limit layers wrap the body, so an oversized body fails here even without a
        // Content-Length (chunked uploads).
        let bytes =
            Bytes::from_request(request, ctx)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                        ApiError::PayloadTooLarge { limit: Some(limit) }
                    }
                    other => {
                        ApiError::invalid_body(format!("could not read the request body: {other}"))
                    }
                })?;
        Ok(Self(bytes, PhantomData))
    }
}

impl<T: JsonSchema, const BATCH: bool> OperationInput for JsonBody<T, BATCH> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let json_schema = ctx.schema.subschema_for::<T>();
        aide::operation::set_body(
            ctx,
            operation,
            RequestBody {
                description: None,
                content: crate::openapi::json_content(json_schema),
                required: true,
                extensions: Default::default(),
            },
        );
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`), in any letter case.
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Parses a JSON object body into `T`, naming the field of the first problem; `allowed` lists
/// the top-level fields, for the details of an unknown one.
///
/// A well-formed body goes straight into `T`, without a JSON tree of the whole body and a
/// field-tracking pass over that tree (8 % of the API's CPU a submit). Whatever this refuses
/// (a duplicate key too, which the tree accepts, the last one winning) is read again through
/// the tree, which names the field, so every answer is the tree's. An object only: serde would
/// take an array for a struct's fields in order.
pub(crate) fn deserialize_object<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    allowed: &[&str],
) -> Result<T, ApiError> {
    if bytes.trim_ascii_start().starts_with(b"{")
        && let Ok(parsed) = serde_json::from_slice(bytes)
    {
        return Ok(parsed);
    }
    from_object(json_object(bytes, allowed)?, allowed)
}

/// The body as JSON: syntax (with line and column), then the shape (an object with the fields
/// `allowed`).
pub(crate) fn json_object(bytes: &[u8], allowed: &[&str]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid_body(format!("malformed JSON: {e}")))?;
    if !value.is_object() {
        // Checked first: serde would otherwise accept an array as a struct's fields in order.
        return Err(ApiError::invalid_body(format!(
            "the body must be a JSON object with the fields {}",
            allowed
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(value)
}

/// A JSON object into `T`: types, missing and unknown fields, each pointing at its field.
pub(crate) fn from_object<T: serde::de::DeserializeOwned>(
    value: Value,
    allowed: &[&str],
) -> Result<T, ApiError> {
    SerdeIssue::deserialize(value).map_err(|issue| {
        let field = issue.path.to_string();
        match &issue.problem {
            Problem::Unknown(_) => ApiError::Validation(vec![
                FieldIssue::at(field, issue.message())
                    .with_details(json!({ "allowed_fields": allowed })),
            ]),
            Problem::Invalid(message) if field.is_empty() => {
                ApiError::invalid_body(format!("the body must be a JSON object: {message}"))
            }
            Problem::Missing(_) | Problem::Invalid(_) => {
                ApiError::Validation(vec![FieldIssue::at(field, issue.message())])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonp"));
        assert!(!is_json(""));
    }
}
