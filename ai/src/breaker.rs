//! Circuit breakers, one per provider + model.
//!
//! Closed: calls go through; the breaker opens after `consecutive_failures` failures in a row,
//! or when at least `min_calls` calls in the last `window` failed at `failure_rate` or more.
//! Open: calls are skipped without touching the provider until `cooldown` has passed.
//! Half-open: exactly one probe goes through; its success closes the breaker, its failure opens
//! it again. Time comes from the caller, so tests control it instead of sleeping.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// When a breaker opens and for how long.
#[derive(Clone, Debug)]
pub struct BreakerConfig {
    /// Failures in a row that open the breaker.
    pub consecutive_failures: u32,
    /// Failure share over the window that opens the breaker.
    pub failure_rate: f64,
    /// Calls needed in the window before the rate counts.
    pub min_calls: usize,
    /// The window of the failure rate.
    pub window: Duration,
    /// How long an open breaker skips calls before admitting a probe.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            failure_rate: 0.5,
            min_calls: 10,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
        }
    }
}

/// A breaker's state, as reported in metrics and traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are skipped.
    Open,
    /// One probe is allowed (or in flight).
    HalfOpen,
}

/// An operator's override of a breaker (an incident): held until lifted, whatever the calls do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Forced {
    /// Every call is skipped (a provider known to be down, or too expensive right now).
    Open,
    /// Every call goes through, failures notwithstanding.
    Closed,
}

/// What the breaker says about a call about to be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead.
    Allowed,
    /// Go ahead: this call is the half-open probe.
    Probe,
    /// Skip this model.
    Rejected,
}

#[derive(Debug)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
struct Inner {
    /// The operator's override, if any: it decides instead of `state`.
    forced: Option<Forced>,
    state: State,
    consecutive: u32,
    /// (when, succeeded) of recent calls, oldest first.
    recent: VecDeque<(Instant, bool)>,
}

/// One breaker.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    /// The model it guards: the label of its metrics.
    model: String,
    inner: Mutex<Inner>,
}

impl Breaker {
    /// A closed breaker guarding `model` (its state is reported in the metrics from now on).
    pub fn new(config: BreakerConfig, model: impl Into<String>) -> Self {
        let model = model.into();
        crate::metrics::breaker(&model, BreakerState::Closed, false);
        Self {
            config,
            model,
            inner: Mutex::new(Inner {
                forced: None,
                state: State::Closed,
                consecutive: 0,
                recent: VecDeque::new(),
            }),
        }
    }

