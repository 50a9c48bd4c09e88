//! The SQLite store: embedded mode, one file, no service to run.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one connection
//! (they queue in-process instead of failing with `SQLITE_BUSY`), while reads use a separate
//! pool in WAL mode and never wait for writers.
//!
//! Embedded mode is one process, so job changes are announced in-process: every statement that
//! changes a job's status or attempt publishes the job on the [`ChangeFeed`] of the database
//! file (shared by the stores of this process that open the same file).

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row as _, SqlitePool};
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
    TenantName, WorkerId, from_millis, to_millis,
};
use crate::secrets::Keyring;
use crate::webhook_signature::WebhookSecret;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// The SQLite implementation of [`JobStore`].
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// Exactly one connection: SQLite's single writer, serialised here.
    write: SqlitePool,
    /// Readers, concurrent with the writer thanks to WAL.
    read: SqlitePool,
    /// Where job status and attempt changes are published.
    changes: ChangeFeed,
    /// Seals and opens webhook and token secrets (never stored in plain text).
    pub(super) secrets: Keyring,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file named by a `sqlite:` URL, with its folder.
    /// `secrets` seals webhook secrets on their way in and opens them on their way out.
    pub async fn open(
        url: &str,
        busy_timeout: Duration,
        secrets: Keyring,
    ) -> Result<Self, JobsError> {
        let options = SqliteConnectOptions::from_str(url).map_err(|e| JobsError::BadUrl {
            what: "database",
            reason: e.to_string(),
        })?;
        let file = options.get_filename().to_path_buf();
        if file.as_os_str().is_empty() || file == Path::new(":memory:") {
            return Err(JobsError::BadUrl {
                what: "database",
                reason: "an SQLite database must be a file (sqlite:path/to/file.db)".into(),
            });
        }
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| JobsError::BadUrl {
                what: "database",
                reason: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable against process crashes (a kill never loses a commit);
            // only an OS crash can lose the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(busy_timeout);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(busy_timeout)
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(busy_timeout)
            .connect_with(options)
            .await?;
        Ok(Self {
            write,
            read,
            changes: ChangeFeed::for_sqlite_file(&file),
            secrets,
        })
    }

    /// The original job of a replayed idempotency key (or the conflict), read after an insert
    /// skipped `job`.
    async fn replayed(&self, job: &NewJob) -> Result<Result<Inserted, JobsError>, JobsError> {
        let key = job
            .idempotency_key
            .as_ref()
            .ok_or_else(|| JobsError::Corrupt("insert refused without a key".into()))?;
        // Read through the writer: the conflicting row is committed, but a reader's snapshot
        // could predate it.
        let sql = format!(
            "SELECT {JOB_COLUMNS}, request_hash FROM jobs WHERE tenant_id = ?1 AND idempotency_key = ?2"
        );
        let row = sqlx::query(&sql)
            .bind(job.tenant_id.as_uuid())
            .bind(key.as_str())
            .fetch_one(&self.write)
            .await?;
        batch::replay(&row, job)
    }

    /// Runs a tenant's transition of its job (`?1` the id, `?2` the tenant, `?3` now): the job
    /// as changed (published on the change feed), or why not (`InvalidTransition` from its
    /// status to `to`, or `NotFound`).
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
            .bind(to_millis(now))
            .fetch_optional(&self.write)
            .await?;
        if let Some(row) = row {
            let job = job_from_row(&row)?;
            self.changes.publish(job.id);
            return Ok(job);
        }
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM jobs WHERE id = ?1 AND tenant_id = ?2")
                .bind(id.as_uuid())
                .bind(tenant.as_uuid())
                .fetch_optional(&self.write)
                .await?;
        match status {
            Some(status) => Err(JobsError::InvalidTransition {
                from: status.parse()?,
                to,
            }),
            None => Err(JobsError::NotFound),
        }
    }

    /// The feed of this store's job changes (published after each state-changing statement).
    pub fn change_feed(&self) -> ChangeFeed {
        self.changes.clone()
    }

    /// Publishes the jobs a statement changed.
    fn published(&self, jobs: &[Job]) {
        for job in jobs {
            self.changes.publish(job.id);
        }
    }
}

