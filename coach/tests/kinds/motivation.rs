//! The `motivation` kind through the public API: parsing, schemas, engine and guardrails.

use crate::support::{only_invalid, paths, run, with};
use serde_json::{Value, json};
use sparta_coach::motivation::{MAX_MESSAGE_CHARS, MAX_RECENT_PRS, StreakDays, Tone};
use sparta_coach::{
    FieldError, InputRejection, JobInput, JobKind, Violation, check_output, input_schema,
    output_schema,
};

/// The `input` of `examples/requests/motivation.json` (the client contract).
fn example_input() -> Value {
    crate::support::example_input("motivation")
}

fn parse(raw: &Value) -> Result<JobInput, InputRejection> {
    JobInput::parse(JobKind::Motivation, raw)
}

fn invalid(raw: &Value) -> FieldError {
    only_invalid(parse(raw))
}

#[test]
fn the_example_parses_as_is_and_round_trips() {
    let input = parse(&example_input()).unwrap();
    assert_eq!(input.kind(), JobKind::Motivation);
    assert_eq!(parse(&input.to_value()).unwrap(), input);
    let out = run(&input);
    assert_eq!(out["tone"], json!("encouraging"));
    let message = out["message"].as_str().unwrap();
    assert!(!message.is_empty() && message.chars().count() <= MAX_MESSAGE_CHARS);
}

#[test]
fn minimal_input_without_context_or_tone_defaults_to_encouraging() {
    let raw = json!({ "athlete": { "experience": "beginner", "goal": "strength" }, "date": "2026-01-05" });
    let input = parse(&raw).unwrap();
    let out = run(&input);
    assert_eq!(out["tone"], json!("encouraging"));
    assert!(
        out["message_id"]
            .as_str()
            .unwrap()
            .starts_with("encouraging.general.")
    );
}

#[test]
fn bad_inputs_point_at_the_field() {
    let e = invalid(&with(
        example_input(),
        "/context/recent_prs/0/exercise_id",
        Some(json!("barbel-squat")),
    ));
    assert_eq!(e.field, "context.recent_prs[0].exercise_id");
    assert!(e.message.contains("barbel-squat"), "{}", e.message);
    let closest = e.details["closest"].as_array().unwrap();
    assert_eq!(closest.first(), Some(&json!("barbell-squat")));

    let e = invalid(&with(example_input(), "/date", Some(json!("2026-02-30"))));
    assert_eq!(e.field, "date");
    let e = invalid(&with(example_input(), "/tone", Some(json!("angry"))));
    assert_eq!(e.field, "tone");
    assert_eq!(
        e.details["allowed"].as_array().unwrap().len(),
        Tone::ALL.len()
    );
    let e = invalid(&with(
        example_input(),
        "/context/streak_days",
        Some(json!(-1)),
    ));
    assert_eq!(e.field, "context.streak_days");
    assert_eq!(e.details["maximum"], json!(StreakDays::MAX));
    let e = invalid(&with(
        example_input(),
        "/context/recent_prs/0/reps",
        Some(json!(0)),
    ));
    assert_eq!(e.field, "context.recent_prs[0].reps");
    let e = invalid(&with(example_input(), "/context/mood", Some(json!("good"))));
    assert_eq!(e.field, "context.mood");
    let e = invalid(&with(example_input(), "/date", None));
    assert_eq!(e.field, "date");
    let e = invalid(&with(example_input(), "/seed", Some(json!(""))));
    assert_eq!(e.field, "seed");
}

