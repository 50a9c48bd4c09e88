//! Strength-training science (`science.md` §A1–§A3, §A5): 1RM formulas, the NSCA %1RM table, the
//! RTS RPE/RIR chart, plate rounding and the progression guardrails. Pure functions and constants.
//!
//! Tags as in science.md: \[V\] verified in the source, \[M\] standard figure not re-checked,
//! \[C\] computed or our own choice derived from the sources.

use crate::bounded::bounded_number;

bounded_number!(
    /// Reps in reserve of a set (0 = failure), whole reps, on the RIR-based RPE scale (Zourdos et al.
    /// 2016, §A3: RIR = 10 − RPE, so 0–10). One definition for every kind that logs or plans effort.
    Rir(u8), min = 0, max = 10, unit = " RIR"
);

/// Most reps to failure (reps + RIR) a set may have and still feed an e1RM. Reynolds et al. 2006:
/// "no more than 10 repetitions should be used in linear equations", validity falls with reps
/// (Whisenant 2003) and the formulas diverge ±12% at 15 reps (§A1 \[C\]); the RTS chart (§A3) stops at
/// 12 reps. Issue #4 sets the cut at 12.
pub const MAX_E1RM_REPS_TO_FAILURE: f64 = 12.0;

/// Hard cap on a next-session load increase over the last comparable working load, percent.
/// ACSM 2009 says +2–10% per step and the NSCA +2.5–10% (2–5% for advanced lifters) (§A5 \[V\]/\[V2\]);
/// 7.5% is the middle of those ranges (\[C\], issue #4).
pub const HARD_CAP_PCT: f64 = 7.5;

/// Load reset after [`FAILED_SESSIONS_FOR_RESET`] failed sessions in a row, percent: Starting
/// Strength's −10% reset, StrongLifts' ×0.9 and Progressor's −10% mini-deload (§A5 \[V\]).
pub const RESET_PCT: f64 = 10.0;

/// Failed sessions in a row that trigger the [`RESET_PCT`] reset: a Starting Strength "stall" is three
/// straight failed workouts (§A5 \[V\]); Progressor deloads after 3 stuck sessions (§A5 \[V\]).
pub const FAILED_SESSIONS_FOR_RESET: usize = 3;

/// Largest single-step drop of a prescribed load, percent: the −10% reset (§A5) is the deepest cut
/// the sources prescribe. A prescription further below the last working load (e.g. the nSuns bug of
/// §C, an OHP deloaded to the empty bar instead of 130 lb) is refused (\[C\]).
pub const MAX_DROP_PCT: f64 = RESET_PCT;

/// Largest change of prescribed reps against the last session's target reps. Double progression adds
/// reps one at a time (§A5 \[V\]); MyFit #28 prescribed 109 reps after 9 (§C \[V\]). \[C\]
pub const MAX_REP_STEP: u8 = 2;

/// Step of the RTS chart's RPE and of its RIR, in reps (§A3 \[V\]).
pub const CHART_STEP: f64 = 0.5;
/// Fewest reps per set the chart covers (§A3 \[V\]).
pub const CHART_MIN_REPS: u8 = 1;
/// Most reps per set the chart covers (§A3 \[V\]).
pub const CHART_MAX_REPS: u8 = 12;
/// Lowest RPE the chart covers (§A3 \[V\]); RIR = 10 − RPE.
pub const CHART_MIN_RPE: f64 = 6.5;
/// Highest RPE the chart covers (§A3 \[V\]).
pub const CHART_MAX_RPE: f64 = 10.0;
/// Most reps in reserve the chart covers (10 − [`CHART_MIN_RPE`]).
pub const CHART_MAX_RIR: f64 = 10.0 - CHART_MIN_RPE;

