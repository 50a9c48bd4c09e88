//! Runs one job: parse its stored input, ask the orchestrator, turn the answer into the
//! [`Outcome`] the store writes (a retry with the instant it is due).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use sparta_ai::{
    AiError, Attempt, AttemptOutcome, Orchestrator, PromptTemplate, Question, Task, Violation,
};
use sparta_coach::{InputRejection, JobInput, JobKind};
use sparta_jobs::store::budgets::{BudgetStore, Reservation, UsdMicros};
use sparta_jobs::{Assignment, JobFailure, JsonText, Outcome, RunReport, Usage};

use crate::WorkerError;
use sparta_ai::Backoff;

/// A job's input as the orchestrator's [`Question`]: the coach engine answers it and the
/// coach guardrails check every answer.
struct CoachQuestion(JobInput);

impl Question for CoachQuestion {
    fn builtin_answer(&self) -> Result<serde_json::Value, String> {
        sparta_coach::run_builtin(&self.0).map_err(|e| e.to_string())
    }

    fn check(&self, answer: &serde_json::Value) -> Vec<Violation> {
        sparta_coach::check_output(&self.0, answer)
            .into_iter()
            .map(|v| Violation {
                path: v.path,
                message: v.message,
            })
            .collect()
    }

    fn prompt_context(&self) -> serde_json::Value {
        self.0.to_value()
    }
}

/// How one job kind is answered.
#[derive(Clone, Debug)]
pub struct KindPlan {
    /// Model names in the order they are tried (the `builtin` engine last).
    pub chain: Vec<String>,
    /// The job's time budget: every provider attempt derives its timeout from it.
    pub timeout: Duration,
    /// How long LLM answers are cached (none: no cache).
    pub cache_ttl: Option<Duration>,
}

impl Default for KindPlan {
    fn default() -> Self {
        Self {
            chain: vec![sparta_ai::BUILTIN.to_owned()],
            timeout: Duration::from_secs(60),
            cache_ttl: None,
        }
    }
}

/// What the executor is built from.
#[derive(Clone, Debug, Default)]
pub struct ExecutorConfig {
    /// A folder with `<kind>/system.j2` and `<kind>/user.j2` to use instead of the embedded
    /// prompts.
    pub prompts_dir: Option<PathBuf>,
    /// The plan of kinds without one of their own.
    pub default_plan: KindPlan,
    /// Plans per kind.
    pub plans: HashMap<JobKind, KindPlan>,
    /// When an attempt that may succeed later is tried again (a provider's `Retry-After`
    /// wins).
    pub retry: Backoff,
}

/// Runs jobs of every kind through the orchestrator.
pub struct Executor {
    orchestrator: Orchestrator,
    tasks: HashMap<JobKind, (Task, Duration)>,
    retry: Backoff,
}

impl Executor {
    /// Compiles every kind's prompt and output schema and checks every model of every chain
    /// exists: a broken template or an unknown model stops startup, not a job.
    pub fn new(orchestrator: Orchestrator, config: &ExecutorConfig) -> Result<Self, WorkerError> {
        let mut tasks = HashMap::new();
        for &kind in JobKind::ALL {
            let plan = config.plans.get(&kind).unwrap_or(&config.default_plan);
            let error = |source| WorkerError::Task {
                kind: kind.as_str().to_owned(),
                source,
            };
            let prompt = match &config.prompts_dir {
                Some(dir) => PromptTemplate::load(&dir.join(kind.as_str())),
                None => {
                    let prompt = kind.prompt();
                    PromptTemplate::compile(
                        &format!("prompts/{kind}"),
                        prompt.system.to_owned(),
                        prompt.user.to_owned(),
                    )
                }
            }
            .map_err(error)?;
            let mut task = Task::new(
                kind.as_str(),
                sparta_coach::output_schema(kind),
                plan.chain.clone(),
            )
            .map_err(error)?
            .with_prompt(Arc::new(prompt));
            if let Some(ttl) = plan.cache_ttl {
                task = task.with_cache_ttl(ttl);
            }
            orchestrator.check(&task).map_err(error)?;
            tasks.insert(kind, (task, plan.timeout));
        }
        Ok(Self {
            orchestrator,
            tasks,
            retry: config.retry,
        })
    }

    /// The builtin-only executor.
    pub fn builtin() -> Result<Self, WorkerError> {
        Self::new(Orchestrator::new(), &ExecutorConfig::default())
    }

