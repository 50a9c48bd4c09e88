//! Webhook events and their delivery attempts (DESIGN §7): the model of the delivery queue.
//!
//! The store creates an event in the same transaction as the job's terminal transition (a
//! database trigger, so no code path can forget it); deliverers claim due events, send them and
//! record every attempt, at most a configured number in flight per tenant per deliverer. The
//! event id is the `webhook-id` header, the same on every retry.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::JobsError;
use crate::model::{JobId, TenantId, WebhookUrl};

/// What happened to the job: the Standard Webhooks event `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EventType {
    /// The job ended with an answer.
    #[serde(rename = "job.succeeded")]
    JobSucceeded,
    /// The job ended without one.
    #[serde(rename = "job.failed")]
    JobFailed,
    /// The client cancelled it.
    #[serde(rename = "job.cancelled")]
    JobCancelled,
}

impl EventType {
    /// The wire name (`job.succeeded`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::JobSucceeded => "job.succeeded",
            EventType::JobFailed => "job.failed",
            EventType::JobCancelled => "job.cancelled",
        }
    }

    pub(crate) fn parse(name: &str) -> Result<Self, JobsError> {
        match name {
            "job.succeeded" => Ok(EventType::JobSucceeded),
            "job.failed" => Ok(EventType::JobFailed),
            "job.cancelled" => Ok(EventType::JobCancelled),
            other => Err(JobsError::Corrupt(format!("unknown event type '{other}'"))),
        }
    }
}

/// Where an event's delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; attempts remain.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt of the schedule failed, or the destination is refused.
    Failed,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(name: &str) -> Result<Self, JobsError> {
        match name {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            other => Err(JobsError::Corrupt(format!(
                "unknown delivery status '{other}'"
            ))),
        }
    }
}

/// A webhook event handed to a deliverer.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEvent {
    /// The `webhook-id` (`msg_…`), stable across retries.
    pub id: String,
    /// The job's tenant (whose secrets sign).
    pub tenant_id: TenantId,
    /// The job the event is about.
    pub job_id: JobId,
    /// What happened.
    pub event_type: EventType,
    /// Where to send it.
    pub url: WebhookUrl,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The body, once the first attempt froze it.
    pub payload: Option<String>,
    /// When the event was created (the job's end).
    pub created_at: DateTime<Utc>,
}

/// One recorded delivery attempt.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the request started.
    pub started_at: DateTime<Utc>,
    /// How long until the answer (or the failure).
    pub duration_ms: u64,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why the attempt failed, when it did without a status or with a non-2xx one. The tenant
    /// reads it, so it is a class ("connection refused", "destination not allowed", "the
    /// receiver answered 500"…), never an internal address or a resolver's message (those go
    /// to the deliverer's logs).
    pub error: Option<String>,
}

/// What follows an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Delivered: no more attempts.
    Delivered,
    /// Try again at this instant.
    RetryAt(DateTime<Utc>),
    /// No more attempts: the event failed.
    GiveUp,
}

/// An event with its delivery history, as listed at `GET /v1/jobs/{id}/deliveries`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    /// The `webhook-id`.
    pub id: String,
    /// What happened.
    pub event_type: EventType,
    /// The destination.
    pub url: String,
    /// Where the delivery stands.
    pub status: DeliveryStatus,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event was created.
    pub created_at: DateTime<Utc>,
    /// When it was delivered or given up.
    pub finished_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub attempts: Vec<DeliveryAttempt>,
}
