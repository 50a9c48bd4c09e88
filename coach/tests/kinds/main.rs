//! Every job kind through the coach's public API (one test binary: each costs a link).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod daily_coaching;
mod exercise_swap;
mod layoff;
mod motivation;
mod next_set;
mod nutrition;
mod overload_analysis;
mod progress_report;
mod properties;
mod science;
mod split;
mod support;
mod workout_plan;
