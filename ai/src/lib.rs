//! `sparta-ai`: the provider-agnostic orchestrator (DESIGN §6). It knows nothing about
//! fitness: a [`Task`] brings an output JSON Schema, and each [`Question`] brings the domain
//! checks and the deterministic answer that the `builtin` provider returns.
//!
//! [`Orchestrator::run`] walks the task's chain of models, checks every answer against the
//! schema and the domain validator, and records one [`Attempt`] per provider call, so a job
//! always ends with a validated answer or a clear error. Providers only translate; timeouts,
//! validation and bookkeeping wrap any provider here.

mod error;
mod orchestrator;
pub mod providers;
mod task;

pub use error::AiError;
pub use orchestrator::{Answer, Attempt, AttemptOutcome, Orchestrator, Usage};
pub use providers::{
    CompletionRequest, CompletionResponse, FinishReason, Provider, ProviderError,
    ProviderErrorClass,
};
pub use task::{Question, Task, Violation};
