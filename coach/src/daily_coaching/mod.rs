//! The `daily_coaching` kind: train / modify / rest for today's planned session, from a readiness
//! score (sleep, soreness, stress, motivation, HRV and resting heart rate against baseline, recent
//! session-RPE load), with capped load and volume adjustments, cues and recovery tips.
//!
//! The score, its thresholds and the caps are in [`engine`] (figures from `science.md` §A3 and §A7
//! where they exist; our own choices are marked \[C\]).

pub mod engine;
mod guard;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::athlete::Athlete;
use crate::bounded::{BoundedString, BoundedVec, bounded_number};
use crate::catalogue::{ExerciseId, MAX_EXERCISE_ID_CHARS};
use crate::date::IsoDate;
use crate::kind::{example, prompt};
use crate::layoff::ReturnFromLayoff;
use crate::vocab::vocabulary;
use crate::{CoachError, FieldError, JobSpec, Prompt, Violation};

bounded_number!(
    /// Hours slept last night.
    SleepHours(f64), min = 0.0, max = 16.0, unit = " h"
);

bounded_number!(
    /// A 1–5 self-rating. Sleep quality and motivation: 1 = very poor, 5 = excellent. Soreness and
    /// stress: 1 = none, 5 = severe.
    Rating(u8), min = 1, max = 5, unit = ""
);

bounded_number!(
    /// Heart-rate variability (e.g. morning RMSSD) in milliseconds.
    HrvMs(f64), min = 5.0, max = 300.0, unit = " ms"
);

bounded_number!(
    /// Resting heart rate in beats per minute.
    HeartRateBpm(u8), min = 25, max = 150, unit = " bpm"
);

bounded_number!(
    /// Session duration in minutes.
    DurationMin(u16), min = 1, max = 600, unit = " min"
);

bounded_number!(
    /// Session RPE on Foster's CR-10 scale (0 = rest, 10 = maximal), rated after the session (§A7).
    SessionRpe(f64), min = 0.0, max = 10.0, unit = ""
);

bounded_number!(
    /// Planned working sets of one exercise.
    Sets(u8), min = 1, max = 10, unit = " sets"
);

bounded_number!(
    /// Planned repetitions per set.
    Reps(u8), min = 1, max = 30, unit = " reps"
);

/// Planned repetitions in reserve per set (the shared [`crate::science::Rir`]).
pub use crate::science::Rir;

/// Most recent sessions an input may list (about two a day over the 28-day window).
pub const MAX_RECENT_SESSIONS: usize = 60;
/// Most exercises a planned session may list.
pub const MAX_PLANNED_EXERCISES: usize = 20;
/// Longest session name, in characters.
pub const MAX_SESSION_NAME_CHARS: usize = 80;
/// Most cues or recovery tips an output may list.
pub const MAX_TIPS: usize = 5;
/// Longest cue or tip, in characters.
pub const MAX_TIP_CHARS: usize = 240;
/// Longest rationale, in characters.
pub const MAX_RATIONALE_CHARS: usize = 1500;
/// Largest session load (AU) any output may state: the most sessions × 600 min × RPE 10.
pub const MAX_LOAD_AU: f64 = MAX_RECENT_SESSIONS as f64 * 600.0 * 10.0;

/// The session name.
pub type SessionName = BoundedString<1, MAX_SESSION_NAME_CHARS>;

/// How the athlete feels this morning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Readiness {
    /// Hours slept last night.
    pub sleep_hours: SleepHours,
    /// Sleep quality, 1 (very poor) to 5 (excellent).
    pub sleep_quality: Rating,
    /// Muscle soreness, 1 (none) to 5 (severe).
    pub soreness: Rating,
    /// Stress, 1 (none) to 5 (severe).
    pub stress: Rating,
    /// Motivation to train, 1 (none) to 5 (high).
    pub motivation: Rating,
    /// This morning's HRV in ms (send with `hrv_baseline_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hrv_ms: Option<HrvMs>,
    /// The athlete's usual HRV in ms (e.g. a 7-day rolling mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hrv_baseline_ms: Option<HrvMs>,
    /// This morning's resting heart rate (send with `resting_hr_baseline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resting_hr: Option<HeartRateBpm>,
    /// The athlete's usual resting heart rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resting_hr_baseline: Option<HeartRateBpm>,
}

