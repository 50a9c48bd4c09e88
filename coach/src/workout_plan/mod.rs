//! The `workout_plan` kind: a multi-week program for an athlete profile (experience, goal, body
//! weight, equipment, injuries), days per week, session length and number of weeks, with an optional
//! split preference and an optional training log: weeks of days of exercises with sets, rep range,
//! RIR target, load (kg from the log's e1RM, else %e1RM, else the RIR target alone) and rest; the
//! progression rule; planned deloads; weekly volume per muscle and flags where the plan cannot meet
//! the landmarks.
//!
//! The weekly structure (template, training days, muscles and target sets per session) is the
//! [`crate::split`] engine's; this kind turns it into exercises ([`selection`]: equipment, level and
//! the injury → exclusion mapping), fits each session into the minutes available, keeps weekly volume
//! within the §A4 landmarks and lays the weeks out as mesocycles with deloads ([`engine`]). Loads come
//! from the log through the RPE chart and the §A5 guardrails of [`crate::science`].

pub mod engine;
mod guard;
pub mod selection;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::athlete::Athlete;
use crate::bounded::{BoundedVec, bounded_number};
use crate::catalogue::MAX_EXERCISE_ID_CHARS;
use crate::date::IsoDate;
use crate::kind::{example, prompt};
use crate::layoff::ReturnFromLayoff;
use crate::overload_analysis::{self, LoggedSession, MAX_SESSIONS, PlateIncrementKg};
use crate::science::Rir;
use crate::split::{self, DaysPerWeek, Landmarks, SplitInput, Style, Template, Weekday};
use crate::vocab::{Muscle, vocabulary};
use crate::{CoachError, FieldError, JobSpec, Prompt, Violation};

bounded_number!(
    /// Minutes available for one session, warm-up included. Under 20 minutes there is no room for a
    /// warm-up and a working exercise; over 3 hours is not a strength session \[C\].
    SessionMinutes(u16), min = 20, max = 180, unit = " min"
);

bounded_number!(
    /// Length of the plan in weeks (up to three to four mesocycles, §A5).
    PlanWeeks(u8), min = 1, max = 16, unit = " weeks"
);

vocabulary! {
    /// Where an exercise's load comes from.
    pub enum LoadBasis {
        /// Kilograms from the e1RM the training log gives for this exercise (RPE chart, §A3).
        Kg = "kg",
        /// A percentage of the athlete's e1RM for this exercise (RPE chart, §A3); no log for it.
        PctE1rm = "pct_e1rm",
        /// No load figure: pick a load that leaves the RIR target in reserve at the bottom of the
        /// rep range (body-weight and band exercises, or reps beyond the chart).
        Rir = "rir",
    }
}

vocabulary! {
    /// The progression model a plan follows.
    pub enum ProgressionModel {
        /// Double progression (§A5) inside each week's rep range, with RIR ramping down across each
        /// mesocycle and a deload to close it.
        DoubleProgression = "double_progression",
    }
}

vocabulary! {
    /// Why a muscle's weekly volume or frequency misses the targets in the training (non-deload) weeks.
    pub enum FlagCode {
        /// Weekly sets below the minimum effective volume (MEV, §A4).
        BelowMev = "below_mev",
        /// A major muscle trained fewer than 2 times a week (§A4) although the days would allow it.
        LowFrequency = "low_frequency",
    }
}

/// Most exercises in one session.
pub const MAX_EXERCISES_PER_DAY: usize = 12;
/// Most working sets of one exercise in one session \[C\] (beyond 5 straight sets, a second exercise
/// for the muscle is the better use of the session).
pub const MAX_SETS_PER_EXERCISE: u8 = 5;
/// Most reps a rep range may reach (RP's landmarks assume 5–30 reps per set, §A4).
pub const MAX_REPS: u8 = 30;
/// Shortest rest between sets, seconds \[C\].
pub const MIN_REST_SECONDS: u16 = 30;
/// Longest rest between sets, seconds (ACSM 2009: 3–5 min for heavy loads, §A4).
pub const MAX_REST_SECONDS: u16 = 300;
/// Largest percentage of e1RM a prescription may state (the chart's top cell, §A3).
pub const MAX_PCT_E1RM: f64 = 100.0;
/// Largest load a prescription may state, kg (the heaviest load a log may hold).
pub const MAX_LOAD_KG: f64 = overload_analysis::WeightKg::MAX;
/// Most flags: every code for every programmed muscle.
pub const MAX_FLAGS: usize = FlagCode::ALL.len() * split::PROGRAMMED_MUSCLES;
/// Longest day label, in characters.
pub const MAX_LABEL_CHARS: usize = split::MAX_LABEL_CHARS;
/// Longest exercise name, in characters (the longest catalogue name is shorter).
pub const MAX_NAME_CHARS: usize = 120;
/// Longest flag message, in characters.
pub const MAX_FLAG_CHARS: usize = 400;
/// Longest progression rule, in characters.
pub const MAX_RULE_CHARS: usize = 1000;
/// Longest rationale, in characters.
pub const MAX_RATIONALE_CHARS: usize = 3000;
/// Longest estimated session, minutes (the schema's bound; the guardrails hold it to the input's).
pub const MAX_SESSION_MINUTES: u16 = SessionMinutes::MAX;

