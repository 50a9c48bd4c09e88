//! The job kinds.

use std::fmt;
use std::str::FromStr;

use crate::error::CoachError;

/// The job kinds SPARTA knows. Serialized snake_case (`"nutrition"`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Protein target and range, per-meal split and food examples for the athlete's diet.
    Nutrition,
    /// A short daily motivational message, personalised with streak, PRs and the last workout.
    Motivation,
    /// Train, modify or rest today, from a readiness score, with capped adjustments of the planned session.
    DailyCoaching,
    /// Per-exercise e1RM trend, status and next-session load from a training log, with weekly volume.
    OverloadAnalysis,
    /// A weekly training split: days with muscles and target sets, weekly sets and frequency per muscle.
    Split,
    /// A multi-week program: weeks of days of exercises with sets, reps, RIR, load and rest; progression; deloads.
    WorkoutPlan,
}

impl JobKind {
    /// Every kind, in a stable order.
    pub const ALL: &'static [JobKind] = &[
        JobKind::Nutrition,
        JobKind::Motivation,
        JobKind::DailyCoaching,
        JobKind::OverloadAnalysis,
        JobKind::Split,
        JobKind::WorkoutPlan,
    ];

    /// The wire name (`"nutrition"`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Nutrition => "nutrition",
            JobKind::Motivation => "motivation",
            JobKind::DailyCoaching => "daily_coaching",
            JobKind::OverloadAnalysis => "overload_analysis",
            JobKind::Split => "split",
            JobKind::WorkoutPlan => "workout_plan",
        }
    }

    /// One line describing what the kind answers (for `/v1/kinds` and OpenAPI).
    pub fn description(self) -> &'static str {
        match self {
            JobKind::Nutrition => {
                "Daily protein target and evidence range, split per meal, with food examples that fit the athlete's diet."
            }
            JobKind::Motivation => {
                "A short daily motivational message in the chosen tone, personalised with the streak, recent PRs and the last workout when given."
            }
            JobKind::DailyCoaching => {
                "Train, modify or rest today: a readiness score from sleep, soreness, stress, motivation, HRV, resting heart rate and recent load, with capped load and volume adjustments, cues and recovery tips."
            }
            JobKind::OverloadAnalysis => {
                "Progressive-overload analysis of a training log: per exercise the e1RM series, trend and status, best set and a guarded next-session prescription (sets, reps, RIR, load on the plate increment), plus weekly volume per muscle."
            }
            JobKind::Split => {
                "Weekly training split (full body, upper/lower, PPL, Arnold, bro or custom) for the days per week, fixed rest days and priority muscles: each day's muscles and target sets, weekly sets and frequency per muscle within the RP volume landmarks, with flags where the days fall short."
            }
            JobKind::WorkoutPlan => {
                "Multi-week training program for the athlete's experience, goal, equipment and injuries: weeks of training days of catalogue exercises with sets, rep range, RIR target, load (kg from the training log's e1RM, else %e1RM or RIR) and rest, fitted to the session length; weekly sets per muscle within the RP volume landmarks; RIR ramping down across each mesocycle, planned deloads and the progression rule."
            }
        }
    }

    /// The wire names of all kinds.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.as_str()).collect()
    }
}

impl FromStr for JobKind {
    type Err = CoachError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| CoachError::UnknownKind(s.to_owned()))
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_fromstr_and_display() {
        for &k in JobKind::ALL {
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::json!(k.as_str()))
            );
            assert_eq!(k.as_str().parse::<JobKind>().ok(), Some(k));
            assert_eq!(k.to_string(), k.as_str());
            assert!(!k.description().is_empty() && !k.description().contains('\n'));
        }
        let err = "nutritoin".parse::<JobKind>().err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "unknown job kind `nutritoin`; known kinds: nutrition, motivation, daily_coaching, overload_analysis, split, workout_plan"
            )
        );
    }
}
