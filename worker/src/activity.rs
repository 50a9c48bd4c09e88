//! This process's [`Activity`], counted from the same events as `/metrics` and written to the
//! store every few seconds for the console.
//!
//! [`ActivityRecorder`] is a `metrics` recorder installed beside the Prometheus one (a fan-out
//! in the binary): of every counter and histogram it keeps those the console shows — jobs
//! started and ended by kind and outcome, wait and run times, each model's attempts, latency,
//! tokens and cost, cache lookups — adding them to the [`ActivityLedger`] of the current minute
//! and day. [`flush`] writes the ledger's periods (each whole: a repeated write changes nothing)
//! in one statement per tick and deletes expired rows once a minute.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use sparta_ai::metrics as ai;
use sparta_coach::JobKind;
use sparta_jobs::activity::{Activity, ActivityRow, JobEnd, Period};
use sparta_jobs::{JobStore, WorkerId};
use tokio_util::sync::CancellationToken;

use crate::metrics as worker;

/// How long a period stays in memory after it ended, written again at every flush: an event
/// stamped just before the minute turned may reach the ledger just after.
const GRACE_SECONDS: i64 = 120;

/// The figures this process counted, by period, until they are written and over.
pub struct ActivityLedger {
    /// The process's name in the store (one per process, whatever number of workers it runs:
    /// they share the recorder).
    source: WorkerId,
    periods: Mutex<BTreeMap<(Period, DateTime<Utc>), Activity>>,
}

impl Default for ActivityLedger {
    fn default() -> Self {
        Self {
            source: WorkerId::generate("process"),
            periods: Mutex::new(BTreeMap::new()),
        }
    }
}

impl ActivityLedger {
    /// Adds an event at `now` to the minute and the day holding it (durations to the minute
    /// only: a day keeps no histograms).
    fn add(&self, now: DateTime<Utc>, event: &Event, value: f64) {
        let Ok(mut periods) = self.periods.lock() else {
            return;
        };
        for period in [Period::Minute, Period::Day] {
            if period == Period::Day && event.is_duration() {
                continue;
            }
            let activity = periods.entry((period, period.start_of(now))).or_default();
            event.apply(activity, value);
        }
    }

    /// The periods held, as rows.
    fn rows(&self) -> Vec<ActivityRow> {
        let Ok(periods) = self.periods.lock() else {
            return Vec::new();
        };
        periods
            .iter()
            .map(|(&(period, start), activity)| ActivityRow {
                period,
                start,
                source: self.source.as_str().to_owned(),
                activity: activity.clone(),
            })
            .collect()
    }

    /// Forgets the periods that ended more than [`GRACE_SECONDS`] before `now` (called once
    /// they are written: a failed write keeps them for the next).
    fn forget_ended(&self, now: DateTime<Utc>) {
        if let Ok(mut periods) = self.periods.lock() {
            periods.retain(|&(period, start), _| {
                (now - start).num_seconds() < period.seconds() + GRACE_SECONDS
            });
        }
    }
}

/// A counter or histogram the console shows, with its labels read.
#[derive(Clone, Debug)]
enum Event {
    Started(JobKind),
    Ended(JobKind, JobEnd),
    Wait(JobKind),
    Run(JobKind),
    Attempt { model: String, outcome: String },
    Latency(String),
    InputTokens(String),
    OutputTokens(String),
    Cost(String),
    Cache { hit: bool },
}

impl Event {
    /// The metrics the console shows.
    const NAMES: [&'static str; 10] = [
        worker::JOBS_STARTED,
        worker::JOBS_FINISHED,
        worker::JOB_WAIT,
        worker::JOB_RUN,
        ai::LLM_ATTEMPTS,
        ai::LLM_ATTEMPT_DURATION,
        ai::LLM_INPUT_TOKENS,
        ai::LLM_OUTPUT_TOKENS,
        ai::LLM_COST,
        ai::CACHE_LOOKUPS,
    ];

