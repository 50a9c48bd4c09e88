//! The worker: an apalis worker fed with claimed jobs, each executed under a lease (renewed
//! for all of a worker's jobs at once, [`crate::leases`]) whose result write is fenced and
//! batched ([`crate::results`]), plus the reconciler, whose tick also applies the operator's
//! breaker overrides from the store.

use std::sync::Arc;
use std::time::Duration;

use apalis_core::error::BoxDynError;
use apalis_core::worker::builder::WorkerBuilder;
use chrono::Utc;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use sparta_jobs::{Finish, JobId, JobQueue, JobStore, WorkerId};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::executor::Executor;
use crate::intake::{Backlog, Claimed, Lane, Slots, claim_backend};
use crate::leases::{Leases, heartbeat};
use crate::metrics::JobMetrics;
use crate::results::{ResultWriter, Written};
use sparta_ai::Backoff;

/// Tuning of one worker process.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Jobs run at once.
    pub concurrency: usize,
    /// Claim streams sharing the `concurrency` slots; the second and later claim only while
    /// claims come back full (a backlog). 0 is taken as 1, as `concurrency` is.
    pub claim_lanes: usize,
    /// Lease length; renewed every third of it from the claim until the result is stored.
    pub lease: Duration,
    /// How long one fetch waits for work before looking again (bounds shutdown latency).
    pub fetch_wait: Duration,
    /// How often this process runs a reconciliation pass.
    pub reconcile_every: Duration,
    /// On shutdown, how long in-flight jobs may take to finish before their leases are
    /// released for other workers.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            claim_lanes: 2,
            lease: Duration::from_secs(30),
            fetch_wait: Duration::from_secs(1),
            reconcile_every: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// One worker process's job runner.
pub struct Worker {
    shared: Arc<Shared>,
}

/// What the fetch stream, the reconciler and every job execution share.
pub(crate) struct Shared {
    /// The process's first worker id; the reconciler's identity.
    id: WorkerId,
    pub(crate) store: Arc<dyn JobStore>,
    pub(crate) queue: Arc<dyn JobQueue>,
    executor: Arc<Executor>,
    pub(crate) config: WorkerConfig,
    /// Cancelled when the shutdown grace period is over: executions release their leases.
    hard_stop: CancellationToken,
    /// Notified when a job with a webhook ended here, so its delivery need not wait for a poll.
    ended: Arc<Notify>,
    /// Where executions hand their results (written and acknowledged in batches).
    results: ResultWriter,
    /// The handles of the job metrics.
    metrics: JobMetrics,
}

impl Worker {
    /// A worker with a fresh, unique id. Starts its result writer (a task of the current
    /// runtime), which lives as long as the worker.
    pub fn new(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn JobQueue>,
        executor: Arc<Executor>,
        config: WorkerConfig,
    ) -> Self {
        let ended = Arc::new(Notify::new());
        let results = ResultWriter::start(store.clone(), queue.clone(), ended.clone());
        Self {
            shared: Arc::new(Shared {
                id: WorkerId::generate("worker"),
                store,
                queue,
                executor,
                config,
                hard_stop: CancellationToken::new(),
                ended,
                results,
                metrics: JobMetrics::default(),
            }),
        }
    }

    /// Notified whenever a job with a webhook ends in this worker (for the [`crate::Deliverer`]).
    pub fn job_ended(&self) -> Arc<Notify> {
        self.shared.ended.clone()
    }

    /// This worker's id (unique per process and per restart).
    pub fn id(&self) -> &WorkerId {
        &self.shared.id
    }

