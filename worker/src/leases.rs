//! The leases one worker holds, and its heartbeat: one statement renews them all.
//!
//! A job's lease is renewed every third of its length while it runs. Renewing per job cost a
//! statement per job per tick; here the worker renews every lease it owns at once, and the
//! answer (the jobs it still holds) tells which of its executions lost theirs (cancelled by the
//! client, or expired and taken over after a stall): those are told to stop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use sparta_jobs::{JobId, JobStore, WorkerId};
use tokio_util::sync::CancellationToken;

/// The executions of one worker (one lease owner) and the signal each stops on.
pub(crate) struct Leases {
    worker: WorkerId,
    held: Mutex<HashMap<JobId, CancellationToken>>,
}

/// An execution's hold on its lease: cancelled when the lease is found lost; the job leaves
/// the heartbeat's watch when this is dropped, on every path out of the execution.
pub(crate) struct Held {
    leases: Arc<Leases>,
    id: JobId,
    lost: CancellationToken,
}

impl Held {
    /// Resolves when the job's lease is found lost.
    pub(crate) async fn lost(&self) {
        self.lost.cancelled().await;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.leases.table().remove(&self.id);
    }
}

impl Leases {
    /// No executions yet, for the lease owner `worker`.
    pub(crate) fn new(worker: WorkerId) -> Arc<Self> {
        Arc::new(Self {
            worker,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// The lease owner.
    pub(crate) fn worker(&self) -> &WorkerId {
        &self.worker
    }

    /// Watches the lease of a job this worker claimed.
    pub(crate) fn hold(self: &Arc<Self>, id: JobId) -> Held {
        let lost = CancellationToken::new();
        self.table().insert(id, lost.clone());
        Held {
            leases: self.clone(),
            id,
            lost,
        }
    }

    /// The table; a panic elsewhere while it was locked leaves it usable (entries are only
    /// inserted and removed whole).
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, CancellationToken>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One heartbeat: extends the leases of the jobs this worker runs to `lease` from now, and
    /// stops the executions whose job it no longer holds.
    async fn renew(&self, store: &dyn JobStore, lease: Duration) {
        // Taken before the statement: every job in it was claimed (committed) before the
        // statement began, so its absence from the answer means the lease is gone.
        let watched: Vec<JobId> = self.table().keys().copied().collect();
        if watched.is_empty() {
            return;
        }
        let until = Utc::now() + chrono::TimeDelta::from_std(lease).unwrap_or_default();
        match store.renew_leases(&self.worker, &watched, until).await {
            Ok(held) => {
                let held: std::collections::HashSet<JobId> = held.into_iter().collect();
                let table = self.table();
                for id in watched.iter().filter(|id| !held.contains(id)) {
                    // A job that ended meanwhile has left the table: nothing to stop.
                    if let Some(lost) = table.get(id) {
                        tracing::info!(job_id = %id, "lease lost");
                        lost.cancel();
                    }
                }
            }
            // A passing store failure: try again next tick; the lease has slack.
            Err(error) => tracing::warn!(worker = %self.worker, %error, "renewing leases failed"),
        }
    }
}

/// Renews `leases` every third of `lease` until `stop`.
pub(crate) async fn heartbeat(
    leases: Arc<Leases>,
    store: Arc<dyn JobStore>,
    lease: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => leases.renew(store.as_ref(), lease).await,
        }
    }
}
