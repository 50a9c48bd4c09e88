//! `/console`: the operator's web console. Server-rendered HTML (minijinja templates embedded in
//! the binary, autoescaped), one stylesheet and a few lines of script of our own, nothing from
//! the internet; every page works without script. Signed in with the operator's token
//! ([`session`]); every form posts a CSRF token.
//!
//! Pages: sign-in and sign-out; the [`overview`] (throughput, queue depth, wait and run
//! times, failures, webhook backlog, breakers; live); the [`providers`] (breakers forced and
//! lifted, each model's latency, error classes, cache hits, tokens and spend per day); the tenants (keys created — shown once — and revoked,
//! access disabled and enabled, budget and spend, the daily motivation schedule, the limits);
//! the jobs across tenants with the admin list's filters
//! (tenant, kind, status, creation time, pages); a job with its input and output (collapsible,
//! copyable), the orchestrator's attempts (provider, model, mode, repair, outcome, latency,
//! tokens, cost, violations with their JSON paths), its webhook deliveries with every attempt,
//! and cancel or retry where the job allows it.

mod activity;
mod chart;
mod overview;
mod providers;
mod session;

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Environment, Value, context};
use serde::Deserialize;
use sparta_coach::JobKind;
use sparta_coach::progress_report::ChartName;
use sparta_jobs::motivation::ScheduleTarget;
use sparta_jobs::view::JobView;
use sparta_jobs::{ApiKeyId, Job, JobId, JobStatus, TenantId};

use crate::admin::{self, KeyView, TenantView};
use crate::auth::ClientAddr;
use crate::context::AppCtx;
use crate::error::ApiError;
use crate::jobs::DeliveryView;
use crate::params::AdminListParams;
use crate::usage::usage_of;

use session::{ConsoleSession, SignInError};

/// What the console's pages may load: their own stylesheet and script, nothing else.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Jobs per page of the list.
const PAGE: u32 = 50;
/// Motivation schedules listed as due next on a tenant's page.
const UPCOMING: u32 = 10;

/// The console's routes (HTML, not part of the API document).
pub(crate) fn routes() -> Router<AppCtx> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::to("/console/overview") }),
        )
        .route("/console/overview", get(overview::overview))
        .route("/console/overview/stream", get(overview::overview_stream))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/jobs", get(jobs))
        .route("/console/jobs/{id}", get(job))
        .route("/console/jobs/{id}/retry", post(retry))
        .route("/console/jobs/{id}/cancel", post(cancel))
        .route("/console/tenants", get(tenants))
        .route("/console/tenants/{id}", get(tenant))
        .route("/console/tenants/{id}/disable", post(disable))
        .route("/console/tenants/{id}/enable", post(enable))
        .route("/console/tenants/{id}/keys", post(create_key))
        .route("/console/tenants/{id}/budget", post(budget))
        .route("/console/tenants/{id}/budget/remove", post(remove_budget))
        .route("/console/tenants/{id}/keys/{key}/revoke", post(revoke_key))
        .route("/console/playground", get(playground).post(play))
        .route("/console/providers", get(providers::providers))
        .route("/console/providers/{model}", post(providers::force_breaker))
        .route("/console/jobs/{id}/charts/{name}", get(chart))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/assets/console.js", get(script))
        .route("/console/assets/icon.svg", get(icon))
}

/// The templates, parsed once.
fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Trace entries and deliveries are free-form JSON: a field one lacks renders empty.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("error.html", include_str!("templates/error.html")),
            ("jobs.html", include_str!("templates/jobs.html")),
            ("job.html", include_str!("templates/job.html")),
            ("tenants.html", include_str!("templates/tenants.html")),
            ("tenant.html", include_str!("templates/tenant.html")),
            ("playground.html", include_str!("templates/playground.html")),
            ("providers.html", include_str!("templates/providers.html")),
            ("overview.html", include_str!("templates/overview.html")),
            (
                "overview_live.html",
                include_str!("templates/overview_live.html"),
            ),
        ] {
            // The templates are ours and tested; one that does not parse shows on every page.
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(%error, name, "console template");
            }
        }
        env
    })
}

