//! The overview (the console's landing page): jobs finished per second now and over the last
//! hour (a chart), the queue depth by kind and status, wait and run times and failures by kind,
//! the webhook backlog and the breakers — followed live over Server-Sent Events.
//!
//! Nothing here counts the jobs table: the depth and the webhook backlog are the cached gauges
//! of `/metrics` ([`crate::metrics::DepthClock`], read in the background at most once a second),
//! the rest is the workers' activity of the last hour (a few rows per process and minute).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use minijinja::{Value, context};
use sparta_coach::JobKind;
use sparta_jobs::JobStatus;
use sparta_jobs::activity::{JobEnd, Period};

use super::activity::{HOUR_MINUTES, Periods, duration_text, kind_lines};
use super::session::ConsoleSession;
use super::{chart, error_page, message, page, providers, templates};
use crate::context::AppCtx;
use crate::error::ApiError;

/// What the overview's live part shows, read now.
async fn overview_context(ctx: &AppCtx, live: bool) -> Result<Value, ApiError> {
    let now = Utc::now();
    let gauges = ctx.depth.current(ctx).await;
    let count = |kind: JobKind, status: JobStatus| {
        gauges
            .depth
            .iter()
            .find(|d| d.kind == kind && d.status == status)
            .map_or(0, |d| d.jobs)
    };
    let total = |status: JobStatus| -> u64 {
        gauges
            .depth
            .iter()
            .filter(|d| d.status == status)
            .map(|d| d.jobs)
            .sum()
    };
    let hour = Periods::read(ctx, Period::Minute, HOUR_MINUTES, now).await?;
    let rows: Vec<Value> = JobKind::ALL
        .iter()
        .zip(kind_lines(&hour.total))
        .map(|(&k, line)| {
            context! {
                kind => k.as_str(),
                queued => count(k, JobStatus::Queued),
                running => count(k, JobStatus::Running),
                hour => super::serialized(line),
            }
        })
        .collect();
    let rates = hour.finished_per_second(Period::Minute);
    let finished = hour.total.finished();
    let chart = chart::throughput(
        &rates,
        "Jobs finished per second in each minute of the last hour",
    )?;
    let webhooks = &gauges.webhooks;
    Ok(context! {
        at => now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        live,
        depth => rows,
        totals => context! { queued => total(JobStatus::Queued), running => total(JobStatus::Running) },
        rate_now => rate_text(hour.finished_per_second_now(now)),
        rate_hour => rate_text(finished as f64 / (HOUR_MINUTES * 60) as f64),
        hour => context! {
            finished,
            succeeded => hour.total.ended(JobEnd::Succeeded),
            dead => hour.total.ended(JobEnd::Failed),
            retried => hour.total.ended(JobEnd::Retried),
            lease_lost => hour.total.ended(JobEnd::LeaseLost),
        },
        minutes => rates
            .iter()
            .map(|(start, rate)| context! {
                at => start.format("%H:%M").to_string(),
                rate => format!("{rate:.2}"),
            })
            .collect::<Vec<_>>(),
        chart => Value::from_safe_string(chart),
        webhooks => context! {
            pending => webhooks.pending,
            oldest => webhooks
                .oldest
                .map(|at| duration_text(Some((now - at).num_milliseconds().max(0) as f64 / 1000.0))),
        },
        models => providers::models(ctx).await?,
    })
}

/// A rate with as many decimals as it needs to say something (0.02, 8.40, 47.5, 5408).
fn rate_text(per_second: f64) -> String {
    if per_second < 10.0 {
        format!("{per_second:.2}")
    } else if per_second < 100.0 {
        format!("{per_second:.1}")
    } else {
        format!("{per_second:.0}")
    }
}

pub(super) async fn overview(State(ctx): State<AppCtx>, session: ConsoleSession) -> Response {
    let live = match overview_context(&ctx, false).await {
        Ok(live) => live,
        Err(error) => return error_page(&session, &error),
    };
    page(
        StatusCode::OK,
        "overview.html",
        context! {
            title => "Overview",
            section => "overview",
            csrf => session.csrf.as_str(),
            noscript_refresh => 5,
            ..live
        },
    )
}

/// How often the overview's stream sends a fresh reading.
const OVERVIEW_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// Readings one overview stream sends (ten minutes' worth); the browser's `EventSource` then
/// opens the next stream by itself.
const OVERVIEW_READINGS: usize = 300;

/// `GET /console/overview/stream`: the overview's live part as HTML, every two seconds, as
/// Server-Sent Events named `live`.
pub(super) async fn overview_stream(State(ctx): State<AppCtx>, _: ConsoleSession) -> Response {
    let stream = futures::stream::unfold((ctx, 0usize), |(ctx, n)| async move {
        if n >= OVERVIEW_READINGS {
            return None;
        }
        if n > 0 {
            tokio::time::sleep(OVERVIEW_EVERY).await;
        }
        let html = match overview_context(&ctx, true).await {
            Ok(live) => templates()
                .get_template("overview_live.html")
                .and_then(|t| t.render(live))
                .unwrap_or_else(|error| {
                    tracing::error!(%error, "rendering the overview");
                    "<p class=\"error\">The figures could not be drawn.</p>".to_owned()
                }),
            Err(error) => format!(
                "<p class=\"error\">The figures could not be read: {}</p>",
                message(&error)
            ),
        };
        // One event per reading; an SSE data line holds no newline.
        let event = axum::response::sse::Event::default()
            .event("live")
            .data(html.replace('\n', " "));
        Some((Ok::<_, std::convert::Infallible>(event), (ctx, n + 1)))
    });
    let mut response = axum::response::sse::Sse::new(stream).into_response();
    response.extensions_mut().insert(crate::edge::Complete);
    response
}
