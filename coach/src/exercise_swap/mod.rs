//! The `exercise_swap` kind: ranked alternatives for one exercise the athlete cannot do today
//! (injury, busy gym, missing equipment), each with why it fits and a starting prescription that
//! keeps the slot's sets and reps and takes its load only from the athlete's own log of the
//! alternative — never the replaced lift's load (Liftosaur #100).
//!
//! Which exercises qualify and in what order is [`candidates`]'s: the engine, the guardrails and
//! the business rule (422 when nothing qualifies) all ask it, so they cannot disagree.

pub mod candidates;
pub mod engine;
mod guard;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::athlete::Athlete;
use crate::bounded::{BoundedVec, bounded_number};
use crate::catalogue::{ExerciseId, MAX_EXERCISE_ID_CHARS};
use crate::kind::{example, prompt};
use crate::overload_analysis::{self, LoggedSession, MAX_SESSIONS, PlateIncrementKg};
use crate::science::Rir;
use crate::vocab::{Equipment, Level, Muscle, vocabulary};
use crate::workout_plan::{MAX_LOAD_KG, MAX_NAME_CHARS, MAX_REPS, RepRange};
use crate::{CoachError, FieldError, JobSpec, Prompt, Violation};

bounded_number!(
    /// How many alternatives to return.
    SwapCount(u8), min = 1, max = 10, unit = " alternatives"
);

bounded_number!(
    /// Working sets of the slot being swapped.
    SlotSets(u8), min = 1, max = 10, unit = " sets"
);

bounded_number!(
    /// Reps of the slot being swapped.
    SlotReps(u8), min = 1, max = MAX_REPS, unit = " reps"
);

/// Alternatives returned when `count` is absent.
pub const DEFAULT_COUNT: u8 = 3;
/// Most ids `exclude` may list.
pub const MAX_EXCLUDE: usize = 100;
/// Longest `why` or prescription note, in characters.
pub const MAX_NOTE_CHARS: usize = 600;
/// Longest summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 2000;
/// Largest e1RM an output may state, kg.
pub const MAX_E1RM_KG: f64 = overload_analysis::MAX_E1RM_KG;

vocabulary! {
    /// Why the exercise is swapped (it shapes the ranking's tie-breaks and the wording).
    pub enum SwapReason {
        /// The exercise hurts or is off limits for an injury (`athlete.injuries` says which areas).
        Injury = "injury",
        /// The equipment is missing (`athlete.equipment` says what there is).
        Equipment = "equipment",
        /// The station is taken: alternatives on other equipment rank first within a tier.
        Busy = "busy",
        /// The athlete would rather do something else.
        Preference = "preference",
    }
}

vocabulary! {
    /// How close an alternative is to the replaced exercise.
    pub enum MatchQuality {
        /// Same primary muscle, same force (push/pull) and mechanic (compound/isolation).
        SamePattern = "same_pattern",
        /// Same primary muscle, another force or mechanic.
        SameMuscle = "same_muscle",
        /// Trains the replaced exercise's primary muscle as a secondary muscle.
        Related = "related",
    }
}

vocabulary! {
    /// Where a starting load comes from.
    pub enum LoadBasis {
        /// Kilograms from the athlete's own log of this alternative (e1RM through the RPE chart,
        /// §A3), at most +7.5 % over its last working load (§A5).
        OwnLog = "own_log",
        /// No kilograms: the athlete has not logged this exercise; pick a load that leaves the RIR
        /// target in reserve at the top of the rep range.
        Rir = "rir",
    }
}

vocabulary! {
    /// Notes on the answer as a whole or on one prescription.
    pub enum SwapFlag {
        /// Fewer alternatives qualify than `count` asked for.
        FewerThanRequested = "fewer_than_requested",
        /// A load was clamped to +7.5 % over the alternative's last working load (§A5).
        HardCap = "hard_cap",
    }
}

/// The slot being swapped, as the plan prescribes it: the alternative keeps its sets, reps and RIR.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// Working sets.
    pub sets: SlotSets,
    /// Bottom of the rep range.
    pub reps_min: SlotReps,
    /// Top of the rep range (at least `reps_min`).
    pub reps_max: SlotReps,
    /// Reps in reserve on every working set.
    pub rir: Rir,
}

/// Input of an `exercise_swap` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExerciseSwapInput {
    /// The athlete: equipment, experience and injuries decide which alternatives qualify (the
    /// rules of `workout_plan`).
    pub athlete: Athlete,
    /// The exercise to replace (catalogue id).
    pub exercise_id: ExerciseId,
    /// Why it is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<SwapReason>,
    /// How many alternatives (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<SwapCount>,
    /// Exercises never to suggest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<BoundedVec<ExerciseId, MAX_EXCLUDE>>,
    /// The slot's prescription; without it, the replaced exercise's last logged sets, else the
    /// goal's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
    /// Smallest total load step available; default 2.5 kg (kg) or 5 lb (lb).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate_increment_kg: Option<PlateIncrementKg>,
    /// Training log (the `overload_analysis` format): alternatives logged here get loads in kg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<BoundedVec<LoggedSession, MAX_SESSIONS>>,
}

impl ExerciseSwapInput {
    /// Alternatives asked for.
    pub fn count(&self) -> u8 {
        self.count.map_or(DEFAULT_COUNT, |c| c.get())
    }

    /// The excluded ids (none when absent).
    pub fn exclude(&self) -> &[ExerciseId] {
        self.exclude.as_ref().map_or(&[], |e| e.as_slice())
    }