impl Backend for SqliteStore {
    type Db = sqlx::Sqlite;
    type Instant = i64;
    type Dialect = batch::Sqlite;

    fn writer(&self) -> &SqlitePool {
        &self.write
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    fn instant(at: DateTime<Utc>) -> i64 {
        to_millis(at)
    }

    fn auth_changed(&self) {
        self.changes.publish_auth_change();
    }
}

impl ColumnReader for SqliteRow {
    fn uuid(&self, name: &str) -> Result<Uuid, JobsError> {
        Ok(self.try_get(name)?)
    }
    fn text(&self, name: &str) -> Result<Option<String>, JobsError> {
        Ok(self.try_get(name)?)
    }
    fn int(&self, name: &str) -> Result<i64, JobsError> {
        Ok(self.try_get(name)?)
    }
    fn float(&self, name: &str) -> Result<f64, JobsError> {
        Ok(self.try_get(name)?)
    }
    fn json(&self, name: &str) -> Result<Option<serde_json::Value>, JobsError> {
        let text: Option<String> = self.try_get(name)?;
        text.map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| JobsError::Corrupt(format!("{name}: {e}")))
    }
    fn instant(&self, name: &str) -> Result<Option<DateTime<Utc>>, JobsError> {
        self.try_get::<Option<i64>, _>(name)?
            .map(from_millis)
            .transpose()
    }
}

fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

fn job_from_row(row: &SqliteRow) -> Result<Job, JobsError> {
    job_from(row)
}

fn tenant_from_row(row: &SqliteRow) -> Result<Tenant, JobsError> {
    tenant_from(row)
}

fn jobs_from_rows(rows: &[SqliteRow]) -> Result<Vec<Job>, JobsError> {
    rows.iter().map(job_from_row).collect()
}

