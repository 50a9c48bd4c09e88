//! Providers translate one canonical completion request into a backend's protocol and back.
//! They do not retry, time out, break circuits, cache or validate: the orchestrator does all of
//! that around any provider.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::task::Question;

mod builtin;
pub mod openai;

pub use builtin::BuiltinProvider;

/// Who says a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The question (and repair requests).
    User,
    /// A previous answer (quoted back in a repair re-ask).
    Assistant,
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

/// How a model is asked for structured output. Ordered from richest to plainest: a server that
/// rejects a mode is downgraded to the next one.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum OutputMode {
    /// `response_format: json_schema` with `strict: true` and a sanitised schema.
    JsonSchema,
    /// `response_format: json_object`; the schema travels in the prompt.
    JsonObject,
    /// No `response_format`; the schema travels in the prompt.
    PromptOnly,
}

impl OutputMode {
    /// The next plainer mode, if any.
    pub fn downgraded(self) -> Option<OutputMode> {
        match self {
            OutputMode::JsonSchema => Some(OutputMode::JsonObject),
            OutputMode::JsonObject => Some(OutputMode::PromptOnly),
            OutputMode::PromptOnly => None,
        }
    }

    /// Stored form.
    pub fn as_u8(self) -> u8 {
        match self {
            OutputMode::JsonSchema => 0,
            OutputMode::JsonObject => 1,
            OutputMode::PromptOnly => 2,
        }
    }

    /// Inverse of [`OutputMode::as_u8`].
    pub fn from_u8(n: u8) -> OutputMode {
        match n {
            0 => OutputMode::JsonSchema,
            1 => OutputMode::JsonObject,
            _ => OutputMode::PromptOnly,
        }
    }
}

/// One request to a provider.
pub struct CompletionRequest<'a> {
    /// The model id the provider should use.
    pub model: &'a str,
    /// The conversation.
    pub messages: &'a [Message],
    /// The output JSON Schema (full, with every bound).
    pub schema: &'a serde_json::Value,
    /// The name of the schema (the task's name).
    pub schema_name: &'a str,
    /// How structured output is requested.
    pub mode: OutputMode,
    /// Largest answer, in tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// The question itself (the builtin provider answers it directly).
    pub question: &'a dyn Question,
}

/// Why a completion stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// The answer is complete (`stop`, and the `eos`-style values of other servers).
    Stop,
    /// Cut off at the token limit: the answer is not to be trusted.
    Length,
    /// The model refused, or a content filter stopped it.
    Refusal,
    /// Anything else a server reports, kept verbatim.
    Other(String),
}

impl FinishReason {
    /// Reads a server's `finish_reason`, whatever its dialect.
    pub fn parse(reason: Option<&str>) -> FinishReason {
        match reason.map(str::trim) {
            None | Some("" | "stop" | "eos" | "eos_token" | "end_turn" | "stop_sequence") => {
                FinishReason::Stop
            }
            Some("length" | "max_tokens") => FinishReason::Length,
            Some("content_filter" | "refusal") => FinishReason::Refusal,
            Some(other) => FinishReason::Other(other.to_owned()),
        }
    }
}

/// A provider's answer.
#[derive(Clone, Debug)]
pub struct CompletionResponse {
    /// The answer text (JSON, possibly wrapped in prose or code fences by an LLM).
    pub content: String,
    /// The answer as a value, when the provider has one already (the engine): the orchestrator
    /// then validates it as it is, without writing it out and parsing it back.
    pub value: Option<serde_json::Value>,
    /// Why generation stopped.
    pub finish: FinishReason,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

/// How a provider failure is handled. The class decides everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Timeout, connection failure, 429, 5xx, a garbled response: retry the same model.
    Transient,
    /// 401/403, unknown model, a 400 not about the output mode: move to the next model.
    Permanent,
    /// A 4xx refusing the structured-output mode: downgrade the mode and try again.
    ModeRejected,
}

/// A provider failure.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// How to handle it.
    pub class: ErrorClass,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    /// What happened (safe to store in the job's trace: no secrets).
    pub message: String,
}

impl ProviderError {
    /// A failure of `class` with no HTTP details.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            status: None,
            retry_after: None,
            message: message.into(),
        }
    }
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
