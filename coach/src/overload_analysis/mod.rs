//! The `overload_analysis` kind: from a training log (sessions of exercises of sets, each with load,
//! reps, effort and set type), per exercise the e1RM series, its trend and status, the best set, the
//! next session's prescription and flags, plus weekly volume per muscle and a summary.
//!
//! The science (chart, formulas, guardrails) is in [`crate::science`]; the thresholds that are this
//! kind's own choices are in [`engine`] (tagged \[C\]).

pub mod engine;
mod guard;

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::athlete::Athlete;
use crate::bounded::{BoundedVec, bounded_number};
use crate::catalogue::{ExerciseId, MAX_EXERCISE_ID_CHARS};
use crate::date::IsoDate;
use crate::kind::{example, prompt};
use crate::layoff::ReturnFromLayoff;
use crate::science::{CHART_MAX_REPS, rir_from_rpe};
use crate::vocab::{Muscle, vocabulary};
use crate::{CoachError, FieldError, JobSpec, Prompt, Violation};

bounded_number!(
    /// Load of one set in kg (0 = body weight only). 600 kg is above every raw world record.
    WeightKg(f64), min = 0.0, max = 600.0, unit = " kg"
);

bounded_number!(
    /// Reps completed in one set (0 = a missed attempt).
    SetReps(u8), min = 0, max = 100, unit = " reps"
);

/// Reps in reserve after a set (the shared [`crate::science::Rir`]).
pub use crate::science::Rir;

bounded_number!(
    /// The reps each working set aimed for, when the log records it.
    TargetReps(u8), min = 1, max = 100, unit = " reps"
);

bounded_number!(
    /// The smallest total load step the athlete can make (e.g. 2.5 kg = a pair of 1.25 kg plates;
    /// microloading goes down to 0.25 kg, §A5).
    PlateIncrementKg(f64), min = 0.25, max = 10.0, unit = " kg"
);

/// Most sessions a history may hold (about a year at four sessions a week).
pub const MAX_SESSIONS: usize = 200;
/// Most exercises one session may log.
pub const MAX_EXERCISES_PER_SESSION: usize = 20;
/// Most sets one exercise of one session may log.
pub const MAX_SETS_PER_EXERCISE: usize = 30;
/// Most distinct exercises an output may analyse.
pub const MAX_EXERCISES: usize = 100;
/// Most sets a prescription may give.
pub const MAX_PRESCRIBED_SETS: u8 = 10;
/// Most reps in reserve a prescription may give (whole reps within the chart's 3.5, §A3).
pub const MAX_PRESCRIBED_RIR: u8 = 3;
/// Longest per-exercise note, in characters.
pub const MAX_NOTE_CHARS: usize = 600;
/// Longest summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 3000;
/// Most weeks a history can cover (dates span at most 1900–2200, see [`crate::date`]).
pub const MAX_WEEKS_COVERED: u16 = 16_000;
/// Largest e1RM any output may state, kg.
pub const MAX_E1RM_KG: f64 = 1000.0;
/// Largest sets-per-week figure an output may state.
pub const MAX_WEEKLY_SETS: f64 =
    (MAX_SESSIONS * MAX_EXERCISES_PER_SESSION * MAX_SETS_PER_EXERCISE) as f64;

/// RPE on the RIR-based scale (Zourdos et al. 2016, §A3): 1 to 10 in steps of 0.5.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Rpe(f64);

impl Rpe {
    /// Lowest RPE.
    pub const MIN: f64 = 1.0;
    /// Highest RPE (maximal effort, 0 RIR).
    pub const MAX: f64 = 10.0;
    /// Step (halves allowed).
    pub const STEP: f64 = 0.5;

    /// Checked constructor.
    pub fn new(value: f64) -> Result<Self, String> {
        let steps = value / Self::STEP;
        if !(Self::MIN..=Self::MAX).contains(&value) || steps.fract() != 0.0 {
            return Err(format!(
                "must be between {} and {} in steps of {}, got {value}",
                Self::MIN,
                Self::MAX,
                Self::STEP
            ));
        }
        Ok(Self(value))
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Rpe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = crate::bounded::NumberVisitor {
            minimum: Self::MIN,
            maximum: Self::MAX,
            integer: false,
        };
        let raw = deserializer.deserialize_f64(visitor)?;
        Rpe::new(raw).map_err(de::Error::custom)
    }
}

impl JsonSchema for Rpe {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Rpe".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "minimum": Self::MIN,
            "maximum": Self::MAX,
            "multipleOf": Self::STEP,
        })
    }
}

