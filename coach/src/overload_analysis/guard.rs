//! Overload-analysis guardrails: what any provider's output must satisfy for a given input. Each rule
//! names the engine bug of science.md §C it prevents.

use super::engine::{
    self, ExerciseFacts, MAX_SET_STEP, MAX_TREND_PCT_PER_WEEK, PLATEAU_BAND_PCT_PER_WEEK,
    status_for,
};
use super::{
    ExerciseAnalysis, Flag, MAX_E1RM_KG, MAX_EXERCISES, MAX_NOTE_CHARS, MAX_PRESCRIBED_RIR,
    MAX_PRESCRIBED_SETS, MAX_SESSIONS, MAX_SUMMARY_CHARS, MAX_WEEKLY_SETS, MAX_WEEKS_COVERED,
    OverloadAnalysisInput, OverloadAnalysisOutput, WeightKg,
};
use crate::Violation;
use crate::catalogue::MAX_EXERCISE_ID_CHARS;
use crate::guardrail::{check_items, check_length};
use crate::layoff::LayoffBand;
use crate::science::{
    self, CHART_MAX_REPS, CHART_MIN_REPS, HARD_CAP_PCT, LOAD_EPSILON_KG, MAX_DROP_PCT,
    MAX_REP_STEP, RESET_PCT,
};
use crate::vocab::Muscle;

/// Slack on a trend a provider recomputes, % per week (the engine reports 0.1).
const TREND_TOLERANCE: f64 = 0.15;
/// Slack on recomputed e1RM values: 1 % of the value.
const E1RM_TOLERANCE_FRACTION: f64 = 0.01;
/// Slack on recomputed weekly sets.
const VOLUME_TOLERANCE: f64 = 0.05;

pub(super) fn check(input: &OverloadAnalysisInput, out: &OverloadAnalysisOutput) -> Vec<Violation> {
    let mut v = Vec::new();
    check_limits(out, &mut v);
    let increment = engine::increment_kg(input);
    let all = engine::facts(input);

    let want: Vec<&str> = all.iter().map(|f| f.id.as_str()).collect();
    let got: Vec<&str> = out
        .exercises
        .iter()
        .map(|e| e.exercise_id.as_str())
        .collect();
    if want != got {
        v.push(Violation::new(
            "/exercises",
            format!(
                "must analyse exactly the logged exercises in order of first appearance: {}",
                want.join(", ")
            ),
        ));
    }
    let layoff = engine::layoff(input);
    v.extend(crate::layoff::check_stated(
        &out.return_from_layoff,
        &layoff,
        "under two weeks since the last session, or no `date`",
    ));
    let band = layoff.as_ref().map(|l| l.band);
    for (i, (facts, a)) in all.iter().zip(&out.exercises).enumerate() {
        check_exercise(i, facts, a, increment, band, &mut v);
    }

    let weeks = engine::weeks_covered(input);
    if out.weeks_covered != weeks {
        v.push(Violation::new(
            "/weeks_covered",
            format!(
                "must be {weeks} (first to last session), got {}",
                out.weeks_covered
            ),
        ));
    }
    check_volume(input, out, &mut v);
    v
}

