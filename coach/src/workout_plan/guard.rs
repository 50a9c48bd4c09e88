//! Workout-plan guardrails: what any provider's plan must satisfy for a given input. Every check
//! recomputes from the plan itself (catalogue facts, the log's e1RM, the formulas of [`super::engine`]),
//! so an LLM's plan is held to exactly the engine's rules.

use std::collections::HashMap;
use std::fmt;

use super::engine::{
    self, MAX_DELOAD_SPACING, MAX_TRAINING_RIR, MIN_DELOAD_SPACING, MIN_WEEKS_FOR_DELOAD, Tally,
    chart_pct, history_loads, increment_kg, landmarks_of,
};
use super::selection;
use super::{
    FlagCode, LoadBasis, MAX_EXERCISES_PER_DAY, MAX_FLAG_CHARS, MAX_FLAGS, MAX_LABEL_CHARS,
    MAX_NAME_CHARS, MAX_RATIONALE_CHARS, MAX_REPS, MAX_REST_SECONDS, MAX_RULE_CHARS,
    MAX_SETS_PER_EXERCISE, MIN_REST_SECONDS, PlanExercise, PlanWeek, WorkoutPlanInput,
    WorkoutPlanOutput,
};
use crate::Violation;
use crate::athlete::Experience;
use crate::catalogue::{CLOSEST_SUGGESTIONS, Catalogue, Exercise};
use crate::guardrail::{check_items, check_length, items_problem, length_problem};
use crate::science::{self, HARD_CAP_PCT, LOAD_EPSILON_KG};
use crate::split::engine::{LANDMARKS, MIN_FREQUENCY};
use crate::split::{PROGRAMMED_MUSCLES, Style};
use crate::vocab::Muscle;

/// Rounding slack for recomputed effective sets.
const SETS_TOLERANCE: f64 = 0.01;
/// Rounding slack for a stated %e1RM (the chart has one decimal).
const PCT_TOLERANCE: f64 = 0.05;

pub(super) fn check(input: &WorkoutPlanInput, out: &WorkoutPlanOutput) -> Vec<Violation> {
    let mut v = Vec::new();
    let weeks = input.weeks.get();
    check_items(
        &mut v,
        "/weeks",
        out.weeks.len(),
        usize::from(weeks),
        usize::from(weeks),
    );
    check_items(
        &mut v,
        "/weekly_volume",
        out.weekly_volume.len(),
        PROGRAMMED_MUSCLES,
        PROGRAMMED_MUSCLES,
    );
    check_items(&mut v, "/flags", out.flags.len(), 0, MAX_FLAGS);
    check_length(&mut v, "/rationale", &out.rationale, 1, MAX_RATIONALE_CHARS);
    check_length(
        &mut v,
        "/progression/rule",
        &out.progression.rule,
        1,
        MAX_RULE_CHARS,
    );
    for (i, flag) in out.flags.iter().enumerate() {
        check_length(
            &mut v,
            &format!("/flags/{i}/message"),
            &flag.message,
            1,
            MAX_FLAG_CHARS,
        );
    }
    let pct = out.progression.max_load_increase_pct;
    if !(0.0..=HARD_CAP_PCT).contains(&pct) {
        v.push(Violation::new(
            "/progression/max_load_increase_pct",
            format!("must be 0 to {HARD_CAP_PCT} (science.md §A5 hard cap), got {pct}"),
        ));
    }
    let style = input.split_preference();
    if !matches!(style, Style::Auto | Style::Custom) && out.template.as_str() != style.as_str() {
        v.push(Violation::new(
            "/template",
            format!(
                "must be `{style}`, the requested split, got `{}`",
                out.template
            ),
        ));
    }

    check_deloads(input, out, &mut v);
    let layoff = engine::layoff(input);
    v.extend(crate::layoff::check_stated(
        &out.return_from_layoff,
        &layoff,
        "no `start_date`, or under two weeks since the last session",
    ));
    // Each distinct exercise is judged once, however many weeks and days repeat it.
    let mut refusals: HashMap<&str, Option<String>> = HashMap::new();
    for e in out
        .weeks
        .iter()
        .flat_map(|w| &w.days)
        .flat_map(|d| &d.exercises)
    {
        let id = e.exercise_id.as_str();
        if !refusals.contains_key(id)
            && let Some(exercise) = engine::exercise(id)
        {
            refusals.insert(id, selection::refusal(&input.athlete, exercise));
        }
    }
    for (i, week) in out.weeks.iter().enumerate() {
        check_week_shape(input, i, week, &refusals, &mut v);
    }
    check_loads_and_blocks(input, out, &mut v);
    check_volume(input, out, &mut v);
    v
}