/// Any serializable value as a template value.
fn serialized<T: serde::Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// A rendered page with the console's policy.
fn page(status: StatusCode, name: &str, ctx: Value) -> Response {
    let rendered = templates().get_template(name).and_then(|t| t.render(ctx));
    let (status, body) = match rendered {
        Ok(html) => (status, html),
        Err(error) => {
            tracing::error!(%error, name, "rendering a console page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>The page could not be drawn.</p>".to_owned(),
            )
        }
    };
    let mut response = (
        status,
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        )],
        Html(body),
    )
        .into_response();
    response.extensions_mut().insert(crate::edge::Complete);
    response
}

/// What a page may say about an error: the API's message, never a server error's internals.
fn message(error: &ApiError) -> String {
    if error.status().is_server_error() {
        "an internal error occurred (the server's log has it)".to_owned()
    } else {
        error.to_string()
    }
}

/// An error as a page (the API's errors keep their status and message).
fn error_page(session: &ConsoleSession, error: &ApiError) -> Response {
    let status = error.status();
    page(
        status,
        "error.html",
        context! {
            title => "Error",
            heading => status.canonical_reason().unwrap_or("Error"),
            message => message(error),
            csrf => session.csrf.as_str(),
        },
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    )
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    )
}

async fn icon() -> Response {
    asset("image/svg+xml", include_str!("assets/icon.svg"))
}

async fn login_page() -> Response {
    page(
        StatusCode::OK,
        "login.html",
        context! { title => "Sign in" },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(ctx): State<AppCtx>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    // Wrong tokens draw on the address's failed-authentication bucket, as API keys do.
    let config = &ctx.api.config;
    let (rate, burst) = (config.auth_failures_per_sec, config.auth_failure_burst);
    let now = std::time::Instant::now();
    if ctx.failed_auth.exhausted(&client, rate, burst, now)
        && let Err(limited) = ctx.failed_auth.admit(&client, rate, burst, now)
    {
        let error = message(&limited);
        return page(
            StatusCode::TOO_MANY_REQUESTS,
            "login.html",
            context! { title => "Sign in", error },
        );
    }
    let signed = session::sign_in(&ctx, &form.token, Utc::now().timestamp());
    if signed == Err(SignInError::WrongToken) {
        let _ = ctx.failed_auth.admit(&client, rate, burst, now);
    }
    match signed {
        Ok(value) => {
            let mut response = Redirect::to("/console/overview").into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session::set_cookie(&headers, Some(&value)),
            );
            response
        }
        Err(why) => {
            let error = match why {
                SignInError::NotConfigured => {
                    "No operator token is configured on this server (admin.token_hash)."
                }
                SignInError::WrongToken => "That is not the operator's token.",
            };
            page(
                StatusCode::UNAUTHORIZED,
                "login.html",
                context! { title => "Sign in", error },
            )
        }
    }
}

/// A form posted by a signed-in session, its CSRF token checked, and its other fields. Without a
/// session: the redirect to sign in; with a token that is not the session's: the 403 page.
struct SessionForm<T>(ConsoleSession, T);

/// A form's CSRF token and its other fields.
#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
struct NoFields {}

impl<T: serde::de::DeserializeOwned + Send> FromRequest<AppCtx> for SessionForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, ctx: &AppCtx) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let session = ConsoleSession::from_request_parts(&mut parts, ctx)
            .await
            .map_err(IntoResponse::into_response)?;
        let Form(form) = Form::<WithCsrf<T>>::from_request(Request::from_parts(parts, body), ctx)
            .await
            .map_err(IntoResponse::into_response)?;
        if !session.accepts(&form.csrf) {
            return Err(error_page(
                &session,
                &ApiError::Forbidden("the form is not from this session (CSRF check)".into()),
            ));
        }
        Ok(Self(session, form.fields))
    }
}

