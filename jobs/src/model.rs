//! The job model of DESIGN §3: identifiers, the state machine and the job row.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sparta_coach::JobKind;
use sparta_coach::athlete::AthleteId;
use uuid::Uuid;

use crate::JobsError;
use crate::json_text::JsonText;

/// Declares a UUID newtype; new ids are UUIDv7, so they sort by creation time (the list order
/// and the cursor rely on it).
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps an id read from storage or a URL.
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A job's id.
    JobId
);

uuid_id!(
    /// A tenant's id.
    TenantId
);

uuid_id!(
    /// An API key's id (not the key: it names the key in lists and revocations).
    ApiKeyId
);

impl FromStr for ApiKeyId {
    type Err = JobsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| JobsError::InvalidValue("API key id is not a UUID".into()))
    }
}

impl FromStr for TenantId {
    type Err = JobsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| JobsError::InvalidValue("tenant id is not a UUID".into()))
    }
}

impl FromStr for JobId {
    type Err = JobsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| JobsError::InvalidValue("job id is not a UUID".into()))
    }
}

/// Declares a string newtype that is checked once, at the boundary, by `$check`.
macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, $check:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses and checks the value.
            pub fn parse(value: impl Into<String>) -> Result<Self, JobsError> {
                let value = value.into();
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value).map_err(JobsError::InvalidValue)?;
                Ok(Self(value))
            }
            /// The checked text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Printable ASCII without spaces: what ids coming from clients and hosts may contain.
fn token(value: &str, what: &str, max: usize) -> Result<(), String> {
    if value.is_empty() || value.len() > max {
        return Err(format!("{what} must be 1 to {max} characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{what} may contain only printable ASCII without spaces"
        ));
    }
    Ok(())
}

checked_string!(
    /// A worker's identity: unique per process and per restart, so a restarted worker never
    /// inherits the leases (or the queue consumer) of its previous life.
    WorkerId,
    |v| token(v, "worker id", 200)
);

impl WorkerId {
    /// A fresh, unique id for this process: `prefix-hostname-pid-random`.
    pub fn generate(prefix: &str) -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        let host: String = host
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect();
        let short = Uuid::new_v4().simple().to_string();
        Self(format!(
            "{prefix}-{}-{}-{}",
            if host.is_empty() { "host" } else { &host },
            std::process::id(),
            &short[..12]
        ))
    }
}

checked_string!(
    /// A client's `Idempotency-Key`: unique per tenant.
    IdempotencyKey,
    |v| token(v, "Idempotency-Key", 255)
);

checked_string!(
    /// The request id that follows a request from the HTTP edge into the job and its logs.
    RequestId,
    |v| {
        // Only characters that cannot forge a log field or break a header: a client's id
        // travels into logs, job rows and webhook headers.
        if v.is_empty() || v.len() > 128 {
            return Err("request id must be 1 to 128 characters".into());
        }
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        {
            return Err("request id may contain only A-Z, a-z, 0-9, '.', '_', ':' and '-'".into());
        }
        Ok(())
    }
);

impl RequestId {
    /// A fresh request id, `req_<uuid>`.
    pub fn generate() -> Self {
        Self(format!("req_{}", Uuid::now_v7().simple()))
    }
}

checked_string!(
    /// An athlete's id as the client knows it (a motivation subscription's key).
    AthleteKey,
    |v| token(v, "athlete id", 128)
);

checked_string!(
    /// A tenant's name, as given to `sparta tenant create`.
    TenantName,
    |v| {
        if v.is_empty() || v.len() > 100 {
            return Err("tenant name must be 1 to 100 characters".into());
        }
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err("tenant name may contain only letters, digits, '-', '_' and '.'".into());
        }
        Ok(())
    }
);

