//! The crate's one error type, and the only place an error becomes an HTTP status and a code.

use aide::OperationOutput;
use aide::generate::GenContext;
use aide::openapi::{Operation, Response as DocResponse, StatusCode as DocStatus};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sparta_coach::FieldError;
use sparta_jobs::{JobStatus, JobsError};

use crate::envelope::{ErrorEnvelope, ErrorItem, Pending};

/// The stable, machine-readable error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum ErrorCode {
    /// 400: the request is malformed (body, query or header).
    ValidationError,
    /// 401: missing, malformed or unknown API key.
    Unauthorized,
    /// 403: the key may not do this.
    Forbidden,
    /// 404: no such route or job.
    NotFound,
    /// 405: the path does not support this method.
    MethodNotAllowed,
    /// 409: conflicts with the current state (idempotency key reuse, finished job).
    Conflict,
    /// 413: the body is too large.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 422: well-formed, but against a business rule.
    BusinessRuleViolation,
    /// 429: a limit was hit; see `Retry-After`.
    RateLimitExceeded,
    /// 500: a bug or an unexpected failure.
    InternalError,
    /// 503: the store or the queue is unavailable.
    ServiceUnavailable,
    /// 504: the request took too long.
    Timeout,
}

impl ErrorCode {
    /// The status that goes with the code.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            ErrorCode::ValidationError => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BusinessRuleViolation => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

/// One problem with one part of a request.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldIssue {
    /// Where: a dotted path into the body (`input.athlete.bodyweight_kg`), a query parameter or a
    /// header name; `None` for the request as a whole.
    pub field: Option<String>,
    /// What is wrong, for an app developer.
    pub message: String,
    /// Machine-readable constraints (`{"allowed": [...]}`, `{"minimum": 0, "maximum": 9}`), or `{}`.
    pub details: Value,
}

impl FieldIssue {
    /// An issue with a named field.
    pub fn at(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            message: message.into(),
            details: json!({}),
        }
    }

    /// An issue with the request as a whole.
    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
            details: json!({}),
        }
    }

    /// Sets the details (a `null` becomes `{}`, so clients always get an object).
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = if details.is_null() {
            json!({})
        } else {
            details
        };
        self
    }

    /// A coach input error, re-rooted under `input` (coach paths are relative to the input object).
    pub fn from_input_error(error: &FieldError) -> Self {
        let field = if error.field.is_empty() {
            "input".to_owned()
        } else if error.field.starts_with('[') {
            format!("input{}", error.field)
        } else {
            format!("input.{}", error.field)
        };
        Self::at(field, error.message.clone()).with_details(error.details.clone())
    }
}

/// Everything a request can fail with. [`IntoResponse`] renders it as the envelope's `errors`
/// with its status; server-side variants carry details for the log only.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `VALIDATION_ERROR`: malformed JSON, wrong types, missing or unknown fields, values out
    /// of range, bad query parameters or headers. Never empty.
    #[error("invalid request: {}", summary(.0))]
    Validation(Vec<FieldIssue>),
    /// 401 `UNAUTHORIZED`: missing, malformed or unknown API key.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 401 `UNAUTHORIZED`: an athlete token that does not verify; `reason` is a stable code
    /// (`expired`, `not_yet_valid`, `wrong_audience`, `wrong_issuer`, `bad_signature`,
    /// `unsupported_algorithm`, `unknown_key`, `unknown_issuer`, `malformed`, `missing_claim`,
    /// `bad_subject`, `keys_unavailable`) in `details.reason`. Never the token or a key.
    #[error("invalid token ({reason}): {message}")]
    InvalidToken {
        /// The stable reason code.
        reason: &'static str,
        /// What is wrong, for people.
        message: String,
    },
    /// 403 `FORBIDDEN`: the key is valid but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 403 `FORBIDDEN` about one field: an athlete's token submitting for another athlete.
    #[error("forbidden: {}", .0.message)]
    ForbiddenField(FieldIssue),
    /// 404 `NOT_FOUND`: no such route or job (another tenant's job is indistinguishable).
    #[error("not found: {0}")]
    NotFound(String),
    /// 405 `METHOD_NOT_ALLOWED`: the path exists, the method does not (`Allow` lists the methods).
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The refused method.
        method: String,
        /// The requested path.
        path: String,
    },
    /// 409 `CONFLICT`: a reused `Idempotency-Key` with another body, or a transition the job's
    /// state does not allow.
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicts.
        message: String,
        /// Machine-readable context (e.g. `{"status": "succeeded"}`).
        details: Value,
    },
    /// 413 `PAYLOAD_TOO_LARGE`: the body exceeds the limit.
    #[error("payload too large")]
    PayloadTooLarge {
        /// The limit in bytes, when known where the error was raised.
        limit: Option<usize>,
    },
    /// 415 `UNSUPPORTED_MEDIA_TYPE`: a body that is not declared `application/json`.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 422 `BUSINESS_RULE_VIOLATION`: a well-formed input the service will not answer. Never empty.
    #[error("business rule violated: {}", summary(.0))]
    BusinessRule(Vec<FieldIssue>),
    /// 429 `RATE_LIMIT_EXCEEDED`, with `Retry-After`.
    #[error("rate limit exceeded: {message}")]
    RateLimited {
        /// What limit was hit.
        message: String,
        /// Seconds to wait before retrying (the `Retry-After` header).
        retry_after_secs: u64,
    },
    /// 500 `INTERNAL_ERROR`. The text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// 503 `SERVICE_UNAVAILABLE`: the store or the queue is down or too slow. `detail` is logged;
    /// `details` (which dependency, never why) is sent.
    #[error("service unavailable: {detail}")]
    Unavailable {
        /// The underlying failure, for the log.
        detail: String,
        /// Public, machine-readable context (e.g. `{"store": "ok", "queue": "unavailable"}`).
        details: Value,
    },
    /// 504 `TIMEOUT`: the request did not finish within the configured deadline.
    #[error("request timed out")]
    Timeout,
}

