//! The `split` kind: a weekly training split (full body, upper/lower, push/pull/legs, Arnold, "bro"
//! or a frequency-first custom rotation) for a number of training days, with fixed rest days and
//! priority muscles: each weekday's muscles and target sets, weekly sets and frequency per muscle
//! against the RP volume landmarks, and flags where the days cannot meet them.
//!
//! Templates by days per week are `science.md` §A8; landmarks, the 0.5 credit for indirect sets and
//! the ≥ 2×/week frequency are §A4. The figures and our own choices (marked \[C\]) are in [`engine`].

pub mod engine;
mod guard;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::athlete::{Athlete, Experience};
use crate::bounded::{BoundedVec, bounded_number};
use crate::kind::{example, prompt};
use crate::vocab::{Muscle, vocabulary};
use crate::{CoachError, FieldError, JobSpec, Prompt, Violation};

bounded_number!(
    /// Training days per week.
    DaysPerWeek(u8), min = 1, max = 7, unit = " days"
);

vocabulary! {
    /// A day of the week.
    pub enum Weekday {
        /// Monday.
        Mon = "mon",
        /// Tuesday.
        Tue = "tue",
        /// Wednesday.
        Wed = "wed",
        /// Thursday.
        Thu = "thu",
        /// Friday.
        Fri = "fri",
        /// Saturday.
        Sat = "sat",
        /// Sunday.
        Sun = "sun",
    }
}

vocabulary! {
    /// The split style the athlete asks for.
    pub enum Style {
        /// Let the engine pick the template by days per week (§A8).
        Auto = "auto",
        /// Push / pull / legs.
        Ppl = "ppl",
        /// Chest + back / shoulders + arms / legs.
        Arnold = "arnold",
        /// Upper / lower.
        UpperLower = "upper_lower",
        /// Full body every session.
        FullBody = "full_body",
        /// One body part a day (5 days).
        Bro = "bro",
        /// No named template: a frequency-first rotation built around the constraints.
        Custom = "custom",
    }
}

vocabulary! {
    /// The template a split follows (§A8).
    pub enum Template {
        /// Full body every session.
        FullBody = "full_body",
        /// Upper / lower.
        UpperLower = "upper_lower",
        /// Push / pull / legs.
        Ppl = "ppl",
        /// Upper / lower plus push / pull / legs (5 days).
        UpperLowerPpl = "upper_lower_ppl",
        /// Chest + back / shoulders + arms / legs.
        Arnold = "arnold",
        /// One body part a day.
        Bro = "bro",
    }
}

vocabulary! {
    /// Why a muscle's weekly volume or frequency misses the engine's targets.
    pub enum FlagCode {
        /// Weekly sets below the minimum effective volume (MEV).
        BelowMev = "below_mev",
        /// Weekly sets above the maximum recoverable volume (MRV).
        AboveMrv = "above_mrv",
        /// A major muscle trained fewer than 2 times a week.
        LowFrequency = "low_frequency",
        /// A priority muscle below the low end of its maximum adaptive volume (MAV).
        PriorityBelowMav = "priority_below_mav",
    }
}

/// Days in a week (the `days` of an output, Monday first).
pub const WEEK_DAYS: usize = Weekday::ALL.len();
/// Most working sets of one muscle in one session \[C\] (RP's 4–6 muscle groups per session, §A4,
/// leave room for about 10 sets each at most).
pub const MAX_SETS_PER_SESSION: u8 = 10;
/// Most direct weekly sets of one muscle: every day at the session cap.
pub const MAX_DIRECT_SETS: u8 = WEEK_DAYS as u8 * MAX_SETS_PER_SESSION;
/// Most indirect weekly sets of one muscle: two source muscles at their cap.
pub const MAX_INDIRECT_SETS: u8 = 2 * MAX_DIRECT_SETS;
/// Largest effective weekly sets of one muscle: direct + 0.5 × indirect at their caps.
pub const MAX_WEEKLY_SETS: f64 =
    MAX_DIRECT_SETS as f64 + engine::INDIRECT_CREDIT * MAX_INDIRECT_SETS as f64;
/// Largest landmark figure (the highest MRV in §A4 is 26).
pub const MAX_LANDMARK: u8 = 30;
/// Muscles a split programs (those with RP landmarks in §A4).
pub const PROGRAMMED_MUSCLES: usize = engine::LANDMARKS.len();
/// Most flags an output may carry: every code for every programmed muscle.
pub const MAX_FLAGS: usize = FlagCode::ALL.len() * PROGRAMMED_MUSCLES;
/// Longest day label, in characters.
pub const MAX_LABEL_CHARS: usize = 40;
/// Longest flag message, in characters.
pub const MAX_FLAG_CHARS: usize = 300;
/// Longest rationale, in characters.
pub const MAX_RATIONALE_CHARS: usize = 1500;