/// A completed session, for the session-RPE load (§A7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecentSession {
    /// When (not after `date`; sessions more than 28 days before `date` are ignored).
    pub date: IsoDate,
    /// Duration in minutes.
    pub duration_min: DurationMin,
    /// Session RPE (CR-10).
    pub session_rpe: SessionRpe,
}

/// One exercise of the planned session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedExercise {
    /// The exercise (catalogue id).
    pub exercise_id: ExerciseId,
    /// Working sets.
    pub sets: Sets,
    /// Reps per set.
    pub reps: Reps,
    /// Reps in reserve per set.
    pub rir: Rir,
}

/// Today's planned session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedSession {
    /// Its name, e.g. "Lower A".
    pub name: SessionName,
    /// The exercises, in order (at least one).
    pub exercises: BoundedVec<PlannedExercise, MAX_PLANNED_EXERCISES>,
}

/// Input of a `daily_coaching` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DailyCoachingInput {
    /// The athlete.
    pub athlete: Athlete,
    /// Today.
    pub date: IsoDate,
    /// This morning's readiness.
    pub readiness: Readiness,
    /// Sessions of the last 28 days (any order; default none).
    #[serde(default)]
    pub recent_sessions: BoundedVec<RecentSession, MAX_RECENT_SESSIONS>,
    /// Today's plan.
    pub planned_session: PlannedSession,
    /// The athlete's last session before today, when `recent_sessions` does not show it (none in
    /// 28 days): two weeks or more before today, §A9 cuts today's loads and sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_session_date: Option<IsoDate>,
}

vocabulary! {
    /// What to do with today's planned session.
    pub enum Decision {
        /// Train as planned.
        Train = "train",
        /// Train with fewer sets and more reps in reserve.
        Modify = "modify",
        /// Do not train hard today (sets to 0; light movement only).
        Rest = "rest",
    }
}

vocabulary! {
    /// A part of the readiness score.
    pub enum ComponentName {
        /// Hours slept.
        SleepDuration = "sleep_duration",
        /// Sleep quality rating.
        SleepQuality = "sleep_quality",
        /// Soreness rating (inverted: no soreness = 100).
        Soreness = "soreness",
        /// Stress rating (inverted).
        Stress = "stress",
        /// Motivation rating.
        Motivation = "motivation",
        /// HRV against baseline.
        Hrv = "hrv",
        /// Resting heart rate against baseline.
        RestingHr = "resting_hr",
        /// Recent session-RPE load.
        TrainingLoad = "training_load",
    }
}

/// One part of the readiness score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Which part.
    pub name: ComponentName,
    /// 0 (not ready) to 100 (fully ready).
    #[schemars(range(min = 0, max = 100))]
    pub score: u8,
    /// Its share of the total score in percent (shares of the parts present sum to 100).
    #[schemars(range(min = 0.0, max = 100.0))]
    pub weight_pct: f64,
}

/// Recent training load by session RPE (Foster: RPE × minutes, arbitrary units; §A7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadSummary {
    /// Load of the 7 days ending today, AU.
    #[schemars(range(min = 0.0, max = MAX_LOAD_AU))]
    pub acute_load_au: f64,
    /// Weekly mean load of the 21 days before that (uncoupled chronic load); absent without history.
    pub chronic_weekly_load_au: Option<f64>,
    /// Acute ÷ chronic weekly load (a heuristic only; §A7); absent without history.
    pub acwr: Option<f64>,
}

/// One exercise of the adjusted session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustedExercise {
    /// The planned exercise's id.
    #[schemars(length(min = 1, max = MAX_EXERCISE_ID_CHARS))]
    pub exercise_id: String,
    /// Sets today (0 on a rest day; never more than planned).
    #[schemars(range(min = 0, max = Sets::MAX))]
    pub sets: u8,
    /// Reps per set (as planned).
    #[schemars(range(min = Reps::MIN, max = Reps::MAX))]
    pub reps: u8,
    /// Reps in reserve today (never fewer than planned).
    #[schemars(range(min = Rir::MIN, max = Rir::MAX))]
    pub rir: u8,
    /// Load change against the planned load, percent (never an increase).
    #[schemars(range(min = -100.0, max = 0.0))]
    pub load_adjustment_pct: f64,
}

/// The planned session adjusted for today.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustedSession {
    /// The planned session's name.
    #[schemars(length(min = 1, max = MAX_SESSION_NAME_CHARS))]
    pub name: String,
    /// The planned exercises, same ids and order.
    #[schemars(length(min = 1, max = MAX_PLANNED_EXERCISES))]
    pub exercises: Vec<AdjustedExercise>,
}