/// The JSON pointer of a day of the plan (`/weeks/{week}/days/{day}`) or of one of its exercises
/// (`…/exercises/{exercise}`). Spelled out only when a violation names it: a 16-week plan has
/// hundreds of exercises, each checked on a dozen fields, and a good plan has no violation.
#[derive(Clone, Copy, Debug)]
struct PlanAt {
    week: usize,
    day: usize,
    exercise: Option<usize>,
}

impl fmt::Display for PlanAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/weeks/{}/days/{}", self.week, self.day)?;
        match self.exercise {
            Some(k) => write!(f, "/exercises/{k}"),
            None => Ok(()),
        }
    }
}

/// Deload flags, the `deload_weeks` list and their spacing (§A5).
fn check_deloads(input: &WorkoutPlanInput, out: &WorkoutPlanOutput, v: &mut Vec<Violation>) {
    let weeks = input.weeks.get();
    let flagged: Vec<u8> = out
        .weeks
        .iter()
        .enumerate()
        .filter(|(_, w)| w.deload)
        .filter_map(|(i, _)| u8::try_from(i + 1).ok())
        .collect();
    if out.deload_weeks != flagged {
        v.push(Violation::new(
            "/deload_weeks",
            format!(
                "must list the weeks marked `deload` ({flagged:?}), got {:?}",
                out.deload_weeks
            ),
        ));
    }
    if weeks >= MIN_WEEKS_FOR_DELOAD && flagged.is_empty() {
        v.push(Violation::new(
            "/deload_weeks",
            format!(
                "a {weeks}-week plan needs a deload week every {MIN_DELOAD_SPACING}–{MAX_DELOAD_SPACING} weeks \
                 (science.md §A5: every 5.6 ± 2.3 weeks); none is planned"
            ),
        ));
        return;
    }
    let mut previous = 0u8;
    for &d in &flagged {
        let gap = d - previous;
        if !(MIN_DELOAD_SPACING..=MAX_DELOAD_SPACING).contains(&gap) {
            let since = if previous == 0 {
                "the start".to_owned()
            } else {
                format!("the deload of week {previous}")
            };
            v.push(Violation::new(
                format!("/weeks/{}/deload", d - 1),
                format!(
                    "a deload in week {d} comes {gap} weeks after {since}; deloads fall every \
                     {MIN_DELOAD_SPACING}–{MAX_DELOAD_SPACING} weeks (§A5)"
                ),
            ));
        }
        previous = d;
    }
    let tail = weeks.saturating_sub(previous);
    if weeks >= MIN_WEEKS_FOR_DELOAD && tail >= MAX_DELOAD_SPACING {
        v.push(Violation::new(
            "/deload_weeks",
            format!(
                "weeks {}–{weeks} run {tail} training weeks without a deload; at most {} (deloads every \
                 {MIN_DELOAD_SPACING}–{MAX_DELOAD_SPACING} weeks, §A5)",
                previous + 1,
                MAX_DELOAD_SPACING - 1
            ),
        ));
    }
}

