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
//!
//! In a backlog a claim also asks for the slots that will free while it is in flight
//! ([`Ahead`]): a slot taken for a claim sits idle for the claim's round trip (3–4 ms for 100
//! jobs), and with jobs that run in microseconds that round trip was most of a slot's cycle (one
//! worker's backlog drained at 8,700 jobs/s with 16 slots, 19,700 with 100, 23,500 with 300, the
//! last CPU-bound). How many jobs ended during the last full claim is how many it asks for beyond
//! its free slots; those jobs wait in the lane for a slot, their leases watched from the claim.
//! With jobs that take seconds (an LLM's), next to none end during a claim and none are claimed
//! ahead; a claim that came back short (the queue ran dry) claims none ahead either.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use apalis_core::backend::custom::{BackendBuilder, CustomBackend};
use apalis_core::task::Task;
use futures::stream::BoxStream;
use futures::{Sink, StreamExt as _};
use sparta_jobs::{Delivery, JobsError};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::leases::{Held, Leases};
use crate::worker::{Shared, release};
use sparta_ai::Backoff;

/// How long a lane waits after a claim that came back short before it reads again. Measured
/// at 1,000 jobs/s, alternating with no pause, three rounds: Postgres's CPU a job 0.61 ms
/// against 0.77, the worker's 0.16 against 0.22, submit p50 1.24–1.39 ms against 1.44–1.67;
/// 5 ms saved 30 µs more of Postgres a job for two and a half times the delay.
const SHORT_CLAIM_PAUSE: Duration = Duration::from_millis(2);

/// A claimed job, its lease's watch and the concurrency slot it holds until its execution ends.
pub(crate) struct Claimed {
    pub(crate) delivery: Delivery,
    pub(crate) held: Held,
    pub(crate) slot: Slot,
}

/// A worker process's concurrency slots, shared by its lanes, and how many jobs have given
/// theirs back (what [`Ahead`] reads).
pub(crate) struct Slots {
    free: Arc<Semaphore>,
    ended: AtomicUsize,
    count: usize,
}

impl Slots {
    /// `count` slots (at least one).
    pub(crate) fn new(count: usize) -> Arc<Self> {
        let count = count.max(1);
        Arc::new(Self {
            free: Arc::new(Semaphore::new(count)),
            ended: AtomicUsize::new(0),
            count,
        })
    }

    /// Jobs that have given their slot back so far.
    fn ended(&self) -> usize {
        self.ended.load(Ordering::Relaxed)
    }
}

/// A running job's slot: given back (and counted) when dropped.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.ended.fetch_add(1, Ordering::Relaxed);
    }
}

/// How many jobs the next claim asks for beyond its free slots: as many as ended while the
/// last claim was in flight, when it came back full (none after a short one, none for a lane
/// whose jobs take longer than a round trip). Never more than the process's slots.
#[derive(Default)]
struct Ahead {
    jobs: usize,
}

impl Ahead {
    /// Records a claim: `ended` jobs gave their slot back while it was in flight; `full` when
    /// it got every job it asked for.
    fn record(&mut self, ended: usize, full: bool, slots: usize) {
        self.jobs = if full { ended.min(slots) } else { 0 };
    }
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
    pub(crate) slots: Arc<Slots>,
    pub(crate) backlog: Arc<Backlog>,
}

/// State of one lane's claim stream.
pub(crate) struct Intake {
    shared: Arc<Shared>,
    leases: Arc<Leases>,
    lane: Lane,
    /// Claimed, not yet handed to apalis: the first ones have a slot in `taken`, the rest
    /// (claimed ahead) wait for one.
    ready: VecDeque<(Delivery, Held)>,
    /// Slots taken for the last claim and not yet given to one of its jobs.
    taken: Vec<OwnedSemaphorePermit>,
    failures: u32,
    pace: Pace,
    ahead: Ahead,
}

