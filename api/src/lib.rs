//! `sparta-api`: SPARTA's HTTP edge (DESIGN §4).
//!
//! Fitness apps submit jobs (`POST /v1/jobs`), poll them (`GET /v1/jobs/{id}`, optionally
//! long-polling with `?wait=N`), list and cancel them, discover the job kinds with their JSON
//! Schemas (`GET /v1/kinds`) and the exercise catalogue (`GET /v1/exercises`). A tenant's API
//! key acts for the tenant; an athlete's token of the tenant's sign-in acts for that athlete
//! only. [`router`] returns the complete axum application with every layer;
//! the binary serves it with `axum::serve(listener, router.into_make_service())`.
//!
//! # Contract
//!
//! - **Envelope.** Every JSON response, success or error (unknown route, wrong method, malformed
//!   body, oversized body, panic, timeout), has the shape
//!   `{"data": [...], "errors": [...], "meta": {"request_id": ..., "page"?: ...}, "timestamp": ...}`.
//!   `data` is always an array (empty on errors), `errors` is empty on success and `meta.page`
//!   appears on lists only. The documents that are not JSON resources, `/openapi.json` (the raw
//!   OpenAPI document, so tools can read it), `/docs` (HTML) and a report's charts (SVG), are
//!   served as they are.
//! - **Errors.** [`ApiError`] is the one place an error becomes a status and a code:
//!   `VALIDATION_ERROR` 400, `UNAUTHORIZED` 401, `FORBIDDEN` 403, `NOT_FOUND` 404,
//!   `METHOD_NOT_ALLOWED` 405 (added to the codes of DESIGN §4), `CONFLICT` 409,
//!   `PAYLOAD_TOO_LARGE` 413, `UNSUPPORTED_MEDIA_TYPE` 415 (a request body that is not
//!   `application/json`; added to the codes of DESIGN §4), `BUSINESS_RULE_VIOLATION` 422,
//!   `RATE_LIMIT_EXCEEDED` 429 (with `Retry-After`), `INTERNAL_ERROR` 500,
//!   `SERVICE_UNAVAILABLE` 503, `TIMEOUT` 504. Server errors never carry internals; they are logged.
//! - **Field paths** point into the request: `input.athlete.bodyweight_kg` for the body, the
//!   parameter name (`cursor`, `limit`, `wait`) for the query string, the header name
//!   (`Idempotency-Key`, `Content-Type`) for headers.
//! - **Job ids** that are not UUIDs answer 404 `NOT_FOUND`, exactly like unknown ids and other
//!   tenants' jobs: a string that cannot name a job names no job.
//! - **Request ids.** An incoming `x-request-id` of 1–128 characters of `[A-Za-z0-9._:-]` is
//!   kept, otherwise one is generated; it is
//!   echoed in the `x-request-id` header and `meta.request_id`, stored on submitted jobs and carried
//!   by every log line of the request (a `request` span with `request_id`, `method`, `path`).
//!
//! # Layout
//!
//! `app` merges the resources' routers and adds the layers ([`router`], [`openapi_document`]);
//! each resource has its own router next to its handlers: `jobs` (with `batch` and `events`),
//! `charts` (a progress report's SVG charts), `console` (the operator's web console: HTML pages
//! behind a session cookie, sharing the admin routes' operations),
//! `motivation`, `kinds`, `exercises` (the catalogue), `admin` (the operator's `/v1/admin/*`,
//! behind `auth::Operator`, with `token_verifier`: a tenant's athlete token verifier), `usage`
//! (a tenant's LLM budget and spend, for the tenant and the operator) and `health`. `context` is the request context every handler reads
//! (state, caches, limiters), so handlers never import the assembly. `edge` is the outermost
//! middleware (request id, span, access log, envelope rendering, security headers); `error`
//! holds [`ApiError`]; `envelope` the wire types. The extractors document themselves in the
//! OpenAPI document: `auth` (a tenant's API key, an athlete's token — verified in
//! `athlete_token` — and the operator), `body` (reading and parsing a JSON body, each
//! refusal at its field path, the mapping shared with job inputs through
//! `sparta_coach::field_path`) and `params` (path, query and header parameters). `submission`
//! parses a job submission (the webhook URL against the destination policy) and computes its
//! idempotency hash; `coalescer` inserts the jobs of concurrent submissions in one statement;
//! `limits` caches key lookups (known and unknown) and queued counts and holds the token buckets
//! (per key, and per client address for failed authentications); `events` also caps open streams
//! per tenant; `openapi` completes the document with the kinds' schemas and builds the docs page
//! and its CSP; [`metrics`] serves `GET /metrics` (Prometheus) and records the HTTP and
//! submission families.

mod admin;
mod app;
mod athlete_token;
mod auth;
mod batch;
mod body;
mod charts;
mod coalescer;
mod console;
mod context;
mod edge;
mod envelope;
mod error;
mod events;
mod exercises;
pub mod health;
mod jobs;
mod kinds;
mod limits;
pub mod metrics;
mod motivation;
mod openapi;
mod params;
mod submission;
mod token_verifier;
mod usage;

use std::sync::Arc;
use std::time::Duration;

use sparta_jobs::{JobQueue, JobStore};

pub use app::{openapi_document, router};
pub use error::{ApiError, FieldIssue};
pub use metrics::MetricsEndpoint;

/// A 32-byte signing key for the console's sessions; its `Debug` hides it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ConsoleKey(pub [u8; 32]);

