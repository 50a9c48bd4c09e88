//! The crate's one error type.

use crate::attempt::Attempt;

/// Why the orchestrator could not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum AiError {
    /// A task's output schema is not a valid JSON Schema (a programming error, found at startup).
    #[error("the output schema of task '{task}' is invalid: {reason}")]
    InvalidSchema {
        /// The task.
        task: String,
        /// What the schema compiler said.
        reason: String,
    },
    /// A task names a model no provider serves.
    #[error("task '{task}' names unknown model '{model}'")]
    UnknownModel {
        /// The task.
        task: String,
        /// The model name.
        model: String,
    },
    /// A prompt template does not compile or render.
    #[error("prompt template {file}{}: {reason}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    InvalidTemplate {
        /// The template file.
        file: String,
        /// The line, when known.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A provider asked to wait longer than the retry cap: reschedule the job instead of
    /// holding a worker.
    #[error("provider asked to retry after {after:?}")]
    RetryLater {
        /// How long to wait.
        after: std::time::Duration,
        /// Every attempt made.
        attempts: Vec<Attempt>,
    },
    /// Every model in the chain failed; the attempts say how.
    #[error("no model produced a valid answer ({} attempts)", attempts.len())]
    Exhausted {
        /// Every attempt made.
        attempts: Vec<Attempt>,
    },
    /// The job's deadline passed before an answer was validated.
    #[error("deadline exceeded after {} attempts", attempts.len())]
    DeadlineExceeded {
        /// Every attempt made.
        attempts: Vec<Attempt>,
    },
}

impl AiError {
    /// The attempts made before the failure (empty for configuration errors).
    pub fn attempts(&self) -> &[Attempt] {
        match self {
            AiError::Exhausted { attempts }
            | AiError::DeadlineExceeded { attempts }
            | AiError::RetryLater { attempts, .. } => attempts,
            _ => &[],
        }
    }
}