    /// The orchestrator (for breaker states in readiness).
    pub fn orchestrator(&self) -> &Orchestrator {
        &self.orchestrator
    }

    /// Runs one job's current attempt within its tenant's LLM budget: how it ends, as the
    /// store writes it.
    ///
    /// Before any priced model may be called, the worst case of each priced model of the chain
    /// is reserved in `budgets`, model by model in chain order; a model whose worst case does
    /// not fit what is left is skipped (`budget_exhausted` in the trace), so the job runs on the
    /// rest of its chain, in the end the engine. What the attempt spent is then settled per
    /// model. A store failure while reserving admits no priced model: never overspent.
    pub async fn run(&self, job: &Assignment, budgets: &dyn BudgetStore) -> Outcome {
        let parsed = JobInput::parse_stored(job.kind, job.input.as_str());
        let (task, timeout, question) = match self.prepare(job.kind, parsed) {
            Ok(prepared) => prepared,
            Err(error) => return failed(error),
        };
        let costs = self
            .orchestrator
            .worst_case(task, &question)
            .unwrap_or_default();
        let mut admitted: HashSet<String> = HashSet::new();
        let mut unlimited = costs.is_empty();
        let mut reserved: UsdMicros = 0;
        let now = Utc::now();
        for (model, usd) in &costs {
            // Rounded up: a reservation never falls short of the cost it stands for.
            #[allow(clippy::cast_possible_truncation)]
            let micros = (usd * 1e6).ceil() as UsdMicros;
            match budgets
                .reserve(job.tenant_id, job.id, reserved + micros, now)
                .await
            {
                Ok(Reservation::Unlimited) => {
                    unlimited = true;
                    break;
                }
                Ok(Reservation::Reserved) => {
                    reserved += micros;
                    admitted.insert(model.clone());
                }
                Ok(Reservation::Refused) => {}
                Err(error) => {
                    tracing::warn!(%error, model, "reserving the LLM budget failed: model skipped");
                }
            }
        }
        let priced: HashSet<&str> = costs.iter().map(|(model, _)| model.as_str()).collect();
        let admit = |name: &str| unlimited || !priced.contains(name) || admitted.contains(name);
        let deadline = tokio::time::Instant::now() + timeout;
        let result = self
            .orchestrator
            .run_within(task, &question, deadline, &admit)
            .await;
        let attempts = match &result {
            Ok(answer) => answer.attempts.as_slice(),
            Err(error) => error.attempts(),
        };
        let spent = spend_by_model(attempts);
        if (reserved > 0 || !spent.is_empty())
            && let Err(error) = budgets
                .settle(job.tenant_id, job.id, &spent, Utc::now())
                .await
        {
            // The reservation is released when the job ends (the reconciler); the spend of
            // this attempt is missing from the tenant's usage.
            tracing::error!(%error, job_id = %job.id, "settling the LLM budget failed");
        }
        self.outcome(job.attempt, result)
    }