/// The RTS RPE chart (Tuchscherer, §A3 \[V\]) as ONE array: %1RM by total reps to failure
/// (reps + RIR), from 1 to 15.5 in steps of 0.5. Entry `i` is reps-to-failure `1 + i/2`.
///
/// Every cell of the published 8 × 12 chart (RPE 6.5–10 × reps 1–12; 96 cells) is
/// `RTS_PCT_BY_REPS_TO_FAILURE[2·(reps − 1) + 2·RIR]` with RIR = 10 − RPE (science.md: "each cell
/// equals the RPE-10 value at (reps + RIR) … a half-point RPE is the midpoint of its two
/// neighbours"; 0 mismatches over the 96 cells \[C\]). Whole steps are the RPE-10 row (1..12) and the
/// base row's 13–15 (65.3, 62.6, 59.9); half steps are the published midpoints.
pub const RTS_PCT_BY_REPS_TO_FAILURE: [f64; 30] = [
    100.0, 97.8, // 1, 1.5
    95.5, 93.9, // 2, 2.5
    92.2, 90.7, // 3, 3.5
    89.2, 87.8, // 4, 4.5
    86.3, 85.0, // 5, 5.5
    83.7, 82.4, // 6, 6.5
    81.1, 79.9, // 7, 7.5
    78.6, 77.4, // 8, 8.5
    76.2, 75.1, // 9, 9.5
    73.9, 72.3, // 10, 10.5
    70.7, 69.4, // 11, 11.5
    68.0, 66.7, // 12, 12.5
    65.3, 64.0, // 13, 13.5
    62.6, 61.3, // 14, 14.5
    59.9, 58.6, // 15, 15.5
];

/// Smallest reps-to-failure the chart array covers.
const CHART_FIRST_REPS_TO_FAILURE: f64 = 1.0;

/// %1RM of a set done to `reps_to_failure` total reps (reps + RIR), from
/// [`RTS_PCT_BY_REPS_TO_FAILURE`]. `None` off the chart (below 1, above 15.5, or not a half step).
pub fn rts_pct_at_reps_to_failure(reps_to_failure: f64) -> Option<f64> {
    let steps = (reps_to_failure - CHART_FIRST_REPS_TO_FAILURE) / CHART_STEP;
    if !steps.is_finite() || steps < 0.0 || (steps - steps.round()).abs() > 1e-9 {
        return None;
    }
    // `steps` is a non-negative whole number here; values past the end give None below.
    let index = steps.round() as usize;
    RTS_PCT_BY_REPS_TO_FAILURE.get(index).copied()
}

/// %1RM for `reps` at `rir` reps in reserve (RTS chart, §A3). `None` off the chart.
pub fn rts_pct(reps: u8, rir: f64) -> Option<f64> {
    if reps < 1 || !(0.0..=CHART_MAX_RIR + 1e-9).contains(&rir) {
        return None;
    }
    rts_pct_at_reps_to_failure(f64::from(reps) + rir)
}

/// %1RM for `reps` at `rpe` (RTS chart, §A3): the chart's cell, RIR = 10 − RPE. `None` off the chart
/// (reps outside 1–12 or RPE outside 6.5–10 or not a half step).
pub fn rts_pct_at_rpe(reps: u8, rpe: f64) -> Option<f64> {
    if !(CHART_MIN_REPS..=CHART_MAX_REPS).contains(&reps)
        || !(CHART_MIN_RPE - 1e-9..=CHART_MAX_RPE + 1e-9).contains(&rpe)
    {
        return None;
    }
    rts_pct(reps, rir_from_rpe(rpe))
}

/// Reps in reserve for an RPE on the RIR-based scale (Zourdos et al. 2016, §A3 \[V\]): RIR = 10 − RPE.
pub fn rir_from_rpe(rpe: f64) -> f64 {
    10.0 - rpe
}

/// Estimated 1RM from one set (§A3 "RPE autoregulation", §A5 \[V\]): load ÷ chart%(reps + RIR).
///
/// Rules (issue #4, §A1): reps + RIR is the reps to failure; a single at RIR 0 is the load itself
/// (chart 100%); a set above [`MAX_E1RM_REPS_TO_FAILURE`] reps to failure, a set of 0 reps or of no
/// load gives `None` (ignored for e1RM). RIR is rounded to the chart's half step.
pub fn e1rm_from_set(weight_kg: f64, reps: u8, rir: f64) -> Option<f64> {
    if reps == 0 || weight_kg <= 0.0 || !weight_kg.is_finite() || rir < 0.0 {
        return None;
    }
    let rir = (rir / CHART_STEP).round() * CHART_STEP;
    let total = f64::from(reps) + rir;
    if total > MAX_E1RM_REPS_TO_FAILURE {
        return None;
    }
    let pct = rts_pct_at_reps_to_failure(total)?;
    Some(weight_kg * 100.0 / pct)
}

