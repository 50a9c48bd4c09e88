//! The orchestrator: walks a task's chain of models and keeps the first validated answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::AiError;
use crate::providers::{
    BuiltinProvider, CompletionRequest, FinishReason, Provider, ProviderErrorClass,
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
    /// The provider failed.
    ProviderError {
        /// Transient or permanent.
        class: ProviderErrorClass,
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

/// The record of one provider call, stored in the job's trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attempt {
    /// Provider name.
    pub provider: String,
    /// Model name (as configured in the chain).
    pub model: String,
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
    /// Summed over every attempt, failed ones included.
    pub usage: Usage,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

/// A model the orchestrator can call.
#[derive(Clone)]
struct Model {
    provider: Arc<dyn Provider>,
    model_id: String,
    timeout: Duration,
}

/// Runs tasks over a set of named models.
#[derive(Clone)]
pub struct Orchestrator {
    models: HashMap<String, Model>,
}

impl Default for Orchestrator {
    fn default() -> Self {
        Self::new()
    }
}

impl Orchestrator {
    /// An orchestrator that knows the `builtin` model.
    pub fn new() -> Self {
        let mut models = HashMap::new();
        models.insert(
            "builtin".to_owned(),
            Model {
                provider: Arc::new(BuiltinProvider),
                model_id: "coach-engine".to_owned(),
                timeout: Duration::from_secs(10),
            },
        );
        Self { models }
    }

    /// Adds (or replaces) a model under `name`.
    pub fn with_model(
        mut self,
        name: impl Into<String>,
        provider: Arc<dyn Provider>,
        model_id: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        self.models.insert(
            name.into(),
            Model {
                provider,
                model_id: model_id.into(),
                timeout,
            },
        );
        self
    }

    /// Checks that every model of `task`'s chain exists (at startup, not per job).
    pub fn check(&self, task: &Task) -> Result<(), AiError> {
        match task.chain().iter().find(|m| !self.models.contains_key(*m)) {
            Some(model) => Err(AiError::UnknownModel {
                task: task.name().to_owned(),
                model: model.clone(),
            }),
            None => Ok(()),
        }
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
        let mut attempts = Vec::new();
        let mut usage = Usage::default();
        for name in task.chain() {
            let Some(model) = self.models.get(name) else {
                continue;
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(AiError::DeadlineExceeded { attempts });
            }
            let budget = model.timeout.min(deadline - now);
            let request = CompletionRequest {
                model: &model.model_id,
                schema: task.schema(),
                question,
            };
            let started = Instant::now();
            let reply = tokio::time::timeout(budget, model.provider.complete(&request)).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let mut call_usage = Usage::default();
            let (outcome, output) = match reply {
                Err(_) => (AttemptOutcome::Timeout, None),
                Ok(Err(e)) => (
                    AttemptOutcome::ProviderError {
                        class: e.class,
                        message: e.message,
                    },
                    None,
                ),
                Ok(Ok(response)) => {
                    call_usage.input_tokens = response.input_tokens;
                    call_usage.output_tokens = response.output_tokens;
                    match response.finish {
                        FinishReason::Length => (AttemptOutcome::Truncated, None),
                        FinishReason::Refusal => (AttemptOutcome::Refused, None),
                        FinishReason::Stop | FinishReason::Other(_) => {
                            judge(task, question, &response.content)
                        }
                    }
                }
            };
            usage += call_usage;
            tracing::debug!(task = task.name(), model = %name, latency_ms, ?outcome, "llm attempt");
            attempts.push(Attempt {
                provider: model.provider.name().to_owned(),
                model: name.clone(),
                latency_ms,
                outcome,
                usage: call_usage,
            });
            if let Some(output) = output {
                return Ok(Answer {
                    output,
                    provider: model.provider.name().to_owned(),
                    model: name.clone(),
                    usage,
                    attempts,
                });
            }
        }
        Err(AiError::Exhausted { attempts })
    }
}

/// Parses and validates an answer: the schema first, then the domain rules.
fn judge(
    task: &Task,
    question: &dyn Question,
    content: &str,
) -> (AttemptOutcome, Option<serde_json::Value>) {
    let value = match parse_answer(content) {
        Ok(value) => value,
        Err(message) => return (AttemptOutcome::Unparseable { message }, None),
    };
    let mut violations = task.schema_violations(&value);
    if violations.is_empty() {
        violations = question.check(&value);
    }
    if violations.is_empty() {
        (AttemptOutcome::Succeeded, Some(value))
    } else {
        (AttemptOutcome::Invalid { violations }, None)
    }
}

/// Reads the JSON object in an answer, tolerating code fences and prose around it.
fn parse_answer(content: &str) -> Result<serde_json::Value, String> {
    let trimmed = content.trim();
    if let Ok(value) = serde_json::from_str(trimmed) {
        return Ok(value);
    }
    match (trimmed.find('{'), trimmed.rfind('}')) {
        (Some(start), Some(end)) if start < end => {
            serde_json::from_str(&trimmed[start..=end]).map_err(|e| e.to_string())
        }
        _ => Err("the answer contains no JSON object".to_owned()),
    }
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
    }

    fn task() -> Task {
        let schema =
            json!({"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}});
        Task::new("t", schema, vec!["builtin".into()]).expect("valid schema")
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
    async fn unknown_models_and_bad_schemas_are_refused() {
        let t = Task::new("t", json!({"type": "object"}), vec!["nope".into()]).expect("schema");
        assert!(matches!(
            Orchestrator::new().check(&t),
            Err(AiError::UnknownModel { .. })
        ));
        assert!(Task::new("t", json!({"type": 5}), vec![]).is_err());
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
}
