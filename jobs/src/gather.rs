//! Gathering a batch from a channel: the first item, then what else arrives within a short
//! linger of it. A statement's fixed cost (a round trip, planning, a commit) is then shared by
//! what arrives close together, at the price of that linger for the first item. The worker's
//! result writer and the Postgres store's job change notifier batch this way.

use std::time::Duration;

use tokio::sync::mpsc;

/// Waits for a first item, then takes what else arrives within `linger` of it, up to `max`
/// in all; 0 once the channel is closed and empty.
pub async fn gather<T>(
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
            // The linger is over, or the channel closed: take what there is.
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
    async fn a_batch_takes_what_arrives_within_the_linger_of_its_first_item() {
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
        // Taken when the linger ran out, not when the first item came.
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