vocabulary! {
    /// What a set was for. Warm-ups never count as working sets (§C Formly).
    pub enum SetType {
        /// Warm-up: ignored for e1RM, progression and volume.
        Warmup = "warmup",
        /// A straight working set.
        Working = "working",
        /// A top set (heaviest set of the day).
        Top = "top",
        /// A back-off set after a top set.
        Backoff = "backoff",
        /// A drop set (counts as volume, not as a comparable load).
        Drop = "drop",
        /// As many reps as possible (taken to failure unless effort says otherwise).
        Amrap = "amrap",
        /// A set taken to failure.
        Failure = "failure",
    }
}

impl SetType {
    /// True for every type but warm-ups (these sets count as working volume).
    pub fn is_working(self) -> bool {
        self != SetType::Warmup
    }

    /// True for sets whose load is a comparable working load (not warm-ups, not drop sets).
    pub fn is_comparable(self) -> bool {
        !matches!(self, SetType::Warmup | SetType::Drop)
    }
}

/// One logged set. Effort is `rir` or `rpe`, never both.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = { "required": ["rir", "rpe"] }))]
pub struct LoggedSet {
    /// Load in kg.
    pub weight_kg: WeightKg,
    /// Reps completed.
    pub reps: SetReps,
    /// Reps in reserve (0–10). Give this or `rpe`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rir: Option<Rir>,
    /// RPE (1–10, halves allowed; RIR = 10 − RPE). Give this or `rir`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpe: Option<Rpe>,
    /// What the set was for.
    pub set_type: SetType,
}

impl LoggedSet {
    /// Reps in reserve, from `rir` or from `rpe` (RIR = 10 − RPE, §A3); for `failure` and `amrap` sets
    /// without effort, 0. `None` when unknown.
    pub fn rir(&self) -> Option<f64> {
        match (self.rir, self.rpe) {
            (Some(rir), _) => Some(f64::from(rir.get())),
            (None, Some(rpe)) => Some(rir_from_rpe(rpe.get())),
            (None, None) if matches!(self.set_type, SetType::Failure | SetType::Amrap) => Some(0.0),
            (None, None) => None,
        }
    }
}

/// The "not both efforts" rule of every logged set, whichever kind carries it.
pub(crate) fn one_effort(rir: Option<Rir>, rpe: Option<Rpe>) -> Result<(), &'static str> {
    if rir.is_some() && rpe.is_some() {
        return Err("give either `rir` or `rpe` for a set, not both (RIR = 10 − RPE)");
    }
    Ok(())
}

/// The wire form of a set before the "not both efforts" rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    weight_kg: WeightKg,
    reps: SetReps,
    #[serde(default)]
    rir: Option<Rir>,
    #[serde(default)]
    rpe: Option<Rpe>,
    set_type: SetType,
}

impl<'de> Deserialize<'de> for LoggedSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawSet::deserialize(deserializer)?;
        one_effort(raw.rir, raw.rpe).map_err(de::Error::custom)?;
        Ok(LoggedSet {
            weight_kg: raw.weight_kg,
            reps: raw.reps,
            rir: raw.rir,
            rpe: raw.rpe,
            set_type: raw.set_type,
        })
    }
}

/// One exercise of a logged session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoggedExercise {
    /// The exercise (catalogue id).
    pub exercise_id: ExerciseId,
    /// The reps each working set aimed for; when absent, the reps of the first working set at the
    /// session's working load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_reps: Option<TargetReps>,
    /// The sets, in the order done (at least one).
    pub sets: BoundedVec<LoggedSet, MAX_SETS_PER_EXERCISE>,
}

/// One logged session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoggedSession {
    /// When.
    pub date: IsoDate,
    /// The exercises done (at least one).
    pub exercises: BoundedVec<LoggedExercise, MAX_EXERCISES_PER_SESSION>,
}

/// Input of an `overload_analysis` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverloadAnalysisInput {
    /// The athlete (`units` picks the default plate increment).
    pub athlete: Athlete,
    /// Smallest total load step available; default 2.5 kg (kg) or 5 lb (lb).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate_increment_kg: Option<PlateIncrementKg>,
    /// The training log, any order (sorted by date; same-day sessions keep their order).
    pub history: BoundedVec<LoggedSession, MAX_SESSIONS>,
    /// The day of the next session: two weeks or more after the last logged session, the return
    /// rules of §A9 cut its loads and sets (flagged `return_from_layoff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<IsoDate>,
}

vocabulary! {
    /// Direction of an exercise's e1RM trend.
    pub enum Status {
        /// e1RM rising faster than the plateau band.
        Progressing = "progressing",
        /// e1RM within the plateau band.
        Plateau = "plateau",
        /// e1RM falling faster than the plateau band.
        Regressing = "regressing",
    }
}