/// A webhook destination: parsed once, by the `url` crate (the parser the HTTP client uses),
/// into the [`url::Url`] that is the only thing passed on, so the SSRF check and the connection
/// see the same host. [`WebhookUrl::parse`] checks the syntax only (at most 2048 characters,
/// `http`/`https`, a host): stored rows are loaded through it. A submission goes through
/// [`WebhookUrl::submitted`], which also applies the
/// [`DestinationPolicy`](crate::destination::DestinationPolicy); deliveries apply it again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Longest accepted URL, in bytes.
    pub const MAX_LEN: usize = 2048;

    /// Parses the syntax: at most [`Self::MAX_LEN`] bytes, an `http` or `https` URL with a
    /// host. The text is normalised as the `url` crate does (so `as_str` may differ from it).
    pub fn parse(value: impl Into<String>) -> Result<Self, JobsError> {
        let value = value.into();
        if value.len() > Self::MAX_LEN {
            return Err(JobsError::InvalidValue(format!(
                "webhook_url must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        Self::stored(value)
    }

    /// Reads a URL as stored: the syntax of [`Self::parse`] without its length limit, which
    /// applies to what a client sent (normalising may lengthen it: a `/` after the host,
    /// percent-encoding), not to what was made of it.
    pub fn stored(value: String) -> Result<Self, JobsError> {
        let url = url::Url::parse(&value)
            .map_err(|e| JobsError::InvalidValue(format!("webhook_url is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(JobsError::InvalidValue(
                "webhook_url must be an http:// or https:// URL".into(),
            ));
        }
        if url.host().is_none() {
            return Err(JobsError::InvalidValue(
                "webhook_url must name a host".into(),
            ));
        }
        Ok(Self(url))
    }

    /// Parses a URL a client submits: the syntax ([`Self::parse`]), no `\`, whitespace or
    /// control character anywhere in the raw text (the parser would silently rewrite or drop
    /// them), then the destination policy
    /// ([`check_destination`](crate::destination::check_destination)).
    pub fn submitted(
        value: &str,
        policy: &crate::destination::DestinationPolicy,
    ) -> Result<Self, JobsError> {
        if value.contains('\\') {
            return Err(JobsError::InvalidValue(
                "webhook_url must not contain '\\'".into(),
            ));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(JobsError::InvalidValue(
                "webhook_url must not contain whitespace or control characters".into(),
            ));
        }
        let url = Self::parse(value)?;
        crate::destination::check_destination(&url.0, policy).map_err(|reason| {
            JobsError::InvalidValue(format!(
                "webhook_url is not an allowed destination: {reason}"
            ))
        })?;
        Ok(url)
    }

    /// The URL, normalised.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The parsed URL: what is checked and what is connected to.
    pub fn url(&self) -> &url::Url {
        &self.0
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for WebhookUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How urgent a job is: 0 (lowest) to 9 (highest), default 5. Higher runs first when workers are busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Priority(i16);

impl Priority {
    /// The lowest priority.
    pub const MIN: i16 = 0;
    /// The highest priority.
    pub const MAX: i16 = 9;
    /// The priority of a job that does not say.
    pub const DEFAULT: Priority = Priority(5);

    /// Checks the range.
    pub fn new(value: i64) -> Result<Self, JobsError> {
        if (i64::from(Self::MIN)..=i64::from(Self::MAX)).contains(&value) {
            Ok(Self(value as i16))
        } else {
            Err(JobsError::InvalidValue(format!(
                "priority must be between {} and {}",
                Self::MIN,
                Self::MAX
            )))
        }
    }
    /// The number.
    pub fn get(self) -> i16 {
        self.0
    }
}

impl Default for Priority {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Where a job is in its life. Only the transitions of [`JobStatus::can_become`] exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted and waiting for a worker (also after a retryable failure, until `run_at`).
    Queued,
    /// Leased by a worker.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Finished without an output, after its last attempt or on a permanent error.
    Failed,
    /// Cancelled by the client.
    Cancelled,
}

impl JobStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// True once nothing more will happen to the job (unless a client retries a failed one).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// The state machine of DESIGN §3. The stores encode the same rules in their conditional
    /// updates; this is the one place that lists them, and the conformance suite checks that
    /// the stores agree.
    pub fn can_become(self, next: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, next),
            (Queued, Running)
                | (Queued, Cancelled)
                | (Running, Succeeded)
                | (Running, Failed)
                | (Running, Queued)
                | (Running, Cancelled)
                | (Failed, Queued)
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = JobsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| JobsError::InvalidValue(format!("unknown job status '{s}'")))
    }
}

/// Why a job failed: a stable code and a message safe to show the client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobFailure {
    /// A stable, machine-readable code (e.g. `PROVIDER_EXHAUSTED`, `LEASE_EXPIRED`).
    pub code: String,
    /// What happened, for people.
    pub message: String,
}

/// Tokens and money spent on a job, summed over every attempt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Cost in US dollars.
    pub cost_usd: f64,
}