    /// The event a metric's key names, if the console shows it.
    fn of(key: &Key) -> Option<Event> {
        let label = |name: &str| {
            key.labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_owned())
        };
        let kind = || label("kind").and_then(|k| k.parse::<JobKind>().ok());
        Some(match key.name() {
            worker::JOBS_STARTED => Event::Started(kind()?),
            worker::JOBS_FINISHED => Event::Ended(kind()?, JobEnd::parse(&label("outcome")?)?),
            worker::JOB_WAIT => Event::Wait(kind()?),
            worker::JOB_RUN => Event::Run(kind()?),
            ai::LLM_ATTEMPTS => Event::Attempt {
                model: label("model")?,
                outcome: label("outcome")?,
            },
            ai::LLM_ATTEMPT_DURATION => Event::Latency(label("model")?),
            ai::LLM_INPUT_TOKENS => Event::InputTokens(label("model")?),
            ai::LLM_OUTPUT_TOKENS => Event::OutputTokens(label("model")?),
            ai::LLM_COST => Event::Cost(label("model")?),
            ai::CACHE_LOOKUPS => Event::Cache {
                hit: label("result")? == "hit",
            },
            _ => return None,
        })
    }

    fn is_duration(&self) -> bool {
        matches!(self, Event::Wait(_) | Event::Run(_) | Event::Latency(_))
    }

    /// Adds `value` (a count, or a duration in seconds) to `activity`.
    fn apply(&self, activity: &mut Activity, value: f64) {
        // Counters hand over whole numbers.
        let n = value as u64;
        match self {
            Event::Started(kind) => activity.kind_mut(*kind).started += n,
            Event::Ended(kind, end) => {
                *activity.kind_mut(*kind).ended.entry(*end).or_insert(0) += n;
            }
            Event::Wait(kind) => activity.kind_mut(*kind).wait.record(value),
            Event::Run(kind) => activity.kind_mut(*kind).run.record(value),
            Event::Attempt { model, outcome } => {
                *activity
                    .model_mut(model)
                    .attempts
                    .entry(outcome.clone())
                    .or_insert(0) += n;
            }
            Event::Latency(model) => activity.model_mut(model).latency.record(value),
            Event::InputTokens(model) => activity.model_mut(model).input_tokens += n,
            Event::OutputTokens(model) => activity.model_mut(model).output_tokens += n,
            Event::Cost(model) => activity.model_mut(model).cost_microusd += n,
            Event::Cache { hit: true } => activity.cache_hits += n,
            Event::Cache { hit: false } => activity.cache_misses += n,
        }
    }
}

/// A handle the recorder gives out for one event.
struct Tap {
    ledger: Arc<ActivityLedger>,
    event: Event,
}

impl CounterFn for Tap {
    fn increment(&self, value: u64) {
        if value > 0 {
            self.ledger.add(Utc::now(), &self.event, value as f64);
        }
    }

    // Counters that mirror an outside total are not among the events kept.
    fn absolute(&self, _: u64) {}
}

impl HistogramFn for Tap {
    fn record(&self, value: f64) {
        self.ledger.add(Utc::now(), &self.event, value);
    }
}

/// The `metrics` recorder that feeds an [`ActivityLedger`]; every other metric is a no-op here.
pub struct ActivityRecorder {
    ledger: Arc<ActivityLedger>,
    /// The handle of each key seen, made once (as the Prometheus recorder's registry does): the
    /// `counter!` and `histogram!` macros look their key up at every event, and reading the
    /// labels again each time would cost every job a few allocations.
    taps: RwLock<HashMap<Key, Option<Arc<Tap>>>>,
}

impl ActivityRecorder {
    /// A recorder adding to `ledger`.
    pub fn new(ledger: Arc<ActivityLedger>) -> Self {
        Self {
            ledger,
            taps: RwLock::new(HashMap::new()),
        }
    }

    fn tap(&self, key: &Key) -> Option<Arc<Tap>> {
        // Most metrics (HTTP, webhooks, the scheduler…) are not kept: no lookup for them.
        if !Event::NAMES.contains(&key.name()) {
            return None;
        }
        if let Some(tap) = self
            .taps
            .read()
            .ok()
            .and_then(|taps| taps.get(key).cloned())
        {
            return tap;
        }
        let tap = Event::of(key).map(|event| {
            Arc::new(Tap {
                ledger: self.ledger.clone(),
                event,
            })
        });
        if let Ok(mut taps) = self.taps.write() {
            taps.insert(key.clone(), tap.clone());
        }
        tap
    }
}

