//! A webhook receiver for tests: a real HTTP server that records every request, can be taken
//! "down" (answers 503) and back up, and checks Standard Webhooks signatures with its own
//! implementation of the scheme (HMAC-SHA256 over `{id}.{timestamp}.{body}`, base64), written
//! from the specification rather than calling the signing code under test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;
use tokio::time::Instant;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub path: String,
    /// The `x-request-id` header (the request that created the job).
    pub request_id: String,
    /// The `traceparent` header (the delivery's span, when spans are exported).
    pub traceparent: String,
    pub at: Instant,
    /// The same instant on the wall clock (to compare with the store's timestamps).
    pub wall: chrono::DateTime<chrono::Utc>,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }
}

#[derive(Default)]
struct Inner {
    up: AtomicBool,
    requests: Mutex<Vec<Received>>,
}

/// The receiver; dropped, it stops serving.
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

async fn record(
    State(inner): State<Arc<Inner>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let path = uri.path().to_owned();
    if path == "/slow" {
        // Longer than the tests' 2 s delivery timeout: every attempt times out.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    let status = if path == "/redirect" {
        StatusCode::FOUND
    } else if inner.up.load(Ordering::SeqCst) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    inner.requests.lock().expect("lock").push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        path,
        request_id: header("x-request-id"),
        traceparent: header("traceparent"),
        at: Instant::now(),
        wall: chrono::Utc::now(),
        status: status.as_u16(),
    });
    if status == StatusCode::FOUND {
        return (status, [("location", "/elsewhere")]).into_response();
    }
    status.into_response()
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        inner.up.store(true, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/{*path}", post(record))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            inner,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_up(&self, up: bool) {
        self.inner.up.store(up, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.inner.requests.lock().expect("lock").clone()
    }

    /// Requests grouped by `webhook-id`.
    pub fn by_event(&self) -> BTreeMap<String, Vec<Received>> {
        let mut map: BTreeMap<String, Vec<Received>> = BTreeMap::new();
        for r in self.requests() {
            map.entry(r.id.clone()).or_default().push(r);
        }
        map
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// True when one of the `v1,` signatures of the header is the HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under `secret` (`whsec_<base64 key>`).
pub fn signature_is_valid(secret: &str, received: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    received
        .signature
        .split(' ')
        .any(|candidate| candidate == format!("v1,{expected}"))
}
