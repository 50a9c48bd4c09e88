//! The workers' activity as the console shows it, read from the store's activity rows
//! ([`sparta_jobs::activity`]): the last hour by minute — jobs finished per second, wait and run
//! times, failures and dead jobs by kind, each model's attempts, error classes, latency and
//! cache hits — and the last fortnight by day (each model's calls, tokens and spend). A few rows
//! per process and minute, whatever the number of jobs in the store.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sparta_coach::JobKind;
use sparta_jobs::activity::{Activity, Durations, JobEnd, ModelActivity, Period};

use crate::context::AppCtx;
use crate::error::ApiError;

/// Minutes the overview covers.
pub(super) const HOUR_MINUTES: i64 = 60;
/// Days the providers page covers.
pub(super) const DAYS: i64 = 14;

/// Activity of consecutive periods, each added up over the processes that counted it, oldest
/// first; a period nobody counted in is empty.
pub(super) struct Periods {
    /// Each period's start and figures.
    pub(super) periods: Vec<(DateTime<Utc>, Activity)>,
    /// Everything added up.
    pub(super) total: Activity,
}

impl Periods {
    /// The `count` periods of `period` up to the one holding `now`.
    pub(super) async fn read(
        ctx: &AppCtx,
        period: Period,
        count: i64,
        now: DateTime<Utc>,
    ) -> Result<Periods, ApiError> {
        let last = period.start_of(now);
        let first = last - Duration::seconds(period.seconds() * (count - 1));
        let rows = ctx.api.store.activity(period, first).await?;
        let mut by_start: BTreeMap<DateTime<Utc>, Activity> = (0..count)
            .map(|i| {
                (
                    first + Duration::seconds(period.seconds() * i),
                    Activity::default(),
                )
            })
            .collect();
        let mut total = Activity::default();
        for row in rows {
            total.merge(&row.activity);
            if let Some(slot) = by_start.get_mut(&row.start) {
                slot.merge(&row.activity);
            }
        }
        Ok(Periods {
            periods: by_start.into_iter().collect(),
            total,
        })
    }

    /// Jobs finished (succeeded or failed for good) per second in each period.
    pub(super) fn finished_per_second(&self, period: Period) -> Vec<(DateTime<Utc>, f64)> {
        self.periods
            .iter()
            .map(|(start, a)| (*start, a.finished() as f64 / period.seconds() as f64))
            .collect()
    }

    /// Jobs finished per second over the minute before `now`: the current minute so far and
    /// the part of the previous one that falls in the window (minutes only).
    pub(super) fn finished_per_second_now(&self, now: DateTime<Utc>) -> f64 {
        let n = self.periods.len();
        let (Some((start, current)), previous) = (
            self.periods.last(),
            n.checked_sub(2).map(|i| &self.periods[i].1),
        ) else {
            return 0.0;
        };
        let into = (now - *start).num_milliseconds().clamp(0, 60_000) as f64 / 60_000.0;
        let earlier = previous.map_or(0.0, |p| p.finished() as f64 * (1.0 - into));
        (current.finished() as f64 + earlier) / 60.0
    }
}

/// A duration for people: `–` when none, µs, ms or s with two or three significant figures.
pub(super) fn duration_text(seconds: Option<f64>) -> String {
    match seconds {
        None => "–".to_owned(),
        // The histograms' first bucket (and LLM latencies are whole milliseconds).
        Some(s) if s <= 1e-4 => "≤ 0.1 ms".to_owned(),
        Some(s) if s < 0.001 => format!("{:.0} µs", s * 1e6),
        Some(s) if s < 0.01 => format!("{:.1} ms", s * 1e3),
        Some(s) if s < 1.0 => format!("{:.0} ms", s * 1e3),
        Some(s) if s < 100.0 => format!("{s:.2} s"),
        Some(s) => format!("{s:.0} s"),
    }
}

/// Quantiles of a histogram as text.
#[derive(Serialize)]
pub(super) struct Percentiles {
    p50: String,
    p90: String,
    p99: String,
    count: u64,
}

impl Percentiles {
    pub(super) fn of(durations: &Durations) -> Percentiles {
        Percentiles {
            p50: duration_text(durations.quantile(0.5)),
            p90: duration_text(durations.quantile(0.9)),
            p99: duration_text(durations.quantile(0.99)),
            count: durations.count(),
        }
    }
}