/// Input of a `workout_plan` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkoutPlanInput {
    /// The athlete: experience, goal, equipment and injuries decide the exercises and the targets.
    pub athlete: Athlete,
    /// Training days per week.
    pub days_per_week: DaysPerWeek,
    /// Minutes available per session, warm-up included.
    pub session_minutes: SessionMinutes,
    /// Length of the plan in weeks.
    pub weeks: PlanWeeks,
    /// Split style (default `auto`: the template fits the days, science.md §A8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_preference: Option<Style>,
    /// Smallest total load step available; default 2.5 kg (kg) or 5 lb (lb).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate_increment_kg: Option<PlateIncrementKg>,
    /// Training log (the `overload_analysis` format): exercises logged here get loads in kg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<BoundedVec<LoggedSession, MAX_SESSIONS>>,
    /// The plan's first day: two weeks or more after the last logged session, the first weeks
    /// ramp loads and sets back (§A9, `return_from_layoff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<IsoDate>,
}

impl WorkoutPlanInput {
    /// The requested split style (`auto` when absent).
    pub fn split_preference(&self) -> Style {
        self.split_preference.unwrap_or(Style::Auto)
    }

    /// The logged sessions (none when absent).
    pub fn history(&self) -> &[LoggedSession] {
        self.history.as_ref().map_or(&[], |h| h.as_slice())
    }

    /// The `split` input whose answer gives this plan its weekly structure.
    pub fn split_input(&self) -> SplitInput {
        SplitInput {
            athlete: self.athlete.clone(),
            days_per_week: self.days_per_week,
            style: self.split_preference,
            constraints: None,
        }
    }
}

/// Reps per set, lowest to highest: the double-progression range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepRange {
    /// Bottom of the range (the load is set for it).
    #[schemars(range(min = 1, max = MAX_REPS))]
    pub min: u8,
    /// Top of the range (reach it on every set, then add load).
    #[schemars(range(min = 1, max = MAX_REPS))]
    pub max: u8,
}

/// The load of one exercise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Where the figure comes from.
    pub basis: LoadBasis,
    /// Kilograms on the plate increment (only with basis `kg`).
    #[schemars(range(min = 0.0, max = MAX_LOAD_KG))]
    pub kg: Option<f64>,
    /// Percent of e1RM: the chart's cell for the bottom of the rep range at the RIR target (basis
    /// `kg` and `pct_e1rm`).
    #[schemars(range(min = 0.0, max = MAX_PCT_E1RM))]
    pub pct_e1rm: Option<f64>,
}

/// One exercise of a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanExercise {
    /// Catalogue id.
    #[schemars(length(min = 1, max = MAX_EXERCISE_ID_CHARS))]
    pub exercise_id: String,
    /// Catalogue name.
    #[schemars(length(min = 1, max = MAX_NAME_CHARS))]
    pub name: String,
    /// Working sets (warm-up sets come on top and never count).
    #[schemars(range(min = 1, max = MAX_SETS_PER_EXERCISE))]
    pub sets: u8,
    /// Reps per working set.
    pub rep_range: RepRange,
    /// Reps in reserve on every working set.
    #[schemars(range(min = Rir::MIN, max = Rir::MAX))]
    pub rir: u8,
    /// The load.
    pub load: Load,
    /// Rest between sets, seconds.
    #[schemars(range(min = MIN_REST_SECONDS, max = MAX_REST_SECONDS))]
    pub rest_seconds: u16,
}

/// One training day of a week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanDay {
    /// The weekday.
    pub day: Weekday,
    /// The session's name ("Full body", "Upper", "Push", ...).
    #[schemars(length(min = 1, max = MAX_LABEL_CHARS))]
    pub label: String,
    /// Estimated duration, minutes (see [`engine::estimated_minutes`]); within `session_minutes`.
    #[schemars(range(min = 1, max = MAX_SESSION_MINUTES))]
    pub estimated_minutes: u16,
    /// The exercises in order (each at most once).
    #[schemars(length(min = 1, max = MAX_EXERCISES_PER_DAY))]
    pub exercises: Vec<PlanExercise>,
}

/// One week of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanWeek {
    /// Week number, from 1.
    #[schemars(range(min = PlanWeeks::MIN, max = PlanWeeks::MAX))]
    pub week: u8,
    /// True for a deload week (fewer sets, more RIR, lighter loads).
    pub deload: bool,
    /// The training days, Monday first.
    #[schemars(length(min = DaysPerWeek::MIN, max = DaysPerWeek::MAX))]
    pub days: Vec<PlanDay>,
}

/// How the athlete progresses from week to week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Progression {
    /// The model.
    pub model: ProgressionModel,
    /// The rule, in plain words.
    #[schemars(length(min = 1, max = MAX_RULE_CHARS))]
    pub rule: String,
    /// Largest load increase from one week to the next, percent (§A5: at most 7.5).
    #[schemars(range(min = 0.0, max = crate::science::HARD_CAP_PCT))]
    pub max_load_increase_pct: f64,
}

