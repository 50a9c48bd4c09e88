//! Guardrails for any provider's `exercise_swap` answer: every alternative a real catalogue
//! exercise the athlete may do (the `workout_plan` rules), never the replaced one or an excluded
//! one, its match as the catalogue says, ranked by match; every prescription the slot's sets, reps
//! and RIR, and a load only from the athlete's own log of that alternative (never the replaced
//! lift's), at most the engine's.

use std::collections::HashSet;

use crate::Violation;
use crate::catalogue::Catalogue;
use crate::overload_analysis::engine::{facts_of, plate_increment_kg};
use crate::science::{LOAD_EPSILON_KG, is_on_increment};
use crate::workout_plan::selection::refusal;

use super::candidates;
use super::engine::{own_load, slot};
use super::{ExerciseSwapInput, ExerciseSwapOutput, LoadBasis, SwapFlag};

/// Tolerance on a stated e1RM, kg (the engine rounds to 0.1).
const E1RM_TOLERANCE_KG: f64 = 0.15;

/// Checks an answer; empty = acceptable.
pub fn check(input: &ExerciseSwapInput, output: &ExerciseSwapOutput) -> Vec<Violation> {
    let mut violations = Vec::new();
    let Some(replaced) = input.exercise_id.exercise() else {
        return vec![Violation::new(
            "",
            "the replaced exercise is not in the catalogue",
        )];
    };
    if output.replaced.exercise_id != replaced.id
        || output.replaced.name != replaced.name
        || output.replaced.primary_muscles != replaced.primary_muscles
    {
        violations.push(Violation::new(
            "/replaced",
            format!(
                "must describe `{}` as the catalogue does ({}, primary {:?})",
                replaced.id, replaced.name, replaced.primary_muscles
            ),
        ));
    }
    let count = usize::from(input.count());
    // A provider may use more categories than the engine, so at least what the engine finds.
    let qualified = candidates::rank(input).map_or(0, |ranked| ranked.len());
    let n = output.alternatives.len();
    if n > count || n < count.min(qualified) {
        violations.push(Violation::new(
            "/alternatives",
            format!(
                "must hold {} alternatives ({} asked, {} qualify), not {n}",
                count.min(qualified),
                count,
                qualified
            ),
        ));
    }
    let fewer = output.flags.contains(&SwapFlag::FewerThanRequested);
    if fewer != (n < count) || output.flags.contains(&SwapFlag::HardCap) {
        violations.push(Violation::new(
            "/flags",
            "`fewer_than_requested` exactly when fewer alternatives than `count` are given (and \
             `hard_cap` belongs on a prescription)",
        ));
    }
    let facts = facts_of(input.history());
    let slot = slot(input, &facts);
    let increment = plate_increment_kg(input.plate_increment_kg, input.athlete.units());
    let mut seen = HashSet::new();
    let mut last_quality = None;
    for (i, alt) in output.alternatives.iter().enumerate() {
        let at = |field: &str| format!("/alternatives/{i}{field}");
        if usize::from(alt.rank) != i + 1 {
            violations.push(Violation::new(at("/rank"), format!("must be {}", i + 1)));
        }
        let Some(exercise) = Catalogue::get().by_id(&alt.exercise_id) else {
            violations.push(Violation::new(
                at("/exercise_id"),
                format!("`{}` is not a catalogue exercise", alt.exercise_id),
            ));
            continue;
        };
        if !seen.insert(exercise.id.as_str()) {
            violations.push(Violation::new(at("/exercise_id"), "listed twice"));
        }
        if exercise.id == replaced.id {
            violations.push(Violation::new(
                at("/exercise_id"),
                "is the exercise being replaced",
            ));
        }
        if input.exclude().iter().any(|x| x.as_str() == exercise.id) {
            violations.push(Violation::new(
                at("/exercise_id"),
                format!("`{}` is in `exclude`", exercise.id),
            ));
        }
        if let Some(why) = refusal(&input.athlete, exercise) {
            violations.push(Violation::new(at("/exercise_id"), why));
        }
        if alt.name != exercise.name
            || alt.equipment != exercise.equipment_needed()
            || alt.level != exercise.level
        {
            violations.push(Violation::new(
                at(""),
                format!(
                    "name, equipment and level must be the catalogue's: {}, {}, {}",
                    exercise.name,
                    exercise.equipment_needed(),
                    exercise.level
                ),
            ));
        }
        match candidates::describe(replaced, exercise) {
            None => violations.push(Violation::new(
                at("/exercise_id"),
                format!(
                    "`{}` does not train {:?}, the replaced exercise's primary muscle",
                    exercise.id, replaced.primary_muscles
                ),
            )),
            Some(expected) => {
                if alt.match_quality != expected.quality
                    || alt.shared_primary != expected.shared_primary
                    || alt.shared_secondary != expected.shared_secondary
                {
                    violations.push(Violation::new(
                        at("/match"),
                        format!(
                            "the catalogue makes it `{}` (shared primary {:?}, shared secondary \
                             {:?})",
                            expected.quality, expected.shared_primary, expected.shared_secondary
                        ),
                    ));
                }
                if last_quality.is_some_and(|q| expected.quality < q) {
                    violations.push(Violation::new(
                        at("/rank"),
                        format!(
                            "a `{}` alternative must rank before every looser match",
                            expected.quality
                        ),
                    ));
                }
                last_quality = Some(expected.quality);
            }
        }
        let p = &alt.prescription;
        if p.sets != slot.sets || p.rep_range != slot.rep_range || p.rir != slot.rir {
            violations.push(Violation::new(
                at("/prescription"),
                format!(
                    "must keep the slot: {} sets of {}–{} reps at RIR {}",
                    slot.sets, slot.rep_range.min, slot.rep_range.max, slot.rir
                ),
            ));
        }
        let own = own_load(&facts, exercise, slot, increment);
        match (p.basis, own) {
            (LoadBasis::Rir, _) => {
                if p.load_kg.is_some() || p.e1rm_kg.is_some() {
                    violations.push(Violation::new(
                        at("/prescription/load_kg"),
                        "basis `rir` states no load and no e1RM",
                    ));
                }
            }
            (LoadBasis::OwnLog, None) => violations.push(Violation::new(
                at("/prescription/basis"),
                format!(
                    "the athlete has no usable log of `{}`: basis `rir` without a load (the \
                     replaced exercise's load never carries over)",
                    exercise.id
                ),
            )),
            (LoadBasis::OwnLog, Some(own)) => {
                let load_ok = p.load_kg.is_some_and(|kg| {
                    kg <= own.load_kg + LOAD_EPSILON_KG && is_on_increment(kg, increment)
                });
                if !load_ok {
                    violations.push(Violation::new(
                        at("/prescription/load_kg"),
                        format!(
                            "must be on the {increment} kg increment and at most {} kg (the own \
                             log's e1RM {:.1} kg at {} reps, RIR {}, within +7.5 % of the last \
                             working load)",
                            own.load_kg, own.e1rm_kg, slot.rep_range.max, slot.rir
                        ),
                    ));
                }
                if p.e1rm_kg
                    .is_none_or(|e| (e - own.e1rm_kg).abs() > E1RM_TOLERANCE_KG)
                {
                    violations.push(Violation::new(
                        at("/prescription/e1rm_kg"),
                        format!("the own log gives {:.1} kg", own.e1rm_kg),
                    ));
                }
            }
        }
        if p.flags.contains(&SwapFlag::FewerThanRequested)
            || (p.flags.contains(&SwapFlag::HardCap) && p.basis != LoadBasis::OwnLog)
        {
            violations.push(Violation::new(
                at("/prescription/flags"),
                "only `hard_cap`, and only on a load from the own log",
            ));
        }
    }
    violations
}
