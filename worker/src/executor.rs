//! Runs one job: parse its stored input, ask the orchestrator, turn the answer into an outcome.

use std::collections::HashMap;
use std::time::Duration;

use sparta_ai::{AiError, Attempt, Orchestrator, Question, Task, Violation};
use sparta_coach::{JobInput, JobKind};
use sparta_jobs::{Job, JobFailure, RunReport, Usage};

use crate::WorkerError;

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
}

/// How a run ended, before it is written to the store.
#[derive(Debug)]
pub enum RunResult {
    /// A validated answer.
    Answered {
        /// The output.
        output: serde_json::Value,
        /// Provider, model, usage, trace.
        report: RunReport,
    },
    /// No answer this time; worth another attempt.
    Retryable {
        /// Why.
        error: JobFailure,
        /// What was tried.
        report: RunReport,
    },
    /// No answer, and retrying cannot help (e.g. the stored input no longer parses).
    Permanent {
        /// Why.
        error: JobFailure,
        /// What was tried.
        report: RunReport,
    },
}

/// Runs jobs of every kind through the orchestrator.
pub struct Executor {
    orchestrator: Orchestrator,
    tasks: HashMap<JobKind, Task>,
    /// Per-job time budget: every provider attempt derives its timeout from it.
    job_timeout: Duration,
}

impl Executor {
    /// Builds one task per job kind (output schema compiled once) with the given model chain,
    /// checking every model exists.
    pub fn new(
        orchestrator: Orchestrator,
        chain: &[String],
        job_timeout: Duration,
    ) -> Result<Self, WorkerError> {
        let mut tasks = HashMap::new();
        for &kind in JobKind::ALL {
            let task = Task::new(
                kind.as_str(),
                sparta_coach::output_schema(kind),
                chain.to_vec(),
            )
            .and_then(|task| orchestrator.check(&task).map(|()| task))
            .map_err(|source| WorkerError::Task {
                kind: kind.as_str().to_owned(),
                source,
            })?;
            tasks.insert(kind, task);
        }
        Ok(Self {
            orchestrator,
            tasks,
            job_timeout,
        })
    }

    /// The builtin-only executor of embedded mode.
    pub fn builtin(job_timeout: Duration) -> Result<Self, WorkerError> {
        Self::new(Orchestrator::new(), &["builtin".to_owned()], job_timeout)
    }

    /// Runs one job's current attempt.
    pub async fn run(&self, job: &Job) -> RunResult {
        let input = match JobInput::parse(job.kind, &job.input) {
            Ok(input) => input,
            Err(rejection) => {
                // Inputs are validated before they are stored; this means the stored input is
                // from an older, incompatible version of the kind.
                return RunResult::Permanent {
                    error: JobFailure {
                        code: "INVALID_INPUT".into(),
                        message: format!(
                            "the stored input is no longer valid for '{}': {}",
                            job.kind,
                            rejection
                                .errors()
                                .iter()
                                .map(|e| format!("{}: {}", e.field, e.message))
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                    },
                    report: RunReport::default(),
                };
            }
        };
        let Some(task) = self.tasks.get(&job.kind) else {
            return RunResult::Permanent {
                error: JobFailure {
                    code: "UNKNOWN_KIND".into(),
                    message: format!("no task for kind '{}'", job.kind),
                },
                report: RunReport::default(),
            };
        };
        let deadline = tokio::time::Instant::now() + self.job_timeout;
        let question = CoachQuestion(input);
        match self.orchestrator.run(task, &question, deadline).await {
            Ok(answer) => RunResult::Answered {
                output: answer.output,
                report: RunReport {
                    provider: Some(answer.provider),
                    model: Some(answer.model),
                    prompt_version: None,
                    usage: usage(answer.usage),
                    trace: trace(job.attempt, &answer.attempts),
                },
            },
            Err(error) => {
                let attempts = error.attempts();
                let mut total = sparta_ai::Usage::default();
                for attempt in attempts {
                    total += attempt.usage;
                }
                let report = RunReport {
                    usage: usage(total),
                    trace: trace(job.attempt, attempts),
                    ..RunReport::default()
                };
                let failure = JobFailure {
                    code: match error {
                        AiError::DeadlineExceeded { .. } => "DEADLINE_EXCEEDED",
                        AiError::Exhausted { .. } => "NO_VALID_ANSWER",
                        AiError::InvalidSchema { .. } | AiError::UnknownModel { .. } => {
                            "CONFIGURATION_ERROR"
                        }
                    }
                    .into(),
                    message: error.to_string(),
                };
                match error {
                    AiError::InvalidSchema { .. } | AiError::UnknownModel { .. } => {
                        RunResult::Permanent {
                            error: failure,
                            report,
                        }
                    }
                    _ => RunResult::Retryable {
                        error: failure,
                        report,
                    },
                }
            }
        }
    }
}

fn usage(u: sparta_ai::Usage) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cost_usd: u.cost_usd,
    }
}

/// Trace entries for the job, each tagged with the job attempt it belongs to.
fn trace(job_attempt: i32, attempts: &[Attempt]) -> Vec<serde_json::Value> {
    attempts
        .iter()
        .map(|a| {
            let mut entry = serde_json::to_value(a).unwrap_or(serde_json::Value::Null);
            if let Some(map) = entry.as_object_mut() {
                map.insert("job_attempt".into(), job_attempt.into());
            }
            entry
        })
        .collect()
}
