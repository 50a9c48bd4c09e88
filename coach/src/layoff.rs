//! Return after a layoff (science.md §A9): the gap between the last logged session and the day
//! asked about (a plan's start, today's session) decides how much load and volume come back in the
//! first weeks. SPARTA's convention \[C\] (the direction from Mujika & Padilla 2000, McMaster 2013,
//! Bosquet 2013, Ogasawara 2013, Staron 1991; the numbers ours):
//!
//! | gap | first week | back to full |
//! |---|---|---|
//! | < 14 days | no change | — |
//! | 14–27 days | loads −10 %, sets −30 % | week 2 |
//! | 28–55 days | loads −20 %, sets −50 % | sets 50 → 70 → 85 → 100 % over weeks 1–4; loads back by ≤ 5 % a week |
//! | ≥ 56 days | a fresh baseline: 65 % of the old e1RM (60–70 %), or an AMRAP test set at RIR ≥ 3 | as the row above, over 6 weeks; a beginner's old log counts for nothing |
//!
//! Every answer that applies a row says so (`return_from_layoff`, with the gap in days).

use crate::science::round_to;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Violation;
use crate::date::IsoDate;
use crate::vocab::vocabulary;

/// Shortest gap, days, that changes anything.
pub const SHORT_GAP_DAYS: i64 = 14;
/// Shortest gap, days, of the second row.
pub const LONG_GAP_DAYS: i64 = 28;
/// Shortest gap, days, after which the old log only seeds a fresh baseline.
pub const BASELINE_GAP_DAYS: i64 = 56;
/// Share of the old e1RM a fresh baseline starts from (the middle of §A9's 60–70 %).
pub const BASELINE_E1RM_SHARE: f64 = 0.65;
/// Largest weekly load step back up during a return ramp (§A9: ≤ 5 % a week).
pub const RAMP_LOAD_STEP_PCT: f64 = 5.0;
/// Longest gap an output may state, days (dates span 1900–2200).
pub const MAX_GAP_DAYS: u32 = 120_000;

vocabulary! {
    /// Which row of §A9 a gap falls in.
    pub enum LayoffBand {
        /// 14–27 days: loads −10 %, sets −30 % for a week.
        Short = "short",
        /// 28–55 days: loads −20 %, sets −50 %, ramped back over four weeks.
        Long = "long",
        /// 56 days or more: a fresh baseline (65 % of the old e1RM or an AMRAP test set).
        Baseline = "baseline",
    }
}

/// What a layoff changes, as every kind that applies it reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnFromLayoff {
    /// Days from the last logged session to the day asked about.
    #[schemars(range(min = SHORT_GAP_DAYS, max = MAX_GAP_DAYS))]
    pub gap_days: u32,
    /// The row of §A9.
    pub band: LayoffBand,
    /// Load of the first week against the last working loads, percent (−10, −20; −35 for a fresh
    /// baseline from 65 % of the old e1RM).
    #[schemars(range(min = -100.0, max = 0.0))]
    pub load_change_pct: f64,
    /// Working sets of the first week against full volume, percent (−30, −50).
    #[schemars(range(min = -100.0, max = 0.0))]
    pub sets_change_pct: f64,
}

/// The §A9 row for a gap, `None` under [`SHORT_GAP_DAYS`].
pub fn band(gap_days: i64) -> Option<LayoffBand> {
    match gap_days {
        g if g >= BASELINE_GAP_DAYS => Some(LayoffBand::Baseline),
        g if g >= LONG_GAP_DAYS => Some(LayoffBand::Long),
        g if g >= SHORT_GAP_DAYS => Some(LayoffBand::Short),
        _ => None,
    }
}

impl LayoffBand {
    /// Load factor of the first week against the last working loads (for a fresh baseline:
    /// against the old e1RM).
    pub fn first_week_load_factor(self) -> f64 {
        match self {
            LayoffBand::Short => 0.90,
            LayoffBand::Long => 0.80,
            LayoffBand::Baseline => BASELINE_E1RM_SHARE,
        }
    }

