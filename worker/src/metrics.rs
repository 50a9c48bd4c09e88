//! The worker's Prometheus metrics, through the `metrics` facade (the binary installs the
//! exporter): jobs started and finished, their wait and run time, webhook deliveries and their
//! lag, the scheduler's prepared jobs and the reconciler's recoveries.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics::{Counter, Histogram, Unit, counter, describe_counter, describe_histogram, histogram};
use sparta_coach::JobKind;
use sparta_jobs::Outcome;

/// Attempts started, by `kind`.
pub const JOBS_STARTED: &str = "sparta_jobs_started_total";
/// Attempts ended, by `kind` and `outcome` (`succeeded`, `failed`, `retried`, `lease_lost`).
pub const JOBS_FINISHED: &str = "sparta_jobs_finished_total";
/// Time from a job's creation to the start of its attempt, by `kind`.
pub const JOB_WAIT: &str = "sparta_job_wait_seconds";
/// Time an attempt ran (claim to result), by `kind`.
pub const JOB_RUN: &str = "sparta_job_run_seconds";
/// Webhook delivery attempts by `outcome` (`delivered`, `retry`, `given_up`).
pub const WEBHOOK_DELIVERIES: &str = "sparta_webhook_deliveries_total";
/// Time from a webhook event's creation (the job's end) to its delivery.
pub const WEBHOOK_LAG: &str = "sparta_webhook_delivery_lag_seconds";
/// Motivation jobs the scheduler prepared.
pub const SCHEDULER_PREPARED: &str = "sparta_scheduler_jobs_prepared_total";
/// Reconciler work by `action` (`lease_expired`: running jobs whose lease ran out, queued
/// again; `reannounced`: queued jobs announced again; `swept`: orphaned queue entries removed;
/// `consumers_pruned`: stopped workers' consumers deleted from the Redis group).
pub const RECONCILER: &str = "sparta_reconciler_actions_total";

/// Describes every family (help text and unit).
pub fn describe() {
    describe_counter!(JOBS_STARTED, Unit::Count, "Job attempts started, by kind");
    describe_counter!(
        JOBS_FINISHED,
        Unit::Count,
        "Job attempts ended, by kind and outcome"
    );
    describe_histogram!(
        JOB_WAIT,
        Unit::Seconds,
        "Time from a job's creation to the start of its attempt"
    );
    describe_histogram!(JOB_RUN, Unit::Seconds, "Time a job attempt ran");
    describe_counter!(
        WEBHOOK_DELIVERIES,
        Unit::Count,
        "Webhook delivery attempts by outcome"
    );
    describe_histogram!(
        WEBHOOK_LAG,
        Unit::Seconds,
        "Time from a job's end to its webhook's delivery"
    );
    describe_counter!(
        SCHEDULER_PREPARED,
        Unit::Count,
        "Motivation jobs prepared by the scheduler"
    );
    describe_counter!(
        RECONCILER,
        Unit::Count,
        "Reconciler work: expired leases, re-announced jobs, swept queue entries, pruned consumers"
    );
}

/// Seconds from `from` to `to` (0 when `to` is earlier: clocks of two machines).
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).to_std().unwrap_or(Duration::ZERO).as_secs_f64()
}

/// The handles of one worker's job series (started, finished by outcome, wait and run time),
/// each registered at its kind's first event and kept: the `counter!` and `histogram!`
/// macros look their key up in every recorder at each event (the Prometheus registry and the
/// console's activity recorder), four lookups a job, 4-5 % of a worker's CPU under a backlog.
/// A worker is made after the process's recorder is installed, so its handles feed it.
#[derive(Default)]
pub(crate) struct JobMetrics {
    kinds: [KindSeries; JobKind::ALL.len()],
}

/// One kind's handles.
#[derive(Default)]
struct KindSeries {
    started: OnceLock<Counter>,
    wait: OnceLock<Histogram>,
    run: OnceLock<Histogram>,
    /// By [`FINISH_OUTCOMES`].
    finished: [OnceLock<Counter>; FINISH_OUTCOMES.len()],
}

/// The `outcome` label of [`JOBS_FINISHED`].
const FINISH_OUTCOMES: [&str; 4] = ["succeeded", "failed", "retried", "lease_lost"];

impl JobMetrics {
    fn series(&self, kind: JobKind) -> Option<&KindSeries> {
        let index = JobKind::ALL.iter().position(|k| *k == kind)?;
        self.kinds.get(index)
    }

    /// An attempt of a job created at `created_at` starts now.
    pub(crate) fn started(&self, kind: JobKind, created_at: DateTime<Utc>) {
        let Some(series) = self.series(kind) else {
            return;
        };
        let label = kind.as_str();
        series
            .started
            .get_or_init(|| counter!(JOBS_STARTED, "kind" => label))
            .increment(1);
        series
            .wait
            .get_or_init(|| histogram!(JOB_WAIT, "kind" => label))
            .record(seconds(created_at, Utc::now()));
    }

    /// An attempt ended with `outcome` (`None`: its lease was lost) after running `ran`.
    pub(crate) fn finished(&self, kind: JobKind, outcome: Option<&Outcome>, ran: Duration) {
        let Some(series) = self.series(kind) else {
            return;
        };
        let index = match outcome {
            Some(Outcome::Succeeded { .. }) => 0,
            Some(Outcome::Failed { .. }) => 1,
            Some(Outcome::Retry { .. }) => 2,
            None => 3,
        };
        let label = kind.as_str();
        if let (Some(counter), Some(outcome)) =
            (series.finished.get(index), FINISH_OUTCOMES.get(index))
        {
            counter
                .get_or_init(|| counter!(JOBS_FINISHED, "kind" => label, "outcome" => *outcome))
                .increment(1);
        }
        series
            .run
            .get_or_init(|| histogram!(JOB_RUN, "kind" => label))
            .record(ran.as_secs_f64());
    }
}

/// A webhook attempt ended: `delivered`, `retry` or `given_up`; a delivery records its lag
/// from the event's creation.
pub(crate) fn webhook_attempt(outcome: &'static str, created_at: Option<DateTime<Utc>>) {
    counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
    if let Some(created_at) = created_at {
        histogram!(WEBHOOK_LAG).record(seconds(created_at, Utc::now()));
    }
}

/// Shows the scheduler's, the reconciler's and the deliverer's series at 0 from the start, so
/// rates and alerts over them exist before their first event.
pub fn register_zeros(scheduler: bool) {
    if scheduler {
        counter!(SCHEDULER_PREPARED).increment(0);
    }
    for action in ["lease_expired", "reannounced", "swept", "consumers_pruned"] {
        counter!(RECONCILER, "action" => action).increment(0);
    }
    for outcome in ["delivered", "retry", "given_up"] {
        counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(0);
    }
}

/// The scheduler prepared `n` motivation jobs.
pub(crate) fn scheduler_prepared(n: usize) {
    counter!(SCHEDULER_PREPARED).increment(n as u64);
}

/// The reconciler's pass.
pub(crate) fn reconciled(done: &sparta_jobs::Reconciled) {
    for (action, n) in [
        ("lease_expired", done.recovered),
        ("reannounced", done.reannounced),
        ("swept", done.swept),
        ("consumers_pruned", done.pruned),
    ] {
        if n > 0 {
            counter!(RECONCILER, "action" => action).increment(n as u64);
        }
    }
}
