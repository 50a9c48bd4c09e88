//! Activity: what the workers did, per minute and per day — jobs started and finished by kind
//! and outcome with their wait and run times, and each model's attempts by outcome with their
//! latency, tokens and cost. Every worker process adds its own figures up in memory and writes
//! them to the store every few seconds (one statement, [`crate::store::ActivityStore`]), so the
//! console of any process — an API process that runs no job included — reads the last hour in
//! a few dozen rows instead of counting the jobs table.
//!
//! A row holds one process's figures of one period as they stand (written again, whole, at each
//! flush), so a flush that repeats changes nothing and a process that dies loses at most the
//! seconds since its last flush. Readers add up the rows of a period over processes.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};
use sparta_coach::JobKind;

/// The length of a period of activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// A minute: everything, kept [`Period::kept`] (two hours).
    Minute,
    /// A UTC day: counts, tokens and cost without the duration histograms, kept 35 days.
    Day,
}

impl Period {
    /// Its name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Minute => "minute",
            Period::Day => "day",
        }
    }

    /// Its length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Period::Minute => 60,
            Period::Day => 86_400,
        }
    }

    /// The start of the period holding `at`.
    pub fn start_of(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let seconds = at.timestamp();
        let start = seconds - seconds.rem_euclid(self.seconds());
        Utc.timestamp_opt(start, 0).single().unwrap_or(at)
    }

    /// How long its rows are kept.
    pub fn kept(self) -> Duration {
        match self {
            Period::Minute => Duration::hours(2),
            Period::Day => Duration::days(35),
        }
    }
}

/// The smallest duration a histogram tells apart, in seconds (100 µs).
const FIRST_BOUND: f64 = 1e-4;
/// Each bucket's upper bound is this factor times the previous one: a quantile read from the
/// buckets is within 10 % of the true value.
const GROWTH: f64 = 1.1;
/// The last bucket (1e-4 × 1.1^200 ≈ 5.3 hours) holds everything longer.
const LAST_BUCKET: u16 = 200;

/// Durations in seconds, counted in logarithmic buckets (bucket `i` holds values up to
/// 100 µs × 1.1^i), so histograms of any number of processes and minutes add up exactly and
/// their quantiles stay within 10 %. Only buckets that hold something are stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Durations(BTreeMap<u16, u64>);

impl Durations {
    /// Counts one duration.
    pub fn record(&mut self, seconds: f64) {
        *self.0.entry(Self::bucket(seconds)).or_insert(0) += 1;
    }

    fn bucket(seconds: f64) -> u16 {
        if seconds.is_nan() || seconds <= FIRST_BOUND {
            return 0;
        }
        let index = ((seconds / FIRST_BOUND).ln() / GROWTH.ln()).ceil();
        if index >= f64::from(LAST_BUCKET) {
            LAST_BUCKET
        } else {
            // In 1..LAST_BUCKET: the conversion is exact.
            index as u16
        }
    }

    fn upper_bound(bucket: u16) -> f64 {
        FIRST_BOUND * GROWTH.powi(i32::from(bucket))
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Durations) {
        for (&bucket, &n) in &other.0 {
            *self.0.entry(bucket).or_insert(0) += n;
        }
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.0.values().sum()
    }

    /// The `q` quantile (0–1) in seconds: the upper bound of the bucket that holds it; none
    /// when nothing was counted.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        // The rank of the quantile, 1-based: the smallest value with at least q of the counts
        // at or below it.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (&bucket, &n) in &self.0 {
            seen += n;
            if seen >= rank {
                return Some(Self::upper_bound(bucket));
            }
        }
        self.0.keys().last().map(|&b| Self::upper_bound(b))
    }
}

/// How an attempt of a job ended, as the activity counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobEnd {
    /// The job succeeded.
    Succeeded,
    /// The job failed for good (no attempt left, or a failure no retry mends): a dead job.
    Failed,
    /// The attempt failed and the job was queued again.
    Retried,
    /// The worker lost the job's lease before it could write the result.
    LeaseLost,
}

impl JobEnd {
    /// Its label (`/metrics`' `outcome`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobEnd::Succeeded => "succeeded",
            JobEnd::Failed => "failed",
            JobEnd::Retried => "retried",
            JobEnd::LeaseLost => "lease_lost",
        }
    }

    /// Every end, in the order the console shows them.
    pub const ALL: [JobEnd; 4] = [
        JobEnd::Succeeded,
        JobEnd::Failed,
        JobEnd::Retried,
        JobEnd::LeaseLost,
    ];

    /// The end a label names.
    pub fn parse(label: &str) -> Option<JobEnd> {
        JobEnd::ALL.into_iter().find(|end| end.as_str() == label)
    }
}

/// One kind's jobs in a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KindActivity {
    /// Attempts started.
    #[serde(default)]
    pub started: u64,
    /// Attempts ended, by how.
    #[serde(default)]
    pub ended: BTreeMap<JobEnd, u64>,
    /// From the job's creation to an attempt's start.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub wait: Durations,
    /// From an attempt's start to its end.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub run: Durations,
}

/// One model's attempts in a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelActivity {
    /// Attempts by outcome (the orchestrator's: `succeeded`, `cache_hit`, `timeout`,
    /// `provider_error`, `invalid`, …).
    #[serde(default)]
    pub attempts: BTreeMap<String, u64>,
    /// Latency of the calls that reached the provider.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub latency: Durations,
    /// Prompt tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Completion tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Cost in micro-dollars.
    #[serde(default)]
    pub cost_microusd: u64,
}

fn is_empty(durations: &Durations) -> bool {
    durations.0.is_empty()
}

