//! Daily-coaching guardrails: what any provider's output must satisfy for a given input.

use super::engine::{
    self, MAX_MODIFY_LOAD_CUT_PCT, MAX_RIR_RAISE, MAX_SET_CUT, SCORE_TOLERANCE, decision_for,
};
use super::{
    DailyCoachingInput, DailyCoachingOutput, Decision, MAX_PLANNED_EXERCISES, MAX_RATIONALE_CHARS,
    MAX_SESSION_NAME_CHARS, MAX_TIP_CHARS, MAX_TIPS, Reps, Rir, Sets,
};
use crate::Violation;
use crate::catalogue::MAX_EXERCISE_ID_CHARS;
use crate::guardrail::{check_items, check_length};

/// Rounding slack for percentages a provider recomputes.
const PCT_TOLERANCE: f64 = 0.5;

pub(super) fn check(input: &DailyCoachingInput, out: &DailyCoachingOutput) -> Vec<Violation> {
    let mut v = Vec::new();
    check_limits(out, &mut v);

    let expected = decision_for(out.readiness_score);
    if out.decision != expected {
        v.push(Violation::new(
            "/decision",
            format!(
                "must be `{expected}` for a readiness score of {} (train at {} or more, modify at {} or more, \
                 rest below), got `{}`",
                out.readiness_score,
                engine::TRAIN_MIN_SCORE,
                engine::MODIFY_MIN_SCORE,
                out.decision
            ),
        ));
    }
    let (engine_score, _) = engine::readiness(input);
    if out.readiness_score.abs_diff(engine_score) > SCORE_TOLERANCE {
        v.push(Violation::new(
            "/readiness_score",
            format!(
                "{} is more than {SCORE_TOLERANCE} points from the score the inputs give ({engine_score})",
                out.readiness_score
            ),
        ));
    }

    let layoff = engine::layoff(input).filter(|_| out.decision != Decision::Rest);
    v.extend(crate::layoff::check_stated(
        &out.return_from_layoff,
        &engine::layoff(input),
        "a session within the last two weeks, or none known",
    ));
    let planned = input.planned_session.exercises.as_slice();
    let adjusted = &out.adjusted_session.exercises;
    let ids_match = planned.len() == adjusted.len()
        && planned
            .iter()
            .zip(adjusted)
            .all(|(p, a)| p.exercise_id.as_str() == a.exercise_id);
    if !ids_match {
        let want: Vec<&str> = planned.iter().map(|p| p.exercise_id.as_str()).collect();
        v.push(Violation::new(
            "/adjusted_session/exercises",
            format!(
                "must list exactly the planned exercises in the planned order: {}",
                want.join(", ")
            ),
        ));
    }

    for (i, (p, a)) in planned.iter().zip(adjusted).enumerate() {
        let at = |field: &str| format!("/adjusted_session/exercises/{i}/{field}");
        let (sets, reps, rir) = (p.sets.get(), p.reps.get(), p.rir.get());
        if a.reps != reps {
            v.push(Violation::new(
                at("reps"),
                format!("must stay {reps} as planned, got {}", a.reps),
            ));
        }
        let (mut set_range, rir_range, mut load_range): ((u8, u8), (u8, u8), (f64, f64)) =
            match out.decision {
                Decision::Train => ((sets, sets), (rir, rir), (0.0, 0.0)),
                Decision::Rest => ((0, 0), (rir, Rir::MAX), (-100.0, -100.0)),
                Decision::Modify => (
                    (sets.saturating_sub(MAX_SET_CUT).max(1), sets),
                    (rir, rir.saturating_add(MAX_RIR_RAISE).min(Rir::MAX)),
                    (-MAX_MODIFY_LOAD_CUT_PCT, 0.0),
                ),
            };
        // After a layoff the day's cut is at least §A9's first week (the day's own cut may go
        // further).
        if let Some(l) = &layoff {
            let (load, most_sets) = engine::layoff_limits(l, sets);
            set_range = (set_range.0.min(most_sets), set_range.1.min(most_sets));
            load_range = (load_range.0.min(load), load_range.1.min(load));
        }
        if !(set_range.0..=set_range.1).contains(&a.sets) {
            v.push(Violation::new(
                at("sets"),
                format!(
                    "must be {} to {} on a `{}` day ({sets} planned; never more than planned), got {}",
                    set_range.0, set_range.1, out.decision, a.sets
                ),
            ));
        }
        if !(rir_range.0..=rir_range.1).contains(&a.rir) {
            v.push(Violation::new(
                at("rir"),
                format!(
                    "must be {} to {} on a `{}` day ({rir} planned; never closer to failure than planned), got {}",
                    rir_range.0, rir_range.1, out.decision, a.rir
                ),
            ));
        }
        if !(load_range.0..=load_range.1).contains(&a.load_adjustment_pct) {
            v.push(Violation::new(
                at("load_adjustment_pct"),
                format!(
                    "must be {} to {} % on a `{}` day (never an increase), got {}",
                    load_range.0, load_range.1, out.decision, a.load_adjustment_pct
                ),
            ));
        }
    }

    let mut top_range: (f64, f64) = match out.decision {
        Decision::Train => (0.0, 0.0),
        Decision::Rest => (-100.0, -100.0),
        Decision::Modify => (-MAX_MODIFY_LOAD_CUT_PCT, 0.0),
    };
    if let Some(l) = &layoff {
        top_range = (
            top_range.0.min(l.load_change_pct),
            top_range.1.min(l.load_change_pct),
        );
    }
    if !(top_range.0..=top_range.1).contains(&out.load_adjustment_pct) {
        v.push(Violation::new(
            "/load_adjustment_pct",
            format!(
                "must be {} to {} % on a `{}` day (never an increase), got {}",
                top_range.0, top_range.1, out.decision, out.load_adjustment_pct
            ),
        ));
    } else if let Some(largest) = adjusted
        .iter()
        .map(|a| a.load_adjustment_pct)
        .reduce(f64::min)
        && (out.load_adjustment_pct - largest).abs() > PCT_TOLERANCE
    {
        v.push(Violation::new(
            "/load_adjustment_pct",
            format!(
                "must be the largest per-exercise cut ({largest} %), got {}",
                out.load_adjustment_pct
            ),
        ));
    }

    let planned_sets: u32 = planned.iter().map(|p| u32::from(p.sets.get())).sum();
    let adjusted_sets: u32 = adjusted.iter().map(|a| u32::from(a.sets)).sum();
    let volume = engine::volume_change_pct(planned_sets, adjusted_sets);
    if (out.volume_adjustment_pct - volume).abs() > PCT_TOLERANCE {
        v.push(Violation::new(
            "/volume_adjustment_pct",
            format!(
                "must match the adjusted sets: {adjusted_sets} of {planned_sets} planned sets is {volume} %, got {}",
                out.volume_adjustment_pct
            ),
        ));
    }
    v
}