/// Constraints on the split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    /// Days that must be rest days (each at most once).
    #[serde(default)]
    pub rest_days: BoundedVec<Weekday, WEEK_DAYS>,
    /// Muscles to bring toward the upper end of their landmarks (each at most once; only the
    /// programmed muscles: chest, lats, middle back, shoulders, quadriceps, hamstrings, glutes,
    /// biceps, triceps, traps, calves, abdominals).
    #[serde(default)]
    pub priority_muscles: BoundedVec<Muscle, { Muscle::ALL.len() }>,
}

/// Input of a `split` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitInput {
    /// The athlete (experience and goal decide the template and the targets).
    pub athlete: Athlete,
    /// Training days per week.
    pub days_per_week: DaysPerWeek,
    /// Split style (default `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<Style>,
    /// Fixed rest days and priority muscles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Constraints>,
}

impl SplitInput {
    /// The requested style (`auto` when absent).
    pub fn style(&self) -> Style {
        self.style.unwrap_or(Style::Auto)
    }

    /// The fixed rest days (none when absent).
    pub fn rest_days(&self) -> &[Weekday] {
        self.constraints
            .as_ref()
            .map_or(&[], |c| c.rest_days.as_slice())
    }

    /// The priority muscles (none when absent).
    pub fn priority_muscles(&self) -> &[Muscle] {
        self.constraints
            .as_ref()
            .map_or(&[], |c| c.priority_muscles.as_slice())
    }
}

/// Sets of one muscle in one session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionMuscle {
    /// The muscle (trained directly).
    pub muscle: Muscle,
    /// Working sets for it in this session.
    #[schemars(range(min = 1, max = MAX_SETS_PER_SESSION))]
    pub sets: u8,
}

/// One day of the week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Day {
    /// The weekday (the week runs Monday to Sunday).
    pub day: Weekday,
    /// The session's name ("Upper", "Push", ...) or "Rest".
    #[schemars(length(min = 1, max = MAX_LABEL_CHARS))]
    pub label: String,
    /// True on a rest day (then `muscles` is empty).
    pub rest: bool,
    /// Muscles trained directly and their sets (each muscle at most once).
    #[schemars(length(max = PROGRAMMED_MUSCLES))]
    pub muscles: Vec<SessionMuscle>,
}

/// RP volume landmarks of a muscle, sets per week (§A4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Landmarks {
    /// Minimum effective volume.
    #[schemars(range(max = MAX_LANDMARK))]
    pub mev: u8,
    /// Low end of the maximum adaptive volume.
    #[schemars(range(max = MAX_LANDMARK))]
    pub mav_low: u8,
    /// High end of the maximum adaptive volume.
    #[schemars(range(max = MAX_LANDMARK))]
    pub mav_high: u8,
    /// Maximum recoverable volume.
    #[schemars(range(max = MAX_LANDMARK))]
    pub mrv: u8,
}

/// Weekly volume and frequency of one muscle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MuscleVolume {
    /// The muscle.
    pub muscle: Muscle,
    /// Sum of its sets over the days.
    #[schemars(range(max = MAX_DIRECT_SETS))]
    pub direct_sets: u8,
    /// Sum of the direct sets of the muscles that train it indirectly (e.g. chest pressing for
    /// triceps).
    #[schemars(range(max = MAX_INDIRECT_SETS))]
    pub indirect_sets: u8,
    /// Effective weekly sets: direct + 0.5 × indirect (§A4, Pelland 2024).
    #[schemars(range(min = 0.0, max = MAX_WEEKLY_SETS))]
    pub weekly_sets: f64,
    /// Days a week on which it is trained directly or indirectly.
    #[schemars(range(max = WEEK_DAYS))]
    pub frequency: u8,
    /// Its RP landmarks.
    pub landmarks: Landmarks,
    /// True when the athlete named it a priority.
    pub priority: bool,
}

/// A muscle whose volume or frequency misses the targets, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// What is missed.
    pub code: FlagCode,
    /// The muscle.
    pub muscle: Muscle,
    /// Explanation for the athlete.
    #[schemars(length(min = 1, max = MAX_FLAG_CHARS))]
    pub message: String,
}

