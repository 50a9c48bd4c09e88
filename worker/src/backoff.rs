//! Exponential backoff with jitter: how long to wait before trying again, for a job's next
//! attempt and for a worker's own retries (a failing queue, a restarted apalis worker).

use std::time::Duration;

use rand::Rng as _;

/// `base · 2^(n-1)`, capped at `max`, then a random point in its upper half, so that retries of
/// many jobs spread out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// A worker's own retries: from 100 ms up to 5 s.
    pub(crate) const INTERNAL: Backoff = Backoff {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(5),
        };
        for n in 1..30 {
            let d = backoff.delay(n);
            assert!(d <= backoff.max, "{d:?} over the cap");
            let floor = (backoff.base.saturating_mul(1 << (n - 1).min(20))).min(backoff.max) / 2;
            assert!(d >= floor, "{d:?} under {floor:?}");
        }
    }
}
