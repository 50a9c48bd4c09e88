//! The `daily_coaching` kind through the public API: parsing, schemas, engine and guardrails.

use crate::support::{business_fields, only_invalid, paths, run, with};
use serde_json::{Value, json};
use sparta_coach::daily_coaching::engine::{MODIFY_MIN_SCORE, TRAIN_MIN_SCORE};
use sparta_coach::daily_coaching::{MAX_PLANNED_EXERCISES, MAX_TIPS, Rating, Sets};
use sparta_coach::{
    FieldError, InputRejection, JobInput, JobKind, Violation, check_output, input_schema,
    output_schema,
};

/// The `input` of `examples/requests/daily_coaching.json` (the client contract).
fn example_input() -> Value {
    crate::support::example_input("daily_coaching")
}

fn parse(raw: &Value) -> Result<JobInput, InputRejection> {
    JobInput::parse(JobKind::DailyCoaching, raw)
}

fn invalid(raw: &Value) -> FieldError {
    only_invalid(parse(raw))
}

fn business(raw: &Value) -> Vec<String> {
    business_fields(parse(raw))
}

/// The example with a given readiness (no HRV/RHR) and no recent sessions.
fn with_readiness(sleep: f64, quality: u8, soreness: u8, stress: u8, motivation: u8) -> Value {
    let raw = with(
        example_input(),
        "/readiness",
        Some(
            json!({ "sleep_hours": sleep, "sleep_quality": quality, "soreness": soreness,
                     "stress": stress, "motivation": motivation }),
        ),
    );
    with(raw, "/recent_sessions", None)
}

#[test]
fn the_example_parses_as_is_and_is_a_rest_day() {
    let input = parse(&example_input()).unwrap();
    assert_eq!(input.kind(), JobKind::DailyCoaching);
    assert_eq!(parse(&input.to_value()).unwrap(), input);
    let out = run(&input);
    // Hand check (engine docs): sleep 5.5 h → 0.375, quality 2 / soreness 4 / stress 4 /
    // motivation 2 → 0.25 each, HRV 38/52 = 0.73 (≤ 0.80) → 0, RHR +8 bpm → 0.2, load: no history,
    // mean session RPE 8.67 → 0.11. Weighted: 5.625 + 2.5 + 3.75 + 2.5 + 2.5 + 0 + 2 + 1.67 = 20.5.
    assert_eq!(out["readiness_score"], json!(21));
    let decision = out["decision"].as_str().unwrap();
    assert!(decision == "rest" || decision == "modify");
    assert_eq!(decision, "rest");
    assert_eq!(out["components"].as_array().unwrap().len(), 8);
    assert_eq!(out["load"]["acute_load_au"], json!(1955.0));
    assert_eq!(out["load"]["acwr"], Value::Null);
    assert_eq!(out["load_adjustment_pct"], json!(-100.0));
    assert_eq!(out["volume_adjustment_pct"], json!(-100.0));
    let ex = out["adjusted_session"]["exercises"].as_array().unwrap();
    assert_eq!(ex[0]["exercise_id"], "barbell-squat");
    assert_eq!(ex[1]["exercise_id"], "romanian-deadlift");
    assert!(ex.iter().all(|e| e["sets"] == json!(0)));
    assert!(!out["recovery_tips"].as_array().unwrap().is_empty());
}

