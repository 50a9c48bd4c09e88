//! Webhooks end to end: signed (checked by the receiver's own implementation of the scheme),
//! delivered at least once from their own queue, retried with the same id and body while the
//! receiver is down, listed with every attempt, and never sent where the SSRF guard forbids
//! (refused at submit here; `ssrf.rs` has the payload lists). Fair across tenants: a tenant
//! whose receiver hangs holds at most its share of the deliverer, and another tenant's webhook
//! still leaves at once.

use serde_json::{Value, json};
use sparta::{Roles, Settings};
use tokio::time::Instant;

use crate::harness::*;
use crate::receiver::{Receiver, signature_is_valid};

/// Loopback allowed (the receiver lives there) and the retry schedule compressed.
pub fn with_fast_webhooks(mut settings: Settings) -> Settings {
    settings.webhooks.allow_networks = vec!["127.0.0.0/8".into()];
    settings.webhooks.retry_schedule_ms = vec![0, 100, 200, 300, 400, 500, 500, 500, 500, 500];
    settings.webhooks.poll_ms = 50;
    settings.webhooks.timeout_ms = 2_000;
    settings
}

fn with_webhook(mut body: Value, url: &str) -> Value {
    body["webhook_url"] = json!(url);
    body
}

async fn deliveries(client: &Client, job: &str) -> Vec<Value> {
    let reply = client.get(&format!("/v1/jobs/{job}/deliveries")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].as_array().expect("data").clone()
}

