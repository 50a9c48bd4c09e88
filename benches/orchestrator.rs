//! The orchestrator's own cost and capacity.
//!
//! 1. Overhead per job (render + validate + bookkeeping): the nutrition kind answered by the
//!    builtin engine, and by an OpenAI-compatible server on loopback that answers at once.
//! 2. LLM-bound jobs in flight in one worker process, against a server that answers after 1 s:
//!    target ≥ 1,000 at once; the process's resident memory is reported.
//!
//! Prints the figures and writes them to `bench-results/orchestrator.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use sparta::{KindSettings, ModelSettings, Roles, Service, Settings};
use sparta_ai::{ModelSpec, OpenAiProvider, Orchestrator, OutputMode};
use sparta_coach::JobKind;
use sparta_jobs::Outcome;
use sparta_jobs::{ApiKey, TenantName};
use sparta_worker::{Executor, ExecutorConfig, KindPlan};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(mut micros: Vec<f64>) -> Value {
    micros.sort_by(f64::total_cmp);
    let mean = micros.iter().sum::<f64>() / micros.len() as f64;
    json!({"samples": micros.len(), "mean_us": mean, "p50_us": percentile(&micros, 50.0),
           "p99_us": percentile(&micros, 99.0), "max_us": micros.last().copied().unwrap_or(0.0)})
}

fn example_input() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/requests/nutrition.json"
    ))
    .unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["input"].clone()
}

/// The job input inside the prompt's fence, answered by the engine: a perfect model.
fn engine_answer(request: &Value) -> Value {
    let user = request["messages"][1]["content"].as_str().unwrap();
    let start = user.find("<<<DATA").unwrap() + 7;
    let end = user.rfind("DATA>>>").unwrap();
    let input: Value = serde_json::from_str(user[start..end].trim()).unwrap();
    let parsed = sparta_coach::JobInput::parse(JobKind::Nutrition, &input).unwrap();
    let answer = sparta_coach::run_builtin(&parsed).unwrap();
    json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": answer.to_string()}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 600, "completion_tokens": 200}})
}

struct Server {
    delay: Duration,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

async fn completions(State(server): State<Arc<Server>>, Json(request): Json<Value>) -> Json<Value> {
    let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    server.max_in_flight.fetch_max(now, Ordering::SeqCst);
    if !server.delay.is_zero() {
        tokio::time::sleep(server.delay).await;
    }
    let answer = engine_answer(&request);
    server.in_flight.fetch_sub(1, Ordering::SeqCst);
    Json(answer)
}

async fn start_server(delay: Duration) -> (String, Arc<Server>) {
    let server = Arc::new(Server {
        delay,
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
    });
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(completions))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, server)
}