/// %1RM at any reps to failure (not only the chart's half steps): the chart's cells joined by
/// straight lines, continued past 15.5 with the last cells' slope (never below 1 %). For models
/// that move RIR continuously (an estimated reporting bias); a half step gives the chart's cell.
pub fn rts_pct_continuous(reps_to_failure: f64) -> f64 {
    let chart = &RTS_PCT_BY_REPS_TO_FAILURE;
    let position = ((reps_to_failure - CHART_FIRST_REPS_TO_FAILURE) / CHART_STEP).max(0.0);
    let last = chart.len() - 1;
    // Whole steps below the last cell; the fraction past it (may exceed 1 past the chart's end).
    let index = (position.floor() as usize).min(last - 1);
    let fraction = position - index as f64;
    let pct = chart[index] + (chart[index + 1] - chart[index]) * fraction;
    pct.max(1.0)
}

/// Load for `reps` at `rir` given an e1RM (§A5 "next load = e1RM × chart%(target)" \[V\]), unrounded.
/// `None` off the chart.
pub fn load_for(e1rm_kg: f64, reps: u8, rir: f64) -> Option<f64> {
    rts_pct(reps, rir).map(|pct| e1rm_kg * pct / 100.0)
}

/// The seven 1RM prediction equations of §A1 (w = load, r = reps to failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OneRmFormula {
    /// Epley 1985: w · (1 + r/30) \[V\].
    Epley,
    /// Brzycki 1993: w · 36 / (37 − r) \[V\].
    Brzycki,
    /// Lombardi 1989: w · r^0.10 \[V\].
    Lombardi,
    /// Mayhew et al. 1992: 100·w / (52.2 + 41.9·e^(−0.055·r)) \[V\].
    Mayhew,
    /// O'Conner et al. 1989: w · (1 + r/40) \[V\].
    OConner,
    /// Wathan 1994: 100·w / (48.8 + 53.8·e^(−0.075·r)) \[V\].
    Wathan,
    /// Lander 1985: 100·w / (101.3 − 2.67123·r) \[V\].
    Lander,
}

impl OneRmFormula {
    /// Every formula, in §A1's order.
    pub const ALL: [OneRmFormula; 7] = [
        OneRmFormula::Epley,
        OneRmFormula::Brzycki,
        OneRmFormula::Lombardi,
        OneRmFormula::Mayhew,
        OneRmFormula::OConner,
        OneRmFormula::Wathan,
        OneRmFormula::Lander,
    ];

    /// The raw formula value (no single special case). `None` for `reps` outside
    /// 1..=[`FORMULA_MAX_REPS`] (Brzycki and Lander blow up towards 37 reps, §A1 \[C\]) or a load ≤ 0.
    pub fn raw(self, weight_kg: f64, reps: u8) -> Option<f64> {
        if !(1..=FORMULA_MAX_REPS).contains(&reps) || weight_kg <= 0.0 || !weight_kg.is_finite() {
            return None;
        }
        let (w, r) = (weight_kg, f64::from(reps));
        Some(match self {
            OneRmFormula::Epley => w * (1.0 + r / 30.0),
            OneRmFormula::Brzycki => w * 36.0 / (37.0 - r),
            OneRmFormula::Lombardi => w * r.powf(0.10),
            OneRmFormula::Mayhew => 100.0 * w / (52.2 + 41.9 * (-0.055 * r).exp()),
            OneRmFormula::OConner => w * (1.0 + r / 40.0),
            OneRmFormula::Wathan => 100.0 * w / (48.8 + 53.8 * (-0.075 * r).exp()),
            OneRmFormula::Lander => 100.0 * w / (101.3 - 2.67123 * r),
        })
    }