vocabulary! {
    /// Why a prescription is what it is.
    pub enum Flag {
        /// The load was clamped to +7.5 % over the last comparable working load (§A5).
        HardCap = "hard_cap",
        /// Stalled or regressing: take a deload week or switch to a close variation (§A5).
        DeloadSuggested = "deload_suggested",
        /// Three failed sessions in a row: load reset by −10 % (§A5).
        ResetAfterFailures = "reset_after_failures",
        /// Too few usable sessions for a trend.
        InsufficientData = "insufficient_data",
        /// Two weeks or more since the last session: loads and sets cut by §A9.
        ReturnFromLayoff = "return_from_layoff",
    }
}

/// One point of an e1RM series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct E1rmPoint {
    /// Session date.
    pub date: IsoDate,
    /// The session's best-set e1RM, kg (RTS chart, §A3).
    #[schemars(range(min = 0.0, max = MAX_E1RM_KG))]
    pub e1rm_kg: f64,
}

/// The set with the highest e1RM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BestSet {
    /// Session date.
    pub date: IsoDate,
    /// Load, kg.
    #[schemars(range(min = WeightKg::MIN, max = WeightKg::MAX))]
    pub weight_kg: f64,
    /// Reps done.
    #[schemars(range(min = 1, max = CHART_MAX_REPS))]
    pub reps: u8,
    /// Reps in reserve (halves from RPE).
    #[schemars(range(min = 0.0, max = 10.0))]
    pub rir: f64,
    /// Its e1RM, kg.
    #[schemars(range(min = 0.0, max = MAX_E1RM_KG))]
    pub e1rm_kg: f64,
}

/// The next session for one exercise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prescription {
    /// Working sets.
    #[schemars(range(min = 1, max = MAX_PRESCRIBED_SETS))]
    pub sets: u8,
    /// Reps per set (on the RPE chart).
    #[schemars(range(min = 1, max = CHART_MAX_REPS))]
    pub reps: u8,
    /// Reps in reserve per set.
    #[schemars(range(min = 0, max = MAX_PRESCRIBED_RIR))]
    pub rir: u8,
    /// Load, kg, on the plate increment.
    #[schemars(range(min = WeightKg::MIN, max = WeightKg::MAX))]
    pub weight_kg: f64,
}

/// The analysis of one exercise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExerciseAnalysis {
    /// The exercise id.
    #[schemars(length(min = 1, max = MAX_EXERCISE_ID_CHARS))]
    pub exercise_id: String,
    /// Sessions with at least one working set of it.
    #[schemars(range(min = 1, max = MAX_SESSIONS))]
    pub sessions: u16,
    /// Best-set e1RM per session with a usable set, oldest first.
    #[schemars(length(max = MAX_SESSIONS))]
    pub e1rm_series: Vec<E1rmPoint>,
    /// Least-squares e1RM trend, percent of the mean per week; absent with too little data.
    #[schemars(range(min = -engine::MAX_TREND_PCT_PER_WEEK, max = engine::MAX_TREND_PCT_PER_WEEK))]
    pub trend_pct_per_week: Option<f64>,
    /// Status from the trend; absent with too little data.
    pub status: Option<Status>,
    /// The set with the highest e1RM; absent when no set is usable for e1RM.
    pub best_set: Option<BestSet>,
    /// The last session's comparable working load (heaviest non-warm-up, non-drop set), kg.
    #[schemars(range(min = WeightKg::MIN, max = WeightKg::MAX))]
    pub last_working_load_kg: f64,
    /// The next session.
    pub next_session: Prescription,
    /// Flags (each at most once).
    #[schemars(length(max = Flag::ALL.len()))]
    pub flags: Vec<Flag>,
    /// Why, in plain words.
    #[schemars(length(min = 1, max = MAX_NOTE_CHARS))]
    pub note: String,
}

/// Weekly working volume of one muscle (warm-ups excluded; secondary muscles count 0.5, §A4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MuscleVolume {
    /// The muscle.
    pub muscle: Muscle,
    /// Working sets with it as a primary muscle, whole history.
    #[schemars(range(min = 0, max = MAX_WEEKLY_SETS))]
    pub direct_sets: u32,
    /// Working sets with it as a secondary muscle, whole history.
    #[schemars(range(min = 0, max = MAX_WEEKLY_SETS))]
    pub indirect_sets: u32,
    /// (direct + 0.5 × indirect) ÷ weeks covered.
    #[schemars(range(min = 0.0, max = MAX_WEEKLY_SETS))]
    pub sets_per_week: f64,
}

