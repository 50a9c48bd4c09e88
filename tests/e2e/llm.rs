//! Jobs answered by an LLM behind an OpenAI-compatible API: a local server started by the test,
//! which answers like a good model (it runs the coach engine on the fenced input of the prompt)
//! and fails 30 % of calls at random, seeded: 429s, 500s, hangs, invalid JSON, schema-invalid
//! JSON, truncations.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};
use sparta::{KindSettings, ModelSettings, Roles, Settings};

use crate::harness::*;

struct Faulty {
    rng: Mutex<StdRng>,
    calls: Mutex<u64>,
}

/// A free model on a local OpenAI-compatible server, strict JSON-schema mode.
fn local_model(base_url: String, model: &str, timeout_ms: u64) -> ModelSettings {
    ModelSettings {
        provider: "openai".into(),
        base_url,
        api_key_env: None,
        model: model.into(),
        mode: sparta_ai::OutputMode::JsonSchema,
        timeout_ms,
        max_tokens: None,
        temperature: None,
        price_input_per_mtok: 0.0,
        price_output_per_mtok: 0.0,
    }
}

/// Serves `app` on a local port; the base URL of its OpenAI-compatible API.
async fn serve_llm(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let llm = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    llm
}

/// Routes `nutrition` jobs to `model` (named `name`) first, then the engine, with no cached
/// answers.
fn nutrition_chain(settings: &mut Settings, name: &str, model: ModelSettings, timeout_secs: u64) {
    settings.ai.models.insert(name.into(), model);
    settings.ai.kinds.insert(
        "nutrition".into(),
        KindSettings {
            chain: Some(vec![name.into(), "builtin".into()]),
            timeout_secs: Some(timeout_secs),
            cache_ttl_secs: Some(0),
        },
    );
}

/// The job input inside the prompt's `<<<DATA … DATA>>>` fence.
pub(crate) fn fenced_input(request: &Value) -> Option<Value> {
    let user = request["messages"]
        .as_array()?
        .iter()
        .find(|m| m["role"] == "user")?["content"]
        .as_str()?;
    let start = user.find("<<<DATA")? + "<<<DATA".len();
    let end = user.rfind("DATA>>>")?;
    serde_json::from_str(user[start..end].trim()).ok()
}

/// What a good model answers to a `nutrition` request: the engine's answer to its fenced input.
fn good_answer(request: &Value) -> Value {
    let input = fenced_input(request).expect("a fenced input");
    let parsed = sparta_coach::JobInput::parse(sparta_coach::JobKind::Nutrition, &input)
        .expect("valid input");
    sparta_coach::run_builtin(&parsed).expect("engine answer")
}

fn completion(content: String, finish: &str) -> Response {
    Json(json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 400, "completion_tokens": 150}
    }))
    .into_response()
}