    /// The logged sessions (none when absent).
    pub fn history(&self) -> &[LoggedSession] {
        self.history.as_ref().map_or(&[], |h| h.as_slice())
    }

    /// Why (`preference` when absent).
    pub fn reason(&self) -> SwapReason {
        self.reason.unwrap_or(SwapReason::Preference)
    }
}

/// The exercise replaced, as the catalogue describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replaced {
    /// Catalogue id.
    #[schemars(length(min = 1, max = MAX_EXERCISE_ID_CHARS))]
    pub exercise_id: String,
    /// Catalogue name.
    #[schemars(length(min = 1, max = MAX_NAME_CHARS))]
    pub name: String,
    /// Its primary muscles.
    #[schemars(length(min = 1, max = Muscle::ALL.len()))]
    pub primary_muscles: Vec<Muscle>,
}

/// Where to start with an alternative.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapPrescription {
    /// Working sets: the slot's.
    #[schemars(range(min = SlotSets::MIN, max = SlotSets::MAX))]
    pub sets: u8,
    /// Reps per set: the slot's range.
    pub rep_range: RepRange,
    /// Reps in reserve on every working set: the slot's.
    #[schemars(range(min = Rir::MIN, max = Rir::MAX))]
    pub rir: u8,
    /// Where the load comes from.
    pub basis: LoadBasis,
    /// Kilograms on the plate increment (only with basis `own_log`).
    #[schemars(range(min = 0.0, max = MAX_LOAD_KG))]
    pub load_kg: Option<f64>,
    /// The e1RM the load comes from (only with basis `own_log`), kg.
    #[schemars(range(min = 0.0, max = MAX_E1RM_KG))]
    pub e1rm_kg: Option<f64>,
    /// `hard_cap` when the load was clamped.
    #[schemars(length(max = 1))]
    pub flags: Vec<SwapFlag>,
    /// How to start, in plain words.
    #[schemars(length(min = 1, max = MAX_NOTE_CHARS))]
    pub note: String,
}

/// One alternative.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// 1 = the best fit.
    #[schemars(range(min = 1, max = SwapCount::MAX))]
    pub rank: u8,
    /// Catalogue id.
    #[schemars(length(min = 1, max = MAX_EXERCISE_ID_CHARS))]
    pub exercise_id: String,
    /// Catalogue name.
    #[schemars(length(min = 1, max = MAX_NAME_CHARS))]
    pub name: String,
    /// Equipment it needs.
    pub equipment: Equipment,
    /// Catalogue level.
    pub level: Level,
    /// How close it is to the replaced exercise.
    #[serde(rename = "match")]
    pub match_quality: MatchQuality,
    /// The replaced exercise's primary muscles it trains as primary muscles.
    #[schemars(length(max = Muscle::ALL.len()))]
    pub shared_primary: Vec<Muscle>,
    /// Secondary muscles both exercises list.
    #[schemars(length(max = Muscle::ALL.len()))]
    pub shared_secondary: Vec<Muscle>,
    /// Why it fits, in plain words.
    #[schemars(length(min = 1, max = MAX_NOTE_CHARS))]
    pub why: String,
    /// Where to start.
    pub prescription: SwapPrescription,
}

/// Output of an `exercise_swap` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExerciseSwapOutput {
    /// The exercise replaced.
    pub replaced: Replaced,
    /// The alternatives, best first (`count` of them, or all that qualify when fewer).
    #[schemars(length(min = 1, max = SwapCount::MAX))]
    pub alternatives: Vec<Alternative>,
    /// `fewer_than_requested` when fewer than `count` qualify.
    #[schemars(length(max = 1))]
    pub flags: Vec<SwapFlag>,
    /// The answer in plain words.
    #[schemars(length(min = 1, max = MAX_SUMMARY_CHARS))]
    pub summary: String,
}

/// The `exercise_swap` kind.
#[derive(Clone, Copy, Debug)]
pub struct ExerciseSwap;

impl JobSpec for ExerciseSwap {
    const NAME: &'static str = "exercise_swap";
    const DESCRIPTION: &'static str = "Ranked alternatives for one exercise under the athlete's equipment, level and injuries (same movement pattern and primary muscle first), each with why it fits and a starting prescription that keeps the slot's sets and reps, with a load only from the athlete's own log of the alternative, never the replaced lift's.";
    const PROMPT: Prompt = prompt!("exercise_swap");
    const EXAMPLE: &'static str = example!("exercise_swap");
    type Input = ExerciseSwapInput;
    type Output = ExerciseSwapOutput;

    fn business_rules(input: &ExerciseSwapInput) -> Vec<FieldError> {
        let mut broken = overload_analysis::history_rules(input.history());
        if let Some(slot) = &input.slot
            && slot.reps_min.get() > slot.reps_max.get()
        {
            broken.push(FieldError::new(
                "slot.reps_max",
                format!(
                    "the top of the rep range ({}) is below its bottom ({})",
                    slot.reps_max.get(),
                    slot.reps_min.get()
                ),
            ));
        }
        if let Err(none) = candidates::rank(input) {
            broken.push(none);
        }
        broken
    }

    fn run(input: &ExerciseSwapInput) -> Result<ExerciseSwapOutput, CoachError> {
        engine::run(input)
    }

    fn check(input: &ExerciseSwapInput, output: &ExerciseSwapOutput) -> Vec<Violation> {
        guard::check(input, output)
    }
}
