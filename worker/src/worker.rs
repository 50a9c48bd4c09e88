//! The worker loop: fetch, execute under a lease, write the result, acknowledge.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng as _;
use sparta_jobs::{Delivery, JobId, JobQueue, JobStore, JobsError, Outcome, WorkerId};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::executor::{Executor, RunResult};

/// Tuning of one worker process.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Jobs run at once.
    pub concurrency: usize,
    /// Lease length; renewed every third of it while the job runs.
    pub lease: Duration,
    /// How long one fetch waits for work before looking again (bounds shutdown latency).
    pub fetch_wait: Duration,
    /// How often this process runs a reconciliation pass.
    pub reconcile_every: Duration,
    /// First retry delay; doubles per attempt, with jitter, up to `retry_max`.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// On shutdown, how long in-flight jobs may take to finish before their leases are
    /// released for other workers.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            lease: Duration::from_secs(30),
            fetch_wait: Duration::from_secs(1),
            reconcile_every: Duration::from_secs(1),
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// One worker process's job runner.
pub struct Worker {
    shared: Arc<Shared>,
}

/// What the fetch loop, the reconciler and every job execution share.
struct Shared {
    id: WorkerId,
    store: Arc<dyn JobStore>,
    queue: Arc<dyn JobQueue>,
    executor: Arc<Executor>,
    config: WorkerConfig,
}

impl Worker {
    /// A worker with a fresh, unique id.
    pub fn new(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn JobQueue>,
        executor: Arc<Executor>,
        config: WorkerConfig,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                id: WorkerId::generate("worker"),
                store,
                queue,
                executor,
                config,
            }),
        }
    }

    /// This worker's id (unique per process and per restart).
    pub fn id(&self) -> &WorkerId {
        &self.shared.id
    }

    /// Runs until `shutdown` is cancelled, then stops fetching, lets in-flight jobs finish
    /// within the grace period and releases the leases of those that did not.
    pub async fn run(self, shutdown: CancellationToken) {
        let shared = self.shared;
        tracing::info!(worker = %shared.id, queue = shared.queue.backend(),
            store = shared.store.backend(), concurrency = shared.config.concurrency, "worker started");
        let hard_stop = CancellationToken::new();
        let reconciler = tokio::spawn(reconcile_loop(shared.clone(), shutdown.clone()));
        let mut running = JoinSet::new();
        let slots = Arc::new(Semaphore::new(shared.config.concurrency.max(1)));
        let mut failures = 0u32;
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => break,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let mut permits = vec![first];
            while let Ok(permit) = slots.clone().try_acquire_owned() {
                permits.push(permit);
            }
            let fetched = tokio::select! {
                () = shutdown.cancelled() => break,
                fetched = shared.queue.next(&shared.id, permits.len(), shared.config.fetch_wait, shared.config.lease) => fetched,
            };
            match fetched {
                Ok(deliveries) => {
                    failures = 0;
                    for delivery in deliveries {
                        let Some(permit) = permits.pop() else { break };
                        let shared = shared.clone();
                        let stop = hard_stop.child_token();
                        running.spawn(async move {
                            execute(&shared, delivery, stop).await;
                            drop(permit);
                        });
                    }
                }
                Err(error) => {
                    // The queue or store is down: keep the worker alive and try again with
                    // backoff (a Redis restart must never end a worker).
                    failures = failures.saturating_add(1);
                    let pause =
                        backoff(Duration::from_millis(100), Duration::from_secs(5), failures);
                    tracing::warn!(worker = %shared.id, %error, ?pause, "fetching jobs failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
            // Reap finished executions so the set does not grow.
            while running.try_join_next().is_some() {}
        }
        tracing::info!(worker = %shared.id, in_flight = running.len(), "worker stopping");
        let drained = tokio::time::timeout(shared.config.shutdown_grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            // Executions see the hard stop, release their leases and return.
            hard_stop.cancel();
            while running.join_next().await.is_some() {}
        }
        reconciler.abort();
        tracing::info!(worker = %shared.id, "worker stopped");
    }
}

/// Periodic reconciliation: recover expired leases and re-announce lost queue messages.
async fn reconcile_loop(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(shared.config.reconcile_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match shared.queue.reconcile(&shared.id, Utc::now()).await {
            Ok(done) if done != sparta_jobs::Reconciled::default() => {
                tracing::info!(worker = %shared.id, recovered = done.recovered,
                    reannounced = done.reannounced, swept = done.swept, "reconciled");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(worker = %shared.id, %error, "reconciliation failed"),
        }
    }
}

/// Runs one delivered job to the end of its attempt.
async fn execute(shared: &Shared, delivery: Delivery, stop: CancellationToken) {
    let job = &delivery.job;
    let span = tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempt,
        request_id = job.request_id.as_ref().map(|r| r.as_str()).unwrap_or(""));
    async {
        let lease_lost = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(
            shared.store.clone(),
            job.id,
            shared.id.clone(),
            shared.config.lease,
            lease_lost.clone(),
        ));
        let result = tokio::select! {
            result = shared.executor.run(job) => Some(result),
            () = lease_lost.cancelled() => None,
            () = stop.cancelled() => {
                heartbeat.abort();
                release(shared, job.id).await;
                return;
            }
        };
        heartbeat.abort();
        let Some(result) = result else {
            // Cancelled by the client, or the lease was taken over: nothing may be written.
            tracing::info!("lease lost; dropping the attempt");
            ack(shared, &delivery).await;
            return;
        };
        let outcome = match result {
            RunResult::Answered { output, report } => Outcome::Succeeded { output, report },
            RunResult::Permanent { error, report } => Outcome::Failed { error, report },
            RunResult::Retryable { error, report } => {
                let delay = backoff(
                    shared.config.retry_base,
                    shared.config.retry_max,
                    u32::try_from(job.attempt).unwrap_or(1),
                );
                Outcome::Retry {
                    error,
                    run_at: Utc::now() + chrono::TimeDelta::from_std(delay).unwrap_or_default(),
                    report,
                }
            }
        };
        match shared
            .store
            .finish(job.id, &shared.id, outcome, Utc::now())
            .await
        {
            Ok(done) => tracing::info!(status = %done.status, "job attempt finished"),
            Err(JobsError::LeaseLost) => {
                tracing::info!("lease lost before the result was written; result dropped")
            }
            Err(error) => {
                // The lease will expire and the reconciler re-runs the job: nothing is lost.
                tracing::error!(%error, "writing the result failed");
                return;
            }
        }
        ack(shared, &delivery).await;
    }
    .instrument(span)
    .await;
}

