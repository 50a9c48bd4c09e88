//! Submitting jobs, the one path every producer takes (a single `POST /v1/jobs`, a batch, the
//! motivation scheduler): one statement stores the jobs (one commit), then one round trip
//! announces those created. Failed jobs queued again ([`retry_jobs`]: a tenant's retry, the
//! operator's) are announced the same way. The rows are committed before anything is announced
//! or answered (DESIGN §3); an announcement that fails or times out is only logged, since the
//! job is safe in the store and the reconciler announces it again — which is also why single
//! submits ([`store_jobs`], then [`announce`]) are answered before their announcement.

use std::time::Duration;

use crate::JobsError;
use chrono::{DateTime, Utc};

use crate::model::{Inserted, Job, JobId, NewJob, TenantId};
use crate::queue::JobQueue;
use crate::store::JobStore;

/// Stores `jobs` and announces the new ones, answering each as
/// [`JobStore::insert_jobs`] does. The outer error is the statement's: nothing was stored.
pub async fn submit_jobs(
    store: &dyn JobStore,
    queue: &dyn JobQueue,
    jobs: &[NewJob],
    announce_timeout: Duration,
) -> Result<Vec<Result<Inserted, JobsError>>, JobsError> {
    let (answers, created) = store_jobs(store, jobs).await?;
    announce(queue, &created, announce_timeout).await;
    Ok(answers)
}

/// The first half of [`submit_jobs`] for callers that answer before they announce: stores
/// `jobs` (committed when this returns) and gives each one's answer and the ids created, which
/// the caller then passes to [`announce`].
pub async fn store_jobs(
    store: &dyn JobStore,
    jobs: &[NewJob],
) -> Result<(Vec<Result<Inserted, JobsError>>, Vec<JobId>), JobsError> {
    if jobs.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let answers = store.insert_jobs(jobs).await?;
    let created: Vec<JobId> = answers
        .iter()
        .filter_map(|answer| match answer {
            Ok(Inserted::Created(job)) => Some(job.id),
            _ => None,
        })
        .collect();
    Ok((answers, created))
}

/// Queues failed jobs again ([`JobStore::retry_job`] for each, as of `now`), then announces those
/// queued in one round trip, answering each as `retry_job` does.
pub async fn retry_jobs(
    store: &dyn JobStore,
    queue: &dyn JobQueue,
    jobs: &[(TenantId, JobId)],
    now: DateTime<Utc>,
    announce_timeout: Duration,
) -> Vec<Result<Job, JobsError>> {
    let mut answers = Vec::with_capacity(jobs.len());
    for &(tenant, id) in jobs {
        answers.push(store.retry_job(tenant, id, now).await);
    }
    let queued: Vec<JobId> = answers
        .iter()
        .filter_map(|answer| answer.as_ref().ok().map(|job| job.id))
        .collect();
    announce(queue, &queued, announce_timeout).await;
    answers
}

/// [`retry_jobs`] of one job.
pub async fn retry_one(
    store: &dyn JobStore,
    queue: &dyn JobQueue,
    tenant: TenantId,
    id: JobId,
    now: DateTime<Utc>,
    announce_timeout: Duration,
) -> Result<Job, JobsError> {
    retry_jobs(store, queue, &[(tenant, id)], now, announce_timeout)
        .await
        .pop()
        .unwrap_or(Err(JobsError::NotFound))
}

/// Announces committed jobs, bounded by `timeout`; a failure is logged for the reconciler.
pub async fn announce(queue: &dyn JobQueue, ids: &[JobId], timeout: Duration) {
    if ids.is_empty() {
        return;
    }
    match tokio::time::timeout(timeout, queue.announce(ids)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(jobs = ids.len(), %error, "announce failed; the reconciler will re-announce")
        }
        Err(_) => tracing::warn!(
            jobs = ids.len(),
            timeout_ms = timeout.as_millis(),
            "announce timed out; the reconciler will re-announce"
        ),
    }
}
