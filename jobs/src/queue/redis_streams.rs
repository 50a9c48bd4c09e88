//! The Redis Streams queue of distributed mode.
//!
//! Why not apalis-redis 1.0: measured on this machine (see README, "Queue"), its Lua fetch
//! breaks every worker once more than ~8,000 tasks are due, pickup waits for a 30 s heartbeat,
//! any Redis error ends a worker, and orphan recovery takes 300 s. A stream with a consumer
//! group has none of these: `XREADGROUP BLOCK` wakes on `XADD`, a backlog is just a longer
//! stream, errors are retried here, and orphans are found from the store's leases.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamPendingReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands as _, AsyncConnectionConfig, Client};
use tokio::sync::Mutex;

use super::{Delivery, JobQueue, Reconciled};
use crate::JobsError;
use crate::model::{JobId, WorkerId};
use crate::store::JobStore;

/// The consumer group every worker reads through.
const GROUP: &str = "workers";
/// The stream entry field holding the job id.
const FIELD: &str = "job";
/// How many ids one reconciliation step moves at most per round trip.
const BATCH: u32 = 1000;

/// Tuning of the Redis queue.
#[derive(Clone, Debug)]
pub struct RedisQueueConfig {
    /// Key prefix, so several deployments (or tests) can share one Redis.
    pub namespace: String,
    /// A queued job announced longer ago than this, while the stream has nothing undelivered,
    /// lost its message (Redis restarted, a consumer died): announce it again.
    pub redeliver_after: Duration,
    /// A delivered entry not acknowledged for this long belongs to a dead consumer: clear it
    /// (the job itself is recovered through its lease).
    pub orphan_after: Duration,
    /// How long the reconciler leadership lasts without renewal.
    pub leader_ttl: Duration,
    /// Timeout for ordinary commands (a stalled Redis is an error, never a hang).
    pub command_timeout: Duration,
}

impl Default for RedisQueueConfig {
    fn default() -> Self {
        Self {
            namespace: "sparta".into(),
            redeliver_after: Duration::from_secs(30),
            orphan_after: Duration::from_secs(120),
            leader_ttl: Duration::from_secs(15),
            command_timeout: Duration::from_secs(2),
        }
    }
}

/// Keys of one namespace.
#[derive(Debug)]
struct Keys {
    stream: String,
    epoch: String,
    leader: String,
}

/// The Redis Streams implementation of [`JobQueue`].
pub struct RedisQueue {
    client: Client,
    shared: ConnectionManager,
    /// A connection of its own for `XREADGROUP BLOCK`, which would stall a shared multiplexed
    /// connection. Re-established after any error.
    blocking: Mutex<Option<MultiplexedConnection>>,
    store: Arc<dyn JobStore>,
    keys: Keys,
    config: RedisQueueConfig,
}