/// One kind's line of the overview.
#[derive(Serialize)]
pub(super) struct KindLine {
    kind: &'static str,
    started: u64,
    succeeded: u64,
    /// Failed for good (dead).
    failed: u64,
    /// Attempts that failed and were queued again.
    retried: u64,
    lease_lost: u64,
    wait: Percentiles,
    run: Percentiles,
}

/// Every kind's line over `activity`.
pub(super) fn kind_lines(activity: &Activity) -> Vec<KindLine> {
    JobKind::ALL
        .iter()
        .map(|&kind| {
            let empty = Default::default();
            let a = activity.kinds.get(&kind).unwrap_or(&empty);
            let ended = |end| a.ended.get(&end).copied().unwrap_or(0);
            KindLine {
                kind: kind.as_str(),
                started: a.started,
                succeeded: ended(JobEnd::Succeeded),
                failed: ended(JobEnd::Failed),
                retried: ended(JobEnd::Retried),
                lease_lost: ended(JobEnd::LeaseLost),
                wait: Percentiles::of(&a.wait),
                run: Percentiles::of(&a.run),
            }
        })
        .collect()
}

/// Attempt outcomes that are not errors.
const NOT_ERRORS: [&str; 2] = ["succeeded", "cache_hit"];

/// One model's line on the providers page.
#[derive(Serialize)]
pub(super) struct ModelLine {
    attempts: u64,
    succeeded: u64,
    /// Calls that reached the provider.
    calls: u64,
    /// Error classes and how many, most frequent first.
    errors: Vec<(String, u64)>,
    latency: Percentiles,
    cache_hits: u64,
    /// Cache hits of the lookups that could have called the model: hits ÷ (hits + calls).
    cache_hit_rate: String,
    input_tokens: u64,
    output_tokens: u64,
    spend: String,
}

impl ModelLine {
    pub(super) fn of(model: &ModelActivity) -> ModelLine {
        let count = |outcome: &str| model.attempts.get(outcome).copied().unwrap_or(0);
        let mut errors: Vec<(String, u64)> = model
            .attempts
            .iter()
            .filter(|(outcome, n)| !NOT_ERRORS.contains(&outcome.as_str()) && **n > 0)
            .map(|(outcome, n)| (outcome.clone(), *n))
            .collect();
        errors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let calls = model.latency.count();
        let hits = count("cache_hit");
        ModelLine {
            attempts: model.attempts.values().sum(),
            succeeded: count("succeeded"),
            calls,
            errors,
            latency: Percentiles::of(&model.latency),
            cache_hits: hits,
            cache_hit_rate: if hits + calls == 0 {
                "–".to_owned()
            } else {
                format!("{:.1} %", hits as f64 * 100.0 / (hits + calls) as f64)
            },
            input_tokens: model.input_tokens,
            output_tokens: model.output_tokens,
            spend: dollars(model.cost_microusd),
        }
    }
}

/// Micro-dollars as dollars, to the cent below $100 and to the dollar above.
pub(super) fn dollars(micros: u64) -> String {
    let usd = micros as f64 / 1e6;
    if usd >= 100.0 {
        format!("${usd:.0}")
    } else if usd > 0.0 && usd < 0.01 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_dollars_read_well() {
        assert_eq!(duration_text(None), "–");
        assert_eq!(duration_text(Some(0.000_1)), "≤ 0.1 ms");
        assert_eq!(duration_text(Some(0.000_25)), "250 µs");
        assert_eq!(duration_text(Some(0.0042)), "4.2 ms");
        assert_eq!(duration_text(Some(0.25)), "250 ms");
        assert_eq!(duration_text(Some(2.5)), "2.50 s");
        assert_eq!(duration_text(Some(300.0)), "300 s");
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(420), "$0.0004");
        assert_eq!(dollars(12_345_678), "$12.35");
        assert_eq!(dollars(123_456_789), "$123");
    }

    #[test]
    fn a_model_line_counts_errors_and_cache_hits() {
        let mut model = ModelActivity::default();
        model.attempts.insert("succeeded".into(), 6);
        model.attempts.insert("cache_hit".into(), 2);
        model.attempts.insert("timeout".into(), 1);
        model.attempts.insert("invalid".into(), 3);
        for _ in 0..8 {
            model.latency.record(0.2);
        }
        model.cost_microusd = 1_500_000;
        let line = ModelLine::of(&model);
        assert_eq!(line.attempts, 12);
        assert_eq!(
            line.errors,
            vec![("invalid".to_owned(), 3), ("timeout".to_owned(), 1)]
        );
        assert_eq!(line.cache_hit_rate, "20.0 %");
        assert_eq!(line.spend, "$1.50");
    }
}
