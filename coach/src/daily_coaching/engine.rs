//! The readiness score, the train/modify/rest thresholds, the caps and the deterministic engine.
//!
//! Tags as in science.md: \[V\] verified in the source, \[M\] widely reproduced but not checked,
//! \[C\] our own choice. science.md has no figures for sleep, HRV or resting heart rate, so those
//! ramps are \[C\]: simple, monotone, documented, and easy to revisit.
//!
//! # Score
//! Each component is a readiness fraction in 0..=1 (1 = fully ready); the score is their weighted
//! mean × 100, rounded. Components the input cannot give (no HRV, no resting HR, no sessions) are
//! left out and the remaining weights renormalised.
//!
//! | component | ramp (0 → 1) | weight |
//! |---|---|---|
//! | sleep_duration | [`SLEEP_HOURS_FLOOR`] h → [`SLEEP_HOURS_TARGET`] h | 15 |
//! | sleep_quality | rating 1 → 5 | 10 |
//! | soreness | rating 5 → 1 | 15 |
//! | stress | rating 5 → 1 | 10 |
//! | motivation | rating 1 → 5 | 10 |
//! | hrv | HRV ÷ baseline [`HRV_RATIO_FLOOR`] → 1.0 | 15 |
//! | resting_hr | RHR − baseline +[`RHR_DELTA_CEILING_BPM`] bpm → 0 bpm | 10 |
//! | training_load | see [`load_fraction`] | 15 |

use crate::science::round_to;
use std::fmt::Write as _;

use super::{
    AdjustedExercise, AdjustedSession, Component, ComponentName, DailyCoachingInput,
    DailyCoachingOutput, Decision, LoadSummary, PlannedExercise, Rating, Rir,
};
use crate::CoachError;
use crate::layoff::{ReturnFromLayoff, return_from_layoff};

/// Score at or above which the athlete trains as planned. \[C\]
pub const TRAIN_MIN_SCORE: u8 = 65;
/// Score at or above which (and below [`TRAIN_MIN_SCORE`]) the session is modified; below it, rest. \[C\]
pub const MODIFY_MIN_SCORE: u8 = 40;
/// Within the modify band, a score at or above this gets the light modification
/// ([`LIGHT_SET_CUT`], [`LIGHT_RIR_RAISE`]); below it the heavy one. \[C\] (the band's midpoint, rounded up)
pub const LIGHT_MODIFY_MIN_SCORE: u8 = 53;
/// Sets removed per exercise by the light modification (never below 1 set). \[C\]
pub const LIGHT_SET_CUT: u8 = 1;
/// RIR added by the light modification. \[C\]
pub const LIGHT_RIR_RAISE: u8 = 1;
/// Sets removed per exercise by the heavy modification, the most any modification removes. \[C\]
pub const MAX_SET_CUT: u8 = 2;
/// RIR added by the heavy modification, the most any modification adds. \[C\]
pub const MAX_RIR_RAISE: u8 = 2;
/// Largest load cut of a modified session, percent. Two extra RIR cost at most about 7 % of 1RM in
/// the A3 chart; 20 % leaves room for a provider's rounding without allowing a rest-day cut. \[C\]
pub const MAX_MODIFY_LOAD_CUT_PCT: f64 = 20.0;
/// Load cut per added RIR where the A3 chart does not reach (more than 16 reps to failure): the
/// chart's slope is 2.3–3.3 points of 1RM per rep between 4 and 16 reps to failure (§A3). \[C\]
pub const FALLBACK_LOAD_CUT_PER_RIR_PCT: f64 = 3.0;
/// How far a provider's readiness score may be from the engine's. \[C\]
pub const SCORE_TOLERANCE: u8 = 5;

/// Sleep at or below this many hours scores 0. \[C\]
pub const SLEEP_HOURS_FLOOR: f64 = 4.0;
/// Sleep at or above this many hours scores 1 (the adult 7–9 h recommendation's middle). \[C\]
pub const SLEEP_HOURS_TARGET: f64 = 8.0;
/// HRV at or below this fraction of baseline scores 0; at or above baseline scores 1. \[C\]
pub const HRV_RATIO_FLOOR: f64 = 0.80;
/// Resting HR this many bpm (or more) above baseline scores 0; at or below baseline scores 1. \[C\]
pub const RHR_DELTA_CEILING_BPM: f64 = 10.0;