async fn answer(State(state): State<Arc<Faulty>>, Json(request): Json<Value>) -> Response {
    *state.calls.lock().unwrap() += 1;
    let roll: f64 = state.rng.lock().unwrap().random();
    let good = || good_answer(&request);
    match roll {
        r if r < 0.05 => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
            response
                .headers_mut()
                .insert("retry-after", "0".parse().unwrap());
            response
        }
        r if r < 0.10 => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        r if r < 0.15 => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        r if r < 0.20 => completion("{\"protein_g_per_day\": ".into(), "stop"),
        r if r < 0.25 => completion(json!({"protein_g_per_day": "lots"}).to_string(), "stop"),
        r if r < 0.30 => completion(good().to_string()[..40].to_owned(), "length"),
        _ => completion(format!("Here you go:\n```json\n{}\n```", good()), "stop"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_jobs_survive_a_flaky_llm() {
    let state = Arc::new(Faulty {
        rng: Mutex::new(StdRng::seed_from_u64(7)),
        calls: Mutex::new(0),
    });
    let llm = serve_llm(
        axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(answer))
            .with_state(state.clone()),
    )
    .await;

    let dir = TempDir::new();
    let mut settings: Settings = embedded_settings(&dir);
    settings.worker.concurrency = 16;
    settings.ai.retry.base_ms = 10;
    settings.ai.retry.max_ms = 50;
    let flaky = ModelSettings {
        max_tokens: Some(800),
        temperature: Some(0.0),
        price_input_per_mtok: 1.0,
        price_output_per_mtok: 2.0,
        ..local_model(llm, "flaky-1", 400)
    };
    nutrition_chain(&mut settings, "flaky", flaky, 20);
    let service = start(&settings, Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);
    let mut ids = Vec::new();
    for i in 0..200 {
        ids.push(client.submit_ok(&nutrition(50.0 + f64::from(i % 60))).await);
    }
    let (mut by_llm, mut by_engine, mut faults_seen) = (0, 0, 0);
    for id in &ids {
        let job = client.wait_terminal(id).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        let trace = job["trace"].as_array().expect("trace");
        assert!(!trace.is_empty(), "{job}");
        for entry in trace {
            for field in [
                "provider",
                "model",
                "mode",
                "latency_ms",
                "outcome",
                "usage",
                "job_attempt",
            ] {
                assert!(
                    entry.get(field).is_some(),
                    "trace entry without {field}: {entry}"
                );
            }
            // The tenant's trace names the failure's class and status, never where the
            // provider lives or what its error body said.
            let text = entry.to_string();
            assert!(
                !text.contains("127.0.0.1") && !text.contains("http://"),
                "the trace leaks an internal address: {entry}"
            );
            if entry["outcome"] == "provider_error" {
                assert!(
                    entry["class"].is_string() && entry.get("message").is_none(),
                    "{entry}"
                );
            }
        }
        let last = trace.last().unwrap();
        assert_eq!(last["outcome"], "succeeded", "{job}");
        assert_eq!(last["model"], job["model"]);
        let summed: u64 = trace
            .iter()
            .map(|e| e["usage"]["input_tokens"].as_u64().unwrap())
            .sum();
        assert_eq!(
            job["usage"]["input_tokens"].as_u64(),
            Some(summed),
            "usage sums every attempt"
        );
        match job["provider"].as_str() {
            Some("openai") => {
                by_llm += 1;
                assert!(job["prompt_version"].is_string());
            }
            Some("builtin") => by_engine += 1,
            other => panic!("unexpected provider {other:?}"),
        }
        if trace.len() > 1 {
            faults_seen += 1;
        }
    }
    let calls = *state.calls.lock().unwrap();
    report!(
        "200 jobs: {by_llm} answered by the LLM, {by_engine} by the engine, {faults_seen} needed more than one attempt, {calls} LLM calls"
    );
    assert_eq!(by_llm + by_engine, 200);
    assert!(by_llm > 100, "most jobs are answered by the model");
    assert!(faults_seen > 20, "the faults were exercised");
    service.stop().await;
}

async fn always_429(_: Json<Value>) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"error":{"message":"quota"}}"#,
    )
        .into_response();
    response
        .headers_mut()
        .insert("retry-after", "3600".parse().unwrap());
    response
}

