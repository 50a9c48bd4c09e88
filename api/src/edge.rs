//! The outermost middleware: request id, the request's tracing span, the access log line,
//! rendering of every envelope, and the security headers of every response.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sparta_jobs::RequestId;
use tracing::Instrument as _;

use crate::envelope::{Envelope, Meta, Pending};
use crate::error::ApiError;

/// The header a request id travels in, both ways.
pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the edge needs to know about the configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdgeConfig {
    /// The body limit, so a 413 from the limit layer states it like the handlers' 413 does.
    pub body_limit_bytes: usize,
    /// The body limit of the batch route.
    pub batch_body_limit_bytes: usize,
}

impl EdgeConfig {
    /// The body limit of the route at `path`.
    pub(crate) fn body_limit(&self, path: &str) -> usize {
        if path == crate::batch::PATH {
            self.batch_body_limit_bytes
        } else {
            self.body_limit_bytes
        }
    }
}

/// Assigns the request id, runs the request inside its span, renders the envelope and logs one
/// line with status and latency.
pub(crate) async fn edge(
    State(config): State<EdgeConfig>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // A client's id is kept when it is a sane token, so a request can be followed from the
    // client's own logs; anything else is replaced rather than refused.
    let request_id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| RequestId::parse(v).ok())
        .unwrap_or_else(RequestId::generate);
    request.extensions_mut().insert(request_id.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %path,
        tenant = tracing::field::Empty,
    );

    let response = next.run(request).instrument(span.clone()).await;
    let response = span.in_scope(|| render(response, &request_id, method.as_str(), &path, config));

    let elapsed = started.elapsed();
    crate::metrics::record_request(&response, &method, elapsed);
    let status = response.status().as_u16();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status, latency_ms, "request finished"));
    response
}

/// Marks a response that is a whole document of its own (a console page, also when it says
/// 401 or 404): the edge passes it through instead of giving its status the JSON envelope.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Complete;

/// Turns a [`Pending`] envelope into its JSON body. Error responses made outside this crate
/// (tower-http's 413 and 504, anything axum answers by itself) get the envelope of the error
/// their status stands for;
/// other responses without one (`/openapi.json`, `/docs`) pass through. Every response gets the
/// `x-request-id` header.
fn render(
    response: Response,
    request_id: &RequestId,
    method: &str,
    path: &str,
    config: EdgeConfig,
) -> Response {
    let (mut parts, body) = response.into_parts();
    let complete = parts.extensions.remove::<Complete>().is_some();
    let pending = match parts.extensions.remove::<Pending>() {
        Some(pending) => Some(pending),
        None if !complete && (parts.status.is_client_error() || parts.status.is_server_error()) => {
            let converted = match ApiError::from_status(parts.status, method, path) {
                ApiError::PayloadTooLarge { .. } => ApiError::PayloadTooLarge {
                    limit: Some(config.body_limit(path)),
                },
                other => other,
            }
            .into_response();
            let (converted_parts, _) = converted.into_parts();
            // Keep the foreign response's other headers (e.g. `Allow` on a 405) and take the
            // converted ones (e.g. `Retry-After`).
            for (name, value) in &converted_parts.headers {
                parts.headers.insert(name.clone(), value.clone());
            }
            parts.status = converted_parts.status;
            converted_parts.extensions.get::<Pending>().cloned()
        }
        None => None,
    };
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        parts.headers.insert(X_REQUEST_ID.clone(), value);
    }
    harden(&mut parts.headers);
    let Some(pending) = pending else {
        return Response::from_parts(parts, body);
    };

    let envelope = Envelope {
        data: pending.data,
        errors: pending.errors,
        meta: Meta {
            request_id: request_id.as_str().to_owned(),
            page: pending.page,
        },
        timestamp: chrono::Utc::now().timestamp(),
    };
    let bytes = match serde_json::to_vec(&envelope) {
        Ok(bytes) => bytes,
        Err(e) => {
            // Unreachable in practice (the data are already JSON values); answer a fixed 500
            // rather than an empty body.
            tracing::error!(error = %e, "cannot serialize the response envelope");
            parts.status = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
            serde_json::json!({
                "data": [],
                "errors": [{"code": "INTERNAL_ERROR", "message": "an internal error occurred", "field": null, "details": {}}],
                "meta": {"request_id": request_id.as_str()},
                "timestamp": chrono::Utc::now().timestamp(),
            })
            .to_string()
            .into_bytes()
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(bytes))
}

/// The policy of every response that does not bring its own (JSON has no business loading
/// anything or being framed; a page states what it loads, see `/docs`).
const DEFAULT_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Headers every response carries: no MIME sniffing, no caching of tenant data by browsers or
/// proxies (unless the route chose a policy), no framing, no referrer.
fn harden(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DEFAULT_CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// The request id of the current request (set by [`edge`]).
#[derive(Clone, Debug)]
pub(crate) struct CurrentRequestId(pub RequestId);

impl<S: Send + Sync> FromRequestParts<S> for CurrentRequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Always present behind the edge; a fresh id keeps a misassembled router working.
        Ok(Self(
            parts
                .extensions
                .get::<RequestId>()
                .cloned()
                .unwrap_or_else(RequestId::generate),
        ))
    }
}

impl aide::OperationInput for CurrentRequestId {}