/// Acquire the leadership if free, or extend it if ours.
const LEAD_SCRIPT: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0";

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RedisQueue {
    /// Connects and makes sure the stream, its group and the epoch marker exist.
    pub async fn connect(
        url: &str,
        store: Arc<dyn JobStore>,
        config: RedisQueueConfig,
    ) -> Result<Self, JobsError> {
        let client = Client::open(url).map_err(|e| JobsError::BadUrl {
            what: "redis",
            reason: e.to_string(),
        })?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(config.command_timeout)
            .set_response_timeout(config.command_timeout)
            .set_number_of_retries(2);
        let shared = tokio::time::timeout(
            config.command_timeout * 2,
            client.get_connection_manager_with_config(manager_config),
        )
        .await
        .map_err(|_| JobsError::Timeout("connecting to redis"))??;
        let ns = &config.namespace;
        let queue = Self {
            client,
            shared,
            blocking: Mutex::new(None),
            store,
            keys: Keys {
                stream: format!("{{{ns}}}:jobs"),
                epoch: format!("{{{ns}}}:epoch"),
                leader: format!("{{{ns}}}:reconciler"),
            },
            config,
        };
        queue.ensure_group().await?;
        // Mark this Redis as known: when the marker disappears, Redis lost its data.
        let mut conn = queue.shared.clone();
        let _: Option<String> = redis::cmd("SET")
            .arg(&queue.keys.epoch)
            .arg(Utc::now().timestamp_millis())
            .arg("NX")
            .query_async(&mut conn)
            .await?;
        Ok(queue)
    }

    /// Creates the stream and group if missing. Starting the group at `0` delivers entries
    /// added before it existed (e.g. submissions right after a flush).
    async fn ensure_group(&self) -> Result<(), JobsError> {
        let mut conn = self.shared.clone();
        let created: Result<(), redis::RedisError> = conn
            .xgroup_create_mkstream(&self.keys.stream, GROUP, "0")
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn blocking_connection(&self) -> Result<MultiplexedConnection, JobsError> {
        let mut slot = self.blocking.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        // Blocking reads last up to the caller's wait; the response timeout must outlast it.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(self.config.command_timeout)
            .set_response_timeout(self.config.command_timeout + Duration::from_secs(30));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    async fn drop_blocking_connection(&self) {
        *self.blocking.lock().await = None;
    }

    async fn read(
        &self,
        worker: &WorkerId,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<(String, Option<JobId>)>, JobsError> {
        let mut conn = self.blocking_connection().await?;
        let options = StreamReadOptions::default()
            .group(GROUP, worker.as_str())
            .count(max)
            .block(usize::try_from(millis(wait)).unwrap_or(usize::MAX).max(1));
        let reply: Result<Option<StreamReadReply>, redis::RedisError> = conn
            .xread_options(&[&self.keys.stream], &[">"], &options)
            .await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) if e.code() == Some("NOGROUP") => {
                // Redis lost the stream (flush or restart): recreate it; the reconciler
                // re-announces what was lost.
                self.ensure_group().await?;
                return Ok(Vec::new());
            }
            Err(e) => {
                self.drop_blocking_connection().await;
                return Err(e.into());
            }
        };
        let mut entries = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                let job = entry
                    .get::<String>(FIELD)
                    .and_then(|s| s.parse::<JobId>().ok());
                entries.push((entry.id, job));
            }
        }
        Ok(entries)
    }

    async fn ack_entries(&self, entries: &[String]) -> Result<(), JobsError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut conn = self.shared.clone();
        // Deleting acknowledged entries keeps the stream as long as the real backlog.
        redis::pipe()
            .xack(&self.keys.stream, GROUP, entries)
            .ignore()
            .xdel(&self.keys.stream, entries)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn lead(&self, worker: &WorkerId) -> Result<bool, JobsError> {
        let mut conn = self.shared.clone();
        let led: i64 = redis::Script::new(LEAD_SCRIPT)
            .key(&self.keys.leader)
            .arg(worker.as_str())
            .arg(millis(self.config.leader_ttl))
            .invoke_async(&mut conn)
            .await?;
        Ok(led == 1)
    }

    /// Entries delivered but unacknowledged for longer than `orphan_after`.
    async fn sweep_orphans(&self) -> Result<usize, JobsError> {
        let mut conn = self.shared.clone();
        let pending: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(&self.keys.stream)
            .arg(GROUP)
            .arg("IDLE")
            .arg(millis(self.config.orphan_after))
            .arg("-")
            .arg("+")
            .arg(BATCH)
            .query_async(&mut conn)
            .await?;
        let ids: Vec<String> = pending.into_iter().map(|(id, ..)| id).collect();
        self.ack_entries(&ids).await?;
        Ok(ids.len())
    }

    /// Entries in the stream not yet handed to any consumer.
    async fn undelivered(&self) -> Result<usize, JobsError> {
        let mut conn = self.shared.clone();
        let (len, pending): (usize, StreamPendingReply) = redis::pipe()
            .xlen(&self.keys.stream)
            .xpending(&self.keys.stream, GROUP)
            .query_async(&mut conn)
            .await?;
        Ok(len.saturating_sub(pending.count()))
    }

    /// True when the epoch marker was gone (Redis lost its data); sets it again.
    async fn lost_data(&self) -> Result<bool, JobsError> {
        let mut conn = self.shared.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(&self.keys.epoch)
            .arg(Utc::now().timestamp_millis())
            .arg("NX")
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), JobsError> {
        let mut conn = self.shared.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    async fn announce(&self, ids: &[JobId]) -> Result<(), JobsError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.shared.clone();
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.xadd(&self.keys.stream, "*", &[(FIELD, id.to_string())])
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn next(
        &self,
        worker: &WorkerId,
        max: usize,
        wait: Duration,
        lease: Duration,
    ) -> Result<Vec<Delivery>, JobsError> {
        let entries = self.read(worker, max, wait).await?;
        let mut deliveries = Vec::with_capacity(entries.len());
        let mut stale = Vec::new();
        for (entry, job) in entries {
            let claimed = match job {
                Some(id) => self.store.claim(id, worker, Utc::now(), lease).await?,
                None => None,
            };
            match claimed {
                Some(job) => deliveries.push(Delivery {
                    job,
                    receipt: Some(entry),
                }),
                // Already taken, finished, cancelled or not yet due: the message is spent.
                None => stale.push(entry),
            }
        }
        self.ack_entries(&stale).await?;
        Ok(deliveries)
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), JobsError> {
        match &delivery.receipt {
            Some(entry) => self.ack_entries(std::slice::from_ref(entry)).await,
            None => Ok(()),
        }
    }

    async fn reconcile(
        &self,
        worker: &WorkerId,
        now: DateTime<Utc>,
    ) -> Result<Reconciled, JobsError> {
        if !self.lead(worker).await? {
            return Ok(Reconciled::default());
        }
        self.ensure_group().await?;
        let mut done = Reconciled::default();

        let recovered = self.store.recover_expired(now, BATCH).await?;
        self.announce(&recovered).await?;
        done.recovered = recovered.len();

        done.swept = self.sweep_orphans().await?;

        let lost = self.lost_data().await?;
        if lost {
            tracing::warn!(
                stream = %self.keys.stream,
                "redis lost its data: announcing every queued job again"
            );
        }
        // Jobs never announced since they became queued (retries now due, failed
        // announcements) are certainly missing. Jobs announced long ago may be missing too, but
        // while undelivered entries remain, workers have not caught up and those jobs are most
        // likely still in the stream: count them as lost only once it is drained (or was lost).
        let stale_before = if lost {
            Some(now + chrono::TimeDelta::milliseconds(1))
        } else if self.undelivered().await? == 0 {
            Some(now - chrono::TimeDelta::from_std(self.config.redeliver_after).unwrap_or_default())
        } else {
            None
        };
        loop {
            let ids = self.store.take_unannounced(now, stale_before, BATCH).await?;
            self.announce(&ids).await?;
            done.reannounced += ids.len();
            if ids.len() < BATCH as usize {
                break;
            }
        }
        Ok(done)
    }
}
