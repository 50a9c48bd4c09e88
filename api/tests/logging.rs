//! Logging: every line a request logs carries its request id (own test binary, because the
//! subscriber is installed per thread and other tests must not race its callsite registration).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};

use support::{harness, nutrition};

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_id() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    // The test runtime is single-threaded, so a thread-local default sees the whole request.
    let _guard = tracing::subscriber::set_default(subscriber);
    let h = harness().await;
    let reply = h
        .send(
            h.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .header("x-request-id", "trace-me-1")
                .body(Body::from(nutrition().to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let accepted: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("job accepted"))
        .collect();
    let finished: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("request finished"))
        .collect();
    assert_eq!(accepted.len(), 1, "{text}");
    assert_eq!(finished.len(), 1, "{text}");
    for line in accepted.iter().chain(&finished) {
        assert!(line.contains("request_id=trace-me-1"), "{line}");
        assert!(
            line.contains("method=POST") && line.contains("path=/v1/jobs"),
            "{line}"
        );
        assert!(line.contains("tenant=acme"), "{line}");
    }
    assert!(
        finished[0].contains("status=202") && finished[0].contains("latency_ms="),
        "{}",
        finished[0]
    );
}
