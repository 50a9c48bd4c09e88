//! [`JobStore`] written once for both stores: one macro body expanded for [`PgStore`] and for
//! [`SqliteStore`], its SQL shared, what differs going through the store's `Backend` seam (pools,
//! instants, row locks, the trace entry of a retry, how a change is published). The three
//! statements of the hot path whose SQL and hand-over differ between the stores (the insert of a
//! batch, the claim of given ids, the write of a result batch) are each store's own, in `pg.rs`
//! and `sqlite.rs`; what is around them is here.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::batch::{self, Dialect as _};
use super::{
    ASSIGNMENT_COLUMNS, Backend, JOB_COLUMNS, JobStore, PgStore, QueueDepth, SqliteStore,
    TENANT_COLUMNS, WebhookBacklog, assignment_from, fenced, job_from, lease_delta,
    lease_expired_error, queue_depth_from, signing_secrets, tenant_from, webhook_backlog_from,
};
use crate::JobsError;
use crate::api_key::ApiKeyHash;
use crate::model::{
    ApiKeyId, Assignment, Finish, Finished, Inserted, Job, JobId, JobStatus, ListQuery, NewJob,
    Tenant, TenantId, TenantName, WorkerId,
};
use crate::webhook_signature::WebhookSecret;

/// Implements [`JobStore`] for a store, with the two helpers its transitions share.
macro_rules! job_store {
    ($store:ty) => {
        impl $store {
            /// The original job of a replayed idempotency key (or the conflict), read after an
            /// insert skipped `job`. Read through the writer: the conflicting row is committed,
            /// but an SQLite reader's snapshot could predate it.
            async fn replayed(
                &self,
                job: &NewJob,
            ) -> Result<Result<Inserted, JobsError>, JobsError> {
                let key = job
                    .idempotency_key
                    .as_ref()
                    .ok_or_else(|| JobsError::Corrupt("insert refused without a key".into()))?;
                let sql = format!(
                    "SELECT {JOB_COLUMNS}, request_hash FROM jobs \
                     WHERE tenant_id = $1 AND idempotency_key = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(job.tenant_id.as_uuid())
                    .bind(key.as_str())
                    .fetch_one(self.writer())
                    .await?;
                batch::replay(&row, job)
            }

            /// Runs a tenant's transition of its job (`$1` the id, `$2` the tenant, `$3` now):
            /// the job as changed, or why not (`InvalidTransition` from its status to `to`, or
            /// `NotFound`).
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
                    .bind(Self::instant(now))
                    .fetch_optional(self.writer())
                    .await?;
                if let Some(row) = row {
                    let job = job_from(&row)?;
                    self.published([job.id]);
                    return Ok(job);
                }
                let status: Option<String> =
                    sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1 AND tenant_id = $2")
                        .bind(id.as_uuid())
                        .bind(tenant.as_uuid())
                        .fetch_optional(self.writer())
                        .await?;
                match status {
                    Some(status) => Err(JobsError::InvalidTransition {
                        from: status.parse()?,
                        to,
                    }),
                    None => Err(JobsError::NotFound),
                }
            }
        }

        #[async_trait]
        impl JobStore for $store {
            fn backend(&self) -> &'static str {
                Self::NAME
            }

            async fn migrate(&self) -> Result<(), JobsError> {
                Self::migrator().run(self.writer()).await?;
                Ok(())
            }

            async fn ping(&self) -> Result<(), JobsError> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }

            async fn create_tenant(
                &self,
                name: &TenantName,
                key_hash: &ApiKeyHash,
                webhook_secret: &WebhookSecret,
            ) -> Result<Tenant, JobsError> {
                let mut tx = self.writer().begin().await?;
                let now = Utc::now();
                let sql = format!(
                    "INSERT INTO tenants (id, name, created_at, webhook_secret) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING \
                     RETURNING {TENANT_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(TenantId::new().as_uuid())
                    .bind(name.as_str())
                    .bind(Self::instant(now))
                    .bind(self.secrets.seal(webhook_secret)?)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| JobsError::AlreadyExists(format!("tenant '{name}'")))?;
                let tenant = tenant_from(&row)?;
                sqlx::query(
                    "INSERT INTO api_keys (key_hash, tenant_id, created_at, id, name) \
                     VALUES ($1, $2, $3, $4, 'default')",
                )
                .bind(key_hash.as_str())
                .bind(tenant.id.as_uuid())
                .bind(Self::instant(now))
                .bind(ApiKeyId::new().as_uuid())
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
                let sql = format!(
                    "UPDATE tenants SET previous_webhook_secret = webhook_secret, \
                     webhook_secret = $2, webhook_secret_rotated_at = $3 \
                     WHERE name = $1 RETURNING {TENANT_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(name.as_str())
                    .bind(self.secrets.seal(secret)?)
                    .bind(Self::instant(now))
                    .fetch_optional(self.writer())
                    .await?
                    .ok_or(JobsError::NotFound)?;
                tenant_from(&row)
            }

            async fn webhook_secrets(
                &self,
                tenant: TenantId,
                now: DateTime<Utc>,
                grace: Duration,
            ) -> Result<Vec<WebhookSecret>, JobsError> {
                // Through the writer: a rotation a moment ago signs at once.
                let row = sqlx::query(
                    "SELECT webhook_secret, previous_webhook_secret, webhook_secret_rotated_at \
                     FROM tenants WHERE id = $1",
                )
                .bind(tenant.as_uuid())
                .fetch_optional(self.writer())
                .await?
                .ok_or(JobsError::NotFound)?;
                signing_secrets(&row, now, grace, &self.secrets)
            }

            async fn list_tenants(&self) -> Result<Vec<Tenant>, JobsError> {
                let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY created_at, id");
                let rows = sqlx::query(&sql).fetch_all(self.reader()).await?;
                rows.iter().map(tenant_from).collect()
            }

            async fn insert_jobs(
                &self,
                jobs: &[NewJob],
            ) -> Result<Vec<Result<Inserted, JobsError>>, JobsError> {
                let created = self.insert_rows(jobs).await?;
                let mut answers = Vec::with_capacity(jobs.len());
                for (job, created) in jobs.iter().zip(created) {
                    answers.push(match created {
                        Some(created) => Ok(Inserted::Created(created)),
                        None => self.replayed(job).await?,
                    });
                }
                Ok(answers)
            }

            async fn get_job(
                &self,
                tenant: TenantId,
                id: JobId,
            ) -> Result<Option<Job>, JobsError> {
                let sql =
                    format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2");
                let row = sqlx::query(&sql)
                    .bind(id.as_uuid())
                    .bind(tenant.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(job_from).transpose()
            }

            async fn find_job(&self, id: JobId) -> Result<Option<Job>, JobsError> {
                let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
                let row = sqlx::query(&sql)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(job_from).transpose()
            }

            async fn list_jobs(
                &self,
                tenant: Option<TenantId>,
                query: &ListQuery,
            ) -> Result<Vec<Job>, JobsError> {
                // Two statements rather than `($1 IS NULL OR tenant_id = $1)`, which would keep
                // a tenant's list off its index (`jobs_by_tenant`) in a Postgres generic plan.
                // Each `CAST` tells Postgres the type of a parameter that may be a bare NULL;
                // in SQLite a cast of a value is never NULL, whatever the type named, so each
                // test reads as `$n IS NULL` there.
                let tenant_clause = if tenant.is_some() {
                    "tenant_id = $1"
                } else {
                    "CAST($1 AS uuid) IS NULL"
                };
                let sql = format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE {tenant_clause} \
                     AND (CAST($2 AS text) IS NULL OR kind = $2) \
                     AND (CAST($3 AS text) IS NULL OR status = $3) \
                     AND (CAST($4 AS timestamptz) IS NULL OR created_at >= $4) \
                     AND (CAST($5 AS timestamptz) IS NULL OR created_at < $5) \
                     AND (CAST($6 AS uuid) IS NULL OR id < $6) \
                     AND (CAST($8 AS text) IS NULL OR athlete_id = $8) \
                     ORDER BY id DESC LIMIT $7"
                );
                let rows = sqlx::query(&sql)
                    .bind(tenant.map(|t| t.as_uuid()))
                    .bind(query.kind.map(|k| k.as_str()))
                    .bind(query.status.map(JobStatus::as_str))
                    .bind(query.created_from.map(Self::instant))
                    .bind(query.created_to.map(Self::instant))
                    .bind(query.after.map(|id| id.as_uuid()))
                    .bind(i64::from(query.limit))
                    .bind(query.athlete.as_ref().map(|a| a.as_str()))
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(job_from).collect()
            }

            async fn cancel_job(
                &self,
                tenant: TenantId,
                id: JobId,
                now: DateTime<Utc>,
            ) -> Result<Job, JobsError> {
                let sql = format!(
                    "UPDATE jobs SET status = 'cancelled', lease_owner = NULL, \
                       lease_expires_at = NULL, finished_at = $3 \
                     WHERE id = $1 AND tenant_id = $2 AND status IN ('queued', 'running') \
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
                     trace = {retried} \
                     WHERE id = $1 AND tenant_id = $2 AND status = 'failed' \
                     RETURNING {JOB_COLUMNS}",
                    retried = Self::TRACE_WITH_RETRY,
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
            ) -> Result<Vec<Assignment>, JobsError> {
                let jobs = self.claim_ids(ids, worker, now, lease).await?;
                self.published(jobs.iter().map(|job| job.id));
                Ok(jobs)
            }

            async fn claim_next(
                &self,
                worker: &WorkerId,
                now: DateTime<Utc>,
                lease: Duration,
                limit: u32,
            ) -> Result<Vec<Assignment>, JobsError> {
                let sql = format!(
                    "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = $1, \
                       lease_expires_at = $2, started_at = $3 \
                     WHERE {unflushed} AND id IN (SELECT id FROM jobs \
                       WHERE status = 'queued' AND run_at <= $3 \
                       ORDER BY priority DESC, run_at, id LIMIT $4{skip_locked}) \
                     RETURNING {ASSIGNMENT_COLUMNS}",
                    unflushed = Self::UNFLUSHED_CLAIM,
                    skip_locked = Self::SKIP_LOCKED,
                );
                let rows = sqlx::query(&sql)
                    .bind(worker.as_str())
                    .bind(Self::instant(now + lease_delta(lease)))
                    .bind(Self::instant(now))
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await?;
                let jobs = rows.iter().map(assignment_from).collect::<Result<Vec<_>, _>>()?;
                self.published(jobs.iter().map(|job| job.id));
                Ok(jobs)
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
                .bind(Self::instant(until))
                .execute(self.writer())
                .await?;
                fenced(done.rows_affected())
            }

            async fn renew_leases(
                &self,
                worker: &WorkerId,
                jobs: &[JobId],
                until: DateTime<Utc>,
            ) -> Result<Vec<JobId>, JobsError> {
                type Dialect = <$store as Backend>::Dialect;
                let rows = sqlx::query(Dialect::RENEW_LEASES)
                    .bind(worker.as_str())
                    .bind(Self::instant(until))
                    .bind(batch::ids_payload::<Dialect>(jobs)?)
                    .fetch_all(self.writer())
                    .await?;
                batch::ids_from(&rows)
            }

            async fn finish_many(
                &self,
                results: &[Finish],
                now: DateTime<Utc>,
            ) -> Result<Vec<Finished>, JobsError> {
                let finished = self.finish_rows(results, now).await?;
                self.published(finished.iter().map(|done| done.id));
                Ok(finished)
            }

            async fn release(
                &self,
                id: JobId,
                worker: &WorkerId,
                now: DateTime<Utc>,
            ) -> Result<(), JobsError> {
                let done = sqlx::query(
                    "UPDATE jobs SET status = 'queued', \
                       attempt = CASE WHEN attempt > 0 THEN attempt - 1 ELSE 0 END, \
                       lease_owner = NULL, lease_expires_at = NULL, announced_at = $3 \
                     WHERE id = $1 AND status = 'running' AND lease_owner = $2",
                )
                .bind(id.as_uuid())
                .bind(worker.as_str())
                .bind(Self::instant(now))
                .execute(self.writer())
                .await?;
                fenced(done.rows_affected())?;
                self.published([id]);
                Ok(())
            }

            async fn recover_expired(
                &self,
                now: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<JobId>, JobsError> {
                let sql = format!(
                    "UPDATE jobs SET \
                       status = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END, \
                       error = CASE WHEN attempt >= max_attempts THEN $3 ELSE error END, \
                       finished_at = CASE WHEN attempt >= max_attempts THEN $1 ELSE NULL END, \
                       run_at = $1, announced_at = $1, lease_owner = NULL, lease_expires_at = NULL \
                     WHERE id IN (SELECT id FROM jobs \
                       WHERE status = 'running' AND lease_expires_at < $1 \
                       ORDER BY lease_expires_at LIMIT $2{skip_locked}) \
                     RETURNING id, status",
                    skip_locked = Self::SKIP_LOCKED,
                );
                let rows: Vec<(Uuid, String)> = sqlx::query_as(&sql)
                    .bind(Self::instant(now))
                    .bind(i64::from(limit))
                    .bind(lease_expired_error())
                    .fetch_all(self.writer())
                    .await?;
                self.published(rows.iter().map(|(id, _)| JobId::from_uuid(*id)));
                Ok(rows
                    .into_iter()
                    .filter(|(_, status)| status == "queued")
                    .map(|(id, _)| JobId::from_uuid(id))
                    .collect())
            }

            async fn take_unannounced(
                &self,
                now: DateTime<Utc>,
                stale_before: Option<DateTime<Utc>>,
                limit: u32,
            ) -> Result<Vec<JobId>, JobsError> {
                let sql = format!(
                    "UPDATE jobs SET announced_at = $1 \
                     WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $1 \
                       AND (announced_at IS NULL OR announced_at < $2) \
                       ORDER BY priority DESC, run_at, id LIMIT $3{skip_locked}) \
                     RETURNING id",
                    skip_locked = Self::SKIP_LOCKED,
                );
                let ids: Vec<Uuid> = sqlx::query_scalar(&sql)
                    .bind(Self::instant(now))
                    .bind(stale_before.map(Self::instant))
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await?;
                Ok(ids.into_iter().map(JobId::from_uuid).collect())
            }

            async fn count_queued(&self, tenant: TenantId) -> Result<u64, JobsError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM jobs WHERE tenant_id = $1 AND status = 'queued'",
                )
                .bind(tenant.as_uuid())
                .fetch_one(self.reader())
                .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn queue_depth(&self) -> Result<Vec<QueueDepth>, JobsError> {
                let rows = sqlx::query(super::QUEUE_DEPTH)
                    .fetch_all(self.reader())
                    .await?;
                queue_depth_from(&rows)
            }

            async fn webhook_backlog(&self) -> Result<WebhookBacklog, JobsError> {
                let row = sqlx::query(super::WEBHOOK_BACKLOG)
                    .fetch_one(self.reader())
                    .await?;
                webhook_backlog_from(&row)
            }
        }
    };
}

job_store!(PgStore);
job_store!(SqliteStore);