    /// Runs until `shutdown` is cancelled, then stops claiming, lets in-flight jobs finish
    /// within the grace period and releases the leases of those that did not.
    ///
    /// The jobs run on apalis workers fed by SPARTA's own backend ([`crate::intake`]), one per
    /// claim lane. Should one end on its own, it is started again under a new name, so a
    /// restarted worker never reuses a name (or the leases and queue entries of its previous
    /// life).
    pub async fn run(self, shutdown: CancellationToken) {
        let shared = self.shared;
        tracing::info!(worker = %shared.id, queue = shared.queue.backend(),
            store = shared.store.backend(), concurrency = shared.config.concurrency, "worker started");
        let reconciler = tokio::spawn(reconcile_loop(shared.clone(), shutdown.clone()));
        let grace = tokio::spawn(hard_stop_after_grace(shared.clone(), shutdown.clone()));
        let slots = Slots::new(shared.config.concurrency);
        let backlog = Arc::new(Backlog::default());
        let mut lanes = tokio::task::JoinSet::new();
        let lane_count = if shared.queue.parallel_claims() {
            shared.config.claim_lanes.max(1)
        } else {
            1
        };
        for index in 0..lane_count {
            let lane = Lane {
                index,
                slots: slots.clone(),
                backlog: backlog.clone(),
            };
            // The first lane runs under the process's id, the others under ids of their own
            // (each is a queue consumer and a lease holder).
            let name = match index {
                0 => shared.id.clone(),
                _ => WorkerId::generate("worker"),
            };
            lanes.spawn(run_lane(shared.clone(), name, lane, shutdown.clone()));
        }
        while lanes.join_next().await.is_some() {}
        grace.abort();
        reconciler.abort();
        tracing::info!(worker = %shared.id, "worker stopped");
    }
}

/// One lane's apalis worker until shutdown. Should it end on its own, it is started again under
/// a new name, so a restarted worker never reuses a name (or the leases and queue entries of
/// its previous life).
async fn run_lane(
    shared: Arc<Shared>,
    mut name: WorkerId,
    lane: Lane,
    shutdown: CancellationToken,
) {
    let mut restarts = 0u32;
    loop {
        let ended = tokio::spawn(run_apalis_worker(
            shared.clone(),
            name.clone(),
            lane.clone(),
            shutdown.clone(),
        ))
        .await
        .map_err(|e| e.to_string())
        .and_then(|ended| ended);
        if shutdown.is_cancelled() {
            return;
        }
        restarts = restarts.saturating_add(1);
        let pause = Backoff::INTERNAL.delay(restarts);
        tracing::error!(worker = %name, ?ended, ?pause, "apalis worker ended; starting a new one");
        name = WorkerId::generate("worker");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// One apalis worker run under `name`, until shutdown (and its drain) or an error.
async fn run_apalis_worker(
    shared: Arc<Shared>,
    name: WorkerId,
    lane: Lane,
    shutdown: CancellationToken,
) -> Result<(), String> {
    let leases = Leases::new(name.clone());
    let backend = claim_backend(shared.clone(), leases.clone(), lane).map_err(|e| e.to_string())?;
    // One heartbeat for every lease of this run; it outlives the drain (stopped below).
    let beating = CancellationToken::new();
    let beat = tokio::spawn(heartbeat(
        leases.clone(),
        shared.store.clone(),
        shared.config.lease,
        beating.clone(),
    ));
    let handler_shared = shared.clone();
    let worker = WorkerBuilder::new(name.as_str()).backend(backend).build(
        move |claimed: Claimed| -> BoxFuture<'static, Result<(), BoxDynError>> {
            let shared = handler_shared.clone();
            let leases = leases.clone();
            // Boxed to a concrete `'static` future: apalis's generic service stack cannot prove
            // `Send` for an async block that borrows its own locals.
            async move {
                // A panic must not take the worker down: the job's lease expires and the
                // reconciler runs it again (the attempt counts).
                let run = std::panic::AssertUnwindSafe(execute(&shared, &leases, claimed));
                if run.catch_unwind().await.is_err() {
                    tracing::error!(worker = %leases.worker(), "job execution panicked");
                }
                Ok(())
            }
            .boxed()
        },
    );
    let ran = worker
        .run_with_ctx(move |context| {
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                tracing::info!("worker stopping: no new claims, finishing in-flight jobs");
                // apalis then drains the in-flight jobs before `run_with_ctx` returns.
                context.stop()
            }
        })
        .await
        .map_err(|e| e.to_string());
    beating.cancel();
    let _ = beat.await;
    ran
}

