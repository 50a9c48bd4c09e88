//! The Postgres store: for distributed mode, many API and worker processes on one database.
//!
//! Job changes reach other processes through the database: a trigger (migration
//! `20261204000005_job_notify`) notifies [`crate::change_feed::PG_CHANNEL`] on every status or
//! attempt change, and [`PgStore::change_feed`] listens to it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Connection as _, PgConnection, PgPool, Row as _, TypeInfo as _, ValueRef as _};
use uuid::Uuid;

use super::batch::{self, Dialect as _};
use super::{
    Backend, ColumnReader, JOB_COLUMNS, JobStore, QueueDepth, fenced, job_from, lease_delta,
    lease_expired_error, signing_secrets, tenant_from,
};
use crate::JobsError;
use crate::api_key::ApiKeyHash;
use crate::change_feed::ChangeFeed;
use crate::model::{
    Finish, Finished, Inserted, Job, JobId, JobStatus, ListQuery, NewJob, Tenant, TenantId,
    TenantName, WorkerId,
};
use crate::secrets::Keyring;
use crate::webhook_signature::WebhookSecret;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The Postgres implementation of [`JobStore`].
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// This process's job change feed, fed by a `LISTEN` task once [`PgStore::change_feed`] runs.
    changes: ChangeFeed,
    /// Seals and opens webhook and token secrets (never stored in plain text).
    pub(super) secrets: Keyring,
}

impl PgStore {
    /// The original job of a replayed idempotency key (or the conflict), read after an insert
    /// skipped `job`.
    async fn replayed(&self, job: &NewJob) -> Result<Result<Inserted, JobsError>, JobsError> {
        let key = job
            .idempotency_key
            .as_ref()
            .ok_or_else(|| JobsError::Corrupt("insert refused without a key".into()))?;
        let sql = format!(
            "SELECT {JOB_COLUMNS}, request_hash FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2"
        );
        let row = sqlx::query(&sql)
            .bind(job.tenant_id.as_uuid())
            .bind(key.as_str())
            .fetch_one(&self.pool)
            .await?;
        batch::replay(&row, job)
    }

    /// Connects (lazily checked by [`JobStore::ping`]). `acquire_timeout` bounds how long a
    /// request waits for a connection, so a database outage answers 503 instead of hanging.
    /// `secrets` seals webhook secrets on their way in and opens them on their way out.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
        secrets: Keyring,
    ) -> Result<Self, JobsError> {
        let options: PgConnectOptions =
            url.parse().map_err(|e: sqlx::Error| JobsError::BadUrl {
                what: "database",
                reason: e.to_string(),
            })?;
        // One direct connection first: a pool would retry until its timeout and then report
        // only "pool timed out", hiding the cause (refused, unknown host, bad password).
        let first = tokio::time::timeout(acquire_timeout, PgConnection::connect_with(&options))
            .await
            .map_err(|_| JobsError::Timeout("connecting to postgres"))??;
        first.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect_lazy_with(options);
        Ok(Self::from_pool(pool, secrets))
    }

    /// Wraps an existing pool (tests create one database per test).
    pub fn from_pool(pool: PgPool, secrets: Keyring) -> Self {
        Self {
            pool,
            changes: ChangeFeed::new(),
            secrets,
        }
    }

    /// Runs a tenant's transition of its job (`$1` the id, `$2` the tenant, `$3` now): the job
    /// as changed, or why not (`InvalidTransition` from its status to `to`, or `NotFound`).
    async fn tenant_transition(
        &self,
        sql: &str,
        tenant: TenantId,
        id: JobId,
        now: DateTime<Utc>,
        to: JobStatus,
    ) -> Result<Job, JobsError> {
        let row = sqlx::query(sql)
            .bind(id.as_uuid())
            .bind(tenant.as_uuid())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => job_from_row(&row),
            None => match self.get_job(tenant, id).await? {
                Some(job) => Err(JobsError::InvalidTransition {
                    from: job.status,
                    to,
                }),
                None => Err(JobsError::NotFound),
            },
        }
    }

    /// The feed of job changes made by any process on this database. Its first subscriber starts
    /// the task that `LISTEN`s for the trigger's notifications (reconnecting after a lost
    /// connection); the task holds one pooled connection and stops with the last clone of the
    /// feed.
    pub fn change_feed(&self) -> ChangeFeed {
        self.changes.listen_on_demand(self.pool.clone());
        self.changes.clone()
    }
}

