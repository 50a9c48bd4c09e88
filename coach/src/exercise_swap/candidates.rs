//! Which catalogue exercises may replace the swapped one, and in what order \[C\].
//!
//! # Who qualifies
//!
//! An exercise that trains the replaced exercise's primary muscle (as its own primary muscle, or as
//! a secondary one: [`quality`]) and that the athlete may do by the rules of `workout_plan`
//! ([`selection`]): the engine picks from `strength` and `powerlifting` exercises with reps (no
//! static holds), within the athlete's level, equipment and injuries; any provider may also use
//! the other resistance-training categories. Never the exercise itself, never an `exclude`d id.
//!
//! # Order
//!
//! By [`MatchQuality`] (same pattern, then same muscle, then related), then a shared movement word
//! in the catalogue id (`squat`, `press`, `row`, …), then — when the station is busy — other
//! equipment before the same, then more shared secondary muscles, then exercises the athlete has
//! logged, then the id (a stable order).

use std::cmp::Reverse;

use crate::FieldError;
use crate::catalogue::{Catalogue, Exercise};
use crate::vocab::{Force, Muscle};
use crate::workout_plan::selection::{
    ENGINE_CATEGORIES, has_equipment, injured_areas, injury_exclusion, level_allowed,
};

use super::{ExerciseSwapInput, MatchQuality, SwapReason};

/// Movement words of catalogue ids: two exercises whose ids share one move alike.
const MOVEMENT_WORDS: &[&str] = &[
    "squat",
    "lunge",
    "deadlift",
    "press",
    "row",
    "curl",
    "extension",
    "fly",
    "flye",
    "raise",
    "pulldown",
    "pullup",
    "chin",
    "dip",
    "crunch",
    "bridge",
    "thrust",
    "step",
    "shrug",
    "pushup",
    "kickback",
    "pullover",
    "swing",
    "clean",
    "snatch",
    "jerk",
    "hyperextension",
    "calf",
];

/// One qualifying alternative and how it matches.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The catalogue record.
    pub exercise: &'static Exercise,
    /// How close it is.
    pub quality: MatchQuality,
    /// The replaced exercise's primary muscles it trains as primary muscles.
    pub shared_primary: Vec<Muscle>,
    /// Secondary muscles both list.
    pub shared_secondary: Vec<Muscle>,
}

/// How `candidate` matches `replaced`; `None` when it does not train the replaced exercise's
/// primary muscle at all.
pub fn quality(replaced: &Exercise, candidate: &Exercise) -> Option<MatchQuality> {
    let primary = replaced
        .primary_muscles
        .iter()
        .any(|m| candidate.primary_muscles.contains(m));
    if primary {
        let same_pattern =
            candidate.force == replaced.force && candidate.mechanic == replaced.mechanic;
        return Some(if same_pattern {
            MatchQuality::SamePattern
        } else {
            MatchQuality::SameMuscle
        });
    }
    replaced
        .primary_muscles
        .iter()
        .any(|m| candidate.secondary_muscles.contains(m))
        .then_some(MatchQuality::Related)
}

/// The candidate record of `candidate` against `replaced` (`None` when [`quality`] is `None`).
pub fn describe(replaced: &Exercise, candidate: &'static Exercise) -> Option<Candidate> {
    let quality = quality(replaced, candidate)?;
    let shared = |mine: &[Muscle], theirs: &[Muscle]| -> Vec<Muscle> {
        mine.iter()
            .copied()
            .filter(|m| theirs.contains(m))
            .collect()
    };
    Some(Candidate {
        exercise: candidate,
        quality,
        shared_primary: shared(&replaced.primary_muscles, &candidate.primary_muscles),
        shared_secondary: shared(&replaced.secondary_muscles, &candidate.secondary_muscles),
    })
}

