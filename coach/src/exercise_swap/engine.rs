//! The deterministic `exercise_swap` answer: the first `count` of [`candidates::rank`], each with
//! the slot's sets, reps and RIR ([`slot`]) and a load from the athlete's own log of that
//! alternative ([`own_load`]) or none.

use crate::athlete::Athlete;
use crate::catalogue::Exercise;
use crate::overload_analysis::MAX_PRESCRIBED_RIR;
use crate::overload_analysis::engine::{
    DEFAULT_TARGET_RIR, ExerciseFacts, facts_of, plate_increment_kg,
};
use crate::science::{self, LOAD_EPSILON_KG};
use crate::workout_plan::RepRange;
use crate::workout_plan::engine::{is_compound, shape};
use crate::{CoachError, JobKind};

use super::candidates::{self, Candidate};
use super::{
    Alternative, ExerciseSwapInput, ExerciseSwapOutput, LoadBasis, MatchQuality, Replaced,
    SwapFlag, SwapPrescription,
};

/// Working sets when neither the slot nor the log says \[C\] (the middle of 2–4 working sets per
/// exercise, §A4).
pub const DEFAULT_SETS: u8 = 3;

/// Sets, reps and RIR every alternative keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlotShape {
    /// Working sets.
    pub sets: u8,
    /// Reps per set.
    pub rep_range: RepRange,
    /// Reps in reserve.
    pub rir: u8,
}

/// The slot every alternative keeps: the input's `slot`; else the replaced exercise's last logged
/// session (its sets at the working load, its target reps, its RIR rounded, at most
/// [`MAX_PRESCRIBED_RIR`]); else [`DEFAULT_SETS`] of the goal's rep range for the replaced
/// exercise at [`DEFAULT_TARGET_RIR`].
pub fn slot(input: &ExerciseSwapInput, facts: &[ExerciseFacts]) -> SlotShape {
    if let Some(slot) = &input.slot {
        return SlotShape {
            sets: slot.sets.get(),
            rep_range: RepRange {
                min: slot.reps_min.get(),
                max: slot.reps_max.get(),
            },
            rir: slot.rir.get(),
        };
    }
    let logged = facts
        .iter()
        .find(|f| f.id == input.exercise_id)
        .and_then(ExerciseFacts::last);
    if let Some(last) = logged {
        let reps = last.target_reps.max(1);
        return SlotShape {
            sets: last.sets_at_load.clamp(1, super::SlotSets::MAX),
            rep_range: RepRange {
                min: reps,
                max: reps,
            },
            rir: last
                .target_rir
                .map_or(DEFAULT_TARGET_RIR, |r| r.round().clamp(0.0, 3.0) as u8)
                .min(MAX_PRESCRIBED_RIR),
        };
    }
    let athlete: &Athlete = &input.athlete;
    let compound = input.exercise_id.exercise().is_some_and(is_compound);
    let s = shape(athlete.goal, athlete.experience, compound);
    SlotShape {
        sets: DEFAULT_SETS,
        rep_range: RepRange {
            min: s.reps_min,
            max: s.reps_max,
        },
        rir: DEFAULT_TARGET_RIR,
    }
}

/// A load from the athlete's own log of an exercise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OwnLoad {
    /// Its most recent session's best-set e1RM, kg.
    pub e1rm_kg: f64,
    /// The load for the top of the rep range at the RIR, rounded down to the plate increment and
    /// at most +7.5 % over its last working load (§A5).
    pub load_kg: f64,
    /// The +7.5 % cap cut it.
    pub capped: bool,
}

/// The load the athlete's own log of `exercise` gives for `slot`: `None` without a logged set
/// usable for e1RM, with reps beyond the RPE chart, or when it rounds to nothing.
pub fn own_load(
    facts: &[ExerciseFacts],
    exercise: &Exercise,
    slot: SlotShape,
    increment_kg: f64,
) -> Option<OwnLoad> {
    let facts = facts.iter().find(|f| f.id.as_str() == exercise.id)?;
    let e1rm_kg = facts.series.last()?.e1rm_kg;
    let target = science::load_for(e1rm_kg, slot.rep_range.max, f64::from(slot.rir))?;
    let cap = science::hard_cap_kg(facts.last_load_kg());
    let capped = target > cap + LOAD_EPSILON_KG && facts.last_load_kg() > 0.0;
    let load_kg = science::round_down_to_increment(if capped { cap } else { target }, increment_kg);
    (load_kg > 0.0).then_some(OwnLoad {
        e1rm_kg,
        load_kg,
        capped,
    })
}

