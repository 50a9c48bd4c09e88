//! The job lifecycle through the API, in embedded and distributed mode.

use serde_json::json;
use sparta::{Roles, Settings};

use crate::harness::*;

/// Submits the nutrition example, reads the result, and checks what the store kept.
async fn nutrition_round_trip(settings: &Settings) {
    let service = start(settings, Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);

    let reply = client
        .send(
            client
                .http
                .post(format!("{}/v1/jobs", client.base))
                .header("x-request-id", "req_e2e-trace-1")
                .json(&example("nutrition")),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.body["meta"]["request_id"], "req_e2e-trace-1");
    let id = reply.first()["id"].as_str().expect("id").to_owned();

    let job = client.wait_terminal(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let output = &job["output"];
    assert_eq!(output["meals_per_day"], 4);
    // 64.5 kg at 24 % body fat in a cut: 49.0 kg fat-free mass × 2.3–3.1 g/kg (science.md §A6).
    let daily = output["protein_g_per_day"].as_f64().expect("daily protein");
    assert!(
        (49.0 * 2.3 - 1.0..=49.0 * 3.1 + 1.0).contains(&daily),
        "{daily}"
    );
    assert!(
        output["food_examples"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );
    assert_eq!(job["provider"], "builtin");
    assert_eq!(job["attempt"], 1);
    assert_eq!(job["request_id"], "req_e2e-trace-1");
    assert_eq!(job["trace"].as_array().map(Vec::len), Some(1));

    // Listed, newest first, with a page envelope.
    let listed = client.get("/v1/jobs?kind=nutrition&status=succeeded").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.first()["id"], id.as_str());
    assert!(listed.body["meta"]["page"].is_object());

    // A finished job cannot be cancelled.
    let cancel = client
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(cancel.status, 409, "{}", cancel.body);
    assert_eq!(cancel.error_code(), "CONFLICT");

    // Another tenant sees nothing.
    let other = create_tenant(&*service.backends().store, "other").await;
    let foreign = client.with_key(&other).get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(foreign.status, 404);
    assert_eq!(foreign.error_code(), "NOT_FOUND");

    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_nutrition_round_trip() {
    let dir = TempDir::new();
    nutrition_round_trip(&embedded_settings(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_nutrition_round_trip() {
    nutrition_round_trip(&distributed_settings(&redis_url()).await).await;
}

/// Health endpoints answer without a key; readiness checks both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let dir = TempDir::new();
    let service = start(&embedded_settings(&dir), Roles::API).await;
    let client = Client::new(&service, "none");
    let health = client.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.first()["version"], env!("CARGO_PKG_VERSION"));
    // The commit the binary was built from: this checkout's HEAD.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git");
    let head = String::from_utf8(head.stdout).expect("utf-8");
    assert_eq!(health.first()["commit"], head.trim(), "{}", health.body);
    assert_eq!(client.get("/readyz").await.status, 200);
    let kinds = client.get("/v1/kinds").await;
    assert_eq!(kinds.status, 401, "kinds need a key");
    service.stop().await;
}

/// Idempotent submission through real HTTP: replay → 200 with the same job, new body → 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys() {
    let dir = TempDir::new();
    let service = start(&embedded_settings(&dir), Roles::API).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);
    let post = |body: serde_json::Value| {
        client.send(
            client
                .http
                .post(format!("{}/v1/jobs", client.base))
                .header("idempotency-key", "order-1")
                .json(&body),
        )
    };
    let first = post(nutrition(80.0)).await;
    assert_eq!(first.status, 202);
    let again = post(nutrition(80.0)).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.first()["id"], first.first()["id"]);
    let changed = post(nutrition(81.0)).await;
    assert_eq!(changed.status, 409);
    assert_eq!(changed.error_code(), "CONFLICT");
    let listed = client.get("/v1/jobs").await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1));
    service.stop().await;
}

/// A queued job can be cancelled and is then never run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_a_queued_job() {
    let dir = TempDir::new();
    let settings = embedded_settings(&dir);
    let api = start(&settings, Roles::API).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let client = Client::new(&api, &key);
    let id = client.submit_ok(&nutrition(70.0)).await;
    let cancelled = client
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.first()["status"], "cancelled");
    let worker = start(&settings, Roles::WORKER).await;
    let done = client.submit_ok(&nutrition(71.0)).await;
    assert_eq!(client.wait_terminal(&done).await["status"], "succeeded");
    let job = client.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(job.first()["status"], "cancelled");
    assert_eq!(job.first()["attempt"], 0);
    worker.stop().await;
    api.stop().await;
}

/// A failed job is queued again by `POST /v1/jobs/{id}/retry` (same id, attempts from 0, the
/// earlier attempts kept in its trace) and then succeeds; any other status is 409, another
/// tenant's job 404. In distributed mode, so the retry's announcement reaches a worker process
/// through Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_is_retried_under_its_id() {
    let settings = distributed_settings(&redis_url()).await;
    let api = start(&settings, Roles::API).await;
    let store = api.backends().store.clone();
    let key = create_tenant(&*store, "acme").await;
    let other = create_tenant(&*store, "other").await;
    let client = Client::new(&api, &key);
    let id = client.submit_ok(&nutrition(70.0)).await;

    let queued = client
        .post_json(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(queued.status, 409, "{}", queued.body);
    assert_eq!(queued.error_code(), "CONFLICT");
    assert_eq!(queued.body["errors"][0]["details"]["status"], "queued");

    // The job fails (as a worker would record a permanent failure).
    fail_job(&*store, &id).await;
    let failed = client.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(failed.first()["status"], "failed", "{}", failed.body);

    let foreign = Client::new(&api, &other)
        .post_json(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.body);

    let retried = client
        .post_json(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!(retried.first()["id"], id.as_str());
    assert_eq!(retried.first()["status"], "queued");
    assert_eq!(retried.first()["attempt"], 0);
    assert!(retried.first()["error"].is_null(), "{}", retried.body);

    let worker = start(&settings, Roles::WORKER).await;
    let done = client.wait_terminal(&id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempt"], 1);
    let trace = done["trace"].as_array().expect("trace");
    assert_eq!(trace[0]["outcome"], "timeout", "{done}");
    assert_eq!(trace[1]["event"], "retried");
    assert_eq!(trace[1]["after_attempts"], 1);
    assert_eq!(trace[2]["job_attempt"], 1);
    assert_eq!(trace[2]["provider"], "builtin");

    let again = client
        .post_json(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    worker.stop().await;
    api.stop().await;
}

/// Each API key has its own request rate: a burst beyond it answers 429 with Retry-After, and
/// other keys are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_rate_limit() {
    let dir = TempDir::new();
    let mut settings = embedded_settings(&dir);
    settings.api.rate_per_key_per_sec = 1;
    settings.api.rate_burst_per_key = 3;
    let service = start(&settings, Roles::API).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let other = create_tenant(&*service.backends().store, "other").await;
    let client = Client::new(&service, &key);
    for _ in 0..3 {
        assert_eq!(client.get("/v1/jobs").await.status, 200);
    }
    let limited = client.get("/v1/jobs").await;
    assert_eq!(
        (limited.status, limited.error_code()),
        (429, "RATE_LIMIT_EXCEEDED")
    );
    assert_eq!(limited.headers["retry-after"], "1");
    assert_eq!(client.with_key(&other).get("/v1/jobs").await.status, 200);
    service.stop().await;
}