    /// The e1RM the engine would use: the formula, except a single is the load itself (§A1: "the
    /// engine should return 1RM = w for singles").
    pub fn one_rm(self, weight_kg: f64, reps: u8) -> Option<f64> {
        if reps == 1 {
            return (weight_kg > 0.0 && weight_kg.is_finite()).then_some(weight_kg);
        }
        self.raw(weight_kg, reps)
    }
}

/// Most reps any formula accepts (the §A1 table stops at 20; Brzycki is singular at 37) \[C\].
pub const FORMULA_MAX_REPS: u8 = 20;

/// Epley e1RM (§A1), singles = the load.
pub fn epley(weight_kg: f64, reps: u8) -> Option<f64> {
    OneRmFormula::Epley.one_rm(weight_kg, reps)
}

/// Brzycki e1RM (§A1), singles = the load.
pub fn brzycki(weight_kg: f64, reps: u8) -> Option<f64> {
    OneRmFormula::Brzycki.one_rm(weight_kg, reps)
}

/// The NSCA %1RM ↔ reps table (Baechle & Earle, §A2): `(reps, %1RM)`. Reps 1–10 \[V\]; 11, 12 and 15
/// the textbook table \[M\] (the one-page handout prints 12RM = 70 \[V\]). 13–14 are not tabulated by the
/// NSCA; [`nsca_pct_1rm`] interpolates them \[C\].
pub const NSCA_PCT_1RM: [(u8, f64); 13] = [
    (1, 100.0),
    (2, 95.0),
    (3, 93.0),
    (4, 90.0),
    (5, 87.0),
    (6, 85.0),
    (7, 83.0),
    (8, 80.0),
    (9, 77.0),
    (10, 75.0),
    (11, 70.0),
    (12, 67.0),
    (15, 65.0),
];

/// %1RM for a repetition maximum from [`NSCA_PCT_1RM`], linear between tabulated rows (13 → 66.3,
/// 14 → 65.7 as in §A2 \[C\]). `None` outside 1–15.
pub fn nsca_pct_1rm(reps: u8) -> Option<f64> {
    if let Some(&(_, pct)) = NSCA_PCT_1RM.iter().find(|(r, _)| *r == reps) {
        return Some(pct);
    }
    let below = NSCA_PCT_1RM.iter().rev().find(|(r, _)| *r < reps)?;
    let above = NSCA_PCT_1RM.iter().find(|(r, _)| *r > reps)?;
    let t = f64::from(reps - below.0) / f64::from(above.0 - below.0);
    Some(below.1 + t * (above.1 - below.1))
}

/// The repetition maximum the NSCA table gives for a load of `pct` %1RM: the most reps whose row is
/// at or above `pct` (1 at ≥ 100%). `None` below the table's 65%.
pub fn nsca_reps_at_pct(pct: f64) -> Option<u8> {
    let lowest = NSCA_PCT_1RM.last().map_or(100.0, |(_, p)| *p);
    if pct < lowest - 1e-9 {
        return None;
    }
    NSCA_PCT_1RM
        .iter()
        .rev()
        .find(|(_, p)| *p >= pct - 1e-9)
        .map(|(r, _)| *r)
}

/// Tolerance for "is on the increment" checks (kg).
pub const LOAD_EPSILON_KG: f64 = 1e-6;

/// `value` rounded to `decimals` decimal places (how outputs state their figures: 0.1 kg, 0.01).
pub fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// `load_kg` rounded to the nearest multiple of `increment_kg` (ties up), never above `cap_kg` when
/// given: if rounding would pass the cap, the largest multiple at or below the cap. A non-positive
/// increment leaves the load unrounded.
pub fn round_to_increment(load_kg: f64, increment_kg: f64, cap_kg: Option<f64>) -> f64 {
    if increment_kg <= 0.0 || !increment_kg.is_finite() {
        return cap_kg.map_or(load_kg, |cap| load_kg.min(cap));
    }
    let nearest = (load_kg / increment_kg).round() * increment_kg;
    match cap_kg {
        Some(cap) if nearest > cap + LOAD_EPSILON_KG => round_down_to_increment(cap, increment_kg),
        _ => nearest,
    }
}

