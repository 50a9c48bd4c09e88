//! The apalis backend of SPARTA's workers: a stream of jobs claimed through a [`JobQueue`].
//!
//! apalis runs the worker (task polling, in-flight tracking, graceful drain); what reaches it
//! is decided here, so that the measured weaknesses of apalis's own Redis and SQLite backends
//! (README, "Queues") never apply: a job is handed over only once it is claimed in the store,
//! only when a concurrency slot is free (so no lease ticks while a job waits in a buffer), and a
//! failing queue never ends the stream (apalis stops a worker on any backend error).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;

use apalis_core::backend::custom::{BackendBuilder, CustomBackend};
use apalis_core::task::Task;
use futures::stream::BoxStream;
use futures::{Sink, StreamExt as _};
use sparta_jobs::{Delivery, JobsError, WorkerId};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::worker::{Shared, release};
use sparta_ai::Backoff;

/// A claimed job and the concurrency slot it holds until its execution ends.
pub(crate) struct Claimed {
    pub(crate) delivery: Delivery,
    pub(crate) _slot: OwnedSemaphorePermit,
}

/// What the fetch stream yields to apalis.
type ClaimStream = BoxStream<'static, Result<Option<Task<Claimed>>, JobsError>>;
/// apalis requires a sink; SPARTA submits through the API, never through a worker.
type RefusingSink = Pin<Box<dyn Sink<Task<Claimed>, Error = JobsError> + Send>>;
/// The backend handed to apalis's `WorkerBuilder`.
pub(crate) type ClaimBackend = CustomBackend<Claimed, Option<Intake>, ClaimStream, RefusingSink>;

/// State of one worker's claim stream.
pub(crate) struct Intake {
    shared: Arc<Shared>,
    worker: WorkerId,
    slots: Arc<Semaphore>,
    ready: VecDeque<Claimed>,
    failures: u32,
}

impl Intake {
    /// The next claimed job: waits for a free slot, then claims up to as many jobs as there are
    /// free slots. Queue errors are logged and retried with backoff, never returned.
    async fn next(&mut self) -> Claimed {
        loop {
            if let Some(claimed) = self.ready.pop_front() {
                return claimed;
            }
            let Ok(first) = self.slots.clone().acquire_owned().await else {
                // The semaphore is never closed; if it were, nothing more may run.
                return std::future::pending().await;
            };
            let mut slots = vec![first];
            while let Ok(slot) = self.slots.clone().try_acquire_owned() {
                slots.push(slot);
            }
            let config = &self.shared.config;
            match self
                .shared
                .queue
                .next(&self.worker, slots.len(), config.fetch_wait, config.lease)
                .await
            {
                Ok(deliveries) => {
                    self.failures = 0;
                    for delivery in deliveries {
                        let Some(slot) = slots.pop() else { break };
                        self.ready.push_back(Claimed {
                            delivery,
                            _slot: slot,
                        });
                    }
                }
                Err(error) => {
                    // The queue or store is down: keep the worker alive (a Redis restart must
                    // never end a worker) and look again later.
                    self.failures = self.failures.saturating_add(1);
                    let pause = Backoff::INTERNAL.delay(self.failures);
                    tracing::warn!(worker = %self.worker, %error, ?pause, "fetching jobs failed");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

impl Drop for Intake {
    fn drop(&mut self) {
        // Claimed but never started (the worker stopped first): give them back at once rather
        // than letting their leases run out.
        let unstarted: Vec<_> = self.ready.drain(..).map(|c| c.delivery.job.id).collect();
        if unstarted.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = self.shared.clone();
            let worker = self.worker.clone();
            runtime.spawn(async move {
                for id in unstarted {
                    release(&shared, &worker, id).await;
                }
            });
        }
    }
}

/// The apalis backend for one worker run named `worker`.
pub(crate) fn claim_backend(
    shared: Arc<Shared>,
    worker: WorkerId,
    slots: Arc<Semaphore>,
) -> Result<ClaimBackend, apalis_core::backend::custom::BuildError> {
    let intake = Intake {
        shared,
        worker,
        slots,
        ready: VecDeque::new(),
        failures: 0,
    };
    BackendBuilder::new()
        .database(Some(intake))
        .fetcher(
            |intake: &mut Option<Intake>, _: &(), _| match intake.take() {
                Some(intake) => futures::stream::unfold(intake, |mut intake| async move {
                    let claimed = intake.next().await;
                    Some((Ok(Some(Task::new(claimed))), intake))
                })
                .boxed(),
                // apalis asks once per backend; a second stream would double-claim.
                None => futures::stream::pending().boxed(),
            },
        )
        .sink(|_: &mut Option<Intake>, _: &()| -> RefusingSink {
            Box::pin(futures::sink::unfold(
                (),
                |(), _task: Task<Claimed>| async {
                    Err(JobsError::InvalidValue(
                        "jobs are submitted through the API, not pushed to a worker".into(),
                    ))
                },
            ))
        })
        .build()
}
