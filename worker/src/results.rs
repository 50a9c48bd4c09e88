//! Results written in batches: the attempts that end while a write is in flight are written
//! together by the next one (one statement, one commit), each still fenced on its own lease,
//! and their queue messages are acknowledged in one round trip after it.
//!
//! A batch is what ended during the previous write plus what ends within [`LINGER`] of its
//! first result: at 1,000 jobs/s, writing each result as it came made batches of three, and a
//! statement's fixed cost in Postgres (protocol, planning, trigger, commit) was most of what a
//! job cost it there. A result is stored at most [`LINGER`] later for it; nothing waits for a
//! slot (a slot is free at hand-over). Two writers take turns at the channel, so one batch
//! fills while the other commits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sparta_jobs::{Delivery, Finish, Finished, JobId, JobQueue, JobStore};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

/// The most results one statement writes.
const MAX_BATCH: usize = 512;
/// Batches written at once.
const WRITERS: usize = 2;
/// How long a batch waits for company after its first result. Measured at 1,000 jobs/s
/// (results written beside an open-loop submit): Postgres's CPU a job 0.86 ms → 0.78 with
/// 5 ms, 0.76 with 20 ms; the backlog drain unchanged.
const LINGER: Duration = Duration::from_millis(5);

/// What became of one result.
#[derive(Debug)]
pub(crate) enum Written {
    /// Stored, with the status written.
    Stored(Finished),
    /// The lease was gone (cancelled, or taken over): nothing was written.
    LeaseLost,
    /// The store failed: nothing was written and the message is not acknowledged, so the
    /// lease expires and the reconciler runs the job again.
    Failed,
}

/// One result on its way to the store.
struct Pending {
    finish: Finish,
    delivery: Delivery,
    reply: oneshot::Sender<Written>,
}

/// The handle executions hand their results to.
#[derive(Clone)]
pub(crate) struct ResultWriter {
    tx: mpsc::Sender<Pending>,
}

impl ResultWriter {
    /// Starts the writer tasks. They end once every handle is dropped and what was handed to
    /// them is written. `ended` is notified when a job with a webhook ended.
    pub(crate) fn start(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn JobQueue>,
        ended: Arc<Notify>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(write_loop(
                rx.clone(),
                store.clone(),
                queue.clone(),
                ended.clone(),
            ));
        }
        Self { tx }
    }

    /// Hands one attempt's end over to be written, fenced on its lease; its message is
    /// acknowledged once the store has it (also when the lease was lost: the message is spent
    /// either way). Waits only while the writer is [`MAX_BATCH`]·4 results behind.
    pub(crate) async fn hand_over(&self, finish: Finish, delivery: Delivery) -> HandedOver {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            finish,
            delivery,
            reply,
        };
        HandedOver(self.tx.send(pending).await.ok().map(|()| answer))
    }
}

/// A result handed over to the writer.
pub(crate) struct HandedOver(Option<oneshot::Receiver<Written>>);

impl HandedOver {
    /// What became of it, once its batch is written.
    pub(crate) async fn written(self) -> Written {
        match self.0 {
            Some(answer) => answer.await.unwrap_or(Written::Failed),
            None => Written::Failed,
        }
    }
}

