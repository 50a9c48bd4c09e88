//! Any OpenAI-compatible server (OpenAI, Azure-style base URLs, vLLM, llama.cpp `llama-server`,
//! Ollama, LM Studio, OpenRouter…) through async-openai.
//!
//! What the notes on async-openai (shared/notes/llm-providers.md) require, and how it is met:
//! - The base URL and key are always explicit; organisation and project are blanked, so
//!   `OPENAI_*` variables of the environment never leak to another host.
//! - The library's own retry layer is replaced: requests go through a transport of ours (a
//!   tower service with no retry), so the orchestrator is the one retry owner.
//! - The transport reads the HTTP status and `Retry-After` before async-openai parses the body,
//!   so error bodies that are not OpenAI-shaped (llama-server's integer `code`, plain text)
//!   keep their status.
//! - Requests and responses are our own types (`byot`): `finish_reason` is a free string
//!   (`eos_token`, `""`…), and `message.refusal` is read.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    CompletionRequest, CompletionResponse, ErrorClass, FinishReason, OutputMode, Provider,
    ProviderError,
};
use crate::strict_schema::strict_schema;

/// Longest error body kept in a message (bodies can be large HTML pages).
const BODY_EXCERPT: usize = 300;

/// A non-2xx answer, caught by the transport with its status intact.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}: {body}")]
struct HttpFailure {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

/// An OpenAI-compatible chat-completions endpoint.
pub struct OpenAiProvider {
    client: Client<OpenAIConfig>,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds the API key: never print it.
        f.debug_struct("OpenAiProvider").finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// A provider for `base_url` (e.g. `https://api.openai.com/v1`, `http://127.0.0.1:8000/v1`)
    /// with `api_key` (empty for servers that need none). `timeout` bounds every HTTP exchange
    /// as a backstop; the orchestrator's per-attempt deadline is usually shorter.
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> Result<Self, ProviderError> {
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(api_key)
            .with_org_id("")
            .with_project_id("");
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ProviderError::new(ErrorClass::Permanent, e.to_string()))?;
        let transport = tower::service_fn(move |factory: HttpRequestFactory| {
            let http = http.clone();
            async move {
                let request = factory.build().await?;
                let response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
                let status = response.status();
                if status.is_success() {
                    return Ok(response);
                }
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64);
                let body = response.text().await.unwrap_or_default();
                Err(OpenAIError::Boxed(Box::new(HttpFailure {
                    status: status.as_u16(),
                    retry_after,
                    body: excerpt(&body),
                })))
            }
        });
        Ok(Self {
            client: Client::with_config(config).with_http_service(transport),
        })
    }
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(BODY_EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The request body, in the OpenAI chat-completions shape every compatible server reads.
fn request_body(request: &CompletionRequest<'_>) -> Value {
    let mut body = json!({
        "model": request.model,
        "messages": request.messages,
        "stream": false,
    });
    if let Some(max_tokens) = request.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    match request.mode {
        OutputMode::JsonSchema => {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name,
                    "schema": strict_schema(request.schema),
                    "strict": true,
                }
            });
        }
        OutputMode::JsonObject => body["response_format"] = json!({"type": "json_object"}),
        OutputMode::PromptOnly => {}
    }
    body
}

#[derive(Debug, Deserialize)]
struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<UsageBody>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UsageBody {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// Turns a failed call into the error class the orchestrator acts on.
fn classify(error: OpenAIError, mode: OutputMode) -> ProviderError {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpFailure>() {
            Ok(failure) => {
                let class = match failure.status {
                    408 | 409 | 425 | 429 | 500..=599 => ErrorClass::Transient,
                    400 | 415 | 422
                        if mode != OutputMode::PromptOnly && about_mode(&failure.body) =>
                    {
                        ErrorClass::ModeRejected
                    }
                    _ => ErrorClass::Permanent,
                };
                ProviderError {
                    class,
                    status: Some(failure.status),
                    retry_after: failure.retry_after,
                    message: failure.to_string(),
                }
            }
            Err(other) => ProviderError::new(ErrorClass::Transient, other.to_string()),
        },
        OpenAIError::Reqwest(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "transport error"
            };
            // reqwest's message may carry the URL but never the key (it is a header).
            ProviderError::new(ErrorClass::Transient, format!("{what}: {e}"))
        }
        OpenAIError::JSONDeserialize(e, body) => ProviderError::new(
            ErrorClass::Transient,
            format!("malformed response ({e}): {}", excerpt(&body)),
        ),
        OpenAIError::ApiError(e) => ProviderError::new(ErrorClass::Permanent, e.to_string()),
        other => ProviderError::new(ErrorClass::Permanent, other.to_string()),
    }
}

/// True when a 4xx body complains about the structured-output request.
fn about_mode(body: &str) -> bool {
    let body = body.to_ascii_lowercase();
    [
        "response_format",
        "json_schema",
        "json_object",
        "structured output",
    ]
    .iter()
    .any(|needle| body.contains(needle))
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn name(&self) -> &str {
        "openai"
    }

    async fn complete(
        &self,
        request: &CompletionRequest<'_>,
    ) -> Result<CompletionResponse, ProviderError> {
        let response: ChatResponse = self
            .client
            .chat()
            .create_byot(request_body(request))
            .await
            .map_err(|e| classify(e, request.mode))?;
        let usage = response.usage.as_ref();
        let input_tokens = usage.and_then(|u| u.prompt_tokens).unwrap_or(0);
        let output_tokens = usage.and_then(|u| u.completion_tokens).unwrap_or(0);
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(ProviderError::new(
                ErrorClass::Transient,
                "the response has no choices",
            ));
        };
        let refused = choice
            .message
            .refusal
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty());
        let finish = if refused {
            FinishReason::Refusal
        } else {
            FinishReason::parse(choice.finish_reason.as_deref())
        };
        Ok(CompletionResponse {
            value: None,
            content: choice.message.content.unwrap_or_default(),
            finish,
            input_tokens,
            output_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_complaints_are_recognised() {
        assert!(about_mode(
            r#"{"error":"response_format json_schema is not supported"}"#
        ));
        assert!(about_mode("Invalid value for 'response_format.type'"));
        assert!(!about_mode(
            r#"{"error":{"message":"max_tokens too large"}}"#
        ));
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "x".repeat(1000);
        assert!(excerpt(&body).chars().count() <= BODY_EXCERPT + 1);
        assert_eq!(excerpt(" short "), "short");
    }
}