    /// Share of full weekly sets in week `week` (1-based) of the return.
    pub fn sets_factor(self, week: u32) -> f64 {
        let ramp: &[f64] = match self {
            LayoffBand::Short => &[0.70],
            LayoffBand::Long => &[0.50, 0.70, 0.85],
            LayoffBand::Baseline => &[0.50, 0.60, 0.70, 0.80, 0.90],
        };
        let index = usize::try_from(week.saturating_sub(1)).unwrap_or(usize::MAX);
        ramp.get(index).copied().unwrap_or(1.0)
    }

    /// Load factor in week `week` (1-based) of the return: the first week's, then up by at most
    /// [`RAMP_LOAD_STEP_PCT`] a week until full (the short row is back at full in week 2).
    pub fn load_factor(self, week: u32) -> f64 {
        let first = self.first_week_load_factor();
        if self == LayoffBand::Short {
            return if week <= 1 { first } else { 1.0 };
        }
        let steps = f64::from(week.saturating_sub(1));
        (first * (1.0 + RAMP_LOAD_STEP_PCT / 100.0).powf(steps)).min(1.0)
    }
}

/// The return to report for a gap between the last logged session and `day` (`None` under two
/// weeks or without a log).
pub fn return_from_layoff(last_logged: Option<IsoDate>, day: IsoDate) -> Option<ReturnFromLayoff> {
    let gap = day.days_after(last_logged?);
    let band = band(gap)?;
    Some(ReturnFromLayoff {
        gap_days: u32::try_from(gap).unwrap_or(MAX_GAP_DAYS).min(MAX_GAP_DAYS),
        band,
        load_change_pct: round_to((band.first_week_load_factor() - 1.0) * 100.0, 1),
        sets_change_pct: round_to((band.sets_factor(1) - 1.0) * 100.0, 1),
    })
}

/// The guardrail every kind that applies §A9 shares: the answer states exactly the return the
/// input gives (`None` names what is missing for one: `no_layoff`).
pub(crate) fn check_stated(
    stated: &Option<ReturnFromLayoff>,
    expected: &Option<ReturnFromLayoff>,
    no_layoff: &str,
) -> Option<Violation> {
    (stated != expected).then(|| {
        Violation::new(
            "/return_from_layoff",
            match expected {
                Some(l) => format!(
                    "{} days since the last session: §A9 `{}` applies ({} % load, {} % sets in the \
                     first week)",
                    l.gap_days, l.band, l.load_change_pct, l.sets_change_pct
                ),
                None => format!("no layoff: {no_layoff}"),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rows_of_a9() {
        assert_eq!(band(13), None);
        assert_eq!(band(14), Some(LayoffBand::Short));
        assert_eq!(band(27), Some(LayoffBand::Short));
        assert_eq!(band(28), Some(LayoffBand::Long));
        assert_eq!(band(55), Some(LayoffBand::Long));
        assert_eq!(band(56), Some(LayoffBand::Baseline));
        let long = LayoffBand::Long;
        let sets: Vec<f64> = (1..=5).map(|w| long.sets_factor(w)).collect();
        assert_eq!(sets, vec![0.5, 0.7, 0.85, 1.0, 1.0]);
        // Loads back by at most 5 % a week, never above full.
        let loads: Vec<f64> = (1..=8).map(|w| long.load_factor(w)).collect();
        assert!((loads[0] - 0.8).abs() < 1e-9);
        for pair in loads.windows(2) {
            assert!(pair[1] <= pair[0] * 1.05 + 1e-9 && pair[1] >= pair[0] && pair[1] <= 1.0);
        }
        assert_eq!(LayoffBand::Short.load_factor(2), 1.0);
        let day = IsoDate::new(2026, 3, 1).ok();
        let last = IsoDate::new(2026, 1, 20).ok();
        let r = day.and_then(|d| return_from_layoff(last, d));
        assert_eq!(
            r.map(|r| (r.gap_days, r.band, r.load_change_pct, r.sets_change_pct)),
            Some((40, LayoffBand::Long, -20.0, -50.0))
        );
        assert_eq!(day.map(|d| return_from_layoff(None, d)), Some(None));
    }
}
