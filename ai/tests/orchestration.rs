//! The orchestrator against a local OpenAI-compatible server that the tests script: one test
//! per failure mode real providers show, each asserting the exact sequence of attempts and the
//! final provider. No real network; time is controlled, never slept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sparta_ai::*;
use tokio::time::Instant;

/// One scripted answer of the fake server.
#[derive(Clone, Debug)]
enum Reply {
    /// A chat completion with this content and finish reason.
    Chat {
        content: String,
        finish: &'static str,
        usage: (u64, u64),
    },
    /// A refusal.
    Refusal,
    /// Any status and body, with an optional `Retry-After`.
    Status {
        status: u16,
        body: String,
        retry_after: Option<&'static str>,
    },
    /// Never answers.
    Hang,
}

fn chat(content: Value) -> Reply {
    Reply::Chat {
        content: content.to_string(),
        finish: "stop",
        usage: (100, 20),
    }
}

fn status(status: u16, body: &str) -> Reply {
    Reply::Status {
        status,
        body: body.to_owned(),
        retry_after: None,
    }
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<(HeaderMap, Value)>>,
}

async fn completions(
    State(script): State<Arc<Script>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    script.requests.lock().unwrap().push((headers, body));
    let reply = script.replies.lock().unwrap().pop_front();
    match reply {
        Some(Reply::Chat { content, finish, usage }) => axum::Json(json!({
            "id": "cmpl-1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
            "usage": {"prompt_tokens": usage.0, "completion_tokens": usage.1, "total_tokens": usage.0 + usage.1}
        }))
        .into_response(),
        Some(Reply::Refusal) => axum::Json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}]
        }))
        .into_response(),
        Some(Reply::Status { status, body, retry_after }) => {
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            if let Some(after) = retry_after {
                response.headers_mut().insert("retry-after", after.parse().unwrap());
            }
            response
        }
        Some(Reply::Hang) => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "script exhausted").into_response(),
    }
}

/// A scripted OpenAI-compatible server on a free local port.
struct FakeServer {
    base_url: String,
    script: Arc<Script>,
}

impl FakeServer {
    async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Script {
            replies: Mutex::new(replies.into()),
            requests: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(completions))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base_url: format!("http://{addr}/v1"),
            script,
        }
    }

    fn push(&self, replies: Vec<Reply>) {
        self.script.replies.lock().unwrap().extend(replies);
    }

    fn requests(&self) -> Vec<Value> {
        self.script
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn headers(&self, i: usize) -> HeaderMap {
        self.script.requests.lock().unwrap()[i].0.clone()
    }
}

/// A clock the test moves: `sleep` returns at once and records how long it was asked to wait.
#[derive(Default)]
struct ManualClock {
    base: Option<std::time::Instant>,
    offset_ms: AtomicU64,
    slept: Mutex<Vec<Duration>>,
}

impl ManualClock {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Some(std::time::Instant::now()),
            ..Self::default()
        })
    }
    fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
    fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> std::time::Instant {
        self.base.unwrap() + Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }
    async fn sleep(&self, duration: Duration) {
        self.slept.lock().unwrap().push(duration);
        self.advance(duration);
    }
}

/// A question whose builtin answer is `{"n": 2, "label": "engine"}` and whose domain rule is
/// "n is never 7".
struct Question;

impl sparta_ai::Question for Question {
    fn builtin_answer(&self) -> Result<Value, String> {
        Ok(json!({"n": 2, "label": "engine"}))
    }
    fn check(&self, answer: &Value) -> Vec<Violation> {
        if answer["n"] == 7 {
            vec![Violation {
                path: "/n".into(),
                message: "7 is not allowed".into(),
            }]
        } else {
            Vec::new()
        }
    }
    fn prompt_context(&self) -> Value {
        json!({"athlete": {"note": "free text"}})
    }
}

fn valid() -> Value {
    json!({"n": 4, "label": "llm"})
}

fn task(cache: bool) -> Task {
    let schema = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["n", "label"],
        "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 10}, "label": {"type": "string", "maxLength": 20}}
    });
    let prompt = PromptTemplate::compile(
        "prompts/test",
        "You are a strength coach.".into(),
        "<<<DATA\n{{ input | data }}\nDATA>>>".into(),
    )
    .unwrap();
    let task = Task::new("test", schema, vec!["llm".into(), BUILTIN.into()])
        .unwrap()
        .with_prompt(Arc::new(prompt));
    if cache {
        task.with_cache_ttl(Duration::from_secs(60))
    } else {
        task
    }
}

struct Setup {
    server: FakeServer,
    clock: Arc<ManualClock>,
    orchestrator: Orchestrator,
}

