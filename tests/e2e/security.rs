//! The security suite, tried as a hostile tenant or client would: every operation that takes an
//! id, called by another tenant with the first tenant's ids (generated from the OpenAPI
//! document, so a new route is swept the day it is added); the headers every response carries;
//! request ids that could forge log fields; guessing API keys from one address.

use serde_json::{Value, json};
use sparta::Roles;

use crate::harness::*;

/// One job of tenant A in each state a client can leave it in, plus a subscription.
struct Owned {
    running_or_queued: String,
    succeeded: String,
    athlete: &'static str,
}

/// Every operation of the document with a path parameter: `(method, path template)`.
fn operations_with_path_ids(document: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        if !path.contains('{') {
            continue;
        }
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                found.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

fn fill(template: &str, job: &str, athlete: &str) -> String {
    template
        .replace("{id}", job)
        .replace("{athlete_id}", athlete)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_ids_answer_404_and_change_nothing() {
    let dir = TempDir::new();
    let settings = embedded_settings(&dir);
    let service = start(&settings, Roles::API).await;
    let store = service.backends().store.clone();
    let a = Client::new(&service, &create_tenant(&*store, "alpha").await);
    let b = a.with_key(&create_tenant(&*store, "bravo").await);

    // No worker: A's first job stays queued (cancellable); the second is run by a worker
    // started for it and stopped again, so both a live and a terminal job are tried.
    let owned = {
        let worker = start(&settings, Roles::WORKER).await;
        let succeeded = a.submit_ok(&nutrition(70.0)).await;
        assert_eq!(a.wait_terminal(&succeeded).await["status"], "succeeded");
        worker.stop().await;
        let running_or_queued = a.submit_ok(&nutrition(71.0)).await;
        let reply = a
            .send(
                a.http
                    .put(format!("{}/v1/motivation/subscriptions/ath-1", a.base))
                    .json(&json!({"timezone": "Europe/Paris", "local_time": "07:30"})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        Owned {
            running_or_queued,
            succeeded,
            athlete: "ath-1",
        }
    };
    let before: Vec<Value> = {
        let mut jobs = Vec::new();
        for id in [&owned.running_or_queued, &owned.succeeded] {
            jobs.push(a.get(&format!("/v1/jobs/{id}")).await.first().clone());
        }
        jobs
    };
    let subscription_before = a
        .get(&format!("/v1/motivation/subscriptions/{}", owned.athlete))
        .await
        .first()
        .clone();

    let document: Value = reqwest::get(format!("{}/openapi.json", a.base))
        .await
        .expect("document")
        .json()
        .await
        .expect("json");
    let operations = operations_with_path_ids(&document);
    assert!(
        operations.len() >= 6,
        "the document lists the id operations: {operations:?}"
    );
    let mut calls = 0;
    for (method, template) in &operations {
        // Athlete ids are the tenant's own namespace: B writing `ath-1` makes B's athlete,
        // never touches A's, so only reads and deletes must miss.
        if template.contains("{athlete_id}") && method == "PUT" {
            continue;
        }
        // The operator's routes: a tenant's key is 403 there whatever the ids (tests/e2e/admin.rs).
        if template.starts_with("/v1/admin/") {
            continue;
        }
        // The catalogue is the same for every tenant: its ids are not a tenant's.
        if template.starts_with("/v1/exercises/") {
            continue;
        }
        for job in [&owned.running_or_queued, &owned.succeeded] {
            let url = format!("{}{}", b.base, fill(template, job, owned.athlete));
            let request = b
                .http
                .request(method.parse().expect("method"), url)
                .header("content-type", "application/json")
                .body("{}");
            let reply = b.send(request).await;
            calls += 1;
            assert_eq!(
                (reply.status, reply.error_code()),
                (404, "NOT_FOUND"),
                "{method} {template} by another tenant: {}",
                reply.body
            );
            let text = reply.body.to_string();
            assert!(
                !text.contains(job.as_str()) || text.contains("no route"),
                "a 404 that repeats the foreign id back as data: {text}"
            );
        }
    }
    for (job, earlier) in [&owned.running_or_queued, &owned.succeeded]
        .into_iter()
        .zip(&before)
    {
        let now = a.get(&format!("/v1/jobs/{job}")).await.first().clone();
        assert_eq!(
            (&now["status"], &now["attempt"], &now["output"]),
            (&earlier["status"], &earlier["attempt"], &earlier["output"]),
            "another tenant changed {job}"
        );
    }
    let subscription_after = a
        .get(&format!("/v1/motivation/subscriptions/{}", owned.athlete))
        .await
        .first()
        .clone();
    assert_eq!(subscription_after, subscription_before);
    report_line(format_args!(
        "security: {} id operations from the OpenAPI document, {calls} cross-tenant calls, all 404, nothing changed",
        operations.len()
    ));
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers_and_safe_request_ids() {
    let dir = TempDir::new();
    let settings = embedded_settings(&dir);
    let service = start(&settings, Roles::API).await;
    let client = Client::new(
        &service,
        &create_tenant(&*service.backends().store, "acme").await,
    );
    let http = reqwest::Client::new();
    for (path, authenticated) in [
        ("/v1/kinds", true),
        ("/v1/jobs", true),
        ("/v1/nowhere", true),
        ("/v1/jobs", false),
        ("/healthz", false),
        ("/openapi.json", false),
        ("/docs", false),
    ] {
        let mut request = http.get(format!("{}{path}", client.base));
        if authenticated {
            request = request.bearer_auth(&client.key);
        }
        let response = request.send().await.expect("response");
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        if path == "/docs" {
            assert!(
                csp.contains("script-src 'sha256-") && !csp.contains("script-src 'unsafe"),
                "the docs page runs only its own scripts: {csp}"
            );
        } else {
            assert_eq!(headers["cache-control"], "no-store", "{path}");
        }
    }

    // A request id that could forge a log field or break a header is replaced, and the
    // replacement echoed; a sane one is kept.
    for forged in [
        "a}b",
        "x=1",
        "id\" level=error",
        "ok id",
        &"x".repeat(129),
        "",
    ] {
        let response = http
            .get(format!("{}/healthz", client.base))
            .header("x-request-id", forged)
            .send()
            .await
            .expect("response");
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let body: Value = response.json().await.expect("json");
        assert!(echoed.starts_with("req_"), "{forged:?} → {echoed}");
        assert_eq!(body["meta"]["request_id"], echoed.as_str());
    }
    let kept = "client.trace:42-A_b";
    let response = http
        .get(format!("{}/healthz", client.base))
        .header("x-request-id", kept)
        .send()
        .await
        .expect("response");
    assert_eq!(response.headers()["x-request-id"], kept);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_keys_from_one_address_is_slowed_to_a_429() {
    let dir = TempDir::new();
    let mut settings = embedded_settings(&dir);
    settings.api.auth_failures_per_sec = 1;
    settings.api.auth_failure_burst = 10;
    let service = start(&settings, Roles::API).await;
    let client = Client::new(
        &service,
        &create_tenant(&*service.backends().store, "acme").await,
    );
    let mut statuses = Vec::new();
    for i in 0..30 {
        // Well-formed keys that no tenant holds, each a new one.
        let guess = client.with_key(&format!(
            "sk_sparta_{}",
            uuid::Uuid::new_v4().simple().to_string().repeat(2)
        ));
        let reply = guess.get("/v1/jobs").await;
        if reply.status == 429 {
            assert!(reply.headers.contains_key("retry-after"), "attempt {i}");
        }
        statuses.push(reply.status);
    }
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    report_line(format_args!(
        "security: 30 key guesses from one address (burst 10, 1/s): {unauthorized} × 401, {limited} × 429"
    ));
    assert!(
        (10..=12).contains(&unauthorized),
        "the burst is allowed, then refused: {statuses:?}"
    );
    assert_eq!(unauthorized + limited, 30, "{statuses:?}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_and_todays_messages_count_against_the_tenants_caps() {
    let dir = TempDir::new();
    let mut settings = embedded_settings(&dir);
    settings.api.max_subscriptions_per_tenant = 2;
    settings.api.max_queued_per_tenant = 1;
    let service = start(&settings, Roles::API).await;
    let client = Client::new(
        &service,
        &create_tenant(&*service.backends().store, "acme").await,
    );
    let subscribe = |athlete: &'static str| {
        let client = client.clone();
        async move {
            client
                .send(
                    client
                        .http
                        .put(format!(
                            "{}/v1/motivation/subscriptions/{athlete}",
                            client.base
                        ))
                        .json(&json!({"timezone": "UTC", "local_time": "07:00"})),
                )
                .await
        }
    };
    assert_eq!(subscribe("a1").await.status, 200);
    assert_eq!(subscribe("a2").await.status, 200);
    let third = subscribe("a3").await;
    assert_eq!(
        (third.status, third.error_code(), third.error_field()),
        (422, "BUSINESS_RULE_VIOLATION", "athlete_id"),
        "{}",
        third.body
    );
    assert_eq!(third.body["errors"][0]["details"]["limit"], 2);
    assert_eq!(
        subscribe("a2").await.status,
        200,
        "replacing one is not adding one"
    );

    // No worker: one queued job fills the cap, and preparing today's message would be another.
    client.submit_ok(&nutrition(70.0)).await;
    let today = client.get("/v1/motivation/today?athlete_id=a1").await;
    assert_eq!(
        (today.status, today.error_code()),
        (429, "RATE_LIMIT_EXCEEDED"),
        "{}",
        today.body
    );
    service.stop().await;
}
