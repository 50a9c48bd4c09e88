//! The daily motivation scheduler: every worker process runs one. Each pass gives tenants
//! without a schedule the default one, then prepares every due schedule's message: one
//! motivation job per tenant/athlete and local day, whoever runs it (the job's idempotency key
//! is unique in the store), and moves the schedule to its next day only from the version it
//! read. Several schedulers at once, restarts and missed runs are therefore all safe: a missed
//! day is caught up on the next pass, and a day is never prepared twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sparta_jobs::motivation::{
    ANNOUNCE_TIMEOUT, LocalTime, MotivationSchedule, ScheduleAdvance, ScheduleTarget, TimeZoneName,
};
use sparta_jobs::submit::submit_jobs;
use sparta_jobs::{Inserted, JobQueue, JobStore, JobsError};
use tokio_util::sync::CancellationToken;

/// The most batches one pass prepares (a million due schedules at the default batch).
const MAX_BATCHES_PER_PASS: usize = 1000;

/// How the scheduler runs.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Time between passes (a message is prepared at most this late).
    pub every: Duration,
    /// The zone of a tenant that has not chosen one.
    pub default_timezone: TimeZoneName,
    /// The local time of a tenant that has not chosen one.
    pub default_local_time: LocalTime,
    /// Attempts of each motivation job.
    pub max_attempts: i32,
    /// Schedules prepared per statement (a pass prepares every due one, batch by batch).
    pub batch: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(5),
            default_timezone: TimeZoneName::UTC,
            default_local_time: LocalTime::new(6, 0).unwrap_or_default(),
            max_attempts: 3,
            batch: 1000,
        }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Tenants given the default schedule.
    pub tenants_scheduled: usize,
    /// Jobs created.
    pub created: usize,
    /// Due schedules whose day's job existed already (another scheduler, the API).
    pub existing: usize,
}

/// The motivation scheduler of one process.
pub struct Scheduler {
    store: Arc<dyn JobStore>,
    queue: Arc<dyn JobQueue>,
    config: SchedulerConfig,
}

impl Scheduler {
    /// A scheduler over the store and queue of the process.
    pub fn new(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn JobQueue>,
        config: SchedulerConfig,
    ) -> Self {
        Self {
            store,
            queue,
            config,
        }
    }

    /// Runs passes until `shutdown`, the first at once (catching up what was missed while no
    /// scheduler ran).
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.pass(Utc::now()).await {
                Ok(pass) if pass != Pass::default() => {
                    crate::metrics::scheduler_prepared(pass.created);
                    tracing::info!(
                        created = pass.created,
                        existing = pass.existing,
                        tenants_scheduled = pass.tenants_scheduled,
                        "motivation scheduler pass"
                    )
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "motivation scheduler pass failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.config.every) => {}
            }
        }
    }

    /// One pass at `now` (tests drive it with simulated time).
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<Pass, JobsError> {
        let mut pass = Pass::default();
        for tenant in self
            .store
            .tenants_without_schedule(self.config.batch)
            .await?
        {
            let schedule = MotivationSchedule::starting(
                tenant,
                ScheduleTarget::Tenant,
                self.config.default_timezone,
                self.config.default_local_time,
                json!({}),
                now,
            );
            self.store.put_motivation_schedule(&schedule, false).await?;
            pass.tenants_scheduled += 1;
        }
        // Due schedules in batches until none is left (each batch moves its schedules on, so
        // the next one reads new ones); bounded, should schedules keep changing underneath.
        for _ in 0..MAX_BATCHES_PER_PASS {
            let due = self
                .store
                .due_motivation_schedules(now, self.config.batch)
                .await?;
            self.prepare(&due, now, &mut pass).await?;
            if due.len() < self.config.batch as usize {
                break;
            }
        }
        Ok(pass)
    }

    /// Prepares the day's message of each due schedule and moves them on: one statement
    /// inserts the jobs (an existing day's job is kept: its key is unique), one round trip
    /// announces the new ones, one statement advances the schedules.
    async fn prepare(
        &self,
        due: &[MotivationSchedule],
        now: DateTime<Utc>,
        pass: &mut Pass,
    ) -> Result<(), JobsError> {
        let mut jobs = Vec::with_capacity(due.len());
        let mut advances = Vec::with_capacity(due.len());
        for schedule in due {
            let date = schedule.date_due(now);
            match schedule.daily_job(date, now, self.config.max_attempts) {
                Ok(job) => jobs.push(job),
                // A profile the motivation kind refuses (it was checked when stored): skip
                // the day rather than retrying it on every pass.
                Err(JobsError::InvalidValue(reason)) => {
                    tracing::error!(tenant = %schedule.tenant_id, %reason, "motivation schedule skipped a day")
                }
                Err(error) => return Err(error),
            }
            let (next, at) = schedule.following(date);
            advances.push(ScheduleAdvance::of(schedule, next, at));
        }
        for answer in submit_jobs(&*self.store, &*self.queue, &jobs, ANNOUNCE_TIMEOUT).await? {
            match answer? {
                Inserted::Created(_) => pass.created += 1,
                Inserted::Replayed(_) => pass.existing += 1,
            }
        }
        self.store
            .advance_motivation_schedules(&advances, now)
            .await?;
        Ok(())
    }
}