/// Numbering, days, session length and each exercise's own fields.
fn check_week_shape(
    input: &WorkoutPlanInput,
    i: usize,
    week: &PlanWeek,
    refusals: &HashMap<&str, Option<String>>,
    v: &mut Vec<Violation>,
) {
    let at_week = format!("/weeks/{i}");
    if usize::from(week.week) != i + 1 {
        v.push(Violation::new(
            format!("{at_week}/week"),
            format!("must be {}: weeks are numbered from 1 in order", i + 1),
        ));
    }
    let days_per_week = input.days_per_week.get();
    if week.days.len() != usize::from(days_per_week) {
        v.push(Violation::new(
            format!("{at_week}/days"),
            format!(
                "must hold exactly {days_per_week} training days, got {}",
                week.days.len()
            ),
        ));
    }
    let budget = input.session_minutes.get();
    for (j, day) in week.days.iter().enumerate() {
        let at_day = PlanAt {
            week: i,
            day: j,
            exercise: None,
        };
        if j > 0 && week.days[j - 1].day >= day.day {
            v.push(Violation::new(
                format!("{at_day}/day"),
                format!(
                    "`{}` is listed twice or out of order: days run Monday to Sunday, each once",
                    day.day
                ),
            ));
        }
        if let Some(message) = length_problem(&day.label, 1, MAX_LABEL_CHARS) {
            v.push(Violation::new(format!("{at_day}/label"), message));
        }
        if let Some(message) = items_problem(day.exercises.len(), 1, MAX_EXERCISES_PER_DAY) {
            v.push(Violation::new(format!("{at_day}/exercises"), message));
        }
        let estimate = engine::estimated_minutes(&day.exercises);
        if day.estimated_minutes != estimate {
            v.push(Violation::new(
                format!("{at_day}/estimated_minutes"),
                format!(
                    "must be {estimate}: 5 min warm-up + per exercise 60 s + per set (top of the rep range × 4 s + \
                     rest), rounded up; got {}",
                    day.estimated_minutes
                ),
            ));
        }
        if estimate > budget {
            v.push(Violation::new(
                format!("{at_day}/exercises"),
                format!(
                    "the session takes about {estimate} min, more than the {budget} min available: fewer sets or \
                     exercises"
                ),
            ));
        }
        for (k, e) in day.exercises.iter().enumerate() {
            let at = PlanAt {
                exercise: Some(k),
                ..at_day
            };
            check_exercise_fields(input, week.deload, at, e, v);
            if day.exercises[..k]
                .iter()
                .any(|o| o.exercise_id == e.exercise_id)
            {
                v.push(Violation::new(
                    format!("{at}/exercise_id"),
                    format!(
                        "`{}` appears twice in this session: each exercise at most once a session",
                        e.exercise_id
                    ),
                ));
            }
            let Some(exercise) = engine::exercise(&e.exercise_id) else {
                let closest = Catalogue::get().closest_ids(&e.exercise_id, CLOSEST_SUGGESTIONS);
                v.push(Violation::new(
                    format!("{at}/exercise_id"),
                    format!(
                        "unknown exercise id `{}` (not in the exercise catalogue); closest: {}",
                        e.exercise_id,
                        closest.join(", ")
                    ),
                ));
                continue;
            };
            if e.name != exercise.name {
                v.push(Violation::new(
                    format!("{at}/name"),
                    format!(
                        "must be `{}`, the catalogue name of `{}`",
                        exercise.name, e.exercise_id
                    ),
                ));
            }
            if let Some(Some(why)) = refusals.get(e.exercise_id.as_str()) {
                v.push(Violation::new(format!("{at}/exercise_id"), why.clone()));
            }
        }
    }
}