/// Acute window: the 7 days ending today (§A7: "usually 7 days") \[V\].
pub const ACUTE_DAYS: i64 = 7;
/// Chronic window: the 28 days ending today (§A7: "usually 28 days") \[V\]. The chronic load is taken
/// from the 21 days BEFORE the acute week (uncoupled, as §A7 and the decision summary advise,
/// because the coupled ratio correlates spuriously) and expressed per week.
pub const CHRONIC_DAYS: i64 = 28;
/// ACWR at or below this scores 1: the top of Gabbett's 0.8–1.3 "sweet spot" (§A7 \[M\]), used as a
/// heuristic, not a safety limit.
pub const ACWR_SWEET_SPOT_HIGH: f64 = 1.3;
/// ACWR at or above this scores 0: Gabbett's ≥1.5 "danger zone" (§A7 \[M\]), a heuristic.
pub const ACWR_DANGER: f64 = 1.5;
/// Without chronic history, the acute week's mean session RPE scores 1 at or below this... \[C\]
pub const EASY_MEAN_SESSION_RPE: f64 = 6.0;
/// ...and 0 at or above this (CR-10 "very hard"). \[C\]
pub const HARD_MEAN_SESSION_RPE: f64 = 9.0;

// The thresholds and caps are ordered, and a provider's score tolerance cannot jump a whole
// modify sub-band (checked at compile time).
const _: () = assert!(
    MODIFY_MIN_SCORE < LIGHT_MODIFY_MIN_SCORE
        && LIGHT_MODIFY_MIN_SCORE < TRAIN_MIN_SCORE
        && TRAIN_MIN_SCORE <= 100
        && LIGHT_SET_CUT <= MAX_SET_CUT
        && LIGHT_RIR_RAISE <= MAX_RIR_RAISE
        && SCORE_TOLERANCE < LIGHT_MODIFY_MIN_SCORE - MODIFY_MIN_SCORE
);

/// Component weights (sum 100). \[C\]
pub const WEIGHTS: [(ComponentName, f64); 8] = [
    (ComponentName::SleepDuration, 15.0),
    (ComponentName::SleepQuality, 10.0),
    (ComponentName::Soreness, 15.0),
    (ComponentName::Stress, 10.0),
    (ComponentName::Motivation, 10.0),
    (ComponentName::Hrv, 15.0),
    (ComponentName::RestingHr, 10.0),
    (ComponentName::TrainingLoad, 15.0),
];

/// The RTS chart's RPE-10 row: % of 1RM for 1..=16 total reps to failure (reps + RIR), §A3 \[V\]/\[C\].
pub const PCT_1RM_BY_REPS_TO_FAILURE: [f64; 16] = [
    100.0, 95.5, 92.2, 89.2, 86.3, 83.7, 81.1, 78.6, 76.2, 73.9, 70.7, 68.0, 65.3, 62.6, 59.9, 57.2,
];

/// Linear ramp: 0 at `zero`, 1 at `one` (either direction), clamped.
fn ramp(value: f64, zero: f64, one: f64) -> f64 {
    ((value - zero) / (one - zero)).clamp(0.0, 1.0)
}

/// A 1–5 rating as a fraction; `higher_is_ready` false for soreness and stress.
fn rating(r: Rating, higher_is_ready: bool) -> f64 {
    let f = ramp(f64::from(r.get()), 1.0, 5.0);
    if higher_is_ready { f } else { 1.0 - f }
}

/// Session-RPE load of the recent sessions (Foster: RPE × minutes, §A7 \[V\]).
pub fn load_summary(input: &DailyCoachingInput) -> (LoadSummary, Option<f64>) {
    let mut acute = 0.0;
    let mut acute_rpe = Vec::new();
    let mut chronic = 0.0;
    let mut chronic_sessions = 0;
    for s in input.recent_sessions.as_slice() {
        let days_ago = input.date.days_after(s.date);
        let load = s.session_rpe.get() * f64::from(s.duration_min.get());
        if (0..ACUTE_DAYS).contains(&days_ago) {
            acute += load;
            acute_rpe.push(s.session_rpe.get());
        } else if (ACUTE_DAYS..CHRONIC_DAYS).contains(&days_ago) {
            chronic += load;
            chronic_sessions += 1;
        }
    }
    let chronic_weeks = (CHRONIC_DAYS - ACUTE_DAYS) as f64 / 7.0;
    let chronic_weekly = (chronic_sessions > 0).then_some(chronic / chronic_weeks);
    let acwr = chronic_weekly
        .filter(|c| *c > 0.0)
        .map(|c| round_to(acute / c, 2));
    let mean_rpe =
        (!acute_rpe.is_empty()).then(|| acute_rpe.iter().sum::<f64>() / acute_rpe.len() as f64);
    (
        LoadSummary {
            acute_load_au: round_to(acute, 1),
            chronic_weekly_load_au: chronic_weekly.map(|c| round_to(c, 1)),
            acwr,
        },
        mean_rpe,
    )
}