impl Intake {
    /// The next claimed job: waits for a free slot (and, after the first lane, for a backlog),
    /// then claims up to as many jobs as there are free slots, and in a backlog the ones
    /// [`Ahead`] asks for. Queue errors are logged and retried with backoff, never returned.
    async fn next(&mut self) -> Claimed {
        loop {
            if !self.ready.is_empty() {
                let permit = match self.taken.pop() {
                    Some(permit) => permit,
                    // Taken off `ready` only once it has its slot: a stream dropped while this
                    // waits (shutdown) still gives the job back.
                    None => self.slot().await,
                };
                if let Some((delivery, held)) = self.ready.pop_front() {
                    let slot = Slot {
                        slots: self.lane.slots.clone(),
                        _permit: permit,
                    };
                    return Claimed {
                        delivery,
                        held,
                        slot,
                    };
                }
            }
            // Slots of a claim that came back short go back; a pausing lane holds none.
            self.taken.clear();
            self.pace.before_claim().await;
            if self.lane.index > 0 {
                self.lane.backlog.wait().await;
            }
            let first = self.slot().await;
            self.taken.push(first);
            while let Ok(permit) = self.lane.slots.free.clone().try_acquire_owned() {
                self.taken.push(permit);
            }
            let asked = self.taken.len() + self.ahead.jobs;
            let ended = self.lane.slots.ended();
            let config = &self.shared.config;
            match self
                .shared
                .queue
                .next(self.leases.worker(), asked, config.fetch_wait, config.lease)
                .await
            {
                Ok(deliveries) => {
                    self.failures = 0;
                    let full = deliveries.len() >= asked;
                    self.ahead.record(
                        self.lane.slots.ended().wrapping_sub(ended),
                        full,
                        self.lane.slots.count,
                    );
                    self.lane.backlog.record(full);
                    self.pace.record(asked, deliveries.len());
                    for delivery in deliveries {
                        let held = self.leases.hold(delivery.job.id);
                        self.ready.push_back((delivery, held));
                    }
                }
                Err(error) => {
                    // The queue or store is down: keep the worker alive (a Redis restart must
                    // never end a worker) and look again later.
                    self.failures = self.failures.saturating_add(1);
                    let pause = Backoff::INTERNAL.delay(self.failures);
                    tracing::warn!(worker = %self.leases.worker(), %error, ?pause,
                        "fetching jobs failed");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// Waits for a free slot.
    async fn slot(&self) -> OwnedSemaphorePermit {
        match self.lane.slots.free.clone().acquire_owned().await {
            Ok(permit) => permit,
            // The semaphore is never closed; if it were, nothing more may run.
            Err(_) => std::future::pending().await,
        }
    }
}

impl Drop for Intake {
    fn drop(&mut self) {
        // Claimed but never started (the worker stopped first): give them back at once rather
        // than letting their leases run out.
        let unstarted: Vec<_> = self.ready.drain(..).map(|(d, _)| d.job.id).collect();
        if unstarted.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = self.shared.clone();
            let worker = self.leases.worker().clone();
            runtime.spawn(async move {
                for id in unstarted {
                    release(&shared, &worker, id).await;
                }
            });
        }
    }
}

/// The apalis backend for one worker run, claiming through `lane` as the lease owner of
/// `leases`.
pub(crate) fn claim_backend(
    shared: Arc<Shared>,
    leases: Arc<Leases>,
    lane: Lane,
) -> Result<ClaimBackend, apalis_core::backend::custom::BuildError> {
    let intake = Intake {
        shared,
        leases,
        lane,
        ready: VecDeque::new(),
        taken: Vec::new(),
        failures: 0,
        pace: Pace::default(),
        ahead: Ahead::default(),
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

    #[test]
    fn a_claim_asks_ahead_for_what_ended_during_the_last_full_one() {
        let mut ahead = Ahead::default();
        ahead.record(40, true, 100);
        assert_eq!(ahead.jobs, 40);
        ahead.record(250, true, 100);
        assert_eq!(ahead.jobs, 100, "never more than the slots");
        ahead.record(40, false, 100);
        assert_eq!(ahead.jobs, 0, "the queue ran dry");
        ahead.record(0, true, 100);
        assert_eq!(ahead.jobs, 0, "jobs that outlast a claim's round trip");
    }

    #[test]
    fn a_slot_counts_as_ended_only_when_a_job_gives_it_back() {
        let slots = Slots::new(2);
        let permit = slots.free.clone().try_acquire_owned().unwrap();
        let spare = slots.free.clone().try_acquire_owned().unwrap();
        assert!(slots.free.clone().try_acquire_owned().is_err(), "two slots");
        drop(spare);
        assert_eq!(slots.ended(), 0, "a claim's spare slot is not a job's end");
        drop(Slot {
            slots: slots.clone(),
            _permit: permit,
        });
        assert_eq!(slots.ended(), 1);
        assert_eq!(slots.free.available_permits(), 2);
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
