//! `/console`: the operator's web console. Server-rendered HTML (minijinja templates embedded in
//! the binary, autoescaped), one stylesheet and a few lines of script of our own, nothing from
//! the internet; every page works without script. Signed in with the operator's token
//! ([`session`]); every form posts a CSRF token.
//!
//! Here: the routes, the templates, the page and error rendering, sign-in and sign-out and the
//! checked form extractor ([`SessionForm`]). A page per module: the [`overview`] (throughput,
//! queue depth, wait and run times, failures, webhook backlog, breakers; live), the [`jobs`]
//! (the list with the admin list's filters; a job with its input and output, the attempts,
//! the deliveries, cancel and retry, its trace and charts), the [`tenants`] (access, keys,
//! budget and spend, motivation schedules, limits), the [`providers`] (breakers forced and
//! lifted; each model's latency, error classes, cache hits, tokens and spend per day) and the
//! [`playground`]. The figures of the overview and the providers come from the workers'
//! [`activity`] and are drawn as [`chart`]s.

mod activity;
mod chart;
mod jobs;
mod overview;
mod playground;
mod providers;
mod session;
mod tenants;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Form, FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Environment, Value, context};
use serde::Deserialize;

use crate::auth::ClientAddr;
use crate::context::AppCtx;
use crate::error::ApiError;

use session::{ConsoleSession, SignInError};

/// What the console's pages may load: their own stylesheet and script, nothing else.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

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
        .route("/console/jobs", get(jobs::jobs))
        .route("/console/jobs/{id}", get(jobs::job))
        .route("/console/jobs/{id}/retry", post(jobs::retry))
        .route("/console/jobs/{id}/cancel", post(jobs::cancel))
        .route("/console/tenants", get(tenants::tenants))
        .route("/console/tenants/{id}", get(tenants::tenant))
        .route("/console/tenants/{id}/disable", post(tenants::disable))
        .route("/console/tenants/{id}/enable", post(tenants::enable))
        .route("/console/tenants/{id}/keys", post(tenants::create_key))
        .route("/console/tenants/{id}/budget", post(tenants::budget))
        .route(
            "/console/tenants/{id}/budget/remove",
            post(tenants::remove_budget),
        )
        .route(
            "/console/tenants/{id}/keys/{key}/revoke",
            post(tenants::revoke_key),
        )
        .route(
            "/console/playground",
            get(playground::playground).post(playground::play),
        )
        .route("/console/providers", get(providers::providers))
        .route("/console/providers/{model}", post(providers::force_breaker))
        .route("/console/jobs/{id}/charts/{name}", get(jobs::chart))
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
    fn query_values_are_percent_encoded() {
        assert_eq!(percent("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(percent("gpt-4o_mini.v~1"), "gpt-4o_mini.v~1");
    }
}