/// The largest multiple of `increment_kg` at or below `load_kg`.
pub fn round_down_to_increment(load_kg: f64, increment_kg: f64) -> f64 {
    if increment_kg <= 0.0 || !increment_kg.is_finite() {
        return load_kg;
    }
    ((load_kg + LOAD_EPSILON_KG) / increment_kg).floor() * increment_kg
}

/// The smallest multiple of `increment_kg` at or above `load_kg`.
pub fn round_up_to_increment(load_kg: f64, increment_kg: f64) -> f64 {
    if increment_kg <= 0.0 || !increment_kg.is_finite() {
        return load_kg;
    }
    ((load_kg - LOAD_EPSILON_KG) / increment_kg).ceil() * increment_kg
}

/// True when `load_kg` is a whole multiple of `increment_kg` (within [`LOAD_EPSILON_KG`]).
pub fn is_on_increment(load_kg: f64, increment_kg: f64) -> bool {
    if increment_kg <= 0.0 {
        return true;
    }
    let steps = load_kg / increment_kg;
    ((steps - steps.round()) * increment_kg).abs() <= 1e-4
}

/// The hard-capped ceiling for the next load: last comparable working load × (1 + [`HARD_CAP_PCT`]).
pub fn hard_cap_kg(last_working_kg: f64) -> f64 {
    last_working_kg * (1.0 + HARD_CAP_PCT / 100.0)
}

/// The reset load after [`FAILED_SESSIONS_FOR_RESET`] failures: last working load × (1 − [`RESET_PCT`]),
/// rounded to the nearest increment but never back up to the failed load.
pub fn reset_load_kg(last_working_kg: f64, increment_kg: f64) -> f64 {
    let target = last_working_kg * (1.0 - RESET_PCT / 100.0);
    let rounded = round_to_increment(target, increment_kg, None);
    if rounded >= last_working_kg - LOAD_EPSILON_KG {
        round_down_to_increment(target, increment_kg)
    } else {
        rounded
    }
}

/// The lowest next load a sane prescription may give: last working load × (1 − [`MAX_DROP_PCT`]),
/// less one increment of rounding slack. Below it, the engine would be deloading towards the empty bar
/// (§C nSuns #46).
pub fn floor_load_kg(last_working_kg: f64, increment_kg: f64) -> f64 {
    (last_working_kg * (1.0 - MAX_DROP_PCT / 100.0) - increment_kg.max(0.0)).max(0.0)
}

/// True when a run of session outcomes (oldest first, `true` = failed) ends with
/// [`FAILED_SESSIONS_FOR_RESET`] failures in a row.
pub fn reset_due(failed_sessions: &[bool]) -> bool {
    failed_sessions.len() >= FAILED_SESSIONS_FOR_RESET
        && failed_sessions
            .iter()
            .rev()
            .take(FAILED_SESSIONS_FOR_RESET)
            .all(|&failed| failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_lookup_rejects_off_chart_points() {
        assert_eq!(rts_pct_at_reps_to_failure(0.5), None);
        assert_eq!(rts_pct_at_reps_to_failure(16.0), None);
        assert_eq!(rts_pct_at_reps_to_failure(2.25), None);
        assert_eq!(rts_pct_at_rpe(13, 10.0), None);
        assert_eq!(rts_pct_at_rpe(5, 6.0), None);
        assert_eq!(rts_pct(5, 4.0), None);
    }

    #[test]
    fn rounding_respects_the_cap() {
        assert_eq!(round_to_increment(91.3, 2.5, None), 92.5);
        assert_eq!(round_to_increment(99.0, 2.5, Some(99.4)), 97.5);
        assert_eq!(round_down_to_increment(85.0, 2.5), 85.0);
        assert_eq!(round_up_to_increment(85.1, 2.5), 87.5);
        assert!(is_on_increment(92.5, 2.5) && !is_on_increment(91.0, 2.5));
        assert_eq!(reset_load_kg(92.5, 2.5), 82.5);
        assert!(reset_due(&[false, true, true, true]) && !reset_due(&[true, true, false]));
    }
}