/// A Retry-After beyond the cap reschedules the job (its `run_at`) instead of holding a worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_retry_after_reschedules_the_job() {
    let llm = serve_llm(
        axum::Router::new().route("/v1/chat/completions", axum::routing::post(always_429)),
    )
    .await;

    let dir = TempDir::new();
    let mut settings: Settings = embedded_settings(&dir);
    settings
        .ai
        .models
        .insert("limited".into(), local_model(llm, "limited-1", 2_000));
    settings.ai.default_chain = vec!["limited".into(), "builtin".into()];
    let service = start(&settings, Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);
    let id = client.submit_ok(&nutrition(70.0)).await;
    let submitted = chrono::Utc::now();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let job = loop {
        let job = client.get(&format!("/v1/jobs/{id}")).await.first().clone();
        if job["attempt"] == 1 && job["status"] == "queued" && job["error"].is_object() {
            break job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not rescheduled: {job}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(job["error"]["code"], "PROVIDER_RATE_LIMITED", "{job}");
    let run_at = chrono::DateTime::parse_from_rfc3339(job["run_at"].as_str().unwrap()).unwrap();
    let wait = run_at.with_timezone(&chrono::Utc) - submitted;
    assert!(
        wait > chrono::TimeDelta::minutes(59),
        "rescheduled by Retry-After: {wait}"
    );
    assert_eq!(job["trace"][0]["status"], 429);
    service.stop().await;
}

/// A broken prompt template stops startup, naming the file and the line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_prompt_template_stops_startup_with_file_and_line() {
    let dir = TempDir::new();
    let prompts = dir.0.join("prompts");
    std::fs::create_dir_all(prompts.join("nutrition")).unwrap();
    std::fs::write(prompts.join("nutrition/system.j2"), "You are a coach.\n").unwrap();
    std::fs::write(
        prompts.join("nutrition/user.j2"),
        "Data:\n{{ input | data }\n",
    )
    .unwrap();
    let mut settings: Settings = embedded_settings(&dir);
    settings.ai.prompts_dir = Some(prompts.clone());
    let error = match sparta::Service::start(&settings, Roles::ALL).await {
        Ok(_) => panic!("a broken template must stop startup"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("nutrition/user.j2"), "{error}");
    assert!(error.contains("line 2"), "{error}");
}

/// A chain that does not end with the engine is refused at startup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_must_end_with_the_engine() {
    let dir = TempDir::new();
    let mut settings: Settings = embedded_settings(&dir);
    settings.ai.kinds.insert(
        "nutrition".into(),
        KindSettings {
            chain: Some(vec![]),
            timeout_secs: None,
            cache_ttl_secs: None,
        },
    );
    let error = match sparta::Service::start(&settings, Roles::WORKER).await {
        Ok(_) => panic!("an empty chain must be refused"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains("ai.kinds.nutrition.chain must end with \"builtin\""),
        "{error}"
    );
}

/// An LLM that takes every request and never answers.
async fn never_answers(_: Json<Value>) -> Response {
    futures::future::pending::<Response>().await
}

/// Cancelling a running job stops it at the next safe point (the heartbeat that finds the lease
/// gone), frees its worker slot and writes nothing. With one slot and an LLM call that would
/// hang for two minutes, the next job can only run within the test's deadline if the cancelled
/// one was stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_running_job_stops_it_and_writes_nothing() {
    let llm = serve_llm(
        axum::Router::new().route("/v1/chat/completions", axum::routing::post(never_answers)),
    )
    .await;

    let dir = TempDir::new();
    let mut settings: Settings = embedded_settings(&dir);
    settings.worker.concurrency = 1;
    settings.worker.lease_secs = 3;
    settings.ai.retry.max_retries = 0;
    nutrition_chain(
        &mut settings,
        "stuck",
        local_model(llm, "stuck-1", 120_000),
        300,
    );
    let service = start(&settings, Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);
    let stuck = client.submit_ok(&nutrition(70.0)).await;
    eventually("the job to be running", || async {
        client.get(&format!("/v1/jobs/{stuck}")).await.first()["status"] == "running"
    })
    .await;
    let cancelled = client
        .post_json(&format!("/v1/jobs/{stuck}/cancel"), &json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let next = client.submit_ok(&example("motivation")).await;
    let done = client.wait_terminal(&next).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let job = client
        .get(&format!("/v1/jobs/{stuck}"))
        .await
        .first()
        .clone();
    assert_eq!(job["status"], "cancelled", "{job}");
    assert!(
        job["output"].is_null() && job["provider"].is_null(),
        "nothing written: {job}"
    );
    assert_eq!(job["trace"], json!([]), "{job}");
    service.stop().await;
}

/// A model that answers every request at once and records how many it was asked at the same
/// time.
#[derive(Default)]
struct Overlap {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

async fn answer_counting(
    State(state): State<Arc<Overlap>>,
    Json(request): Json<Value>,
) -> Response {
    use std::sync::atomic::Ordering::SeqCst;
    let now = state.now.fetch_add(1, SeqCst) + 1;
    state.most.fetch_max(now, SeqCst);
    // Yields once, so a request that overlaps another is seen doing so.
    tokio::task::yield_now().await;
    let content = good_answer(&request).to_string();
    state.now.fetch_sub(1, SeqCst);
    completion(content, "stop")
}

/// A worker claims ahead of its free slots in a backlog of quick jobs (those ending while a
/// claim is in flight), and the jobs claimed ahead wait for a slot: never more executions at
/// once than `worker.concurrency`, every job answered once by the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_claimed_ahead_wait_for_a_slot() {
    use futures::StreamExt as _;
    let state = Arc::new(Overlap::default());
    let llm = serve_llm(
        axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(answer_counting))
            .with_state(state.clone()),
    )
    .await;

    let dir = TempDir::new();
    let mut settings: Settings = embedded_settings(&dir);
    settings.worker.concurrency = 3;
    settings.ai.retry.max_retries = 0;
    nutrition_chain(
        &mut settings,
        "quick",
        local_model(llm, "quick-1", 10_000),
        60,
    );
    let service = start(&settings, Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let client = Client::new(&service, &key);
    let bodies: Vec<Value> = (0..150)
        .map(|i| nutrition(50.0 + f64::from(i % 60)))
        .collect();
    let ids: Vec<String> = futures::stream::iter(&bodies)
        .map(|body| client.submit_ok(body))
        .buffer_unordered(25)
        .collect()
        .await;
    for id in &ids {
        let job = client.wait_terminal(id).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["model"], "quick", "answered by the model: {job}");
        assert_eq!(job["trace"].as_array().map(Vec::len), Some(1), "{job}");
    }
    let most = state.most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (2..=3).contains(&most),
        "at most 3 model calls at once with 3 slots (and more than one): {most}"
    );
    service.stop().await;
}