async fn setup(
    replies: Vec<Reply>,
    mode: OutputMode,
    retries: u32,
    breaker: BreakerConfig,
) -> Setup {
    let server = FakeServer::start(replies).await;
    let clock = ManualClock::new();
    let provider =
        OpenAiProvider::new(&server.base_url, "test-key", Duration::from_secs(5)).unwrap();
    let mut spec = ModelSpec::new(
        Arc::new(provider),
        "test-model",
        mode,
        Duration::from_millis(300),
    );
    spec.price_input_per_mtok = 1_000.0;
    spec.price_output_per_mtok = 2_000.0;
    let orchestrator = Orchestrator::new()
        .with_retry(RetryPolicy {
            max_retries: retries,
            ..RetryPolicy::default()
        })
        .with_breaker(breaker)
        .with_clock(clock.clone())
        .with_model("llm", spec);
    Setup {
        server,
        clock,
        orchestrator,
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// The sequence of (model, outcome tag) of a run.
fn sequence(attempts: &[Attempt]) -> Vec<(String, String)> {
    attempts
        .iter()
        .map(|a| {
            let tag = serde_json::to_value(&a.outcome).unwrap()["outcome"]
                .as_str()
                .unwrap()
                .to_owned();
            (a.model.clone(), tag)
        })
        .collect()
}

fn seq(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(m, o)| (m.to_string(), o.to_string()))
        .collect()
}

async fn run(s: &Setup, task: &Task) -> Result<Answer, AiError> {
    s.orchestrator.run(task, &Question, deadline()).await
}

#[tokio::test]
async fn a_429_with_retry_after_is_honoured() {
    let s = setup(
        vec![
            Reply::Status {
                status: 429,
                body: "slow down".into(),
                retry_after: Some("2"),
            },
            chat(valid()),
        ],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[("llm", "provider_error"), ("llm", "succeeded")])
    );
    assert_eq!(
        s.clock.slept(),
        vec![Duration::from_secs(2)],
        "waited exactly Retry-After"
    );
    assert_eq!(answer.provider, "openai");
    assert_eq!(answer.output, valid());
    assert!(answer.prompt_version.is_some());
}

