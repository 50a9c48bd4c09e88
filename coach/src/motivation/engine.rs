//! The deterministic motivation engine: situation, template choice (stable hash) and rendering.

use super::bank::{self, BANK, Situation, Template};
use super::{
    COMEBACK_DAYS, MIN_STREAK_DAYS, MotivationInput, MotivationOutput, Personalisation, RecentPr,
};
use crate::athlete::{Goal, Units};
use crate::{CoachError, JobKind};

/// FNV-1a 64-bit hash of the parts, each followed by the unit separator `0x1f` (so `["ab", "c"]` and
/// `["a", "bc"]` differ). Stable across runs, platforms and Rust versions, unlike std's `RandomState`.
pub fn fnv1a_64(parts: &[&str]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    for part in parts {
        for &byte in part.as_bytes().iter().chain(std::iter::once(&0x1f)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// Kilograms per pound (international avoirdupois pound).
const KG_PER_LB: f64 = 0.453_592_37;

/// The number a PR load is quoted with, in the athlete's display units (kg to 0.01, lb whole).
pub(super) fn displayed_weight(kg: f64, units: Units) -> f64 {
    match units {
        Units::Kg => (kg * 100.0).round() / 100.0,
        Units::Lb => (kg / KG_PER_LB).round(),
    }
}

/// The PR load as text, e.g. `100 kg`, `221 lb`, or `body weight` for 0 kg.
fn weight_text(kg: f64, units: Units) -> String {
    if kg == 0.0 {
        return "body weight".to_owned();
    }
    format!("{} {units}", displayed_weight(kg, units))
}

/// Every number a message may quote for this input: the streak, each PR's load (as displayed) and
/// reps, and the days since the last workout.
pub(super) fn allowed_numbers(input: &MotivationInput) -> Vec<f64> {
    let mut numbers = Vec::new();
    if let Some(context) = &input.context {
        if let Some(streak) = context.streak_days {
            numbers.push(f64::from(streak.get()));
        }
        for pr in context.recent_prs.iter().flat_map(|p| p.as_slice()) {
            numbers.push(displayed_weight(pr.weight_kg.get(), input.athlete.units()));
            numbers.push(f64::from(pr.reps.get()));
        }
    }
    if let Some(days) = input.days_since_last_workout() {
        // Days are bounded by the date range (a few thousand), exact in f64.
        numbers.push(days as f64);
    }
    numbers
}

/// A phrase for the goal, used for `{goal}`.
fn goal_phrase(goal: Goal) -> &'static str {
    match goal {
        Goal::Strength => "getting stronger",
        Goal::Hypertrophy => "building muscle",
        Goal::GeneralFitness => "getting fitter",
        Goal::Endurance => "building endurance",
        Goal::FatLoss => "getting leaner",
    }
}

/// The streak worth mentioning, if any.
fn streak(input: &MotivationInput) -> Option<u16> {
    let days = input.context.as_ref()?.streak_days?.get();
    (days >= MIN_STREAK_DAYS).then_some(days)
}

/// The PR a message speaks to: the first listed (most recent).
fn first_pr(input: &MotivationInput) -> Option<&RecentPr> {
    input
        .context
        .as_ref()?
        .recent_prs
        .as_ref()?
        .as_slice()
        .first()
}

/// The situations this input allows, most specific first; `General` only when nothing else applies.
pub(super) fn situations(input: &MotivationInput) -> Vec<Situation> {
    let mut out = Vec::new();
    if first_pr(input).is_some() {
        out.push(Situation::Pr);
    }
    if streak(input).is_some() {
        out.push(Situation::Streak);
    }
    match input.days_since_last_workout() {
        Some(days) if days >= COMEBACK_DAYS => out.push(Situation::Comeback),
        Some(0 | 1) => out.push(Situation::Momentum),
        _ => {}
    }
    if out.is_empty() {
        out.push(Situation::General);
    }
    out
}

/// Picks `hash mod len` (the lengths here are tiny, so the cast is exact).
fn pick(hash: u64, len: usize) -> usize {
    (hash % len.max(1) as u64) as usize
}

pub(super) fn run(input: &MotivationInput) -> Result<MotivationOutput, CoachError> {
    let tone = input.tone();
    let athlete_id = input.athlete.id.as_ref().map_or("", |id| id.as_str());
    let date = input.date.to_string();
    let seed = input.seed.as_ref().map_or("", |s| s.as_str());
    let hash = fnv1a_64(&[athlete_id, &date, tone.as_str(), seed]);

    let situations = situations(input);
    let situation = situations
        .get(pick(hash, situations.len()))
        .copied()
        .unwrap_or(Situation::General);
    let group: Vec<&Template> = BANK
        .iter()
        .filter(|t| t.tone == tone && t.situation == situation)
        .collect();
    let index = pick(hash >> 32, group.len());
    let Some(template) = group.get(index) else {
        return Err(CoachError::Engine {
            kind: JobKind::Motivation,
            message: format!("the bank has no {tone} message for {}", situation.code()),
        });
    };

    let mut text = template.text.to_owned();
    let streak = streak(input);
    if streak.is_some() && situation != Situation::Streak {
        text.push_str(bank::streak_tail(tone));
    }

    let mut used = Vec::new();
    let mut fill = |text: &mut String, placeholder: &str, value: &str, what: Personalisation| {
        if text.contains(placeholder) {
            *text = text.replace(placeholder, value);
            if !used.contains(&what) {
                used.push(what);
            }
        }
    };
    if let Some(pr) = first_pr(input) {
        let units = input.athlete.units();
        fill(
            &mut text,
            "{exercise}",
            pr.exercise_id.name(),
            Personalisation::RecentPr,
        );
        fill(
            &mut text,
            "{weight}",
            &weight_text(pr.weight_kg.get(), units),
            Personalisation::RecentPr,
        );
        fill(
            &mut text,
            "{reps}",
            &pr.reps.get().to_string(),
            Personalisation::RecentPr,
        );
    }
    if let Some(days) = streak {
        fill(
            &mut text,
            "{streak}",
            &days.to_string(),
            Personalisation::Streak,
        );
    }
    if let Some(days) = input.days_since_last_workout() {
        fill(
            &mut text,
            "{days}",
            &days.to_string(),
            Personalisation::LastWorkout,
        );
    }
    fill(
        &mut text,
        "{goal}",
        goal_phrase(input.athlete.goal),
        Personalisation::Goal,
    );
    if situation == Situation::Momentum && !used.contains(&Personalisation::LastWorkout) {
        used.push(Personalisation::LastWorkout);
    }
    if text.contains('{') || text.contains('}') {
        return Err(CoachError::Engine {
            kind: JobKind::Motivation,
            message: format!("a placeholder was left unfilled in `{}`", template.text),
        });
    }

    Ok(MotivationOutput {
        message: capitalise_first(&text),
        tone,
        personalised_with: used,
        message_id: format!("{tone}.{}.{}", situation.code(), index + 1),
    })
}

/// Upper-cases the first character (templates may start with `{goal}`).
fn capitalise_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motivation::{MAX_MESSAGE_CHARS, Tone};

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // No parts: the FNV-1a 64 offset basis.
        assert_eq!(fnv1a_64(&[]), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a_64(&["ab", "c"]), fnv1a_64(&["a", "bc"]));
        assert_eq!(fnv1a_64(&["x"]), fnv1a_64(&["x"]));
    }

    #[test]
    fn bank_is_big_enough_covers_every_group_and_uses_only_its_placeholders() {
        assert!(BANK.len() >= 60, "{}", BANK.len());
        for &tone in Tone::ALL {
            for situation in [
                Situation::Pr,
                Situation::Streak,
                Situation::Comeback,
                Situation::Momentum,
                Situation::General,
            ] {
                let n = BANK
                    .iter()
                    .filter(|t| t.tone == tone && t.situation == situation)
                    .count();
                assert!(n >= 3, "{tone} {situation:?}: {n}");
            }
        }
        let mut seen = std::collections::HashSet::new();
        for t in BANK {
            assert!(seen.insert(t.text), "duplicate: {}", t.text);
            assert!(!t.text.chars().any(|c| c.is_ascii_digit()), "{}", t.text);
            let mut rest = t.text;
            while let Some(start) = rest.find('{') {
                let end = rest[start..].find('}').map(|e| start + e + 1).unwrap();
                assert!(
                    t.situation.placeholders().contains(&&rest[start..end]),
                    "{}",
                    t.text
                );
                rest = &rest[end..];
            }
            // Long placeholders + the streak tail still fit.
            assert!(t.text.len() + 120 < MAX_MESSAGE_CHARS, "{}", t.text);
        }
        for &tone in Tone::ALL {
            let tail = bank::streak_tail(tone);
            assert!(tail.contains("{streak}") && !tail.chars().any(|c| c.is_ascii_digit()));
        }
    }
}
