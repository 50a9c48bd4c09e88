//! Webhook delivery (DESIGN §7): claims due events from the store's delivery queue, sends each
//! signed with the tenant's secrets (Standard Webhooks), and records every attempt.
//!
//! At least once: an event is claimed with a lease longer than one attempt, so a deliverer that
//! dies mid-attempt only delays it. 2xx is delivered; any other answer, a timeout or a refused
//! connection is retried on the configured schedule with the same `webhook-id` and the same body
//! (frozen by the first attempt). A destination the SSRF guard refuses is given up at once.
//!
//! The SSRF guard (`sparta_jobs::destination`) sees the same parsed URL the connection uses:
//! before each attempt the URL is checked against the policy (scheme, user info, port, an
//! IP-literal host, which the client's resolver never sees), and the client's own resolver
//! checks every address a host name resolves to, so the connection goes exactly where checked.
//! No redirect is followed and no proxy used. What a tenant reads of a failed attempt is a
//! class ("destination not allowed", "destination could not be resolved", "connection
//! refused", "connection timed out", "no answer within 10s", "TLS error", "the receiver
//! answered 500"…), never an address or a resolver's message: the details go to the logs.
//!
//! Fair across tenants: at most `per_tenant_concurrency` deliveries of one tenant are in
//! flight per deliverer (the store's claim enforces it), so a tenant whose receiver hangs
//! cannot hold every slot, and its queued events never block another tenant's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sparta_jobs::outbox::{DeliveryAttempt, NextStep, WebhookEvent};
use sparta_jobs::view::{JobView, instant};
use sparta_jobs::{JobStore, JobsError, WorkerId, signature_header};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::error::WorkerError;
use sparta_jobs::destination::{
    DestinationPolicy, NOT_ALLOWED, UNRESOLVABLE, check_destination, checked_addresses,
};

/// How webhooks are delivered.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Delay before each attempt; its length is the number of attempts (DESIGN §7: immediately,
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). The first attempt always leaves as soon as the
    /// job ends (the event is due then); each next one waits its delay after the previous one.
    pub schedule: Vec<Duration>,
    /// One attempt's time limit; past it the attempt failed.
    pub timeout: Duration,
    /// Time allowed to connect, inside `timeout` (default 3 s): a receiver that does not even
    /// accept connections frees its slot quickly.
    pub connect_timeout: Duration,
    /// Where webhooks may go (networks allowed although not public, ports).
    pub destinations: DestinationPolicy,
    /// How often the queue is looked at when nothing wakes the deliverer.
    pub poll: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Deliveries in flight at once for one tenant (default 4), so one tenant's slow receiver
    /// cannot hold every slot.
    pub per_tenant_concurrency: usize,
    /// How long a rotated-out signing secret keeps signing.
    pub secret_grace: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        let secs = Duration::from_secs;
        Self {
            schedule: vec![
                secs(0),
                secs(5),
                secs(5 * 60),
                secs(30 * 60),
                secs(2 * 3600),
                secs(5 * 3600),
                secs(10 * 3600),
                secs(10 * 3600),
            ],
            timeout: secs(10),
            connect_timeout: secs(3),
            destinations: DestinationPolicy::default(),
            poll: Duration::from_millis(500),
            concurrency: 16,
            per_tenant_concurrency: 4,
            secret_grace: secs(24 * 3600),
        }
    }
}

/// Delivers webhook events until shut down.
pub struct Deliverer {
    id: WorkerId,
    store: Arc<dyn JobStore>,
    client: reqwest::Client,
    config: DeliveryConfig,
    wake: Arc<Notify>,
}

