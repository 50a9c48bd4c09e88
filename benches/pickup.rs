//! Idle pickup latency: how long a job waits between being accepted (`created_at`) and a worker
//! starting it (`started_at`), when workers are idle. Target p99 < 50 ms.
//!
//! Runs the real service in-process on port 0 in both modes (embedded SQLite; Postgres + Redis
//! from `SPARTA_TEST_POSTGRES_URL` / `SPARTA_TEST_REDIS_URL`, defaults the local servers),
//! submits jobs one at a time over HTTP, and reads both instants from the job. Prints the
//! figures and writes them to `bench-results/pickup.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::time::Duration;

use serde_json::{Value, json};
use sparta::{Roles, Service, Settings};
use sparta_jobs::{ApiKey, TenantName};

const SAMPLES: usize = 400;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn measure(mode: &str, mut settings: Settings) -> Value {
    // One key drives the whole bench; the per-key rate limit is not what is measured.
    settings.api.rate_per_key_per_sec = 0;
    let service = Service::start(&settings, Roles::ALL).await.expect("start");
    let key = ApiKey::generate();
    service
        .backends()
        .store
        .create_tenant(
            &TenantName::parse("bench").expect("name"),
            &key.hash(),
            &sparta_jobs::WebhookSecret::generate(),
        )
        .await
        .expect("tenant");
    let base = format!("http://{}", service.local_addr().expect("addr"));
    let http = reqwest::Client::new();
    let body: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/requests/nutrition.json"
        ))
        .expect("example"),
    )
    .expect("json");
    let mut waits = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES + 20 {
        let reply: Value = http
            .post(format!("{base}/v1/jobs"))
            .bearer_auth(key.reveal())
            .json(&body)
            .send()
            .await
            .expect("submit")
            .json()
            .await
            .expect("json");
        let id = reply["data"][0]["id"].as_str().expect("id").to_owned();
        let job: Value = http
            .get(format!("{base}/v1/jobs/{id}?wait=10"))
            .bearer_auth(key.reveal())
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        let job = &job["data"][0];
        assert_eq!(job["status"], "succeeded", "{job}");
        let created =
            chrono::DateTime::parse_from_rfc3339(job["created_at"].as_str().expect("created"))
                .expect("ts");
        let started =
            chrono::DateTime::parse_from_rfc3339(job["started_at"].as_str().expect("started"))
                .expect("ts");
        // The first jobs warm connections and caches.
        if i >= 20 {
            waits.push((started - created).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
        // Let the worker go idle again (an idle pickup is what is measured).
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    service.stop().await;
    waits.sort_by(f64::total_cmp);
    let figures = json!({
        "mode": mode,
        "samples": waits.len(),
        "p50_ms": percentile(&waits, 50.0),
        "p95_ms": percentile(&waits, 95.0),
        "p99_ms": percentile(&waits, 99.0),
        "max_ms": waits.last().copied().unwrap_or(0.0),
        "target_p99_ms": 50.0,
        // The API reports instants to the millisecond.
        "resolution_ms": 1.0,
    });
    println!("pickup latency {mode}: {figures}");
    figures
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("sparta-bench-{}", uuid::Uuid::new_v4().simple()));
    let mut embedded = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: format!("sqlite:{}", dir.join("bench.db").display()),
        ..Settings::default()
    };
    embedded.log.level = "warn".into();
    sparta::init_telemetry(&embedded.log);
    let embedded_figures = measure("embedded (sqlite, store queue)", embedded).await;

    let admin = std::env::var("SPARTA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("sparta_bench_{}", uuid::Uuid::new_v4().simple());
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("postgres");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("db");
    }
    let mut distributed = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: format!("{}/{name}", admin.rsplit_once('/').expect("url").0),
        redis_url: Some(
            std::env::var("SPARTA_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        ),
        ..Settings::default()
    };
    distributed.queue.namespace = name.clone();
    distributed.secrets.key = Some(sparta_jobs::secrets::Keyring::generate_key());
    let distributed_figures = measure("distributed (postgres, redis streams)", distributed).await;

    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-results");
    std::fs::create_dir_all(&out).expect("results dir");
    let report =
        json!({"bench": "idle pickup latency", "results": [embedded_figures, distributed_figures]});
    std::fs::write(
        out.join("pickup.json"),
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write results");
    println!("written to {}", out.join("pickup.json").display());
    let _ = std::fs::remove_dir_all(dir);
}
