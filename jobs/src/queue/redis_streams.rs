//! The Redis Streams queue of distributed mode.
//!
//! Why not apalis-redis 1.0: measured on this machine (see README, "Queue"), its Lua fetch
//! breaks every worker once more than ~8,000 tasks are due, pickup waits for a 30 s heartbeat,
//! any Redis error ends a worker, and orphan recovery takes 300 s. A stream with a consumer
//! group has none of these: `XREADGROUP BLOCK` wakes on `XADD`, a backlog is just a longer
//! stream, errors are retried here, and orphans are found from the store's leases.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamPendingReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands as _, AsyncConnectionConfig, Client, RedisError};
use tokio::sync::Mutex;

use super::{Delivery, JobQueue, Reconciled};
use crate::JobsError;
use crate::model::{Assignment, JobId, WorkerId};
use crate::store::JobStore;

/// The consumer group every worker reads through.
const GROUP: &str = "workers";
/// The stream entry field holding the job id.
const FIELD: &str = "job";
/// How many ids one reconciliation step moves at most per round trip.
const BATCH: u32 = 1000;
/// The longest `XREADGROUP BLOCK`; the blocking link's timeout must outlast it.
const MAX_BLOCK: Duration = Duration::from_secs(30);

/// Tuning of the Redis queue.
#[derive(Clone, Debug)]
pub struct RedisQueueConfig {
    /// Key prefix, so several deployments (or tests) can share one Redis.
    pub namespace: String,
    /// A queued job announced longer ago than this, while the stream has nothing undelivered,
    /// lost its message (Redis restarted, a consumer died): announce it again.
    pub redeliver_after: Duration,
    /// A delivered entry not acknowledged for this long belongs to a dead consumer: clear it
    /// (the job itself is recovered through its lease). A consumer that holds no entry and has
    /// not been seen for this long is a stopped worker's: deleted from the group.
    pub orphan_after: Duration,
    /// How long the reconciler leadership lasts without renewal.
    pub leader_ttl: Duration,
    /// Timeout for connecting and for ordinary commands (a stalled Redis is an error, never a
    /// hang).
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

/// One multiplexed connection that heals itself: any I/O error or timeout drops it and the
/// next command connects again. (redis' `ConnectionManager` was measured to leave commands
/// pending for as long as the server is down, and past its return.)
struct Link {
    client: Client,
    config: AsyncConnectionConfig,
    /// Bound on each command, on top of the connection's own response timeout.
    timeout: Duration,
    slot: Mutex<Option<MultiplexedConnection>>,
}

impl Link {
    fn new(client: Client, connect_timeout: Duration, timeout: Duration) -> Self {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(connect_timeout)
            .set_response_timeout(timeout);
        Self {
            client,
            config,
            timeout,
            slot: Mutex::new(None),
        }
    }