/// A job row: everything SPARTA knows about one job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Job {
    /// The job's id.
    pub id: JobId,
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// What is asked.
    pub kind: JobKind,
    /// Where it is in its life.
    pub status: JobStatus,
    /// The validated input, in canonical form, as stored.
    pub input: JsonText,
    /// The athlete the job is for (`input.athlete.id`), as stored beside it.
    pub athlete_id: Option<AthleteId>,
    /// The answer, once succeeded, as stored.
    pub output: Option<JsonText>,
    /// Why it failed (or why the last attempt failed, while it waits for a retry).
    pub error: Option<JobFailure>,
    /// Attempts started so far.
    pub attempt: i32,
    /// Attempts allowed before the job fails.
    pub max_attempts: i32,
    /// Urgency.
    pub priority: Priority,
    /// Not to be run before this instant.
    pub run_at: DateTime<Utc>,
    /// The worker holding the lease, while running.
    pub lease_owner: Option<WorkerId>,
    /// When that lease runs out unless renewed.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Where to announce the end of the job.
    pub webhook_url: Option<WebhookUrl>,
    /// The client's own data, returned as given.
    pub metadata: Option<serde_json::Value>,
    /// The hash of the prompt template that produced the output.
    pub prompt_version: Option<String>,
    /// The provider that produced the output.
    pub provider: Option<String>,
    /// The model that produced the output.
    pub model: Option<String>,
    /// Tokens and cost over all attempts (failed ones included).
    pub usage: Usage,
    /// One entry per provider attempt.
    pub trace: serde_json::Value,
    /// The request that created the job.
    pub request_id: Option<RequestId>,
    /// The W3C `traceparent` of the request that created the job: its execution, result write
    /// and webhook deliveries continue that trace.
    pub traceparent: Option<String>,
    /// When the job was accepted.
    pub created_at: DateTime<Utc>,
    /// When the current or last attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the job reached a terminal state.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job as its claim hands it to a worker: what running the claimed attempt needs, and no more.
/// A claim's statement returns these columns only: the rest of the row (its lease, which the
/// worker set itself, its status, trace, outputs of earlier attempts…) was decoded for every
/// claimed job and read by none (a tenth of the worker's CPU in a drain, with Postgres sending
/// it).
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// The job's id.
    pub id: JobId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its kind.
    pub kind: JobKind,
    /// The input, as stored (parsed into the kind's type where it runs).
    pub input: JsonText,
    /// The attempt this claim started (1 for the first).
    pub attempt: i32,
    /// The `x-request-id` of the submit, for the worker's log.
    pub request_id: Option<RequestId>,
    /// The W3C `traceparent` of the submit, continued by the attempt's span.
    pub traceparent: Option<String>,
    /// When the job was accepted (its wait is measured from it).
    pub created_at: DateTime<Utc>,
}

/// A job about to be inserted. Built by the API from a parsed request.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// The new job's id.
    pub id: JobId,
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// What is asked.
    pub kind: JobKind,
    /// The validated input, in canonical form.
    pub input: JsonText,
    /// The athlete the input is for ([`sparta_coach::JobInput::athlete`]), taken from the
    /// typed input where it was parsed.
    pub athlete_id: Option<AthleteId>,
    /// Urgency.
    pub priority: Priority,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Hash of the request's meaningful content, compared when an idempotency key is reused.
    pub request_hash: String,
    /// Where to announce the end of the job.
    pub webhook_url: Option<WebhookUrl>,
    /// The client's own data.
    pub metadata: Option<serde_json::Value>,
    /// The request that created the job.
    pub request_id: Option<RequestId>,
    /// The W3C `traceparent` of the request that created the job, if traced.
    pub traceparent: Option<String>,
    /// Acceptance time (also the first `run_at`).
    pub created_at: DateTime<Utc>,
}

/// What an insert did.
#[derive(Clone, Debug, PartialEq)]
pub enum Inserted {
    /// A new job was stored.
    Created(Job),
    /// The idempotency key was seen before with the same request: the original job.
    Replayed(Job),
}

/// How a worker ends an attempt. Every variant is written only if the worker still holds the lease.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The answer.
    Succeeded {
        /// The validated output, written out by the worker that produced it.
        output: JsonText,
        /// What produced it and what it cost.
        report: RunReport,
    },
    /// A permanent failure, or the last attempt failed.
    Failed {
        /// Why.
        error: JobFailure,
        /// What was tried.
        report: RunReport,
    },
    /// A retryable failure: back to `queued` until `run_at` (the attempt counter already moved).
    Retry {
        /// Why this attempt failed.
        error: JobFailure,
        /// When to try again.
        run_at: DateTime<Utc>,
        /// What was tried.
        report: RunReport,
    },
}

/// One attempt's end, as a worker hands it to [`crate::JobStore::finish_many`].
#[derive(Clone, Debug)]
pub struct Finish {
    /// The job.
    pub id: JobId,
    /// The lease owner the write is fenced on.
    pub worker: WorkerId,
    /// How the attempt ended.
    pub outcome: Outcome,
}