impl Recorder for ActivityRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.tap(key).map_or_else(Counter::noop, Counter::from_arc)
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.tap(key)
            .map_or_else(Histogram::noop, Histogram::from_arc)
    }
}

/// Writes the ledger to the store every `every` until `shutdown`, then once more; deletes
/// expired rows once a minute. A failed write is logged and made good by the next one (each
/// row is written whole, and a period is forgotten only once written past its grace).
pub async fn flush(
    ledger: Arc<ActivityLedger>,
    store: Arc<dyn JobStore>,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pruned: Option<DateTime<Utc>> = None;
    loop {
        let stopping = tokio::select! {
            _ = ticks.tick() => false,
            () = shutdown.cancelled() => true,
        };
        let now = Utc::now();
        match store.record_activity(&ledger.rows()).await {
            Ok(()) => ledger.forget_ended(now),
            Err(error) => tracing::warn!(%error, "writing this process's activity failed"),
        }
        if stopping {
            return;
        }
        if pruned.is_none_or(|at| (now - at).num_seconds() >= 60) {
            pruned = Some(now);
            if let Err(error) = store.prune_activity(now).await {
                tracing::warn!(%error, "deleting expired activity failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn the_ledger_keeps_a_period_through_its_grace_then_forgets_it() {
        let ledger = ActivityLedger::default();
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 30).unwrap();
        let key = Key::from_parts(
            worker::JOBS_FINISHED,
            vec![
                metrics::Label::new("kind", "nutrition"),
                metrics::Label::new("outcome", "succeeded"),
            ],
        );
        let event = Event::of(&key).unwrap();
        ledger.add(at, &event, 2.0);
        let wait = Event::of(&Key::from_parts(
            worker::JOB_WAIT,
            vec![metrics::Label::new("kind", "nutrition")],
        ))
        .unwrap();
        ledger.add(at, &wait, 0.25);
        let rows = ledger.rows();
        assert_eq!(rows.len(), 2);
        let minute = rows.iter().find(|r| r.period == Period::Minute).unwrap();
        assert_eq!(minute.activity.ended(JobEnd::Succeeded), 2);
        assert_eq!(minute.activity.kinds[&JobKind::Nutrition].wait.count(), 1);
        let day = rows.iter().find(|r| r.period == Period::Day).unwrap();
        assert_eq!(day.activity.ended(JobEnd::Succeeded), 2);
        assert_eq!(day.activity.kinds[&JobKind::Nutrition].wait.count(), 0);
        // Within the grace the minute is kept (written again at each flush); past it, forgotten
        // once written.
        ledger.forget_ended(at + chrono::Duration::seconds(149));
        assert_eq!(ledger.rows().len(), 2);
        ledger.forget_ended(at + chrono::Duration::seconds(150));
        assert_eq!(ledger.rows().len(), 1);
    }

    #[test]
    fn the_recorder_makes_one_handle_per_key_and_counts_through_it() {
        let ledger = Arc::new(ActivityLedger::default());
        let recorder = ActivityRecorder::new(ledger.clone());
        let key = Key::from_parts(
            worker::JOBS_STARTED,
            vec![metrics::Label::new("kind", "split")],
        );
        let metadata = metrics::Metadata::new("test", metrics::Level::INFO, None);
        for _ in 0..3 {
            recorder.register_counter(&key, &metadata).increment(2);
        }
        recorder
            .register_counter(&Key::from_name("sparta_http_requests_total"), &metadata)
            .increment(1);
        assert_eq!(recorder.taps.read().unwrap().len(), 1);
        let rows = ledger.rows();
        let minute = rows.iter().find(|r| r.period == Period::Minute).unwrap();
        assert_eq!(minute.activity.kinds[&JobKind::Split].started, 6);
    }

    #[test]
    fn metrics_the_console_does_not_show_are_not_kept() {
        for key in [
            Key::from_name("sparta_http_requests_total"),
            Key::from_parts(
                worker::JOBS_STARTED,
                vec![metrics::Label::new("kind", "no_such_kind")],
            ),
            Key::from_name(worker::JOBS_STARTED),
        ] {
            assert!(Event::of(&key).is_none(), "{key:?}");
        }
    }
}
