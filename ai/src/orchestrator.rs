//! The orchestrator: walks a task's chain of models under one policy and keeps the first
//! validated answer.
//!
//! For each model of the chain: cache → circuit breaker → attempt (its timeout derived from the
//! job's deadline) → parse → JSON Schema → domain checks. Then, by what went wrong:
//! - transient (timeout, connect, 429, 5xx): the same model again after exponential backoff
//!   with jitter, or the server's `Retry-After` when it sent one; a `Retry-After` beyond the cap
//!   ends the run with [`AiError::RetryLater`] so the job is rescheduled, not waited for;
//! - bad output (unparseable, schema-invalid, domain-invalid): one repair re-ask quoting the
//!   exact violations with their paths, then the next model;
//! - truncated (`length`) or refused: the next model, no re-ask;
//! - the structured-output mode refused (4xx): the mode is downgraded for that model, for good,
//!   and the attempt repeated;
//! - permanent (401, unknown model, other 4xx): the next model.
//!
//! Every attempt, skipped or cached ones included, is recorded with its latency, outcome,
//! tokens and cost.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng as _;
use serde::Serialize;
use tokio::time::Instant;

use crate::AiError;
use crate::breaker::{Admission, Breaker, BreakerConfig, BreakerState};
use crate::cache::{CachedAnswer, ResponseCache};
use crate::providers::{
    BuiltinProvider, CompletionRequest, ErrorClass, FinishReason, Message, OutputMode, Provider,
    Role,
};
use crate::task::{Question, Task, Violation};

/// Tokens and money spent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// US dollars.
    pub cost_usd: f64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_usd += other.cost_usd;
    }
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// A validated answer.
    Succeeded,
    /// A validated answer from the response cache: no call, no tokens.
    CacheHit,
    /// The model's circuit breaker is open: skipped without a call.
    SkippedOpenCircuit,
    /// The provider failed.
    ProviderError {
        /// How the failure is handled.
        class: ErrorClass,
        /// The HTTP status, if any.
        status: Option<u16>,
        /// What it said.
        message: String,
    },
    /// No answer within the attempt's time.
    Timeout,
    /// Cut off at the token limit.
    Truncated,
    /// The model refused.
    Refused,
    /// The answer was not JSON.
    Unparseable {
        /// The parser's message.
        message: String,
    },
    /// The answer broke the schema or the domain rules.
    Invalid {
        /// Every violation, with its path.
        violations: Vec<Violation>,
    },
}

/// The record of one attempt, stored in the job's trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attempt {
    /// Provider name.
    pub provider: String,
    /// Model name (as configured in the chain).
    pub model: String,
    /// The structured-output mode used.
    pub mode: OutputMode,
    /// True for a repair re-ask.
    pub repair: bool,
    /// Wall time of the call.
    pub latency_ms: u64,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: AttemptOutcome,
    /// Tokens and cost of this call.
    pub usage: Usage,
}

/// A validated answer and how it was obtained.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The answer, valid against the task's schema and the question's checks.
    pub output: serde_json::Value,
    /// The provider that produced it.
    pub provider: String,
    /// The model that produced it.
    pub model: String,
    /// The prompt version used (none for the builtin provider).
    pub prompt_version: Option<String>,
    /// Summed over every attempt, failed ones included.
    pub usage: Usage,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

/// A model the orchestrator can call, as configured.
#[derive(Clone)]
pub struct ModelSpec {
    /// The provider serving it.
    pub provider: Arc<dyn Provider>,
    /// The provider's model id.
    pub model_id: String,
    /// The structured-output mode to start with.
    pub mode: OutputMode,
    /// The longest single attempt (the job's deadline may cut it shorter).
    pub timeout: Duration,
    /// Largest answer, in tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// US dollars per million prompt tokens.
    pub price_input_per_mtok: f64,
    /// US dollars per million completion tokens.
    pub price_output_per_mtok: f64,
}