async fn logout(headers: HeaderMap, _: SessionForm<NoFields>) -> Response {
    let mut response = Redirect::to("/console/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(&headers, None));
    response
}

async fn jobs(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    // The form sends every field; an empty one is no filter.
    let mut filters: HashMap<String, String> = raw
        .into_iter()
        .filter(|(name, value)| {
            !value.is_empty()
                && [
                    "tenant_id",
                    "kind",
                    "status",
                    "created_from",
                    "created_to",
                    "cursor",
                ]
                .contains(&name.as_str())
        })
        .collect();
    filters.insert("limit".into(), PAGE.to_string());
    let tenants = match ctx.api.store.list_tenants().await {
        Ok(tenants) => tenants,
        Err(error) => return error_page(&session, &error.into()),
    };
    let names: HashMap<String, String> = tenants
        .iter()
        .map(|t| (t.id.to_string(), t.name.as_str().to_owned()))
        .collect();
    let listed = match AdminListParams::parse(&filters) {
        Ok(AdminListParams(tenant, query, _)) => ctx
            .api
            .store
            .list_jobs(tenant, &query)
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    let (jobs, error) = match listed {
        Ok(jobs) => (jobs, None),
        Err(error) => (Vec::new(), Some(message(&error))),
    };
    let next = (jobs.len() == PAGE as usize)
        .then(|| jobs.last().map(|j| next_page(&filters, j.id)))
        .flatten();
    let rows: Vec<Value> = jobs
        .iter()
        .map(|j| {
            context! {
                id => j.id.to_string(),
                kind => j.kind.as_str(),
                status => j.status.as_str(),
                tenant => names.get(&j.tenant_id.to_string()).cloned().unwrap_or_default(),
                created_at => j.created_at.to_rfc3339(),
                provider => j.provider.clone(),
            }
        })
        .collect();
    page(
        StatusCode::OK,
        "jobs.html",
        context! {
            title => "Jobs",
            section => "jobs",
            csrf => session.csrf.as_str(),
            tenants => tenants.iter().map(|t| context! { id => t.id.to_string(), name => t.name.as_str() }).collect::<Vec<_>>(),
            kinds => JobKind::names(),
            statuses => JobStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            filters => serialized(&filters),
            jobs => rows,
            next,
            error,
        },
    )
}

/// The list's next page: the same filters after `last`.
fn next_page(filters: &HashMap<String, String>, last: JobId) -> String {
    let mut pairs: Vec<(String, String)> = filters
        .iter()
        .filter(|(name, _)| name.as_str() != "cursor" && name.as_str() != "limit")
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    pairs.sort();
    pairs.push(("cursor".into(), crate::params::encode_cursor(last)));
    let query: Vec<String> = pairs
        .iter()
        .map(|(n, v)| format!("{n}={}", percent(v)))
        .collect();
    format!("/console/jobs?{}", query.join("&"))
}

/// Percent-encodes a query value (everything but unreserved characters).
fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The job of a path's id, any tenant's (an id that is not a UUID names no job: 404).
async fn any_job(ctx: &AppCtx, raw: &str) -> Result<Job, ApiError> {
    let id: JobId = raw
        .parse()
        .map_err(|_| ApiError::NotFound("no such job".into()))?;
    admin::any_job(ctx, id).await
}

async fn job(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Path(raw): Path<String>,
    Query(notice): Query<HashMap<String, String>>,
) -> Response {
    let job = match any_job(&ctx, &raw).await {
        Ok(job) => job,
        Err(error) => return error_page(&session, &error),
    };
    let deliveries = match ctx.api.store.job_deliveries(job.tenant_id, job.id).await {
        Ok(records) => records
            .into_iter()
            .map(DeliveryView::from)
            .collect::<Vec<_>>(),
        Err(error) => return error_page(&session, &error.into()),
    };
    let tenant = match admin::tenant(&ctx, job.tenant_id).await {
        Ok(t) => t.name.as_str().to_owned(),
        Err(error) => return error_page(&session, &error),
    };
    let trace_link = trace_link(
        ctx.api.config.trace_viewer_url.as_deref(),
        job.traceparent.as_deref(),
    );
    let view = JobView::from(job);
    let pretty = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .and_then(|v| serde_json::to_string_pretty(v).ok())
    };
    let mut documents = Vec::new();
    if let Some(json) = pretty(&view.input) {
        documents.push(context! { title => "Input", json });
    }
    if let Some(json) = pretty(&view.output.clone().flatten()) {
        documents.push(context! { title => "Output", json });
    }
    let can_cancel = matches!(view.status, JobStatus::Queued | JobStatus::Running);
    let can_retry = view.status == JobStatus::Failed;
    // A report's charts, drawn by the console's own route (the API's needs the tenant's key).
    let charts: Vec<&str> =
        if view.kind == JobKind::ProgressReport && view.status == JobStatus::Succeeded {
            ChartName::ALL.iter().map(|c| c.as_str()).collect()
        } else {
            Vec::new()
        };
    page(
        StatusCode::OK,
        "job.html",
        context! {
            title => format!("Job {}", view.id),
            section => "jobs",
            csrf => session.csrf.as_str(),
            notice => notice.get("notice").cloned(),
            attempts => serialized(view.trace.clone().unwrap_or_default()),
            job => serialized(&view),
            tenant,
            documents,
            deliveries => serialized(&deliveries),
            can_cancel,
            can_retry,
            charts,
            trace_link,
            // While it is in flight, the page follows it (no script needed).
            refresh => can_cancel.then_some(1),
        },
    )
}

/// The viewer's link to a job's trace: the trace id of its W3C `traceparent`
/// (`00-<32 hex>-<16 hex>-<2 hex>`) in place of `{trace_id}`.
fn trace_link(viewer: Option<&str>, traceparent: Option<&str>) -> Option<String> {
    let trace_id = traceparent?.split('-').nth(1)?;
    let well_formed = trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| viewer.map(|url| url.replace("{trace_id}", trace_id)))?
}