/// Everything counted in a period (by one process, or added up over several).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// By kind.
    #[serde(default)]
    pub kinds: BTreeMap<JobKind, KindActivity>,
    /// By model (`builtin` for the engine).
    #[serde(default)]
    pub models: BTreeMap<String, ModelActivity>,
    /// Response-cache lookups that found an answer.
    #[serde(default)]
    pub cache_hits: u64,
    /// Response-cache lookups that found none.
    #[serde(default)]
    pub cache_misses: u64,
}

impl Activity {
    /// A kind's figures, made empty when it has none yet.
    pub fn kind_mut(&mut self, kind: JobKind) -> &mut KindActivity {
        self.kinds.entry(kind).or_default()
    }

    /// A model's figures, made empty when it has none yet.
    pub fn model_mut(&mut self, model: &str) -> &mut ModelActivity {
        self.models.entry(model.to_owned()).or_default()
    }

    /// Adds another period's (or process's) figures.
    pub fn merge(&mut self, other: &Activity) {
        for (kind, theirs) in &other.kinds {
            let ours = self.kind_mut(*kind);
            ours.started += theirs.started;
            for (end, n) in &theirs.ended {
                *ours.ended.entry(*end).or_insert(0) += n;
            }
            ours.wait.merge(&theirs.wait);
            ours.run.merge(&theirs.run);
        }
        for (model, theirs) in &other.models {
            let ours = self.model_mut(model);
            for (outcome, n) in &theirs.attempts {
                *ours.attempts.entry(outcome.clone()).or_insert(0) += n;
            }
            ours.latency.merge(&theirs.latency);
            ours.input_tokens += theirs.input_tokens;
            ours.output_tokens += theirs.output_tokens;
            ours.cost_microusd += theirs.cost_microusd;
        }
        self.cache_hits += other.cache_hits;
        self.cache_misses += other.cache_misses;
    }

    /// The same figures without the duration histograms (what a day keeps).
    pub fn without_durations(&self) -> Activity {
        let mut copy = self.clone();
        for kind in copy.kinds.values_mut() {
            kind.wait = Durations::default();
            kind.run = Durations::default();
        }
        for model in copy.models.values_mut() {
            model.latency = Durations::default();
        }
        copy
    }

    /// Attempts of every kind that ended as `end`.
    pub fn ended(&self, end: JobEnd) -> u64 {
        self.kinds.values().filter_map(|k| k.ended.get(&end)).sum()
    }

    /// Jobs that ended for good: succeeded or failed.
    pub fn finished(&self) -> u64 {
        self.ended(JobEnd::Succeeded) + self.ended(JobEnd::Failed)
    }
}

/// One process's activity in one period, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityRow {
    /// The period's length.
    pub period: Period,
    /// The period's start.
    pub start: DateTime<Utc>,
    /// The process that counted it (its worker id).
    pub source: String,
    /// What it counted.
    pub activity: Activity,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_ten_percent_and_histograms_add_up() {
        let mut a = Durations::default();
        let mut b = Durations::default();
        // 1 ms … 1 s, half in each histogram.
        for i in 1..=1000 {
            let seconds = f64::from(i) / 1000.0;
            if i % 2 == 0 { &mut a } else { &mut b }.record(seconds);
        }
        a.merge(&b);
        assert_eq!(a.count(), 1000);
        for (q, exact) in [(0.5, 0.5), (0.99, 0.99), (0.01, 0.01), (1.0, 1.0)] {
            let Some(read) = a.quantile(q) else {
                panic!("no quantile");
            };
            assert!(
                read >= exact && read <= exact * 1.1 + 1e-12,
                "q{q}: {read} for {exact}"
            );
        }
        assert_eq!(Durations::default().quantile(0.5), None);
        let mut edges = Durations::default();
        for seconds in [0.0, -1.0, f64::NAN, 1e-9, 1e9, f64::INFINITY] {
            edges.record(seconds);
        }
        assert_eq!(edges.count(), 6);
        assert_eq!(
            edges.0.keys().copied().collect::<Vec<_>>(),
            vec![0, LAST_BUCKET]
        );
    }

    #[test]
    fn activity_merges_and_round_trips_through_json() {
        let mut one = Activity::default();
        let kind = one.kinds.entry(JobKind::Nutrition).or_default();
        kind.started = 3;
        kind.ended.insert(JobEnd::Succeeded, 2);
        kind.ended.insert(JobEnd::Retried, 1);
        kind.wait.record(0.002);
        kind.run.record(0.0001);
        let model = one.models.entry("builtin".into()).or_default();
        model.attempts.insert("succeeded".into(), 2);
        model.latency.record(0.01);
        model.cost_microusd = 7;
        one.cache_hits = 1;
        let text = serde_json::to_string(&one).unwrap();
        let back: Activity = serde_json::from_str(&text).unwrap();
        assert_eq!(back, one);
        let mut sum = one.clone();
        sum.merge(&one);
        assert_eq!(sum.kinds[&JobKind::Nutrition].started, 6);
        assert_eq!(sum.ended(JobEnd::Succeeded), 4);
        assert_eq!(sum.models["builtin"].cost_microusd, 14);
        assert_eq!(sum.models["builtin"].latency.count(), 2);
        assert_eq!(sum.cache_hits, 2);
        let day = sum.without_durations();
        assert_eq!(day.kinds[&JobKind::Nutrition].wait.count(), 0);
        assert_eq!(day.models["builtin"].attempts["succeeded"], 4);
        assert_ne!(day, Activity::default());
        assert_eq!(sum.finished(), 4);
    }

    #[test]
    fn periods_start_on_their_boundaries() {
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 9, 41, 59).unwrap();
        assert_eq!(
            Period::Minute.start_of(at),
            Utc.with_ymd_and_hms(2026, 12, 6, 9, 41, 0).unwrap()
        );
        assert_eq!(
            Period::Day.start_of(at),
            Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap()
        );
    }
}