#[test]
fn last_workout_after_the_date_is_a_business_rule() {
    let raw = with(
        example_input(),
        "/context/last_workout_date",
        Some(json!("2026-11-22")),
    );
    match parse(&raw) {
        Err(InputRejection::BusinessRule(errors)) => {
            assert_eq!(errors[0].field, "context.last_workout_date");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn schemas_carry_the_bounds() {
    let input = input_schema(JobKind::Motivation);
    let text = input.to_string();
    assert!(
        text.contains(&format!("\"maxItems\":{MAX_RECENT_PRS}")),
        "{text}"
    );
    assert!(text.contains("\"format\":\"date\""));
    let output = output_schema(JobKind::Motivation);
    assert_eq!(
        output["properties"]["message"]["maxLength"],
        json!(MAX_MESSAGE_CHARS)
    );
    assert!(output["properties"]["personalised_with"]["maxItems"].is_number());
    assert!(output["properties"]["message_id"]["maxLength"].is_number());
}

#[test]
fn deterministic_and_varies_with_date_and_seed() {
    let input = parse(&example_input()).unwrap();
    assert_eq!(run(&input), run(&input));
    let mut messages = std::collections::HashSet::new();
    for day in 1..=28 {
        let raw = with(
            example_input(),
            "/date",
            Some(json!(format!("2026-12-{day:02}"))),
        );
        let raw = with(raw, "/seed", Some(json!("tenant-a")));
        messages.insert(
            run(&parse(&raw).unwrap())["message"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert!(messages.len() >= 5, "{messages:?}");
}

#[test]
fn personalisation_uses_the_inputs_numbers_and_catalogue_names() {
    for &tone in Tone::ALL {
        for day in 1..=20 {
            let raw = with(
                example_input(),
                "/date",
                Some(json!(format!("2026-11-{:02}", day + 1))),
            );
            let raw = with(raw, "/context/last_workout_date", Some(json!("2026-11-01")));
            let raw = with(raw, "/tone", Some(json!(tone.as_str())));
            let input = parse(&raw).unwrap();
            let out = run(&input);
            let message = out["message"].as_str().unwrap();
            let with_list: Vec<&str> = out["personalised_with"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            if with_list.contains(&"recent_pr") {
                assert!(
                    message.contains("Barbell Squat") && message.contains("100 kg"),
                    "{message}"
                );
            }
            // The streak (12) is mentioned in every message: as the topic or as the tail.
            assert!(
                with_list.contains(&"streak") && message.contains("12"),
                "{message}"
            );
        }
    }
}

#[test]
fn pounds_are_displayed_when_asked() {
    let raw = json!({ "athlete": { "experience": "beginner", "goal": "strength", "units": "lb" },
                      "date": "2026-01-05",
                      "context": { "recent_prs": [ { "exercise_id": "barbell-squat", "weight_kg": 100, "reps": 5 } ] } });
    let out = run(&parse(&raw).unwrap());
    assert!(out["message"].as_str().unwrap().contains("220 lb"), "{out}");
}

fn example_answer() -> (JobInput, Value) {
    let input = parse(&example_input()).unwrap();
    let out = run(&input);
    (input, out)
}

fn violations_after(edit: impl FnOnce(&mut Value)) -> Vec<Violation> {
    let (input, mut out) = example_answer();
    edit(&mut out);
    check_output(&input, &out)
}

#[test]
fn guardrail_catches_empty_and_overlong_messages() {
    let v = violations_after(|o| {
        o["message"] = json!("");
        o["personalised_with"] = json!([]);
    });
    assert_eq!(paths(&v), vec!["/message"]);
    let v = violations_after(|o| o["message"] = json!("a".repeat(MAX_MESSAGE_CHARS + 1)));
    assert_eq!(paths(&v)[0], "/message");
}

#[test]
fn guardrail_catches_unfilled_placeholders() {
    let v = violations_after(|o| {
        o["message"] = json!("Day {streak}: keep going, 12 days!");
        o["personalised_with"] = json!(["streak"]);
    });
    assert_eq!(paths(&v), vec!["/message"]);
    assert!(v[0].message.contains("placeholder"));
}

#[test]
fn guardrail_catches_a_tone_other_than_the_inputs() {
    let v = violations_after(|o| o["tone"] = json!("tough_love"));
    assert_eq!(paths(&v), vec!["/tone"]);
}

#[test]
fn guardrail_catches_wrong_streak_and_pr_numbers() {
    let v = violations_after(|o| {
        o["message"] = json!("15 days in a row! Keep it up.");
        o["personalised_with"] = json!(["streak"]);
    });
    assert!(
        paths(&v).iter().all(|p| *p == "/message") && v.len() == 2,
        "{v:?}"
    );
    let v = violations_after(|o| {
        o["message"] = json!("Barbell Squat: 110 kg for 5! Day 12 of the streak.");
        o["personalised_with"] = json!(["recent_pr", "streak"]);
    });
    assert_eq!(paths(&v), vec!["/message"]);
    assert!(v[0].message.contains("110"), "{v:?}");
}

#[test]
fn guardrail_catches_personalisation_the_input_does_not_back() {
    let raw = json!({ "athlete": { "experience": "beginner", "goal": "strength" }, "date": "2026-01-05" });
    let input = parse(&raw).unwrap();
    let out = json!({ "message": "Keep going!", "tone": "encouraging",
                      "personalised_with": ["streak", "recent_pr", "last_workout", "goal", "goal"],
                      "message_id": "custom" });
    let v = check_output(&input, &out);
    assert_eq!(
        paths(&v),
        vec![
            "/personalised_with",
            "/personalised_with/0",
            "/personalised_with/1",
            "/personalised_with/2",
            "/personalised_with/4"
        ]
    );
    let (input, _) = example_answer();
    let out = json!({ "message": "A PR on the bench!", "tone": "encouraging", "personalised_with": ["recent_pr"], "message_id": "custom" });
    assert_eq!(paths(&check_output(&input, &out)), vec!["/message"]);
}

#[test]
fn guardrail_reports_an_output_of_the_wrong_shape() {
    let v = violations_after(|o| o["tone"] = json!(3));
    assert_eq!(paths(&v), vec![""]);
}

#[test]
fn numbers_in_a_pr_exercise_name_are_not_mistaken_for_invented_figures() {
    for day in 1..=9 {
        let raw = json!({ "athlete": { "id": "a-1", "experience": "beginner", "goal": "general_fitness" },
                          "date": format!("2026-03-0{day}"),
                          "context": { "recent_prs": [ { "exercise_id": "3-4-sit-up", "weight_kg": 0, "reps": 30 } ] },
                          "tone": "celebratory" });
        let out = run(&parse(&raw).unwrap());
        assert!(
            out["message"].as_str().unwrap().contains("3/4 Sit-Up"),
            "{out}"
        );
    }
}