/// A checked form's action on a job, then the job's page with `notice`.
async fn act_on_job<F>(
    ctx: &AppCtx,
    session: &ConsoleSession,
    raw: &str,
    notice: &str,
    action: F,
) -> Response
where
    F: AsyncFnOnce(&AppCtx, Job) -> Result<Job, ApiError>,
{
    let done = match any_job(ctx, raw).await {
        Ok(job) => action(ctx, job).await,
        Err(error) => Err(error),
    };
    match done {
        Ok(job) => Redirect::to(&format!(
            "/console/jobs/{}?notice={}",
            job.id,
            percent(notice)
        ))
        .into_response(),
        Err(error) => error_page(session, &error),
    }
}

async fn retry(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    act_on_job(&ctx, &session, &raw, "Queued again.", async |ctx, job| {
        admin::retry_any(ctx, &job).await
    })
    .await
}

async fn cancel(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    act_on_job(&ctx, &session, &raw, "Cancelled.", async |ctx, job| {
        let job = ctx
            .api
            .store
            .cancel_job(job.tenant_id, job.id, Utc::now())
            .await?;
        tracing::info!(job_id = %job.id, "job cancelled from the console");
        Ok(job)
    })
    .await
}

async fn tenants(State(ctx): State<AppCtx>, session: ConsoleSession) -> Response {
    let tenants = match ctx.api.store.list_tenants().await {
        Ok(tenants) => tenants,
        Err(error) => return error_page(&session, &error.into()),
    };
    let config = &ctx.api.config;
    page(
        StatusCode::OK,
        "tenants.html",
        context! {
            title => "Tenants",
            section => "tenants",
            csrf => session.csrf.as_str(),
            tenants => serialized(tenants.into_iter().map(TenantView::from).collect::<Vec<_>>()),
            limits => context! {
                rate => config.rate_per_key_per_sec,
                burst => config.rate_burst_per_key,
                queued => config.max_queued_per_tenant,
                streams => config.max_streams_per_tenant,
            },
        },
    )
}

fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("no such tenant".into()))
}

