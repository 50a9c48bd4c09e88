//! The job as clients see it (API responses, server-sent events and webhook payloads): no
//! tenant, no lease, no idempotency internals.
//!
//! A single job shows everything ([`JobView::from`]); lists are compact by default and show the
//! large parts (`input`, `output`, `trace`) only when asked ([`JobView::listed`]).

use crate::json_text::JsonText;
use crate::model::{Job, JobStatus};
use chrono::{DateTime, SecondsFormat, Utc};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sparta_coach::JobKind;
use uuid::Uuid;

/// A job.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct JobView {
    /// The job's id (UUIDv7: ids sort by creation time).
    pub id: Uuid,
    /// What is asked.
    pub kind: JobKind,
    /// Where the job is: `queued → running → succeeded | failed | cancelled` (a retryable
    /// failure goes back to `queued`).
    #[schemars(schema_with = "status_schema")]
    pub status: JobStatus,
    /// The validated input, in canonical form (the kind's input schema). Absent from lists
    /// unless asked for with `include=input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Value>")]
    pub input: Option<JsonText>,
    /// The answer (the kind's output schema), once `succeeded` (null before). Absent from lists
    /// unless asked for with `include=output`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Value>")]
    pub output: Option<Option<JsonText>>,
    /// Why the job failed, or why its last attempt failed while it waits for a retry.
    pub error: Option<FailureView>,
    /// Attempts started so far.
    pub attempt: i32,
    /// Attempts allowed before the job fails.
    pub max_attempts: i32,
    /// Urgency, 0 (lowest) to 9 (highest).
    #[schemars(range(min = 0, max = 9))]
    pub priority: i16,
    /// Not run before this instant (RFC 3339).
    #[schemars(with = "DateTime<Utc>")]
    pub run_at: String,
    /// Where the end of the job is announced.
    pub webhook_url: Option<String>,
    /// The client's own data, returned as given.
    pub metadata: Option<Map<String, Value>>,
    /// The provider that produced the output.
    pub provider: Option<String>,
    /// The model that produced the output.
    pub model: Option<String>,
    /// The prompt template version (content hash) that produced the output.
    pub prompt_version: Option<String>,
    /// Tokens and cost over all attempts.
    pub usage: UsageView,
    /// One entry per provider attempt: provider, model, latency, outcome. Absent from lists
    /// unless asked for with `include=trace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<Map<String, Value>>>,
    /// The id of the request that created the job.
    pub request_id: Option<String>,
    /// When the job was accepted (RFC 3339).
    #[schemars(with = "DateTime<Utc>")]
    pub created_at: String,
    /// When the current or last attempt started (RFC 3339).
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub started_at: Option<String>,
    /// When the job reached a terminal state (RFC 3339).
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub finished_at: Option<String>,
}

/// Why a job failed.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct FailureView {
    /// Stable, machine-readable code (e.g. `PROVIDER_EXHAUSTED`).
    pub code: String,
    /// What happened.
    pub message: String,
}

/// Tokens and money spent on a job.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct UsageView {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Cost in US dollars.
    pub cost_usd: f64,
}

fn status_schema(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
    Schema::try_from(json!({"type": "string", "enum": names})).unwrap_or_default()
}

/// An instant as every response and webhook shows it: RFC 3339 at millisecond precision with a
/// `Z` (what the stores keep, in one fixed shape).
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Which large parts of a job a list shows (`?include=input,output,trace`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Included {
    /// `input`.
    pub input: bool,
    /// `output`.
    pub output: bool,
    /// `trace`.
    pub trace: bool,
}

impl Included {
    /// Every part: what a single job shows.
    pub const ALL: Included = Included {
        input: true,
        output: true,
        trace: true,
    };
    /// The names a list's `include` accepts.
    pub const NAMES: [&'static str; 3] = ["input", "output", "trace"];

    /// Adds the part called `name`; false for an unknown name.
    pub fn add(&mut self, name: &str) -> bool {
        match name {
            "input" => self.input = true,
            "output" => self.output = true,
            "trace" => self.trace = true,
            _ => return false,
        }
        true
    }
}

impl From<Job> for JobView {
    fn from(job: Job) -> Self {
        Self::listed(job, Included::ALL)
    }
}

impl JobView {
    /// The job as a list shows it: status and metadata, plus the `included` large parts.
    pub fn listed(job: Job, included: Included) -> Self {
        let metadata = match job.metadata {
            Some(Value::Object(map)) => Some(map),
            // Stored metadata is always an object (the API refuses anything else); keep a
            // foreign value visible rather than dropping it.
            Some(other) => Some(Map::from_iter([("value".to_owned(), other)])),
            None => None,
        };
        let trace = match job.trace {
            Value::Array(entries) => entries
                .into_iter()
                .map(|entry| match entry {
                    Value::Object(map) => map,
                    other => Map::from_iter([("value".to_owned(), other)]),
                })
                .collect(),
            _ => Vec::new(),
        };
        let trace = included.trace.then_some(trace);
        Self {
            id: job.id.as_uuid(),
            kind: job.kind,
            status: job.status,
            input: included.input.then_some(job.input),
            output: included.output.then_some(job.output),
            error: job.error.map(|e| FailureView {
                code: e.code,
                message: e.message,
            }),
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            priority: job.priority.get(),
            run_at: instant(job.run_at),
            webhook_url: job.webhook_url.map(|u| u.as_str().to_owned()),
            metadata,
            provider: job.provider,
            model: job.model,
            prompt_version: job.prompt_version,
            usage: UsageView {
                input_tokens: job.usage.input_tokens,
                output_tokens: job.usage.output_tokens,
                cost_usd: job.usage.cost_usd,
            },
            trace,
            request_id: job.request_id.map(|r| r.as_str().to_owned()),
            created_at: instant(job.created_at),
            started_at: job.started_at.map(instant),
            finished_at: job.finished_at.map(instant),
        }
    }
}
