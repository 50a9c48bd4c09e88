//! Fault tests with real processes of the `sparta` binary, each on a Postgres and a Redis of
//! its own (free ports, the machine's binaries), so stopping or flushing them disturbs nothing
//! else. Each prints its figures: jobs submitted, succeeded, duplicates, lost, deliveries and
//! the longest delivery delay.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rand::Rng as _;
use serde_json::json;
use sqlx::PgPool;
use tokio::time::Instant;

use crate::harness::*;
use crate::processes::*;
use crate::receiver::{Receiver, signature_is_valid};

/// Settings for processes of one test: short leases so a killed worker's jobs come back
/// quickly, a compressed webhook schedule, and an LLM that never answers (each attempt times
/// out after 150 ms and the engine answers), so jobs are in flight when workers die.
fn write_config(dir: &TempDir, pg: &str, redis: &str, api_port: u16, llm_port: u16) -> PathBuf {
    let path = dir.0.join("sparta.toml");
    let text = format!(
        r#"listen = "127.0.0.1:{api_port}"
database_url = "{pg}"
redis_url = "{redis}"

[log]
format = "text"
level = "error"

[database]
max_connections = 8
acquire_timeout_ms = 1000

[api]
rate_per_key_per_sec = 0

[worker]
concurrency = 16
lease_secs = 2
reconcile_every_ms = 200
retry_base_ms = 50
shutdown_grace_secs = 2

[queue]
namespace = "faults"
redeliver_after_secs = 1
store_poll_ms = 50

[webhooks]
allow_networks = ["127.0.0.0/8"]
retry_schedule_ms = [0, 100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]
poll_ms = 50
timeout_ms = 2000

[secrets]
key = "{TEST_SECRETS_KEY}"

[scheduler]
every_ms = 200
default_local_time = "00:00"

[ai]
default_chain = ["silent", "builtin"]

[ai.retry]
max_retries = 0

[ai.breaker]
consecutive_failures = 1000000
min_calls = 1000000

[ai.models.silent]
base_url = "http://127.0.0.1:{llm_port}/v1"
model = "silent"
timeout_ms = 150
"#
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// An "LLM" that accepts connections and never answers.
async fn silent_llm() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            held.retain(|s| s.peer_addr().is_ok());
        }
    });
    (port, task)
}

/// Runs `sparta tenant create` and returns (API key, webhook secret).
pub(crate) fn create_tenant_with_cli(config: &Path, name: &str) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sparta"))
        .arg("--config")
        .arg(config)
        .args(["tenant", "create", name])
        .output()
        .expect("sparta tenant create");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let secret = stdout
        .lines()
        .find_map(|l| l.strip_prefix("webhook signing secret: "))
        .expect("secret line")
        .to_owned();
    let key = stdout.lines().last().expect("key line").to_owned();
    (key, secret)
}

fn client(api_port: u16, key: &str) -> Client {
    Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client"),
        base: format!("http://127.0.0.1:{api_port}"),
        key: key.to_owned(),
    }
}

pub(crate) async fn api_ready(client: &Client) {
    eventually("the API process to answer", || async {
        client
            .http
            .get(format!("{}/healthz", client.base))
            .send()
            .await
            .is_ok()
    })
    .await;
}

