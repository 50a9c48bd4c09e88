//! One run of a task's chain ([`Run`]): for each model, cache → circuit breaker → attempt (its
//! timeout derived from the job's deadline) → parse → JSON Schema → domain checks, and the
//! policy's answer to whatever went wrong (see [`crate::Orchestrator`]).

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use crate::AiError;
use crate::attempt::{Answer, Attempt, AttemptOutcome, Usage};
use crate::breaker::Admission;
use crate::cache::{CachedAnswer, ResponseCache};
use crate::model::Model;
use crate::orchestrator::{BUILTIN, Orchestrator};
use crate::providers::{CompletionRequest, ErrorClass, FinishReason, Message, OutputMode, Role};
use crate::task::{Question, Task, Violation};

/// One `Orchestrator::run` in progress.
pub(crate) struct Run<'a> {
    pub(crate) orchestrator: &'a Orchestrator,
    pub(crate) task: &'a Task,
    pub(crate) question: &'a dyn Question,
    pub(crate) deadline: Instant,
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) usage: Usage,
    /// The question's JSON, computed once.
    pub(crate) context: Option<serde_json::Value>,
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
    pub(crate) fn record(&mut self, model: &Model, attempt: Attempt) {
        model.metrics.attempt(&attempt);
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
    pub(crate) fn messages(&mut self, mode: OutputMode) -> Result<Vec<Message>, AiError> {
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
    /// One call of `model` (named `name` in the chain) within `budget`: how it ended, what the
    /// policy should make of it, and what it cost. Its span carries the OpenTelemetry GenAI
    /// semantic conventions' attributes.
    #[tracing::instrument(name = "gen_ai.chat", skip_all, fields(
        otel.name = %format!("chat {}", model.spec.model_id),
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = model.spec.provider.name(),
        gen_ai.request.model = %model.spec.model_id,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        sparta.model = name,
        sparta.outcome = tracing::field::Empty,
    ))]
    async fn call(
        &self,
        name: &str,
        model: &Model,
        request: &CompletionRequest<'_>,
        budget: Duration,
    ) -> (AttemptOutcome, Verdict, Usage) {
        let ended = self.complete(model, request, budget).await;
        let span = tracing::Span::current();
        span.record("gen_ai.usage.input_tokens", ended.2.input_tokens);
        span.record("gen_ai.usage.output_tokens", ended.2.output_tokens);
        span.record("sparta.outcome", crate::metrics::outcome(&ended.0));
        ended
    }

    /// The call itself, classified.
    async fn complete(
        &self,
        model: &Model,
        request: &CompletionRequest<'_>,
        budget: Duration,
    ) -> (AttemptOutcome, Verdict, Usage) {
        match tokio::time::timeout(budget, model.spec.provider.complete(request)).await {
            Err(_) => (
                AttemptOutcome::Timeout,
                Verdict::Transient(None),
                Usage::default(),
            ),
            Ok(Err(e)) => {
                let verdict = match e.class {
                    ErrorClass::Transient => Verdict::Transient(e.retry_after),
                    ErrorClass::ModeRejected => Verdict::ModeRejected,
                    ErrorClass::Permanent => Verdict::Permanent,
                };
                let outcome = AttemptOutcome::ProviderError {
                    class: e.class,
                    status: e.status,
                    message: e.message,
                };
                (outcome, verdict, Usage::default())
            }
            Ok(Ok(response)) => {
                let usage = Usage {
                    input_tokens: response.input_tokens,
                    output_tokens: response.output_tokens,
                    cost_usd: model
                        .spec
                        .cost(response.input_tokens, response.output_tokens),
                };
                let (outcome, verdict) = match response.finish {
                    FinishReason::Length => (AttemptOutcome::Truncated, Verdict::NextModel),
                    FinishReason::Refusal => (AttemptOutcome::Refused, Verdict::NextModel),
                    FinishReason::Stop | FinishReason::Other(_) => {
                        self.judge(response.content, response.value)
                    }
                };
                (outcome, verdict, usage)
            }
        }
    }

    /// The response cache's key for `name` (none for the engine, or a task without a TTL), and
    /// its answer when it has one (recorded as a cache-hit attempt).
    fn cached(&mut self, name: &str, model: &Model) -> (Option<String>, Option<Answer>) {
        let orchestrator = self.orchestrator;
        let Some(key) = self.task.cache_ttl().filter(|_| name != BUILTIN).map(|_| {
            ResponseCache::key(
                self.task.name(),
                self.task.prompt_version().unwrap_or_default(),
                name,
                &self.context(),
            )
        }) else {
            return (None, None);
        };
        let hit = orchestrator.cache.get(&key, orchestrator.clock.now());
        crate::metrics::cache_lookup(hit.is_some());
        let answer = hit.map(|hit| {
            self.record(model, model.no_call(name, AttemptOutcome::CacheHit));
            let mut answer = self.answer(name, model, hit.output);
            answer.provider = hit.provider;
            answer
        });
        (Some(key), answer)
    }

    pub(crate) async fn try_model(
        &mut self,
        name: &str,
        model: &Model,
    ) -> Result<Option<Answer>, AiError> {
        let orchestrator = self.orchestrator;
        let is_builtin = name == BUILTIN;
        let (cache_key, hit) = self.cached(name, model);
        if let Some(answer) = hit {
            return Ok(Some(answer));
        }
        if model.breaker.admit(orchestrator.clock.now()) == Admission::Rejected {
            self.record(
                model,
                model.no_call(name, AttemptOutcome::SkippedOpenCircuit),
            );
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
            let (outcome, verdict, usage) = self.call(name, model, &request, budget).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.record(
                model,
                Attempt {
                    provider: model.spec.provider.name().to_owned(),
                    model: name.to_owned(),
                    mode,
                    repair,
                    latency_ms,
                    outcome,
                    usage,
                },
            );
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
                        None => orchestrator.retry.backoff.delay(retries),
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

    /// Parses (unless the provider gave a value) and validates an answer: the schema first,
    /// then the domain rules.
    fn judge(
        &self,
        content: String,
        value: Option<serde_json::Value>,
    ) -> (AttemptOutcome, Verdict) {
        let value = match value.map_or_else(|| parse_answer(&content), Ok) {
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
