//! Assembly: routes (documented through aide, so the router and the OpenAPI document are one
//! source), fallbacks and layers.

use std::any::Any;

use aide::axum::ApiRouter;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::coalescer::Coalescer;
use crate::context::{AppCtx, Shared};
use crate::error::ApiError;
use crate::limits::{RateLimiter, StreamSlots, TenantCache, TenantCounts};
use crate::{
    ApiConfig, ApiState, admin, charts, edge, exercises, health, jobs, kinds, motivation, openapi,
    usage,
};

/// The documented routes: each resource's router, merged.
fn api_routes(config: &ApiConfig) -> ApiRouter<AppCtx> {
    ApiRouter::new()
        .merge(jobs::routes(config))
        .merge(charts::routes())
        .merge(motivation::routes())
        .merge(kinds::routes())
        .merge(exercises::routes())
        .merge(admin::routes())
        .merge(usage::routes())
        .merge(health::routes())
}

/// The routes as an axum router, and the OpenAPI document generated from them.
fn routes_and_document(config: &ApiConfig) -> (Router<AppCtx>, Value) {
    let mut api = openapi::skeleton();
    let routes = api_routes(config).finish_api_with(&mut api, openapi::finish);
    let mut document = serde_json::to_value(&api).unwrap_or_else(|e| {
        // Cannot happen (the document is plain data); a stub keeps /openapi.json answering.
        tracing::error!(error = %e, "cannot serialize the OpenAPI document");
        serde_json::json!({ "openapi": "3.1.0", "info": { "title": "SPARTA API", "version": env!("CARGO_PKG_VERSION") }, "paths": {} })
    });
    openapi::add_kind_schemas(&mut document);
    openapi::set_wait_maximum(&mut document, config.max_wait.as_secs());
    openapi::add_job_links(&mut document);
    (routes, document)
}

/// The OpenAPI 3.1 document of the API, also served at `/openapi.json`.
pub fn openapi_document() -> Value {
    routes_and_document(&ApiConfig::default()).1
}

/// The complete application: every route and every layer. Serve it with
/// `axum::serve(listener, router(state).into_make_service())`.
///
/// Layers, outermost first: the edge (request id, span, access log, envelope), the request
/// timeout (504), panic catching (500), the body limit (413), then the routes with their 404 and
/// 405 fallbacks.
pub fn router(state: ApiState) -> Router {
    let config = state.config.clone();
    if config.request_timeout <= config.max_wait {
        tracing::warn!(
            request_timeout_ms = config.request_timeout.as_millis(),
            max_wait_ms = config.max_wait.as_millis(),
            "request_timeout does not exceed max_wait: long polls will time out"
        );
    }
    let (routes, document) = routes_and_document(&config);
    let document = Bytes::from(serde_json::to_vec(&document).unwrap_or_default());
    let docs_html = openapi::docs_html();
    // The page runs its own inline scripts only (by hash); computed once, like the page.
    let docs_csp = HeaderValue::from_str(&openapi::docs_csp(&docs_html))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    let docs = Bytes::from(docs_html);
    let submits = Coalescer::start(
        state.store.clone(),
        state.queue.clone(),
        state.config.announce_timeout,
    );
    let ctx = AppCtx::new(Shared {
        submits,
        api: state,
        tenants: TenantCache::default(),
        queued: TenantCounts::default(),
        subscriptions: TenantCounts::default(),
        rate: RateLimiter::default(),
        athlete_rate: RateLimiter::named("requests for this athlete"),
        athlete_tokens: crate::athlete_token::AthleteTokens::default(),
        failed_auth: RateLimiter::named("failed authentications from this address"),
        kinds: kinds::all(),
        streams: StreamSlots::default(),
        depth: crate::metrics::DepthClock::default(),
    });

    let app = routes
        // Documents, not API resources: served as they are (no envelope), without auth.
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        document,
                    )
                }
            }),
        )
        .route(
            "/docs",
            get(move || {
                let (docs, csp) = (docs.clone(), docs_csp.clone());
                async move { ([(header::CONTENT_SECURITY_POLICY, csp)], Html(docs)) }
            }),
        )
        // The operator's console: HTML pages of their own (not API resources).
        .merge(crate::console::routes())
        // The Prometheus exposition: text, not an API resource (errors still in the envelope).
        .route("/metrics", get(crate::metrics::metrics))
        .route_layer(axum::middleware::from_fn(crate::metrics::remember_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(ctx);
    with_layers(app, &config)
}

/// Wraps an app in the layers every response goes through (see [`router`]).
fn with_layers(app: Router, config: &ApiConfig) -> Router {
    // `layer` wraps what is already there, so the last one added is the outermost.
    // The batch route raises its own default limit; this layer stops any body over the larger.
    app.layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(RequestBodyLimitLayer::new(
            config.body_limit_bytes.max(config.batch_body_limit_bytes),
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            config.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            edge::EdgeConfig {
                body_limit_bytes: config.body_limit_bytes,
                batch_body_limit_bytes: config.batch_body_limit_bytes,
            },
            edge::edge,
        ))
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// A handler panicked: 500 with nothing of the panic in the body (it goes to the log).
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    ApiError::Internal(format!("handler panicked: {message}")).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    use super::*;

    async fn call(app: Router, uri: &str) -> (StatusCode, Value) {
        let response = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        assert!(response.headers().contains_key("x-request-id"));
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn boom() -> &'static str {
        panic!("secret detail")
    }

    fn layered() -> Router {
        let config = ApiConfig {
            request_timeout: Duration::from_millis(50),
            ..ApiConfig::default()
        };
        let app = Router::new().route("/panic", get(boom)).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        with_layers(app, &config)
    }

    #[tokio::test]
    async fn a_panic_is_a_500_envelope_without_internals() {
        let (status, body) = call(layered(), "/panic").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["errors"][0]["code"], "INTERNAL_ERROR");
        assert_eq!(body["data"], serde_json::json!([]));
        assert!(!body.to_string().contains("secret detail"));
    }

    #[tokio::test]
    async fn a_slow_request_is_a_504_envelope() {
        let (status, body) = call(layered(), "/slow").await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(body["errors"][0]["code"], "TIMEOUT");
        assert!(
            body["meta"]["request_id"]
                .as_str()
                .unwrap()
                .starts_with("req_")
        );
    }
}