fn check_exercise(
    i: usize,
    facts: &ExerciseFacts,
    a: &ExerciseAnalysis,
    increment: f64,
    layoff: Option<LayoffBand>,
    v: &mut Vec<Violation>,
) {
    let at = |field: &str| format!("/exercises/{i}/{field}");
    let last = facts.last_load_kg();
    if (a.last_working_load_kg - last).abs() > LOAD_EPSILON_KG {
        v.push(Violation::new(
            at("last_working_load_kg"),
            format!(
                "must be {last} kg, the heaviest non-warm-up, non-drop set of the last session, got {}",
                a.last_working_load_kg
            ),
        ));
    }

    // e1RM series: same sessions, same values (warm-ups and sets above 12 reps to failure ignored).
    if a.e1rm_series.len() != facts.series.len() {
        v.push(Violation::new(
            at("e1rm_series"),
            format!(
                "must have one point per session with a usable set ({}), got {} (warm-ups and sets above \
                 {} reps to failure never give an e1RM)",
                facts.series.len(),
                a.e1rm_series.len(),
                science::MAX_E1RM_REPS_TO_FAILURE
            ),
        ));
    } else {
        for (k, (want, got)) in facts.series.iter().zip(&a.e1rm_series).enumerate() {
            if want.date != got.date
                || (want.e1rm_kg - got.e1rm_kg).abs()
                    > want.e1rm_kg * E1RM_TOLERANCE_FRACTION + 0.05
            {
                v.push(Violation::new(
                    at(&format!("e1rm_series/{k}")),
                    format!(
                        "must be {} kg on {} (load ÷ RTS chart %(reps + RIR), §A3), got {} kg on {}",
                        want.e1rm_kg, want.date, got.e1rm_kg, got.date
                    ),
                ));
            }
        }
    }

    // Trend and status (§A5 thresholds, [C]).
    match (facts.trend_pct_per_week, a.trend_pct_per_week) {
        (Some(want), Some(got)) if (want - got).abs() > TREND_TOLERANCE => {
            v.push(Violation::new(
                at("trend_pct_per_week"),
                format!("must be {want:.1} %/week (least squares over the e1RM series), got {got}"),
            ));
        }
        (Some(want), None) => v.push(Violation::new(
            at("trend_pct_per_week"),
            format!("must be {want:.1} %/week, got none"),
        )),
        (None, Some(_)) => v.push(Violation::new(
            at("trend_pct_per_week"),
            format!(
                "must be absent: a trend needs {} sessions with an e1RM over at least {} days",
                engine::MIN_SESSIONS_FOR_TREND,
                engine::MIN_TREND_SPAN_DAYS
            ),
        )),
        _ => {}
    }
    let expected_status = a.trend_pct_per_week.map(status_for);
    if a.status != expected_status {
        v.push(Violation::new(
            at("status"),
            format!(
                "must be {} for a trend of {:?} %/week (progressing at +{PLATEAU_BAND_PCT_PER_WEEK} or more, \
                 regressing at −{PLATEAU_BAND_PCT_PER_WEEK} or less, plateau between; absent without a trend)",
                expected_status.map_or("absent", |s| s.as_str()),
                a.trend_pct_per_week
            ),
        ));
    }
    if facts.trend_pct_per_week.is_none() && !a.flags.contains(&Flag::InsufficientData) {
        v.push(Violation::new(
            at("flags"),
            "must include `insufficient_data`: too few sessions for a trend",
        ));
    }

    // The prescription.
    let p = &a.next_session;
    let w = p.weight_kg;
    let cap = science::hard_cap_kg(last);
    if w > cap + LOAD_EPSILON_KG {
        let flagged = if a.flags.contains(&Flag::HardCap) {
            "flagged `hard_cap` but not clamped"
        } else {
            "clamp it and flag `hard_cap`"
        };
        v.push(Violation::new(
            at("next_session/weight_kg"),
            format!(
                "{w} kg is more than +{HARD_CAP_PCT} % over the last comparable working load ({last} kg): at most \
                 {:.2} kg ({flagged}; §A5)",
                science::round_down_to_increment(cap, increment)
            ),
        ));
    }
    if facts.no_increase() && w > last + LOAD_EPSILON_KG {
        let why = if facts.lighter {
            "the last session was lighter than the one before"
        } else {
            "the last session missed reps"
        };
        v.push(Violation::new(
            at("next_session/weight_kg"),
            format!(
                "must not rise above the last working load ({last} kg) because {why}: progression reads the load \
                 actually lifted, not only reps (§C Liftosaur #357), got {w} kg"
            ),
        ));
    }
    if facts.reset_due {
        let reset_ceiling = last * (1.0 - RESET_PCT / 100.0) + increment / 2.0;
        if w > reset_ceiling + LOAD_EPSILON_KG || !a.flags.contains(&Flag::ResetAfterFailures) {
            v.push(Violation::new(
                at("next_session/weight_kg"),
                format!(
                    "{} failed sessions in a row: reset the load by {RESET_PCT} % to about {:.2} kg and flag \
                     `reset_after_failures` (§A5), got {w} kg",
                    science::FAILED_SESSIONS_FOR_RESET,
                    science::reset_load_kg(last, increment)
                ),
            ));
        }
    }
    if let Some(band) = layoff {
        let ceiling = engine::layoff_ceiling_kg(facts, band, p.reps, p.rir);
        if w > ceiling + LOAD_EPSILON_KG || !a.flags.contains(&Flag::ReturnFromLayoff) {
            v.push(Violation::new(
                at("next_session/weight_kg"),
                format!(
                    "back after a layoff (§A9 `{band}`): at most {ceiling:.2} kg and flag \
                     `return_from_layoff`, got {w} kg"
                ),
            ));
        }
        let last_sets = facts.last().map_or(1, |s| s.sets_at_load);
        let most = engine::layoff_sets(last_sets, band);
        if p.sets > most {
            v.push(Violation::new(
                at("next_session/sets"),
                format!(
                    "back after a layoff (§A9 `{band}`): at most {most} sets, got {}",
                    p.sets
                ),
            ));
        }
    } else if a.flags.contains(&Flag::ReturnFromLayoff) {
        v.push(Violation::new(
            at("flags"),
            "no layoff: `return_from_layoff` only two weeks or more after the last session",
        ));
    }
    // After a layoff the floor is the cut load's (the −10 %/−20 % of §A9 go below §A5's floor).
    let floor_base = layoff.map_or(last, |band| match band {
        LayoffBand::Baseline => 0.0,
        _ => last * band.first_week_load_factor(),
    });
    let floor = science::floor_load_kg(floor_base, increment);
    if w < floor - LOAD_EPSILON_KG {
        v.push(Violation::new(
            at("next_session/weight_kg"),
            format!(
                "{w} kg is more than {MAX_DROP_PCT} % below the last working load ({last} kg): the deepest sourced cut \
                 is the −{RESET_PCT} % reset (§A5); never deload toward the empty bar (§C nSuns #46); at least {floor:.2} kg"
            ),
        ));
    }
    if !science::is_on_increment(w, increment) {
        v.push(Violation::new(
            at("next_session/weight_kg"),
            format!("{w} kg is not a multiple of the plate increment ({increment} kg)"),
        ));
    }
    let base = engine::prescribed_reps(facts);
    let (low, high) = (
        base.saturating_sub(MAX_REP_STEP).max(CHART_MIN_REPS),
        base.saturating_add(MAX_REP_STEP).min(CHART_MAX_REPS),
    );
    if !(low..=high).contains(&p.reps) {
        v.push(Violation::new(
            at("next_session/reps"),
            format!(
                "must be {low} to {high}: within {MAX_REP_STEP} of the last target ({base}) and on the RPE chart \
                 (§C MyFit #28 prescribed 109 reps after 9), got {}",
                p.reps
            ),
        ));
    }
    let last_sets = facts.last().map_or(1, |s| s.sets_at_load);
    let max_sets = last_sets
        .saturating_add(MAX_SET_STEP)
        .clamp(1, MAX_PRESCRIBED_SETS);
    if p.sets > max_sets {
        v.push(Violation::new(
            at("next_session/sets"),
            format!(
                "must be at most {max_sets}: {last_sets} working set(s) at the working load last time \
                 (warm-ups never count as working sets, §C Formly), got {}",
                p.sets
            ),
        ));
    }
}