/// The tenant's page; `new_key` is shown once (the answer to its creation), `error` says why a
/// form was refused.
async fn tenant_page(
    ctx: &AppCtx,
    session: &ConsoleSession,
    raw: &str,
    status: StatusCode,
    new_key: Option<KeyView>,
    error: Option<String>,
) -> Response {
    let loaded = async {
        let id = tenant_id(raw)?;
        let tenant = admin::tenant(ctx, id).await?;
        let keys = ctx.api.store.list_api_keys(id).await?;
        let usage = usage_of(ctx, id).await?;
        let schedule = ctx
            .api
            .store
            .motivation_schedule(id, &ScheduleTarget::Tenant)
            .await?;
        let subscriptions = ctx.api.store.count_motivation_subscriptions(id).await?;
        let upcoming = ctx
            .api
            .store
            .upcoming_motivation_schedules(id, UPCOMING)
            .await?;
        Ok::<_, ApiError>((tenant, keys, usage, schedule, subscriptions, upcoming))
    };
    let (tenant, keys, usage, schedule, subscriptions, upcoming) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return error_page(session, &error),
    };
    page(
        status,
        "tenant.html",
        context! {
            title => format!("Tenant {}", tenant.name.as_str()),
            section => "tenants",
            csrf => session.csrf.as_str(),
            tenant => serialized(TenantView::from(tenant)),
            keys => serialized(keys.into_iter().map(KeyView::from).collect::<Vec<_>>()),
            usage => serialized(usage),
            schedule => schedule.map(|s| context! {
                local_time => s.local_time.to_string(),
                timezone => s.timezone.to_string(),
                next_run_at => s.next_run_at.to_rfc3339(),
            }),
            subscriptions,
            upcoming => upcoming
                .iter()
                .map(|s| context! {
                    athlete => match &s.target {
                        ScheduleTarget::Tenant => None,
                        ScheduleTarget::Athlete(athlete) => Some(athlete.as_str()),
                    },
                    local_time => s.local_time.to_string(),
                    timezone => s.timezone.to_string(),
                    next_run_at => s.next_run_at.to_rfc3339(),
                })
                .collect::<Vec<_>>(),
            new_key => new_key.map(serialized),
            error,
        },
    )
}

async fn tenant(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Path(raw): Path<String>,
) -> Response {
    tenant_page(&ctx, &session, &raw, StatusCode::OK, None, None).await
}

async fn set_access(ctx: &AppCtx, session: &ConsoleSession, raw: &str, disabled: bool) -> Response {
    let changed = match tenant_id(raw) {
        Ok(id) => admin::set_disabled(ctx, id, disabled).await,
        Err(error) => Err(error),
    };
    match changed {
        Ok(t) => Redirect::to(&format!("/console/tenants/{}", t.id)).into_response(),
        Err(error) => error_page(session, &error),
    }
}

async fn disable(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    set_access(&ctx, &session, &raw, true).await
}

async fn enable(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    set_access(&ctx, &session, &raw, false).await
}

#[derive(Deserialize)]
struct NewKeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_at: String,
}

async fn create_key(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, form): SessionForm<NewKeyForm>,
) -> Response {
    let expires_at = match form.expires_at.trim() {
        "" => Ok(None),
        text => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| "expires_at: an RFC 3339 instant, like 2027-01-01T00:00:00Z".to_owned()),
    };
    let created = match (tenant_id(&raw), expires_at) {
        (Ok(id), Ok(expires_at)) => admin::new_key(&ctx, id, form.name, expires_at)
            .await
            .map_err(|e| message(&e)),
        (Err(error), _) => return error_page(&session, &error),
        (_, Err(why)) => Err(why),
    };
    match created {
        // The key is in this answer only: a page, not a redirect (never in a URL).
        Ok(key) => tenant_page(&ctx, &session, &raw, StatusCode::CREATED, Some(key), None).await,
        Err(why) => {
            tenant_page(
                &ctx,
                &session,
                &raw,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(why),
            )
            .await
        }
    }
}

async fn revoke_key(
    State(ctx): State<AppCtx>,
    Path((raw, key)): Path<(String, String)>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    let revoked = match (tenant_id(&raw), key.parse::<ApiKeyId>()) {
        (Ok(id), Ok(key)) => admin::revoke(&ctx, id, key).await,
        _ => Err(ApiError::NotFound("no such key for this tenant".into())),
    };
    match revoked {
        Ok(_) => Redirect::to(&format!("/console/tenants/{raw}")).into_response(),
        Err(error) => error_page(&session, &error),
    }
}

#[derive(Deserialize)]
struct BudgetForm {
    #[serde(default)]
    monthly_usd: String,
    #[serde(default)]
    daily_usd: String,
}

/// A dollar amount of the budget form (`None`: left empty).
fn dollars(field: &str, text: &str) -> Result<Option<f64>, ApiError> {
    match text.trim() {
        "" => Ok(None),
        t => t.parse::<f64>().map(Some).map_err(|_| {
            ApiError::Validation(vec![crate::error::FieldIssue::at(
                field,
                "a number of US dollars, like 25 or 2.50",
            )])
        }),
    }
}