/// The training-load fraction: from the (uncoupled) ACWR when there is chronic history (1 at ≤
/// [`ACWR_SWEET_SPOT_HIGH`], 0 at ≥ [`ACWR_DANGER`]); otherwise from the acute week's mean session
/// RPE (1 at ≤ [`EASY_MEAN_SESSION_RPE`], 0 at ≥ [`HARD_MEAN_SESSION_RPE`]); `None` without sessions
/// in the 28-day window.
pub fn load_fraction(load: &LoadSummary, mean_acute_rpe: Option<f64>) -> Option<f64> {
    match (load.acwr, load.chronic_weekly_load_au) {
        (Some(acwr), _) => Some(1.0 - ramp(acwr, ACWR_SWEET_SPOT_HIGH, ACWR_DANGER)),
        // History but a chronic load of 0 (all sessions rated 0): nothing points to fatigue.
        (None, Some(_)) => Some(1.0),
        (None, None) => {
            mean_acute_rpe.map(|rpe| 1.0 - ramp(rpe, EASY_MEAN_SESSION_RPE, HARD_MEAN_SESSION_RPE))
        }
    }
}

/// The readiness fractions the input allows, in [`WEIGHTS`] order.
pub fn fractions(input: &DailyCoachingInput) -> Vec<(ComponentName, f64)> {
    let r = &input.readiness;
    let mut out = vec![
        (
            ComponentName::SleepDuration,
            ramp(r.sleep_hours.get(), SLEEP_HOURS_FLOOR, SLEEP_HOURS_TARGET),
        ),
        (ComponentName::SleepQuality, rating(r.sleep_quality, true)),
        (ComponentName::Soreness, rating(r.soreness, false)),
        (ComponentName::Stress, rating(r.stress, false)),
        (ComponentName::Motivation, rating(r.motivation, true)),
    ];
    if let (Some(hrv), Some(base)) = (r.hrv_ms, r.hrv_baseline_ms) {
        out.push((
            ComponentName::Hrv,
            ramp(hrv.get() / base.get(), HRV_RATIO_FLOOR, 1.0),
        ));
    }
    if let (Some(rhr), Some(base)) = (r.resting_hr, r.resting_hr_baseline) {
        let delta = f64::from(rhr.get()) - f64::from(base.get());
        out.push((
            ComponentName::RestingHr,
            1.0 - ramp(delta, 0.0, RHR_DELTA_CEILING_BPM),
        ));
    }
    let (load, mean_rpe) = load_summary(input);
    if let Some(f) = load_fraction(&load, mean_rpe) {
        out.push((ComponentName::TrainingLoad, f));
    }
    out
}

fn weight_of(name: ComponentName) -> f64 {
    WEIGHTS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0.0, |(_, w)| *w)
}

/// The readiness score 0..=100 and its components (weights renormalised over those present).
pub fn readiness(input: &DailyCoachingInput) -> (u8, Vec<Component>) {
    let parts = fractions(input);
    let total: f64 = parts.iter().map(|(n, _)| weight_of(*n)).sum();
    let weighted: f64 = parts.iter().map(|(n, f)| weight_of(*n) * f).sum();
    let score = if total > 0.0 {
        percent(weighted / total)
    } else {
        0
    };
    let components = parts
        .iter()
        .map(|(name, f)| Component {
            name: *name,
            score: percent(*f),
            weight_pct: if total > 0.0 {
                round_to(weight_of(*name) / total * 100.0, 1)
            } else {
                0.0
            },
        })
        .collect();
    (score, components)
}

/// A fraction as a whole percentage 0..=100 (the clamp makes the cast exact).
fn percent(fraction: f64) -> u8 {
    (fraction * 100.0).round().clamp(0.0, 100.0) as u8
}