fn summary(issues: &[FieldIssue]) -> String {
    issues
        .iter()
        .map(|i| match &i.field {
            Some(field) => format!("{field}: {}", i.message),
            None => i.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// A 400 with one issue at `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldIssue::at(field, message)])
    }

    /// A 400 about the body as a whole (malformed JSON, not an object).
    pub fn invalid_body(message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldIssue::whole(message)])
    }

    /// The field issues of a 400 or 422 (none for the other errors).
    pub(crate) fn issues(&self) -> &[FieldIssue] {
        match self {
            ApiError::Validation(issues) | ApiError::BusinessRule(issues) => issues,
            ApiError::ForbiddenField(issue) => std::slice::from_ref(issue),
            _ => &[],
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    /// The envelope's error code.
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            ApiError::Validation(_) => ErrorCode::ValidationError,
            ApiError::Unauthorized(_) | ApiError::InvalidToken { .. } => ErrorCode::Unauthorized,
            ApiError::Forbidden(_) | ApiError::ForbiddenField(_) => ErrorCode::Forbidden,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            ApiError::Conflict { .. } => ErrorCode::Conflict,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::BusinessRule(_) => ErrorCode::BusinessRuleViolation,
            ApiError::RateLimited { .. } => ErrorCode::RateLimitExceeded,
            ApiError::Internal(_) => ErrorCode::InternalError,
            ApiError::Unavailable { .. } => ErrorCode::ServiceUnavailable,
            ApiError::Timeout => ErrorCode::Timeout,
        }
    }

    /// The error a bare status stands for. Used to give the envelope to responses produced
    /// outside this crate's handlers (axum's router, tower-http's limit and timeout layers), so
    /// the status → code table stays in this file.
    pub(crate) fn from_status(status: StatusCode, method: &str, path: &str) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized("authentication required".into()),
            StatusCode::FORBIDDEN => ApiError::Forbidden("not allowed".into()),
            StatusCode::NOT_FOUND => ApiError::NotFound(format!("no route for {method} {path}")),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed {
                method: method.to_owned(),
                path: path.to_owned(),
            },
            StatusCode::CONFLICT => ApiError::Conflict {
                message: "the request conflicts with the resource's state".into(),
                details: json!({}),
            },
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: None },
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::UnsupportedMediaType("send the body as application/json".into())
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                ApiError::BusinessRule(vec![FieldIssue::whole("the request cannot be processed")])
            }
            StatusCode::TOO_MANY_REQUESTS => ApiError::RateLimited {
                message: "too many requests".into(),
                retry_after_secs: 1,
            },
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable {
                detail: "a layer answered 503".into(),
                details: json!({}),
            },
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ApiError::Timeout,
            s if s.is_server_error() => ApiError::Internal(format!("a layer answered {s}")),
            _ => ApiError::Validation(vec![FieldIssue::whole("the request is malformed")]),
        }
    }

    /// The same error with its field paths re-rooted under `prefix` (an item of a batch:
    /// `jobs[3]` makes `input.athlete` into `jobs[3].input.athlete`).
    pub(crate) fn within(self, prefix: &str) -> Self {
        let reroot = |issues: Vec<FieldIssue>| {
            issues
                .into_iter()
                .map(|mut issue| {
                    issue.field = Some(match issue.field.take() {
                        Some(field) if field.starts_with('[') => format!("{prefix}{field}"),
                        Some(field) => format!("{prefix}.{field}"),
                        None => prefix.to_owned(),
                    });
                    issue
                })
                .collect()
        };
        match self {
            ApiError::Validation(issues) => ApiError::Validation(reroot(issues)),
            ApiError::BusinessRule(issues) => ApiError::BusinessRule(reroot(issues)),
            other => other,
        }
    }

    /// The envelope's `errors` for this error: what the client may see.
    pub(crate) fn items(&self) -> Vec<ErrorItem> {
        let code = self.code();
        let one = |message: String, details: Value| {
            vec![ErrorItem {
                code,
                message,
                field: None,
                details,
            }]
        };
        match self {
            ApiError::Validation(issues) | ApiError::BusinessRule(issues) => issues
                .iter()
                .map(|issue| ErrorItem {
                    code,
                    message: issue.message.clone(),
                    field: issue.field.clone(),
                    details: issue.details.clone(),
                })
                .collect(),
            ApiError::Unauthorized(message)
            | ApiError::Forbidden(message)
            | ApiError::NotFound(message) => one(message.clone(), json!({})),
            ApiError::InvalidToken { reason, message } => {
                one(message.clone(), json!({ "reason": reason }))
            }
            ApiError::ForbiddenField(issue) => vec![ErrorItem {
                code,
                message: issue.message.clone(),
                field: issue.field.clone(),
                details: issue.details.clone(),
            }],
            ApiError::MethodNotAllowed { method, path } => one(
                format!("method {method} is not allowed on {path}"),
                json!({}),
            ),
            ApiError::Conflict { message, details } => one(message.clone(), details.clone()),
            ApiError::PayloadTooLarge { limit } => match limit {
                Some(limit) => one(
                    format!("the request body exceeds the limit of {limit} bytes"),
                    json!({ "limit_bytes": limit }),
                ),
                None => one("the request body exceeds the size limit".into(), json!({})),
            },
            ApiError::UnsupportedMediaType(message) => vec![ErrorItem {
                code,
                message: message.clone(),
                field: Some("Content-Type".into()),
                details: json!({ "allowed": ["application/json"] }),
            }],
            ApiError::RateLimited {
                message,
                retry_after_secs,
            } => one(
                message.clone(),
                json!({ "retry_after_secs": retry_after_secs }),
            ),
            ApiError::Internal(_) => one("an internal error occurred".into(), json!({})),
            ApiError::Unavailable { details, .. } => one(
                "a service SPARTA depends on is unavailable; retry later".into(),
                details.clone(),
            ),
            ApiError::Timeout => one("the request did not complete in time".into(), json!({})),
        }
    }
}