#[tokio::test]
async fn a_retry_after_over_the_cap_reschedules_the_job() {
    let s = setup(
        vec![Reply::Status {
            status: 429,
            body: "{}".into(),
            retry_after: Some("120"),
        }],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    match run(&s, &task(false)).await {
        Err(AiError::RetryLater { after, attempts }) => {
            assert_eq!(after, Duration::from_secs(120));
            assert_eq!(sequence(&attempts), seq(&[("llm", "provider_error")]));
        }
        other => panic!("expected RetryLater, got {other:?}"),
    }
    assert!(
        s.clock.slept().is_empty(),
        "no worker holds for a long Retry-After"
    );
}

#[tokio::test]
async fn a_500_then_success_retries_the_same_model_with_backoff() {
    let s = setup(
        vec![status(500, "boom"), chat(valid())],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[("llm", "provider_error"), ("llm", "succeeded")])
    );
    let slept = s.clock.slept();
    assert_eq!(slept.len(), 1);
    assert!(
        slept[0] >= Duration::from_millis(250) && slept[0] <= Duration::from_millis(500),
        "{slept:?}"
    );
    match &answer.attempts[0].outcome {
        AttemptOutcome::ProviderError { class, status, .. } => {
            assert_eq!(*class, ErrorClass::Transient);
            assert_eq!(*status, Some(500));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_hang_times_out_and_moves_to_the_next_model() {
    let s = setup(
        vec![Reply::Hang, Reply::Hang],
        OutputMode::JsonSchema,
        1,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[
            ("llm", "timeout"),
            ("llm", "timeout"),
            ("builtin", "succeeded")
        ])
    );
    assert_eq!(answer.provider, "builtin");
    assert!(answer.attempts[0].latency_ms >= 300 && answer.attempts[0].latency_ms < 2_000);
}

#[tokio::test]
async fn invalid_json_is_repaired_with_the_exact_error() {
    let s = setup(
        vec![
            Reply::Chat {
                content: "{\"n\": 4, ".into(),
                finish: "stop",
                usage: (10, 5),
            },
            chat(valid()),
        ],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[("llm", "unparseable"), ("llm", "succeeded")])
    );
    assert!(answer.attempts[1].repair);
    let repair = &s.server.requests()[1]["messages"];
    let messages = repair.as_array().unwrap();
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(messages[2]["content"], "{\"n\": 4, ");
    assert!(
        messages[3]["content"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{repair}"
    );
}

#[tokio::test]
async fn schema_invalid_twice_moves_to_the_next_model_quoting_paths() {
    let s = setup(
        vec![
            chat(json!({"n": "four", "label": "x"})),
            chat(json!({"n": 7, "label": "x"})),
        ],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[
            ("llm", "invalid"),
            ("llm", "invalid"),
            ("builtin", "succeeded")
        ])
    );
    let requests = s.server.requests();
    let repair_text = requests[1]["messages"][3]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(repair_text.contains("/n"), "{repair_text}");
    match &answer.attempts[1].outcome {
        AttemptOutcome::Invalid { violations } => {
            assert_eq!(violations[0].message, "7 is not allowed")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn truncation_moves_to_the_next_model_without_a_re_ask() {
    let s = setup(
        vec![Reply::Chat {
            content: valid().to_string(),
            finish: "length",
            usage: (10, 5),
        }],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[("llm", "truncated"), ("builtin", "succeeded")])
    );
    assert_eq!(s.server.requests().len(), 1);
}

#[tokio::test]
async fn a_refusal_moves_to_the_next_model() {
    let s = setup(
        vec![Reply::Refusal],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[("llm", "refused"), ("builtin", "succeeded")])
    );
}

#[tokio::test]
async fn a_rejected_json_schema_mode_is_downgraded_and_remembered() {
    let s = setup(
        vec![
            status(400, r#"{"error":{"message":"response_format.type 'json_schema' is not supported by this server"}}"#),
            chat(valid()),
            chat(valid()),
        ],
        OutputMode::JsonSchema, 2, BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[("llm", "provider_error"), ("llm", "succeeded")])
    );
    assert_eq!(answer.attempts[0].mode, OutputMode::JsonSchema);
    assert_eq!(answer.attempts[1].mode, OutputMode::JsonObject);
    let requests = s.server.requests();
    assert_eq!(requests[0]["response_format"]["type"], "json_schema");
    assert_eq!(
        requests[0]["response_format"]["json_schema"]["strict"],
        true
    );
    assert_eq!(requests[1]["response_format"]["type"], "json_object");
    assert!(
        requests[1]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("JSON Schema"),
        "schema moves into the prompt"
    );
    assert_eq!(
        s.orchestrator.output_mode("llm"),
        Some(OutputMode::JsonObject)
    );
    // The next job starts in the downgraded mode.
    run(&s, &task(false)).await.unwrap();
    assert_eq!(
        s.server.requests()[2]["response_format"]["type"],
        "json_object"
    );
}

#[tokio::test]
async fn a_401_moves_to_the_next_model() {
    let s = setup(
        vec![status(401, r#"{"error":{"message":"bad key"}}"#)],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[("llm", "provider_error"), ("builtin", "succeeded")])
    );
    assert!(
        s.clock.slept().is_empty(),
        "permanent errors are not retried"
    );
}

#[tokio::test]
async fn when_everything_fails_the_builtin_engine_answers() {
    let s = setup(
        vec![
            status(503, "down"),
            status(502, "down"),
            status(500, "down"),
        ],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[
            ("llm", "provider_error"),
            ("llm", "provider_error"),
            ("llm", "provider_error"),
            ("builtin", "succeeded")
        ])
    );
    assert_eq!(answer.output, json!({"n": 2, "label": "engine"}));
    assert_eq!(answer.prompt_version, None, "the engine uses no prompt");
}

#[tokio::test]
async fn llama_server_dialects_are_understood() {
    let s = setup(
        vec![
            // llama-server's error body has an integer code async-openai cannot parse.
            status(
                503,
                r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#,
            ),
            Reply::Chat {
                content: format!("```json\n{}\n```", valid()),
                finish: "eos_token",
                usage: (7, 3),
            },
        ],
        OutputMode::JsonObject,
        2,
        BreakerConfig::default(),
    )
    .await;
    let answer = run(&s, &task(false)).await.unwrap();
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[("llm", "provider_error"), ("llm", "succeeded")])
    );
    match &answer.attempts[0].outcome {
        AttemptOutcome::ProviderError { status, class, .. } => {
            assert_eq!(*status, Some(503));
            assert_eq!(*class, ErrorClass::Transient);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn requests_carry_the_configured_key_and_model_only() {
    let s = setup(
        vec![chat(valid())],
        OutputMode::JsonSchema,
        0,
        BreakerConfig::default(),
    )
    .await;
    run(&s, &task(false)).await.unwrap();
    let headers = s.server.headers(0);
    assert_eq!(headers["authorization"], "Bearer test-key");
    assert!(headers.get("openai-organization").is_none());
    assert!(headers.get("openai-project").is_none());
    let body = &s.server.requests()[0];
    assert_eq!(body["model"], "test-model");
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.starts_with("<<<DATA") && user.ends_with("DATA>>>"),
        "user data is fenced: {user}"
    );
}

#[tokio::test]
async fn usage_and_cost_are_summed_over_every_attempt_and_a_cache_hit_is_free() {
    let s = setup(
        vec![
            Reply::Chat {
                content: "nope".into(),
                finish: "stop",
                usage: (100, 10),
            },
            Reply::Chat {
                content: valid().to_string(),
                finish: "stop",
                usage: (50, 5),
            },
        ],
        OutputMode::JsonSchema,
        2,
        BreakerConfig::default(),
    )
    .await;
    let cached_task = task(true);
    let answer = run(&s, &cached_task).await.unwrap();
    assert_eq!(answer.usage.input_tokens, 150);
    assert_eq!(answer.usage.output_tokens, 15);
    // 150 × $1000/M + 15 × $2000/M = $0.15 + $0.03
    assert!(
        (answer.usage.cost_usd - 0.18).abs() < 1e-9,
        "{:?}",
        answer.usage
    );
    assert!((answer.attempts[0].usage.cost_usd - 0.12).abs() < 1e-9);

    let again = run(&s, &cached_task).await.unwrap();
    assert_eq!(sequence(&again.attempts), seq(&[("llm", "cache_hit")]));
    assert_eq!(again.usage, Usage::default());
    assert_eq!(again.output, valid());
    assert_eq!(again.provider, "openai");
    assert_eq!(s.server.requests().len(), 2, "the hit made no call");
}

fn tight_breaker() -> BreakerConfig {
    BreakerConfig {
        consecutive_failures: 2,
        failure_rate: 1.0,
        min_calls: 100,
        window: Duration::from_secs(60),
        cooldown: Duration::from_secs(30),
    }
}

#[tokio::test]
async fn the_breaker_opens_skips_probes_once_and_closes() {
    let s = setup(
        vec![status(500, "x"), status(500, "x")],
        OutputMode::JsonSchema,
        0,
        tight_breaker(),
    )
    .await;
    let t = task(false);
    run(&s, &t).await.unwrap();
    assert_eq!(
        s.orchestrator.breaker_state("llm"),
        Some(BreakerState::Closed)
    );
    run(&s, &t).await.unwrap();
    assert_eq!(
        s.orchestrator.breaker_state("llm"),
        Some(BreakerState::Open)
    );

    // Open: skipped without a call.
    let skipped = run(&s, &t).await.unwrap();
    assert_eq!(
        sequence(&skipped.attempts),
        seq(&[("llm", "skipped_open_circuit"), ("builtin", "succeeded")])
    );
    assert_eq!(s.server.requests().len(), 2);

    // After the cooldown exactly one probe goes through; its success closes the breaker.
    s.clock.advance(Duration::from_secs(30));
    assert_eq!(
        s.orchestrator.breaker_state("llm"),
        Some(BreakerState::HalfOpen)
    );
    s.server.push(vec![chat(valid())]);
    let probe = run(&s, &t).await.unwrap();
    assert_eq!(sequence(&probe.attempts), seq(&[("llm", "succeeded")]));
    assert_eq!(
        s.orchestrator.breaker_state("llm"),
        Some(BreakerState::Closed)
    );
}

#[tokio::test]
async fn a_failed_probe_reopens_the_breaker() {
    let s = setup(
        vec![status(500, "x"), status(500, "x")],
        OutputMode::JsonSchema,
        0,
        tight_breaker(),
    )
    .await;
    let t = task(false);
    run(&s, &t).await.unwrap();
    run(&s, &t).await.unwrap();
    s.clock.advance(Duration::from_secs(31));
    s.server.push(vec![status(503, "still down")]);
    let probe = run(&s, &t).await.unwrap();
    assert_eq!(
        sequence(&probe.attempts),
        seq(&[("llm", "provider_error"), ("builtin", "succeeded")])
    );
    assert_eq!(
        s.orchestrator.breaker_state("llm"),
        Some(BreakerState::Open)
    );
    let skipped = run(&s, &t).await.unwrap();
    assert_eq!(
        skipped.attempts[0].outcome,
        AttemptOutcome::SkippedOpenCircuit
    );
    assert_eq!(s.server.requests().len(), 3);
}

#[tokio::test]
async fn no_attempt_outlives_the_deadline_and_the_engine_still_answers() {
    let s = setup(
        vec![Reply::Hang],
        OutputMode::JsonSchema,
        3,
        BreakerConfig::default(),
    )
    .await;
    let started = Instant::now();
    let answer = s
        .orchestrator
        .run(
            &task(false),
            &Question,
            Instant::now() + Duration::from_millis(150),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1_000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        sequence(&answer.attempts),
        seq(&[("llm", "timeout"), ("builtin", "succeeded")])
    );
    assert!(
        answer.attempts[0].latency_ms < 300,
        "cut by the deadline, not the 300 ms model timeout"
    );
}
