//! The deterministic `next_set` answer from the [`model`] estimate \[C\]:
//!
//! - **Target**: the goal slider `g` interpolates reps from 8–12 (hypertrophy, g = 0) to 3–5
//!   (strength, g = 1) and RIR from 2 to 1 (§A4's hypertrophy and strength zones, rounded).
//! - **Load**: today's fresh e1RM (trend and readiness) less the fatigue of the sets done today,
//!   through the chart for the bottom of the range at the RIR (§A3), rounded to the plate
//!   increment; never more than +7.5 % over the last session's working load (§A5, `hard_cap`).
//! - **Cold start** (fewer than [`COLD_START_SETS`] usable sets): an AMRAP test at a conservative
//!   load (5 reps with 3 in reserve on the estimate, rounded down), `cold_start`; no kg without
//!   any logged load.
//! - **Calibration**: while the bias is uncertain (sd above [`CALIBRATION_SD`]) and no set today
//!   went to failure, set 2 onward is taken to technical failure at its load (`calibration`): a
//!   set to failure beside reported sets of the same day is what pins the bias down.
//! - **Layoff** (§A9, with `date`): 14–27 days −10 %, 28–55 days −20 %; 56 days or more a fresh
//!   baseline: an AMRAP test at 65 % of the old e1RM (none for a beginner, whose old log counts for
//!   nothing).
//! - **Confidence**: `exp(−sd / 5 %) × sessions / (sessions + 1)`, where sd is the model's
//!   uncertainty of today's e1RM (×0.5 on a cold start or a fresh baseline, ×0.8 after a shorter
//!   layoff).

use crate::date::IsoDate;
use crate::layoff::{LayoffBand, ReturnFromLayoff, return_from_layoff};
use crate::overload_analysis::engine::plate_increment_kg;
use crate::overload_analysis::{LoggedSet, MAX_E1RM_KG};
use crate::science::round_to;
use crate::science::{
    CHART_MAX_REPS, LOAD_EPSILON_KG, hard_cap_kg, round_down_to_increment, rts_pct_continuous,
};
use crate::workout_plan::RepRange;
use crate::{CoachError, athlete::Experience};

use super::model::{self, Estimate, Observation};
use super::{NextSetFlag, NextSetInput, NextSetOutput, RirBias};

/// Usable sets below which the answer is a cold-start AMRAP test.
pub const COLD_START_SETS: usize = 3;
/// Bias uncertainty (reps) above which a calibration set to failure is asked for.
pub const CALIBRATION_SD: f64 = 0.5;
/// The AMRAP test's load: for this many reps…
pub const TEST_REPS: u8 = 5;
/// …with this many in reserve.
pub const TEST_RIR: u8 = 3;
/// Largest fatigue an answer may apply, share of the fresh e1RM.
const MAX_FATIGUE: f64 = 0.3;

/// Reps and RIR of the goal slider.
pub fn target(goal_strength: f64) -> (RepRange, u8) {
    let g = goal_strength.clamp(0.0, 1.0);
    let min = (8.0 - 5.0 * g).round() as u8;
    let max = (12.0 - 7.0 * g).round() as u8;
    let rir = (2.0 - g).round() as u8;
    (RepRange { min, max }, rir)
}

/// Everything the engine decides (the guardrails compare a provider's answer with it).
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// Load, kg (none on a cold start without any logged load).
    pub load_kg: Option<f64>,
    /// Reps.
    pub rep_range: RepRange,
    /// RIR to leave.
    pub rir: u8,
    /// Taken to failure.
    pub amrap: bool,
    /// Expected e1RM of the set, kg.
    pub e1rm_kg: Option<f64>,
    /// Fatigue applied, share of the fresh e1RM.
    pub fatigue: f64,
    /// The model's estimate.
    pub estimate: Option<Estimate>,
    /// 0–1.
    pub confidence: f64,
    /// Flags, in a fixed order.
    pub flags: Vec<NextSetFlag>,
    /// §A9 applied.
    pub layoff: Option<ReturnFromLayoff>,
    /// The cap the load was held to, kg (the last session's working load + 7.5 %).
    pub cap_kg: Option<f64>,
}

/// The day number the input's sets are read at and the past sessions' observations.
fn observations(input: &NextSetInput) -> (Vec<Vec<Observation>>, Vec<Observation>, Option<i64>) {
    let mut history: Vec<(IsoDate, usize)> = input
        .history()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.date, i))
        .collect();
    history.sort();
    let mut sessions: Vec<Vec<Observation>> = Vec::new();
    let mut start = 0;
    while start < history.len() {
        let date = history[start].0;
        let end = history[start..]
            .iter()
            .position(|(d, _)| *d != date)
            .map_or(history.len(), |p| start + p);
        let sets: Vec<LoggedSet> = history[start..end]
            .iter()
            .map(|(_, i)| input.history()[*i].set())
            .collect();
        sessions.push(model::session_observations(date.days_since_epoch(), &sets));
        start = end;
    }
    let today = input.date.map(IsoDate::days_since_epoch);
    let today_day =
        today.unwrap_or_else(|| history.last().map_or(0, |(d, _)| d.days_since_epoch() + 1));
    let today_sets = model::session_observations(today_day, input.today());
    (sessions, today_sets, today)
}