#[test]
fn bad_inputs_point_at_the_field() {
    let e = invalid(&with(
        example_input(),
        "/readiness/sleep_quality",
        Some(json!(6)),
    ));
    assert_eq!(e.field, "readiness.sleep_quality");
    assert_eq!(e.details["maximum"], json!(Rating::MAX));
    let e = invalid(&with(
        example_input(),
        "/planned_session/exercises/1/exercise_id",
        Some(json!("romanian-dedlift")),
    ));
    assert_eq!(e.field, "planned_session.exercises[1].exercise_id");
    assert_eq!(e.details["closest"][0], json!("romanian-deadlift"));
    let e = invalid(&with(
        example_input(),
        "/recent_sessions/0/session_rpe",
        Some(json!(11)),
    ));
    assert_eq!(e.field, "recent_sessions[0].session_rpe");
    let e = invalid(&with(
        example_input(),
        "/planned_session/exercises/0/sets",
        Some(json!(0)),
    ));
    assert_eq!(e.field, "planned_session.exercises[0].sets");
    assert_eq!(e.details["minimum"], json!(Sets::MIN));
    let e = invalid(&with(example_input(), "/readiness/stress", None));
    assert_eq!(e.field, "readiness.stress");
    let e = invalid(&with(example_input(), "/readiness/hrv", Some(json!(40))));
    assert_eq!(e.field, "readiness.hrv");
    let e = invalid(&with(example_input(), "/date", Some(json!("21/11/2026"))));
    assert_eq!(e.field, "date");
}

#[test]
fn business_rules_are_422() {
    let raw = with(example_input(), "/readiness/hrv_baseline_ms", None);
    assert_eq!(business(&raw), vec!["readiness.hrv_baseline_ms"]);
    let raw = with(example_input(), "/readiness/resting_hr", None);
    assert_eq!(business(&raw), vec!["readiness.resting_hr"]);
    let raw = with(
        example_input(),
        "/recent_sessions/1/date",
        Some(json!("2026-11-22")),
    );
    assert_eq!(business(&raw), vec!["recent_sessions[1].date"]);
    let raw = with(
        example_input(),
        "/planned_session/exercises",
        Some(json!([])),
    );
    assert_eq!(business(&raw), vec!["planned_session.exercises"]);
}

#[test]
fn a_good_day_trains_as_planned() {
    let out = run(&parse(&with_readiness(8.0, 4, 2, 2, 4)).unwrap());
    assert_eq!(out["decision"], "train");
    assert!(out["readiness_score"].as_u64().unwrap() >= u64::from(TRAIN_MIN_SCORE));
    assert_eq!(out["load_adjustment_pct"], json!(0.0));
    assert_eq!(out["volume_adjustment_pct"], json!(0.0));
    let ex = &out["adjusted_session"]["exercises"];
    assert_eq!(
        (ex[0]["sets"].clone(), ex[0]["rir"].clone()),
        (json!(4), json!(2))
    );
}