async fn wait_delivery_status(client: &Client, job: &str, status: &str) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let listed = deliveries(client, job).await;
        if listed.len() == 1 && listed[0]["status"] == status {
            return listed[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "job {job}'s webhook is not {status}: {listed:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_delivered_and_listed() {
    let dir = TempDir::new();
    let settings = with_fast_webhooks(embedded_settings(&dir));
    let receiver = Receiver::start().await;
    // The API alone first: a job cancelled while queued announces `job.cancelled`, delivered
    // once a worker process runs.
    let api = start(&settings, Roles::API).await;
    let (key, secret) = create_tenant_with_secret(&*api.backends().store, "acme").await;
    let client = Client::new(&api, &key);
    let cancelled = client
        .submit_ok(&with_webhook(
            nutrition(80.0),
            &receiver.url("/hooks/cancelled"),
        ))
        .await;
    let reply = client
        .post_json(&format!("/v1/jobs/{cancelled}/cancel"), &json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let listed = deliveries(&client, &cancelled).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (&listed[0]["event"], &listed[0]["status"]),
        (&json!("job.cancelled"), &json!("pending"))
    );

    let worker = start(&settings, Roles::WORKER).await;
    let succeeded = client
        .submit_ok(&with_webhook(nutrition(80.0), &receiver.url("/hooks/ok")))
        .await;
    let redirected = client
        .submit_ok(&with_webhook(nutrition(81.0), &receiver.url("/redirect")))
        .await;
    // ::1 is loopback too, but only 127.0.0.0/8 is allowed: refused at submit, as is cloud
    // metadata; nothing is stored.
    let port = receiver.addr.port();
    for forbidden in [
        format!("http://[::1]:{port}/x"),
        "http://169.254.169.254/latest".to_owned(),
    ] {
        let reply = client
            .submit(&with_webhook(nutrition(82.0), &forbidden))
            .await;
        assert_eq!(reply.status, 400, "{forbidden}: {}", reply.body);
        assert_eq!(reply.error_field(), "webhook_url", "{}", reply.body);
        let message = reply.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("not an allowed destination"), "{message}");
    }

    let slow = client
        .submit_ok(&with_webhook(nutrition(84.0), &receiver.url("/slow")))
        .await;

    let delivered = wait_delivery_status(&client, &succeeded, "delivered").await;
    wait_delivery_status(&client, &cancelled, "delivered").await;
    // A redirect is an answer that is not 2xx: retried, never followed.
    eventually("the redirected webhook to be retried", || async {
        receiver
            .requests()
            .iter()
            .filter(|r| r.path == "/redirect")
            .count()
            >= 2
    })
    .await;
    assert!(receiver.requests().iter().all(|r| r.path != "/elsewhere"));
    let redirect_attempts = deliveries(&client, &redirected).await[0]["attempts"].clone();
    assert_eq!(
        redirect_attempts[0]["status_code"], 302,
        "{redirect_attempts}"
    );

    // The delivered events: one request each, signed, with the job in the payload.
    for (job, path, event) in [
        (&succeeded, "/hooks/ok", "job.succeeded"),
        (&cancelled, "/hooks/cancelled", "job.cancelled"),
    ] {
        let got: Vec<_> = receiver
            .requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect();
        assert_eq!(got.len(), 1, "{path}: {got:?}");
        let request = &got[0];
        assert!(request.id.starts_with("msg_"), "{}", request.id);
        assert!(signature_is_valid(&secret, request), "signature of {path}");
        let body = request.json();
        assert_eq!(body["type"], event);
        assert_eq!(body["data"]["id"], job.as_str());
        assert_eq!(body["data"]["request_id"], request.request_id.as_str());
        assert!(
            request.request_id.starts_with("req_"),
            "{}",
            request.request_id
        );
        assert!(body["timestamp"].is_string());
        let age = chrono::Utc::now().timestamp() - request.timestamp.parse::<i64>().expect("ts");
        assert!((0..60).contains(&age), "webhook-timestamp is the send time");
    }
    let body = receiver
        .requests()
        .into_iter()
        .find(|r| r.path == "/hooks/ok")
        .expect("delivered")
        .json();
    assert_eq!(body["data"]["status"], "succeeded");
    assert!(body["data"]["output"].is_object());
    // The listing shows the attempt that delivered it.
    assert_eq!(delivered["event"], "job.succeeded");
    let attempts = delivered["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status_code"], 204);
    assert!(delivered["finished_at"].is_string() && delivered["next_attempt_at"].is_null());
    // No answer within the timeout is a failed attempt, retried.
    let deadline = Instant::now() + DEADLINE;
    let timed_out = loop {
        let listed = deliveries(&client, &slow).await;
        if let Some(first) = listed[0]["attempts"].as_array().and_then(|a| a.first()) {
            break first.clone();
        }
        assert!(Instant::now() < deadline, "no attempt recorded: {listed:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(timed_out["status_code"].is_null(), "{timed_out}");
    let error = timed_out["error"].as_str().unwrap_or_default();
    assert!(error.contains("no answer within"), "{error}");

    // After a rotation both secrets sign for the grace period: receivers still on the old one
    // keep verifying, those on the new one already do.
    let new_secret = sparta_jobs::WebhookSecret::generate();
    api.backends()
        .store
        .rotate_webhook_secret(
            &sparta_jobs::TenantName::parse("acme").expect("name"),
            &new_secret,
            chrono::Utc::now(),
        )
        .await
        .expect("rotate");
    let rotated = client
        .submit_ok(&with_webhook(
            nutrition(85.0),
            &receiver.url("/hooks/rotated"),
        ))
        .await;
    wait_delivery_status(&client, &rotated, "delivered").await;
    let request = receiver
        .requests()
        .into_iter()
        .find(|r| r.path == "/hooks/rotated")
        .expect("delivered");
    assert!(
        signature_is_valid(&secret, &request),
        "old secret still signs"
    );
    assert!(
        signature_is_valid(&new_secret.reveal(), &request),
        "new secret signs"
    );
    assert_eq!(
        request.signature.split(' ').count(),
        2,
        "{}",
        request.signature
    );

    // Another tenant sees nothing of it.
    let other = create_tenant(&*api.backends().store, "other").await;
    let reply = client
        .with_key(&other)
        .get(&format!("/v1/jobs/{succeeded}/deliveries"))
        .await;
    assert_eq!(reply.status, 404);
    worker.stop().await;
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_a_while_gets_every_event_with_the_same_id() {
    let redis = RedisProcess::start().await;
    let settings = with_fast_webhooks(distributed_settings(&redis.url()).await);
    let receiver = Receiver::start().await;
    receiver.set_up(false);
    let service = start(&settings, Roles::ALL).await;
    let (key, secret) = create_tenant_with_secret(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);
    let started = Instant::now();
    let mut jobs = Vec::new();
    for n in 0..20 {
        let body = with_webhook(nutrition(60.0 + f64::from(n)), &receiver.url("/hooks"));
        jobs.push(client.submit_ok(&body).await);
    }
    // Down until every event has been refused at least twice.
    eventually("every event to fail twice", || async {
        let by_event = receiver.by_event();
        by_event.len() == jobs.len() && by_event.values().all(|r| r.len() >= 2)
    })
    .await;
    receiver.set_up(true);
    let mut max_delay = std::time::Duration::ZERO;
    for job in &jobs {
        let record = wait_delivery_status(&client, job, "delivered").await;
        let attempts = record["attempts"].as_array().expect("attempts");
        assert!(attempts.len() >= 3, "{record}");
        assert_eq!(attempts[0]["status_code"], 503);
        assert_eq!(attempts.last().expect("last")["status_code"], 204);
    }
    let by_event = receiver.by_event();
    assert_eq!(by_event.len(), jobs.len(), "one webhook-id per event");
    let mut requests = 0;
    for (id, got) in &by_event {
        requests += got.len();
        assert!(
            got.iter().all(|r| r.body == got[0].body),
            "{id}: same body on every retry"
        );
        assert!(
            got.iter().all(|r| signature_is_valid(&secret, r)),
            "{id}: signatures"
        );
        assert_eq!(
            got.iter().filter(|r| r.status == 204).count(),
            1,
            "{id}: delivered once"
        );
        max_delay = max_delay.max(got.last().expect("last").at - started);
    }
    report!(
        "webhooks with the receiver down: events {}, requests {requests}, delivered {}, \
         lost 0, max delay from submit {} ms",
        by_event.len(),
        by_event.len(),
        max_delay.as_millis()
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_does_not_delay_another_tenants_webhooks() {
    let dir = TempDir::new();
    let mut settings = with_fast_webhooks(embedded_settings(&dir));
    // A full attempt's time: without a per-tenant cap, tenant A's hung deliveries would hold
    // every slot for 10 s each.
    settings.webhooks.timeout_ms = 10_000;
    let per_tenant = settings.webhooks.per_tenant_concurrency;
    let hanging = crate::ssrf::Listener::bind("127.0.0.1", 0)
        .await
        .expect("bind");
    let receiver = Receiver::start().await;
    let service = start(&settings, Roles::ALL).await;
    let a = create_tenant(&*service.backends().store, "tenant-a").await;
    let b = create_tenant(&*service.backends().store, "tenant-b").await;
    let client_a = Client::new(&service, &a);
    let client_b = client_a.with_key(&b);
    let hang_url = format!("http://127.0.0.1:{}/hook", hanging.port);
    let mut a_jobs = Vec::new();
    for n in 0..100 {
        a_jobs.push(
            client_a
                .submit_ok(&with_webhook(nutrition(50.0 + f64::from(n)), &hang_url))
                .await,
        );
    }
    // A's receiver holds as many deliveries as A may have in flight.
    eventually("tenant A's deliveries to hang", || async {
        hanging.accepted() >= per_tenant
    })
    .await;
    let b_job = client_b
        .submit_ok(&with_webhook(nutrition(70.0), &receiver.url("/hooks/b")))
        .await;
    let finished = client_b.wait_terminal(&b_job).await;
    let finished_at: chrono::DateTime<chrono::Utc> = finished["finished_at"]
        .as_str()
        .expect("finished_at")
        .parse()
        .expect("timestamp");
    let deadline = Instant::now() + DEADLINE;
    let got = loop {
        if let Some(r) = receiver
            .requests()
            .into_iter()
            .find(|r| r.path == "/hooks/b")
        {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "tenant B's webhook never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let delay = (got.wall - finished_at).num_milliseconds();
    let in_flight_a = hanging.max_open();
    report!(
        "webhook fairness: tenant A 100 jobs to a receiver that never answers (connections \
         accepted {}, at most {in_flight_a} open at once, cap {per_tenant} per tenant); tenant \
         B's webhook delivered {delay} ms after its job ended",
        hanging.accepted()
    );
    assert!(delay < 2_000, "tenant B waited {delay} ms");
    assert!(
        in_flight_a <= per_tenant,
        "tenant A had {in_flight_a} deliveries in flight, more than {per_tenant}"
    );
    // Closing A's connections ends its attempts, so the service stops promptly.
    drop(hanging);
    service.stop().await;
}
