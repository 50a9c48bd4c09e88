//! The HTTP contract, end to end through the real router and layers, on a real SQLite store.
//!
//! Each test opens its own database file, creates a tenant with a fresh API key and drives the
//! router with `tower::ServiceExt::oneshot`.

// Helpers outside `#[test]` functions unwrap too: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sparta_api::{ApiConfig, openapi_document};
use sparta_jobs::ApiKey;
use tower::ServiceExt as _;

use support::{Reply, assert_envelope, assert_job_count, harness, harness_with, nutrition};

#[tokio::test]
async fn submit_answers_202_with_the_job_in_the_envelope() {
    let h = harness().await;
    let reply = h.submit(&nutrition()).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_envelope(&reply.body);
    assert_eq!(reply.body["errors"], json!([]));
    assert!(reply.body["meta"].get("page").is_none(), "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/json");

    let job = reply.job();
    assert_eq!(job["kind"], "nutrition");
    assert_eq!(job["status"], "queued");
    assert_eq!(job["priority"], 5);
    assert_eq!(job["attempt"], 0);
    assert_eq!(job["max_attempts"], 3);
    assert_eq!(job["output"], Value::Null);
    assert_eq!(job["input"]["athlete"]["bodyweight_kg"], 64.5);
    assert_eq!(
        job["usage"],
        json!({"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0})
    );
    assert_eq!(job["trace"], json!([]));
    assert!(job["created_at"].as_str().unwrap().ends_with('Z'));
    // The request id is returned and stored on the job.
    let request_id = reply.body["meta"]["request_id"].as_str().unwrap();
    assert_eq!(job["request_id"], request_id);
    assert_eq!(reply.headers["x-request-id"], request_id);
    // Internals stay inside.
    for hidden in [
        "tenant_id",
        "lease_owner",
        "lease_expires_at",
        "idempotency_key",
        "request_hash",
    ] {
        assert!(job.get(hidden).is_none(), "{hidden} leaked");
    }

    let id = reply.id();
    let read = h.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_envelope(&read.body);
    assert_eq!(read.job()["id"], id.as_str());
    assert_eq!(read.job()["request_id"], request_id);
    assert_eq!(h.all_job_ids().await, [id]);
}

#[tokio::test]
async fn optional_fields_are_stored_and_returned() {
    let h = harness().await;
    let mut body = nutrition();
    body["priority"] = json!(9);
    body["webhook_url"] = json!("https://example.com/hooks/sparta");
    body["metadata"] = json!({"user": "u-1", "tags": ["a"]});
    let reply = h.submit(&body).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let job = reply.job();
    assert_eq!(job["priority"], 9);
    assert_eq!(job["webhook_url"], "https://example.com/hooks/sparta");
    assert_eq!(job["metadata"], json!({"user": "u-1", "tags": ["a"]}));
}

#[tokio::test]
async fn malformed_json_is_a_400_with_position_and_stores_nothing() {
    let h = harness().await;
    let reply = h
        .send(
            h.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .body(Body::from("{\"kind\": \"nutrition\", \"input\": {"))
                .unwrap(),
        )
        .await;
    let error = reply.assert_error(400, "VALIDATION_ERROR", None);
    assert!(
        error["message"].as_str().unwrap().contains("line 1"),
        "{error}"
    );
    assert_job_count(&h, 0).await;
}

#[tokio::test]
async fn bad_bodies_name_their_field_and_store_nothing() {
    let h = harness().await;
    let cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        (
            "unknown kind",
            json!({"kind": "astrology"}),
            400,
            "VALIDATION_ERROR",
            "kind",
        ),
        (
            "wrong top-level type",
            json!({"priority": "high"}),
            400,
            "VALIDATION_ERROR",
            "priority",
        ),
        (
            "kind not a string",
            json!({"kind": 7}),
            400,
            "VALIDATION_ERROR",
            "kind",
        ),
        (
            "unknown top-level field",
            json!({"colour": "red"}),
            400,
            "VALIDATION_ERROR",
            "colour",
        ),
        (
            "priority too high",
            json!({"priority": 10}),
            400,
            "VALIDATION_ERROR",
            "priority",
        ),
        (
            "priority negative",
            json!({"priority": -1}),
            400,
            "VALIDATION_ERROR",
            "priority",
        ),
        (
            "metadata not an object",
            json!({"metadata": [1]}),
            400,
            "VALIDATION_ERROR",
            "metadata",
        ),
        (
            "webhook not http",
            json!({"webhook_url": "ftp://x"}),
            400,
            "VALIDATION_ERROR",
            "webhook_url",
        ),
        (
            "wrong input type",
            json!({"input": {"athlete": {"bodyweight_kg": "heavy"}}}),
            400,
            "VALIDATION_ERROR",
            "input.athlete.bodyweight_kg",
        ),
        (
            "input number out of range",
            json!({"input": {"athlete": {"bodyweight_kg": 5000}}}),
            400,
            "VALIDATION_ERROR",
            "input.athlete.bodyweight_kg",
        ),
        (
            "unknown input field",
            json!({"input": {"athlete": {"shoe_size": 42}}}),
            400,
            "VALIDATION_ERROR",
            "input.athlete.shoe_size",
        ),
        (
            "value outside a vocabulary",
            json!({"input": {"phase": "hibernate"}}),
            400,
            "VALIDATION_ERROR",
            "input.phase",
        ),
        (
            "business rule",
            json!({"input": {"athlete": {"goal": "fat_loss"}, "phase": "bulk"}}),
            422,
            "BUSINESS_RULE_VIOLATION",
            "input.phase",
        ),
    ];
    for (name, patch, status, code, field) in cases {
        let mut body = nutrition();
        merge(&mut body, &patch);
        let reply = h.submit(&body).await;
        assert_eq!(reply.status.as_u16(), status, "{name}: {}", reply.body);
        reply.assert_error(status, code, Some(field));
    }

    // Missing fields point at the field itself.
    for missing in ["kind", "input"] {
        let mut body = nutrition();
        body.as_object_mut().unwrap().remove(missing);
        h.submit(&body)
            .await
            .assert_error(400, "VALIDATION_ERROR", Some(missing));
    }
    let mut body = nutrition();
    body["input"]["athlete"]
        .as_object_mut()
        .unwrap()
        .remove("bodyweight_kg");
    h.submit(&body).await.assert_error(
        400,
        "VALIDATION_ERROR",
        Some("input.athlete.bodyweight_kg"),
    );

    // Not an object at all.
    let reply = h.submit(&json!([1, 2])).await;
    reply.assert_error(400, "VALIDATION_ERROR", None);

    // An unknown kind lists the known ones.
    let mut body = nutrition();
    body["kind"] = json!("astrology");
    let reply = h.submit(&body).await;
    let error = reply.assert_error(400, "VALIDATION_ERROR", Some("kind"));
    assert!(
        error["details"]["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("nutrition"))
    );

    // Several top-level problems are reported together.
    let mut body = nutrition();
    merge(&mut body, &json!({"kind": "astrology", "priority": 12}));
    let reply = h.submit(&body).await;
    assert_eq!(
        reply.body["errors"].as_array().unwrap().len(),
        2,
        "{}",
        reply.body
    );

    assert_job_count(&h, 0).await;
}

/// Deep-merges `patch` into `target` (objects merge, anything else replaces).
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[tokio::test]
async fn oversized_bodies_are_413_with_or_without_content_length() {
    let h = harness_with(ApiConfig {
        body_limit_bytes: 1024,
        ..ApiConfig::default()
    })
    .await;
    let mut body = nutrition();
    body["metadata"] = json!({"blob": "x".repeat(4096)});
    let text = body.to_string();

    let reply = h
        .send(
            h.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .header("content-length", text.len())
                .body(Body::from(text.clone()))
                .unwrap(),
        )
        .await;
    let error = reply.assert_error(413, "PAYLOAD_TOO_LARGE", None);
    assert_eq!(error["details"]["limit_bytes"], 1024);

    // Chunked: no Content-Length, the limit still holds while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = text
        .as_bytes()
        .chunks(100)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let reply = h
        .send(
            h.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .unwrap(),
        )
        .await;
    let error = reply.assert_error(413, "PAYLOAD_TOO_LARGE", None);
    assert_eq!(error["details"]["limit_bytes"], 1024);
    assert_job_count(&h, 0).await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let h = harness().await;
    let text = nutrition().to_string();
    let reply = h
        .send(
            h.request(Method::POST, "/v1/jobs")
                .header("content-type", "text/plain")
                .body(Body::from(text.clone()))
                .unwrap(),
        )
        .await;
    let error = reply.assert_error(415, "UNSUPPORTED_MEDIA_TYPE", Some("Content-Type"));
    assert_eq!(error["details"]["allowed"], json!(["application/json"]));
    let reply = h
        .send(
            h.request(Method::POST, "/v1/jobs")
                .body(Body::from(text.clone()))
                .unwrap(),
        )
        .await;
    reply.assert_error(415, "UNSUPPORTED_MEDIA_TYPE", Some("Content-Type"));
    // Parameters and letter case do not matter.
    let reply = h
        .send(
            h.request(Method::POST, "/v1/jobs")
                .header("content-type", "Application/JSON; charset=utf-8")
                .body(Body::from(text))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_job_count(&h, 1).await;
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_are_401() {
    let h = harness().await;
    let body = nutrition().to_string();
    let with_auth = |auth: Option<&str>| {
        let mut builder = Request::post("/v1/jobs").header("content-type", "application/json");
        if let Some(auth) = auth {
            builder = builder.header("authorization", auth);
        }
        builder.body(Body::from(body.clone())).unwrap()
    };
    let unknown = format!("Bearer {}", ApiKey::generate().reveal());
    let raw_key = h.key.clone();
    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer not-a-key"),
        Some("Basic dXNlcjpwYXNz"),
        Some(raw_key.as_str()),
        Some(unknown.as_str()),
    ] {
        let reply = h.send(with_auth(auth)).await;
        reply.assert_error(401, "UNAUTHORIZED", None);
    }
    // Reads are protected too.
    let reply = h
        .send(Request::get("/v1/jobs").body(Body::empty()).unwrap())
        .await;
    reply.assert_error(401, "UNAUTHORIZED", None);
    let reply = h
        .send(Request::get("/v1/kinds").body(Body::empty()).unwrap())
        .await;
    reply.assert_error(401, "UNAUTHORIZED", None);
    // The scheme is case-insensitive.
    let reply = h.send(with_auth(Some(&format!("bearer {}", h.key)))).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_job_count(&h, 1).await;
}

#[tokio::test]
async fn another_tenants_job_is_404_like_an_unknown_one() {
    let h = harness().await;
    let id = h.submit(&nutrition()).await.id();
    let other = h.other_tenant_key().await;
    let as_other = |method: Method, uri: String| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {other}"))
            .body(Body::empty())
            .unwrap()
    };
    let foreign = h
        .send(as_other(Method::GET, format!("/v1/jobs/{id}")))
        .await;
    let unknown = h
        .send(as_other(
            Method::GET,
            format!("/v1/jobs/{}", uuid::Uuid::now_v7()),
        ))
        .await;
    let e1 = foreign.assert_error(404, "NOT_FOUND", None).clone();
    let e2 = unknown.assert_error(404, "NOT_FOUND", None).clone();
    assert_eq!(
        e1, e2,
        "a foreign job must be indistinguishable from a missing one"
    );
    h.send(as_other(Method::POST, format!("/v1/jobs/{id}/cancel")))
        .await
        .assert_error(404, "NOT_FOUND", None);
    let list = h.send(as_other(Method::GET, "/v1/jobs".into())).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.data().len(), 0);
    // The owner still sees it, untouched.
    assert_eq!(
        h.get(&format!("/v1/jobs/{id}")).await.job()["status"],
        "queued"
    );
}

#[tokio::test]
async fn unknown_and_malformed_job_ids_are_404() {
    let h = harness().await;
    for uri in [
        format!("/v1/jobs/{}", uuid::Uuid::now_v7()),
        "/v1/jobs/not-a-uuid".to_owned(),
        format!("/v1/jobs/{}/cancel", uuid::Uuid::now_v7()),
    ] {
        let reply = if uri.ends_with("/cancel") {
            h.send(h.request(Method::POST, &uri).body(Body::empty()).unwrap())
                .await
        } else {
            h.get(&uri).await
        };
        reply.assert_error(404, "NOT_FOUND", None);
    }
}

#[tokio::test]
async fn bad_list_parameters_name_the_parameter() {
    let h = harness().await;
    h.submit(&nutrition()).await;
    for (query, field) in [
        ("cursor=garbage!", "cursor"),
        ("cursor=AAAA", "cursor"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("status=pending", "status"),
        ("kind=astrology", "kind"),
        ("created_from=yesterday", "created_from"),
        ("created_to=2024-13-01T00:00:00Z", "created_to"),
        ("sort=asc", "sort"),
        ("limit=5&limit=6", "limit"),
    ] {
        let reply = h.get(&format!("/v1/jobs?{query}")).await;
        reply.assert_error(400, "VALIDATION_ERROR", Some(field));
    }
    let reply = h
        .get(&format!(
            "/v1/jobs/{}?wait=abc",
            h.submit(&nutrition()).await.id()
        ))
        .await;
    reply.assert_error(400, "VALIDATION_ERROR", Some("wait"));
    let reply = h
        .get(&format!("/v1/jobs/{}?wait=31", uuid::Uuid::now_v7()))
        .await;
    reply.assert_error(400, "VALIDATION_ERROR", Some("wait"));
}

#[tokio::test]
async fn list_filters_by_kind_status_and_time() {
    let h = harness().await;
    let first = h.submit(&nutrition()).await.id();
    let second = h.submit(&nutrition()).await.id();
    h.send(
        h.request(Method::POST, &format!("/v1/jobs/{first}/cancel"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;

    let ids = |reply: &Reply| -> Vec<String> {
        reply
            .data()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let reply = h.get("/v1/jobs").await;
    assert_eq!(ids(&reply), [second.clone(), first.clone()]);
    assert_eq!(
        reply.body["meta"]["page"],
        json!({"next_cursor": null, "limit": 20})
    );
    assert_eq!(ids(&h.get("/v1/jobs?status=cancelled").await), [first]);
    assert_eq!(
        ids(&h.get("/v1/jobs?status=queued&kind=nutrition").await),
        [second]
    );
    assert_eq!(
        ids(&h.get("/v1/jobs?created_from=2100-01-01T00:00:00Z").await).len(),
        0
    );
    assert_eq!(
        ids(&h.get("/v1/jobs?created_to=2100-01-01T00:00:00Z").await).len(),
        2
    );
    assert_eq!(
        ids(&h
            .get("/v1/jobs?created_from=2000-01-01T00:00:00%2B01:00")
            .await)
        .len(),
        2
    );
}

#[tokio::test]
async fn pagination_returns_every_job_once_in_stable_order() {
    let h = harness().await;
    let mut submitted = Vec::new();
    for _ in 0..25 {
        let reply = h.submit(&nutrition()).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        submitted.push(reply.id());
    }
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut uri = "/v1/jobs?limit=10".to_owned();
    loop {
        let reply = h.get(&uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_envelope(&reply.body);
        assert_eq!(reply.body["meta"]["page"]["limit"], 10);
        pages.push(reply.data().len());
        seen.extend(
            reply
                .data()
                .iter()
                .map(|j| j["id"].as_str().unwrap().to_owned()),
        );
        match reply.body["meta"]["page"]["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/jobs?limit=10&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, [10, 10, 5]);
    // Newest first: exactly the submissions in reverse order, each once.
    submitted.reverse();
    assert_eq!(seen, submitted);

    // A page boundary that falls exactly at the end still ends with a null cursor.
    let reply = h.get("/v1/jobs?limit=25").await;
    assert_eq!(reply.data().len(), 25);
    assert_eq!(reply.body["meta"]["page"]["next_cursor"], Value::Null);
}

#[tokio::test]
async fn idempotency_replays_and_conflicts() {
    let h = harness().await;
    let submit_with_key = |body: Value, key: &'static str| {
        h.request(Method::POST, "/v1/jobs")
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let first = h.send(submit_with_key(nutrition(), "order-42")).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);

    // Same body (keys reordered, default priority spelled out): the original job, 200.
    let mut same = nutrition();
    same["priority"] = json!(5);
    let replay = h.send(submit_with_key(same, "order-42")).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.body);
    assert_envelope(&replay.body);
    assert_eq!(replay.id(), first.id());
    assert_eq!(replay.job()["request_id"], first.job()["request_id"]);

    // Same key, another body: 409.
    let mut different = nutrition();
    different["input"]["meals_per_day"] = json!(5);
    let conflict = h.send(submit_with_key(different, "order-42")).await;
    conflict.assert_error(409, "CONFLICT", None);

    // A malformed key is refused before anything is stored.
    let bad = h.send(submit_with_key(nutrition(), "has space")).await;
    bad.assert_error(400, "VALIDATION_ERROR", Some("Idempotency-Key"));

    assert_eq!(h.all_job_ids().await, [first.id()]);
}

#[tokio::test]
async fn cancel_twice_is_200_then_409() {
    let h = harness().await;
    let id = h.submit(&nutrition()).await.id();
    let cancel = || {
        h.request(Method::POST, &format!("/v1/jobs/{id}/cancel"))
            .body(Body::empty())
            .unwrap()
    };
    let first = h.send(cancel()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.job()["status"], "cancelled");
    assert!(first.job()["finished_at"].is_string());
    let second = h.send(cancel()).await;
    let error = second.assert_error(409, "CONFLICT", None);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("already cancelled"),
        "{error}"
    );
    assert_eq!(error["details"]["status"], "cancelled");
}

#[tokio::test]
async fn long_poll_waits_for_a_terminal_state_or_the_deadline() {
    let h = harness().await;
    let id = h.submit(&nutrition()).await.id();

    // Still queued after the wait: answered as it is, after about the wait.
    let started = Instant::now();
    let reply = h.get(&format!("/v1/jobs/{id}?wait=1")).await;
    let waited = started.elapsed();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.job()["status"], "queued");
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");

    // Cancelled while a client waits: the poll returns as soon as it sees it.
    let poll = {
        let h_app = h.app.clone();
        let request = h
            .request(Method::GET, &format!("/v1/jobs/{id}?wait=10"))
            .body(Body::empty())
            .unwrap();
        tokio::spawn(async move {
            let started = Instant::now();
            let response = h_app.oneshot(request).await.unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (
                started.elapsed(),
                serde_json::from_slice::<Value>(&bytes).unwrap(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancelled = h
        .send(
            h.request(Method::POST, &format!("/v1/jobs/{id}/cancel"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK);
    let (elapsed, body) = poll.await.unwrap();
    assert_eq!(body["data"][0]["status"], "cancelled", "{body}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");

    // Already terminal: no wait at all.
    let started = Instant::now();
    let reply = h.get(&format!("/v1/jobs/{id}?wait=10")).await;
    assert_eq!(reply.job()["status"], "cancelled");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn the_queued_cap_answers_429_with_retry_after() {
    let h = harness_with(ApiConfig {
        max_queued_per_tenant: 2,
        ..ApiConfig::default()
    })
    .await;
    assert_eq!(h.submit(&nutrition()).await.status, StatusCode::ACCEPTED);
    assert_eq!(h.submit(&nutrition()).await.status, StatusCode::ACCEPTED);
    let reply = h.submit(&nutrition()).await;
    reply.assert_error(429, "RATE_LIMIT_EXCEEDED", None);
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_job_count(&h, 2).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_the_envelope() {
    let h = harness().await;
    let reply = h.get("/v2/nothing").await;
    reply.assert_error(404, "NOT_FOUND", None);
    let reply = h.send(Request::get("/").body(Body::empty()).unwrap()).await;
    reply.assert_error(404, "NOT_FOUND", None);

    let reply = h
        .send(
            h.request(Method::DELETE, "/v1/jobs")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    reply.assert_error(405, "METHOD_NOT_ALLOWED", None);
    let allow = reply.headers["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let reply = h
        .send(
            h.request(
                Method::GET,
                &format!("/v1/jobs/{}/cancel", uuid::Uuid::now_v7()),
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    reply.assert_error(405, "METHOD_NOT_ALLOWED", None);
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let h = harness().await;
    let with_id = |id: &str| {
        h.request(Method::POST, "/v1/jobs")
            .header("content-type", "application/json")
            .header("x-request-id", id)
            .body(Body::from(nutrition().to_string()))
            .unwrap()
    };
    let reply = h.send(with_id("client-trace-123")).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.headers["x-request-id"], "client-trace-123");
    assert_eq!(reply.body["meta"]["request_id"], "client-trace-123");
    assert_eq!(reply.job()["request_id"], "client-trace-123");

    // Generated when absent, also on errors.
    let reply = h.get("/v1/nowhere").await;
    let generated = reply.headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(generated.starts_with("req_"), "{generated}");
    assert_eq!(reply.body["meta"]["request_id"], generated.as_str());

    // Replaced when not a sane token.
    let reply = h.send(with_id("has spaces in it")).await;
    let replaced = reply.headers["x-request-id"].to_str().unwrap();
    assert!(replaced.starts_with("req_"), "{replaced}");

    // Every request gets its own.
    let a = h.get("/healthz").await.body["meta"]["request_id"].clone();
    let b = h.get("/healthz").await.body["meta"]["request_id"].clone();
    assert_ne!(a, b);
}

#[tokio::test]
async fn kinds_list_nutrition_with_both_schemas() {
    let h = harness().await;
    let reply = h.get("/v1/kinds").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_envelope(&reply.body);
    let nutrition = reply
        .data()
        .iter()
        .find(|k| k["kind"] == "nutrition")
        .expect("nutrition is listed");
    assert!(
        nutrition["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(nutrition["input_schema"]["type"], "object");
    assert!(nutrition["input_schema"]["properties"]["athlete"].is_object());
    assert!(nutrition["output_schema"].is_object());
    assert!(nutrition["output_schema"]["properties"].is_object());
}

#[tokio::test]
async fn health_and_readiness() {
    let h = harness().await;
    let reply = h
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_envelope(&reply.body);
    assert_eq!(reply.data()[0]["status"], "ok");
    let reply = h
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // No workers in this process: no breakers to report.
    assert_eq!(
        reply.data()[0],
        json!({"store": "ok", "queue": "ok", "llm": [], "failures": []})
    );
}

/// Every `$ref` in the document points at something that exists.
fn assert_refs_resolve(document: &Value, node: &Value) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let pointer = reference.strip_prefix('#').expect("local reference");
                assert!(document.pointer(pointer).is_some(), "dangling {reference}");
            }
            map.values().for_each(|v| assert_refs_resolve(document, v));
        }
        Value::Array(items) => items.iter().for_each(|v| assert_refs_resolve(document, v)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let h = harness().await;
    let reply = h
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.body;
    assert_eq!(document, openapi_document());
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."));
    let paths = &document["paths"];
    assert!(paths["/v1/jobs"]["post"].is_object());
    assert!(paths["/v1/jobs"]["get"].is_object());
    assert!(paths["/v1/jobs/{id}"]["get"].is_object());
    assert!(paths["/v1/jobs/{id}/cancel"]["post"].is_object());
    assert!(paths["/v1/kinds"]["get"].is_object());
    assert!(paths["/v1/jobs"]["post"]["responses"]["202"].is_object());
    assert!(paths["/v1/jobs"]["post"]["responses"]["400"].is_object());
    assert_eq!(
        paths["/v1/jobs"]["post"]["security"],
        json!([{"bearer": []}])
    );
    assert!(paths["/healthz"]["get"].get("security").is_none());

    let schemas = &document["components"]["schemas"];
    assert!(schemas["NutritionInput"]["properties"]["athlete"].is_object());
    assert!(schemas["NutritionOutput"]["properties"].is_object());
    // A job as read is one of the kinds too: `kind` picks the input and output schemas.
    assert_eq!(schemas["JobView"]["discriminator"]["propertyName"], "kind");
    let split = &schemas["SplitJob"];
    assert_eq!(split["properties"]["kind"]["const"], "split");
    assert_eq!(
        split["properties"]["input"]["$ref"],
        "#/components/schemas/SplitInput"
    );
    assert_eq!(
        split["properties"]["output"]["anyOf"][0]["$ref"],
        "#/components/schemas/SplitOutput"
    );
    assert!(split["properties"]["usage"].is_object());
    assert!(schemas["ErrorEnvelope"]["properties"]["errors"].is_object());
    // The answer to a submission links to what can be done with its job, by operation id.
    let links = &paths["/v1/jobs"]["post"]["responses"]["202"]["links"];
    let operations: Vec<&Value> = paths
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| &op["operationId"])
        .collect();
    for (name, link) in links.as_object().unwrap() {
        assert!(operations.contains(&&link["operationId"]), "{name}: {link}");
        assert_eq!(link["parameters"]["id"], "$response.body#/data/0/id");
    }
    assert!(links["CancelJob"].is_object() && links["RetryJob"].is_object());

    // A submission is one of the kinds, each with its own input: the kind picks the branch.
    let submission = &schemas["SubmitJobRequest"];
    assert_eq!(submission["discriminator"]["propertyName"], "kind");
    let branches = submission["oneOf"].as_array().unwrap();
    assert_eq!(branches.len(), sparta_coach::JobKind::ALL.len());
    for kind in sparta_coach::JobKind::ALL {
        let reference = submission["discriminator"]["mapping"][kind.as_str()]
            .as_str()
            .unwrap();
        assert!(branches.contains(&json!({ "$ref": reference })));
        let branch = document
            .pointer(reference.strip_prefix('#').unwrap())
            .unwrap();
        assert_eq!(branch["properties"]["kind"]["const"], kind.as_str());
        let input = branch["properties"]["input"]["$ref"].as_str().unwrap();
        assert!(input.ends_with("Input"), "{input}");
        assert_eq!(branch["additionalProperties"], false);
        assert_eq!(branch["required"], json!(["kind", "input"]));
    }
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    assert_refs_resolve(&document, &document);

    // Streams and long polls document their cap; lists document `include` with its values.
    assert!(paths["/v1/jobs/{id}/events"]["get"]["responses"]["429"].is_object());
    assert!(paths["/v1/jobs/{id}"]["get"]["responses"]["429"].is_object());
    let events = paths["/v1/jobs/{id}/events"]["get"].to_string();
    assert!(events.contains("reconnect"), "{events}");
    let include = paths["/v1/jobs"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "include")
        .expect("include is documented");
    assert_eq!(
        include["schema"]["items"]["enum"],
        json!(["input", "output", "trace"])
    );
    // Lists leave them out, so the job schema does not require them.
    let required = schemas["NutritionJob"]["required"].as_array().unwrap();
    for part in ["input", "output", "trace"] {
        assert!(!required.contains(&json!(part)), "{part} is required");
    }
    assert!(required.contains(&json!("status")));
}

#[tokio::test]
async fn lists_are_compact_unless_include_asks() {
    let h = harness().await;
    let id = h.submit(&nutrition()).await.id();
    let compact = h.get("/v1/jobs").await;
    assert_eq!(compact.status, StatusCode::OK, "{}", compact.body);
    let job = compact.job();
    assert_eq!(job["id"], id.as_str());
    assert_eq!(job["status"], "queued");
    for absent in ["input", "output", "trace"] {
        assert!(job.get(absent).is_none(), "{absent}: {job}");
    }
    let full = h.get("/v1/jobs?include=input,output,trace").await;
    let job = full.job();
    assert_eq!(job["input"]["athlete"]["bodyweight_kg"], 64.5);
    assert_eq!(job["output"], Value::Null);
    assert_eq!(job["trace"], json!([]));
    let some = h.get("/v1/jobs?include=output").await;
    assert!(some.job().get("input").is_none());
    assert_eq!(some.job()["output"], Value::Null);
    // A single job always shows everything.
    let single = h.get(&format!("/v1/jobs/{id}")).await;
    assert!(single.job()["input"].is_object());

    let reply = h.get("/v1/jobs?include=input,passwords").await;
    let error = reply.assert_error(400, "VALIDATION_ERROR", Some("include"));
    assert_eq!(
        error["details"]["allowed"],
        json!(["input", "output", "trace"])
    );
}

#[tokio::test]
async fn a_page_ends_early_at_the_byte_bound() {
    let h = harness_with(ApiConfig {
        list_max_bytes: 1,
        ..ApiConfig::default()
    })
    .await;
    let first = h.submit(&nutrition()).await.id();
    let second = h.submit(&nutrition()).await.id();
    // Every job exceeds the bound: one per page, never zero.
    let page = h.get("/v1/jobs?limit=10").await;
    assert_eq!(page.job()["id"], second.as_str());
    let cursor = page.body["meta"]["page"]["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let next = h.get(&format!("/v1/jobs?limit=10&cursor={cursor}")).await;
    assert_eq!(next.job()["id"], first.as_str());
    assert_eq!(next.body["meta"]["page"]["next_cursor"], Value::Null);
}

#[tokio::test]
async fn long_polls_count_against_the_stream_cap() {
    let h = harness_with(ApiConfig {
        max_streams_per_tenant: 1,
        // The probes below must meet the stream cap, not the request rate.
        rate_per_key_per_sec: 0,
        ..ApiConfig::default()
    })
    .await;
    let id = h.submit(&nutrition()).await.id();
    let events = |h: &support::Harness| {
        h.app.clone().oneshot(
            h.request(Method::GET, &format!("/v1/jobs/{id}/events"))
                .body(Body::empty())
                .unwrap(),
        )
    };
    // An open stream holds the one slot: a long poll is refused, a plain read is not.
    let stream = events(&h).await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let reply = h.get(&format!("/v1/jobs/{id}?wait=1")).await;
    reply.assert_error(429, "RATE_LIMIT_EXCEEDED", None);
    assert!(reply.headers.contains_key("retry-after"));
    assert_eq!(
        h.get(&format!("/v1/jobs/{id}")).await.status,
        StatusCode::OK
    );
    drop(stream);

    // A waiting long poll holds the slot too.
    let spawn_poll = || {
        let app = h.app.clone();
        let request = h
            .request(Method::GET, &format!("/v1/jobs/{id}?wait=10"))
            .body(Body::empty())
            .unwrap();
        tokio::spawn(async move { app.oneshot(request).await.unwrap().status() })
    };
    let mut waiting = spawn_poll();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // A poll that met one of these probing streams was refused: start it again.
        if waiting.is_finished() {
            waiting = spawn_poll();
        }
        let status = events(&h).await.unwrap().status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert!(Instant::now() < deadline, "the long poll never held a slot");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Cancelling ends the poll at once (the change feed wakes it) and frees the slot.
    let started = Instant::now();
    let cancelled = h
        .send(
            h.request(Method::POST, &format!("/v1/jobs/{id}/cancel"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(waiting.await.unwrap(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        h.get(&format!("/v1/jobs/{id}?wait=1")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_events_stream_is_capped_per_tenant() {
    let h = harness_with(ApiConfig {
        max_streams_per_tenant: 2,
        ..ApiConfig::default()
    })
    .await;
    let id = h.submit(&nutrition()).await.id();
    let open = || {
        h.app.clone().oneshot(
            h.request(Method::GET, &format!("/v1/jobs/{id}/events"))
                .body(Body::empty())
                .unwrap(),
        )
    };
    let first = open().await.unwrap();
    let second = open().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    let third = open().await.unwrap();
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(third.headers().contains_key("retry-after"));
    // Dropping a stream (the client went away) frees its slot.
    drop(first);
    assert_eq!(open().await.unwrap().status(), StatusCode::OK);
    drop(second);
}

#[tokio::test]
async fn the_docs_page_loads_nothing_from_the_internet() {
    let h = harness().await;
    let response = h
        .app
        .clone()
        .oneshot(Request::get("/docs").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let html = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(html.contains("/openapi.json"));

    // Walk the markup outside inline scripts: no script may have a src, and no stylesheet,
    // font or image may come from http(s).
    let mut outside = String::new();
    let mut rest = html.as_str();
    let mut scripts = 0;
    while let Some(start) = rest.find("<script") {
        outside.push_str(&rest[..start]);
        let tag_end = rest[start..].find('>').unwrap() + start;
        let tag = &rest[start..=tag_end];
        assert!(!tag.contains("src"), "external script: {tag}");
        scripts += 1;
        let close = rest[tag_end..].find("</script>").unwrap() + tag_end;
        rest = &rest[close + "</script>".len()..];
    }
    outside.push_str(rest);
    assert!(scripts >= 1, "the page embeds its script");
    for needle in [
        "href=\"http",
        "href='http",
        "src=\"http",
        "src='http",
        "url(http",
        "@import",
    ] {
        assert!(!outside.contains(needle), "found {needle} outside scripts");
    }
    assert!(html.contains("withDefaultFonts: false"));
}

#[tokio::test]
async fn a_batch_is_answered_per_item_and_one_bad_item_refuses_only_itself() {
    let h = harness().await;
    let mut keyed = nutrition();
    keyed["idempotency_key"] = json!("order-1");
    let mut bad_input = nutrition();
    bad_input["input"]["athlete"]["bodyweight_kg"] = json!("heavy");
    let mut other_body = nutrition();
    other_body["idempotency_key"] = json!("order-1");
    other_body["priority"] = json!(9);
    let mut bad_key = nutrition();
    bad_key["idempotency_key"] = json!("has space");
    let mut business = nutrition();
    business["input"]["athlete"]["goal"] = json!("fat_loss");
    business["input"]["phase"] = json!("bulk");
    let items = json!([
        nutrition(),
        keyed,
        bad_input,
        keyed_again(),
        other_body,
        bad_key,
        business,
        {"kind": "astrology", "input": {}},
        "not an object",
    ]);
    let reply = h
        .post_json("/v1/jobs/batch", &json!({ "jobs": items }))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_envelope(&reply.body);
    let data = reply.data();
    assert_eq!(data.len(), 9, "one answer per item, in order");
    let statuses: Vec<u64> = data.iter().map(|d| d["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [202, 202, 400, 200, 409, 400, 422, 400, 400]);
    assert_eq!(data[0]["job"]["status"], "queued");
    assert_eq!(data[0]["errors"], json!([]));
    assert_eq!(
        data[3]["job"]["id"], data[1]["job"]["id"],
        "a key used twice in one batch answers its first job"
    );
    let field = |i: usize| data[i]["errors"][0]["field"].as_str().unwrap().to_owned();
    assert_eq!(field(2), "jobs[2].input.athlete.bodyweight_kg");
    assert_eq!(data[4]["errors"][0]["code"], "CONFLICT");
    assert_eq!(field(5), "jobs[5].idempotency_key");
    assert_eq!(field(6), "jobs[6].input.phase");
    assert_eq!(field(7), "jobs[7].kind");
    assert_eq!(field(8), "jobs[8]");
    assert!(data[2].get("job").is_none(), "{}", data[2]);
    // The request id of the batch is on every job; the jobs are stored and readable.
    let request_id = reply.body["meta"]["request_id"].as_str().unwrap();
    assert_eq!(data[1]["job"]["request_id"], request_id);
    assert_job_count(&h, 2).await;
    let id = data[1]["job"]["id"].as_str().unwrap();
    assert_eq!(
        h.get(&format!("/v1/jobs/{id}")).await.status,
        StatusCode::OK
    );

    // The same key through the single route replays the batch's job.
    let reply = h
        .send(
            h.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .header("idempotency-key", "order-1")
                .body(Body::from(nutrition().to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.job()["id"], id);
    assert_job_count(&h, 2).await;
}

fn keyed_again() -> Value {
    let mut body = nutrition();
    body["idempotency_key"] = json!("order-1");
    body
}

#[tokio::test]
async fn a_batch_that_is_not_a_batch_is_refused_whole() {
    let h = harness().await;
    let too_many: Vec<Value> = (0..1001).map(|_| nutrition()).collect();
    for (body, field) in [
        (json!({}), "jobs"),
        (json!({"jobs": []}), "jobs"),
        (json!({"jobs": nutrition()}), "jobs"),
        (json!({"jobs": too_many}), "jobs"),
        (json!({"jobs": [nutrition()], "extra": 1}), "extra"),
    ] {
        let reply = h.post_json("/v1/jobs/batch", &body).await;
        reply.assert_error(400, "VALIDATION_ERROR", Some(field));
    }
    let reply = h
        .send(
            h.request(Method::POST, "/v1/jobs/batch")
                .header("content-type", "application/json")
                .body(Body::from("[1"))
                .unwrap(),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR", None);
    assert_job_count(&h, 0).await;
}

#[tokio::test]
async fn a_batch_has_its_own_body_limit_and_the_queued_cap_per_item() {
    let h = harness_with(ApiConfig {
        body_limit_bytes: 1024,
        batch_body_limit_bytes: 64 * 1024,
        max_queued_per_tenant: 3,
        ..ApiConfig::default()
    })
    .await;
    // Five jobs are over the single-job limit but within the batch's.
    let five: Vec<Value> = (0..5).map(|_| nutrition()).collect();
    let body = json!({ "jobs": five });
    assert!(body.to_string().len() > 1024);
    let reply = h.post_json("/v1/jobs/batch", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let statuses: Vec<u64> = reply
        .data()
        .iter()
        .map(|d| d["status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [202, 202, 202, 429, 429],
        "the cap is 3 queued jobs"
    );
    assert_eq!(reply.data()[3]["errors"][0]["code"], "RATE_LIMIT_EXCEEDED");
    assert_job_count(&h, 3).await;

    let huge: Vec<Value> = (0..400).map(|_| nutrition()).collect();
    let reply = h
        .post_json("/v1/jobs/batch", &json!({ "jobs": huge }))
        .await;
    let error = reply.assert_error(413, "PAYLOAD_TOO_LARGE", None);
    assert_eq!(error["details"]["limit_bytes"], 64 * 1024);
    let reply = h
        .post_json("/v1/jobs", &{
            let mut big = nutrition();
            big["metadata"] = json!({"blob": "x".repeat(2048)});
            big
        })
        .await;
    let error = reply.assert_error(413, "PAYLOAD_TOO_LARGE", None);
    assert_eq!(error["details"]["limit_bytes"], 1024);
    assert_job_count(&h, 3).await;
}