impl Backend for PgStore {
    type Db = sqlx::Postgres;
    type Instant = DateTime<Utc>;
    type Dialect = batch::Postgres;

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn instant(at: DateTime<Utc>) -> DateTime<Utc> {
        at
    }

    fn auth_changed(&self) {}
}

impl ColumnReader for PgRow {
    fn uuid(&self, name: &str) -> Result<Uuid, JobsError> {
        Ok(self.try_get(name)?)
    }
    fn text(&self, name: &str) -> Result<Option<String>, JobsError> {
        Ok(self.try_get(name)?)
    }
    fn int(&self, name: &str) -> Result<i64, JobsError> {
        // Postgres keeps each integer at its declared width: read it at that width. Trying the
        // widths in turn formatted a mismatch error for each miss, four a job row.
        let raw = self.try_get_raw(name)?;
        let width = raw.type_info();
        match width.name() {
            "INT2" => Ok(i64::from(self.try_get::<i16, _>(name)?)),
            "INT4" => Ok(i64::from(self.try_get::<i32, _>(name)?)),
            _ => Ok(self.try_get::<i64, _>(name)?),
        }
    }
    fn float(&self, name: &str) -> Result<f64, JobsError> {
        Ok(self.try_get(name)?)
    }
    fn json(&self, name: &str) -> Result<Option<serde_json::Value>, JobsError> {
        Ok(self.try_get(name)?)
    }
    fn instant(&self, name: &str) -> Result<Option<DateTime<Utc>>, JobsError> {
        Ok(self.try_get(name)?)
    }
}

fn job_from_row(row: &PgRow) -> Result<Job, JobsError> {
    job_from(row)
}

fn tenant_from_row(row: &PgRow) -> Result<Tenant, JobsError> {
    tenant_from(row)
}

fn jobs_from_rows(rows: &[PgRow]) -> Result<Vec<Job>, JobsError> {
    rows.iter().map(job_from_row).collect()
}

