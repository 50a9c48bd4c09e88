//! The `next_set` kind: mid-session, the next set's load, rep range and RIR for one lift, from the
//! goal slider and the athlete's history, learning how far the athlete's reported RIR sits from
//! the RIR their reps imply (their RIR reporting bias).
//!
//! - [`model`]: the estimate — the athlete's e1RM trend, fatigue within a session, today's
//!   readiness and the RIR reporting bias with its uncertainty (shrunk to a population prior).
//! - [`engine`]: the prescription from the estimate (cold start, calibration set, §A5 cap, §A9
//!   layoff).
//! - `guard`: any provider's answer against the engine's.

pub mod engine;
mod guard;
pub mod model;

use schemars::JsonSchema;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::athlete::Athlete;
use crate::bounded::{BoundedVec, bounded_number};
use crate::catalogue::{ExerciseId, MAX_EXERCISE_ID_CHARS};
use crate::date::IsoDate;
use crate::kind::{example, prompt};
use crate::layoff::ReturnFromLayoff;
use crate::overload_analysis::{
    self, LoggedSet, MAX_E1RM_KG, PlateIncrementKg, Rpe, SetReps, SetType, WeightKg,
};
use crate::science::Rir;
use crate::vocab::vocabulary;
use crate::workout_plan::{MAX_LOAD_KG, RepRange};
use crate::{CoachError, FieldError, JobSpec, Prompt, Violation};

bounded_number!(
    /// The goal slider: 0 = hypertrophy (8–12 reps at RIR 2) … 1 = strength (3–5 reps at RIR 1),
    /// interpolated.
    GoalStrength(f64), min = 0.0, max = 1.0, unit = ""
);

bounded_number!(
    /// The number of the set asked for within today's working sets (1 = the first).
    SetNumber(u8), min = 1, max = 20, unit = ""
);

/// Most logged sets the history may hold (a year of three sessions a week of four sets).
pub const MAX_HISTORY_SETS: usize = 600;
/// Most sets today may hold.
pub const MAX_TODAY_SETS: usize = 30;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Largest RIR bias an output may state, reps.
pub const MAX_BIAS: f64 = 10.0;

vocabulary! {
    /// Why a prescription is what it is.
    pub enum NextSetFlag {
        /// Fewer than 3 logged sets with effort: a conservative AMRAP test set to learn the
        /// athlete's strength.
        ColdStart = "cold_start",
        /// The RIR bias is still uncertain: this set is taken to technical failure (AMRAP) so the
        /// next ones can be placed right.
        Calibration = "calibration",
        /// The load was clamped to +7.5 % over the last session's working load (§A5).
        HardCap = "hard_cap",
        /// Two weeks or more since the last logged session: §A9 applies.
        ReturnFromLayoff = "return_from_layoff",
    }
}

/// One logged set of the lift on a past day. Effort is `rir` or `rpe`, never both.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = { "required": ["rir", "rpe"] }))]
pub struct HistorySet {
    /// The session's date (sets of one date are one session, in the order listed).
    pub date: IsoDate,
    /// Load in kg.
    pub weight_kg: WeightKg,
    /// Reps completed.
    pub reps: SetReps,
    /// Reps in reserve as the athlete reported them. Give this or `rpe`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rir: Option<Rir>,
    /// RPE as reported (RIR = 10 − RPE). Give this or `rir`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpe: Option<Rpe>,
    /// What the set was for (`amrap` and `failure` sets without effort went to failure).
    pub set_type: SetType,
}

impl HistorySet {
    /// The set without its date.
    pub fn set(&self) -> LoggedSet {
        LoggedSet {
            weight_kg: self.weight_kg,
            reps: self.reps,
            rir: self.rir,
            rpe: self.rpe,
            set_type: self.set_type,
        }
    }
}

/// The wire form of a dated set before the "not both efforts" rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistorySet {
    date: IsoDate,
    weight_kg: WeightKg,
    reps: SetReps,
    #[serde(default)]
    rir: Option<Rir>,
    #[serde(default)]
    rpe: Option<Rpe>,
    set_type: SetType,
}

impl<'de> Deserialize<'de> for HistorySet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawHistorySet::deserialize(deserializer)?;
        overload_analysis::one_effort(raw.rir, raw.rpe).map_err(de::Error::custom)?;
        Ok(HistorySet {
            date: raw.date,
            weight_kg: raw.weight_kg,
            reps: raw.reps,
            rir: raw.rir,
            rpe: raw.rpe,
            set_type: raw.set_type,
        })
    }
}

/// Input of a `next_set` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NextSetInput {
    /// The athlete (`units` picks the default plate increment).
    pub athlete: Athlete,
    /// The lift (catalogue id).
    pub exercise_id: ExerciseId,
    /// 0 = hypertrophy … 1 = strength.
    pub goal_strength: GoalStrength,
    /// Smallest total load step available; default 2.5 kg (kg) or 5 lb (lb).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate_increment_kg: Option<PlateIncrementKg>,
    /// The set asked for (default: one more than today's working sets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_number: Option<SetNumber>,
    /// Today's date: the gap since the last logged session (§A9) and the trend are read to it;
    /// without it, the next session is taken to follow the last at the usual interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<IsoDate>,
    /// Past sets of this lift, any order (sorted by date; one date's sets keep their order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<BoundedVec<HistorySet, MAX_HISTORY_SETS>>,
    /// Today's sets of this lift so far, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today: Option<BoundedVec<LoggedSet, MAX_TODAY_SETS>>,
}

