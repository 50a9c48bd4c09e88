//! The crate's one error type.

use crate::model::JobStatus;

/// Everything that can go wrong in the job model, the stores and the queues.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// A value from outside (a URL, a header, a CLI argument) is malformed.
    #[error("{0}")]
    InvalidValue(String),
    /// No such job or tenant (for this tenant).
    #[error("not found")]
    NotFound,
    /// The state machine does not allow this transition.
    #[error("a {from} job cannot become {to}")]
    InvalidTransition {
        /// The job's current status.
        from: JobStatus,
        /// The refused status.
        to: JobStatus,
    },
    /// The idempotency key was used before with a different request body.
    #[error("the Idempotency-Key was already used with a different request")]
    IdempotencyConflict,
    /// A unique name is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The worker no longer holds the job's lease: its result is refused (the fencing check).
    #[error("lease on the job is no longer held by this worker")]
    LeaseLost,
    /// A configured URL is malformed.
    #[error("invalid {what} URL: {reason}")]
    BadUrl {
        /// Which URL (database, redis).
        what: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The database failed or is unreachable.
    // The cause is part of the message and deliberately not a `source`: error chains (logs,
    // `sparta: …` startup lines) would otherwise print it twice.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(sqlx::migrate::MigrateError),
    /// Redis failed or is unreachable.
    #[error("redis error: {0}")]
    Redis(redis::RedisError),
    /// A stored value could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The operation did not finish in time.
    #[error("timed out: {0}")]
    Timeout(&'static str),
}

impl JobsError {
    /// True when the failure is about a backing service being down or slow (→ 503, retry later),
    /// rather than about the request.
    pub fn is_unavailable(&self) -> bool {
        match self {
            JobsError::Database(sqlx::Error::Database(e)) => {
                // The server going away says so on the connection before it closes it: a
                // shutdown or crash (`57P01`–`57P03`, what a held connection finds first when
                // Postgres stops) or a connection failure (class `08`).
                e.code()
                    .is_some_and(|code| code.starts_with("57P") || code.starts_with("08"))
            }
            JobsError::Database(e) => matches!(
                e,
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            ),
            JobsError::Redis(e) => {
                e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_timeout()
                    || e.is_connection_refusal()
            }
            JobsError::Timeout(_) => true,
            _ => false,
        }
    }
}

impl From<sqlx::Error> for JobsError {
    fn from(error: sqlx::Error) -> Self {
        JobsError::Database(error)
    }
}

impl From<sqlx::migrate::MigrateError> for JobsError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        JobsError::Migration(error)
    }
}

impl From<redis::RedisError> for JobsError {
    fn from(error: redis::RedisError) -> Self {
        JobsError::Redis(error)
    }
}
