//! Queues: how a worker learns which job to run next.
//!
//! A queue message is only a job id, and the store is the truth: a worker turns a message into
//! work by *claiming* the job in the store (one conditional update), so a duplicate, stale or
//! replayed message is harmless, and a lost one is repaired by the reconciler, which re-announces
//! queued jobs the queue no longer holds and recovers running jobs whose lease expired.
//!
//! - [`RedisQueue`] (distributed mode): a Redis Stream with a consumer group. `XADD` announces,
//!   `XREADGROUP … BLOCK` hands ids to workers with no polling delay, `XACK`+`XDEL` after the
//!   result is stored, and a sweep clears entries whose consumer died.
//! - [`StoreQueue`] (embedded mode, or Postgres without Redis): workers claim due jobs straight
//!   from the store, woken at once by submissions in the same process.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::JobsError;
use crate::model::{Assignment, JobId, WorkerId};

mod redis_streams;
mod store_backed;

pub use redis_streams::{RedisQueue, RedisQueueConfig};
pub use store_backed::StoreQueue;

/// A claimed job handed to a worker, with what the queue needs to acknowledge it.
#[derive(Debug)]
pub struct Delivery {
    /// The job, now `running` under the worker's lease: what its attempt needs.
    pub job: Assignment,
    /// The queue's handle on the message, if the queue has messages.
    pub receipt: Option<String>,
}

/// What one reconciliation pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Running jobs with expired leases put back in the queue.
    pub recovered: usize,
    /// Queued jobs whose message was missing, announced again.
    pub reannounced: usize,
    /// Orphaned queue entries (delivered to a dead consumer) cleared.
    pub swept: usize,
    /// Consumers of stopped workers (no entry, unseen for a while) deleted from the group.
    pub pruned: usize,
}

/// A queue of job ids in front of the store.
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Which backend this is (`redis`, `store`), for logs and health output.
    fn backend(&self) -> &'static str;

    /// Whether a process gains from claiming through more than one lane at once (the worker's
    /// `claim_lanes`): yes where a claim is a read of the queue and a statement on a store that
    /// runs statements side by side.
    fn parallel_claims(&self) -> bool {
        true
    }

    /// A cheap round trip, for readiness.
    async fn ping(&self) -> Result<(), JobsError>;

    /// Announces committed, due jobs. Called after the row is committed; if it fails, the job
    /// is still safe in the store and the reconciler announces it later.
    async fn announce(&self, ids: &[JobId]) -> Result<(), JobsError>;

    /// Waits up to `wait` for work and claims up to `max` jobs for `worker`, each with a lease
    /// of `lease`. An empty result means nothing arrived in time.
    async fn next(
        &self,
        worker: &WorkerId,
        max: usize,
        wait: Duration,
        lease: Duration,
    ) -> Result<Vec<Delivery>, JobsError>;

    /// Acknowledges deliveries once their results (or retries) are in the store, all in one
    /// round trip.
    async fn ack(&self, deliveries: &[Delivery]) -> Result<(), JobsError>;

    /// One reconciliation pass (called periodically by every worker process; the queue makes
    /// sure only one process does the work at a time where that matters).
    async fn reconcile(
        &self,
        worker: &WorkerId,
        now: DateTime<Utc>,
    ) -> Result<Reconciled, JobsError>;
}