    async fn connection(&self) -> Result<MultiplexedConnection, JobsError> {
        let mut slot = self.slot.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let conn = tokio::time::timeout(
            self.timeout,
            self.client
                .get_multiplexed_async_connection_with_config(&self.config),
        )
        .await
        .map_err(|_| JobsError::Timeout("connecting to redis"))??;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Runs one command (or pipeline, or script) on the connection.
    async fn run<T, F, Fut>(&self, command: F) -> Result<T, JobsError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let conn = self.connection().await?;
        match tokio::time::timeout(self.timeout, command(conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                if error.is_io_error()
                    || error.is_connection_dropped()
                    || error.is_timeout()
                    || error.is_connection_refusal()
                {
                    *self.slot.lock().await = None;
                }
                Err(error.into())
            }
            Err(_) => {
                *self.slot.lock().await = None;
                Err(JobsError::Timeout("redis command"))
            }
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
    /// Announcements, acknowledgements and reconciliation.
    shared: Link,
    /// `XREADGROUP BLOCK` only: a blocked read would stall every command pipelined behind it.
    blocking: Link,
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

/// Deletes the group's consumers (`KEYS[1]` the stream, `ARGV[1]` the group) that hold no entry
/// and have not been seen for `ARGV[2]` ms, at most `ARGV[3]` a call: those of stopped workers,
/// since every worker start reads under new names. One script, so that no read can come
/// between the check and the delete (done in two commands, a consumer that read in between
/// would lose its new entries from every pending list: never acknowledged, never swept). A
/// consumer deleted while it waits in `XREADGROUP BLOCK` is made again by the entry it
/// receives, with that entry pending, so pruning a live one costs nothing.
const PRUNE_SCRIPT: &str = r"
local removed = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local name, pending, idle
  for i = 1, #consumer, 2 do
    local field = consumer[i]
    if field == 'name' then name = consumer[i + 1]
    elseif field == 'pending' then pending = consumer[i + 1]
    elseif field == 'idle' then idle = consumer[i + 1] end
  end
  if pending == 0 and idle >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
    removed = removed + 1
    if removed >= tonumber(ARGV[3]) then break end
  end
end
return removed";

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
        let ns = &config.namespace;
        let queue = Self {
            shared: Link::new(
                client.clone(),
                config.command_timeout,
                config.command_timeout,
            ),
            blocking: Link::new(
                client,
                config.command_timeout,
                MAX_BLOCK + config.command_timeout,
            ),
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
        queue.mark_epoch().await?;
        Ok(queue)
    }

    /// Creates the stream and group if missing. Starting the group at `0` delivers entries
    /// added before it existed (e.g. submissions right after a flush).
    async fn ensure_group(&self) -> Result<(), JobsError> {
        let stream = self.keys.stream.clone();
        let created = self
            .shared
            .run(|mut conn| async move {
                conn.xgroup_create_mkstream::<_, _, _, ()>(stream, GROUP, "0")
                    .await
            })
            .await;
        match created {
            Err(JobsError::Redis(e)) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other,
        }
    }

    /// Sets the epoch marker if it is missing; true when it was missing.
    async fn mark_epoch(&self) -> Result<bool, JobsError> {
        let mut command = redis::cmd("SET");
        command
            .arg(&self.keys.epoch)
            .arg(Utc::now().timestamp_millis())
            .arg("NX");
        let set: Option<String> = self
            .shared
            .run(|mut conn| async move { command.query_async(&mut conn).await })
            .await?;
        Ok(set.is_some())
    }

    async fn read(
        &self,
        worker: &WorkerId,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<(String, Option<JobId>)>, JobsError> {
        let options = StreamReadOptions::default()
            .group(GROUP, worker.as_str())
            .count(max)
            .block(
                usize::try_from(millis(wait.min(MAX_BLOCK)))
                    .unwrap_or(1)
                    .max(1),
            );
        let stream = self.keys.stream.clone();
        let reply: Result<Option<StreamReadReply>, JobsError> = self
            .blocking
            .run(|mut conn| async move { conn.xread_options(&[&stream], &[">"], &options).await })
            .await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(JobsError::Redis(e)) if e.code() == Some("NOGROUP") => {
                // Redis lost the stream (flush or restart): recreate it; the reconciler
                // re-announces what was lost.
                self.ensure_group().await?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
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
        // Deleting acknowledged entries keeps the stream as long as the real backlog.
        let mut pipe = redis::pipe();
        pipe.xack(&self.keys.stream, GROUP, entries)
            .ignore()
            .xdel(&self.keys.stream, entries)
            .ignore();
        self.shared
            .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await
    }

    async fn lead(&self, worker: &WorkerId) -> Result<bool, JobsError> {
        let script = redis::Script::new(LEAD_SCRIPT);
        let mut invocation = script.key(&self.keys.leader);
        invocation
            .arg(worker.as_str())
            .arg(millis(self.config.leader_ttl));
        let led: i64 = self
            .shared
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(led == 1)
    }

    /// Entries delivered but unacknowledged for longer than `orphan_after`.
    async fn sweep_orphans(&self) -> Result<usize, JobsError> {
        let mut command = redis::cmd("XPENDING");
        command
            .arg(&self.keys.stream)
            .arg(GROUP)
            .arg("IDLE")
            .arg(millis(self.config.orphan_after))
            .arg("-")
            .arg("+")
            .arg(BATCH);
        let pending: Vec<(String, String, u64, u64)> = self
            .shared
            .run(|mut conn| async move { command.query_async(&mut conn).await })
            .await?;
        let ids: Vec<String> = pending.into_iter().map(|(id, ..)| id).collect();
        self.ack_entries(&ids).await?;
        Ok(ids.len())
    }

    /// Consumers of stopped workers deleted from the group (see [`PRUNE_SCRIPT`]): those with
    /// no entry, unseen for `orphan_after`.
    async fn prune_consumers(&self) -> Result<usize, JobsError> {
        let script = redis::Script::new(PRUNE_SCRIPT);
        let mut invocation = script.key(&self.keys.stream);
        invocation
            .arg(GROUP)
            .arg(millis(self.config.orphan_after))
            .arg(BATCH);
        self.shared
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await
    }

    /// Entries in the stream not yet handed to any consumer.
    async fn undelivered(&self) -> Result<usize, JobsError> {
        let mut pipe = redis::pipe();
        pipe.xlen(&self.keys.stream)
            .xpending(&self.keys.stream, GROUP);
        let (len, pending): (usize, StreamPendingReply) = self
            .shared
            .run(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await?;
        Ok(len.saturating_sub(pending.count()))
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), JobsError> {
        let _: String = self
            .shared
            .run(|mut conn| async move { redis::cmd("PING").query_async(&mut conn).await })
            .await?;
        Ok(())
    }

    async fn announce(&self, ids: &[JobId]) -> Result<(), JobsError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.xadd(&self.keys.stream, "*", &[(FIELD, id.to_string())])
                .ignore();
        }
        self.shared
            .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await
    }

    async fn next(
        &self,
        worker: &WorkerId,
        max: usize,
        wait: Duration,
        lease: Duration,
    ) -> Result<Vec<Delivery>, JobsError> {
        let entries = self.read(worker, max, wait).await?;
        let ids: Vec<JobId> = entries.iter().filter_map(|(_, job)| *job).collect();
        // One statement claims the whole read; what it skips was already taken, finished,
        // cancelled or not yet due, and its message is spent. If the claim fails, the entries
        // stay pending (swept later) and their jobs queued (announced again by the reconciler).
        let mut claimed: HashMap<JobId, Assignment> = if ids.is_empty() {
            HashMap::new()
        } else {
            self.store
                .claim_many(&ids, worker, Utc::now(), lease)
                .await?
                .into_iter()
                .map(|job| (job.id, job))
                .collect()
        };
        let mut deliveries = Vec::with_capacity(claimed.len());
        let mut stale = Vec::new();
        for (entry, job) in entries {
            match job.and_then(|id| claimed.remove(&id)) {
                Some(job) => deliveries.push(Delivery {
                    job,
                    receipt: Some(entry),
                }),
                None => stale.push(entry),
            }
        }
        self.ack_entries(&stale).await?;
        Ok(deliveries)
    }

    async fn ack(&self, deliveries: &[Delivery]) -> Result<(), JobsError> {
        let entries: Vec<String> = deliveries
            .iter()
            .filter_map(|d| d.receipt.clone())
            .collect();
        self.ack_entries(&entries).await
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

        let lost = self.mark_epoch().await?;
        if lost {
            tracing::warn!(
                stream = %self.keys.stream,
                "redis lost its data: announcing every queued job again"
            );
        }
        // Jobs never announced since they became queued (retries now due) are certainly
        // missing. Jobs announced long ago may be missing too (an announcement failed, a
        // consumer died before claiming), but
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
            let ids = self
                .store
                .take_unannounced(now, stale_before, BATCH)
                .await?;
            self.announce(&ids).await?;
            done.reannounced += ids.len();
            if ids.len() < BATCH as usize {
                break;
            }
        }
        // Housekeeping, last, and never the pass's failure: what it did above still counts.
        match self.prune_consumers().await {
            Ok(pruned) => done.pruned = pruned,
            Err(error) => tracing::warn!(stream = %self.keys.stream, %error,
                "deleting stopped workers' consumers failed"),
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use redis::streams::StreamInfoConsumersReply;

    use super::*;

    fn redis_url() -> String {
        std::env::var("SPARTA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    /// [`PRUNE_SCRIPT`] on `stream` with a threshold of `idle_ms`: how many it deleted.
    async fn prune(conn: &mut MultiplexedConnection, stream: &str, idle_ms: u64) -> usize {
        redis::Script::new(PRUNE_SCRIPT)
            .key(stream)
            .arg(GROUP)
            .arg(idle_ms)
            .arg(BATCH)
            .invoke_async(conn)
            .await
            .expect("prune script")
    }

    /// The group's consumers: name and entries pending.
    async fn consumers(conn: &mut MultiplexedConnection, stream: &str) -> Vec<(String, usize)> {
        let reply: StreamInfoConsumersReply =
            conn.xinfo_consumers(stream, GROUP).await.expect("xinfo");
        let mut found: Vec<(String, usize)> = reply
            .consumers
            .into_iter()
            .map(|c| (c.name, c.pending))
            .collect();
        found.sort();
        found
    }

    /// `consumer` reads one new entry (`block`: waiting up to that long); the entry ids read.
    async fn read_one(
        conn: &mut MultiplexedConnection,
        stream: &str,
        consumer: &str,
        block: Option<usize>,
    ) -> Vec<String> {
        let mut options = StreamReadOptions::default().group(GROUP, consumer).count(1);
        if let Some(ms) = block {
            options = options.block(ms);
        }
        let reply: Option<StreamReadReply> = conn
            .xread_options(&[stream], &[">"], &options)
            .await
            .expect("xreadgroup");
        reply
            .map(|r| {
                r.keys
                    .into_iter()
                    .flat_map(|k| k.ids)
                    .map(|e| e.id)
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn add(conn: &mut MultiplexedConnection, stream: &str) {
        let _: String = conn.xadd(stream, "*", &[(FIELD, "x")]).await.expect("xadd");
    }

    /// Only consumers with no entry and unseen for the threshold go, and a consumer deleted
    /// while it waits in `XREADGROUP BLOCK` comes back with the entry it then receives pending:
    /// pruning never takes an entry out of every pending list.
    #[tokio::test]
    async fn pruning_deletes_only_consumers_holding_nothing_and_loses_no_entry() {
        let client = Client::open(redis_url()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let stream = format!("{{prune-{tag}}}:jobs");
        let _: () = conn
            .xgroup_create_mkstream(&stream, GROUP, "0")
            .await
            .expect("group");
        // `stopped` read an entry and acknowledged it; `busy` holds one; `waiting` read and
        // acknowledged one and will wait for more.
        for consumer in ["stopped", "busy", "waiting"] {
            add(&mut conn, &stream).await;
            let ids = read_one(&mut conn, &stream, consumer, None).await;
            assert_eq!(ids.len(), 1, "{consumer} read its entry");
            if consumer != "busy" {
                let _: usize = conn.xack(&stream, GROUP, &ids).await.expect("xack");
            }
        }

        assert_eq!(
            prune(&mut conn, &stream, 3_600_000).await,
            0,
            "none unseen for an hour"
        );
        assert_eq!(consumers(&mut conn, &stream).await.len(), 3);

        // `waiting` blocks on a connection of its own, named so its wait can be seen.
        let mut waiting = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let _: () = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(format!("prune-{tag}"))
            .query_async(&mut waiting)
            .await
            .expect("client setname");
        let blocked_stream = stream.clone();
        let read = tokio::spawn(async move {
            read_one(&mut waiting, &blocked_stream, "waiting", Some(10_000)).await
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let clients: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query_async(&mut conn)
                .await
                .expect("client list");
            let blocked = clients.lines().any(|line| {
                line.contains(&format!(" name=prune-{tag} "))
                    && line
                        .split(' ')
                        .any(|f| f.starts_with("flags=") && f.contains('b'))
            });
            if blocked {
                break;
            }
            assert!(Instant::now() < deadline, "the read never blocked");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        assert_eq!(prune(&mut conn, &stream, 0).await, 2, "stopped and waiting");
        assert_eq!(
            consumers(&mut conn, &stream).await,
            vec![("busy".to_owned(), 1)]
        );

        add(&mut conn, &stream).await;
        let received = read.await.expect("blocked read");
        assert_eq!(received.len(), 1, "the waiting read got the new entry");
        assert_eq!(
            consumers(&mut conn, &stream).await,
            vec![("busy".to_owned(), 1), ("waiting".to_owned(), 1)],
            "made again, with its entry pending"
        );
        let _: usize = conn.del(&stream).await.expect("del");
    }
}