    /// Reports a transition into `state` (a breaker already there reports nothing).
    fn entered(&self, from: &State, state: BreakerState) {
        let already = matches!(
            (from, state),
            (State::Closed, BreakerState::Closed)
                | (State::Open { .. }, BreakerState::Open)
                | (State::HalfOpen { .. }, BreakerState::HalfOpen)
        );
        if !already {
            crate::metrics::breaker(&self.model, state, true);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-update; the counters are
        // still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets (or, with `None`, lifts) the operator's override. Lifting it starts the breaker
    /// afresh, closed.
    pub fn force(&self, forced: Option<Forced>) {
        let mut inner = self.lock();
        if inner.forced == forced {
            return;
        }
        inner.forced = forced;
        inner.state = State::Closed;
        inner.consecutive = 0;
        inner.recent.clear();
        let state = match forced {
            Some(Forced::Open) => BreakerState::Open,
            Some(Forced::Closed) | None => BreakerState::Closed,
        };
        crate::metrics::breaker(&self.model, state, true);
    }

    /// The operator's override, if any.
    pub fn forced(&self) -> Option<Forced> {
        self.lock().forced
    }

    /// The state at `now` (an open breaker whose cooldown passed reads as half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        let inner = self.lock();
        match inner.forced {
            Some(Forced::Open) => return BreakerState::Open,
            Some(Forced::Closed) => return BreakerState::Closed,
            None => {}
        }
        match inner.state {
            State::Closed => BreakerState::Closed,
            State::Open { until } if now < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call at `now`.
    pub fn admit(&self, now: Instant) -> Admission {
        let mut inner = self.lock();
        match inner.forced {
            Some(Forced::Open) => return Admission::Rejected,
            Some(Forced::Closed) => return Admission::Allowed,
            None => {}
        }
        match inner.state {
            State::Closed => Admission::Allowed,
            State::Open { until } if now < until => Admission::Rejected,
            State::Open { .. } | State::HalfOpen { probing: false } => {
                self.entered(&inner.state, BreakerState::HalfOpen);
                inner.state = State::HalfOpen { probing: true };
                Admission::Probe
            }
            State::HalfOpen { probing: true } => Admission::Rejected,
        }
    }

    /// Records a call that worked.
    pub fn success(&self, now: Instant) {
        let mut inner = self.lock();
        if inner.forced.is_some() {
            return;
        }
        inner.consecutive = 0;
        self.remember(&mut inner, now, true);
        if matches!(inner.state, State::HalfOpen { .. }) {
            self.entered(&inner.state, BreakerState::Closed);
            inner.state = State::Closed;
            inner.recent.clear();
        }
    }

    /// Records a call that failed; true when the breaker is (now) open.
    pub fn failure(&self, now: Instant) -> bool {
        let mut inner = self.lock();
        if let Some(forced) = inner.forced {
            return forced == Forced::Open;
        }
        inner.consecutive = inner.consecutive.saturating_add(1);
        self.remember(&mut inner, now, false);
        let open = match inner.state {
            State::HalfOpen { .. } => true,
            State::Open { .. } => true,
            State::Closed => {
                let calls = inner.recent.len();
                let failed = inner.recent.iter().filter(|(_, ok)| !ok).count();
                inner.consecutive >= self.config.consecutive_failures
                    || (calls >= self.config.min_calls
                        && failed as f64 >= self.config.failure_rate * calls as f64)
            }
        };
        if open {
            self.entered(&inner.state, BreakerState::Open);
            inner.state = State::Open {
                until: now + self.config.cooldown,
            };
            inner.consecutive = 0;
            inner.recent.clear();
        }
        open
    }

    fn remember(&self, inner: &mut Inner, now: Instant, ok: bool) {
        inner.recent.push_back((now, ok));
        while inner
            .recent
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) > self.config.window)
        {
            inner.recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            consecutive_failures: 3,
            failure_rate: 0.5,
            min_calls: 6,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
        }
    }

    #[test]
    fn an_operators_override_decides_until_lifted() {
        let breaker = Breaker::new(config(), "m");
        let t0 = Instant::now();
        breaker.force(Some(Forced::Open));
        assert_eq!(breaker.admit(t0), Admission::Rejected);
        assert_eq!(
            breaker.state(t0 + Duration::from_secs(3600)),
            BreakerState::Open
        );
        breaker.force(Some(Forced::Closed));
        for _ in 0..10 {
            assert_eq!(breaker.admit(t0), Admission::Allowed);
            assert!(
                !breaker.failure(t0),
                "failures do not open a forced-closed breaker"
            );
        }
        assert_eq!(breaker.state(t0), BreakerState::Closed);
        breaker.force(None);
        assert_eq!(breaker.forced(), None);
        assert!(!breaker.failure(t0));
        assert!(!breaker.failure(t0));
        assert!(
            breaker.failure(t0),
            "lifted: counting afresh, the third failure opens"
        );
    }

    #[test]
    fn opens_after_consecutive_failures_then_probes_once_and_closes() {
        let breaker = Breaker::new(config(), "m");
        let t0 = Instant::now();
        assert_eq!(breaker.admit(t0), Admission::Allowed);
        assert!(!breaker.failure(t0));
        assert!(!breaker.failure(t0));
        assert!(breaker.failure(t0), "third failure in a row opens");
        assert_eq!(breaker.state(t0), BreakerState::Open);
        assert_eq!(
            breaker.admit(t0 + Duration::from_secs(29)),
            Admission::Rejected
        );
        let later = t0 + Duration::from_secs(30);
        assert_eq!(breaker.state(later), BreakerState::HalfOpen);
        assert_eq!(breaker.admit(later), Admission::Probe);
        assert_eq!(
            breaker.admit(later),
            Admission::Rejected,
            "exactly one probe"
        );
        breaker.success(later);
        assert_eq!(breaker.state(later), BreakerState::Closed);
        assert_eq!(breaker.admit(later), Admission::Allowed);
    }

    #[test]
    fn a_failed_probe_reopens() {
        let breaker = Breaker::new(config(), "m");
        let t0 = Instant::now();
        for _ in 0..3 {
            breaker.failure(t0);
        }
        let later = t0 + Duration::from_secs(31);
        assert_eq!(breaker.admit(later), Admission::Probe);
        assert!(breaker.failure(later));
        assert_eq!(breaker.state(later), BreakerState::Open);
        assert_eq!(
            breaker.admit(later + Duration::from_secs(29)),
            Admission::Rejected
        );
        assert_eq!(
            breaker.admit(later + Duration::from_secs(30)),
            Admission::Probe
        );
    }

    #[test]
    fn opens_on_failure_rate_without_a_run_of_failures() {
        let breaker = Breaker::new(config(), "m");
        let t0 = Instant::now();
        // ok, fail, ok, fail, ok, fail: never 3 in a row, but 50 % of 6 calls.
        for i in 0..5 {
            if i % 2 == 0 {
                breaker.success(t0);
            } else {
                assert!(!breaker.failure(t0));
            }
        }
        assert!(breaker.failure(t0));
        assert_eq!(breaker.state(t0), BreakerState::Open);
    }

    #[test]
    fn old_calls_leave_the_window() {
        let breaker = Breaker::new(config(), "m");
        let t0 = Instant::now();
        for _ in 0..2 {
            breaker.failure(t0);
            breaker.success(t0);
        }
        // 61 s later the old calls no longer count towards the rate.
        let later = t0 + Duration::from_secs(61);
        breaker.success(later);
        assert!(!breaker.failure(later));
        assert_eq!(breaker.state(later), BreakerState::Closed);
    }
}