impl NextSetInput {
    /// The past sets (none when absent).
    pub fn history(&self) -> &[HistorySet] {
        self.history.as_ref().map_or(&[], |h| h.as_slice())
    }

    /// Today's sets (none when absent).
    pub fn today(&self) -> &[LoggedSet] {
        self.today.as_ref().map_or(&[], |t| t.as_slice())
    }

    /// Today's working sets so far (warm-ups never count).
    pub fn working_sets_today(&self) -> usize {
        self.today()
            .iter()
            .filter(|s| s.set_type.is_working())
            .count()
    }

    /// The set asked for.
    pub fn set_number(&self) -> u8 {
        self.set_number.map_or_else(
            || u8::try_from(self.working_sets_today() + 1).unwrap_or(SetNumber::MAX),
            |n| n.get(),
        )
    }
}

/// The RIR reporting bias: reported RIR − the RIR the reps imply against the athlete's own e1RM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RirBias {
    /// Estimated bias, reps (positive: the athlete reports more in reserve than they had).
    #[schemars(range(min = -MAX_BIAS, max = MAX_BIAS))]
    pub estimate: f64,
    /// Its uncertainty (posterior standard deviation), reps.
    #[schemars(range(min = 0.0, max = MAX_BIAS))]
    pub sd: f64,
    /// Share of the estimate that is still the population prior (1 = prior only).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub prior_weight: f64,
    /// Logged sets the estimate used.
    #[schemars(range(min = 0, max = MAX_HISTORY_SETS + MAX_TODAY_SETS))]
    pub sets: u16,
    /// Of them, sets taken to failure (they anchor the estimate).
    #[schemars(range(min = 0, max = MAX_HISTORY_SETS + MAX_TODAY_SETS))]
    pub anchors: u16,
}

/// Output of a `next_set` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NextSetOutput {
    /// The lift.
    #[schemars(length(min = 1, max = MAX_EXERCISE_ID_CHARS))]
    pub exercise_id: String,
    /// The set this prescribes.
    #[schemars(range(min = SetNumber::MIN, max = SetNumber::MAX))]
    pub set_number: u8,
    /// Load, kg, on the plate increment; absent only in a cold start with no logged load.
    #[schemars(range(min = 0.0, max = MAX_LOAD_KG))]
    pub load_kg: Option<f64>,
    /// Reps: the slider's range (an AMRAP: at least `min`, stop at `max` or technical failure).
    pub rep_range: RepRange,
    /// Reps in reserve to leave (0 on an AMRAP).
    #[schemars(range(min = 0, max = 3))]
    pub rir: u8,
    /// The RIR the athlete should feel and report for it: `rir` plus their bias (half steps).
    #[schemars(range(min = 0.0, max = 10.0))]
    pub rir_as_felt: f64,
    /// As many reps as possible (a cold-start test or a calibration set).
    pub amrap: bool,
    /// The e1RM expected for this set (trend, today's readiness and fatigue), kg.
    #[schemars(range(min = 0.0, max = MAX_E1RM_KG))]
    pub e1rm_kg: Option<f64>,
    /// How much today's sets so far lower this set, percent of today's fresh e1RM.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub fatigue_pct: f64,
    /// The athlete's RIR reporting bias.
    pub rir_bias: RirBias,
    /// 0–1: how sure the load is, from the amount and consistency of the data.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f64,
    /// Why the prescription is what it is (each at most once).
    #[schemars(length(max = NextSetFlag::ALL.len()))]
    pub flags: Vec<NextSetFlag>,
    /// §A9 applied (two weeks or more since the last session).
    pub return_from_layoff: Option<ReturnFromLayoff>,
    /// Why, in plain words.
    #[schemars(length(min = 1, max = MAX_NOTE_CHARS))]
    pub note: String,
}

/// The `next_set` kind.
#[derive(Clone, Copy, Debug)]
pub struct NextSet;

impl JobSpec for NextSet {
    const NAME: &'static str = "next_set";
    const DESCRIPTION: &'static str = "The next set mid-session for one lift: load on the athlete's plates, rep range and RIR from the goal slider, the e1RM trend, today's readiness and fatigue, and the athlete's RIR reporting bias learned from the history (with its uncertainty and a confidence); a conservative AMRAP test on a cold start, the +7.5 % cap and the return-after-layoff rules.";
    const PROMPT: Prompt = prompt!("next_set");
    const EXAMPLE: &'static str = example!("next_set");
    type Input = NextSetInput;
    type Output = NextSetOutput;

    fn business_rules(input: &NextSetInput) -> Vec<FieldError> {
        let mut broken = Vec::new();
        let done = input.working_sets_today();
        if let Some(n) = input.set_number
            && usize::from(n.get()) != done + 1
        {
            broken.push(
                FieldError::new(
                    "set_number",
                    format!(
                        "today lists {done} working set{}, so the next is set {}",
                        if done == 1 { "" } else { "s" },
                        done + 1
                    ),
                )
                .with_details(serde_json::json!({ "expected": done + 1 })),
            );
        }
        if let Some(day) = input.date
            && let Some(i) = input.history().iter().position(|s| s.date > day)
        {
            broken.push(FieldError::new(
                format!("history[{i}].date"),
                "a past set cannot be dated after `date` (today)",
            ));
        }
        broken
    }

    fn run(input: &NextSetInput) -> Result<NextSetOutput, CoachError> {
        engine::run(input)
    }

    fn check(input: &NextSetInput, output: &NextSetOutput) -> Vec<Violation> {
        guard::check(input, output)
    }
}