/// Output of a `split` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitOutput {
    /// The template followed.
    pub template: Template,
    /// Training (non-rest) days; equals the requested days per week.
    #[schemars(range(min = DaysPerWeek::MIN, max = DaysPerWeek::MAX))]
    pub training_days: u8,
    /// Monday to Sunday.
    #[schemars(length(min = WEEK_DAYS, max = WEEK_DAYS))]
    pub days: Vec<Day>,
    /// Every programmed muscle, in a fixed order.
    #[schemars(length(min = PROGRAMMED_MUSCLES, max = PROGRAMMED_MUSCLES))]
    pub weekly_sets: Vec<MuscleVolume>,
    /// Where the days cannot meet the targets.
    #[schemars(length(max = MAX_FLAGS))]
    pub flags: Vec<Flag>,
    /// Why, in plain words.
    #[schemars(length(min = 1, max = MAX_RATIONALE_CHARS))]
    pub rationale: String,
}

/// The `split` kind.
#[derive(Clone, Copy, Debug)]
pub struct Split;

impl JobSpec for Split {
    const NAME: &'static str = "split";
    const DESCRIPTION: &'static str = "Weekly training split (full body, upper/lower, PPL, Arnold, bro or custom) for the days per week, fixed rest days and priority muscles: each day's muscles and target sets, weekly sets and frequency per muscle within the RP volume landmarks, with flags where the days fall short.";
    const PROMPT: Prompt = prompt!("split");
    const EXAMPLE: &'static str = example!("split");
    type Input = SplitInput;
    type Output = SplitOutput;

    fn business_rules(input: &SplitInput) -> Vec<FieldError> {
        let mut broken = Vec::new();
        let days = input.days_per_week.get();
        let rest = input.rest_days();
        for (i, day) in rest.iter().enumerate() {
            if rest[..i].contains(day) {
                broken.push(FieldError::new(
                    format!("constraints.rest_days[{i}]"),
                    format!("`{day}` is listed twice"),
                ));
            }
        }
        let mut distinct = rest.to_vec();
        distinct.sort();
        distinct.dedup();
        if usize::from(days) + distinct.len() > WEEK_DAYS {
            broken.push(FieldError::new(
                "constraints.rest_days",
                format!(
                    "{} fixed rest days leave {} days in the week, fewer than the {days} training days asked for",
                    distinct.len(),
                    WEEK_DAYS - distinct.len()
                ),
            ));
        }
        let priority = input.priority_muscles();
        for (i, muscle) in priority.iter().enumerate() {
            if priority[..i].contains(muscle) {
                broken.push(FieldError::new(
                    format!("constraints.priority_muscles[{i}]"),
                    format!("`{muscle}` is listed twice"),
                ));
            } else if engine::landmarks(*muscle).is_none() {
                let allowed: Vec<&str> = engine::LANDMARKS
                    .iter()
                    .map(|l| l.muscle.as_str())
                    .collect();
                broken.push(
                    FieldError::new(
                        format!("constraints.priority_muscles[{i}]"),
                        format!(
                            "`{muscle}` has no volume landmarks (science.md §A4), so a split cannot prioritise it"
                        ),
                    )
                    .with_details(serde_json::json!({ "allowed": allowed })),
                );
            }
        }
        let beginner = input.athlete.experience == Experience::Beginner;
        if beginner && days == DaysPerWeek::MAX {
            broken.push(FieldError::new(
                "days_per_week",
                "7 training days leave a beginner no rest day; novices progress on 2–3 days a week \
                 (ACSM 2009, science.md §A4): ask for at most 6, ideally 2–4",
            ));
        }
        let style = input.style();
        if let Some((min, max)) = engine::style_days(style)
            && (days < min || days > max)
        {
            broken.push(
                    FieldError::new(
                        "days_per_week",
                        format!(
                            "the `{style}` split runs on {min}–{max} training days a week (science.md §A8), \
                             got {days}; use style `auto` to let the days decide"
                        ),
                    )
                    .with_details(serde_json::json!({ "minimum": min, "maximum": max })),
                );
        }
        if beginner && style == Style::Arnold {
            broken.push(FieldError::new(
                "style",
                "the Arnold split is for advanced lifters (≥ 2 years of training, science.md §A8); \
                 a beginner should use `full_body` or `auto`",
            ));
        }
        broken
    }

    fn run(input: &SplitInput) -> Result<SplitOutput, CoachError> {
        engine::run(input)
    }

    fn check(input: &SplitInput, output: &SplitOutput) -> Vec<Violation> {
        guard::check(input, output)
    }
}
