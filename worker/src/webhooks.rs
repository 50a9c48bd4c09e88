//! Webhook delivery (DESIGN §7): claims due events from the store's delivery queue, sends each
//! signed with the tenant's secrets (Standard Webhooks), and records every attempt.
//!
//! At least once: an event is claimed with a lease longer than one attempt, so a deliverer that
//! dies mid-attempt only delays it. 2xx is delivered; any other answer, a timeout or a refused
//! connection is retried on the configured schedule with the same `webhook-id` and the same body
//! (frozen by the first attempt). A destination the SSRF guard refuses is given up at once.

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

use sparta_jobs::destination::{
    DestinationPolicy, Network, check_destination, checked_addresses,
};
use crate::error::WorkerError;

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
                allow: config.destinations.allow_networks.clone().into(),
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
            let mut claimed = 0;
            if free > 0 {
                match this
                    .store
                    .claim_webhook_events(&this.id, Utc::now(), lease, free)
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
            NextStep::Delivered => tracing::info!(attempt, status_code, "webhook delivered"),
            NextStep::RetryAt(at) => {
                tracing::info!(attempt, error = record.error.as_deref(), %at, "webhook attempt failed; will retry")
            }
            NextStep::GiveUp => {
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
            Err(error) => return Sent::Failed(format!("preparing the payload failed: {error}")),
        };
        if let Err(reason) = check_destination(event.url.as_str(), &self.config.destinations.allow_networks).await {
            return if reason.starts_with("cannot resolve") {
                Sent::Failed(reason)
            } else {
                Sent::Refused(format!("destination refused: {reason}"))
            };
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
                return Sent::Failed(format!("reading the signing secret failed: {error}"));
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
            .post(event.url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature);
        let request = match request_id {
            Some(id) => request.header("x-request-id", id),
            None => request,
        }
        .body(body);
        match request.send().await {
            Ok(response) => Sent::Answered(response.status().as_u16()),
            Err(error) if error.is_timeout() => {
                Sent::Failed(format!("no answer within {:?}", self.config.timeout))
            }
            Err(error) => Sent::Failed(describe(&error)),
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

/// The innermost cause of a transport error ("connection refused"), which reqwest's own
/// message hides behind "error sending request".
fn describe(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("{error}: {cause}")
}

/// Resolves webhook hosts and refuses any address the SSRF guard forbids, so the connection
/// goes to exactly the addresses checked (a second DNS answer cannot swap them).
struct GuardedResolver {
    allow: Arc<[Network]>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs = checked_addresses(&host, addrs, &allow)?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
