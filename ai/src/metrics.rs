//! The LLM layer's Prometheus metrics, through the `metrics` facade (the binary installs the
//! exporter; without one, recording does nothing). Every attempt the orchestrator records is
//! counted here, so the figures and the jobs' traces come from the same place.

use std::sync::OnceLock;

use metrics::{
    Counter, Histogram, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge,
    histogram,
};

use crate::attempt::{Attempt, AttemptOutcome};
use crate::breaker::BreakerState;

/// Attempts by `provider`, `model` and `outcome` (cache hits and skipped breakers included).
pub const LLM_ATTEMPTS: &str = "sparta_llm_attempts_total";
/// Latency of the calls that reached a provider, by `provider` and `model`.
pub const LLM_ATTEMPT_DURATION: &str = "sparta_llm_attempt_duration_seconds";
/// Prompt tokens by `provider` and `model`.
pub const LLM_INPUT_TOKENS: &str = "sparta_llm_input_tokens_total";
/// Completion tokens by `provider` and `model`.
pub const LLM_OUTPUT_TOKENS: &str = "sparta_llm_output_tokens_total";
/// Spend by `provider` and `model`, in millionths of a US dollar (Prometheus counters of this
/// exporter are integers; divide by 1e6 for dollars).
pub const LLM_COST: &str = "sparta_llm_cost_microusd_total";
/// Circuit-breaker state by `model`: 0 closed, 1 half-open, 2 open.
pub const BREAKER_STATE: &str = "sparta_llm_breaker_state";
/// Circuit-breaker transitions by `model` and the state entered (`to`).
pub const BREAKER_TRANSITIONS: &str = "sparta_llm_breaker_transitions_total";
/// Response-cache lookups by `result` (`hit`, `miss`).
pub const CACHE_LOOKUPS: &str = "sparta_llm_cache_lookups_total";

/// Describes every family (help text and unit), so the exposition documents itself.
pub fn describe() {
    describe_counter!(
        LLM_ATTEMPTS,
        Unit::Count,
        "LLM attempts by provider, model and outcome"
    );
    describe_histogram!(
        LLM_ATTEMPT_DURATION,
        Unit::Seconds,
        "Latency of LLM calls that reached a provider"
    );
    describe_counter!(LLM_INPUT_TOKENS, Unit::Count, "Prompt tokens");
    describe_counter!(LLM_OUTPUT_TOKENS, Unit::Count, "Completion tokens");
    describe_counter!(
        LLM_COST,
        Unit::Count,
        "LLM spend in millionths of a US dollar"
    );
    describe_gauge!(
        BREAKER_STATE,
        "Circuit-breaker state per model: 0 closed, 1 half-open, 2 open"
    );
    describe_counter!(
        BREAKER_TRANSITIONS,
        Unit::Count,
        "Circuit-breaker transitions per model and state entered"
    );
    describe_counter!(
        CACHE_LOOKUPS,
        Unit::Count,
        "Response-cache lookups by result"
    );
}

/// Every attempt outcome's label, in the order [`outcome_index`] numbers them.
const OUTCOMES: [&str; 10] = [
    "succeeded",
    "cache_hit",
    "skipped_open_circuit",
    "budget_exhausted",
    "provider_error",
    "timeout",
    "truncated",
    "refused",
    "unparseable",
    "invalid",
];

/// The place of an attempt's outcome in [`OUTCOMES`].
fn outcome_index(outcome: &AttemptOutcome) -> usize {
    match outcome {
        AttemptOutcome::Succeeded => 0,
        AttemptOutcome::CacheHit => 1,
        AttemptOutcome::SkippedOpenCircuit => 2,
        AttemptOutcome::BudgetExhausted => 3,
        AttemptOutcome::ProviderError { .. } => 4,
        AttemptOutcome::Timeout => 5,
        AttemptOutcome::Truncated => 6,
        AttemptOutcome::Refused => 7,
        AttemptOutcome::Unparseable { .. } => 8,
        AttemptOutcome::Invalid { .. } => 9,
    }
}

/// The outcome label of an attempt (metrics and spans).
pub(crate) fn outcome(outcome: &AttemptOutcome) -> &'static str {
    OUTCOMES
        .get(outcome_index(outcome))
        .copied()
        .unwrap_or("unknown")
}

/// The handles of one model's attempt series, each registered at its first event and kept:
/// the `counter!` and `histogram!` macros look their key up (its labels cloned and hashed) in
/// every recorder at each event — the Prometheus registry and the console's activity
/// recorder — two to five lookups an attempt, 4.7 % of a worker's CPU under a backlog.
#[derive(Default)]
pub(crate) struct ModelMetrics {
    attempts: [OnceLock<Counter>; OUTCOMES.len()],
    duration: OnceLock<Histogram>,
    input_tokens: OnceLock<Counter>,
    output_tokens: OnceLock<Counter>,
    cost: OnceLock<Counter>,
}

impl ModelMetrics {
    /// Counts one recorded attempt of this model: its outcome, and for calls that reached the
    /// provider their latency, tokens and cost.
    pub(crate) fn attempt(&self, attempt: &Attempt) {
        let index = outcome_index(&attempt.outcome);
        if let (Some(handle), Some(&name)) = (self.attempts.get(index), OUTCOMES.get(index)) {
            handle
                .get_or_init(|| {
                    counter!(LLM_ATTEMPTS, "provider" => attempt.provider.clone(),
                        "model" => attempt.model.clone(), "outcome" => name)
                })
                .increment(1);
        }
        if matches!(
            attempt.outcome,
            AttemptOutcome::CacheHit
                | AttemptOutcome::SkippedOpenCircuit
                | AttemptOutcome::BudgetExhausted
        ) {
            return;
        }
        self.duration
            .get_or_init(|| {
                histogram!(LLM_ATTEMPT_DURATION, "provider" => attempt.provider.clone(),
                    "model" => attempt.model.clone())
            })
            .record(attempt.latency_ms as f64 / 1000.0);
        let usage = attempt.usage;
        if usage.input_tokens > 0 || usage.output_tokens > 0 {
            model_series(&self.input_tokens, LLM_INPUT_TOKENS, attempt)
                .increment(usage.input_tokens);
            model_series(&self.output_tokens, LLM_OUTPUT_TOKENS, attempt)
                .increment(usage.output_tokens);
        }
        let microusd = (usage.cost_usd * 1e6).round();
        if microusd >= 1.0 {
            model_series(&self.cost, LLM_COST, attempt).increment(microusd as u64);
        }
    }
}

/// The counter `name` of the attempt's provider and model, registered at its first use.
fn model_series<'a>(
    handle: &'a OnceLock<Counter>,
    name: &'static str,
    attempt: &Attempt,
) -> &'a Counter {
    handle.get_or_init(
        || counter!(name, "provider" => attempt.provider.clone(), "model" => attempt.model.clone()),
    )
}

/// Counts one response-cache lookup.
pub(crate) fn cache_lookup(hit: bool) {
    counter!(CACHE_LOOKUPS, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

/// Sets a breaker's state gauge; `entered` also counts the transition into it.
pub(crate) fn breaker(model: &str, state: BreakerState, entered: bool) {
    let (value, name) = match state {
        BreakerState::Closed => (0.0, "closed"),
        BreakerState::HalfOpen => (1.0, "half_open"),
        BreakerState::Open => (2.0, "open"),
    };
    gauge!(BREAKER_STATE, "model" => model.to_owned()).set(value);
    if entered {
        counter!(BREAKER_TRANSITIONS, "model" => model.to_owned(), "to" => name).increment(1);
    }
}
