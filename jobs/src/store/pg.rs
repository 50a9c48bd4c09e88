//! The Postgres store: for distributed mode, many API and worker processes on one database.
//!
//! Job changes reach other processes through the database: after each statement that changes a
//! job's status or attempt, the store hands the ids it changed to its notifier
//! (`Backend::published`), which sends them to [`crate::change_feed::PG_CHANNEL`] a short
//! window's worth at a time, and [`PgStore::change_feed`] listens to it. The claims and result
//! writes run on connections they keep between statements (`held_connections`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Connection as _, PgConnection, PgPool, Row as _, TypeInfo as _, ValueRef as _};
use uuid::Uuid;

use super::batch::{self, Dialect as _};
use super::held_connections::HeldConnections;
use super::{ASSIGNMENT_COLUMNS, Backend, ColumnReader, assignment_from, lease_delta};
use crate::JobsError;
use crate::change_feed::{ChangeFeed, PgNotifier};
use crate::json_text::JsonText;
use crate::model::{Assignment, Finish, Finished, Job, JobId, NewJob, WorkerId};
use crate::secrets::Keyring;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The Postgres implementation of [`super::JobStore`].
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// This process's job change feed, fed by a `LISTEN` task once [`PgStore::change_feed`] runs.
    changes: ChangeFeed,
    /// Sends this store's job changes to every process's feed.
    notifier: PgNotifier,
    /// The connections the inserts, claims and result writes keep between their statements.
    held: Arc<HeldConnections>,
    /// Seals and opens webhook and token secrets (never stored in plain text).
    pub(super) secrets: Keyring,
}

impl PgStore {
    /// Connects (lazily checked by [`super::JobStore::ping`]). `acquire_timeout` bounds how
    /// long a request waits for a connection, so a database outage answers 503 instead of
    /// hanging. `secrets` seals webhook secrets on their way in and opens them on their way out.
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
            notifier: PgNotifier::new(pool.clone()),
            held: Arc::new(HeldConnections::new(pool.clone())),
            pool,
            changes: ChangeFeed::new(),
            secrets,
        }
    }

    /// The feed of job changes made by any process on this database. Its first subscriber starts
    /// the task that `LISTEN`s for the stores' notifications (reconnecting after a lost
    /// connection); the task holds one pooled connection and stops with the last clone of the
    /// feed.
    pub fn change_feed(&self) -> ChangeFeed {
        self.changes.listen_on_demand(self.pool.clone());
        self.changes.clone()
    }
}

impl Backend for PgStore {
    const NAME: &'static str = "postgres";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    // Waiting for the flush was half of a claim's time in a backlog's drain (`pg_stat_activity`
    // sampled every 4 ms: `WALSync` or `WALWrite` in 219 of 420 samples of an active claim).
    const UNFLUSHED_CLAIM: &'static str =
        "(SELECT set_config('synchronous_commit', 'off', true)) = 'off'";
    const TRACE_WITH_RETRY: &'static str = "trace || jsonb_build_array(jsonb_build_object(\
        'event', 'retried', \
        'at', to_char($3 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
        'after_attempts', attempt))";

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

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    fn auth_changed(&self) {}

    fn published(&self, jobs: impl IntoIterator<Item = JobId>) {
        self.notifier.publish(jobs);
    }
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
    fn json_text(&self, name: &str) -> Result<Option<JsonText>, JobsError> {
        Ok(self
            .try_get::<Option<sqlx::types::Json<JsonText>>, _>(name)?
            .map(|json| json.0))
    }
    fn instant(&self, name: &str) -> Result<Option<DateTime<Utc>>, JobsError> {
        Ok(self.try_get(name)?)
    }
}

impl PgStore {
    /// Inserts a batch ([`batch::Dialect::INSERT_MANY`], one array per column): each job as
    /// created, or `None` where its idempotency key was taken.
    pub(super) async fn insert_rows(&self, jobs: &[NewJob]) -> Result<Vec<Option<Job>>, JobsError> {
        let (inserts, stored) = batch::insert_batch::<batch::Postgres>(jobs)?;
        let query = inserts.bind(sqlx::query(batch::Postgres::INSERT_MANY));
        let mut conn = self.held.take().await?;
        let rows = query.fetch_all(conn.conn()).await?;
        conn.keep();
        batch::created(stored, &rows)
    }

    /// Claims the queued, due jobs among `ids` for `worker` until `now + lease`.
    pub(super) async fn claim_ids(
        &self,
        ids: &[JobId],
        worker: &WorkerId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<Assignment>, JobsError> {
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
             WHERE {unflushed} AND id = claimed.claim_id \
               AND (status = 'queued' AND run_at <= $4) IS TRUE \
             RETURNING {ASSIGNMENT_COLUMNS}",
            unflushed = Self::UNFLUSHED_CLAIM,
        );
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let mut conn = self.held.take().await?;
        let rows = sqlx::query(&sql)
            .persistent(false)
            .bind(ids)
            .bind(worker.as_str())
            .bind(now + lease_delta(lease))
            .bind(now)
            .fetch_all(conn.conn())
            .await?;
        conn.keep();
        rows.iter().map(assignment_from).collect()
    }

    /// Writes a batch of results ([`batch::Dialect::FINISH_MANY`]), each fenced on its lease.
    pub(super) async fn finish_rows(
        &self,
        results: &[Finish],
        now: DateTime<Utc>,
    ) -> Result<Vec<Finished>, JobsError> {
        let query = sqlx::query(batch::Postgres::FINISH_MANY)
            .bind(now)
            .bind(i64::try_from(results.len()).unwrap_or(i64::MAX));
        let query = batch::finish_batch::<batch::Postgres>(results)?.bind(query);
        // Taken once the batch is encoded: a connection is held only for its statement.
        let mut conn = self.held.take().await?;
        let rows = query.fetch_all(conn.conn()).await?;
        conn.keep();
        rows.iter().map(batch::finished_from).collect()
    }
}