fn check_exercise_fields(
    input: &WorkoutPlanInput,
    deload: bool,
    at: PlanAt,
    e: &PlanExercise,
    v: &mut Vec<Violation>,
) {
    if let Some(message) = length_problem(&e.name, 1, MAX_NAME_CHARS) {
        v.push(Violation::new(format!("{at}/name"), message));
    }
    if !(1..=MAX_SETS_PER_EXERCISE).contains(&e.sets) {
        v.push(Violation::new(
            format!("{at}/sets"),
            format!(
                "must be 1 to {MAX_SETS_PER_EXERCISE} working sets, got {}",
                e.sets
            ),
        ));
    }
    let range = e.rep_range;
    if range.min < 1 || range.min > range.max || range.max > MAX_REPS {
        v.push(Violation::new(
            format!("{at}/rep_range"),
            format!(
                "must run from min to max within 1–{MAX_REPS} reps (§A4), got {}–{}",
                range.min, range.max
            ),
        ));
    }
    if !(MIN_REST_SECONDS..=MAX_REST_SECONDS).contains(&e.rest_seconds) {
        v.push(Violation::new(
            format!("{at}/rest_seconds"),
            format!(
                "must be {MIN_REST_SECONDS} to {MAX_REST_SECONDS} s, got {}",
                e.rest_seconds
            ),
        ));
    }
    if !deload && e.rir > MAX_TRAINING_RIR {
        v.push(Violation::new(
            format!("{at}/rir"),
            format!(
                "must be 0 to {MAX_TRAINING_RIR} in a training week (RP's landmarks assume sets 0–4 reps short of \
                 failure, §A4), got {}",
                e.rir
            ),
        ));
    }
    if !deload && input.athlete.experience == Experience::Beginner && e.rir == 0 {
        v.push(Violation::new(
            format!("{at}/rir"),
            "a beginner never trains to failure (RIR 0): novices misjudge reps in reserve most (§A3)",
        ));
    }
}

/// Per exercise id: most sets, lowest RIR and heaviest kg in a week.
#[derive(Clone, Copy, Debug)]
struct WeekEntry {
    sets: u8,
    rir: u8,
}

fn week_entries(week: &PlanWeek) -> HashMap<&str, WeekEntry> {
    let mut map: HashMap<&str, WeekEntry> = HashMap::new();
    for e in week.days.iter().flat_map(|d| &d.exercises) {
        let entry = map.entry(e.exercise_id.as_str()).or_insert(WeekEntry {
            sets: e.sets,
            rir: e.rir,
        });
        entry.sets = entry.sets.max(e.sets);
        entry.rir = entry.rir.min(e.rir);
    }
    map
}

/// Loads against the chart, the log and the +7.5 % cap; deloads against the week before; the RIR
/// ramp within each block.
fn check_loads_and_blocks(
    input: &WorkoutPlanInput,
    out: &WorkoutPlanOutput,
    v: &mut Vec<Violation>,
) {
    let history = history_loads(input);
    let increment = increment_kg(input);
    let layoff = engine::layoff(input);
    // Load of each exercise in the latest earlier training week (the +7.5 % reference).
    let mut reference: HashMap<&str, f64> = HashMap::new();
    let mut previous_training: Option<(usize, HashMap<&str, WeekEntry>)> = None;
    for (i, week) in out.weeks.iter().enumerate() {
        let entries = week_entries(week);
        let mut loads: Vec<(&str, f64)> = Vec::new();
        let load_factor = layoff.as_ref().map_or(1.0, |l| {
            l.band.load_factor(u32::try_from(i + 1).unwrap_or(u32::MAX))
        });
        for (j, day) in week.days.iter().enumerate() {
            for (k, e) in day.exercises.iter().enumerate() {
                let at = PlanAt {
                    week: i,
                    day: j,
                    exercise: Some(k),
                };
                let id = e.exercise_id.as_str();
                let known = engine::exercise(id).is_some();
                check_load(
                    at,
                    e,
                    history.get(id).filter(|_| known),
                    reference.get(id).copied(),
                    engine::WeekLoading {
                        deload: week.deload,
                        increment_kg: increment,
                        layoff_factor: load_factor,
                    },
                    v,
                );
                if let Some(kg) = e.load.kg {
                    loads.push((id, kg));
                }
                let Some((p, before)) = previous_training.as_ref() else {
                    continue;
                };
                let p_week = p + 1;
                let earlier = before.get(id);
                if week.deload {
                    match earlier {
                        None => v.push(Violation::new(
                            format!("{at}/exercise_id"),
                            format!(
                                "a deload keeps the exercises of the training week before it (week {p_week}); `{id}` \
                                 is not in it"
                            ),
                        )),
                        Some(prev) => {
                            let most = prev.sets.div_ceil(2);
                            if e.sets > most {
                                v.push(Violation::new(
                                    format!("{at}/sets"),
                                    format!(
                                        "a deload halves the sets (§A5): at most {most} (week {p_week} had {}), got {}",
                                        prev.sets, e.sets
                                    ),
                                ));
                            }
                            if e.rir <= prev.rir {
                                v.push(Violation::new(
                                    format!("{at}/rir"),
                                    format!(
                                        "a deload lowers the effort (§A5): more than RIR {} of week {p_week}, got {}",
                                        prev.rir, e.rir
                                    ),
                                ));
                            }
                        }
                    }
                } else if *p == i.wrapping_sub(1)
                    && let Some(prev) = earlier
                    && e.rir > prev.rir
                {
                    v.push(Violation::new(
                        format!("{at}/rir"),
                        format!(
                            "RIR ramps down within a block: at most {} (week {p_week}), got {}",
                            prev.rir, e.rir
                        ),
                    ));
                }
            }
        }
        if !week.deload {
            for (id, kg) in loads {
                reference.insert(id, kg);
            }
            previous_training = Some((i, entries));
        }
    }
}