/// Output of an `overload_analysis` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverloadAnalysisOutput {
    /// Whole weeks from the first to the last session (at least 1).
    #[schemars(range(min = 1, max = MAX_WEEKS_COVERED))]
    pub weeks_covered: u16,
    /// One analysis per exercise, in order of first appearance.
    #[schemars(length(min = 1, max = MAX_EXERCISES))]
    pub exercises: Vec<ExerciseAnalysis>,
    /// Weekly volume per muscle with any working set.
    #[schemars(length(max = Muscle::ALL.len()))]
    pub weekly_volume: Vec<MuscleVolume>,
    /// The whole picture, in plain words.
    #[schemars(length(min = 1, max = MAX_SUMMARY_CHARS))]
    pub summary: String,
    /// §A9 applied to every next session (with `date`, two weeks or more after the last one).
    #[serde(default)]
    pub return_from_layoff: Option<ReturnFromLayoff>,
}

/// The `overload_analysis` kind.
#[derive(Clone, Copy, Debug)]
pub struct OverloadAnalysis;

impl OverloadAnalysis {
    /// Rules a well-formed input can still break (→ 422); also available before the kind is
    /// registered in [`JobKind`].
    pub fn business_rules(input: &OverloadAnalysisInput) -> Vec<FieldError> {
        let history = input.history.as_slice();
        let mut broken = Vec::new();
        if history.is_empty() {
            broken.push(
                FieldError::new("history", "the history must list at least one session")
                    .with_details(serde_json::json!({ "minItems": 1 })),
            );
        }
        broken.extend(history_rules(history));
        if let (Some(day), Some(last)) = (input.date, history.iter().map(|s| s.date).max())
            && day < last
        {
            broken.push(FieldError::new(
                "date",
                format!("the next session cannot come before the last logged one ({last})"),
            ));
        }
        broken
    }
}

/// The rules every logged history must follow, whichever kind carries it (paths start at
/// `history`): sessions list exercises, exercises list sets, and every exercise has at least one
/// working set somewhere (warm-ups never count as working sets, §C Formly).
pub fn history_rules(history: &[LoggedSession]) -> Vec<FieldError> {
    let mut broken = Vec::new();
    // (id, where it first appears, any working set): the path is only spelled out for an error.
    let mut seen: Vec<(ExerciseId, (usize, usize), bool)> = Vec::new();
    let sets_path = |(i, j): (usize, usize)| format!("history[{i}].exercises[{j}].sets");
    for (i, session) in history.iter().enumerate() {
        if session.exercises.as_slice().is_empty() {
            broken.push(
                FieldError::new(
                    format!("history[{i}].exercises"),
                    "a session must list at least one exercise",
                )
                .with_details(serde_json::json!({ "minItems": 1 })),
            );
        }
        for (j, exercise) in session.exercises.as_slice().iter().enumerate() {
            let sets = exercise.sets.as_slice();
            if sets.is_empty() {
                broken.push(
                    FieldError::new(sets_path((i, j)), "an exercise must list at least one set")
                        .with_details(serde_json::json!({ "minItems": 1 })),
                );
            }
            let working = sets.iter().any(|s| s.set_type.is_comparable());
            match seen
                .iter_mut()
                .find(|(id, _, _)| *id == exercise.exercise_id)
            {
                Some(entry) => entry.2 |= working,
                None => seen.push((exercise.exercise_id, (i, j), working)),
            }
        }
    }
    for (id, at, working) in seen {
        if !working {
            broken.push(FieldError::new(
                sets_path(at),
                format!(
                    "`{}` has only warm-up or drop sets in the whole history: log at least one working set \
                     (warm-ups never count as working sets)",
                    id.as_str()
                ),
            ));
        }
    }
    broken
}

/// Checks an output (from any provider) against the engine's rules for this input.
pub fn check_output(
    input: &OverloadAnalysisInput,
    output: &OverloadAnalysisOutput,
) -> Vec<Violation> {
    guard::check(input, output)
}

/// The deterministic answer.
pub fn run(input: &OverloadAnalysisInput) -> Result<OverloadAnalysisOutput, CoachError> {
    engine::run(input)
}

impl JobSpec for OverloadAnalysis {
    const NAME: &'static str = "overload_analysis";
    const DESCRIPTION: &'static str = "Progressive-overload analysis of a training log: per exercise the e1RM series, trend and status, best set and a guarded next-session prescription (sets, reps, RIR, load on the plate increment), plus weekly volume per muscle.";
    const PROMPT: Prompt = prompt!("overload_analysis");
    const EXAMPLE: &'static str = example!("overload_analysis");
    type Input = OverloadAnalysisInput;
    type Output = OverloadAnalysisOutput;

    fn business_rules(input: &OverloadAnalysisInput) -> Vec<FieldError> {
        OverloadAnalysis::business_rules(input)
    }

    fn run(input: &OverloadAnalysisInput) -> Result<OverloadAnalysisOutput, CoachError> {
        engine::run(input)
    }

    fn check(input: &OverloadAnalysisInput, output: &OverloadAnalysisOutput) -> Vec<Violation> {
        guard::check(input, output)
    }
}
