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
//!
//! Under a trickle a lane also waits [`SHORT_CLAIM_PAUSE`] after a claim that found fewer jobs
//! than it asked for ([`Pace`]), so that the next claim carries what arrived meanwhile: at
//! 1,000 jobs/s claims took three jobs each, and a claim's fixed cost (a statement and a commit)
//! was most of what a job cost Postgres. A job that arrives while a lane waits is claimed at most
//! that much later; one that arrives after it is claimed as before, and a backlog (full claims)
//! never waits.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apalis_core::backend::custom::{BackendBuilder, CustomBackend};
use apalis_core::task::Task;
use futures::stream::BoxStream;
use futures::{Sink, StreamExt as _};
use sparta_jobs::{Delivery, JobsError, WorkerId};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::worker::{Shared, release};
use sparta_ai::Backoff;

/// How long a lane waits after a claim that came back short before it reads again. Measured
/// at 1,000 jobs/s, alternating with no pause, three rounds: Postgres's CPU a job 0.61 ms
/// against 0.77, the worker's 0.16 against 0.22, submit p50 1.24–1.39 ms against 1.44–1.67;
/// 5 ms saved 30 µs more of Postgres a job for two and a half times the delay.
const SHORT_CLAIM_PAUSE: Duration = Duration::from_millis(2);

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

/// When a lane reads again: at once after a full or empty claim, [`SHORT_CLAIM_PAUSE`] after
/// a claim that found some jobs but fewer than it asked for (the queue ran dry: a trickle).
#[derive(Default)]
struct Pace {
    short: bool,
}

impl Pace {
    /// Records what a claim found.
    fn record(&mut self, asked: usize, got: usize) {
        self.short = got > 0 && got < asked;
    }

    /// Waits as the last claim asks before the next one.
    async fn before_claim(&mut self) {
        if std::mem::take(&mut self.short) {
            tokio::time::sleep(SHORT_CLAIM_PAUSE).await;
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
    pace: Pace,
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
            // Before the slots are taken: a pausing lane holds none.
            self.pace.before_claim().await;
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
                    self.pace.record(slots.len(), deliveries.len());
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
        pace: Pace::default(),
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

    /// How long `before_claim` waits after a claim that asked for `asked` and got `got`.
    async fn pause_after(asked: usize, got: usize) -> Duration {
        let mut pace = Pace::default();
        pace.record(asked, got);
        let started = tokio::time::Instant::now();
        pace.before_claim().await;
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_lane_pauses_only_after_a_claim_that_came_back_short() {
        assert_eq!(pause_after(100, 3).await, SHORT_CLAIM_PAUSE, "a trickle");
        assert_eq!(pause_after(100, 100).await, Duration::ZERO, "a backlog");
        assert_eq!(pause_after(100, 0).await, Duration::ZERO, "nothing came");

        let mut pace = Pace::default();
        pace.record(100, 3);
        pace.before_claim().await;
        let started = tokio::time::Instant::now();
        pace.before_claim().await;
        assert_eq!(started.elapsed(), Duration::ZERO, "one pause a short claim");
    }
}