/// The deterministic answer.
pub fn run(input: &ExerciseSwapInput) -> Result<ExerciseSwapOutput, CoachError> {
    let engine_error = |message: String| CoachError::Engine {
        kind: JobKind::ExerciseSwap,
        message,
    };
    let replaced = input.exercise_id.exercise().ok_or_else(|| {
        engine_error(format!(
            "`{}` is not in the catalogue",
            input.exercise_id.as_str()
        ))
    })?;
    let ranked = candidates::rank(input).map_err(|e| engine_error(e.message))?;
    let facts = facts_of(input.history());
    let slot = slot(input, &facts);
    let increment = plate_increment_kg(input.plate_increment_kg, input.athlete.units());
    let count = usize::from(input.count());
    let alternatives: Vec<Alternative> = ranked
        .iter()
        .take(count)
        .zip(1..)
        .map(|(candidate, rank)| alternative(candidate, rank, replaced, &facts, slot, increment))
        .collect();
    let mut flags = Vec::new();
    if alternatives.len() < count {
        flags.push(SwapFlag::FewerThanRequested);
    }
    let names: Vec<&str> = alternatives.iter().map(|a| a.name.as_str()).collect();
    let mut summary = format!(
        "{} alternative{} to {} ({}), best first: {}. Each keeps the slot: {} × {}–{} reps at RIR \
         {}; loads come only from your own log of each alternative, never from {}.",
        alternatives.len(),
        if alternatives.len() == 1 { "" } else { "s" },
        replaced.name,
        input.reason(),
        names.join(", "),
        slot.sets,
        slot.rep_range.min,
        slot.rep_range.max,
        slot.rir,
        replaced.name,
    );
    if alternatives.len() < count {
        summary.push_str(&format!(
            " Only {} qualif{} under the athlete's equipment, level and injuries.",
            alternatives.len(),
            if alternatives.len() == 1 { "ies" } else { "y" }
        ));
    }
    Ok(ExerciseSwapOutput {
        replaced: Replaced {
            exercise_id: replaced.id.clone(),
            name: replaced.name.clone(),
            primary_muscles: replaced.primary_muscles.clone(),
        },
        alternatives,
        flags,
        summary,
    })
}

fn alternative(
    candidate: &Candidate,
    rank: u8,
    replaced: &Exercise,
    facts: &[ExerciseFacts],
    slot: SlotShape,
    increment_kg: f64,
) -> Alternative {
    let e = candidate.exercise;
    let muscles: Vec<&str> = candidate
        .shared_primary
        .iter()
        .map(|m| m.as_str())
        .collect();
    let why = match candidate.quality {
        MatchQuality::SamePattern => format!(
            "Trains {} like {} with the same {} movement, on {}.",
            muscles.join(" and "),
            replaced.name,
            e.mechanic.map_or("", |m| m.as_str()),
            e.equipment_needed()
        ),
        MatchQuality::SameMuscle => format!(
            "Trains {} like {}, with a different movement, on {}.",
            muscles.join(" and "),
            replaced.name,
            e.equipment_needed()
        ),
        MatchQuality::Related => format!(
            "Trains {} as a secondary muscle (its main muscle is {}), on {}: the closest option \
             left.",
            replaced
                .primary_muscles
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
            e.primary_muscles
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
            e.equipment_needed()
        ),
    };
    let prescription = match own_load(facts, e, slot, increment_kg) {
        Some(own) => SwapPrescription {
            sets: slot.sets,
            rep_range: slot.rep_range,
            rir: slot.rir,
            basis: LoadBasis::OwnLog,
            load_kg: Some(own.load_kg),
            e1rm_kg: Some(own.e1rm_kg),
            flags: if own.capped {
                vec![SwapFlag::HardCap]
            } else {
                Vec::new()
            },
            note: format!(
                "From your own log of {}: e1RM {:.1} kg, so {} kg for {} reps at RIR {}{}.",
                e.name,
                own.e1rm_kg,
                own.load_kg,
                slot.rep_range.max,
                slot.rir,
                if own.capped {
                    ", held to +7.5 % over your last working load"
                } else {
                    ""
                }
            ),
        },
        None => SwapPrescription {
            sets: slot.sets,
            rep_range: slot.rep_range,
            rir: slot.rir,
            basis: LoadBasis::Rir,
            load_kg: None,
            e1rm_kg: None,
            flags: Vec::new(),
            note: format!(
                "No usable log of {}: pick a load you could lift about {} times, so every set \
                 of {} ends with {} reps in reserve; the load of {} does not carry over.",
                e.name,
                u16::from(slot.rep_range.max) + u16::from(slot.rir),
                slot.rep_range.max,
                slot.rir,
                replaced.name
            ),
        },
    };
    Alternative {
        rank,
        exercise_id: e.id.clone(),
        name: e.name.clone(),
        equipment: e.equipment_needed(),
        level: e.level,
        match_quality: candidate.quality,
        shared_primary: candidate.shared_primary.clone(),
        shared_secondary: candidate.shared_secondary.clone(),
        why,
        prescription,
    }
}
