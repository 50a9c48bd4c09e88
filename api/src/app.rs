//! Assembly: routes (documented through aide, so the router and the OpenAPI document are one
//! source), fallbacks and layers.

use std::any::Any;
use std::ops::Deref;
use std::sync::Arc;

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with, put_with};
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
use crate::error::ApiError;
use crate::kinds::KindView;
use crate::limits::{RateLimiter, StreamSlots, TenantCache, TenantCounts};
use crate::{
    ApiConfig, ApiState, admin, batch, edge, events, health, jobs, kinds, motivation, openapi,
};

/// What handlers share: the public state plus the caches and precomputed answers.
#[derive(Clone)]
pub(crate) struct AppCtx(Arc<Shared>);

/// The inside of [`AppCtx`].
pub(crate) struct Shared {
    /// Store, queue, configuration.
    pub api: ApiState,
    /// Verified API keys.
    pub tenants: TenantCache,
    /// Queued counts for the per-tenant cap.
    pub queued: TenantCounts,
    /// Motivation subscriptions for the per-tenant cap.
    pub subscriptions: TenantCounts,
    /// Per-key request rate.
    pub rate: RateLimiter,
    /// Failed authentications per client address.
    pub failed_auth: RateLimiter<std::net::IpAddr>,
    /// The `/v1/kinds` answer (schemas are static).
    pub kinds: Vec<KindView>,
    /// Open event streams and long polls per tenant.
    pub streams: StreamSlots,
    /// Single submissions, inserted and announced together with concurrent ones.
    pub submits: Coalescer,
    /// When the queue-depth gauge was last read.
    pub depth: crate::metrics::DepthClock,
}

impl Deref for AppCtx {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The documented routes.
fn api_routes(config: &ApiConfig) -> ApiRouter<AppCtx> {
    ApiRouter::new()
        .api_route(
            "/v1/jobs",
            post_with(jobs::submit, jobs::submit_docs).get_with(jobs::list, jobs::list_docs),
        )
        .api_route(
            batch::PATH,
            post_with(batch::submit_batch, batch::submit_batch_docs)
                .layer(DefaultBodyLimit::max(config.batch_body_limit_bytes)),
        )
        .api_route("/v1/jobs/{id}", get_with(jobs::get, jobs::get_docs))
        .api_route(
            "/v1/jobs/{id}/cancel",
            post_with(jobs::cancel, jobs::cancel_docs),
        )
        .api_route(
            "/v1/jobs/{id}/retry",
            post_with(jobs::retry, jobs::retry_docs),
        )
        .api_route(
            "/v1/jobs/{id}/events",
            get_with(events::events, events::events_docs),
        )
        .api_route(
            "/v1/jobs/{id}/deliveries",
            get_with(jobs::deliveries, jobs::deliveries_docs),
        )
        .api_route(
            "/v1/motivation/schedule",
            put_with(motivation::put_schedule, motivation::put_schedule_docs)
                .get_with(motivation::get_schedule, motivation::get_schedule_docs),
        )
        .api_route(
            "/v1/motivation/subscriptions/{athlete_id}",
            put_with(
                motivation::put_subscription,
                motivation::put_subscription_docs,
            )
            .get_with(
                motivation::get_subscription,
                motivation::get_subscription_docs,
            )
            .delete_with(
                motivation::delete_subscription,
                motivation::delete_subscription_docs,
            ),
        )
        .api_route(
            "/v1/motivation/today",
            get_with(motivation::today, motivation::today_docs),
        )
        .api_route(
            "/v1/admin/tenants",
            get_with(admin::list_tenants, admin::list_tenants_docs)
                .post_with(admin::create_tenant, admin::create_tenant_docs),
        )
        .api_route(
            "/v1/admin/tenants/{tenant_id}/disable",
            post_with(admin::disable_tenant, admin::disable_tenant_docs),
        )
        .api_route(
            "/v1/admin/tenants/{tenant_id}/enable",
            post_with(admin::enable_tenant, admin::enable_tenant_docs),
        )
        .api_route(
            "/v1/admin/tenants/{tenant_id}/keys",
            get_with(admin::list_keys, admin::list_keys_docs)
                .post_with(admin::create_key, admin::create_key_docs),
        )
        .api_route(
            "/v1/admin/tenants/{tenant_id}/keys/{key_id}/revoke",
            post_with(admin::revoke_key, admin::revoke_key_docs),
        )
        .api_route(
            "/v1/admin/jobs",
            get_with(admin::list_jobs, admin::list_jobs_docs),
        )
        .api_route(
            "/v1/admin/jobs/retry-failed",
            post_with(admin::retry_failed, admin::retry_failed_docs),
        )
        .api_route(
            "/v1/admin/jobs/{id}",
            get_with(admin::get_job, admin::get_job_docs),
        )
        .api_route(
            "/v1/admin/jobs/{id}/retry",
            post_with(admin::retry_job, admin::retry_job_docs),
        )
        .api_route(
            "/v1/admin/breakers",
            get_with(admin::list_breakers, admin::list_breakers_docs),
        )
        .api_route(
            "/v1/admin/breakers/{model}",
            put_with(admin::force_breaker, admin::force_breaker_docs)
                .delete_with(admin::lift_breaker, admin::lift_breaker_docs),
        )
        .api_route("/v1/kinds", get_with(kinds::list, kinds::list_docs))
        .api_route("/healthz", get_with(health::live, health::live_docs))
        .api_route("/readyz", get_with(health::ready, health::ready_docs))
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
    let ctx = AppCtx(Arc::new(Shared {
        submits,
        api: state,
        tenants: TenantCache::default(),
        queued: TenantCounts::default(),
        subscriptions: TenantCounts::default(),
        rate: RateLimiter::default(),
        failed_auth: RateLimiter::named("failed authentications from this address"),
        kinds: kinds::all(),
        streams: StreamSlots::default(),
        depth: crate::metrics::DepthClock::default(),
    }));

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
