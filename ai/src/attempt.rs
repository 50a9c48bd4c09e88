//! What a run leaves behind: one [`Attempt`] per call (or skipped call) with its outcome and
//! usage, summed into the [`Answer`] or carried by the error.

use serde::Serialize;

use crate::providers::{ErrorClass, OutputMode};
use crate::task::Violation;

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
    /// The tenant's LLM budget cannot take this model's worst case: skipped without a call.
    BudgetExhausted,
    /// The provider failed.
    ProviderError {
        /// How the failure is handled.
        class: ErrorClass,
        /// The HTTP status, if any.
        status: Option<u16>,
        /// What it said: for the operator's log only, never serialized (a job's trace is the
        /// tenant's to read, and a provider's message can carry internal endpoints, addresses
        /// and provider error bodies).
        #[serde(skip_serializing)]
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
