//! Event streams and long polls at scale: the per-tenant cap (429 with Retry-After, released
//! when streams close), the stream lifetime (a final `reconnect` event), change notifications
//! across processes (Postgres `LISTEN/NOTIFY`), and compact, byte-bounded lists.

use std::time::Duration;

use serde_json::{Value, json};
use sparta::Roles;
use sparta_jobs::{JobStore as _, PgStore};
use tokio::time::Instant;

use crate::harness::*;

/// An open SSE response and what has been read of it.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    /// The next event as (name, data), or `None` when the stream ended.
    async fn next(&mut self) -> Option<(String, String)> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if name.is_empty() && data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, data));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("an event before the deadline")
                .expect("chunk")?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

async fn open(client: &Client, id: &str) -> reqwest::Response {
    client
        .http
        .get(format!("{}/v1/jobs/{id}/events", client.base))
        .bearer_auth(&client.key)
        .send()
        .await
        .expect("events request")
}

/// The cap: 300 streams from one key on one job, 50 open, the rest 429 with `Retry-After`;
/// another tenant is unaffected; long polls share the cap; closed streams free their slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_per_tenant_are_capped_and_released() {
    let dir = TempDir::new();
    let settings = embedded_settings(&dir);
    let cap = settings.api.max_streams_per_tenant;
    // No worker: the job stays queued and every stream stays open.
    let api = start(&settings, Roles::API).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let other = create_tenant(&*api.backends().store, "other").await;
    let client = Client::new(&api, &key);
    let id = client.submit_ok(&nutrition(72.0)).await;

    let started = Instant::now();
    let mut open_streams = Vec::new();
    let mut refused = 0;
    let mut retry_after = Vec::new();
    for _ in 0..300 {
        let response = open(&client, &id).await;
        match response.status().as_u16() {
            200 => open_streams.push(response),
            429 => {
                refused += 1;
                let header = response.headers()["retry-after"]
                    .to_str()
                    .expect("retry-after")
                    .to_owned();
                let body: Value = response.json().await.expect("429 body");
                assert_eq!(body["errors"][0]["code"], "RATE_LIMIT_EXCEEDED", "{body}");
                retry_after.push(header);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let took = started.elapsed();
    assert_eq!(open_streams.len(), cap);
    assert_eq!(refused, 300 - cap);
    assert!(
        retry_after
            .iter()
            .all(|r| r.parse::<u64>().is_ok_and(|s| s > 0))
    );

    // The open ones are live streams: each starts with the current state.
    let mut first = Stream {
        response: open_streams.remove(0),
        buffer: String::new(),
    };
    assert_eq!(first.next().await.map(|e| e.0).as_deref(), Some("queued"));

    // Long polls share the cap; a plain read does not count.
    let poll = client.get(&format!("/v1/jobs/{id}?wait=2")).await;
    assert_eq!(
        (poll.status, poll.error_code()),
        (429, "RATE_LIMIT_EXCEEDED")
    );
    assert!(poll.headers.contains_key("retry-after"));
    assert_eq!(client.get(&format!("/v1/jobs/{id}")).await.status, 200);

    // Another tenant is not affected.
    let theirs = client.with_key(&other);
    let theirs_id = theirs.submit_ok(&nutrition(60.0)).await;
    let foreign = open(&theirs, &theirs_id).await;
    assert_eq!(foreign.status().as_u16(), 200);

    // Closing the streams frees the slots (the server notices the disconnect).
    drop(first);
    drop(open_streams);
    let freed = Instant::now();
    let mut reopened = Vec::new();
    let mut pause = Duration::from_millis(5);
    while reopened.len() < cap {
        let response = open(&client, &id).await;
        if response.status().as_u16() == 200 {
            reopened.push(response);
        } else {
            assert!(
                freed.elapsed() < DEADLINE,
                "closed streams never freed their slots"
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
    let refill = freed.elapsed();
    assert_eq!(open(&client, &id).await.status().as_u16(), 429);
    report!(
        "streams: 300 requests from one key in {took:?}: {} opened (200), {refused} refused (429, \
         Retry-After {}s); another tenant opened one; after closing, {} reopened within {refill:?}",
        cap,
        retry_after.first().map(String::as_str).unwrap_or("?"),
        reopened.len()
    );
    drop(reopened);
    drop(foreign);
    api.stop().await;
}

/// A stream that reaches its lifetime ends with a `reconnect` event, and frees its slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_with_reconnect_at_its_lifetime() {
    let dir = TempDir::new();
    let mut settings = embedded_settings(&dir);
    settings.api.stream_lifetime_secs = 1;
    settings.api.max_streams_per_tenant = 1;
    let api = start(&settings, Roles::API).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let client = Client::new(&api, &key);
    let id = client.submit_ok(&nutrition(72.0)).await;

    let started = Instant::now();
    let mut stream = Stream {
        response: open(&client, &id).await,
        buffer: String::new(),
    };
    assert_eq!(stream.next().await.map(|e| e.0).as_deref(), Some("queued"));
    let (name, data) = stream.next().await.expect("a reconnect event");
    let lived = started.elapsed();
    assert_eq!(name, "reconnect", "{data}");
    let data: Value = serde_json::from_str(&data).expect("reconnect data");
    assert_eq!(data["reason"], "stream lifetime reached");
    assert!(data["retry_ms"].as_u64().is_some(), "{data}");
    assert!(
        stream.next().await.is_none(),
        "the stream ends after reconnect"
    );
    assert!(lived >= Duration::from_secs(1), "{lived:?}");

    // Its slot is free again (the cap is 1 here).
    let ended = Instant::now();
    let mut pause = Duration::from_millis(5);
    let again = loop {
        let response = open(&client, &id).await;
        if response.status().as_u16() == 200 {
            break response;
        }
        assert!(
            ended.elapsed() < DEADLINE,
            "the ended stream never freed its slot"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    };
    report!("streams: lifetime 1 s, the stream ended with `reconnect` after {lived:?}");
    drop(again);
    api.stop().await;
}

/// Distributed mode: the API process hears changes made by other processes through Postgres
/// `LISTEN/NOTIFY`, so its streams and long polls see them at once (not at the safety re-check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_streams_hear_other_processes() {
    let settings = distributed_settings(&redis_url()).await;
    let api = start(&settings, Roles::API).await;
    let key = create_tenant(&*api.backends().store, "acme").await;
    let client = Client::new(&api, &key);

    // A change written by another connection pool (another process, as far as the API knows).
    let elsewhere = PgStore::connect(
        &settings.database_url,
        2,
        Duration::from_secs(5),
        test_keyring(),
    )
    .await
    .expect("second store");
    let tenant = elsewhere
        .list_tenants()
        .await
        .expect("tenants")
        .into_iter()
        .find(|t| t.name.as_str() == "acme")
        .expect("acme");
    let cancelled = client.submit_ok(&nutrition(70.0)).await;
    let mut stream = Stream {
        response: open(&client, &cancelled).await,
        buffer: String::new(),
    };
    assert_eq!(stream.next().await.map(|e| e.0).as_deref(), Some("queued"));
    let changed = Instant::now();
    elsewhere
        .cancel_job(
            tenant.id,
            cancelled.parse().expect("job id"),
            chrono::Utc::now(),
        )
        .await
        .expect("cancel elsewhere");
    let (name, _) = stream.next().await.expect("the cancellation");
    let heard = changed.elapsed();
    assert_eq!(name, "cancelled");
    assert!(stream.next().await.is_none());
    // The safety re-check is 5 s: hearing it well before proves the notification path.
    assert!(heard < Duration::from_secs(3), "heard after {heard:?}");

    // The listener's connection dies (as in a Postgres restart): it reconnects and resyncs, so
    // a change made meanwhile still reaches the stream.
    let admin = sqlx::PgPool::connect(&settings.database_url)
        .await
        .expect("admin pool");
    let mut killed = 0;
    let killing = Instant::now();
    while killed == 0 {
        killed = sqlx::query_scalar::<_, i64>(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        )
        .fetch_one(&admin)
        .await
        .expect("terminate the listener");
        assert!(killing.elapsed() < DEADLINE, "no listener connection found");
    }
    let after_kill = client.submit_ok(&nutrition(69.0)).await;
    let mut stream = Stream {
        response: open(&client, &after_kill).await,
        buffer: String::new(),
    };
    assert_eq!(stream.next().await.map(|e| e.0).as_deref(), Some("queued"));
    let changed = Instant::now();
    elsewhere
        .cancel_job(
            tenant.id,
            after_kill.parse().expect("job id"),
            chrono::Utc::now(),
        )
        .await
        .expect("cancel elsewhere");
    let (name, _) = stream.next().await.expect("the cancellation");
    let heard_after_kill = changed.elapsed();
    assert_eq!(name, "cancelled");
    assert!(
        heard_after_kill < Duration::from_secs(3),
        "heard after {heard_after_kill:?}"
    );

    // A worker in another Service runs a job the API streams.
    let id = client.submit_ok(&nutrition(71.0)).await;
    let mut stream = Stream {
        response: open(&client, &id).await,
        buffer: String::new(),
    };
    assert_eq!(stream.next().await.map(|e| e.0).as_deref(), Some("queued"));
    let worker_started = Instant::now();
    let worker = start(&settings, Roles::WORKER).await;
    let mut names = Vec::new();
    while let Some((name, _)) = stream.next().await {
        names.push(name);
    }
    let ran = worker_started.elapsed();
    assert_eq!(
        names.last().map(String::as_str),
        Some("succeeded"),
        "{names:?}"
    );

    // A long poll also wakes on the notification.
    let polled = client.submit_ok(&nutrition(73.0)).await;
    let poll_started = Instant::now();
    let reply = client.get(&format!("/v1/jobs/{polled}?wait=20")).await;
    let poll_took = poll_started.elapsed();
    assert_eq!(reply.first()["status"], "succeeded", "{}", reply.body);
    assert!(poll_took < Duration::from_secs(3), "{poll_took:?}");
    report!(
        "streams (postgres NOTIFY): a cancel from another pool reached the stream in {heard:?} \
         ({heard_after_kill:?} after the listener's connection was killed); worker in another Service: {names:?} within {ran:?} of its start; long poll answered in \
         {poll_took:?}"
    );
    worker.stop().await;
    api.stop().await;
}

/// Every page of a list query, following the cursor; checks each page's byte bound.
async fn pages(client: &Client, query: &str, max_bytes: usize) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut uri = format!("/v1/jobs?{query}");
    loop {
        let reply = client.get(&uri).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let items = reply.body["data"].as_array().expect("data").clone();
        assert!(!items.is_empty(), "a page holds at least one job");
        let bytes: usize = items.iter().map(|i| i.to_string().len()).sum();
        assert!(bytes <= max_bytes || items.len() == 1, "{bytes} bytes");
        pages.push(items);
        match reply.body["meta"]["page"]["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/jobs?{query}&cursor={cursor}"),
            None => return pages,
        }
    }
}

fn page_figures(pages: &[Vec<Value>]) -> Vec<(usize, usize)> {
    pages
        .iter()
        .map(|p| (p.len(), p.iter().map(|i| i.to_string().len()).sum()))
        .collect()
}

fn ids_of(pages: &[Vec<Value>]) -> Vec<String> {
    pages
        .iter()
        .flatten()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Lists are compact unless `include` asks for more, and pages are bounded in bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_compact_and_byte_bounded() {
    let dir = TempDir::new();
    let mut settings = embedded_settings(&dir);
    let max_bytes = 3000;
    settings.api.list_max_bytes = max_bytes;
    let service = start(&settings, Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);
    let mut ids = Vec::new();
    for i in 0..8 {
        let mut body = nutrition(60.0 + f64::from(i));
        // Large-ish inputs: the longest athlete id allowed.
        body["input"]["athlete"]["id"] = json!(format!("athlete-{i}-{}", "x".repeat(110)));
        let id = client.submit_ok(&body).await;
        client.wait_terminal(&id).await;
        ids.push(id);
    }
    ids.reverse();

    // Compact by default: status and metadata, no input, output or trace.
    let compact = pages(&client, "limit=100", max_bytes).await;
    assert_eq!(ids_of(&compact), ids, "every job once, newest first");
    for item in compact.iter().flatten() {
        for absent in ["input", "output", "trace"] {
            assert!(item.get(absent).is_none(), "{absent} in {item}");
        }
        assert_eq!(item["status"], "succeeded");
        assert!(item["attempt"].is_number() && item["kind"].is_string());
        assert!(item["created_at"].is_string() && item["provider"].is_string());
    }

    // One part on request.
    let with_input = client.get("/v1/jobs?limit=1&include=input").await;
    let item = with_input.first();
    assert!(item["input"]["athlete"]["id"].is_string());
    assert!(item.get("output").is_none() && item.get("trace").is_none());

    // An unknown part is refused at `include`.
    let bad = client.get("/v1/jobs?include=input,secrets").await;
    assert_eq!((bad.status, bad.error_code()), (400, "VALIDATION_ERROR"));
    assert_eq!(bad.error_field(), "include");

    // Everything: pages end early at the byte bound, with a cursor, and together hold every job.
    let full = pages(&client, "limit=100&include=input,output,trace", max_bytes).await;
    assert_eq!(ids_of(&full), ids, "every job once, newest first");
    for item in full.iter().flatten() {
        assert!(item["input"].is_object() && item["output"].is_object());
        assert!(item["trace"].is_array());
    }
    assert!(
        full.len() > compact.len(),
        "the byte bound split the full list more: {:?} vs {:?}",
        page_figures(&full),
        page_figures(&compact)
    );
    report!(
        "lists: 8 jobs, limit 100, {max_bytes} B bound: compact pages {:?}, full pages {:?} \
         (items, bytes)",
        page_figures(&compact),
        page_figures(&full)
    );
    service.stop().await;
}