    /// Answers one input of `kind` with no budget; `attempt` tags the trace entries and sets
    /// the backoff of a retry.
    pub async fn answer(&self, kind: JobKind, input: &serde_json::Value, attempt: i32) -> Outcome {
        let (task, timeout, question) = match self.prepare(kind, JobInput::parse(kind, input)) {
            Ok(prepared) => prepared,
            Err(error) => return failed(error),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let result = self.orchestrator.run(task, &question, deadline).await;
        self.outcome(attempt, result)
    }

    /// The task, its time and the question of one parsed input, or why the job cannot run.
    fn prepare(
        &self,
        kind: JobKind,
        parsed: Result<JobInput, InputRejection>,
    ) -> Result<(&Task, Duration, CoachQuestion), JobFailure> {
        let input = match parsed {
            Ok(input) => input,
            Err(rejection) => {
                // Inputs are validated before they are stored; this means the stored input is
                // from an older, incompatible version of the kind.
                return Err(JobFailure {
                    code: "INVALID_INPUT".into(),
                    message: format!(
                        "the stored input is no longer valid for '{kind}': {}",
                        rejection
                            .errors()
                            .iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                });
            }
        };
        let Some((task, timeout)) = self.tasks.get(&kind) else {
            return Err(JobFailure {
                code: "UNKNOWN_KIND".into(),
                message: format!("no task for kind '{kind}'"),
            });
        };
        Ok((task, *timeout, CoachQuestion(input)))
    }

    /// How a run ended, as the job's outcome.
    fn outcome(&self, attempt: i32, result: Result<sparta_ai::Answer, AiError>) -> Outcome {
        match result {
            Ok(answer) => Outcome::Succeeded {
                output: JsonText::from_value(&answer.output),
                report: RunReport {
                    provider: Some(answer.provider),
                    model: Some(answer.model),
                    prompt_version: answer.prompt_version,
                    usage: usage(answer.usage),
                    trace: trace(attempt, &answer.attempts),
                },
            },
            Err(error) => failure(attempt, error, self.retry),
        }
    }
}

/// A job that cannot run at all: failed for good, with nothing tried.
fn failed(error: JobFailure) -> Outcome {
    Outcome::Failed {
        error,
        report: RunReport::default(),
    }
}

/// What the attempts cost, per model: `(model, micro-dollars, calls that cost something)`.
fn spend_by_model(attempts: &[Attempt]) -> Vec<(String, UsdMicros, i64)> {
    let mut spent: Vec<(String, UsdMicros, i64)> = Vec::new();
    for attempt in attempts.iter().filter(|a| a.usage.cost_usd > 0.0) {
        #[allow(clippy::cast_possible_truncation)]
        let micros = (attempt.usage.cost_usd * 1e6).round() as UsdMicros;
        match spent.iter_mut().find(|(model, ..)| *model == attempt.model) {
            Some(entry) => {
                entry.1 += micros;
                entry.2 += 1;
            }
            None => spent.push((attempt.model.clone(), micros, 1)),
        }
    }
    spent
}

/// An orchestrator error as the attempt's outcome: what can be retried, and when (a
/// provider's `Retry-After` wins over the backoff).
fn failure(attempt: i32, error: AiError, retry: Backoff) -> Outcome {
    let attempts = error.attempts();
    let mut total = sparta_ai::Usage::default();
    for attempt in attempts {
        total += attempt.usage;
    }
    let report = RunReport {
        usage: usage(total),
        trace: trace(attempt, attempts),
        ..RunReport::default()
    };
    let (code, after, retryable) = match &error {
        AiError::DeadlineExceeded { .. } => ("DEADLINE_EXCEEDED", None, true),
        AiError::Exhausted { .. } => ("NO_VALID_ANSWER", None, true),
        AiError::RetryLater { after, .. } => ("PROVIDER_RATE_LIMITED", Some(*after), true),
        AiError::InvalidSchema { .. }
        | AiError::UnknownModel { .. }
        | AiError::InvalidTemplate { .. } => ("CONFIGURATION_ERROR", None, false),
    };
    let error = JobFailure {
        code: code.into(),
        message: error.to_string(),
    };
    if retryable {
        let delay =
            after.unwrap_or_else(|| retry.delay(u32::try_from(attempt).unwrap_or(1).max(1)));
        Outcome::Retry {
            error,
            run_at: Utc::now() + chrono::TimeDelta::from_std(delay).unwrap_or_default(),
            report,
        }
    } else {
        Outcome::Failed { error, report }
    }
}

fn usage(u: sparta_ai::Usage) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cost_usd: u.cost_usd,
    }
}

/// Trace entries for the job, each tagged with the job attempt it belongs to, written out here
/// (straight from the attempt, never built into a `serde_json::Value` first).
///
/// The trace is the tenant's to read (and travels in webhooks), so a provider failure keeps its
/// class, HTTP status, provider and model, never its message (`AttemptOutcome` does not
/// serialize it): that can carry internal endpoints, addresses and provider error bodies. The
/// message goes to the operator's log instead.
fn trace(job_attempt: i32, attempts: &[Attempt]) -> Vec<JsonText> {
    /// One entry: the attempt's fields, then the job attempt.
    #[derive(Serialize)]
    struct Entry<'a> {
        #[serde(flatten)]
        attempt: &'a Attempt,
        job_attempt: i32,
    }
    attempts
        .iter()
        .map(|attempt| {
            if let AttemptOutcome::ProviderError {
                class,
                status,
                message,
            } = &attempt.outcome
            {
                tracing::warn!(provider = %attempt.provider, model = %attempt.model, ?class,
                    status, error = %message, "provider attempt failed");
            }
            JsonText::write(&Entry {
                attempt,
                job_attempt,
            })
        })
        .collect()
}
