//! Picks the store and queue from configuration: the only place run modes differ.

use std::sync::Arc;
use std::time::Duration;

use crate::JobsError;
use crate::change_feed::ChangeFeed;
use crate::queue::{JobQueue, RedisQueue, RedisQueueConfig, StoreQueue};
use crate::secrets::Keyring;
use crate::store::{JobStore, PgStore, SqliteStore};

/// What [`connect`] needs.
#[derive(Clone, Debug)]
pub struct BackendsConfig {
    /// `sqlite:path` (embedded) or `postgres://…` (distributed).
    pub database_url: String,
    /// `redis://…` for the Redis queue; absent → the store-backed queue.
    pub redis_url: Option<String>,
    /// Largest database pool.
    pub max_connections: u32,
    /// How long to wait for a database connection (or SQLite lock) before giving up.
    pub acquire_timeout: Duration,
    /// Idle poll of the store-backed queue.
    pub store_poll: Duration,
    /// Redis queue tuning.
    pub redis: RedisQueueConfig,
    /// The keys that seal webhook secrets in the store.
    pub secrets: Keyring,
}

/// The store, the queue and the job change feed of one process.
#[derive(Clone)]
pub struct Backends {
    /// The source of truth.
    pub store: Arc<dyn JobStore>,
    /// How workers learn about jobs.
    pub queue: Arc<dyn JobQueue>,
    /// Job status and attempt changes, from this process (SQLite) or from every process on
    /// the database (Postgres `LISTEN/NOTIFY`).
    pub changes: ChangeFeed,
}

/// Opens the store named by `database_url` and the queue (Redis when `redis_url` is set), and
/// checks both answer, and starts the job change feed (with Postgres, its `LISTEN` task). Does
/// not migrate.
pub async fn connect(config: &BackendsConfig) -> Result<Backends, JobsError> {
    let url = config.database_url.as_str();
    let deadline = config.acquire_timeout + Duration::from_secs(1);
    let (store, changes): (Arc<dyn JobStore>, ChangeFeed) = if url.starts_with("postgres://")
        || url.starts_with("postgresql://")
    {
        let store = tokio::time::timeout(
            deadline,
            PgStore::connect(
                url,
                config.max_connections,
                config.acquire_timeout,
                config.secrets.clone(),
            ),
        )
        .await
        .map_err(|_| JobsError::Timeout("connecting to postgres"))??;
        let changes = store.change_feed();
        (Arc::new(store), changes)
    } else if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url, config.acquire_timeout, config.secrets.clone()).await?;
        let changes = store.change_feed();
        (Arc::new(store), changes)
    } else {
        return Err(JobsError::BadUrl {
            what: "database",
            reason: "expected a sqlite:… or postgres://… URL".into(),
        });
    };
    store.ping().await?;
    let queue: Arc<dyn JobQueue> = match &config.redis_url {
        Some(redis_url) => {
            if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
                return Err(JobsError::BadUrl {
                    what: "redis",
                    reason: "expected a redis://… URL".into(),
                });
            }
            Arc::new(RedisQueue::connect(redis_url, store.clone(), config.redis.clone()).await?)
        }
        None => Arc::new(StoreQueue::new(store.clone(), config.store_poll)),
    };
    Ok(Backends {
        store,
        queue,
        changes,
    })
}
