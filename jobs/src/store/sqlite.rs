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

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row as _, SqlitePool};
use uuid::Uuid;

use super::batch::{self, Dialect as _};
use super::{ASSIGNMENT_COLUMNS, Backend, ColumnReader, assignment_from, lease_delta};
use crate::JobsError;
use crate::change_feed::ChangeFeed;
use crate::json_text::JsonText;
use crate::model::{
    Assignment, Finish, Finished, Job, JobId, NewJob, WorkerId, from_millis, to_millis,
};
use crate::secrets::Keyring;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// The SQLite implementation of [`super::JobStore`].
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

    /// The feed of this store's job changes (published after each state-changing statement).
    pub fn change_feed(&self) -> ChangeFeed {
        self.changes.clone()
    }
}

impl Backend for SqliteStore {
    const NAME: &'static str = "sqlite";
    const SKIP_LOCKED: &'static str = "";
    const FOR_UPDATE: &'static str = "";
    const UNFLUSHED_CLAIM: &'static str = "TRUE";
    const TRACE_WITH_RETRY: &'static str = "json_insert(trace, '$[#]', json_object(\
        'event', 'retried', \
        'at', strftime('%Y-%m-%dT%H:%M:%fZ', $3 / 1000.0, 'unixepoch'), \
        'after_attempts', attempt))";

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

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    fn auth_changed(&self) {
        self.changes.publish_auth_change();
    }

    fn published(&self, jobs: impl IntoIterator<Item = JobId>) {
        for id in jobs {
            self.changes.publish(id);
        }
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
    fn json_text(&self, name: &str) -> Result<Option<JsonText>, JobsError> {
        let text: Option<String> = self.try_get(name)?;
        text.map(JsonText::parse)
            .transpose()
            .map_err(|e| JobsError::Corrupt(format!("{name}: {e}")))
    }
    fn instant(&self, name: &str) -> Result<Option<DateTime<Utc>>, JobsError> {
        self.try_get::<Option<i64>, _>(name)?
            .map(from_millis)
            .transpose()
    }
}

impl SqliteStore {
    /// Inserts a batch ([`batch::Dialect::INSERT_MANY`], one JSON array): each job as created,
    /// or `None` where its idempotency key was taken.
    pub(super) async fn insert_rows(&self, jobs: &[NewJob]) -> Result<Vec<Option<Job>>, JobsError> {
        let (payload, stored) = batch::insert_batch::<batch::Sqlite>(jobs)?;
        let rows = sqlx::query(batch::Sqlite::INSERT_MANY)
            .bind(payload)
            .fetch_all(&self.write)
            .await?;
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
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = ?2, \
             lease_expires_at = ?3, started_at = ?4 \
             WHERE id IN (SELECT unhex(value) FROM json_each(?1)) AND status = 'queued' \
             AND run_at <= ?4 RETURNING {ASSIGNMENT_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(batch::ids_payload::<batch::Sqlite>(ids)?)
            .bind(worker.as_str())
            .bind(to_millis(now + lease_delta(lease)))
            .bind(to_millis(now))
            .fetch_all(&self.write)
            .await?;
        rows.iter().map(assignment_from).collect()
    }

    /// Writes a batch of results ([`batch::Dialect::FINISH_MANY`]), each fenced on its lease.
    pub(super) async fn finish_rows(
        &self,
        results: &[Finish],
        now: DateTime<Utc>,
    ) -> Result<Vec<Finished>, JobsError> {
        let rows = sqlx::query(batch::Sqlite::FINISH_MANY)
            .bind(to_millis(now))
            .bind(batch::finish_batch::<batch::Sqlite>(results)?)
            .fetch_all(&self.write)
            .await?;
        rows.iter().map(batch::finished_from).collect()
    }
}