/// Rounds to `decimals` places.
/// The decision the thresholds give for a score.
pub fn decision_for(score: u8) -> Decision {
    if score >= TRAIN_MIN_SCORE {
        Decision::Train
    } else if score >= MODIFY_MIN_SCORE {
        Decision::Modify
    } else {
        Decision::Rest
    }
}

/// Sets removed and RIR added for a modified session at this score.
pub fn modification(score: u8) -> (u8, u8) {
    if score >= LIGHT_MODIFY_MIN_SCORE {
        (LIGHT_SET_CUT, LIGHT_RIR_RAISE)
    } else {
        (MAX_SET_CUT, MAX_RIR_RAISE)
    }
}

/// % of 1RM for `reps_to_failure` (1..=16) from the A3 chart.
fn pct_1rm(reps_to_failure: u8) -> Option<f64> {
    PCT_1RM_BY_REPS_TO_FAILURE
        .get(usize::from(reps_to_failure).checked_sub(1)?)
        .copied()
}

/// Load change (percent, ≤ 0) that keeps `reps` at `rir + raise` instead of `rir`: the A3 chart ratio
/// where it reaches, else [`FALLBACK_LOAD_CUT_PER_RIR_PCT`] per RIR; capped at
/// [`MAX_MODIFY_LOAD_CUT_PCT`], rounded to 0.1.
pub fn load_cut_for_rir(reps: u8, rir: u8, raise: u8) -> f64 {
    let from = reps.saturating_add(rir);
    let to = from.saturating_add(raise);
    let pct = match (pct_1rm(from), pct_1rm(to)) {
        (Some(a), Some(b)) => (b / a - 1.0) * 100.0,
        _ => -FALLBACK_LOAD_CUT_PER_RIR_PCT * f64::from(raise),
    };
    round_to(pct.clamp(-MAX_MODIFY_LOAD_CUT_PCT, 0.0), 1)
}

fn adjust(planned: &PlannedExercise, decision: Decision, score: u8) -> AdjustedExercise {
    let (sets, reps, rir) = (planned.sets.get(), planned.reps.get(), planned.rir.get());
    let (sets, new_rir, load) = match decision {
        Decision::Train => (sets, rir, 0.0),
        Decision::Rest => (0, rir, -100.0),
        Decision::Modify => {
            let (cut, raise) = modification(score);
            let new_rir = rir.saturating_add(raise).min(Rir::MAX);
            let load = load_cut_for_rir(reps, rir, new_rir - rir);
            (sets.saturating_sub(cut).max(1), new_rir, load)
        }
    };
    AdjustedExercise {
        exercise_id: planned.exercise_id.as_str().to_owned(),
        sets,
        reps,
        rir: new_rir,
        load_adjustment_pct: load,
    }
}

/// Change of total working sets, percent, rounded to 0.1.
pub fn volume_change_pct(planned_sets: u32, adjusted_sets: u32) -> f64 {
    if planned_sets == 0 {
        return 0.0;
    }
    round_to(
        (f64::from(adjusted_sets) / f64::from(planned_sets) - 1.0) * 100.0,
        1,
    )
}

/// §A9 for today: the gap from the last session before it (the latest of `recent_sessions` and
/// `last_session_date`).
pub fn layoff(input: &DailyCoachingInput) -> Option<ReturnFromLayoff> {
    let last = input
        .recent_sessions
        .as_slice()
        .iter()
        .map(|s| s.date)
        .filter(|d| *d < input.date)
        .chain(input.last_session_date)
        .max();
    return_from_layoff(last, input.date)
}

/// The most a training day may keep after a layoff: the first week's load change (percent, −10,
/// −20 or −35) and sets of an exercise planned with `sets` (rounded, at least one).
pub fn layoff_limits(layoff: &ReturnFromLayoff, sets: u8) -> (f64, u8) {
    let sets = ((f64::from(sets) * layoff.band.sets_factor(1)).round() as u8).max(1);
    (layoff.load_change_pct, sets)
}