impl ModelSpec {
    /// A spec with no price, no token limit and the provider's default temperature.
    pub fn new(
        provider: Arc<dyn Provider>,
        model_id: impl Into<String>,
        mode: OutputMode,
        timeout: Duration,
    ) -> Self {
        Self {
            provider,
            model_id: model_id.into(),
            mode,
            timeout,
            max_tokens: None,
            temperature: None,
            price_input_per_mtok: 0.0,
            price_output_per_mtok: 0.0,
        }
    }

    fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.price_input_per_mtok
            + output_tokens as f64 * self.price_output_per_mtok)
            / 1_000_000.0
    }
}

/// Retries of transient failures on one model.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles per retry.
    pub base: Duration,
    /// Longest backoff.
    pub max: Duration,
    /// Longest `Retry-After` waited for; a longer one reschedules the job.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base: Duration::from_millis(500),
            max: Duration::from_secs(8),
            retry_after_cap: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Backoff before retry `n` (1-based): `base · 2^(n-1)` capped, with full jitter in its
    /// upper half so retries of many jobs spread out.
    fn backoff(&self, n: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << n.saturating_sub(1).min(16))
            .min(self.max);
        let half = exp / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }
}

/// The passage of time, as the orchestrator sees it: real in production, controlled in tests
/// (breaker cooldowns and backoff are asserted, never slept through).
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> std::time::Instant;
    /// Waits `duration`.
    async fn sleep(&self, duration: Duration);
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> std::time::Instant {
        std::time::Instant::now()
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A model with its live state.
struct Model {
    spec: ModelSpec,
    /// The current structured-output mode (downgraded for good when a server refuses one).
    mode: AtomicU8,
    breaker: Breaker,
}

impl Model {
    fn mode(&self) -> OutputMode {
        OutputMode::from_u8(self.mode.load(Ordering::Relaxed))
    }

    /// The record of an attempt that made no call (cache hit, open breaker).
    fn no_call(&self, name: &str, outcome: AttemptOutcome) -> Attempt {
        Attempt {
            provider: self.spec.provider.name().to_owned(),
            model: name.to_owned(),
            mode: self.mode(),
            repair: false,
            latency_ms: 0,
            outcome,
            usage: Usage::default(),
        }
    }
}

/// Runs tasks over a set of named models.
pub struct Orchestrator {
    models: HashMap<String, Model>,
    retry: RetryPolicy,
    breaker: BreakerConfig,
    clock: Arc<dyn Clock>,
    cache: ResponseCache,
}

impl Default for Orchestrator {
    fn default() -> Self {
        Self::new()
    }
}

/// The name of the always-present engine model.
pub const BUILTIN: &str = "builtin";

impl Orchestrator {
    /// An orchestrator that knows the `builtin` model, with default policies and the real clock.
    pub fn new() -> Self {
        let mut orchestrator = Self {
            models: HashMap::new(),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            clock: Arc::new(SystemClock),
            cache: ResponseCache::default(),
        };
        orchestrator.add_model(
            BUILTIN,
            ModelSpec::new(
                Arc::new(BuiltinProvider),
                "coach-engine",
                OutputMode::PromptOnly,
                Duration::from_secs(10),
            ),
        );
        orchestrator
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the breaker configuration (for models added afterwards).
    pub fn with_breaker(mut self, breaker: BreakerConfig) -> Self {
        self.breaker = breaker;
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds (or replaces) a model under `name`.
    pub fn add_model(&mut self, name: impl Into<String>, spec: ModelSpec) {
        let name = name.into();
        let mode = AtomicU8::new(spec.mode.as_u8());
        let breaker = Breaker::new(self.breaker.clone(), name.clone());
        self.models.insert(
            name,
            Model {
                spec,
                mode,
                breaker,
            },
        );
    }

    /// Adds a model, builder style.
    pub fn with_model(mut self, name: impl Into<String>, spec: ModelSpec) -> Self {
        self.add_model(name, spec);
        self
    }

    /// The breaker state of a model, for metrics (`None` for an unknown model).
    pub fn breaker_state(&self, model: &str) -> Option<BreakerState> {
        self.models
            .get(model)
            .map(|m| m.breaker.state(self.clock.now()))
    }

    /// The current structured-output mode of a model.
    pub fn output_mode(&self, model: &str) -> Option<OutputMode> {
        self.models.get(model).map(Model::mode)
    }

    /// Checks that every model of `task`'s chain exists and that LLM models have a prompt
    /// (at startup, not per job).
    pub fn check(&self, task: &Task) -> Result<(), AiError> {
        for name in task.chain() {
            let Some(model) = self.models.get(name) else {
                return Err(AiError::UnknownModel {
                    task: task.name().to_owned(),
                    model: name.clone(),
                });
            };
            if name != BUILTIN && task.prompt().is_none() {
                return Err(AiError::InvalidTemplate {
                    file: format!("prompts/{}", task.name()),
                    line: None,
                    reason: format!(
                        "model '{name}' ({}) needs a prompt template",
                        model.spec.model_id
                    ),
                });
            }
        }
        Ok(())
    }

    /// Answers `question` with the first model of the chain whose answer validates, before
    /// `deadline`. No attempt outlives the deadline.
    pub async fn run(
        &self,
        task: &Task,
        question: &dyn Question,
        deadline: Instant,
    ) -> Result<Answer, AiError> {
        self.check(task)?;
        let mut run = Run {
            orchestrator: self,
            task,
            question,
            deadline,
            attempts: Vec::new(),
            usage: Usage::default(),
            context: None,
        };
        for name in task.chain() {
            let Some(model) = self.models.get(name) else {
                continue;
            };
            match run.try_model(name, model).await? {
                Some(answer) => return Ok(answer),
                None => continue,
            }
        }
        if Instant::now() >= deadline {
            Err(AiError::DeadlineExceeded {
                attempts: run.attempts,
            })
        } else {
            Err(AiError::Exhausted {
                attempts: run.attempts,
            })
        }
    }
}

/// One `Orchestrator::run` in progress.
struct Run<'a> {
    orchestrator: &'a Orchestrator,
    task: &'a Task,
    question: &'a dyn Question,
    deadline: Instant,
    attempts: Vec<Attempt>,
    usage: Usage,
    /// The question's JSON, computed once.
    context: Option<serde_json::Value>,
}

/// What one call produced, before the policy acts on it.
enum Verdict {
    Valid(serde_json::Value),
    Transient(Option<Duration>),
    ModeRejected,
    Permanent,
    NextModel,
    BadOutput {
        content: String,
        violations: Vec<Violation>,
    },
}

impl Run<'_> {
    fn context(&mut self) -> serde_json::Value {
        self.context
            .get_or_insert_with(|| self.question.prompt_context())
            .clone()
    }

    /// Records an attempt of `model` and adds its usage to the run's.
    fn record(&mut self, attempt: Attempt) {
        crate::metrics::attempt(&attempt);
        self.usage += attempt.usage;
        tracing::debug!(
            task = self.task.name(),
            model = attempt.model,
            latency_ms = attempt.latency_ms,
            outcome = ?attempt.outcome,
            "llm attempt"
        );
        self.attempts.push(attempt);
    }

    fn answer(&mut self, model_name: &str, model: &Model, output: serde_json::Value) -> Answer {
        Answer {
            output,
            provider: model.spec.provider.name().to_owned(),
            model: model_name.to_owned(),
            prompt_version: (model_name != BUILTIN)
                .then(|| self.task.prompt_version().map(str::to_owned))
                .flatten(),
            usage: self.usage,
            attempts: std::mem::take(&mut self.attempts),
        }
    }

    /// The conversation start for `mode`: the template's parts, plus the schema in the prompt
    /// when the mode does not carry it.
    fn messages(&mut self, mode: OutputMode) -> Result<Vec<Message>, AiError> {
        let Some(prompt) = self.task.prompt() else {
            return Ok(Vec::new());
        };
        let rendered = prompt.render(&serde_json::json!({ "input": self.context() }))?;
        let mut system = rendered.system;
        if mode != OutputMode::JsonSchema {
            system.push_str(
                "\n\nAnswer with one JSON object and nothing else. It must satisfy this JSON Schema:\n",
            );
            system.push_str(&self.task.schema().to_string());
        }
        Ok(vec![
            Message {
                role: Role::System,
                content: system,
            },
            Message {
                role: Role::User,
                content: rendered.user,
            },
        ])
    }

    /// Tries one model; `Ok(None)` moves on to the next.
    async fn try_model(&mut self, name: &str, model: &Model) -> Result<Option<Answer>, AiError> {
        let orchestrator = self.orchestrator;
        let is_builtin = name == BUILTIN;
        let cache_key = match (self.task.cache_ttl(), is_builtin) {
            (Some(_), false) => Some(ResponseCache::key(
                self.task.name(),
                self.task.prompt_version().unwrap_or_default(),
                name,
                &self.context(),
            )),
            _ => None,
        };
        let cached = cache_key
            .as_ref()
            .map(|key| orchestrator.cache.get(key, orchestrator.clock.now()));
        if let Some(cached) = &cached {
            crate::metrics::cache_lookup(cached.is_some());
        }
        if let Some(Some(hit)) = cached {
            self.record(model.no_call(name, AttemptOutcome::CacheHit));
            let mut answer = self.answer(name, model, hit.output);
            answer.provider = hit.provider;
            return Ok(Some(answer));
        }
        if model.breaker.admit(orchestrator.clock.now()) == Admission::Rejected {
            self.record(model.no_call(name, AttemptOutcome::SkippedOpenCircuit));
            return Ok(None);
        }
        let mut mode = model.mode();
        let mut messages = if is_builtin {
            Vec::new()
        } else {
            self.messages(mode)?
        };
        let mut retries = 0u32;
        let mut repair = false;
        loop {
            let now = Instant::now();
            // The engine answers locally in microseconds: it runs even past the deadline, so a
            // job whose LLM attempts used up its time still gets an answer.
            let budget = match self.deadline.checked_duration_since(now) {
                Some(left) if !left.is_zero() => model.spec.timeout.min(left),
                _ if is_builtin => model.spec.timeout,
                _ => return Ok(None),
            };
            let request = CompletionRequest {
                model: &model.spec.model_id,
                messages: &messages,
                schema: self.task.schema(),
                schema_name: self.task.name(),
                mode,
                max_tokens: model.spec.max_tokens,
                temperature: model.spec.temperature,
                question: self.question,
            };
            let started = Instant::now();
            let reply = tokio::time::timeout(budget, model.spec.provider.complete(&request)).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let mut usage = Usage::default();
            let (outcome, verdict) = match reply {
                Err(_) => (AttemptOutcome::Timeout, Verdict::Transient(None)),
                Ok(Err(e)) => {
                    let verdict = match e.class {
                        ErrorClass::Transient => Verdict::Transient(e.retry_after),
                        ErrorClass::ModeRejected => Verdict::ModeRejected,
                        ErrorClass::Permanent => Verdict::Permanent,
                    };
                    (
                        AttemptOutcome::ProviderError {
                            class: e.class,
                            status: e.status,
                            message: e.message,
                        },
                        verdict,
                    )
                }
                Ok(Ok(response)) => {
                    usage = Usage {
                        input_tokens: response.input_tokens,
                        output_tokens: response.output_tokens,
                        cost_usd: model
                            .spec
                            .cost(response.input_tokens, response.output_tokens),
                    };
                    match response.finish {
                        FinishReason::Length => (AttemptOutcome::Truncated, Verdict::NextModel),
                        FinishReason::Refusal => (AttemptOutcome::Refused, Verdict::NextModel),
                        FinishReason::Stop | FinishReason::Other(_) => self.judge(response.content),
                    }
                }
            };
            self.record(Attempt {
                provider: model.spec.provider.name().to_owned(),
                model: name.to_owned(),
                mode,
                repair,
                latency_ms,
                outcome,
                usage,
            });
            let now = orchestrator.clock.now();
            match verdict {
                Verdict::Valid(output) => {
                    model.breaker.success(now);
                    if let (Some(key), Some(ttl)) = (cache_key, self.task.cache_ttl()) {
                        let cached = CachedAnswer {
                            output: output.clone(),
                            provider: model.spec.provider.name().to_owned(),
                        };
                        orchestrator.cache.put(key, cached, ttl, now);
                    }
                    return Ok(Some(self.answer(name, model, output)));
                }
                Verdict::Transient(retry_after) => {
                    if model.breaker.failure(now) || retries >= orchestrator.retry.max_retries {
                        return Ok(None);
                    }
                    retries += 1;
                    let delay = match retry_after {
                        Some(after) if after > orchestrator.retry.retry_after_cap => {
                            return Err(AiError::RetryLater {
                                after,
                                attempts: std::mem::take(&mut self.attempts),
                            });
                        }
                        Some(after) => after,
                        None => orchestrator.retry.backoff(retries),
                    };
                    if Instant::now() + delay >= self.deadline {
                        return Ok(None);
                    }
                    orchestrator.clock.sleep(delay).await;
                }
                Verdict::ModeRejected => match mode.downgraded() {
                    Some(next) => {
                        // Remembered for every later job: the server will refuse it again.
                        model.mode.store(next.as_u8(), Ordering::Relaxed);
                        tracing::warn!(model = name, from = ?mode, to = ?next, "structured-output mode refused; downgraded");
                        mode = next;
                        messages = self.messages(mode)?;
                    }
                    None => {
                        model.breaker.failure(now);
                        return Ok(None);
                    }
                },
                Verdict::Permanent => {
                    model.breaker.failure(now);
                    return Ok(None);
                }
                Verdict::NextModel => {
                    // The server works; the model could not answer this question.
                    model.breaker.success(now);
                    return Ok(None);
                }
                Verdict::BadOutput {
                    content,
                    violations,
                } => {
                    model.breaker.success(now);
                    if repair || is_builtin {
                        return Ok(None);
                    }
                    repair = true;
                    messages.push(Message {
                        role: Role::Assistant,
                        content,
                    });
                    messages.push(Message {
                        role: Role::User,
                        content: repair_request(&violations),
                    });
                }
            }
        }
    }

    /// Parses and validates an answer: the schema first, then the domain rules.
    fn judge(&self, content: String) -> (AttemptOutcome, Verdict) {
        let value = match parse_answer(&content) {
            Ok(value) => value,
            Err(message) => {
                let violations = vec![Violation {
                    path: String::new(),
                    message: message.clone(),
                }];
                return (
                    AttemptOutcome::Unparseable { message },
                    Verdict::BadOutput {
                        content,
                        violations,
                    },
                );
            }
        };
        let mut violations = self.task.schema_violations(&value);
        if violations.is_empty() {
            violations = self.question.check(&value);
        }
        if violations.is_empty() {
            (AttemptOutcome::Succeeded, Verdict::Valid(value))
        } else {
            (
                AttemptOutcome::Invalid {
                    violations: violations.clone(),
                },
                Verdict::BadOutput {
                    content,
                    violations,
                },
            )
        }
    }
}

/// The repair re-ask: every violation with its JSON path, verbatim.
fn repair_request(violations: &[Violation]) -> String {
    let mut text = String::from(
        "Your answer was rejected. Fix exactly these problems and answer again with the whole \
         corrected JSON object and nothing else:\n",
    );
    for v in violations {
        let path = if v.path.is_empty() {
            "(whole answer)"
        } else {
            v.path.as_str()
        };
        text.push_str(&format!("- {path}: {}\n", v.message));
    }
    text
}

/// Reads the JSON object in an answer, tolerating code fences and prose around it.
fn parse_answer(content: &str) -> Result<serde_json::Value, String> {
    let trimmed = content.trim();
    let whole = match serde_json::from_str(trimmed) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    if let (Some(start), Some(end)) = (trimmed.find('{'), trimmed.rfind('}'))
        && start < end
        && let Ok(value) = serde_json::from_str(&trimmed[start..=end])
    {
        return Ok(value);
    }
    // serde's message says where the text stopped being JSON: what a repair needs to quote.
    Err(format!("the answer is not valid JSON: {whole}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fixed(serde_json::Value);

    impl Question for Fixed {
        fn builtin_answer(&self) -> Result<serde_json::Value, String> {
            Ok(self.0.clone())
        }
        fn check(&self, answer: &serde_json::Value) -> Vec<Violation> {
            if answer["n"].as_i64().is_some_and(|n| n > 10) {
                vec![Violation {
                    path: "/n".into(),
                    message: "too big".into(),
                }]
            } else {
                Vec::new()
            }
        }
        fn prompt_context(&self) -> serde_json::Value {
            json!({})
        }
    }

    fn task() -> Task {
        let schema =
            json!({"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}});
        Task::new("t", schema, vec![BUILTIN.into()]).expect("valid schema")
    }

    #[tokio::test]
    async fn builtin_answer_is_validated_and_traced() {
        let answer = Orchestrator::new()
            .run(
                &task(),
                &Fixed(json!({"n": 3})),
                Instant::now() + Duration::from_secs(5),
            )
            .await
            .expect("answer");
        assert_eq!(answer.output, json!({"n": 3}));
        assert_eq!(answer.provider, "builtin");
        assert_eq!(answer.prompt_version, None);
        assert_eq!(answer.attempts.len(), 1);
        assert_eq!(answer.attempts[0].outcome, AttemptOutcome::Succeeded);
    }

    #[tokio::test]
    async fn schema_and_domain_violations_are_reported_with_paths() {
        let orchestrator = Orchestrator::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = orchestrator
            .run(&task(), &Fixed(json!({"n": "x"})), deadline)
            .await
            .expect_err("schema-invalid");
        match &err.attempts()[0].outcome {
            AttemptOutcome::Invalid { violations } => assert_eq!(violations[0].path, "/n"),
            other => panic!("unexpected {other:?}"),
        }
        let err = orchestrator
            .run(&task(), &Fixed(json!({"n": 11})), deadline)
            .await
            .expect_err("domain-invalid");
        assert!(matches!(&err.attempts()[0].outcome,
            AttemptOutcome::Invalid { violations } if violations[0].message == "too big"));
    }

    #[tokio::test]
    async fn unknown_models_and_missing_prompts_are_refused_up_front() {
        let t = Task::new("t", json!({"type": "object"}), vec!["nope".into()]).expect("schema");
        assert!(matches!(
            Orchestrator::new().check(&t),
            Err(AiError::UnknownModel { .. })
        ));
        assert!(Task::new("t", json!({"type": 5}), vec![]).is_err());
        let orchestrator = Orchestrator::new().with_model(
            "llm",
            ModelSpec::new(
                Arc::new(BuiltinProvider),
                "x",
                OutputMode::JsonSchema,
                Duration::from_secs(1),
            ),
        );
        let t = Task::new("t", json!({"type": "object"}), vec!["llm".into()]).expect("schema");
        assert!(matches!(
            orchestrator.check(&t),
            Err(AiError::InvalidTemplate { .. })
        ));
    }

    #[test]
    fn answers_are_read_through_fences_and_prose() {
        assert_eq!(
            parse_answer("```json\n{\"a\":1}\n```").ok(),
            Some(json!({"a": 1}))
        );
        assert_eq!(
            parse_answer("Sure! {\"a\":1} Hope it helps").ok(),
            Some(json!({"a": 1}))
        );
        assert!(parse_answer("no json here").is_err());
    }

    #[test]
    fn backoff_grows_with_jitter_under_the_cap() {
        let policy = RetryPolicy::default();
        for n in 1..10 {
            let d = policy.backoff(n);
            let full = policy.base.saturating_mul(1 << (n - 1)).min(policy.max);
            assert!(d >= full / 2 && d <= full, "{d:?} vs {full:?}");
        }
    }
}