impl Deliverer {
    /// A deliverer with a fresh id. `wake` lets the job worker of the same process announce
    /// that a job just ended, so its webhook leaves at once rather than at the next poll.
    pub fn new(
        store: Arc<dyn JobStore>,
        config: DeliveryConfig,
        wake: Arc<Notify>,
    ) -> Result<Self, WorkerError> {
        if config.schedule.is_empty() {
            return Err(WorkerError::Config(
                "the webhook retry schedule needs at least one attempt".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout.min(config.timeout))
            // A redirect would leave the checked destination.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect somewhere else than the checked addresses.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: Arc::new(config.destinations.clone()),
            }))
            .user_agent(concat!("SPARTA-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WorkerError::Config(format!("webhook HTTP client: {e}")))?;
        Ok(Self {
            id: WorkerId::generate("webhooks"),
            store,
            client,
            config,
            wake,
        })
    }

    /// Runs until `shutdown`; deliveries in flight then finish (each is bounded by the
    /// timeout). An event whose attempt is cut short is delivered again after its lease.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(this.config.concurrency.max(1)));
        let lease = this.lease();
        tracing::info!(deliverer = %this.id, "webhook deliverer started");
        loop {
            let free = u32::try_from(slots.available_permits()).unwrap_or(u32::MAX);
            let per_tenant =
                u32::try_from(this.config.per_tenant_concurrency.max(1)).unwrap_or(u32::MAX);
            let mut claimed = 0;
            if free > 0 {
                match this
                    .store
                    .claim_webhook_events(&this.id, Utc::now(), lease, free, per_tenant)
                    .await
                {
                    Ok(events) => {
                        claimed = events.len();
                        for event in events {
                            let Ok(permit) = slots.clone().acquire_owned().await else {
                                return;
                            };
                            let this = this.clone();
                            let span = tracing::info_span!("webhook", webhook_id = %event.id,
                                job_id = %event.job_id, event = event.event_type.as_str());
                            tokio::spawn(
                                async move {
                                    this.deliver(event).await;
                                    drop(permit);
                                    // A slot and the tenant's place are free: the tenant's
                                    // next event need not wait for the next poll.
                                    this.wake.notify_one();
                                }
                                .instrument(span),
                            );
                        }
                    }
                    Err(error) => tracing::warn!(%error, "claiming webhook events failed"),
                }
            }
            // A full batch means more may be due: look again at once.
            if claimed > 0 && claimed == usize::try_from(free).unwrap_or(usize::MAX) {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = this.wake.notified() => {}
                () = tokio::time::sleep(this.config.poll) => {}
            }
        }
        // Let in-flight deliveries finish: each holds a slot until it is recorded.
        let all = u32::try_from(this.config.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(this.lease(), slots.acquire_many(all)).await;
        tracing::info!(deliverer = %this.id, "webhook deliverer stopped");
    }

    /// The claim on one event: an attempt, plus slack for reading and recording.
    fn lease(&self) -> Duration {
        self.config.timeout * 2 + Duration::from_secs(10)
    }

    async fn deliver(&self, event: WebhookEvent) {
        let span = tracing::info_span!("webhook.deliver", event_id = %event.id,
            job_id = %event.job_id, attempt = event.attempts.saturating_add(1));
        if sparta_jobs::trace_context::enabled()
            && let Ok(Some(job)) = self.store.get_job(event.tenant_id, event.job_id).await
        {
            // The delivery continues the trace of the request that created the job.
            sparta_jobs::trace_context::continue_trace(&span, job.traceparent.as_deref());
        }
        self.attempt(event).instrument(span).await;
    }

    async fn attempt(&self, event: WebhookEvent) {
        let attempt = event.attempts.saturating_add(1);
        let started_at = Utc::now();
        let clock = Instant::now();
        let (status_code, error, next) = match self.send(&event).await {
            Sent::Answered(status) if (200..300).contains(&status) => {
                (Some(status), None, NextStep::Delivered)
            }
            Sent::Answered(status) => (
                Some(status),
                Some(format!("the receiver answered {status}")),
                self.after_failure(attempt),
            ),
            Sent::Failed(error) => (None, Some(error), self.after_failure(attempt)),
            Sent::Refused(error) => (None, Some(error), NextStep::GiveUp),
        };
        let record = DeliveryAttempt {
            attempt,
            started_at,
            duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
            status_code,
            error,
        };
        match next {
            NextStep::Delivered => {
                crate::metrics::webhook_attempt("delivered", Some(event.created_at));
                tracing::info!(attempt, status_code, "webhook delivered")
            }
            NextStep::RetryAt(at) => {
                crate::metrics::webhook_attempt("retry", None);
                tracing::info!(attempt, error = record.error.as_deref(), %at, "webhook attempt failed; will retry")
            }
            NextStep::GiveUp => {
                crate::metrics::webhook_attempt("given_up", None);
                tracing::error!(attempt, error = record.error.as_deref(), "webhook given up")
            }
        }
        match self
            .store
            .record_webhook_attempt(&event.id, &self.id, &record, next, Utc::now())
            .await
        {
            Ok(()) => {}
            Err(JobsError::LeaseLost) => {
                tracing::warn!("the claim on the event ran out before the attempt was recorded")
            }
            // The claim's lease runs out and the event is sent again: at least once.
            Err(error) => tracing::error!(%error, "recording the webhook attempt failed"),
        }
    }

    /// What follows failed attempt `attempt` (1-based) on the schedule.
    fn after_failure(&self, attempt: u32) -> NextStep {
        match self
            .config
            .schedule
            .get(usize::try_from(attempt).unwrap_or(usize::MAX))
        {
            Some(delay) => NextStep::RetryAt(
                Utc::now() + chrono::TimeDelta::from_std(*delay).unwrap_or(chrono::TimeDelta::MAX),
            ),
            None => NextStep::GiveUp,
        }
    }

    async fn send(&self, event: &WebhookEvent) -> Sent {
        let body = match self.payload(event).await {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "preparing the webhook payload failed");
                return Sent::Failed("the payload could not be prepared (internal error)".into());
            }
        };
        // IP-literal hosts never reach the resolver: the parsed URL is judged here, as the
        // API judged it at submit (the policy may have changed since, or the row be old).
        if let Err(reason) = check_destination(event.url.url(), &self.config.destinations) {
            tracing::warn!(%reason, "webhook destination refused");
            return Sent::Refused(NOT_ALLOWED.into());
        }
        let now = Utc::now();
        let secrets = match self
            .store
            .webhook_secrets(event.tenant_id, now, self.config.secret_grace)
            .await
        {
            Ok(secrets) if !secrets.is_empty() => secrets,
            Ok(_) => return Sent::Refused("the tenant has no webhook signing secret".into()),
            Err(error) => {
                tracing::warn!(%error, "reading the webhook signing secret failed");
                return Sent::Failed(
                    "the signing secret could not be read (internal error)".into(),
                );
            }
        };
        // The request id follows the job into its webhook (DESIGN §8), read from the frozen
        // body so every retry carries the same one.
        let request_id = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["data"]["request_id"].as_str().map(str::to_owned));
        let timestamp = now.timestamp();
        let signers: Vec<&_> = secrets.iter().collect();
        let signature = signature_header(&signers, &event.id, timestamp, body.as_bytes());
        let request = self
            .client
            .post(event.url.url().clone())
            .header("content-type", "application/json")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature);
        let request = match request_id {
            Some(id) => request.header("x-request-id", id),
            None => request,
        };
        let request = match sparta_jobs::trace_context::traceparent(&tracing::Span::current()) {
            Some(traceparent) => request.header("traceparent", traceparent),
            None => request,
        }
        .body(body);
        match request.send().await {
            Ok(response) => Sent::Answered(response.status().as_u16()),
            Err(error) => {
                let sent = classify(&error, self.config.timeout);
                tracing::warn!(error = %describe(&error), "webhook request failed");
                sent
            }
        }
    }

    /// The event's body: `{type, timestamp, data: <the job>}`, rendered by the first attempt
    /// and frozen in the store, so every retry sends the same bytes.
    async fn payload(&self, event: &WebhookEvent) -> Result<String, JobsError> {
        if let Some(body) = &event.payload {
            return Ok(body.clone());
        }
        let job = self
            .store
            .get_job(event.tenant_id, event.job_id)
            .await?
            .ok_or(JobsError::NotFound)?;
        let body = serde_json::json!({
            "type": event.event_type,
            "timestamp": instant(job.finished_at.unwrap_or(event.created_at)),
            "data": JobView::from(job),
        });
        self.store
            .freeze_webhook_payload(&event.id, &body.to_string())
            .await
    }
}