pub(super) fn run(input: &DailyCoachingInput) -> Result<DailyCoachingOutput, CoachError> {
    let (score, components) = readiness(input);
    let decision = decision_for(score);
    let planned = input.planned_session.exercises.as_slice();
    let layoff = layoff(input);
    let exercises: Vec<AdjustedExercise> = planned
        .iter()
        .map(|p| {
            let mut a = adjust(p, decision, score);
            if let Some(l) = &layoff
                && decision != Decision::Rest
            {
                let (load, sets) = layoff_limits(l, p.sets.get());
                a.load_adjustment_pct = a.load_adjustment_pct.min(load);
                a.sets = a.sets.min(sets);
            }
            a
        })
        .collect();
    let planned_sets: u32 = planned.iter().map(|p| u32::from(p.sets.get())).sum();
    let adjusted_sets: u32 = exercises.iter().map(|e| u32::from(e.sets)).sum();
    let load_adjustment_pct = exercises
        .iter()
        .map(|e| e.load_adjustment_pct)
        .fold(0.0, f64::min);
    let (load, _) = load_summary(input);

    let mut rationale = rationale(input, score, decision, &components, &load);
    if let Some(l) = &layoff
        && decision != Decision::Rest
    {
        let words = format!(
            " Back after {} days without training (§A9): loads {:+.0} % and sets {:+.0} % today, \
             ramped back over the next weeks.",
            l.gap_days, l.load_change_pct, l.sets_change_pct
        );
        if rationale.chars().count() + words.chars().count() <= super::MAX_RATIONALE_CHARS {
            rationale.push_str(&words);
        }
    }
    Ok(DailyCoachingOutput {
        decision,
        readiness_score: score,
        rationale,
        return_from_layoff: layoff,
        components,
        load,
        load_adjustment_pct,
        volume_adjustment_pct: volume_change_pct(planned_sets, adjusted_sets),
        adjusted_session: AdjustedSession {
            name: input.planned_session.name.as_str().to_owned(),
            exercises,
        },
        cues: cues(decision, score)
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        recovery_tips: recovery_tips(input),
    })
}

/// Coaching cues for the session, by decision.
fn cues(decision: Decision, score: u8) -> Vec<&'static str> {
    match decision {
        Decision::Train => vec![
            "Train as planned: warm up gradually and keep every working set at its planned RIR.",
            "If the first working set feels far harder than its RIR suggests, switch to the modified plan.",
            "Log session RPE about 30 minutes after training so tomorrow's check uses today's load.",
        ],
        Decision::Modify => {
            let (cut, raise) = modification(score);
            vec![
                if cut == 1 {
                    "Do one set fewer per exercise (never fewer than one) and stop each set one rep further from failure."
                } else {
                    "Do two sets fewer per exercise (never fewer than one) and stop each set two reps further from failure."
                },
                if raise == 1 {
                    "Take the load down slightly so the planned reps land at the new RIR; technique first."
                } else {
                    "Take the load down so the planned reps land at the new RIR; no grinding reps today."
                },
                "Stop the session early if warm-ups feel heavy or anything hurts beyond normal soreness.",
            ]
        }
        Decision::Rest => vec![
            "Skip the planned working sets today; the session moves to a better-recovered day.",
            "Light movement is fine: an easy walk, mobility or easy cycling for 20 to 30 minutes.",
            "Check in again tomorrow morning before deciding on the next session.",
        ],
    }
}

/// Recovery tips for the weakest inputs, then a general one; at most [`super::MAX_TIPS`].
fn recovery_tips(input: &DailyCoachingInput) -> Vec<String> {
    let r = &input.readiness;
    let mut tips = Vec::new();
    if r.sleep_hours.get() < SLEEP_HOURS_TARGET - 1.0 || r.sleep_quality.get() <= 2 {
        tips.push("Protect tonight's sleep: aim for 7 to 9 hours with a regular bedtime and a dark, cool room.");
    }
    if r.soreness.get() >= 4 {
        tips.push("For soreness, easy movement and light mobility work help more than full rest or hard training.");
    }
    if r.stress.get() >= 4 {
        tips.push("High stress adds to training fatigue: keep today's effort modest and plan some downtime.");
    }
    if let (Some(hrv), Some(base)) = (r.hrv_ms, r.hrv_baseline_ms)
        && hrv.get() / base.get() < 1.0 - (1.0 - HRV_RATIO_FLOOR) / 2.0
    {
        tips.push(
            "HRV is well below your baseline: favour recovery until it comes back towards normal.",
        );
    }
    if let (Some(rhr), Some(base)) = (r.resting_hr, r.resting_hr_baseline)
        && rhr.get() >= base.get().saturating_add(5)
    {
        tips.push(
            "Resting heart rate is up: if you feel unwell, rest fully and check again tomorrow.",
        );
    }
    tips.push("Eat enough protein across the day and stay hydrated to support recovery.");
    tips.truncate(super::MAX_TIPS);
    tips.into_iter().map(str::to_owned).collect()
}