/// The limits the output schema states (same constants), checked here too.
fn check_limits(out: &DailyCoachingOutput, v: &mut Vec<Violation>) {
    if out.readiness_score > 100 {
        v.push(Violation::new(
            "/readiness_score",
            format!("must be 0 to 100, got {}", out.readiness_score),
        ));
    }
    check_items(v, "/components", out.components.len(), 1, vocab_len());
    for (i, c) in out.components.iter().enumerate() {
        if c.score > 100 {
            v.push(Violation::new(
                format!("/components/{i}/score"),
                format!("must be 0 to 100, got {}", c.score),
            ));
        }
        if !(0.0..=100.0).contains(&c.weight_pct) {
            v.push(Violation::new(
                format!("/components/{i}/weight_pct"),
                format!("must be 0 to 100, got {}", c.weight_pct),
            ));
        }
    }
    for (path, pct) in [
        ("/load_adjustment_pct", out.load_adjustment_pct),
        ("/volume_adjustment_pct", out.volume_adjustment_pct),
    ] {
        if !(-100.0..=0.0).contains(&pct) {
            v.push(Violation::new(
                path,
                format!("must be -100 to 0 % (never an increase), got {pct}"),
            ));
        }
    }
    let s = &out.adjusted_session;
    check_length(
        v,
        "/adjusted_session/name",
        &s.name,
        1,
        MAX_SESSION_NAME_CHARS,
    );
    check_items(
        v,
        "/adjusted_session/exercises",
        s.exercises.len(),
        1,
        MAX_PLANNED_EXERCISES,
    );
    for (i, e) in s.exercises.iter().enumerate() {
        let at = |field: &str| format!("/adjusted_session/exercises/{i}/{field}");
        check_length(
            v,
            &at("exercise_id"),
            &e.exercise_id,
            1,
            MAX_EXERCISE_ID_CHARS,
        );
        if e.sets > Sets::MAX {
            v.push(Violation::new(
                at("sets"),
                format!("must be 0 to {}, got {}", Sets::MAX, e.sets),
            ));
        }
        if !(Reps::MIN..=Reps::MAX).contains(&e.reps) {
            v.push(Violation::new(
                at("reps"),
                format!("must be {} to {}, got {}", Reps::MIN, Reps::MAX, e.reps),
            ));
        }
        if e.rir > Rir::MAX {
            v.push(Violation::new(
                at("rir"),
                format!("must be 0 to {}, got {}", Rir::MAX, e.rir),
            ));
        }
    }
    for (name, list) in [("cues", &out.cues), ("recovery_tips", &out.recovery_tips)] {
        check_items(v, &format!("/{name}"), list.len(), 0, MAX_TIPS);
        for (i, text) in list.iter().enumerate() {
            check_length(v, &format!("/{name}/{i}"), text, 1, MAX_TIP_CHARS);
        }
    }
    check_length(v, "/rationale", &out.rationale, 1, MAX_RATIONALE_CHARS);
}

fn vocab_len() -> usize {
    super::ComponentName::ALL.len()
}