impl std::fmt::Debug for ConsoleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleKey(…)")
    }
}

/// Tunables of the HTTP API. [`Default`] gives the documented production values.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest accepted request body in bytes, with or without `Content-Length` (default 256 KiB).
    pub body_limit_bytes: usize,
    /// Largest body of `POST /v1/jobs/batch` (default 16 MiB: 1,000 jobs of up to 16 KiB).
    pub batch_body_limit_bytes: usize,
    /// Cap for `GET /v1/jobs/{id}?wait=N`, in whole seconds (default 30 s).
    pub max_wait: Duration,
    /// Attempts a new job gets before it fails (default 3).
    pub default_max_attempts: i32,
    /// Deadline for a whole request, after which it is answered 504 `TIMEOUT` (default 30 s plus
    /// `max_wait`, so a long poll never hits it).
    pub request_timeout: Duration,
    /// Queued jobs a tenant may have before submissions are refused with 429 (default 10 000).
    pub max_queued_per_tenant: u64,
    /// How long a submission waits for the queue announcement before answering anyway (default
    /// 1 s): the row is already committed and the reconciler re-announces it.
    pub announce_timeout: Duration,
    /// Sustained requests per second allowed per API key (default 100); 0 turns the limit off.
    pub rate_per_key_per_sec: u32,
    /// Requests a key may burst above the sustained rate (default 200).
    pub rate_burst_per_key: u32,
    /// The time zone of a tenant's daily motivation message until it sets one (default UTC).
    pub motivation_timezone: sparta_jobs::motivation::TimeZoneName,
    /// The local time of a tenant's daily motivation message until it sets one (default 06:00).
    pub motivation_local_time: sparta_jobs::motivation::LocalTime,
    /// Where webhooks may go, checked at submit (the deliverer checks again at connection).
    pub destinations: sparta_jobs::destination::DestinationPolicy,
    /// Server-Sent Event streams and long polls a tenant may hold open at once (default 50).
    pub max_streams_per_tenant: usize,
    /// Longest life of one event stream; it then ends with a `reconnect` event (default 5 min).
    pub stream_lifetime: Duration,
    /// Motivation subscriptions a tenant may have (default 100 000).
    pub max_subscriptions_per_tenant: u64,
    /// Largest page of a list, in bytes of serialized items (default 1 MiB); a page ends early
    /// (with a cursor) rather than exceed it.
    pub list_max_bytes: usize,
    /// Failed authentications per second allowed per client address (default 5); 0 turns the
    /// limit off.
    pub auth_failures_per_sec: u32,
    /// Failed authentications a client address may burst (default 20).
    pub auth_failure_burst: u32,
    /// The operator's token, as its hash (`admin.token_hash`): it alone opens `/metrics` on
    /// this port when metrics are not public. None: nobody's token does.
    pub operator_token_hash: Option<sparta_jobs::OperatorTokenHash>,
    /// The key the console signs its session cookies with (derived from `secrets.key`, so every
    /// API process accepts every session). None: a random key per process.
    pub console_key: Option<ConsoleKey>,
    /// The models of the chains (`ai.models`), for the console's providers page.
    pub models: Vec<String>,
    /// A trace viewer's URL with `{trace_id}` (`telemetry.viewer_url`): the console links jobs
    /// to their traces.
    pub trace_viewer_url: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        let max_wait = Duration::from_secs(30);
        Self {
            body_limit_bytes: 256 * 1024,
            batch_body_limit_bytes: 16 * 1024 * 1024,
            max_wait,
            default_max_attempts: 3,
            request_timeout: Duration::from_secs(30) + max_wait,
            max_queued_per_tenant: 10_000,
            announce_timeout: Duration::from_secs(1),
            rate_per_key_per_sec: 100,
            rate_burst_per_key: 200,
            motivation_timezone: sparta_jobs::motivation::TimeZoneName::UTC,
            motivation_local_time: sparta_jobs::motivation::LocalTime::new(6, 0)
                .unwrap_or_default(),
            destinations: sparta_jobs::destination::DestinationPolicy::default(),
            max_streams_per_tenant: 50,
            stream_lifetime: Duration::from_secs(5 * 60),
            max_subscriptions_per_tenant: 100_000,
            list_max_bytes: 1024 * 1024,
            auth_failures_per_sec: 5,
            auth_failure_burst: 20,
            operator_token_hash: None,
            console_key: None,
            models: Vec::new(),
            trace_viewer_url: None,
        }
    }
}

/// What the API needs to serve requests: the store (source of truth), the queue (announcements),
/// the job change feed (event streams and long polls) and its configuration.
#[derive(Clone)]
pub struct ApiState {
    /// The durable store of tenants and jobs.
    pub store: Arc<dyn JobStore>,
    /// The queue new jobs are announced on.
    pub queue: Arc<dyn JobQueue>,
    /// Job changes of the store (`Backends::changes`, or the store's `change_feed()`): wakes
    /// event streams and long polls when their job changes.
    pub changes: sparta_jobs::change_feed::ChangeFeed,
    /// Limits and timeouts.
    pub config: ApiConfig,
    /// `GET /metrics` on this port (None: 404, as in tests that run several services in one
    /// process and share its recorder).
    pub metrics: Option<MetricsEndpoint>,
    /// The circuit breakers `/readyz` reports, when this process also runs workers.
    pub breakers: Option<health::BreakerStates>,
}
