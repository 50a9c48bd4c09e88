//! W3C trace context (`traceparent`) between processes: the API stores the request's with each
//! job it creates, the worker continues that trace when it runs the job and sends it with each
//! webhook delivery. Through OpenTelemetry's own propagator; without an exporter (no
//! `telemetry.otlp_endpoint`) spans carry no context and nothing is stored or sent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

const HEADER: &str = "traceparent";

/// Whether spans are exported (the binary sets it when `telemetry.otlp_endpoint` is set):
/// work done only for traces (a read of a job's `traceparent`) is skipped otherwise.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns trace propagation on for this process.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether spans are exported.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The `traceparent` of `span`, when it is part of an exported trace.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove(HEADER)
}

/// Makes `span` a child of the span a stored `traceparent` names (another process's).
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([(HEADER.to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}
