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
//!
//! The parts live beside it: [`crate::attempt`] (what a run records), [`crate::model`] (the
//! models and their live state), [`crate::retry`] (backoff and the retry policy),
//! [`crate::clock`] (time, controlled in tests) and [`crate::run`] (the run loop).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU8;
use std::time::Duration;

use tokio::time::Instant;

use crate::AiError;
use crate::attempt::{Answer, AttemptOutcome, Usage};
use crate::breaker::{Breaker, BreakerConfig, BreakerState, Forced};
use crate::cache::ResponseCache;
use crate::clock::{Clock, SystemClock};
use crate::metrics::ModelMetrics;
use crate::model::{Model, ModelSpec};
use crate::providers::{BuiltinProvider, OutputMode};
use crate::retry::RetryPolicy;
use crate::run::Run;
use crate::task::{Question, Task};

/// The answer a priced model without `max_tokens` is assumed able to give, in tokens, when its
/// worst case is reserved against a budget.
pub const UNBOUNDED_ANSWER_TOKENS: u64 = 16_384;

/// Runs tasks over a set of named models.
pub struct Orchestrator {
    pub(crate) models: HashMap<String, Model>,
    pub(crate) retry: RetryPolicy,
    pub(crate) breaker: BreakerConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cache: ResponseCache,
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
                metrics: ModelMetrics::default(),
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

    /// Applies the operator's breaker overrides: each model named is forced, every other one
    /// left to its own counts.
    pub fn force_breakers(&self, overrides: &HashMap<String, Forced>) {
        for (name, model) in &self.models {
            model.breaker.force(overrides.get(name).copied());
        }
    }

    /// Every model's breaker state, by model name (for readiness).
    pub fn breaker_states(&self) -> Vec<(String, BreakerState)> {
        let now = self.clock.now();
        let mut states: Vec<(String, BreakerState)> = self
            .models
            .iter()
            .map(|(name, model)| (name.clone(), model.breaker.state(now)))
            .collect();
        states.sort_by(|a, b| a.0.cmp(&b.0));
        states
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
        self.run_within(task, question, deadline, &|_| true).await
    }

    /// The most each priced model of `task`'s chain can cost answering `question`, in chain
    /// order (models without a price cost nothing and are left out): every call the policy
    /// allows it (the first, each retry, a structured-output downgrade and a repair), each with
    /// the whole prompt (counted as one token per byte, more than any tokenizer makes of it)
    /// plus the answer a repair quotes, and a full answer (`max_tokens`, or
    /// [`UNBOUNDED_ANSWER_TOKENS`] for a model without one).
    pub fn worst_case(
        &self,
        task: &Task,
        question: &dyn Question,
    ) -> Result<Vec<(String, f64)>, AiError> {
        let mut run = Run {
            orchestrator: self,
            task,
            question,
            deadline: Instant::now(),
            attempts: Vec::new(),
            usage: Usage::default(),
            context: None,
        };
        let priced: Vec<(&String, &ModelSpec)> = task
            .chain()
            .iter()
            .filter_map(|name| Some((name, &self.models.get(name)?.spec)))
            .filter(|(name, spec)| {
                *name != BUILTIN
                    && (spec.price_input_per_mtok > 0.0 || spec.price_output_per_mtok > 0.0)
            })
            .collect();
        if priced.is_empty() {
            return Ok(Vec::new());
        }
        // The same prompt for every model, rendered once: the longer form, with the schema
        // written into it (as when the mode does not carry it).
        let prompt: u64 = run
            .messages(OutputMode::JsonObject)?
            .iter()
            .map(|m| m.content.len() as u64)
            .sum();
        let calls = u64::from(self.retry.max_retries) + 3;
        let costs = priced
            .into_iter()
            .map(|(name, spec)| {
                let answer = spec.max_tokens.map_or(UNBOUNDED_ANSWER_TOKENS, u64::from);
                let cost = spec.cost(calls * (prompt + answer + 512), calls * answer);
                (name.clone(), cost)
            })
            .collect();
        Ok(costs)
    }

    /// [`Orchestrator::run`] with only the models `admitted` says yes to; the others are
    /// skipped, each with a `budget_exhausted` attempt in the trace.
    pub async fn run_within(
        &self,
        task: &Task,
        question: &dyn Question,
        deadline: Instant,
        admitted: &(dyn Fn(&str) -> bool + Sync),
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
            if !admitted(name) {
                run.record(model, model.no_call(name, AttemptOutcome::BudgetExhausted));
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::AttemptOutcome;
    use crate::task::Violation;
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
}