fn component_words(name: ComponentName) -> &'static str {
    match name {
        ComponentName::SleepDuration => "sleep duration",
        ComponentName::SleepQuality => "sleep quality",
        ComponentName::Soreness => "soreness",
        ComponentName::Stress => "stress",
        ComponentName::Motivation => "motivation",
        ComponentName::Hrv => "HRV vs baseline",
        ComponentName::RestingHr => "resting HR vs baseline",
        ComponentName::TrainingLoad => "recent training load",
    }
}

/// Plain-words explanation. Writing into a String cannot fail, so `write!` results are ignored.
fn rationale(
    input: &DailyCoachingInput,
    score: u8,
    decision: Decision,
    components: &[Component],
    load: &LoadSummary,
) -> String {
    let mut text = format!(
        "Readiness {score}/100 (train at {TRAIN_MIN_SCORE} or more, modify at {MODIFY_MIN_SCORE}-{}, rest below {MODIFY_MIN_SCORE}). ",
        TRAIN_MIN_SCORE - 1
    );
    let mut weakest: Vec<&Component> = components.iter().filter(|c| c.score < 50).collect();
    weakest.sort_by_key(|c| c.score);
    if !weakest.is_empty() {
        let names: Vec<String> = weakest
            .iter()
            .take(4)
            .map(|c| format!("{} {}", component_words(c.name), c.score))
            .collect();
        let _ = write!(text, "Lowest parts: {}. ", names.join(", "));
    }
    let _ = write!(
        text,
        "Session-RPE load (RPE x minutes) over the last {ACUTE_DAYS} days: {} AU",
        load.acute_load_au
    );
    match (load.acwr, load.chronic_weekly_load_au) {
        (Some(acwr), Some(chronic)) => {
            let _ = write!(
                text,
                " against {chronic} AU per week before that (ratio {acwr}; a heuristic, not a safety limit). "
            );
        }
        _ if load.acute_load_au > 0.0 => {
            let _ = write!(
                text,
                "; no earlier history in the {CHRONIC_DAYS}-day window, so the load part uses the week's mean session RPE. "
            );
        }
        _ => {
            let _ = write!(
                text,
                "; no sessions with load in the {CHRONIC_DAYS}-day window, so the score leaves load out. "
            );
        }
    }
    let _ = match decision {
        Decision::Train => write!(
            text,
            "Train {} as planned.",
            input.planned_session.name.as_str()
        ),
        Decision::Modify => {
            let (cut, raise) = modification(score);
            write!(
                text,
                "Modify {}: {cut} set(s) fewer per exercise (at least one left) and RIR +{raise}, with the load lowered to match (RTS chart).",
                input.planned_session.name.as_str()
            )
        }
        Decision::Rest => write!(
            text,
            "Rest from {} today: no working sets, light movement only.",
            input.planned_session.name.as_str()
        ),
    };
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_100() {
        assert!((WEIGHTS.iter().map(|(_, w)| w).sum::<f64>() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn decisions_at_the_thresholds() {
        assert_eq!(decision_for(100), Decision::Train);
        assert_eq!(decision_for(TRAIN_MIN_SCORE), Decision::Train);
        assert_eq!(decision_for(TRAIN_MIN_SCORE - 1), Decision::Modify);
        assert_eq!(decision_for(MODIFY_MIN_SCORE), Decision::Modify);
        assert_eq!(decision_for(MODIFY_MIN_SCORE - 1), Decision::Rest);
        assert_eq!(decision_for(0), Decision::Rest);
    }

    #[test]
    fn load_cut_follows_the_rts_chart() {
        // 6 reps @ 2 RIR = 8 to failure (78.6 %); @ 3 RIR = 9 (76.2 %): -3.1 %.
        assert_eq!(load_cut_for_rir(6, 2, 1), -3.1);
        // 6 reps @ 4 RIR = 10 (73.9 %): -6.0 %.
        assert_eq!(load_cut_for_rir(6, 2, 2), -6.0);
        assert_eq!(load_cut_for_rir(20, 2, 2), -6.0);
        assert_eq!(load_cut_for_rir(6, 2, 0), 0.0);
    }
}