fn check_volume(
    input: &OverloadAnalysisInput,
    out: &OverloadAnalysisOutput,
    v: &mut Vec<Violation>,
) {
    let want = engine::weekly_volume(input);
    for (k, got) in out.weekly_volume.iter().enumerate() {
        let at = |field: &str| format!("/weekly_volume/{k}/{field}");
        match want.iter().find(|w| w.muscle == got.muscle) {
            None => v.push(Violation::new(
                at("muscle"),
                format!("`{}` has no working sets in the log", got.muscle),
            )),
            Some(w) => {
                if got.direct_sets != w.direct_sets || got.indirect_sets != w.indirect_sets {
                    v.push(Violation::new(
                        at("direct_sets"),
                        format!(
                            "must be {} direct and {} indirect working sets (warm-ups never count as working \
                             sets, §C Formly), got {} and {}",
                            w.direct_sets, w.indirect_sets, got.direct_sets, got.indirect_sets
                        ),
                    ));
                }
                if (got.sets_per_week - w.sets_per_week).abs() > VOLUME_TOLERANCE {
                    v.push(Violation::new(
                        at("sets_per_week"),
                        format!(
                            "must be {} ((direct + 0.5 × indirect) ÷ {} weeks; warm-ups excluded, §A4, §C Formly), got {}",
                            w.sets_per_week, out.weeks_covered, got.sets_per_week
                        ),
                    ));
                }
            }
        }
    }
    for w in &want {
        if !out.weekly_volume.iter().any(|g| g.muscle == w.muscle) {
            v.push(Violation::new(
                "/weekly_volume",
                format!(
                    "must include `{}` ({} sets per week)",
                    w.muscle, w.sets_per_week
                ),
            ));
        }
    }
}