#[test]
fn a_middling_day_is_modified_within_the_caps() {
    // Score 56: light modification (-1 set, +1 RIR; load from the RTS chart).
    let out = run(&parse(&with_readiness(7.0, 3, 3, 3, 3)).unwrap());
    assert_eq!(out["decision"], "modify");
    assert_eq!(out["readiness_score"], json!(56));
    let ex = &out["adjusted_session"]["exercises"];
    assert_eq!(
        (ex[0]["sets"].clone(), ex[0]["rir"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(ex[0]["load_adjustment_pct"], json!(-3.1));
    assert_eq!(out["volume_adjustment_pct"], json!(-28.6));
    // Score 46: heavy modification (-2 sets, +2 RIR).
    let out = run(&parse(&with_readiness(6.0, 3, 3, 3, 3)).unwrap());
    assert_eq!(out["decision"], "modify");
    let score = out["readiness_score"].as_u64().unwrap();
    assert!((u64::from(MODIFY_MIN_SCORE)..u64::from(TRAIN_MIN_SCORE)).contains(&score));
    let ex = &out["adjusted_session"]["exercises"];
    assert_eq!(
        (ex[0]["sets"].clone(), ex[0]["rir"].clone()),
        (json!(2), json!(4))
    );
    assert_eq!(ex[0]["load_adjustment_pct"], json!(-6.0));
    // The largest cut: RDL 8 reps, 10 → 12 reps to failure (73.9 → 68.0 % of 1RM) = -8.0 %.
    assert_eq!(ex[1]["load_adjustment_pct"], json!(-8.0));
    assert_eq!(out["load_adjustment_pct"], json!(-8.0));
    // Never below one set: a one-set exercise stays at one set.
    let raw = with(
        with_readiness(6.0, 3, 3, 3, 3),
        "/planned_session/exercises/1/sets",
        Some(json!(1)),
    );
    let out = run(&parse(&raw).unwrap());
    assert_eq!(out["adjusted_session"]["exercises"][1]["sets"], json!(1));
}

#[test]
fn chronic_history_gives_an_uncoupled_acwr() {
    // Acute week: 2 × 60 min @ 7 = 840 AU. Days 7-27 before: 6 × 60 min @ 7 = 2520 AU → 840 AU/week.
    let mut sessions = vec![
        json!({ "date": "2026-11-20", "duration_min": 60, "session_rpe": 7 }),
        json!({ "date": "2026-11-17", "duration_min": 60, "session_rpe": 7 }),
    ];
    for date in [
        "2026-11-13",
        "2026-11-10",
        "2026-11-06",
        "2026-11-03",
        "2026-10-30",
        "2026-10-27",
    ] {
        sessions.push(json!({ "date": date, "duration_min": 60, "session_rpe": 7 }));
    }
    // Older than 28 days: ignored.
    sessions.push(json!({ "date": "2026-10-01", "duration_min": 600, "session_rpe": 10 }));
    let raw = with(
        with_readiness(8.0, 4, 2, 2, 4),
        "/recent_sessions",
        Some(Value::Array(sessions)),
    );
    let out = run(&parse(&raw).unwrap());
    assert_eq!(out["load"]["acute_load_au"], json!(840.0));
    assert_eq!(out["load"]["chronic_weekly_load_au"], json!(840.0));
    assert_eq!(out["load"]["acwr"], json!(1.0));
    let load = out["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "training_load")
        .unwrap();
    assert_eq!(load["score"], json!(100));
}

#[test]
fn schemas_carry_the_bounds() {
    let input = input_schema(JobKind::DailyCoaching).to_string();
    assert!(input.contains(&format!("\"maxItems\":{MAX_PLANNED_EXERCISES}")));
    assert!(input.contains(&format!("\"maximum\":{}", Rating::MAX)));
    let output = output_schema(JobKind::DailyCoaching);
    let props = &output["properties"];
    assert_eq!(props["readiness_score"]["maximum"], json!(100));
    assert_eq!(props["load_adjustment_pct"]["maximum"], json!(0.0));
    assert_eq!(props["load_adjustment_pct"]["minimum"], json!(-100.0));
    assert_eq!(props["volume_adjustment_pct"]["maximum"], json!(0.0));
    assert_eq!(props["cues"]["maxItems"], json!(MAX_TIPS));
    let text = output.to_string();
    assert!(
        text.contains(&format!("\"maximum\":{}", Sets::MAX)),
        "{text}"
    );
}

#[test]
fn engine_output_passes_its_guardrails_across_the_input_space() {
    let mut decisions = std::collections::HashSet::new();
    for sleep in [3.0, 5.5, 7.0, 9.0] {
        for q in 1..=5 {
            for soreness in [1, 3, 5] {
                for stress in [1, 5] {
                    let raw = with_readiness(sleep, q, soreness, stress, q);
                    let out = run(&parse(&raw).unwrap());
                    decisions.insert(out["decision"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    assert_eq!(decisions.len(), 3, "{decisions:?}");
}

fn answer(raw: &Value) -> (JobInput, Value) {
    let input = parse(raw).unwrap();
    let out = run(&input);
    (input, out)
}

fn violations(raw: &Value, edit: impl FnOnce(&mut Value)) -> Vec<Violation> {
    let (input, mut out) = answer(raw);
    edit(&mut out);
    check_output(&input, &out)
}

#[test]
fn guardrail_catches_a_decision_inconsistent_with_the_score() {
    let v = violations(&example_input(), |o| o["decision"] = json!("train"));
    assert!(paths(&v).contains(&"/decision"), "{v:?}");
    // Score pushed far from what the inputs give.
    let v = violations(&with_readiness(8.0, 4, 2, 2, 4), |o| {
        o["readiness_score"] = json!(20)
    });
    assert!(
        paths(&v).contains(&"/readiness_score") && paths(&v).contains(&"/decision"),
        "{v:?}"
    );
}

#[test]
fn guardrail_catches_sets_on_a_rest_day() {
    let v = violations(&example_input(), |o| {
        o["adjusted_session"]["exercises"][0]["sets"] = json!(2)
    });
    assert!(
        paths(&v).contains(&"/adjusted_session/exercises/0/sets"),
        "{v:?}"
    );
    assert!(paths(&v).contains(&"/volume_adjustment_pct"), "{v:?}");
}

#[test]
fn guardrail_catches_exercises_other_than_the_planned_ones() {
    let v = violations(&example_input(), |o| {
        let ex = o["adjusted_session"]["exercises"].as_array_mut().unwrap();
        ex.swap(0, 1);
    });
    assert!(paths(&v).contains(&"/adjusted_session/exercises"), "{v:?}");
    let v = violations(&example_input(), |o| {
        o["adjusted_session"]["exercises"][1]["exercise_id"] = json!("leg-press");
    });
    assert_eq!(paths(&v), vec!["/adjusted_session/exercises"]);
    let v = violations(&example_input(), |o| {
        o["adjusted_session"]["exercises"]
            .as_array_mut()
            .unwrap()
            .pop();
    });
    assert!(paths(&v).contains(&"/adjusted_session/exercises"), "{v:?}");
}

#[test]
fn guardrail_catches_increases_and_cuts_beyond_the_caps() {
    let good = with_readiness(8.0, 4, 2, 2, 4);
    let v = violations(&good, |o| {
        o["adjusted_session"]["exercises"][0]["sets"] = json!(5)
    });
    assert!(
        paths(&v).contains(&"/adjusted_session/exercises/0/sets"),
        "{v:?}"
    );
    let v = violations(&good, |o| {
        o["adjusted_session"]["exercises"][0]["rir"] = json!(0)
    });
    assert_eq!(paths(&v), vec!["/adjusted_session/exercises/0/rir"]);
    let v = violations(&good, |o| {
        o["adjusted_session"]["exercises"][0]["load_adjustment_pct"] = json!(5.0);
        o["load_adjustment_pct"] = json!(5.0);
    });
    assert!(paths(&v).contains(&"/load_adjustment_pct"), "{v:?}");
    assert!(
        paths(&v).contains(&"/adjusted_session/exercises/0/load_adjustment_pct"),
        "{v:?}"
    );

    let middling = with_readiness(7.0, 3, 3, 3, 3);
    // Cutting 3 of 4 sets is beyond the modify cap (2).
    let v = violations(&middling, |o| {
        o["adjusted_session"]["exercises"][0]["sets"] = json!(1)
    });
    assert!(
        paths(&v).contains(&"/adjusted_session/exercises/0/sets"),
        "{v:?}"
    );
    let v = violations(&middling, |o| {
        o["adjusted_session"]["exercises"][0]["rir"] = json!(6)
    });
    assert_eq!(paths(&v), vec!["/adjusted_session/exercises/0/rir"]);
    let v = violations(&middling, |o| {
        o["adjusted_session"]["exercises"][0]["reps"] = json!(10)
    });
    assert_eq!(paths(&v), vec!["/adjusted_session/exercises/0/reps"]);
    let v = violations(&middling, |o| o["volume_adjustment_pct"] = json!(-10.0));
    assert_eq!(paths(&v), vec!["/volume_adjustment_pct"]);
    let v = violations(&middling, |o| o["load_adjustment_pct"] = json!(-50.0));
    assert_eq!(paths(&v), vec!["/load_adjustment_pct"]);
}

#[test]
fn guardrail_checks_the_schema_limits_and_shape() {
    let v = violations(&example_input(), |o| {
        o["cues"] = json!(["a", "b", "c", "d", "e", "f"])
    });
    assert_eq!(paths(&v), vec!["/cues"]);
    let v = violations(&example_input(), |o| o["rationale"] = json!(""));
    assert_eq!(paths(&v), vec!["/rationale"]);
    let v = violations(&example_input(), |o| o["readiness_score"] = json!(-3));
    assert_eq!(paths(&v), vec![""]);
}
