//! The store: the durable source of truth for tenants and jobs (DESIGN §3).
//!
//! Two implementations, [`crate::PgStore`] and [`crate::SqliteStore`], pass one conformance suite
//! (`jobs/tests/store_conformance.rs`). Every state change is a single conditional statement, so
//! the state machine and the lease fencing hold under any concurrency. Each trait is written
//! once for both (`job_store.rs` for [`JobStore`], the file named after each other trait), over
//! the `Backend` seam below; `pg.rs` and `sqlite.rs` hold how each connects and the few
//! statements whose SQL differs as a whole.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sparta_coach::athlete::AthleteId;

use crate::JobsError;
use crate::api_key::ApiKeyHash;
use crate::json_text::JsonText;
use crate::model::{
    Assignment, Finish, Finished, Inserted, Job, JobId, JobStatus, ListQuery, NewJob, Outcome,
    Tenant, TenantId, TenantName, WorkerId,
};
use crate::webhook_signature::WebhookSecret;

/// The durable store of tenants and jobs.
#[async_trait]
pub trait JobStore:
    WebhookOutbox
    + ActivityStore
    + MotivationStore
    + SecretStore
    + KeyStore
    + BreakerOverrideStore
    + JwtVerifierStore
    + BudgetStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is (`postgres`, `sqlite`), for logs and health output.
    fn backend(&self) -> &'static str;

    /// Applies the backend's migrations (idempotent).
    async fn migrate(&self) -> Result<(), JobsError>;

    /// A cheap round trip, for readiness.
    async fn ping(&self) -> Result<(), JobsError>;

    /// Creates a tenant with its first API key's hash and its webhook signing secret. A taken
    /// name is `AlreadyExists`.
    async fn create_tenant(
        &self,
        name: &TenantName,
        key_hash: &ApiKeyHash,
        webhook_secret: &WebhookSecret,
    ) -> Result<Tenant, JobsError>;

    /// Replaces a tenant's webhook secret; the old one is kept as the previous secret, which
    /// keeps signing for a grace period. An unknown name is `NotFound`.
    async fn rotate_webhook_secret(
        &self,
        name: &TenantName,
        secret: &WebhookSecret,
        now: DateTime<Utc>,
    ) -> Result<Tenant, JobsError>;

    /// The secrets that sign a tenant's webhooks at `now`: the current one, then the previous
    /// one while its rotation is younger than `grace`.
    async fn webhook_secrets(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> Result<Vec<WebhookSecret>, JobsError>;

    /// Every tenant, oldest first.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, JobsError>;

    /// Stores a new job, or answers the original one for a replayed idempotency key with the
    /// same request hash. A reused key with another hash is `IdempotencyConflict`.
    async fn insert_job(&self, job: &NewJob) -> Result<Inserted, JobsError> {
        self.insert_jobs(std::slice::from_ref(job))
            .await?
            .pop()
            .unwrap_or_else(|| Err(JobsError::Corrupt("an insert answered nothing".into())))
    }

    /// Stores new jobs in one statement (one commit), each answered as [`JobStore::insert_job`]
    /// answers it, in order: an idempotency conflict refuses only its own item, and a key used
    /// twice in one batch replays (or conflicts with) its first use. The outer error is the
    /// statement's: then nothing was stored.
    async fn insert_jobs(
        &self,
        jobs: &[NewJob],
    ) -> Result<Vec<Result<Inserted, JobsError>>, JobsError>;

    /// One job of a tenant. Another tenant's job is `None`, exactly like a missing one.
    async fn get_job(&self, tenant: TenantId, id: JobId) -> Result<Option<Job>, JobsError>;

    /// A page of a tenant's jobs (`None`: every tenant's, for the operator), newest first (by
    /// id, which is time-ordered: a stable order).
    async fn list_jobs(
        &self,
        tenant: Option<TenantId>,
        query: &ListQuery,
    ) -> Result<Vec<Job>, JobsError>;

    /// A job of any tenant (the operator's view).
    async fn find_job(&self, id: JobId) -> Result<Option<Job>, JobsError>;

    /// Cancels a queued or running job. A terminal job is `InvalidTransition`; a missing or
    /// foreign job is `NotFound`. A running job's worker then loses its lease.
    async fn cancel_job(
        &self,
        tenant: TenantId,
        id: JobId,
        now: DateTime<Utc>,
    ) -> Result<Job, JobsError>;

    /// Starts a new attempt cycle of a failed job (`POST /v1/jobs/{id}/retry`): queued again at
    /// `now` with its attempts reset and its output and error cleared; its trace keeps every
    /// earlier attempt and gains an entry `{"event": "retried", "at": …, "after_attempts": n}`
    /// (the entries after it count their `job_attempt` from 1 again). Any other status is
    /// `InvalidTransition`; a missing or foreign job is `NotFound`. The caller announces it.
    async fn retry_job(
        &self,
        tenant: TenantId,
        id: JobId,
        now: DateTime<Utc>,
    ) -> Result<Job, JobsError>;

    /// Takes one queued, due job for a worker: status `running`, attempt + 1, a lease until
    /// `now + lease`, handed over as the [`Assignment`] the worker runs. `None` when the job is
    /// not claimable (already taken, not due, finished): of any number of concurrent claims of
    /// one job exactly one wins.
    async fn claim(
        &self,
        id: JobId,
        worker: &WorkerId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Assignment>, JobsError> {
        Ok(self.claim_many(&[id], worker, now, lease).await?.pop())
    }

    /// [`JobStore::claim`] for many ids in one statement: the jobs claimable of `ids` (any
    /// order); the others are skipped.
    async fn claim_many(
        &self,
        ids: &[JobId],
        worker: &WorkerId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<Assignment>, JobsError>;

    /// Claims up to `limit` due jobs, highest priority first, then oldest `run_at`.
    async fn claim_next(
        &self,
        worker: &WorkerId,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Assignment>, JobsError>;

    /// Extends a lease the worker still holds; `LeaseLost` otherwise (cancelled, expired and
    /// taken over).
    async fn renew_lease(
        &self,
        id: JobId,
        worker: &WorkerId,
        until: DateTime<Utc>,
    ) -> Result<(), JobsError>;

    /// Extends the leases `worker` holds on `jobs` (those it runs) to `until` in one statement (the
    /// heartbeat of a worker); returns the jobs it still holds. A job the worker believes it runs
    /// but that is missing from the answer lost its lease (cancelled, or expired and taken over).
    /// Never waits for another statement's hold on a job (its result being written, say): that job
    /// is answered as held and renewed at the next heartbeat. Only the jobs named: a job whose
    /// result could not be written, or whose claim committed without the worker hearing of it, is
    /// not the worker's any more in its mind, so its lease must expire for the reconciler to run it
    /// again.
    async fn renew_leases(
        &self,
        worker: &WorkerId,
        jobs: &[JobId],
        until: DateTime<Utc>,
    ) -> Result<Vec<JobId>, JobsError>;

    /// Ends an attempt. Written only while `worker` holds the lease on a running job (the
    /// fencing check); otherwise `LeaseLost` and nothing changes. A retry whose attempts are
    /// exhausted is stored as failed.
    async fn finish(
        &self,
        id: JobId,
        worker: &WorkerId,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Job, JobsError> {
        let finish = Finish {
            id,
            worker: worker.clone(),
            outcome,
        };
        let written = self
            .finish_many(std::slice::from_ref(&finish), now)
            .await?
            .pop()
            .ok_or(JobsError::LeaseLost)?;
        self.get_job(written.tenant_id, id)
            .await?
            .ok_or(JobsError::NotFound)
    }

    /// Ends many attempts in one statement (one commit), each fenced on its own lease: the
    /// results written (any order); a result whose lease is gone is left out, and changes
    /// nothing.
    async fn finish_many(
        &self,
        batch: &[Finish],
        now: DateTime<Utc>,
    ) -> Result<Vec<Finished>, JobsError>;

    /// Gives back a lease without counting the attempt (graceful shutdown): the job is queued
    /// again at once, marked as announced at `now` (the caller announces it).
    async fn release(
        &self,
        id: JobId,
        worker: &WorkerId,
        now: DateTime<Utc>,
    ) -> Result<(), JobsError>;

    /// Running jobs whose lease expired before `now` (their worker died): queued again if
    /// attempts remain (marked announced at `now`: the caller announces them), failed with
    /// `LEASE_EXPIRED` otherwise. Returns the ids queued again.
    async fn recover_expired(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<JobId>, JobsError>;

    /// Due queued jobs that were never handed to the queue since they became queued (retries,
    /// failed announcements) and, with `stale_before`, also those last announced before it;
    /// by priority then age. They are marked as announced at `now`: the reconciler pushes them
    /// to the queue, so a lost queue message never loses a job.
    async fn take_unannounced(
        &self,
        now: DateTime<Utc>,
        stale_before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<JobId>, JobsError>;

    /// Counts a tenant's jobs per status (for limits and metrics).
    async fn count_queued(&self, tenant: TenantId) -> Result<u64, JobsError>;

    /// Jobs queued and running, by kind, across tenants (the queue-depth gauge; callers cache
    /// it: it reads every queued and running row's index entry).
    async fn queue_depth(&self) -> Result<Vec<QueueDepth>, JobsError>;

    /// Webhook events not yet delivered nor given up, across tenants (callers cache it with
    /// the queue depth: it reads the pending events' index).
    async fn webhook_backlog(&self) -> Result<WebhookBacklog, JobsError>;
}

/// Webhook events waiting for delivery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookBacklog {
    /// How many.
    pub pending: u64,
    /// When the oldest was created.
    pub oldest: Option<DateTime<Utc>>,
}

/// The statement behind [`JobStore::webhook_backlog`], the same in both stores.
const WEBHOOK_BACKLOG: &str = "SELECT count(*) AS pending, min(created_at) AS oldest \
    FROM webhook_events WHERE status = 'pending'";

/// Reads the row of [`WEBHOOK_BACKLOG`].
fn webhook_backlog_from(row: &impl ColumnReader) -> Result<WebhookBacklog, JobsError> {
    Ok(WebhookBacklog {
        pending: u64::try_from(row.int("pending")?).unwrap_or(0),
        oldest: row.instant("oldest")?,
    })
}

/// How many jobs of a kind are in a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueDepth {
    /// The kind.
    pub kind: sparta_coach::JobKind,
    /// `Queued` or `Running`.
    pub status: JobStatus,
    /// How many.
    pub jobs: u64,
}

/// The statement behind [`JobStore::queue_depth`], the same in both stores. One branch per
/// status, so each reads its partial index (`jobs_due`, `jobs_leases`): `status IN (…)` implies
/// neither index's predicate, and over a million finished jobs the planner read the whole table
/// (150–195 ms against a few for the 10,000 queued rows).
const QUEUE_DEPTH: &str = "SELECT kind, 'queued' AS status, count(*) AS jobs FROM jobs \
    WHERE status = 'queued' GROUP BY kind \
    UNION ALL SELECT kind, 'running' AS status, count(*) AS jobs FROM jobs \
    WHERE status = 'running' GROUP BY kind";

/// Reads the rows of [`QUEUE_DEPTH`].
fn queue_depth_from<R: ColumnReader>(rows: &[R]) -> Result<Vec<QueueDepth>, JobsError> {
    rows.iter()
        .map(|row| {
            Ok(QueueDepth {
                kind: kind_from(&required(row.text("kind")?, "kind")?)?,
                status: required(row.text("status")?, "status")?
                    .parse()
                    .map_err(|e: JobsError| JobsError::Corrupt(e.to_string()))?,
                jobs: u64::try_from(row.int("jobs")?).unwrap_or(0),
            })
        })
        .collect()
}

pub mod activity;
mod batch;
pub mod breakers;
pub mod budgets;
mod held_connections;
mod job_store;
pub mod jwt_verifiers;
pub mod keys;
mod motivation;
mod outbox;
mod pg;
pub mod secrets;
mod sqlite;

pub use activity::ActivityStore;
pub use breakers::{BreakerOverride, BreakerOverrideStore};
pub use budgets::{Budget, BudgetStore, Reservation, UsdMicros};
pub use jwt_verifiers::{JwtVerifierStore, StoredJwtSecret};
pub use keys::{KeyOwner, KeyStore};
pub use motivation::MotivationStore;
pub use outbox::WebhookOutbox;
pub use pg::PgStore;
pub use secrets::SecretStore;
pub use sqlite::SqliteStore;

/// What a statement written once for both stores needs of the store it runs on. [`JobStore`]
/// and the store traits beside it (`activity`, `breakers`, `budgets`, `jwt_verifiers`, `keys`,
/// `motivation`, `outbox`, `secrets`) are each implemented by one macro body expanded for
/// [`PgStore`] and for [`SqliteStore`]; their SQL is shared (sqlx numbers `$1`… placeholders for
/// SQLite as it does for Postgres), and what differs between the two goes through here (the few
/// statements whose SQL differs as a whole are each store's own methods, named where used).
trait Backend {
    /// Which backend this is, for logs and health output.
    const NAME: &'static str;
    /// What a sub-select that picks rows to update adds so that concurrent pickers pass over
    /// each other's rows (Postgres: `FOR UPDATE SKIP LOCKED`; SQLite: nothing, its single writer
    /// runs one statement at a time).
    const SKIP_LOCKED: &'static str;
    /// What a read adds to hold its rows until the transaction ends (Postgres: `FOR UPDATE`;
    /// SQLite: nothing, its single writer holds the whole database).
    const FOR_UPDATE: &'static str;
    /// A condition that a claim's `WHERE` starts with, true at every row, which lets the
    /// claim's transaction commit without waiting for its log to reach the disk (Postgres:
    /// `synchronous_commit` off for that transaction alone, set once through an init plan;
    /// SQLite: `TRUE`, its commits are as they were). A claim lost to a crash of the database
    /// sends its job round again, as an expired lease does; nothing written after it can
    /// outlive it: a result, a cancellation or a release commits with a flush, which writes the
    /// log up to and past the claim first, and a result is fenced on the lease the claim wrote.
    const UNFLUSHED_CLAIM: &'static str;
    /// The job's `trace` with a `retried` entry appended: `{"event": "retried", "at": $3 as
    /// RFC 3339 with milliseconds, "after_attempts": attempt}`, in the store's JSON functions.
    const TRACE_WITH_RETRY: &'static str;

    /// The database its pools connect to.
    type Db: sqlx::Database;
    /// An instant as a statement binds it: `timestamptz` in Postgres, unix milliseconds in
    /// SQLite.
    type Instant;
    /// How batched statements take their rows.
    type Dialect: batch::Dialect;

    /// Where writes go (SQLite: its single writer), and reads that must see the last write.
    fn writer(&self) -> &sqlx::Pool<Self::Db>;

    /// Where other reads go (SQLite: the reader pool, never waiting for the writer).
    fn reader(&self) -> &sqlx::Pool<Self::Db>;

    /// `at` as a statement binds it.
    fn instant(at: DateTime<Utc>) -> Self::Instant;

    /// The store's migrations.
    fn migrator() -> &'static sqlx::migrate::Migrator;

    /// Tells every cache of keys, tenants and token verifiers that one changed (Postgres: a
    /// trigger notifies every process, nothing to do here; SQLite: one process, told directly).
    fn auth_changed(&self);

    /// Tells the change feed that a statement changed these jobs' status or attempt, once it
    /// committed (Postgres: every process, through `NOTIFY` within a short window; SQLite: this
    /// process, directly). Never waits.
    fn published(&self, jobs: impl IntoIterator<Item = JobId>);
}

/// The columns every job query returns, in the order the row decoders read them.
const JOB_COLUMNS: &str = "id, tenant_id, kind, status, input, output, error, attempt, \
    max_attempts, priority, run_at, lease_owner, lease_expires_at, idempotency_key, webhook_url, \
    metadata, prompt_version, provider, model, input_tokens, output_tokens, cost_usd, trace, \
    request_id, traceparent, athlete_id, created_at, started_at, finished_at";

/// The columns a claim returns, in the order [`assignment_from`] reads them.
const ASSIGNMENT_COLUMNS: &str =
    "id, tenant_id, kind, input, attempt, request_id, traceparent, created_at";

/// How a backend reads one column of a job row: the only part of decoding a job that differs
/// between the stores (Postgres has native instants and JSON; SQLite keeps milliseconds and text).
trait ColumnReader {
    fn uuid(&self, name: &str) -> Result<uuid::Uuid, JobsError>;
    fn text(&self, name: &str) -> Result<Option<String>, JobsError>;
    fn int(&self, name: &str) -> Result<i64, JobsError>;
    fn float(&self, name: &str) -> Result<f64, JobsError>;
    fn json(&self, name: &str) -> Result<Option<serde_json::Value>, JobsError>;
    /// A document column as its text, unparsed (see [`JsonText`]).
    fn json_text(&self, name: &str) -> Result<Option<JsonText>, JobsError>;
    fn instant(&self, name: &str) -> Result<Option<DateTime<Utc>>, JobsError>;
}

fn required<T>(value: Option<T>, name: &str) -> Result<T, JobsError> {
    value.ok_or_else(|| JobsError::Corrupt(format!("{name} is missing")))
}

/// Parses an optional stored string into a checked newtype.
fn checked<T>(
    value: Option<String>,
    parse: fn(String) -> Result<T, JobsError>,
) -> Result<Option<T>, JobsError> {
    value
        .map(parse)
        .transpose()
        .map_err(|e| JobsError::Corrupt(e.to_string()))
}

/// Decodes a row of [`ASSIGNMENT_COLUMNS`] (the first columns a job row is decoded from too).
fn assignment_from(row: &impl ColumnReader) -> Result<Assignment, JobsError> {
    Ok(Assignment {
        id: JobId::from_uuid(row.uuid("id")?),
        tenant_id: TenantId::from_uuid(row.uuid("tenant_id")?),
        kind: kind_from(&required(row.text("kind")?, "kind")?)?,
        input: required(row.json_text("input")?, "input")?,
        attempt: small(row, "attempt")?,
        // A row written before the request-id alphabet was narrowed keeps loading; only its
        // (then unsafe) id is dropped.
        request_id: row
            .text("request_id")?
            .and_then(|id| crate::model::RequestId::parse(id).ok()),
        traceparent: row.text("traceparent")?,
        created_at: required(row.instant("created_at")?, "created_at")?,
    })
}

/// Decodes a row of [`JOB_COLUMNS`]: the [`Assignment`]'s columns, then the rest of the row.
fn job_from(row: &impl ColumnReader) -> Result<Job, JobsError> {
    let corrupt = |e: JobsError| JobsError::Corrupt(e.to_string());
    let count = |name: &str| row.int(name).map(|n| u64::try_from(n).unwrap_or(0));
    let Assignment {
        id,
        tenant_id,
        kind,
        input,
        attempt,
        request_id,
        traceparent,
        created_at,
    } = assignment_from(row)?;
    Ok(Job {
        id,
        tenant_id,
        kind,
        status: required(row.text("status")?, "status")?
            .parse()
            .map_err(corrupt)?,
        input,
        athlete_id: row
            .text("athlete_id")?
            .map(AthleteId::new)
            .transpose()
            .map_err(JobsError::Corrupt)?,
        output: row.json_text("output")?,
        error: failure_from(row.json("error")?)?,
        attempt,
        max_attempts: small(row, "max_attempts")?,
        priority: crate::model::Priority::new(row.int("priority")?).map_err(corrupt)?,
        run_at: required(row.instant("run_at")?, "run_at")?,
        lease_owner: checked(row.text("lease_owner")?, WorkerId::parse)?,
        lease_expires_at: row.instant("lease_expires_at")?,
        idempotency_key: checked(
            row.text("idempotency_key")?,
            crate::model::IdempotencyKey::parse,
        )?,
        webhook_url: checked(row.text("webhook_url")?, crate::model::WebhookUrl::stored)?,
        metadata: row.json("metadata")?,
        prompt_version: row.text("prompt_version")?,
        provider: row.text("provider")?,
        model: row.text("model")?,
        usage: crate::model::Usage {
            input_tokens: count("input_tokens")?,
            output_tokens: count("output_tokens")?,
            cost_usd: row.float("cost_usd")?,
        },
        trace: required(row.json("trace")?, "trace")?,
        request_id,
        traceparent,
        created_at,
        started_at: row.instant("started_at")?,
        finished_at: row.instant("finished_at")?,
    })
}

/// An integer column that must fit an `i32`.
fn small(row: &impl ColumnReader, name: &str) -> Result<i32, JobsError> {
    row.int(name).and_then(|n| {
        i32::try_from(n).map_err(|_| JobsError::Corrupt(format!("{name} out of range")))
    })
}

/// Decodes a tenant row (`id, name, created_at`).
/// The columns of a tenant as [`tenant_from`] reads them.
const TENANT_COLUMNS: &str = "id, name, created_at, disabled_at";

fn tenant_from(row: &impl ColumnReader) -> Result<Tenant, JobsError> {
    Ok(Tenant {
        id: TenantId::from_uuid(row.uuid("id")?),
        name: TenantName::parse(required(row.text("name")?, "name")?)
            .map_err(|e| JobsError::Corrupt(e.to_string()))?,
        created_at: required(row.instant("created_at")?, "created_at")?,
        disabled_at: row.instant("disabled_at")?,
    })
}

/// The secrets of a tenant row (`webhook_secret, previous_webhook_secret,
/// webhook_secret_rotated_at`) that sign at `now`.
fn signing_secrets(
    row: &impl ColumnReader,
    now: DateTime<Utc>,
    grace: Duration,
    keyring: &crate::secrets::Keyring,
) -> Result<Vec<WebhookSecret>, JobsError> {
    let parse = |text: String| {
        keyring
            .open(&text)
            .map_err(|e| JobsError::Corrupt(format!("webhook secret: {e}")))
    };
    let mut secrets = Vec::with_capacity(2);
    if let Some(current) = row.text("webhook_secret")? {
        secrets.push(parse(current)?);
    }
    let rotated = row.instant("webhook_secret_rotated_at")?;
    if let (Some(previous), Some(rotated)) = (row.text("previous_webhook_secret")?, rotated)
        && now.signed_duration_since(rotated) < lease_delta(grace)
    {
        secrets.push(parse(previous)?);
    }
    Ok(secrets)
}

/// The error stored on a job whose last lease ran out (its worker died or hung).
fn lease_expired_error() -> serde_json::Value {
    serde_json::json!({
        "code": "LEASE_EXPIRED",
        "message": "the worker running the last attempt stopped answering and no attempts are left"
    })
}

/// Decodes a stored `{code, message}`.
fn failure_from(
    value: Option<serde_json::Value>,
) -> Result<Option<crate::model::JobFailure>, JobsError> {
    value
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| JobsError::Corrupt(format!("job error: {e}")))
}

/// Decodes a stored kind name.
fn kind_from(name: &str) -> Result<sparta_coach::JobKind, JobsError> {
    name.parse()
        .map_err(|_| JobsError::Corrupt(format!("unknown job kind '{name}'")))
}

/// The outcome of an update guarded by the lease: exactly one row, or the lease is gone.
fn fenced(rows_affected: u64) -> Result<(), JobsError> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(JobsError::LeaseLost)
    }
}

/// A lease length as a chrono duration (saturating: leases are seconds to minutes).
fn lease_delta(lease: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(lease).unwrap_or(chrono::TimeDelta::MAX)
}