/// The last past session's heaviest comparable working load, kg.
fn last_working_load(input: &NextSetInput) -> Option<f64> {
    let last = input.history().iter().map(|s| s.date).max()?;
    input
        .history()
        .iter()
        .filter(|s| s.date == last && s.set_type.is_comparable())
        .map(|s| s.weight_kg.get())
        .reduce(f64::max)
        .filter(|kg| *kg > 0.0)
}

/// The engine's decision.
pub fn decide(input: &NextSetInput) -> Decision {
    let (past, today_sets, today) = observations(input);
    let estimate = model::estimate(&past, &today_sets, today);
    let increment = plate_increment_kg(input.plate_increment_kg, input.athlete.units());
    let last_date = input.history().iter().map(|s| s.date).max();
    let layoff = input
        .date
        .and_then(|day| return_from_layoff(last_date, day));
    let sets_done = f64::from(input.set_number().saturating_sub(1));
    let (slider_range, slider_rir) = target(input.goal_strength.get());
    let sessions = estimate.as_ref().map_or(0, |e| e.sessions);
    let data_share = sessions as f64 / (sessions as f64 + 1.0);
    let confidence_of = |e: &Estimate| (-e.prediction_sd / 0.05).exp() * data_share;
    let cap_kg = last_working_load(input).map(hard_cap_kg);
    let usable = estimate.as_ref().map_or(0, |e| e.sets);
    let baseline = layoff
        .as_ref()
        .is_some_and(|l| l.band == LayoffBand::Baseline);

    let e = match estimate {
        Some(e) if usable >= COLD_START_SETS && !baseline => e,
        estimate => {
            // An AMRAP test: from the estimate (a fresh baseline: 65 % of the old e1RM), 5 reps with
            // 3 in reserve, rounded down; a beginner back after 8+ weeks starts without a figure.
            let fresh_e1rm = estimate.as_ref().and_then(|e| {
                if baseline {
                    (input.athlete.experience != Experience::Beginner)
                        .then(|| e.ln_last_session.exp() * crate::layoff::BASELINE_E1RM_SHARE)
                } else {
                    Some(e.ln_today.exp())
                }
            });
            let fatigue = estimate
                .as_ref()
                .map_or(0.0, |e| (e.fatigue * sets_done).min(MAX_FATIGUE));
            let e1rm = fresh_e1rm.map(|e| (e * (1.0 - fatigue)).min(MAX_E1RM_KG));
            let load = e1rm.map(|e| {
                let raw = e * rts_pct_continuous(f64::from(TEST_REPS + TEST_RIR)) / 100.0;
                let capped = cap_kg.map_or(raw, |cap| raw.min(cap));
                round_down_to_increment(capped, increment)
            });
            let mut flags = Vec::new();
            if usable < COLD_START_SETS {
                flags.push(NextSetFlag::ColdStart);
            }
            if layoff.is_some() {
                flags.push(NextSetFlag::ReturnFromLayoff);
            }
            return Decision {
                load_kg: load.filter(|kg| *kg > 0.0),
                rep_range: RepRange {
                    min: TEST_REPS,
                    max: CHART_MAX_REPS,
                },
                rir: 0,
                amrap: true,
                e1rm_kg: e1rm.map(|e| round_to(e, 1)),
                fatigue,
                confidence: estimate.as_ref().map_or(0.0, |e| confidence_of(e) * 0.5),
                estimate,
                flags,
                layoff,
                cap_kg,
            };
        }
    };
    let fatigue = (e.fatigue * sets_done).min(MAX_FATIGUE);
    let layoff_factor = layoff
        .as_ref()
        .map_or(1.0, |l| l.band.first_week_load_factor());
    let e1rm = (e.ln_today.exp() * (1.0 - fatigue) * layoff_factor).min(MAX_E1RM_KG);
    let raw = e1rm * rts_pct_continuous(f64::from(slider_range.min + slider_rir)) / 100.0;
    let mut flags = Vec::new();
    let anchored_today = today_sets.iter().any(|o| o.anchor);
    let calibration =
        e.bias_sd > CALIBRATION_SD && sets_done >= 1.0 && !anchored_today && layoff.is_none();
    if calibration {
        flags.push(NextSetFlag::Calibration);
    }
    let rounded = (raw / increment).round() * increment;
    let load = match cap_kg {
        Some(cap) if rounded > cap + LOAD_EPSILON_KG => {
            flags.push(NextSetFlag::HardCap);
            round_down_to_increment(cap, increment)
        }
        _ => rounded,
    };
    if layoff.is_some() {
        flags.push(NextSetFlag::ReturnFromLayoff);
    }
    let confidence = confidence_of(&e) * if layoff.is_some() { 0.8 } else { 1.0 };
    Decision {
        load_kg: Some(load).filter(|kg| *kg > 0.0),
        rep_range: if calibration {
            RepRange {
                min: slider_range.min,
                max: CHART_MAX_REPS.max(slider_range.max),
            }
        } else {
            slider_range
        },
        rir: if calibration { 0 } else { slider_rir },
        amrap: calibration,
        e1rm_kg: Some(round_to(e1rm, 1)),
        fatigue,
        estimate: Some(e),
        confidence,
        flags,
        layoff,
        cap_kg,
    }
}

