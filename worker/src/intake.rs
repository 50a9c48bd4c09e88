//! The apalis backend of SPARTA's workers: a stream of jobs claimed through a [`JobQueue`].
//!
//! apalis runs the worker (task polling, in-flight tracking, graceful drain); what reaches it
//! is decided here, so that the measured weaknesses of apalis's own Redis and SQLite backends
//! (README, "Queues") never apply: a job is handed over only once it is claimed in the store,
//! only when a concurrency slot is free (so no lease ticks while a job waits in a buffer), and a
//! failing queue never ends the stream (apalis stops a worker on any backend error).
//!
//! A process claims through one or more lanes (`worker.claim_lanes`), each an apalis worker of
//! its own sharing the process's slots. One lane alternates: it claims, then waits for its jobs
//! to free slots, then claims again, and the machine idles while a claim is in flight (a third
//! of two cores in a backlog's drain). A second lane claims while the first one's jobs run, but
//! only while claims come back full ([`Backlog`]): under a trickle, two lanes would split each
//! arrival into more, smaller claims for nothing.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use apalis_core::backend::custom::{BackendBuilder, CustomBackend};
use apalis_core::task::Task;
use futures::stream::BoxStream;
use futures::{Sink, StreamExt as _};
use sparta_jobs::{Delivery, JobsError, WorkerId};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

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

/// Whether the queue holds more than the last claim could take: the lanes after the first
/// claim only then.
#[derive(Default)]
pub(crate) struct Backlog {
    seen: AtomicBool,
    opened: Notify,
}

impl Backlog {
    /// Records what a claim found: `full` when it got every job it asked for.
    fn record(&self, full: bool) {
        if full && !self.seen.swap(true, Ordering::AcqRel) {
            self.opened.notify_waiters();
        } else if !full {
            self.seen.store(false, Ordering::Release);
        }
    }

    /// Returns once a claim has come back full since the last one that did not.
    async fn wait(&self) {
        loop {
            let opened = self.opened.notified();
            tokio::pin!(opened);
            // Registered before the check, so a `record` between the two is not missed.
            opened.as_mut().enable();
            if self.seen.load(Ordering::Acquire) {
                return;
            }
            opened.await;
        }
    }
}

/// One claim stream of a worker process: its place among the process's lanes, the process's
/// concurrency slots and backlog signal, shared by all of them.
#[derive(Clone)]
pub(crate) struct Lane {
    /// 0 for the lane that always claims.
    pub(crate) index: usize,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) backlog: Arc<Backlog>,
}

/// State of one lane's claim stream.
pub(crate) struct Intake {
    shared: Arc<Shared>,
    worker: WorkerId,
    lane: Lane,
    ready: VecDeque<Claimed>,
    failures: u32,
}

impl Intake {
    /// The next claimed job: waits for a free slot (and, after the first lane, for a backlog),
    /// then claims up to as many jobs as there are free slots. Queue errors are logged and
    /// retried with backoff, never returned.
    async fn next(&mut self) -> Claimed {
        loop {
            if let Some(claimed) = self.ready.pop_front() {
                return claimed;
            }
            if self.lane.index > 0 {
                self.lane.backlog.wait().await;
            }
            let Ok(first) = self.lane.slots.clone().acquire_owned().await else {
                // The semaphore is never closed; if it were, nothing more may run.
                return std::future::pending().await;
            };
            let mut slots = vec![first];
            while let Ok(slot) = self.lane.slots.clone().try_acquire_owned() {
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
                    self.lane.backlog.record(deliveries.len() >= slots.len());
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

/// The apalis backend for one worker run named `worker`, claiming through `lane`.
pub(crate) fn claim_backend(
    shared: Arc<Shared>,
    worker: WorkerId,
    lane: Lane,
) -> Result<ClaimBackend, apalis_core::backend::custom::BuildError> {
    let intake = Intake {
        shared,
        worker,
        lane,
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt as _;
    use std::time::Duration;

    /// Whether `wait` returns at once (polled once, never waited for).
    async fn opens(backlog: &Backlog) -> bool {
        backlog.wait().now_or_never().is_some()
    }

    #[tokio::test]
    async fn the_later_lanes_wait_until_a_claim_comes_back_full() {
        let backlog = Arc::new(Backlog::default());
        assert!(!opens(&backlog).await, "no claim yet: closed");

        let waiter = tokio::spawn({
            let backlog = backlog.clone();
            async move { backlog.wait().await }
        });
        tokio::task::yield_now().await;
        backlog.record(true);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("a waiting lane is woken by a full claim")
            .unwrap();
        assert!(opens(&backlog).await, "stays open while claims are full");
        backlog.record(true);
        assert!(opens(&backlog).await);

        backlog.record(false);
        assert!(!opens(&backlog).await, "a claim short of its ask closes it");
        backlog.record(true);
        assert!(
            opens(&backlog).await,
            "and the next full one opens it again"
        );
    }
}
