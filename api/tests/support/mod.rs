//! Shared by the integration tests: a router on a real SQLite store with one tenant, and
//! helpers to send requests and check envelopes.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use sparta_api::{ApiConfig, ApiState, router};
use sparta_jobs::{ApiKey, JobStore, SqliteStore, StoreQueue, TenantName, WebhookSecret};
use tower::ServiceExt as _;

/// A router on a fresh SQLite file with one tenant.
pub struct Harness {
    pub app: Router,
    pub store: Arc<SqliteStore>,
    pub key: String,
    dir: PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn harness() -> Harness {
    harness_with(ApiConfig::default()).await
}

pub async fn harness_with(config: ApiConfig) -> Harness {
    let dir = std::env::temp_dir().join(format!("sparta-api-test-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite:{}", dir.join("jobs.db").display());
    let store = Arc::new(
        SqliteStore::open(
            &url,
            Duration::from_secs(5),
            sparta_jobs::secrets::Keyring::new(&sparta_jobs::secrets::Keyring::generate_key(), &[])
                .unwrap(),
        )
        .await
        .unwrap(),
    );
    store.migrate().await.unwrap();
    let queue = Arc::new(StoreQueue::new(store.clone(), Duration::from_millis(200)));
    let key = ApiKey::generate();
    store
        .create_tenant(
            &TenantName::parse("acme").unwrap(),
            &key.hash(),
            &WebhookSecret::generate(),
        )
        .await
        .unwrap();
    let app = router(ApiState {
        store: store.clone(),
        queue,
        changes: store.change_feed(),
        config,
        metrics: None,
        breakers: None,
    });
    Harness {
        app,
        store,
        key: key.reveal().to_owned(),
        dir,
    }
}

impl Harness {
    /// A second tenant's key on the same store.
    pub async fn other_tenant_key(&self) -> String {
        let key = ApiKey::generate();
        self.store
            .create_tenant(
                &TenantName::parse("other-gym").unwrap(),
                &key.hash(),
                &WebhookSecret::generate(),
            )
            .await
            .unwrap();
        key.reveal().to_owned()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn request(&self, method: Method, uri: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.key))
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(self.request(Method::GET, uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post_json(&self, uri: &str, body: &Value) -> Reply {
        self.send(
            self.request(Method::POST, uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn submit(&self, body: &Value) -> Reply {
        self.post_json("/v1/jobs", body).await
    }

    /// Every job of the tenant, following the cursor.
    pub async fn all_job_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        let mut uri = "/v1/jobs?limit=100".to_owned();
        loop {
            let reply = self.get(&uri).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            ids.extend(
                reply
                    .data()
                    .iter()
                    .map(|j| j["id"].as_str().unwrap().to_owned()),
            );
            match reply.body["meta"]["page"]["next_cursor"].as_str() {
                Some(cursor) => uri = format!("/v1/jobs?limit=100&cursor={cursor}"),
                None => return ids,
            }
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn data(&self) -> &Vec<Value> {
        self.body["data"].as_array().expect("data is an array")
    }

    pub fn job(&self) -> &Value {
        assert_eq!(self.data().len(), 1, "{}", self.body);
        &self.data()[0]
    }

    pub fn id(&self) -> String {
        self.job()["id"].as_str().unwrap().to_owned()
    }

    /// Asserts an error envelope with this status, code and first field; returns the error.
    pub fn assert_error(&self, status: u16, code: &str, field: Option<&str>) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_envelope(&self.body);
        assert_eq!(self.data().len(), 0, "{}", self.body);
        let error = &self.body["errors"][0];
        assert_eq!(error["code"], code, "{}", self.body);
        assert_eq!(error["field"].as_str(), field, "{}", self.body);
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(error["details"].is_object(), "{}", self.body);
        error
    }
}

/// The envelope shape every response shares.
pub fn assert_envelope(body: &Value) {
    assert!(body["data"].is_array(), "{body}");
    assert!(body["errors"].is_array(), "{body}");
    assert!(
        body["meta"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{body}"
    );
    let timestamp = body["timestamp"].as_i64().expect("timestamp");
    let now = chrono::Utc::now().timestamp();
    assert!((now - 5..=now + 5).contains(&timestamp), "{body}");
}

pub fn nutrition() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/examples/nutrition.json"
    ))
    .unwrap_or_else(|_| {
        // The shared example, inlined for checkouts without ../shared.
        r#"{"kind": "nutrition", "input": {"athlete": {"id": "athlete-42", "experience": "intermediate",
            "goal": "hypertrophy", "sex": "female", "age": 31, "bodyweight_kg": 64.5, "body_fat_pct": 24},
            "phase": "cut", "meals_per_day": 4, "diet": "vegetarian"}}"#
            .to_owned()
    });
    serde_json::from_str(&text).unwrap()
}

/// Asserts the tenant has exactly `n` jobs.
pub async fn assert_job_count(h: &Harness, n: usize) {
    assert_eq!(h.all_job_ids().await.len(), n);
}