/// The RIR the athlete should feel for `rir` given their bias, on the half steps (0–10).
pub fn rir_as_felt(rir: u8, bias: f64) -> f64 {
    ((f64::from(rir) + bias) * 2.0).round().clamp(0.0, 20.0) / 2.0
}

/// The deterministic answer.
pub fn run(input: &NextSetInput) -> Result<NextSetOutput, CoachError> {
    let d = decide(input);
    let bias = d.estimate.as_ref().map_or(model::PRIOR_BIAS, |e| e.bias);
    let rir_bias = RirBias {
        estimate: round_to(bias, 2),
        sd: round_to(
            d.estimate
                .as_ref()
                .map_or(model::PRIOR_BIAS_SD, |e| e.bias_sd),
            2,
        ),
        prior_weight: round_to(d.estimate.as_ref().map_or(1.0, |e| e.prior_weight), 2),
        sets: d.estimate.as_ref().map_or(0, |e| saturating_u16(e.sets)),
        anchors: d.estimate.as_ref().map_or(0, |e| saturating_u16(e.anchors)),
    };
    let note = note(input, &d, &rir_bias);
    Ok(NextSetOutput {
        exercise_id: input.exercise_id.as_str().to_owned(),
        set_number: input.set_number(),
        load_kg: d.load_kg,
        rep_range: d.rep_range,
        rir: d.rir,
        rir_as_felt: if d.amrap {
            0.0
        } else {
            rir_as_felt(d.rir, bias)
        },
        amrap: d.amrap,
        e1rm_kg: d.e1rm_kg,
        fatigue_pct: round_to(d.fatigue * 100.0, 1),
        rir_bias,
        confidence: round_to(d.confidence, 2),
        flags: d.flags,
        return_from_layoff: d.layoff,
        note,
    })
}

fn note(input: &NextSetInput, d: &Decision, bias: &RirBias) -> String {
    let name = input.exercise_id.name();
    let load = d.load_kg.map_or_else(
        || "a load you could lift about 8 times".to_owned(),
        |kg| format!("{kg} kg"),
    );
    let mut note = if d.flags.contains(&NextSetFlag::ColdStart) {
        format!(
            "Too little logged {name} to place this set: an AMRAP test at {load}: as many clean \
             reps as possible (at least {}), stopping when the next rep would fail. It tells the \
             next sets where to start.",
            d.rep_range.min
        )
    } else if d.amrap && d.layoff.is_some() {
        format!(
            "Back after {} days: a fresh baseline. An AMRAP test at {load}, as many clean reps as \
             possible, stopping when the next rep would fail.",
            d.layoff.as_ref().map_or(0, |l| l.gap_days)
        )
    } else if d.amrap {
        format!(
            "Set {} of {name}: {load}, as many clean reps as possible (at least {}), stopping \
             when the next rep would fail. Your RIR reports are still uncertain (±{:.1} reps); \
             one set to failure pins them down.",
            input.set_number(),
            d.rep_range.min,
            bias.sd
        )
    } else {
        format!(
            "Set {} of {name}: {load} for {}–{} reps, leaving {} in reserve (it should feel like \
             {} in reserve to you: your reports run {:+.1} reps, ±{:.1}).",
            input.set_number(),
            d.rep_range.min,
            d.rep_range.max,
            d.rir,
            rir_as_felt(d.rir, bias.estimate),
            bias.estimate,
            bias.sd
        )
    };
    if d.fatigue > 0.0 {
        note.push_str(&format!(
            " Today's {} set{} lower it by {:.1} %.",
            input.set_number() - 1,
            if input.set_number() == 2 { "" } else { "s" },
            d.fatigue * 100.0
        ));
    }
    if d.flags.contains(&NextSetFlag::HardCap) {
        note.push_str(" Held to +7.5 % over the last session's working load.");
    }
    if let Some(l) = &d.layoff
        && l.band != LayoffBand::Baseline
    {
        note.push_str(&format!(
            " {} days since the last session: loads {:.0} % for now.",
            l.gap_days, l.load_change_pct
        ));
    }
    note
}

fn saturating_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}