async fn ack(shared: &Shared, delivery: &Delivery) {
    if let Err(error) = shared.queue.ack(delivery).await {
        // An unacknowledged message is swept later; its job is already finished.
        tracing::warn!(%error, "acknowledging the queue message failed");
    }
}

/// Gives the job back at once (shutdown), so another worker need not wait for the lease.
async fn release(shared: &Shared, id: JobId) {
    match shared.store.release(id, &shared.id, Utc::now()).await {
        Ok(()) => {
            if let Err(error) = shared.queue.announce(&[id]).await {
                tracing::warn!(%error, "announcing a released job failed; the reconciler will");
            }
            tracing::info!("lease released on shutdown");
        }
        Err(error) => tracing::warn!(%error, "releasing the lease failed; it will expire"),
    }
}

/// Renews the lease every third of its length; on `LeaseLost` (cancelled, or recovered by the
/// reconciler after a stall) signals the execution to stop.
async fn heartbeat(
    store: Arc<dyn JobStore>,
    id: JobId,
    worker: WorkerId,
    lease: Duration,
    lost: CancellationToken,
) {
    let mut tick = tokio::time::interval(lease / 3);
    tick.tick().await;
    loop {
        tick.tick().await;
        let until = Utc::now() + chrono::TimeDelta::from_std(lease).unwrap_or_default();
        match store.renew_lease(id, &worker, until).await {
            Ok(()) => {}
            Err(JobsError::LeaseLost) => {
                lost.cancel();
                return;
            }
            // A passing store failure: try again next tick; the lease has slack.
            Err(error) => tracing::warn!(%error, "renewing the lease failed"),
        }
    }
}

/// Exponential backoff with full jitter: `base · 2^(n-1)`, capped, then a random point in its
/// upper half so retries of many jobs spread out.
fn backoff(base: Duration, max: Duration, n: u32) -> Duration {
    let exp = base
        .saturating_mul(1u32 << n.saturating_sub(1).min(20))
        .min(max);
    let half = exp / 2;
    half + half.mul_f64(rand::rng().random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for n in 1..30 {
            let d = backoff(base, max, n);
            assert!(d <= max, "{d:?} over the cap");
            let floor = (base.saturating_mul(1 << (n - 1).min(20))).min(max) / 2;
            assert!(d >= floor, "{d:?} under {floor:?}");
        }
    }
}