/// After shutdown, in-flight jobs get `shutdown_grace`; then executions release their leases.
async fn hard_stop_after_grace(shared: Arc<Shared>, shutdown: CancellationToken) {
    shutdown.cancelled().await;
    tokio::time::sleep(shared.config.shutdown_grace).await;
    shared.hard_stop.cancel();
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
                crate::metrics::reconciled(&done);
                tracing::info!(worker = %shared.id, recovered = done.recovered,
                    reannounced = done.reannounced, swept = done.swept, pruned = done.pruned,
                    "reconciled");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(worker = %shared.id, %error, "reconciliation failed"),
        }
        apply_breaker_overrides(&shared).await;
        // A worker that died mid-job never settled its reservation: released once the job ends.
        match shared.store.release_ended_reservations().await {
            Ok(0) => {}
            Ok(released) => {
                tracing::info!(released, "LLM budget reservations of ended jobs released")
            }
            Err(error) => tracing::warn!(%error, "releasing LLM budget reservations failed"),
        }
    }
}

/// Applies the operator's breaker overrides from the store to this process's breakers (a
/// failed read keeps the ones applied last).
async fn apply_breaker_overrides(shared: &Shared) {
    match shared.store.breaker_overrides().await {
        Ok(overrides) => {
            let forced = overrides
                .into_iter()
                .map(|o| {
                    let state = if o.open {
                        sparta_ai::Forced::Open
                    } else {
                        sparta_ai::Forced::Closed
                    };
                    (o.model, state)
                })
                .collect();
            shared.executor.orchestrator().force_breakers(&forced);
        }
        Err(error) => tracing::warn!(%error, "reading the breaker overrides failed"),
    }
}

/// Runs one claimed job to the end of its attempt, as the lease owner of `leases`.
async fn execute(shared: &Shared, leases: &Arc<Leases>, claimed: Claimed) {
    let Claimed {
        delivery,
        held,
        slot,
    } = claimed;
    let job = &delivery.job;
    let span = tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempt,
        request_id = job.request_id.as_ref().map(|r| r.as_str()).unwrap_or(""));
    // The trace of the request that created the job goes on here. (A span built here rather
    // than by `#[tracing::instrument]`: its parent must be set before it is first entered.)
    sparta_jobs::trace_context::continue_trace(&span, job.traceparent.as_deref());
    async move {
        let job = &delivery.job;
        shared.metrics.started(job.kind, job.created_at);
        let started = std::time::Instant::now();
        let outcome = tokio::select! {
            // A lease lost while the job waited for its slot (claimed ahead) stops it unrun.
            biased;
            () = held.lost() => None,
            () = shared.hard_stop.cancelled() => {
                release(shared, leases.worker(), job.id).await;
                return;
            }
            outcome = shared.executor.run(job, shared.store.as_ref()) => Some(outcome),
        };
        shared
            .metrics
            .finished(job.kind, outcome.as_ref(), started.elapsed());
        let Some(outcome) = outcome else {
            // Cancelled by the client, or the lease was taken over: nothing may be written.
            tracing::info!("lease lost; dropping the attempt");
            if let Err(error) = shared.queue.ack(std::slice::from_ref(&delivery)).await {
                tracing::warn!(%error, "acknowledging the queue message failed");
            }
            return;
        };
        let finish = Finish {
            id: job.id,
            worker: leases.worker().clone(),
            outcome,
        };
        // The job no longer runs: its slot goes to the next one while the result waits for its
        // batch. The lease watch stays until the result is stored (the write is fenced on it).
        let handed_over = shared.results.hand_over(finish, delivery).await;
        drop(slot);
        let written = handed_over
            .written()
            .instrument(tracing::info_span!("job.result_write"))
            .await;
        match written {
            Written::Stored(done) => tracing::info!(status = %done.status, "job attempt finished"),
            Written::LeaseLost => {
                tracing::info!("lease lost before the result was written; result dropped")
            }
            // The lease will expire and the reconciler re-runs the job: nothing is lost.
            Written::Failed => tracing::error!("the result was not written"),
        }
        drop(held);
    }
    .instrument(span)
    .await;
}

/// Gives the job back at once (shutdown), so another worker need not wait for the lease.
pub(crate) async fn release(shared: &Shared, worker: &WorkerId, id: JobId) {
    match shared.store.release(id, worker, Utc::now()).await {
        Ok(()) => {
            if let Err(error) = shared.queue.announce(&[id]).await {
                tracing::warn!(%error, "announcing a released job failed; the reconciler will");
            }
            tracing::info!("lease released on shutdown");
        }
        Err(error) => tracing::warn!(%error, "releasing the lease failed; it will expire"),
    }
}