/// Weekly volume and frequency of one programmed muscle in a training (non-deload) week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MuscleVolume {
    /// The muscle.
    pub muscle: Muscle,
    /// Working sets of exercises with it as the primary muscle.
    #[schemars(range(max = engine::MAX_WEEKLY_DIRECT_SETS))]
    pub direct_sets: u16,
    /// Working sets of exercises with it as a secondary muscle.
    #[schemars(range(max = engine::MAX_WEEKLY_DIRECT_SETS))]
    pub indirect_sets: u16,
    /// Effective weekly sets: direct + 0.5 × indirect (§A4, Pelland 2024).
    #[schemars(range(min = 0.0, max = engine::MAX_WEEKLY_DIRECT_SETS))]
    pub weekly_sets: f64,
    /// Days a week on which an exercise works it (primary or secondary).
    #[schemars(range(max = split::WEEK_DAYS))]
    pub frequency: u8,
    /// Its RP landmarks (§A4).
    pub landmarks: Landmarks,
}

/// A muscle whose volume or frequency misses the targets, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// What is missed.
    pub code: FlagCode,
    /// The muscle.
    pub muscle: Muscle,
    /// Why, for the athlete.
    #[schemars(length(min = 1, max = MAX_FLAG_CHARS))]
    pub message: String,
}

/// Output of a `workout_plan` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkoutPlanOutput {
    /// The split template of every week (§A8).
    pub template: Template,
    /// The weeks, in order.
    #[schemars(length(min = PlanWeeks::MIN, max = PlanWeeks::MAX))]
    pub weeks: Vec<PlanWeek>,
    /// The numbers of the deload weeks, ascending.
    #[schemars(length(max = PlanWeeks::MAX))]
    pub deload_weeks: Vec<u8>,
    /// The progression rule.
    pub progression: Progression,
    /// Volume per programmed muscle in the first full training week (after a return ramp), in a
    /// fixed order.
    #[schemars(length(min = split::PROGRAMMED_MUSCLES, max = split::PROGRAMMED_MUSCLES))]
    pub weekly_volume: Vec<MuscleVolume>,
    /// Where the training weeks miss the targets.
    #[schemars(length(max = MAX_FLAGS))]
    pub flags: Vec<Flag>,
    /// Why, in plain words.
    #[schemars(length(min = 1, max = MAX_RATIONALE_CHARS))]
    pub rationale: String,
    /// §A9 applied: the first weeks ramp loads and sets back (with `start_date`, two weeks or more
    /// after the last logged session).
    #[serde(default)]
    pub return_from_layoff: Option<ReturnFromLayoff>,
}

/// The `workout_plan` kind.
#[derive(Clone, Copy, Debug)]
pub struct WorkoutPlan;

impl WorkoutPlan {
    /// Rules a well-formed input can still break (→ 422).
    pub fn business_rules(input: &WorkoutPlanInput) -> Vec<FieldError> {
        // The weekly structure is the split's: its rules (7 days for a beginner, a named style
        // outside its days, Arnold for a beginner) apply as they are, under this kind's field name.
        let mut broken: Vec<FieldError> = split::Split::business_rules(&input.split_input())
            .into_iter()
            .map(|mut e| {
                if e.field == "style" {
                    e.field = "split_preference".to_owned();
                }
                e.message = e
                    .message
                    .replace("use style `auto`", "use split_preference `auto`");
                e
            })
            .collect();
        broken.extend(selection::movement_rules(&input.athlete));
        broken.extend(overload_analysis::history_rules(input.history()));
        if let (Some(start), Some(last)) = (
            input.start_date,
            input.history().iter().map(|s| s.date).max(),
        ) && start < last
        {
            broken.push(FieldError::new(
                "start_date",
                format!("the plan cannot start before the last logged session ({last})"),
            ));
        }
        broken
    }
}

impl JobSpec for WorkoutPlan {
    const NAME: &'static str = "workout_plan";
    const DESCRIPTION: &'static str = "Multi-week training program for the athlete's experience, goal, equipment and injuries: weeks of training days of catalogue exercises with sets, rep range, RIR target, load (kg from the training log's e1RM, else %e1RM or RIR) and rest, fitted to the session length; weekly sets per muscle within the RP volume landmarks; RIR ramping down across each mesocycle, planned deloads and the progression rule.";
    const PROMPT: Prompt = prompt!("workout_plan");
    const EXAMPLE: &'static str = example!("workout_plan");
    type Input = WorkoutPlanInput;
    type Output = WorkoutPlanOutput;

    fn business_rules(input: &WorkoutPlanInput) -> Vec<FieldError> {
        WorkoutPlan::business_rules(input)
    }

    fn run(input: &WorkoutPlanInput) -> Result<WorkoutPlanOutput, CoachError> {
        engine::run(input)
    }

    fn check(input: &WorkoutPlanInput, output: &WorkoutPlanOutput) -> Vec<Violation> {
        guard::check(input, output)
    }
}