/// A result the store accepted: what the worker needs to acknowledge and notify, without
/// reading the job back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// The job.
    pub id: JobId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The status written (`queued` for a retry, `failed` when no attempts were left).
    pub status: JobStatus,
    /// Whether the job has a webhook (a terminal status then created a webhook event).
    pub webhook: bool,
}

impl Job {
    /// The job a freshly inserted [`NewJob`] is, exactly as the store holds it (so an insert
    /// need not read its row back).
    pub fn queued(new: &NewJob) -> Self {
        Self {
            id: new.id,
            tenant_id: new.tenant_id,
            kind: new.kind,
            status: JobStatus::Queued,
            input: new.input.clone(),
            athlete_id: new.athlete_id.clone(),
            output: None,
            error: None,
            attempt: 0,
            max_attempts: new.max_attempts,
            priority: new.priority,
            run_at: new.created_at,
            lease_owner: None,
            lease_expires_at: None,
            idempotency_key: new.idempotency_key.clone(),
            webhook_url: new.webhook_url.clone(),
            metadata: new.metadata.clone(),
            prompt_version: None,
            provider: None,
            model: None,
            usage: Usage::default(),
            trace: serde_json::Value::Array(Vec::new()),
            request_id: new.request_id.clone(),
            traceparent: new.traceparent.clone(),
            created_at: new.created_at,
            started_at: None,
            finished_at: None,
        }
    }
}

/// The bookkeeping of one execution, stored on the job.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Provider of the final answer.
    pub provider: Option<String>,
    /// Model of the final answer.
    pub model: Option<String>,
    /// Prompt template hash.
    pub prompt_version: Option<String>,
    /// Summed usage.
    pub usage: Usage,
    /// Attempt entries to append to the job's trace, each written out where it was made.
    pub trace: Vec<JsonText>,
}

/// Filters and page position for listing a tenant's jobs (newest first).
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Only this kind.
    pub kind: Option<JobKind>,
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Continue after this job (exclusive), from the previous page's cursor.
    pub after: Option<JobId>,
    /// Only jobs for this athlete (`input.athlete.id`): an athlete's token lists its own.
    pub athlete: Option<AthleteKey>,
    /// Page size (the store returns at most this many).
    pub limit: u32,
}

/// A tenant: the owner of API keys and jobs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its unique name.
    pub name: TenantName,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Since when its keys are refused (403), if it is disabled.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// What the store keeps of an API key (never the key: its hash, and this).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApiKeyRecord {
    /// Its id.
    pub id: ApiKeyId,
    /// The tenant it authenticates.
    pub tenant_id: TenantId,
    /// Its name, for people (`default` for the key a tenant is created with).
    pub name: KeyName,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request (updated at most every 30 s per API process).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

checked_string!(
    /// An API key's name: 1 to 64 printable ASCII characters without spaces.
    KeyName,
    |v| token(v, "key name", 64)
);

/// Milliseconds since the Unix epoch, how SQLite keeps instants.
pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`to_millis`].
pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, JobsError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| JobsError::Corrupt(format!("timestamp {ms} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine_lists_exactly_the_designed_transitions() {
        let allowed: Vec<(JobStatus, JobStatus)> = JobStatus::ALL
            .into_iter()
            .flat_map(|a| JobStatus::ALL.into_iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(allowed.len(), 7);
        assert!(!JobStatus::Succeeded.can_become(JobStatus::Queued));
        assert!(!JobStatus::Cancelled.can_become(JobStatus::Running));
        assert!(!JobStatus::Queued.can_become(JobStatus::Succeeded));
    }

    #[test]
    fn newtypes_refuse_bad_values() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("order-42").is_ok());
        assert!(WebhookUrl::parse("ftp://x").is_err());
        assert!(WebhookUrl::parse("https://").is_err());
        assert!(WebhookUrl::parse("https://example.com/hook").is_ok());
        assert!(Priority::new(10).is_err());
        assert!(Priority::new(-1).is_err());
        assert_eq!(Priority::new(9).map(Priority::get).ok(), Some(9));
        assert!(TenantName::parse("acme gym").is_err());
        assert!(TenantName::parse("acme-gym").is_ok());
        assert!("pending".parse::<JobStatus>().is_err());
    }

    #[test]
    fn worker_ids_are_unique() {
        let a = WorkerId::generate("worker");
        let b = WorkerId::generate("worker");
        assert_ne!(a, b);
        assert!(WorkerId::parse(a.as_str()).is_ok());
    }
}
