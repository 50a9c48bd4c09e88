//! The `motivation` kind: a short daily message, personalised with the streak, recent PRs and the
//! last workout when given.
//!
//! The messages come from a bank written for SPARTA ([`bank`]); the choice is a stable hash
//! (FNV-1a) of the athlete id, the date, the tone and the optional `seed`, so the same request gives
//! the same message on every run and every machine.

mod bank;
mod engine;
mod guard;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::athlete::Athlete;
use crate::bounded::{BoundedString, BoundedVec, bounded_number};
use crate::catalogue::ExerciseId;
use crate::date::IsoDate;
use crate::kind::{example, prompt};
use crate::vocab::vocabulary;
use crate::{CoachError, FieldError, JobSpec, Prompt, Violation};

pub use engine::fnv1a_64;

vocabulary! {
    /// The voice of the message.
    pub enum Tone {
        /// Warm and supportive (the default).
        Encouraging = "encouraging",
        /// Blunt and demanding.
        ToughLove = "tough_love",
        /// Quiet and steady.
        Calm = "calm",
        /// Upbeat and celebrating.
        Celebratory = "celebratory",
    }
}

impl Tone {
    /// Used when `tone` is omitted.
    pub const DEFAULT: Tone = Tone::Encouraging;
}

vocabulary! {
    /// A piece of the input a message was personalised with.
    pub enum Personalisation {
        /// `context.streak_days`.
        Streak = "streak",
        /// `context.recent_prs`.
        RecentPr = "recent_pr",
        /// `context.last_workout_date`.
        LastWorkout = "last_workout",
        /// `athlete.goal`.
        Goal = "goal",
    }
}

bounded_number!(
    /// Consecutive days the athlete has kept their training habit.
    StreakDays(u16), min = 0, max = 3650, unit = " days"
);

bounded_number!(
    /// Load of a personal record in kg (0 = body weight only).
    PrWeightKg(f64), min = 0.0, max = 500.0, unit = " kg"
);

bounded_number!(
    /// Repetitions of a personal record.
    PrReps(u8), min = 1, max = 100, unit = " reps"
);

/// Most recent PRs an input may list.
pub const MAX_RECENT_PRS: usize = 5;
/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 400;
/// Longest message id, in characters.
pub const MAX_MESSAGE_ID_CHARS: usize = 40;
/// A streak is mentioned from this many days on.
pub const MIN_STREAK_DAYS: u16 = 2;
/// A last workout this many days ago or more makes the message a comeback message.
pub const COMEBACK_DAYS: i64 = 4;

/// Optional client string mixed into the message choice. The service may pass e.g. the tenant id so
/// that two tenants with the same athlete id and date do not get the same message.
pub type Seed = BoundedString<1, 128>;

/// A recent personal record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecentPr {
    /// The exercise (catalogue id).
    pub exercise_id: ExerciseId,
    /// Load in kg.
    pub weight_kg: PrWeightKg,
    /// Repetitions.
    pub reps: PrReps,
}

/// What the client knows about the athlete's recent training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MotivationContext {
    /// Consecutive days of keeping the habit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streak_days: Option<StreakDays>,
    /// Recent personal records, most recent first (the first one is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_prs: Option<BoundedVec<RecentPr, MAX_RECENT_PRS>>,
    /// Date of the last workout (not after `date`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_workout_date: Option<IsoDate>,
}

/// Input of a `motivation` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MotivationInput {
    /// The athlete (`id` feeds the message choice).
    pub athlete: Athlete,
    /// The day the message is for.
    pub date: IsoDate,
    /// Recent training, for personalisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<MotivationContext>,
    /// Voice of the message (default `encouraging`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<Tone>,
    /// Optional string mixed into the (deterministic) message choice, e.g. the tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<Seed>,
}

impl MotivationInput {
    /// The tone asked for, or [`Tone::DEFAULT`].
    pub fn tone(&self) -> Tone {
        self.tone.unwrap_or(Tone::DEFAULT)
    }

    /// Days from the last workout to `date`, when given.
    pub fn days_since_last_workout(&self) -> Option<i64> {
        let last = self.context.as_ref()?.last_workout_date?;
        Some(self.date.days_after(last))
    }
}

/// Output of a `motivation` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MotivationOutput {
    /// The message.
    #[schemars(length(min = 1, max = MAX_MESSAGE_CHARS))]
    pub message: String,
    /// Its tone (the input's).
    pub tone: Tone,
    /// What in the input the message uses (each at most once).
    #[schemars(length(max = Personalisation::ALL.len()))]
    pub personalised_with: Vec<Personalisation>,
    /// Bank id of the template (`tone.situation.n`), or `custom` for text not from the bank.
    #[schemars(length(min = 1, max = MAX_MESSAGE_ID_CHARS))]
    pub message_id: String,
}

/// The `motivation` kind.
#[derive(Clone, Copy, Debug)]
pub struct Motivation;

impl JobSpec for Motivation {
    const NAME: &'static str = "motivation";
    const DESCRIPTION: &'static str = "A short daily motivational message in the chosen tone, personalised with the streak, recent PRs and the last workout when given.";
    const PROMPT: Prompt = prompt!("motivation");
    const EXAMPLE: &'static str = example!("motivation");
    type Input = MotivationInput;
    type Output = MotivationOutput;

    fn business_rules(input: &MotivationInput) -> Vec<FieldError> {
        let mut broken = Vec::new();
        if let Some(days) = input.days_since_last_workout()
            && days < 0
        {
            broken.push(FieldError::new(
                "context.last_workout_date",
                format!(
                    "the last workout ({}) cannot be after the message date ({})",
                    input
                        .context
                        .as_ref()
                        .and_then(|c| c.last_workout_date)
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    input.date
                ),
            ));
        }
        broken
    }

    fn run(input: &MotivationInput) -> Result<MotivationOutput, CoachError> {
        engine::run(input)
    }

    fn check(input: &MotivationInput, output: &MotivationOutput) -> Vec<Violation> {
        guard::check(input, output)
    }
}
