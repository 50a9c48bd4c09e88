//! Motivation guardrails: what any provider's message must satisfy for a given input.

use super::engine::allowed_numbers;
use super::{
    MAX_MESSAGE_CHARS, MAX_MESSAGE_ID_CHARS, MotivationInput, MotivationOutput, Personalisation,
};
use crate::Violation;
use crate::guardrail::{check_items, check_length};

/// The numbers written in `text` (digit runs, with one decimal point between digits).
pub(super) fn numbers_in(text: &str) -> Vec<(String, f64)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
        let written: String = chars[start..i].iter().collect();
        if let Ok(value) = written.parse::<f64>() {
            out.push((written, value));
        }
    }
    out
}

pub(super) fn check(input: &MotivationInput, out: &MotivationOutput) -> Vec<Violation> {
    let mut v = Vec::new();
    check_length(&mut v, "/message", &out.message, 1, MAX_MESSAGE_CHARS);
    check_length(
        &mut v,
        "/message_id",
        &out.message_id,
        1,
        MAX_MESSAGE_ID_CHARS,
    );
    check_items(
        &mut v,
        "/personalised_with",
        out.personalised_with.len(),
        0,
        Personalisation::ALL.len(),
    );

    if out.tone != input.tone() {
        v.push(Violation::new(
            "/tone",
            format!(
                "must be `{}`, the tone the input asks for, got `{}`",
                input.tone(),
                out.tone
            ),
        ));
    }

    if out.message.contains('{') || out.message.contains('}') {
        v.push(Violation::new(
            "/message",
            "contains a placeholder or brace (`{...}`); fill every placeholder with the input's values",
        ));
    }

    let mut allowed = allowed_numbers(input);
    // Numbers that are part of a PR exercise's catalogue name (e.g. "3/4 Sit-Up") are fine too.
    for pr in input
        .context
        .iter()
        .flat_map(|c| c.recent_prs.iter())
        .flat_map(|p| p.as_slice())
    {
        allowed.extend(
            numbers_in(pr.exercise_id.name())
                .into_iter()
                .map(|(_, n)| n),
        );
    }
    for (written, value) in numbers_in(&out.message) {
        if !allowed.iter().any(|a| (a - value).abs() < 1e-9) {
            let listed: Vec<String> = allowed.iter().map(f64::to_string).collect();
            v.push(Violation::new(
                "/message",
                format!(
                    "quotes the number {written}, which is not from the input; numbers may only be the \
                     streak, a PR's load or reps, or the days since the last workout ({})",
                    if listed.is_empty() { "none given".to_owned() } else { listed.join(", ") }
                ),
            ));
        }
    }

    let context = input.context.as_ref();
    let lower = out.message.to_lowercase();
    for (i, what) in out.personalised_with.iter().enumerate() {
        let path = format!("/personalised_with/{i}");
        if out.personalised_with[..i].contains(what) {
            v.push(Violation::new(path, format!("`{what}` is listed twice")));
            continue;
        }
        match what {
            Personalisation::Streak => {
                match context.and_then(|c| c.streak_days) {
                    None => v.push(Violation::new(path, "the input gives no streak_days")),
                    Some(streak) => {
                        let days = f64::from(streak.get());
                        if !numbers_in(&out.message).iter().any(|(_, n)| *n == days) {
                            v.push(Violation::new(
                            "/message",
                            format!("is personalised with the streak but does not quote it ({} days)", streak.get()),
                        ));
                        }
                    }
                }
            }
            Personalisation::RecentPr => {
                let prs = context
                    .and_then(|c| c.recent_prs.as_ref())
                    .map(|p| p.as_slice())
                    .unwrap_or_default();
                if prs.is_empty() {
                    v.push(Violation::new(path, "the input gives no recent_prs"));
                } else if !prs.iter().any(|pr| {
                    lower.contains(&pr.exercise_id.name().to_lowercase())
                        || lower.contains(pr.exercise_id.as_str())
                }) {
                    let names: Vec<&str> = prs.iter().map(|pr| pr.exercise_id.name()).collect();
                    v.push(Violation::new(
                        "/message",
                        format!(
                            "is personalised with a recent PR but names none of the PR exercises ({})",
                            names.join(", ")
                        ),
                    ));
                }
            }
            Personalisation::LastWorkout => {
                if context.and_then(|c| c.last_workout_date).is_none() {
                    v.push(Violation::new(path, "the input gives no last_workout_date"));
                }
            }
            Personalisation::Goal => {}
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::numbers_in;

    #[test]
    fn finds_whole_and_decimal_numbers() {
        let found: Vec<f64> = numbers_in("102.5 kg for 5. Day 12, 3.x")
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(found, vec![102.5, 5.0, 12.0, 3.0]);
    }
}