/// The movement words of an id (`dumbbell-lunges` → `lunge`).
fn movement_words(id: &str) -> impl Iterator<Item = &str> {
    id.split('-')
        .map(|word| word.strip_suffix('s').unwrap_or(word))
        .filter(|word| MOVEMENT_WORDS.contains(word))
}

fn shares_movement(replaced: &Exercise, candidate: &Exercise) -> bool {
    movement_words(&candidate.id).any(|w| movement_words(&replaced.id).any(|r| r == w))
}

/// One step of the filter chain, in the order applied; the step that removes the last candidate
/// is the one a 422 names.
struct Step {
    /// The input field the constraint comes from.
    field: &'static str,
    /// What the constraint is, in plain words.
    what: &'static str,
    keeps: fn(&ExerciseSwapInput, &[Muscle], &Exercise) -> bool,
}

const STEPS: [Step; 5] = [
    Step {
        field: "exclude",
        what: "the `exclude` list",
        keeps: |input, _, e| !input.exclude().iter().any(|x| x.as_str() == e.id),
    },
    Step {
        field: "exercise_id",
        what: "the engine's categories (strength and powerlifting exercises done for reps)",
        keeps: |_, _, e| ENGINE_CATEGORIES.contains(&e.category) && e.force != Some(Force::Static),
    },
    Step {
        field: "athlete.experience",
        what: "the athlete's level",
        keeps: |input, _, e| level_allowed(input.athlete.experience, e.level),
    },
    Step {
        field: "athlete.equipment",
        what: "the athlete's equipment",
        keeps: |input, _, e| has_equipment(&input.athlete, e),
    },
    Step {
        field: "athlete.injuries",
        what: "the athlete's injuries",
        keeps: |_, injured, e| injured.iter().all(|a| injury_exclusion(e, *a).is_none()),
    },
];

/// Every alternative the engine may give, best first; or the 422 naming the constraint that
/// removed the last candidate.
pub fn rank(input: &ExerciseSwapInput) -> Result<Vec<Candidate>, FieldError> {
    let replaced = input
        .exercise_id
        .exercise()
        .ok_or_else(|| FieldError::new("exercise_id", "not a catalogue exercise"))?;
    let mut pool: Vec<Candidate> = Catalogue::get()
        .all()
        .iter()
        .filter(|e| e.id != replaced.id)
        .filter_map(|e| describe(replaced, e))
        .collect();
    let muscles: Vec<&str> = replaced
        .primary_muscles
        .iter()
        .map(|m| m.as_str())
        .collect();
    if pool.is_empty() {
        return Err(FieldError::new(
            "exercise_id",
            format!(
                "no catalogue exercise trains {} besides `{}`",
                muscles.join(" or "),
                replaced.id
            ),
        ));
    }
    let injured = injured_areas(&input.athlete);
    for step in &STEPS {
        let before = pool.len();
        pool.retain(|c| (step.keeps)(input, &injured, c.exercise));
        if pool.is_empty() {
            return Err(FieldError::new(
                step.field,
                format!(
                    "no alternative to `{}` qualifies: {} removed the last {before} candidate{} \
                     that train {}",
                    replaced.id,
                    step.what,
                    if before == 1 { "" } else { "s" },
                    muscles.join(" or "),
                ),
            )
            .with_details(serde_json::json!({
                "constraint": step.field,
                "removed": before,
                "muscles": muscles,
            })));
        }
    }
    let logged: Vec<&str> = input
        .history()
        .iter()
        .flat_map(|s| s.exercises.as_slice())
        .map(|e| e.exercise_id.as_str())
        .collect();
    let busy = input.reason() == SwapReason::Busy;
    pool.sort_by_key(|c| {
        let e = c.exercise;
        (
            c.quality,
            !shares_movement(replaced, e),
            busy && e.equipment_needed() == replaced.equipment_needed(),
            Reverse(c.shared_secondary.len()),
            !logged.contains(&e.id.as_str()),
            e.id.as_str(),
        )
    });
    Ok(pool)
}