/// What one attempt came to.
enum Sent {
    /// The receiver answered with this status.
    Answered(u16),
    /// No answer (connection refused, timeout, DNS): retried.
    Failed(String),
    /// The destination must not be called: given up.
    Refused(String),
}

/// The whole chain of a transport error ("error sending request: … : connection refused"),
/// for the logs only: it may name internal addresses.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next;
    }
    text
}

/// What a failed request is recorded as: a class a tenant may read, never the error's text.
/// A destination the resolver refused is given up; everything else is retried.
fn classify(error: &reqwest::Error, timeout: Duration) -> Sent {
    let mut kinds = Vec::new();
    let mut text = String::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.downcast_ref::<Forbidden>().is_some() {
            return Sent::Refused(NOT_ALLOWED.into());
        }
        if current.downcast_ref::<Unresolved>().is_some() {
            return Sent::Failed(UNRESOLVABLE.into());
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            kinds.push(io.kind());
        }
        text.push_str(&current.to_string().to_ascii_lowercase());
        text.push(' ');
        cause = current.source();
    }
    use std::io::ErrorKind;
    let class = if error.is_timeout() && error.is_connect() {
        "connection timed out".to_owned()
    } else if error.is_timeout() {
        format!("no answer within {timeout:?}")
    } else if kinds.contains(&ErrorKind::ConnectionRefused) {
        "connection refused".to_owned()
    } else if kinds.contains(&ErrorKind::ConnectionReset)
        || kinds.contains(&ErrorKind::ConnectionAborted)
    {
        "connection reset".to_owned()
    } else if ["tls", "ssl", "certificate", "handshake"]
        .iter()
        .any(|word| text.contains(word))
    {
        "TLS error".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the receiver's answer could not be read".to_owned()
    } else {
        "the request failed".to_owned()
    };
    Sent::Failed(class)
}

/// The resolver refused an address (the detail names it: logs only).
#[derive(Debug)]
struct Forbidden(String);

/// The resolver found no address (the detail is the resolver's: logs only).
#[derive(Debug)]
struct Unresolved(String);

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "destination not allowed: {}", self.0)
    }
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Forbidden {}
impl std::error::Error for Unresolved {}

/// Resolves webhook hosts and refuses any address the SSRF guard forbids, so the connection
/// goes to exactly the addresses checked (a second DNS answer cannot swap them).
struct GuardedResolver {
    policy: Arc<DestinationPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(addrs) => addrs.collect(),
                Err(e) => {
                    return Err(
                        Box::new(Unresolved(format!("cannot resolve '{host}': {e}")))
                            as Box<dyn std::error::Error + Send + Sync>,
                    );
                }
            };
            if addrs.is_empty() {
                return Err(Box::new(Unresolved(format!(
                    "'{host}' resolves to no address"
                ))));
            }
            let addrs = checked_addresses(&host, addrs, &policy).map_err(|reason| {
                tracing::warn!(%reason, "webhook destination refused");
                Box::new(Forbidden(reason)) as Box<dyn std::error::Error + Send + Sync>
            })?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