#[async_trait]
impl JobStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<(), JobsError> {
        MIGRATOR.run(&self.write).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), JobsError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn create_tenant(
        &self,
        name: &TenantName,
        key_hash: &ApiKeyHash,
        webhook_secret: &WebhookSecret,
    ) -> Result<Tenant, JobsError> {
        let mut tx = self.write.begin().await?;
        let now = Utc::now();
        let row = sqlx::query(
            "INSERT INTO tenants (id, name, created_at, webhook_secret) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO NOTHING RETURNING id, name, created_at, disabled_at",
        )
        .bind(TenantId::new().as_uuid())
        .bind(name.as_str())
        .bind(to_millis(now))
        .bind(self.secrets.seal(webhook_secret)?)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| JobsError::AlreadyExists(format!("tenant '{name}'")))?;
        let tenant = tenant_from_row(&row)?;
        sqlx::query(
            "INSERT INTO api_keys (key_hash, tenant_id, created_at, id, name) \
             VALUES (?1, ?2, ?3, ?4, 'default')",
        )
        .bind(key_hash.as_str())
        .bind(tenant.id.as_uuid())
        .bind(to_millis(now))
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
             webhook_secret = ?2, webhook_secret_rotated_at = ?3 \
             WHERE name = ?1 RETURNING id, name, created_at, disabled_at",
        )
        .bind(name.as_str())
        .bind(self.secrets.seal(secret)?)
        .bind(to_millis(now))
        .fetch_optional(&self.write)
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
             FROM tenants WHERE id = ?1",
        )
        .bind(tenant.as_uuid())
        .fetch_optional(&self.write)
        .await?
        .ok_or(JobsError::NotFound)?;
        signing_secrets(&row, now, grace, &self.secrets)
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, JobsError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, disabled_at FROM tenants ORDER BY created_at, id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(tenant_from_row).collect()
    }

    async fn insert_jobs(
        &self,
        jobs: &[NewJob],
    ) -> Result<Vec<Result<Inserted, JobsError>>, JobsError> {
        let (payload, stored) = batch::insert_batch::<batch::Sqlite>(jobs)?;
        let rows = sqlx::query(batch::Sqlite::INSERT_MANY)
            .bind(payload)
            .fetch_all(&self.write)
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
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1 AND tenant_id = ?2");
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(tenant.as_uuid())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn find_job(&self, id: JobId) -> Result<Option<Job>, JobsError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn list_jobs(
        &self,
        tenant: Option<TenantId>,
        query: &ListQuery,
    ) -> Result<Vec<Job>, JobsError> {
        // Two statements rather than `(?1 IS NULL OR tenant_id = ?1)`, which would keep a
        // tenant's list off its index (`jobs_by_tenant`) in a generic plan.
        let tenant_clause = if tenant.is_some() {
            "tenant_id = ?1"
        } else {
            "?1 IS NULL"
        };
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE {tenant_clause} \
             AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR status = ?3) \
             AND (?4 IS NULL OR created_at >= ?4) AND (?5 IS NULL OR created_at < ?5) \
             AND (?6 IS NULL OR id < ?6) AND (?8 IS NULL OR athlete_id = ?8) \
             ORDER BY id DESC LIMIT ?7"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant.map(|t| t.as_uuid()))
            .bind(query.kind.map(|k| k.as_str()))
            .bind(query.status.map(JobStatus::as_str))
            .bind(query.created_from.map(to_millis))
            .bind(query.created_to.map(to_millis))
            .bind(query.after.map(|id| id.as_uuid()))
            .bind(i64::from(query.limit))
            .bind(query.athlete.as_ref().map(|a| a.as_str()))
            .fetch_all(&self.read)
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
             finished_at = ?3 WHERE id = ?1 AND tenant_id = ?2 AND status IN ('queued', 'running') \
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
             run_at = ?3, announced_at = ?3, started_at = NULL, finished_at = NULL, \
             trace = json_insert(trace, '$[#]', json_object('event', 'retried', \
               'at', strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / 1000.0, 'unixepoch'), \
               'after_attempts', attempt)) \
             WHERE id = ?1 AND tenant_id = ?2 AND status = 'failed' RETURNING {JOB_COLUMNS}"
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
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = ?2, \
             lease_expires_at = ?3, started_at = ?4 \
             WHERE id IN (SELECT unhex(value) FROM json_each(?1)) AND status = 'queued' \
             AND run_at <= ?4 RETURNING {JOB_COLUMNS}"
        );
        let ids = serde_json::Value::Array(
            ids.iter()
                .map(|id| batch::Sqlite::id(id.as_uuid()))
                .collect(),
        );
        let rows = sqlx::query(&sql)
            .bind(ids.to_string())
            .bind(worker.as_str())
            .bind(to_millis(now + lease_delta(lease)))
            .bind(to_millis(now))
            .fetch_all(&self.write)
            .await?;
        let jobs = jobs_from_rows(&rows)?;
        self.published(&jobs);
        Ok(jobs)
    }

    async fn claim_next(
        &self,
        worker: &WorkerId,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, JobsError> {
        // One writer connection: the sub-select and the update cannot interleave with another
        // claim, so no row lock is needed.
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = ?1, \
             lease_expires_at = ?2, started_at = ?3 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= ?3 \
                          ORDER BY priority DESC, run_at, id LIMIT ?4) \
             RETURNING {JOB_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(worker.as_str())
            .bind(to_millis(now + lease_delta(lease)))
            .bind(to_millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.write)
            .await?;
        let jobs = jobs_from_rows(&rows)?;
        self.published(&jobs);
        Ok(jobs)
    }

    async fn renew_lease(
        &self,
        id: JobId,
        worker: &WorkerId,
        until: DateTime<Utc>,
    ) -> Result<(), JobsError> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = ?3 \
             WHERE id = ?1 AND status = 'running' AND lease_owner = ?2",
        )
        .bind(id.as_uuid())
        .bind(worker.as_str())
        .bind(to_millis(until))
        .execute(&self.write)
        .await?;
        fenced(done.rows_affected())
    }

    async fn renew_leases(
        &self,
        worker: &WorkerId,
        jobs: &[JobId],
        until: DateTime<Utc>,
    ) -> Result<Vec<JobId>, JobsError> {
        let rows = sqlx::query(batch::Sqlite::RENEW_LEASES)
            .bind(worker.as_str())
            .bind(to_millis(until))
            .bind(batch::ids_payload::<batch::Sqlite>(jobs)?)
            .fetch_all(&self.write)
            .await?;
        batch::ids_from(&rows)
    }

    async fn finish_many(
        &self,
        results: &[Finish],
        now: DateTime<Utc>,
    ) -> Result<Vec<Finished>, JobsError> {
        let rows = sqlx::query(batch::Sqlite::FINISH_MANY)
            .bind(to_millis(now))
            .bind(batch::finish_batch::<batch::Sqlite>(results)?)
            .fetch_all(&self.write)
            .await?;
        let finished = rows
            .iter()
            .map(batch::finished_from)
            .collect::<Result<Vec<_>, _>>()?;
        for done in &finished {
            self.changes.publish(done.id);
        }
        Ok(finished)
    }

    async fn release(
        &self,
        id: JobId,
        worker: &WorkerId,
        now: DateTime<Utc>,
    ) -> Result<(), JobsError> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempt = MAX(attempt - 1, 0), \
             lease_owner = NULL, lease_expires_at = NULL, announced_at = ?3 \
             WHERE id = ?1 AND status = 'running' AND lease_owner = ?2",
        )
        .bind(id.as_uuid())
        .bind(worker.as_str())
        .bind(to_millis(now))
        .execute(&self.write)
        .await?;
        fenced(done.rows_affected())?;
        self.changes.publish(id);
        Ok(())
    }

    async fn recover_expired(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<JobId>, JobsError> {
        let rows = sqlx::query(
            "UPDATE jobs SET \
               status = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END, \
               error = CASE WHEN attempt >= max_attempts THEN ?3 ELSE error END, \
               finished_at = CASE WHEN attempt >= max_attempts THEN ?1 ELSE NULL END, \
               run_at = ?1, announced_at = ?1, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < ?1 \
                          ORDER BY lease_expires_at LIMIT ?2) \
             RETURNING id, status",
        )
        .bind(to_millis(now))
        .bind(i64::from(limit))
        .bind(json_text(&lease_expired_error()))
        .fetch_all(&self.write)
        .await?;
        let mut ids = Vec::new();
        for row in &rows {
            let id = JobId::from_uuid(row.try_get::<Uuid, _>("id")?);
            self.changes.publish(id);
            let status: String = row.try_get("status")?;
            if status == "queued" {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    async fn take_unannounced(
        &self,
        now: DateTime<Utc>,
        stale_before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<JobId>, JobsError> {
        let rows = sqlx::query(
            "UPDATE jobs SET announced_at = ?1 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= ?1 \
                          AND (announced_at IS NULL OR announced_at < ?2) \
                          ORDER BY priority DESC, run_at, id LIMIT ?3) \
             RETURNING id",
        )
        .bind(to_millis(now))
        .bind(stale_before.map(to_millis))
        .bind(i64::from(limit))
        .fetch_all(&self.write)
        .await?;
        rows.iter()
            .map(|row| Ok(JobId::from_uuid(row.try_get::<Uuid, _>("id")?)))
            .collect()
    }

    async fn count_queued(&self, tenant: TenantId) -> Result<u64, JobsError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE tenant_id = ?1 AND status = 'queued'",
        )
        .bind(tenant.as_uuid())
        .fetch_one(&self.read)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn queue_depth(&self) -> Result<Vec<QueueDepth>, JobsError> {
        let rows = sqlx::query(super::QUEUE_DEPTH)
            .fetch_all(&self.read)
            .await?;
        super::queue_depth_from(&rows)
    }

    async fn webhook_backlog(&self) -> Result<super::WebhookBacklog, JobsError> {
        let row = sqlx::query(super::WEBHOOK_BACKLOG)
            .fetch_one(&self.read)
            .await?;
        super::webhook_backlog_from(&row)
    }
}