fn check_load(
    at: PlanAt,
    e: &PlanExercise,
    history: Option<&engine::HistoryLoad>,
    reference: Option<f64>,
    week: engine::WeekLoading,
    v: &mut Vec<Violation>,
) {
    let engine::WeekLoading {
        deload,
        increment_kg: increment,
        layoff_factor,
    } = week;
    let load = &e.load;
    let chart = chart_pct(e.rep_range.min, e.rir);
    let mut push = |field: &str, message: String| {
        v.push(Violation::new(format!("{at}/load/{field}"), message));
    };
    if let Some(pct) = load.pct_e1rm {
        match chart {
            Some(c) if pct <= c + PCT_TOLERANCE && pct > 0.0 => {}
            Some(c) => push(
                "pct_e1rm",
                format!(
                    "must be at most {c} %, the RPE chart's cell for {} reps at RIR {} (§A3), got {pct}",
                    e.rep_range.min, e.rir
                ),
            ),
            None => push(
                "pct_e1rm",
                format!(
                    "the RPE chart (§A3) does not cover {} reps at RIR {}: no percentage, use basis `rir`",
                    e.rep_range.min, e.rir
                ),
            ),
        }
    }
    match load.basis {
        LoadBasis::Kg => {
            let (Some(kg), Some(h), Some(c)) = (load.kg, history, chart) else {
                if load.kg.is_none() {
                    push("kg", "required with basis `kg`".to_owned());
                }
                if history.is_none() {
                    push(
                        "basis",
                        format!(
                            "the training log gives no e1RM for `{}`: use `pct_e1rm` or `rir`",
                            e.exercise_id
                        ),
                    );
                } else if chart.is_none() {
                    push(
                        "basis",
                        format!(
                            "the RPE chart (§A3) does not cover {} reps at RIR {}: use basis `rir`",
                            e.rep_range.min, e.rir
                        ),
                    );
                }
                return;
            };
            let chart_kg = h.e1rm_kg * c / 100.0 * layoff_factor;
            if kg > chart_kg + LOAD_EPSILON_KG {
                let ramp = if layoff_factor < 1.0 {
                    format!(", × {layoff_factor:.3} in this week of the return ramp (§A9)")
                } else {
                    String::new()
                };
                push(
                    "kg",
                    format!(
                        "{kg} kg is above what the RPE chart gives for {} reps at RIR {} from the logged e1RM of \
                         {:.1} kg ({chart_kg:.2} kg, §A3{ramp})",
                        e.rep_range.min, e.rir, h.e1rm_kg
                    ),
                );
            }
            if !science::is_on_increment(kg, increment) {
                push(
                    "kg",
                    format!("{kg} kg is not a multiple of the {increment} kg plate increment"),
                );
            }
            match reference {
                Some(r) if deload && kg > r + LOAD_EPSILON_KG => push(
                    "kg",
                    format!(
                        "a deload lightens the load (§A5): at most {r} kg (the training week before), got {kg}"
                    ),
                ),
                Some(r) if !deload && kg > science::hard_cap_kg(r) + LOAD_EPSILON_KG => push(
                    "kg",
                    format!(
                        "{kg} kg is more than +{HARD_CAP_PCT} % over the previous training week's {r} kg (§A5 hard cap)"
                    ),
                ),
                None if kg > h.first_cap_kg + LOAD_EPSILON_KG => push(
                    "kg",
                    format!(
                        "{kg} kg is above {:.2} kg, the most the log allows (+{HARD_CAP_PCT} % over the last working \
                         load; no increase after a missed or lighter session; −10 % after three failures, §A5)",
                        h.first_cap_kg
                    ),
                ),
                _ => {}
            }
        }
        LoadBasis::PctE1rm | LoadBasis::Rir => {
            if load.kg.is_some() {
                push(
                    "kg",
                    format!(
                        "kg only with basis `kg` (from the log's e1RM), not `{}`",
                        load.basis
                    ),
                );
            }
            if load.basis == LoadBasis::PctE1rm && load.pct_e1rm.is_none() {
                push("pct_e1rm", "required with basis `pct_e1rm`".to_owned());
            }
            if load.basis == LoadBasis::Rir && load.pct_e1rm.is_some() {
                push("pct_e1rm", "no percentage with basis `rir`".to_owned());
            }
            if history.is_some() && chart.is_some() {
                push(
                    "basis",
                    format!(
                        "the training log gives an e1RM for `{}`: state the load in kg (basis `kg`)",
                        e.exercise_id
                    ),
                );
            }
        }
    }
}