async fn overhead(executor: &Executor, input: &Value, runs: usize) -> Value {
    let mut micros = Vec::with_capacity(runs);
    for i in 0..runs + 50 {
        let started = Instant::now();
        let result = executor.answer(JobKind::Nutrition, input, 1).await;
        assert!(matches!(result, Outcome::Succeeded { .. }), "{result:?}");
        if i >= 50 {
            micros.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    summary(micros)
}

fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn in_flight(jobs: usize) -> Value {
    let (url, server) = start_server(Duration::from_secs(1)).await;
    let dir = std::env::temp_dir().join(format!("sparta-bench-{}", uuid::Uuid::new_v4().simple()));
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite:{}", dir.join("bench.db").display()),
        ..Settings::default()
    };
    settings.log.level = "warn".into();
    settings.worker.concurrency = jobs + 200;
    settings.api.rate_per_key_per_sec = 0;
    settings.ai.models.insert(
        "slow".into(),
        ModelSettings {
            provider: "openai".into(),
            base_url: url,
            api_key_env: None,
            model: "slow-1".into(),
            mode: OutputMode::JsonSchema,
            timeout_ms: 30_000,
            max_tokens: None,
            temperature: None,
            price_input_per_mtok: 0.15,
            price_output_per_mtok: 0.6,
        },
    );
    settings.ai.kinds.insert(
        "nutrition".into(),
        KindSettings {
            chain: Some(vec!["slow".into(), "builtin".into()]),
            timeout_secs: Some(120),
            cache_ttl_secs: Some(0),
        },
    );
    let rss_before = memory_kib("VmRSS:");
    let service = Service::start(&settings, Roles::ALL).await.unwrap();
    let store = service.backends().store.clone();
    let key = ApiKey::generate();
    let tenant = store
        .create_tenant(
            &TenantName::parse("bench").unwrap(),
            &key.hash(),
            &sparta_jobs::WebhookSecret::generate(),
        )
        .await
        .unwrap();
    let base = format!("http://{}", service.local_addr().unwrap());
    let http = reqwest::Client::new();
    let body = json!({"kind": "nutrition", "input": example_input()});
    let started = Instant::now();
    let submits = (0..jobs).map(|_| {
        let (http, base, key, body) = (
            http.clone(),
            base.clone(),
            key.reveal().to_owned(),
            body.clone(),
        );
        async move {
            let reply = http
                .post(format!("{base}/v1/jobs"))
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status().as_u16(), 202);
        }
    });
    futures::future::join_all(submits).await;
    let submitted = started.elapsed();
    let mut peak_rss = 0;
    loop {
        peak_rss = peak_rss.max(memory_kib("VmRSS:"));
        let page = store
            .list_jobs(
                Some(tenant.id),
                &sparta_jobs::ListQuery {
                    status: Some(sparta_jobs::JobStatus::Succeeded),
                    limit: u32::try_from(jobs).unwrap(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if page.len() == jobs {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "jobs did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    service.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    json!({
        "jobs": jobs,
        "server_delay_ms": 1000,
        "max_in_flight_llm_calls": server.max_in_flight.load(Ordering::SeqCst),
        "target_in_flight": 1000,
        "submit_s": submitted.as_secs_f64(),
        "all_succeeded_s": elapsed.as_secs_f64(),
        "rss_before_kib": rss_before,
        "peak_rss_kib": peak_rss,
        "peak_rss_growth_kib": peak_rss.saturating_sub(rss_before),
        "vm_hwm_kib": memory_kib("VmHWM:"),
    })
}

#[tokio::main]
async fn main() {
    let input = example_input();
    let builtin = Executor::builtin().unwrap();
    let builtin_figures = overhead(&builtin, &input, 20_000).await;
    println!("orchestrator + builtin engine, per job: {builtin_figures}");

    let (url, _server) = start_server(Duration::ZERO).await;
    let provider = OpenAiProvider::new(&url, "", Duration::from_secs(10)).unwrap();
    let orchestrator = Orchestrator::new().with_model(
        "local",
        ModelSpec::new(
            Arc::new(provider),
            "local-1",
            OutputMode::JsonSchema,
            Duration::from_secs(10),
        ),
    );
    let config = ExecutorConfig {
        default_plan: KindPlan {
            chain: vec!["local".into(), "builtin".into()],
            ..KindPlan::default()
        },
        ..ExecutorConfig::default()
    };
    let local = Executor::new(orchestrator, &config).unwrap();
    let local_figures = overhead(&local, &input, 2_000).await;
    println!(
        "orchestrator + zero-latency local server (loopback HTTP included), per job: {local_figures}"
    );

    let capacity = in_flight(1_100).await;
    println!("LLM-bound jobs in flight, one worker process: {capacity}");

    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-results");
    std::fs::create_dir_all(&out).unwrap();
    let report = json!({"bench": "orchestrator", "builtin_overhead": builtin_figures,
        "zero_latency_server": local_figures, "in_flight": capacity});
    std::fs::write(
        out.join("orchestrator.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("written to {}", out.join("orchestrator.json").display());
}
