//! Retrying: one exponential backoff with jitter ([`Backoff`]) for every retry in SPARTA (a
//! model's transient failure here, a job's next attempt and a worker's own retries in
//! `sparta-worker`), and the orchestrator's [`RetryPolicy`] around it.
//!
//! One function of ours rather than `backon`: every caller needs only the delay before try `n`
//! (the orchestrator interleaves its retries with breaker decisions, `Retry-After` and mode
//! downgrades; a job's next attempt is a `run_at` stored in the database, not a loop in one
//! process), while `backon` is built around retrying a closure.

use std::time::Duration;

use rand::Rng as _;

/// `base · 2^(n-1)`, capped at `max`, then a random point in its upper half, so that retries
/// of many jobs spread out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// A process's own retries (a failing queue, a restarted worker): from 100 ms up to 5 s.
    pub const INTERNAL: Backoff = Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_secs(5),
    };

    /// The delay before try `n` (1 for the first retry).
    pub fn delay(&self, n: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << n.saturating_sub(1).min(20))
            .min(self.max);
        let half = exp / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }
}

impl Default for Backoff {
    /// A job's attempts: from 2 s up to 5 min.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
        }
    }
}

/// Retries of transient failures on one model.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The delay before each retry.
    pub backoff: Backoff,
    /// Longest `Retry-After` waited for; a longer one reschedules the job.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            backoff: Backoff {
                base: Duration::from_millis(500),
                max: Duration::from_secs(8),
            },
            retry_after_cap: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_with_jitter_under_the_cap() {
        for backoff in [Backoff::INTERNAL, RetryPolicy::default().backoff] {
            for n in 1..30 {
                let d = backoff.delay(n);
                let full = backoff
                    .base
                    .saturating_mul(1 << (n - 1).min(20))
                    .min(backoff.max);
                assert!(d >= full / 2 && d <= full, "{d:?} vs {full:?}");
            }
        }
    }
}