impl From<JobsError> for ApiError {
    fn from(error: JobsError) -> Self {
        if error.is_unavailable() {
            return ApiError::Unavailable {
                detail: error.to_string(),
                details: json!({}),
            };
        }
        match error {
            JobsError::NotFound => ApiError::NotFound("no such job".into()),
            JobsError::AlreadyExists(what) => ApiError::Conflict {
                message: format!("{what} already exists"),
                details: json!({}),
            },
            JobsError::IdempotencyConflict => ApiError::Conflict {
                message: "the Idempotency-Key was already used with a different request".into(),
                details: json!({}),
            },
            JobsError::InvalidTransition { from, to } => ApiError::Conflict {
                message: if to == JobStatus::Cancelled {
                    format!(
                        "the job is already {from}; only queued or running jobs can be cancelled"
                    )
                } else if to == JobStatus::Queued {
                    format!("the job is {from}; only failed jobs can be retried")
                } else {
                    format!("the job is {from} and cannot become {to}")
                },
                details: json!({ "status": from.as_str() }),
            },
            JobsError::InvalidValue(message) => {
                ApiError::Validation(vec![FieldIssue::whole(message)])
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Server errors are logged here, once, with the internals the client never sees. This
        // runs inside the request's span, so the line carries the request id.
        match &self {
            ApiError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            ApiError::Unavailable { detail, .. } => {
                tracing::error!(error = %detail, "dependency unavailable");
            }
            ApiError::Timeout => tracing::warn!("request timed out"),
            _ => {}
        }
        let mut response = Pending {
            data: Vec::new(),
            errors: self.items(),
            page: None,
        }
        .into_response_with(self.status());
        if let ApiError::RateLimited {
            retry_after_secs, ..
        } = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        response
    }
}

impl OperationOutput for ApiError {
    // Used by aide for typed examples only; none are given, and the envelope type is private.
    type Inner = ();

    fn operation_response(ctx: &mut GenContext, _operation: &mut Operation) -> Option<DocResponse> {
        let json_schema = ctx.schema.subschema_for::<ErrorEnvelope>();
        Some(DocResponse {
            description: "An error: `data` is empty and `errors` says what went wrong.".into(),
            content: crate::openapi::json_content(json_schema),
            ..Default::default()
        })
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<DocStatus>, DocResponse)> {
        // Every documented operation gets the error envelope as its default response; the
        // specific statuses are listed per operation.
        Self::operation_response(ctx, operation)
            .map(|response| vec![(None, response)])
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_documented_status_and_code() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::invalid("kind", "x"), 400, "VALIDATION_ERROR"),
            (ApiError::Unauthorized("x".into()), 401, "UNAUTHORIZED"),
            (ApiError::Forbidden("x".into()), 403, "FORBIDDEN"),
            (ApiError::NotFound("x".into()), 404, "NOT_FOUND"),
            (
                ApiError::MethodNotAllowed {
                    method: "PUT".into(),
                    path: "/v1/jobs".into(),
                },
                405,
                "METHOD_NOT_ALLOWED",
            ),
            (
                ApiError::Conflict {
                    message: "x".into(),
                    details: json!({}),
                },
                409,
                "CONFLICT",
            ),
            (
                ApiError::PayloadTooLarge { limit: Some(1) },
                413,
                "PAYLOAD_TOO_LARGE",
            ),
            (
                ApiError::UnsupportedMediaType("x".into()),
                415,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (
                ApiError::BusinessRule(vec![FieldIssue::whole("x")]),
                422,
                "BUSINESS_RULE_VIOLATION",
            ),
            (
                ApiError::RateLimited {
                    message: "x".into(),
                    retry_after_secs: 2,
                },
                429,
                "RATE_LIMIT_EXCEEDED",
            ),
            (ApiError::Internal("x".into()), 500, "INTERNAL_ERROR"),
            (
                ApiError::Unavailable {
                    detail: "x".into(),
                    details: json!({}),
                },
                503,
                "SERVICE_UNAVAILABLE",
            ),
            (ApiError::Timeout, 504, "TIMEOUT"),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(serde_json::to_value(error.code()).ok(), Some(json!(code)));
            // The bare status of a foreign response maps back to the same code.
            let back = ApiError::from_status(error.status(), "GET", "/");
            assert_eq!(back.code(), error.code(), "{status}");
        }
    }

    #[test]
    fn server_errors_never_expose_internals() {
        let secret = "password=hunter2 at db.internal:5432";
        for error in [
            ApiError::Internal(secret.into()),
            ApiError::Unavailable {
                detail: secret.into(),
                details: json!({}),
            },
        ] {
            let items = serde_json::to_string(&error.items()).unwrap_or_default();
            assert!(!items.is_empty());
            assert!(!items.contains("hunter2"), "{items}");
        }
    }

    #[test]
    fn store_errors_map_to_api_errors() {
        assert_eq!(
            ApiError::from(JobsError::Timeout("ping")).code(),
            ErrorCode::ServiceUnavailable
        );
        assert_eq!(
            ApiError::from(JobsError::NotFound).code(),
            ErrorCode::NotFound
        );
        assert_eq!(
            ApiError::from(JobsError::IdempotencyConflict).code(),
            ErrorCode::Conflict
        );
        let conflict = ApiError::from(JobsError::InvalidTransition {
            from: JobStatus::Succeeded,
            to: JobStatus::Cancelled,
        });
        assert_eq!(conflict.code(), ErrorCode::Conflict);
        assert!(conflict.items()[0].message.contains("succeeded"));
        assert_eq!(
            ApiError::from(JobsError::Corrupt("x".into())).code(),
            ErrorCode::InternalError
        );
    }

    #[test]
    fn input_errors_are_rooted_under_input() {
        let at = |f: &str| FieldIssue::from_input_error(&FieldError::new(f, "m")).field;
        assert_eq!(
            at("athlete.bodyweight_kg").as_deref(),
            Some("input.athlete.bodyweight_kg")
        );
        assert_eq!(at("").as_deref(), Some("input"));
        assert_eq!(at("[0]").as_deref(), Some("input[0]"));
    }
}