async fn write_loop(
    rx: Arc<Mutex<mpsc::Receiver<Pending>>>,
    store: Arc<dyn JobStore>,
    queue: Arc<dyn JobQueue>,
    ended: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Only the channel is held while waiting: the other writer's statement goes on.
    while gather(&mut *rx.lock().await, &mut batch, MAX_BATCH, LINGER).await > 0 {
        let mut finishes = Vec::with_capacity(batch.len());
        let mut waiting = Vec::with_capacity(batch.len());
        for pending in batch.drain(..) {
            finishes.push(pending.finish);
            waiting.push((pending.delivery, pending.reply));
        }
        let written = match store.finish_many(&finishes, Utc::now()).await {
            Ok(written) => written,
            Err(error) => {
                // The leases expire and the reconciler runs the jobs again: nothing is lost.
                tracing::error!(%error, results = finishes.len(), "writing results failed");
                for (_, reply) in waiting {
                    let _ = reply.send(Written::Failed);
                }
                continue;
            }
        };
        let mut written: HashMap<JobId, Finished> =
            written.into_iter().map(|f| (f.id, f)).collect();
        if written
            .values()
            .any(|f| f.webhook && f.status.is_terminal())
        {
            ended.notify_one();
        }
        let (deliveries, replies): (Vec<Delivery>, Vec<_>) = waiting.into_iter().unzip();
        if let Err(error) = queue.ack(&deliveries).await {
            // An unacknowledged message is swept later; its job is already finished.
            tracing::warn!(%error, "acknowledging queue messages failed");
        }
        for (delivery, reply) in deliveries.iter().zip(replies) {
            let outcome = match written.remove(&delivery.job.id) {
                Some(finished) => Written::Stored(finished),
                None => Written::LeaseLost,
            };
            let _ = reply.send(outcome);
        }
    }
}

/// Waits for a first item, then takes what else arrives within `linger` of it, up to `max`
/// in all; 0 once the channel is closed and empty.
async fn gather<T>(
    rx: &mut mpsc::Receiver<T>,
    batch: &mut Vec<T>,
    max: usize,
    linger: Duration,
) -> usize {
    if rx.recv_many(batch, max).await == 0 {
        return 0;
    }
    let until = tokio::time::Instant::now() + linger;
    while batch.len() < max {
        let room = max - batch.len();
        match tokio::time::timeout_at(until, rx.recv_many(batch, room)).await {
            Ok(taken) if taken > 0 => {}
            // The linger is over, or the channel closed: write what there is.
            _ => break,
        }
    }
    batch.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `item` after `after` (paused time: no real waiting).
    fn send_after(tx: &mpsc::Sender<u32>, item: u32, after: Duration) {
        let tx = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            tx.send(item).await.expect("the receiver is open");
        });
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_takes_what_ends_within_the_linger_of_its_first_result() {
        let (tx, mut rx) = mpsc::channel(16);
        send_after(&tx, 1, Duration::from_millis(100));
        send_after(&tx, 2, Duration::from_millis(103));
        send_after(&tx, 3, Duration::from_millis(104));
        send_after(&tx, 4, Duration::from_millis(106));
        let mut batch = Vec::new();
        let linger = Duration::from_millis(5);
        let started = tokio::time::Instant::now();
        assert_eq!(gather(&mut rx, &mut batch, 10, linger).await, 3);
        assert_eq!(batch, [1, 2, 3]);
        // Written when the linger ran out, not when the first result came.
        assert_eq!(started.elapsed(), Duration::from_millis(105));
        batch.clear();
        assert_eq!(gather(&mut rx, &mut batch, 10, linger).await, 1);
        assert_eq!(batch, [4]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_batch_and_a_closed_channel_end_the_wait() {
        let (tx, mut rx) = mpsc::channel(16);
        for item in 0..3 {
            tx.send(item).await.expect("the receiver is open");
        }
        let mut batch = Vec::new();
        let started = tokio::time::Instant::now();
        assert_eq!(
            gather(&mut rx, &mut batch, 3, Duration::from_secs(1)).await,
            3
        );
        assert_eq!(started.elapsed(), Duration::ZERO);
        batch.clear();
        tx.send(7).await.expect("the receiver is open");
        drop(tx);
        assert_eq!(
            gather(&mut rx, &mut batch, 3, Duration::from_secs(1)).await,
            1
        );
        assert_eq!(started.elapsed(), Duration::ZERO);
        batch.clear();
        assert_eq!(
            gather(&mut rx, &mut batch, 3, Duration::from_secs(1)).await,
            0
        );
    }
}
