//! The passage of time as the orchestrator sees it.

use std::time::Duration;

use async_trait::async_trait;

/// The passage of time, as the orchestrator sees it: real in production, controlled in tests
/// (breaker cooldowns and backoff are asserted, never slept through).
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> std::time::Instant;
    /// Waits `duration`.
    async fn sleep(&self, duration: Duration);
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> std::time::Instant {
        std::time::Instant::now()
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