async fn budget(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, form): SessionForm<BudgetForm>,
) -> Response {
    let set = async {
        let id = tenant_id(&raw)?;
        let monthly = dollars("monthly_usd", &form.monthly_usd)?.ok_or_else(|| {
            ApiError::Validation(vec![crate::error::FieldIssue::at(
                "monthly_usd",
                "required (remove the budget to have none)",
            )])
        })?;
        let daily = dollars("daily_usd", &form.daily_usd)?;
        crate::usage::set_budget(&ctx, id, monthly, daily).await
    };
    match set.await {
        Ok(()) => Redirect::to(&format!("/console/tenants/{raw}")).into_response(),
        Err(error) if error.status() == StatusCode::NOT_FOUND => error_page(&session, &error),
        Err(error) => {
            let why = error
                .issues()
                .iter()
                .map(|i| format!("{}: {}", i.field.as_deref().unwrap_or("budget"), i.message))
                .collect::<Vec<_>>()
                .join("; ");
            let why = if why.is_empty() { message(&error) } else { why };
            tenant_page(
                &ctx,
                &session,
                &raw,
                StatusCode::BAD_REQUEST,
                None,
                Some(why),
            )
            .await
        }
    }
}

async fn remove_budget(
    State(ctx): State<AppCtx>,
    Path(raw): Path<String>,
    SessionForm(session, NoFields {}): SessionForm<NoFields>,
) -> Response {
    let removed = match tenant_id(&raw) {
        Ok(id) => ctx
            .api
            .store
            .set_budget(id, None, Utc::now())
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    match removed {
        Ok(()) => Redirect::to(&format!("/console/tenants/{raw}")).into_response(),
        Err(error) => error_page(&session, &error),
    }
}

/// The playground's form: the kind's example input, or what was sent back with its errors.
async fn playground_page(
    ctx: &AppCtx,
    session: &ConsoleSession,
    status: StatusCode,
    kind: JobKind,
    input: String,
    tenant_id: Option<String>,
    errors: Vec<Value>,
) -> Response {
    let tenants = match ctx.api.store.list_tenants().await {
        Ok(tenants) => tenants,
        Err(error) => return error_page(session, &error.into()),
    };
    page(
        status,
        "playground.html",
        context! {
            title => "Playground",
            section => "playground",
            csrf => session.csrf.as_str(),
            kinds => JobKind::names(),
            kind => kind.as_str(),
            tenants => serialized(tenants.into_iter().map(TenantView::from).collect::<Vec<_>>()),
            tenant_id,
            input,
            errors,
        },
    )
}

/// The example input of `kind`, as `/v1/kinds` serves it, pretty-printed for editing.
fn example_text(ctx: &AppCtx, kind: JobKind) -> String {
    ctx.kinds
        .iter()
        .find(|k| k.kind == kind)
        .and_then(|k| serde_json::to_string_pretty(&k.example_input).ok())
        .unwrap_or_else(|| "{}".to_owned())
}

async fn playground(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let kind = query
        .get("kind")
        .and_then(|k| k.parse().ok())
        .unwrap_or(JobKind::ALL[0]);
    let input = example_text(&ctx, kind);
    playground_page(
        &ctx,
        &session,
        StatusCode::OK,
        kind,
        input,
        None,
        Vec::new(),
    )
    .await
}

#[derive(Deserialize)]
struct PlayForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    input: String,
}

