//! `sparta-ai`: the provider-agnostic orchestrator (DESIGN §6). It knows nothing about
//! fitness: a [`Task`] brings an output JSON Schema, a prompt template and a chain of models,
//! and each [`Question`] brings the domain checks and the deterministic answer that the
//! `builtin` provider returns.
//!
//! [`Orchestrator::run`] walks the task's chain under one policy (circuit breakers, retries with
//! backoff honouring `Retry-After`, a repair re-ask quoting validation errors, structured-output
//! mode downgrades, a response cache) and records one [`Attempt`] per call, so a job always ends
//! with a validated answer or a clear error. Providers only translate; everything else wraps any
//! provider here. [`Orchestrator::worst_case`] bounds what a question can cost on each priced
//! model of the chain, and [`Orchestrator::run_within`] runs the chain with only the models a
//! budget admits (the others skipped as `budget_exhausted`). [`metrics`] counts every recorded attempt (outcome, latency, tokens, spend),
//! the cache's hits and the breakers' states for Prometheus.

mod attempt;
mod breaker;
mod cache;
mod clock;
mod error;
pub mod metrics;
mod model;
mod orchestrator;
mod prompts;
pub mod providers;
mod retry;
mod run;
mod strict_schema;
mod task;

pub use attempt::{Answer, Attempt, AttemptOutcome, Usage};
pub use breaker::{Admission, Breaker, BreakerConfig, BreakerState, Forced};
pub use clock::{Clock, SystemClock};
pub use error::AiError;
pub use model::ModelSpec;
pub use orchestrator::{BUILTIN, Orchestrator, UNBOUNDED_ANSWER_TOKENS};
pub use prompts::{PromptTemplate, RenderedPrompt};
pub use providers::openai::OpenAiProvider;
pub use providers::{
    CompletionRequest, CompletionResponse, ErrorClass, FinishReason, Message, OutputMode, Provider,
    ProviderError, Role,
};
pub use retry::{Backoff, RetryPolicy};
pub use strict_schema::strict_schema;
pub use task::{Question, Task, Violation};