/// The limits the output schema states (same constants), checked here too.
fn check_limits(out: &OverloadAnalysisOutput, v: &mut Vec<Violation>) {
    if !(1..=MAX_WEEKS_COVERED).contains(&out.weeks_covered) {
        v.push(Violation::new(
            "/weeks_covered",
            format!(
                "must be 1 to {MAX_WEEKS_COVERED}, got {}",
                out.weeks_covered
            ),
        ));
    }
    check_items(v, "/exercises", out.exercises.len(), 1, MAX_EXERCISES);
    for (i, a) in out.exercises.iter().enumerate() {
        let at = |field: &str| format!("/exercises/{i}/{field}");
        check_length(
            v,
            &at("exercise_id"),
            &a.exercise_id,
            1,
            MAX_EXERCISE_ID_CHARS,
        );
        if a.sessions == 0 || usize::from(a.sessions) > MAX_SESSIONS {
            v.push(Violation::new(
                at("sessions"),
                format!("must be 1 to {MAX_SESSIONS}, got {}", a.sessions),
            ));
        }
        check_items(v, &at("e1rm_series"), a.e1rm_series.len(), 0, MAX_SESSIONS);
        for (k, p) in a.e1rm_series.iter().enumerate() {
            if !(0.0..=MAX_E1RM_KG).contains(&p.e1rm_kg) {
                v.push(Violation::new(
                    at(&format!("e1rm_series/{k}/e1rm_kg")),
                    format!("must be 0 to {MAX_E1RM_KG}, got {}", p.e1rm_kg),
                ));
            }
        }
        if let Some(t) = a.trend_pct_per_week
            && !(-MAX_TREND_PCT_PER_WEEK..=MAX_TREND_PCT_PER_WEEK).contains(&t)
        {
            v.push(Violation::new(
                at("trend_pct_per_week"),
                format!("must be -{MAX_TREND_PCT_PER_WEEK} to {MAX_TREND_PCT_PER_WEEK}, got {t}"),
            ));
        }
        if let Some(b) = &a.best_set
            && (!(WeightKg::MIN..=WeightKg::MAX).contains(&b.weight_kg)
                || !(CHART_MIN_REPS..=CHART_MAX_REPS).contains(&b.reps)
                || !(0.0..=10.0).contains(&b.rir)
                || !(0.0..=MAX_E1RM_KG).contains(&b.e1rm_kg))
        {
            v.push(Violation::new(
                at("best_set"),
                "weight, reps (1 to 12), rir (0 to 10) or e1RM outside the schema bounds",
            ));
        }
        if !(WeightKg::MIN..=WeightKg::MAX).contains(&a.last_working_load_kg) {
            v.push(Violation::new(
                at("last_working_load_kg"),
                format!("must be {} to {}", WeightKg::MIN, WeightKg::MAX),
            ));
        }
        let p = &a.next_session;
        if !(1..=MAX_PRESCRIBED_SETS).contains(&p.sets) {
            v.push(Violation::new(
                at("next_session/sets"),
                format!("must be 1 to {MAX_PRESCRIBED_SETS}, got {}", p.sets),
            ));
        }
        if !(CHART_MIN_REPS..=CHART_MAX_REPS).contains(&p.reps) {
            v.push(Violation::new(
                at("next_session/reps"),
                format!(
                    "must be {CHART_MIN_REPS} to {CHART_MAX_REPS}, got {}",
                    p.reps
                ),
            ));
        }
        if p.rir > MAX_PRESCRIBED_RIR {
            v.push(Violation::new(
                at("next_session/rir"),
                format!("must be 0 to {MAX_PRESCRIBED_RIR}, got {}", p.rir),
            ));
        }
        if !(WeightKg::MIN..=WeightKg::MAX).contains(&p.weight_kg) {
            v.push(Violation::new(
                at("next_session/weight_kg"),
                format!(
                    "must be {} to {}, got {}",
                    WeightKg::MIN,
                    WeightKg::MAX,
                    p.weight_kg
                ),
            ));
        }
        check_items(v, &at("flags"), a.flags.len(), 0, Flag::ALL.len());
        for (k, f) in a.flags.iter().enumerate() {
            if a.flags[..k].contains(f) {
                v.push(Violation::new(
                    at(&format!("flags/{k}")),
                    format!("`{f}` is listed twice"),
                ));
            }
        }
        check_length(v, &at("note"), &a.note, 1, MAX_NOTE_CHARS);
    }
    check_items(
        v,
        "/weekly_volume",
        out.weekly_volume.len(),
        0,
        Muscle::ALL.len(),
    );
    for (k, m) in out.weekly_volume.iter().enumerate() {
        if !(0.0..=MAX_WEEKLY_SETS).contains(&m.sets_per_week) {
            v.push(Violation::new(
                format!("/weekly_volume/{k}/sets_per_week"),
                format!("must be 0 to {MAX_WEEKLY_SETS}, got {}", m.sets_per_week),
            ));
        }
    }
    check_length(v, "/summary", &out.summary, 1, MAX_SUMMARY_CHARS);
}
