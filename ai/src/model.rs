//! The models a run can call: their configuration ([`ModelSpec`]) and, inside the orchestrator,
//! their live state (structured-output mode, circuit breaker).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::attempt::{Attempt, AttemptOutcome, Usage};
use crate::breaker::Breaker;
use crate::metrics::ModelMetrics;
use crate::providers::{OutputMode, Provider};

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

    pub(crate) fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.price_input_per_mtok
            + output_tokens as f64 * self.price_output_per_mtok)
            / 1_000_000.0
    }
}

/// A model with its live state.
pub(crate) struct Model {
    pub(crate) spec: ModelSpec,
    /// The current structured-output mode (downgraded for good when a server refuses one).
    pub(crate) mode: AtomicU8,
    pub(crate) breaker: Breaker,
    /// The handles of its attempt series.
    pub(crate) metrics: ModelMetrics,
}

impl Model {
    pub(crate) fn mode(&self) -> OutputMode {
        OutputMode::from_u8(self.mode.load(Ordering::Relaxed))
    }

    /// The record of an attempt that made no call (cache hit, open breaker).
    pub(crate) fn no_call(&self, name: &str, outcome: AttemptOutcome) -> Attempt {
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
