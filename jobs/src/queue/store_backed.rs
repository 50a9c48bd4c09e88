//! A queue that is the store itself: workers claim due jobs with one statement.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::{Delivery, JobQueue, Reconciled};
use crate::JobsError;
use crate::model::{JobId, WorkerId};
use crate::store::JobStore;

/// How many expired leases one reconciliation pass recovers at most.
const RECOVER_BATCH: u32 = 500;

/// The store-backed queue of embedded mode.
///
/// Submissions in the same process wake a waiting worker at once; jobs inserted by another
/// process, or whose `run_at` lies ahead (retries), are found by polling every `poll`.
pub struct StoreQueue {
    store: Arc<dyn JobStore>,
    wake: Notify,
    poll: Duration,
}

impl StoreQueue {
    /// A queue over `store`, polling every `poll` when idle.
    pub fn new(store: Arc<dyn JobStore>, poll: Duration) -> Self {
        Self {
            store,
            wake: Notify::new(),
            poll,
        }
    }
}

#[async_trait]
impl JobQueue for StoreQueue {
    fn backend(&self) -> &'static str {
        "store"
    }

    /// No: each claim is a write transaction of the store, and SQLite (`sparta serve`) runs one
    /// at a time; a second lane cost the embedded bench 15 % of its throughput. A full claim
    /// already passes its wake-up on to the next fetch.
    fn parallel_claims(&self) -> bool {
        false
    }

    async fn ping(&self) -> Result<(), JobsError> {
        self.store.ping().await
    }

    async fn announce(&self, ids: &[JobId]) -> Result<(), JobsError> {
        if !ids.is_empty() {
            // notify_one keeps a permit when nobody waits yet, so a submission that lands
            // between a worker's empty claim and its wait is not missed.
            self.wake.notify_one();
        }
        Ok(())
    }

    async fn next(
        &self,
        worker: &WorkerId,
        max: usize,
        wait: Duration,
        lease: Duration,
    ) -> Result<Vec<Delivery>, JobsError> {
        let deadline = tokio::time::Instant::now() + wait;
        let limit = u32::try_from(max).unwrap_or(u32::MAX);
        loop {
            let jobs = self
                .store
                .claim_next(worker, Utc::now(), lease, limit)
                .await?;
            if !jobs.is_empty() {
                if jobs.len() == max {
                    // More may be waiting: pass the wake-up on to another fetch.
                    self.wake.notify_one();
                }
                return Ok(jobs
                    .into_iter()
                    .map(|job| Delivery { job, receipt: None })
                    .collect());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let nap = self.poll.min(deadline - now);
            // A timeout here just means "look again".
            let _ = tokio::time::timeout(nap, self.wake.notified()).await;
        }
    }

    async fn ack(&self, _deliveries: &[Delivery]) -> Result<(), JobsError> {
        // The store is the queue: the result write already removed the job from it.
        Ok(())
    }

    async fn reconcile(
        &self,
        _worker: &WorkerId,
        now: DateTime<Utc>,
    ) -> Result<Reconciled, JobsError> {
        // Each statement is atomic and skips locked rows, so concurrent reconcilers (several
        // processes on one Postgres) cannot double-recover a job.
        let recovered = self.store.recover_expired(now, RECOVER_BATCH).await?;
        if !recovered.is_empty() {
            self.wake.notify_one();
        }
        Ok(Reconciled {
            recovered: recovered.len(),
            ..Reconciled::default()
        })
    }
}