#[async_trait]
impl JobStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<(), JobsError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), JobsError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_tenant(
        &self,
        name: &TenantName,
        key_hash: &ApiKeyHash,
        webhook_secret: &WebhookSecret,
    ) -> Result<Tenant, JobsError> {
        let mut tx = self.pool.begin().await?;
        let now = Utc::now();
        let row = sqlx::query(
            "INSERT INTO tenants (id, name, created_at, webhook_secret) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING RETURNING id, name, created_at, disabled_at",
        )
        .bind(TenantId::new().as_uuid())
        .bind(name.as_str())
        .bind(now)
        .bind(self.secrets.seal(webhook_secret)?)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| JobsError::AlreadyExists(format!("tenant '{name}'")))?;
        let tenant = tenant_from_row(&row)?;
        sqlx::query(
            "INSERT INTO api_keys (key_hash, tenant_id, created_at, id, name) \
             VALUES ($1, $2, $3, $4, 'default')",
        )
        .bind(key_hash.as_str())
        .bind(tenant.id.as_uuid())
        .bind(now)
        .bind(crate::model::ApiKeyId::new().as_uuid())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(tenant)
    }

    async fn rotate_webhook_secret(
        &self,
        name: &TenantName,
        secret: &WebhookSecret,
        now: DateTime<Utc>,
    ) -> Result<Tenant, JobsError> {
        let row = sqlx::query(
            "UPDATE tenants SET previous_webhook_secret = webhook_secret, \
             webhook_secret = $2, webhook_secret_rotated_at = $3 \
             WHERE name = $1 RETURNING id, name, created_at, disabled_at",
        )
        .bind(name.as_str())
        .bind(self.secrets.seal(secret)?)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(JobsError::NotFound)?;
        tenant_from_row(&row)
    }

    async fn webhook_secrets(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> Result<Vec<WebhookSecret>, JobsError> {
        let row = sqlx::query(
            "SELECT webhook_secret, previous_webhook_secret, webhook_secret_rotated_at \
             FROM tenants WHERE id = $1",
        )
        .bind(tenant.as_uuid())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(JobsError::NotFound)?;
        signing_secrets(&row, now, grace, &self.secrets)
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, JobsError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, disabled_at FROM tenants ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(tenant_from_row).collect()
    }

    async fn insert_jobs(
        &self,
        jobs: &[NewJob],
    ) -> Result<Vec<Result<Inserted, JobsError>>, JobsError> {
        let (inserts, stored) = batch::insert_batch::<batch::Postgres>(jobs)?;
        let rows = inserts
            .bind(sqlx::query(batch::Postgres::INSERT_MANY))
            .fetch_all(&self.pool)
            .await?;
        let mut answers = Vec::with_capacity(jobs.len());
        for (job, created) in jobs.iter().zip(batch::created(stored, &rows)?) {
            answers.push(match created {
                Some(created) => Ok(Inserted::Created(created)),
                None => self.replayed(job).await?,
            });
        }
        Ok(answers)
    }

    async fn get_job(&self, tenant: TenantId, id: JobId) -> Result<Option<Job>, JobsError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(tenant.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn find_job(&self, id: JobId) -> Result<Option<Job>, JobsError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn list_jobs(
        &self,
        tenant: Option<TenantId>,
        query: &ListQuery,
    ) -> Result<Vec<Job>, JobsError> {
        // Two statements rather than `($1 IS NULL OR tenant_id = $1)`, which would keep a
        // tenant's list off its index (`jobs_by_tenant`) in a generic plan.
        let tenant_clause = if tenant.is_some() {
            "tenant_id = $1"
        } else {
            "$1::uuid IS NULL"
        };
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE {tenant_clause} \
             AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR status = $3) \
             AND ($4::timestamptz IS NULL OR created_at >= $4) \
             AND ($5::timestamptz IS NULL OR created_at < $5) \
             AND ($6::uuid IS NULL OR id < $6) AND ($8::text IS NULL OR athlete_id = $8) \
             ORDER BY id DESC LIMIT $7"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant.map(|t| t.as_uuid()))
            .bind(query.kind.map(|k| k.as_str()))
            .bind(query.status.map(JobStatus::as_str))
            .bind(query.created_from)
            .bind(query.created_to)
            .bind(query.after.map(|id| id.as_uuid()))
            .bind(i64::from(query.limit))
            .bind(query.athlete.as_ref().map(|a| a.as_str()))
            .fetch_all(&self.pool)
            .await?;
        jobs_from_rows(&rows)
    }

    async fn cancel_job(
        &self,
        tenant: TenantId,
        id: JobId,
        now: DateTime<Utc>,
    ) -> Result<Job, JobsError> {
        let sql = format!(
            "UPDATE jobs SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, \
             finished_at = $3 WHERE id = $1 AND tenant_id = $2 AND status IN ('queued', 'running') \
             RETURNING {JOB_COLUMNS}"
        );
        self.tenant_transition(&sql, tenant, id, now, JobStatus::Cancelled)
            .await
    }

    async fn retry_job(
        &self,
        tenant: TenantId,
        id: JobId,
        now: DateTime<Utc>,
    ) -> Result<Job, JobsError> {
        let sql = format!(
            "UPDATE jobs SET status = 'queued', attempt = 0, output = NULL, error = NULL, \
             run_at = $3, announced_at = $3, started_at = NULL, finished_at = NULL, \
             trace = trace || jsonb_build_array(jsonb_build_object('event', 'retried', \
               'at', to_char($3 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
               'after_attempts', attempt)) \
             WHERE id = $1 AND tenant_id = $2 AND status = 'failed' RETURNING {JOB_COLUMNS}"
        );
        self.tenant_transition(&sql, tenant, id, now, JobStatus::Queued)
            .await
    }

    async fn claim_many(
        &self,
        ids: &[JobId],
        worker: &WorkerId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<Job>, JobsError> {
        // A primary-key lookup per id, whatever the statistics say. While a burst is inserted
        // faster than autovacuum analyzes, the table's statistics still count a few dozen queued
        // rows, and the custom plans of a connection's first five executions scanned the whole
        // `jobs_due` index (every queued row: 19,700 of them, 5 ms for a claim of 100) instead.
        // Wrapped in `IS TRUE`, the conditions no longer imply the partial indexes' `status =
        // 'queued'`, so the primary key is the only index left to the planner.
        //
        // Planned at each execution, with the ids in view (an unnamed statement): a plan cached
        // on a connection while the table was small stays a sequential scan joined to the ids,
        // whatever the table grows to, until the next analyze. Planned at a worker's start (a
        // few hundred rows), it read 557 pages for a claim of three jobs at 1,000 jobs/s (1.2 ms
        // a claim, half of Postgres's statement time; planned each time: 45 pages, 0.3 ms).
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = $2, \
             lease_expires_at = $3, started_at = $4 \
             FROM unnest($1::uuid[]) AS claimed(claim_id) \
             WHERE id = claimed.claim_id AND (status = 'queued' AND run_at <= $4) IS TRUE \
             RETURNING {JOB_COLUMNS}"
        );
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let rows = sqlx::query(&sql)
            .persistent(false)
            .bind(ids)
            .bind(worker.as_str())
            .bind(now + lease_delta(lease))
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        jobs_from_rows(&rows)
    }

    async fn claim_next(
        &self,
        worker: &WorkerId,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, JobsError> {
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = $1, \
             lease_expires_at = $2, started_at = $3 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $3 \
                          ORDER BY priority DESC, run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING {JOB_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(worker.as_str())
            .bind(now + lease_delta(lease))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        jobs_from_rows(&rows)
    }

    async fn renew_lease(
        &self,
        id: JobId,
        worker: &WorkerId,
        until: DateTime<Utc>,
    ) -> Result<(), JobsError> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $3 \
             WHERE id = $1 AND status = 'running' AND lease_owner = $2",
        )
        .bind(id.as_uuid())
        .bind(worker.as_str())
        .bind(until)
        .execute(&self.pool)
        .await?;
        fenced(done.rows_affected())
    }

    async fn renew_leases(
        &self,
        worker: &WorkerId,
        jobs: &[JobId],
        until: DateTime<Utc>,
    ) -> Result<Vec<JobId>, JobsError> {
        let rows = sqlx::query(batch::Postgres::RENEW_LEASES)
            .bind(worker.as_str())
            .bind(until)
            .bind(batch::ids_payload::<batch::Postgres>(jobs)?)
            .fetch_all(&self.pool)
            .await?;
        batch::ids_from(&rows)
    }

    async fn finish_many(
        &self,
        results: &[Finish],
        now: DateTime<Utc>,
    ) -> Result<Vec<Finished>, JobsError> {
        let query = sqlx::query(batch::Postgres::FINISH_MANY)
            .bind(now)
            .bind(i64::try_from(results.len()).unwrap_or(i64::MAX));
        let rows = batch::finish_batch::<batch::Postgres>(results)?
            .bind(query)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(batch::finished_from).collect()
    }

    async fn release(
        &self,
        id: JobId,
        worker: &WorkerId,
        now: DateTime<Utc>,
    ) -> Result<(), JobsError> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempt = GREATEST(attempt - 1, 0), \
             lease_owner = NULL, lease_expires_at = NULL, announced_at = $3 \
             WHERE id = $1 AND status = 'running' AND lease_owner = $2",
        )
        .bind(id.as_uuid())
        .bind(worker.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        fenced(done.rows_affected())
    }

    async fn recover_expired(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<JobId>, JobsError> {
        let rows = sqlx::query(
            "UPDATE jobs SET \
               status = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END, \
               error = CASE WHEN attempt >= max_attempts THEN $3 ELSE error END, \
               finished_at = CASE WHEN attempt >= max_attempts THEN $1 ELSE NULL END, \
               run_at = $1, announced_at = $1, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < $1 \
                          ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING id, status",
        )
        .bind(now)
        .bind(i64::from(limit))
        .bind(lease_expired_error())
        .fetch_all(&self.pool)
        .await?;
        requeued_ids(&rows)
    }

    async fn take_unannounced(
        &self,
        now: DateTime<Utc>,
        stale_before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<JobId>, JobsError> {
        let rows = sqlx::query(
            "UPDATE jobs SET announced_at = $1 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $1 \
                          AND (announced_at IS NULL OR announced_at < $2) \
                          ORDER BY priority DESC, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(now)
        .bind(stale_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(JobId::from_uuid(row.try_get::<Uuid, _>("id")?)))
            .collect()
    }

    async fn count_queued(&self, tenant: TenantId) -> Result<u64, JobsError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE tenant_id = $1 AND status = 'queued'",
        )
        .bind(tenant.as_uuid())
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn queue_depth(&self) -> Result<Vec<QueueDepth>, JobsError> {
        let rows = sqlx::query(super::QUEUE_DEPTH)
            .fetch_all(&self.pool)
            .await?;
        super::queue_depth_from(&rows)
    }

    async fn webhook_backlog(&self) -> Result<super::WebhookBacklog, JobsError> {
        let row = sqlx::query(super::WEBHOOK_BACKLOG)
            .fetch_one(&self.pool)
            .await?;
        super::webhook_backlog_from(&row)
    }
}

fn requeued_ids(rows: &[PgRow]) -> Result<Vec<JobId>, JobsError> {
    let mut ids = Vec::new();
    for row in rows {
        let status: String = row.try_get("status")?;
        if status == "queued" {
            ids.push(JobId::from_uuid(row.try_get::<Uuid, _>("id")?));
        }
    }
    Ok(ids)
}