/// Output of a `daily_coaching` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DailyCoachingOutput {
    /// Train, modify or rest.
    pub decision: Decision,
    /// 0 (not ready) to 100 (fully ready).
    #[schemars(range(min = 0, max = 100))]
    pub readiness_score: u8,
    /// The parts of the score that the input allowed.
    #[schemars(length(min = 1, max = ComponentName::ALL.len()))]
    pub components: Vec<Component>,
    /// Recent training load.
    pub load: LoadSummary,
    /// Largest load change of any exercise, percent (0 = as planned, −100 = no training).
    #[schemars(range(min = -100.0, max = 0.0))]
    pub load_adjustment_pct: f64,
    /// Change of total working sets against the plan, percent.
    #[schemars(range(min = -100.0, max = 0.0))]
    pub volume_adjustment_pct: f64,
    /// The planned session adjusted for today.
    pub adjusted_session: AdjustedSession,
    /// Coaching cues for today's session.
    #[schemars(length(max = MAX_TIPS), inner(length(min = 1, max = MAX_TIP_CHARS)))]
    pub cues: Vec<String>,
    /// Recovery advice.
    #[schemars(length(max = MAX_TIPS), inner(length(min = 1, max = MAX_TIP_CHARS)))]
    pub recovery_tips: Vec<String>,
    /// Why, in plain words.
    #[schemars(length(min = 1, max = MAX_RATIONALE_CHARS))]
    pub rationale: String,
    /// §A9 applied: two weeks or more since the last session.
    #[serde(default)]
    pub return_from_layoff: Option<ReturnFromLayoff>,
}

/// The `daily_coaching` kind.
#[derive(Clone, Copy, Debug)]
pub struct DailyCoaching;

impl JobSpec for DailyCoaching {
    const NAME: &'static str = "daily_coaching";
    const DESCRIPTION: &'static str = "Train, modify or rest today: a readiness score from sleep, soreness, stress, motivation, HRV, resting heart rate and recent load, with capped load and volume adjustments, cues and recovery tips.";
    const PROMPT: Prompt = prompt!("daily_coaching");
    const EXAMPLE: &'static str = example!("daily_coaching");
    type Input = DailyCoachingInput;
    type Output = DailyCoachingOutput;

    fn business_rules(input: &DailyCoachingInput) -> Vec<FieldError> {
        let mut broken = Vec::new();
        let r = &input.readiness;
        if r.hrv_ms.is_some() != r.hrv_baseline_ms.is_some() {
            let missing = if r.hrv_ms.is_some() {
                "hrv_baseline_ms"
            } else {
                "hrv_ms"
            };
            broken.push(FieldError::new(
                format!("readiness.{missing}"),
                "hrv_ms and hrv_baseline_ms go together: HRV is only read against the athlete's baseline",
            ));
        }
        if r.resting_hr.is_some() != r.resting_hr_baseline.is_some() {
            let missing = if r.resting_hr.is_some() {
                "resting_hr_baseline"
            } else {
                "resting_hr"
            };
            broken.push(FieldError::new(
                format!("readiness.{missing}"),
                "resting_hr and resting_hr_baseline go together: resting heart rate is only read against \
                 the athlete's baseline",
            ));
        }
        for (i, session) in input.recent_sessions.as_slice().iter().enumerate() {
            if session.date > input.date {
                broken.push(FieldError::new(
                    format!("recent_sessions[{i}].date"),
                    format!(
                        "a recent session ({}) cannot be after today's date ({})",
                        session.date, input.date
                    ),
                ));
            }
        }
        if let Some(last) = input.last_session_date
            && last >= input.date
        {
            broken.push(FieldError::new(
                "last_session_date",
                format!(
                    "the last session before today cannot be on or after today ({})",
                    input.date
                ),
            ));
        }
        if input.planned_session.exercises.as_slice().is_empty() {
            broken.push(
                FieldError::new(
                    "planned_session.exercises",
                    "the planned session must list at least one exercise",
                )
                .with_details(serde_json::json!({ "minItems": 1 })),
            );
        }
        broken
    }

    fn run(input: &DailyCoachingInput) -> Result<DailyCoachingOutput, CoachError> {
        engine::run(input)
    }

    fn check(input: &DailyCoachingInput, output: &DailyCoachingOutput) -> Vec<Violation> {
        guard::check(input, output)
    }
}