/// Status counts of the jobs table.
async fn status_counts(pool: &PgPool) -> BTreeMap<String, i64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM jobs WHERE kind = 'nutrition' GROUP BY status",
    )
    .fetch_all(pool)
    .await
    .expect("counts");
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_kills_a_redis_flush_and_restart_and_a_receiver_outage_lose_nothing() {
    let dir = TempDir::new();
    let pg = PostgresProcess::start().await;
    let mut redis = RedisProcess::start().await;
    let (llm_port, _llm) = silent_llm().await;
    let receiver = Receiver::start().await;
    let api_port = free_port();
    let config = write_config(&dir, &pg.url(), &redis.url(), api_port, llm_port);
    let (key, secret) = create_tenant_with_cli(&config, "acme");
    let _api = SpartaProcess::start("api", &config);
    let mut workers: Vec<SpartaProcess> = (0..3)
        .map(|_| SpartaProcess::start("worker", &config))
        .collect();
    let client = client(api_port, &key);
    api_ready(&client).await;
    let pool = PgPool::connect(&pg.url()).await.expect("pool");

    const JOBS: usize = 500;
    let started = Instant::now();
    let mut submitted = Vec::new();
    let mut kills = 0;
    let mut rng = rand::rng();
    let mut next_kill = Instant::now();
    for n in 0..JOBS {
        let mut body = nutrition(50.0 + (n % 100) as f64);
        body["webhook_url"] = json!(receiver.url("/hooks"));
        submitted.push(client.submit_ok(&body).await);
        match n {
            150 => {
                let mut conn = redis::Client::open(redis.url())
                    .expect("redis")
                    .get_multiplexed_async_connection()
                    .await
                    .expect("redis connection");
                let _: () = redis::cmd("FLUSHALL")
                    .query_async(&mut conn)
                    .await
                    .expect("FLUSHALL");
            }
            200 => receiver.set_up(false),
            300 => redis.kill(),
            330 => redis.restart().await,
            400 => receiver.set_up(true),
            _ => {}
        }
        if Instant::now() >= next_kill {
            let victim = rng.random_range(0..workers.len());
            workers[victim].kill();
            workers[victim].restart();
            kills += 1;
            next_kill = Instant::now() + Duration::from_millis(rng.random_range(100..400));
        }
    }
    // Keep killing while the backlog drains, then let them finish.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let counts = status_counts(&pool).await;
        if counts.get("succeeded").copied().unwrap_or(0) as usize == JOBS {
            break;
        }
        if Instant::now() >= deadline {
            // Which jobs failed and why (attempts used, the error), for the failure message.
            let failed: Vec<(i32, Option<serde_json::Value>)> = sqlx::query_as(
                "SELECT attempt, error::jsonb FROM jobs WHERE status = 'failed' LIMIT 5",
            )
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
            panic!("jobs still not done: {counts:?}; failed (attempt, error): {failed:?}");
        }
        if Instant::now() >= next_kill && kills < 60 {
            let victim = rng.random_range(0..workers.len());
            workers[victim].kill();
            workers[victim].restart();
            kills += 1;
            next_kill = Instant::now() + Duration::from_millis(rng.random_range(100..400));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counts = status_counts(&pool).await;
    assert_eq!(
        counts.get("succeeded").copied(),
        Some(JOBS as i64),
        "{counts:?}"
    );

    // Exactly one terminal transition per job (the trigger writes one event per transition,
    // so a second result write would show as a second event).
    let per_job: Vec<(i64,)> =
        sqlx::query_as("SELECT count(*) FROM webhook_events GROUP BY job_id")
            .fetch_all(&pool)
            .await
            .expect("events");
    let duplicates = per_job.iter().filter(|(n,)| *n > 1).count();
    assert_eq!(per_job.len(), JOBS, "one event per job");
    assert_eq!(duplicates, 0);
    let outputs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'nutrition' AND output IS NOT NULL AND finished_at IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .expect("outputs");
    assert_eq!(outputs, JOBS as i64);

    // Every webhook delivered at least once, signed.
    let wanted: BTreeSet<String> = submitted.iter().cloned().collect();
    eventually("every webhook to be delivered", || async {
        let delivered: BTreeSet<String> = receiver
            .requests()
            .iter()
            .filter(|r| r.status == 204)
            .map(|r| {
                r.json()["data"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        delivered.is_superset(&wanted)
    })
    .await;
    let requests = receiver.requests();
    assert!(requests.iter().all(|r| signature_is_valid(&secret, r)));
    let finished: BTreeMap<String, chrono::DateTime<chrono::Utc>> =
        sqlx::query_as::<_, (uuid::Uuid, chrono::DateTime<chrono::Utc>)>(
            "SELECT id, finished_at FROM jobs WHERE kind = 'nutrition'",
        )
        .fetch_all(&pool)
        .await
        .expect("finished")
        .into_iter()
        .map(|(id, at)| (id.to_string(), at))
        .collect();
    let mut max_delay = chrono::TimeDelta::zero();
    for r in requests.iter().filter(|r| r.status == 204) {
        let job = r.json()["data"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(end) = finished.get(&job) {
            max_delay = max_delay.max(r.wall - *end);
        }
    }
    let by_event = receiver.by_event();
    for got in by_event.values() {
        assert!(
            got.iter().all(|r| r.body == got[0].body),
            "same body on retries"
        );
    }

    // Three worker processes ran the scheduler the whole time: one message for the tenant today.
    let messages: Vec<(serde_json::Value,)> =
        sqlx::query_as("SELECT metadata FROM jobs WHERE kind = 'motivation'")
            .fetch_all(&pool)
            .await
            .expect("motivation jobs");
    assert_eq!(messages.len(), 1, "{messages:?}");

    report!(
        "faults (3 worker processes, {kills} SIGKILLs, FLUSHALL, Redis restart, receiver down \
         for 200 jobs): submitted {JOBS}, succeeded {}, duplicates {duplicates}, lost {}, \
         webhook events {}, delivery requests {}, max delivery delay {} ms, scheduler messages \
         today {}, in {:.1} s",
        counts.get("succeeded").copied().unwrap_or(0),
        JOBS as i64 - counts.get("succeeded").copied().unwrap_or(0),
        by_event.len(),
        requests.len(),
        max_delay.num_milliseconds(),
        messages.len(),
        started.elapsed().as_secs_f64()
    );
    for worker in &mut workers {
        worker.terminate();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_answers_503_and_every_accepted_job_succeeds() {
    let dir = TempDir::new();
    let mut pg = PostgresProcess::start().await;
    let redis = RedisProcess::start().await;
    let (llm_port, _llm) = silent_llm().await;
    let api_port = free_port();
    let config = write_config(&dir, &pg.url(), &redis.url(), api_port, llm_port);
    let (key, _) = create_tenant_with_cli(&config, "acme");
    let mut api = SpartaProcess::start("api", &config);
    let mut worker = SpartaProcess::start("worker", &config);
    let client = client(api_port, &key);
    api_ready(&client).await;

    let mut accepted = Vec::new();
    for n in 0..40 {
        accepted.push(client.submit_ok(&nutrition(60.0 + f64::from(n))).await);
    }
    pg.stop();
    let mut unavailable = 0;
    let mut slowest = Duration::ZERO;
    for n in 0..10 {
        let asked = Instant::now();
        let reply = client.submit(&nutrition(70.0 + f64::from(n))).await;
        slowest = slowest.max(asked.elapsed());
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert_eq!(reply.error_code(), "SERVICE_UNAVAILABLE");
        unavailable += 1;
    }
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(
        slowest < Duration::from_secs(10),
        "a request waited {slowest:?} for a dead database"
    );
    pg.resume().await;
    // Recovers by itself: the same processes answer again.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let reply = client.submit(&nutrition(90.0)).await;
        if reply.status == 202 {
            accepted.push(reply.first()["id"].as_str().expect("id").to_owned());
            break;
        }
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(Instant::now() < deadline, "the API did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in 0..40 {
        accepted.push(client.submit_ok(&nutrition(100.0 + f64::from(n))).await);
    }
    let mut succeeded = 0;
    for id in &accepted {
        let job = client.wait_terminal(id).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        succeeded += 1;
    }
    report!(
        "postgres stopped and started: accepted {}, 503 while down {unavailable} (slowest {} ms), \
         succeeded {succeeded}, lost {}",
        accepted.len(),
        slowest.as_millis(),
        accepted.len() - succeeded
    );
    worker.terminate();
    api.terminate();
}

/// A worker SIGKILLed while it writes results in batches (a backlog of fast engine jobs keeps
/// its result writer busy, so each kill lands among batched writes): every job ends exactly
/// once. A batch that committed is acknowledged late (its messages are spent on redelivery); a
/// batch that did not is recovered through the leases and run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_during_batched_result_writes_loses_nothing_and_writes_nothing_twice() {
    let dir = TempDir::new();
    let pg = PostgresProcess::start().await;
    let redis = RedisProcess::start().await;
    let (llm_port, _llm) = silent_llm().await;
    let api_port = free_port();
    let config = write_config(&dir, &pg.url(), &redis.url(), api_port, llm_port);
    // The engine alone and many jobs at once: results end faster than one write commits.
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace(
            r#"default_chain = ["silent", "builtin"]"#,
            r#"default_chain = ["builtin"]"#,
        )
        .replace("concurrency = 16", "concurrency = 64");
    std::fs::write(&config, text).expect("config");
    let (key, _) = create_tenant_with_cli(&config, "acme");
    let _api = SpartaProcess::start("api", &config);
    let client = client(api_port, &key);
    api_ready(&client).await;
    let pool = PgPool::connect(&pg.url()).await.expect("pool");

    // The backlog, through the batch endpoint, before any worker runs.
    const BATCHES: usize = 4;
    const PER_BATCH: usize = 1000;
    const JOBS: usize = BATCHES * PER_BATCH;
    for b in 0..BATCHES {
        let jobs: Vec<serde_json::Value> = (0..PER_BATCH)
            .map(|n| nutrition(50.0 + ((b * PER_BATCH + n) % 100) as f64))
            .collect();
        let reply: serde_json::Value = client
            .http
            .post(format!("{}/v1/jobs/batch", client.base))
            .bearer_auth(&client.key)
            .json(&json!({ "jobs": jobs }))
            .send()
            .await
            .expect("batch")
            .json()
            .await
            .expect("batch reply");
        let accepted = reply["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter(|item| item["status"] == 202)
            .count();
        assert_eq!(accepted, PER_BATCH, "{}", reply["errors"]);
    }

    let started = Instant::now();
    let mut worker = SpartaProcess::start("worker", &config);
    let mut kills = 0;
    let mut in_flight_at_kills = 0;
    let deadline = Instant::now() + DEADLINE * 2;
    loop {
        let counts = status_counts(&pool).await;
        let done = counts.get("succeeded").copied().unwrap_or(0) as usize;
        if done == JOBS {
            break;
        }
        assert!(Instant::now() < deadline, "jobs still not done: {counts:?}");
        // Kill while results are streaming in: every eighth of the backlog, five times.
        if kills < 5 && done > (kills + 1) * JOBS / 8 {
            in_flight_at_kills += counts.get("running").copied().unwrap_or(0);
            worker.kill();
            worker.restart();
            kills += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let counts = status_counts(&pool).await;
    assert_eq!(
        counts.get("succeeded").copied(),
        Some(JOBS as i64),
        "{counts:?}"
    );
    // Written exactly once: each job's trace holds the one attempt whose result was written,
    // and it is the job's last attempt.
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'nutrition' AND (jsonb_array_length(trace) <> 1 \
         OR (trace -> 0 ->> 'job_attempt')::int <> attempt OR output IS NULL)",
    )
    .fetch_one(&pool)
    .await
    .expect("trace check");
    assert_eq!(twice, 0, "jobs whose result was not written exactly once");
    let rerun: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'nutrition' AND attempt > 1")
            .fetch_one(&pool)
            .await
            .expect("reruns");
    assert!(
        rerun > 0,
        "no kill caught a job in flight ({in_flight_at_kills} running at the kills)"
    );
    report!(
        "batched result writes under SIGKILL: {JOBS} jobs, {kills} kills with {in_flight_at_kills} \
         jobs running at them, {rerun} jobs run again after their lease expired, 0 lost, 0 written \
         twice, drained in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    worker.terminate();
}