/// Submits the playground's job as the chosen tenant, through the same parsing and the same
/// coalesced insert as `POST /v1/jobs`, then shows it.
async fn play(
    State(ctx): State<AppCtx>,
    request_id: crate::edge::CurrentRequestId,
    SessionForm(session, form): SessionForm<PlayForm>,
) -> Response {
    let kind = form.kind.parse::<JobKind>().unwrap_or(JobKind::ALL[0]);
    let refused = |status: StatusCode, errors: Vec<Value>| {
        let ctx = ctx.clone();
        let session = session.clone();
        let (input, tenant) = (form.input.clone(), form.tenant_id.clone());
        async move { playground_page(&ctx, &session, status, kind, input, Some(tenant), errors).await }
    };
    let known = match tenant_id(&form.tenant_id) {
        Ok(id) => admin::tenant(&ctx, id).await.ok(),
        Err(_) => None,
    };
    let tenant = match known {
        Some(t) if t.disabled_at.is_none() => t.id,
        Some(t) => {
            let e = context! { field => "tenant_id", message => format!("{} is disabled: its jobs are refused", t.name.as_str()) };
            return refused(StatusCode::FORBIDDEN, vec![e]).await;
        }
        None => {
            let e = context! { field => "tenant_id", message => "pick a tenant" };
            return refused(StatusCode::BAD_REQUEST, vec![e]).await;
        }
    };
    let input: serde_json::Value = match serde_json::from_str(&form.input) {
        Ok(input) => input,
        Err(error) => {
            let e = context! { field => "input", message => format!("not JSON: {error}") };
            return refused(StatusCode::BAD_REQUEST, vec![e]).await;
        }
    };
    let body = serde_json::json!({ "kind": kind.as_str(), "input": input });
    let submitted = async {
        let submission = crate::submission::parse_value(body, &ctx.api.config.destinations)?;
        // The tenant's cap on queued jobs holds here as in `POST /v1/jobs`.
        ctx.queued
            .admit_queued(
                ctx.api.store.as_ref(),
                tenant,
                ctx.api.config.max_queued_per_tenant,
            )
            .await?;
        let new_job = submission.into_new_job(
            tenant,
            None,
            request_id.0,
            None,
            ctx.api.config.default_max_attempts,
        );
        ctx.submits.submit(new_job).await
    };
    match submitted.await {
        Ok(sparta_jobs::Inserted::Created(job) | sparta_jobs::Inserted::Replayed(job)) => {
            crate::metrics::jobs_submitted(job.kind, 1);
            Redirect::to(&format!("/console/jobs/{}?notice=Submitted.", job.id)).into_response()
        }
        Err(error) => {
            let issues = error.issues();
            let errors: Vec<Value> = if issues.is_empty() {
                vec![context! { message => message(&error) }]
            } else {
                issues
                    .iter()
                    .map(|i| context! { field => i.field.clone(), message => i.message.clone() })
                    .collect()
            };
            refused(error.status(), errors).await
        }
    }
}

/// A progress report's chart, for the job page (the API's route needs the tenant's key).
async fn chart(
    State(ctx): State<AppCtx>,
    session: ConsoleSession,
    Path((raw, name)): Path<(String, String)>,
) -> Response {
    let drawn = async {
        let job = any_job(&ctx, &raw).await?;
        let name = ChartName::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| ApiError::NotFound("no such chart".into()))?;
        crate::charts::render(&job, name)
    };
    match drawn.await {
        Ok(svg) => svg.into_response(),
        Err(error) => error_page(&session, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every template parses (a broken one would only show when its page is drawn).
    #[test]
    fn every_template_parses() {
        let env = templates();
        for name in [
            "base.html",
            "login.html",
            "error.html",
            "jobs.html",
            "job.html",
            "tenants.html",
            "tenant.html",
            "playground.html",
            "providers.html",
            "overview.html",
            "overview_live.html",
        ] {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
        let page = env
            .get_template("login.html")
            .and_then(|t| t.render(context! { title => "Sign in", error => "<b>no</b>" }));
        // Autoescaped: a message never becomes markup.
        assert!(page.is_ok_and(|html| html.contains("&lt;b&gt;no&lt;") && !html.contains("<b>no")));
    }

    #[test]
    fn a_trace_link_takes_the_trace_id_of_the_traceparent() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_link(Some("https://jaeger.local/trace/{trace_id}"), Some(parent)).as_deref(),
            Some("https://jaeger.local/trace/4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_link(None, Some(parent)), None);
        assert_eq!(trace_link(Some("https://x/{trace_id}"), None), None);
        assert_eq!(
            trace_link(Some("https://x/{trace_id}"), Some("00-zz-00-01")),
            None
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(percent("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(percent("gpt-4o_mini.v~1"), "gpt-4o_mini.v~1");
    }
}
