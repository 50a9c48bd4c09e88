//! Tasks (what kind of answer is wanted) and questions (one concrete request).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::AiError;
use crate::prompts::PromptTemplate;

/// One problem with an answer: a JSON pointer into it and what is wrong. Quoted verbatim in a
/// repair re-ask, so it must be precise.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// JSON pointer into the answer (`""` for the whole answer).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A kind of answer: its name, its output schema (compiled once) and its chain of models.
pub struct Task {
    name: String,
    schema: serde_json::Value,
    validator: jsonschema::Validator,
    chain: Vec<String>,
    prompt: Option<Arc<PromptTemplate>>,
    cache_ttl: Option<Duration>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.name)
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

impl Task {
    /// Compiles the output schema; `chain` lists model names in the order they are tried.
    pub fn new(
        name: impl Into<String>,
        schema: serde_json::Value,
        chain: Vec<String>,
    ) -> Result<Self, AiError> {
        let name = name.into();
        let validator = jsonschema::validator_for(&schema).map_err(|e| AiError::InvalidSchema {
            task: name.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            name,
            schema,
            validator,
            chain,
            prompt: None,
            cache_ttl: None,
        })
    }

    /// The prompt template LLM providers are asked with (the builtin provider needs none).
    pub fn with_prompt(mut self, prompt: Arc<PromptTemplate>) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Caches LLM answers for `ttl` (exact match on prompt version, model and input).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = Some(ttl);
        self
    }

    /// The prompt template, if any.
    pub fn prompt(&self) -> Option<&PromptTemplate> {
        self.prompt.as_deref()
    }

    /// The prompt template's version, if any.
    pub fn prompt_version(&self) -> Option<&str> {
        self.prompt.as_deref().map(PromptTemplate::version)
    }

    /// How long answers are cached, if at all.
    pub fn cache_ttl(&self) -> Option<Duration> {
        self.cache_ttl
    }

    /// The task's name (the job kind).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The output JSON Schema.
    pub fn schema(&self) -> &serde_json::Value {
        &self.schema
    }

    /// The models tried, in order.
    pub fn chain(&self) -> &[String] {
        &self.chain
    }

    /// Every schema violation of `answer`, with instance paths.
    pub fn schema_violations(&self, answer: &serde_json::Value) -> Vec<Violation> {
        self.validator
            .iter_errors(answer)
            .map(|e| Violation {
                path: e.instance_path().as_str().to_owned(),
                message: e.to_string(),
            })
            .collect()
    }
}

/// One concrete question, as the orchestrator sees it: opaque, except for what it must do.
pub trait Question: Send + Sync {
    /// The deterministic answer, computed without a network (the `builtin` provider).
    fn builtin_answer(&self) -> Result<serde_json::Value, String>;

    /// Domain checks (guardrails) applied to every provider's answer, the builtin's included.
    fn check(&self, answer: &serde_json::Value) -> Vec<Violation>;

    /// The question as data for the prompt templates (`{{ input }}`) and the cache key: its
    /// canonical JSON.
    fn prompt_context(&self) -> serde_json::Value;
}
