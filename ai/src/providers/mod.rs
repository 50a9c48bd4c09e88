//! Providers translate one canonical completion request into a backend's protocol and back.
//! They do not retry, time out or validate: the orchestrator does that around any provider.

use async_trait::async_trait;

use crate::task::Question;

mod builtin;

pub use builtin::BuiltinProvider;

/// One request to a provider.
pub struct CompletionRequest<'a> {
    /// The model id the provider should use.
    pub model: &'a str,
    /// The output JSON Schema the answer must satisfy.
    pub schema: &'a serde_json::Value,
    /// The question (the builtin provider answers it directly).
    pub question: &'a dyn Question,
}

/// Why a completion stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// The answer is complete.
    Stop,
    /// Cut off at the token limit: the answer is not to be trusted.
    Length,
    /// The model refused.
    Refusal,
    /// Anything else a server reports, kept verbatim.
    Other(String),
}

/// A provider's answer.
#[derive(Clone, Debug)]
pub struct CompletionResponse {
    /// The answer text (JSON, possibly wrapped in prose or code fences by an LLM).
    pub content: String,
    /// Why generation stopped.
    pub finish: FinishReason,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

/// How a provider failure is handled. The class decides everything (retry, re-ask, next model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderErrorClass {
    /// Timeout, connection failure, 429, 5xx: worth retrying the same model.
    Transient,
    /// 401, unknown model, a 400 not about the output mode: move to the next model.
    Permanent,
}

/// A provider failure.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// How to handle it.
    pub class: ProviderErrorClass,
    /// What happened (safe to store in the job's trace: no secrets).
    pub message: String,
}

/// A backend that completes requests.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name as recorded in traces (`builtin`, `openai`).
    fn name(&self) -> &str;

    /// One completion, no retries.
    async fn complete(
        &self,
        request: &CompletionRequest<'_>,
    ) -> Result<CompletionResponse, ProviderError>;
}