/// Volume and frequency of every training week against the landmarks and the flags; the stated
/// `weekly_volume` against the first training week.
fn check_volume(input: &WorkoutPlanInput, out: &WorkoutPlanOutput, v: &mut Vec<Violation>) {
    let flagged = |code: FlagCode, muscle: Muscle| {
        out.flags
            .iter()
            .any(|f| f.code == code && f.muscle == muscle)
    };
    let days_per_week = input.days_per_week.get();
    let layoff = engine::layoff(input);
    let mut first: Option<Tally> = None;
    // The training week before (its number and tally), for the week-to-week limit.
    let mut before: Option<(usize, Tally)> = None;
    for (i, week) in out.weeks.iter().enumerate() {
        if week.deload {
            before = None;
            continue;
        }
        let t = Tally::of(week.days.iter().map(|d| {
            d.exercises
                .iter()
                .filter_map(|e| Some((engine::exercise(&e.exercise_id)?, e.sets)))
                .collect::<Vec<(&Exercise, u8)>>()
        }));
        // Seed 003's guardrail: at most +30 % (or one set) a week, after a return ramp's first week.
        if let Some((b, previous)) = &before
            && !(layoff.is_some() && *b == 0)
        {
            for (m, l) in LANDMARKS.iter().enumerate() {
                let limit = engine::volume_limit(previous.weekly(m));
                if t.weekly(m) > limit + SETS_TOLERANCE {
                    v.push(Violation::new(
                        format!("/weeks/{i}"),
                        format!(
                            "{}: {} sets/week after {} in week {}: weekly sets per muscle rise by at most \
                             {} % from one training week to the next (or one set), so at most {limit:.1}",
                            l.muscle,
                            t.weekly(m),
                            previous.weekly(m),
                            b + 1,
                            engine::MAX_WEEKLY_VOLUME_RISE_PCT
                        ),
                    ));
                }
            }
        }
        let ramp = layoff
            .as_ref()
            .is_some_and(|l| l.band.sets_factor(u32::try_from(i + 1).unwrap_or(u32::MAX)) < 1.0);
        before = Some((i, t.clone()));
        if ramp {
            // A return ramp's weeks hold fewer sets by design (§A9): no MEV or frequency floor.
            continue;
        }
        for (m, l) in LANDMARKS.iter().enumerate() {
            let weekly = t.weekly(m);
            let muscle = l.muscle;
            if weekly > f64::from(l.mrv) + SETS_TOLERANCE {
                v.push(Violation::new(
                    format!("/weeks/{i}"),
                    format!(
                        "{muscle}: {weekly} sets/week (secondary muscles count 0.5) exceeds its MRV of {} \
                         (science.md §A4): fewer sets",
                        l.mrv
                    ),
                ));
            }
            if weekly < f64::from(l.mev) - SETS_TOLERANCE && !flagged(FlagCode::BelowMev, muscle) {
                v.push(Violation::new(
                    format!("/weeks/{i}"),
                    format!(
                        "{muscle}: {weekly} sets/week is below its MEV of {} (§A4): more sets, or a `below_mev` flag \
                         saying why",
                        l.mev
                    ),
                ));
            }
            if l.major
                && days_per_week >= MIN_FREQUENCY
                && t.days[m] < MIN_FREQUENCY
                && !flagged(FlagCode::LowFrequency, muscle)
            {
                v.push(Violation::new(
                    format!("/weeks/{i}"),
                    format!(
                        "{muscle} is trained {}×/week, under {MIN_FREQUENCY}× (§A4): spread it over more days, or a \
                         `low_frequency` flag saying why",
                        t.days[m]
                    ),
                ));
            }
        }
        if first.is_none() {
            first = Some(t);
        }
    }
    let Some(t) = first else { return };
    for (j, (got, l)) in out.weekly_volume.iter().zip(&LANDMARKS).enumerate() {
        let at = |field: &str| format!("/weekly_volume/{j}/{field}");
        if got.muscle != l.muscle {
            v.push(Violation::new(
                at("muscle"),
                format!(
                    "must be `{}` (the programmed muscles in a fixed order), got `{}`",
                    l.muscle, got.muscle
                ),
            ));
            continue;
        }
        if got.direct_sets != t.direct[j] {
            v.push(Violation::new(
                at("direct_sets"),
                format!(
                    "must be {}, the first training week's sets of exercises with {} as primary muscle, got {}",
                    t.direct[j], l.muscle, got.direct_sets
                ),
            ));
        }
        if got.indirect_sets != t.indirect[j] {
            v.push(Violation::new(
                at("indirect_sets"),
                format!(
                    "must be {}, the first training week's sets of exercises with {} as a secondary muscle, got {}",
                    t.indirect[j], l.muscle, got.indirect_sets
                ),
            ));
        }
        if (got.weekly_sets - t.weekly(j)).abs() > SETS_TOLERANCE {
            v.push(Violation::new(
                at("weekly_sets"),
                format!(
                    "must be {} (direct + 0.5 × indirect, science.md §A4), got {}",
                    t.weekly(j),
                    got.weekly_sets
                ),
            ));
        }
        if got.frequency != t.days[j] {
            v.push(Violation::new(
                at("frequency"),
                format!(
                    "must be {}, the first training week's days that work {}, got {}",
                    t.days[j], l.muscle, got.frequency
                ),
            ));
        }
        if got.landmarks != landmarks_of(l) {
            v.push(Violation::new(
                at("landmarks"),
                format!(
                    "must be MEV {}, MAV {}–{}, MRV {} (science.md §A4)",
                    l.mev, l.mav_low, l.mav_high, l.mrv
                ),
            ));
        }
    }
}
