//! The `split` kind through the public API: parsing, business rules, schemas, engine and guardrails.

use crate::support::{
    Schema, assert_bounded, assert_valid, business_fields, only_invalid, paths, run, with,
};
use serde_json::{Value, json};
use sparta_coach::split::engine::{LANDMARKS, place_training_days};
use sparta_coach::split::{DaysPerWeek, MAX_SETS_PER_SESSION, Style, Weekday};
use sparta_coach::{
    FieldError, InputRejection, JobInput, JobKind, Violation, check_output, input_schema,
    output_schema,
};

/// The `input` of `examples/requests/split.json` (the client contract).
fn example_input() -> Value {
    crate::support::example_input("split")
}

/// A minimal input.
fn input(experience: &str, goal: &str, days: u8, style: &str) -> Value {
    json!({
        "athlete": { "experience": experience, "goal": goal },
        "days_per_week": days,
        "style": style
    })
}

fn parse(raw: &Value) -> Result<JobInput, InputRejection> {
    JobInput::parse(JobKind::Split, raw)
}

fn invalid(raw: &Value) -> FieldError {
    only_invalid(parse(raw))
}

fn business(raw: &Value) -> Vec<String> {
    business_fields(parse(raw))
}

/// Parsed input and the engine's answer (checked against its own guardrails).
fn answer(raw: &Value) -> (JobInput, Value) {
    let input = parse(raw).unwrap();
    let out = run(&input);
    (input, out)
}

fn entry<'a>(out: &'a Value, muscle: &str) -> &'a Value {
    out["weekly_sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["muscle"] == muscle)
        .unwrap()
}

fn flagged(out: &Value, code: &str, muscle: &str) -> bool {
    out["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == code && f["muscle"] == muscle)
}

fn has(violations: &[Violation], path: &str, word: &str) -> bool {
    violations
        .iter()
        .any(|v| v.path == path && v.message.contains(word))
}

const MAJOR: [&str; 5] = ["chest", "lats", "shoulders", "quadriceps", "hamstrings"];

#[test]
fn the_example_parses_as_is_and_gives_an_arnold_week() {
    let input = parse(&example_input()).unwrap();
    assert_eq!(input.kind(), JobKind::Split);
    assert_eq!(parse(&input.to_value()).unwrap(), input);
    let out = run(&input);
    assert_eq!(out["template"], "arnold");
    assert_eq!(out["training_days"], 6);
    let days = out["days"].as_array().unwrap();
    let labels: Vec<&str> = days.iter().map(|d| d["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        [
            "Chest + back",
            "Shoulders + arms",
            "Legs",
            "Chest + back",
            "Shoulders + arms",
            "Legs",
            "Rest"
        ]
    );
    assert_eq!(days[6]["day"], "sun");
    assert_eq!(days[6]["rest"], true);
    assert!(days[6]["muscles"].as_array().unwrap().is_empty());
    // Shoulders are a priority: toward the high end of MAV (22), capped at 10 a session → 20.
    let shoulders = entry(&out, "shoulders");
    assert_eq!(shoulders["priority"], true);
    assert_eq!(shoulders["direct_sets"], 20);
    assert_eq!(shoulders["frequency"], 2);
    assert_eq!(
        shoulders["landmarks"],
        json!({ "mev": 8, "mav_low": 16, "mav_high": 22, "mrv": 26 })
    );
    // Chest at the low end of MAV (12); triceps get 0.5 × 12 indirect + 4 direct = 10.
    assert_eq!(entry(&out, "chest")["weekly_sets"], json!(12.0));
    let triceps = entry(&out, "triceps");
    assert_eq!(triceps["indirect_sets"], 12);
    assert_eq!(triceps["direct_sets"], 4);
    assert_eq!(triceps["weekly_sets"], json!(10.0));
    for m in MAJOR {
        assert!(entry(&out, m)["frequency"].as_u64().unwrap() >= 2, "{m}");
    }
    assert!(out["flags"].as_array().unwrap().is_empty(), "{out:#}");
    // Both the input and the output match the published schemas.
    assert_valid(Schema::Input(JobKind::Split), &example_input());
    assert_valid(Schema::Output(JobKind::Split), &out);
}

#[test]
fn bad_inputs_point_at_the_field() {
    let e = invalid(&with(example_input(), "/days_per_week", Some(json!(8))));
    assert_eq!(e.field, "days_per_week");
    assert_eq!(e.details["maximum"], json!(DaysPerWeek::MAX));
    let e = invalid(&with(example_input(), "/days_per_week", None));
    assert_eq!(e.field, "days_per_week");
    let e = invalid(&with(example_input(), "/style", Some(json!("bro_split"))));
    assert_eq!(e.field, "style");
    assert_eq!(
        e.details["allowed"].as_array().unwrap().len(),
        Style::ALL.len()
    );
    let e = invalid(&with(
        example_input(),
        "/constraints/rest_days",
        Some(json!(["sat", "sunday"])),
    ));
    assert_eq!(e.field, "constraints.rest_days[1]");
    let e = invalid(&with(
        example_input(),
        "/constraints/priority_muscles",
        Some(json!(["pecs"])),
    ));
    assert_eq!(e.field, "constraints.priority_muscles[0]");
    let e = invalid(&with(
        example_input(),
        "/constraints/rest_day",
        Some(json!(["sat"])),
    ));
    assert_eq!(e.field, "constraints.rest_day");
    assert!(
        e.details["allowed_fields"]
            .as_array()
            .unwrap()
            .contains(&json!("rest_days"))
    );
    // Style and constraints are optional.
    let raw = with(with(example_input(), "/style", None), "/constraints", None);
    let (_, out) = answer(&raw);
    assert_eq!(out["template"], "ppl");
}

#[test]
fn business_rules_give_422_with_the_field() {
    // 7 training days with no rest for a beginner.
    let raw = input("beginner", "general_fitness", 7, "auto");
    assert_eq!(business(&raw), ["days_per_week"]);
    let msg = parse(&raw).unwrap_err().to_string();
    assert!(msg.contains("no rest day"), "{msg}");
    // ... but an intermediate may (and gets a warning in the rationale).
    let (_, out) = answer(&input("intermediate", "hypertrophy", 7, "auto"));
    assert_eq!(out["training_days"], 7);
    assert!(
        out["rationale"]
            .as_str()
            .unwrap()
            .contains("no full rest day")
    );
    // Fixed rest days that leave too few days.
    let raw = with(
        example_input(),
        "/constraints/rest_days",
        Some(json!(["sat", "sun"])),
    );
    assert_eq!(business(&raw), ["constraints.rest_days"]);
    // A rest day twice.
    let raw = with(
        with(example_input(), "/days_per_week", Some(json!(4))),
        "/constraints/rest_days",
        Some(json!(["sun", "sun"])),
    );
    assert_eq!(business(&raw), ["constraints.rest_days[1]"]);
    // A priority muscle without landmarks, and one listed twice.
    let raw = with(
        example_input(),
        "/constraints/priority_muscles",
        Some(json!(["forearms", "chest", "chest"])),
    );
    assert_eq!(
        business(&raw),
        [
            "constraints.priority_muscles[0]",
            "constraints.priority_muscles[2]"
        ]
    );
    // A named style outside its days (§A8).
    assert_eq!(
        business(&input("intermediate", "hypertrophy", 4, "bro")),
        ["days_per_week"]
    );
    assert_eq!(
        business(&input("intermediate", "strength", 5, "full_body")),
        ["days_per_week"]
    );
    assert_eq!(
        business(&input("advanced", "hypertrophy", 2, "ppl")),
        ["days_per_week"]
    );
    // The Arnold split is not for beginners.
    assert_eq!(
        business(&input("beginner", "hypertrophy", 6, "arnold")),
        ["style"]
    );
}

#[test]
fn three_day_hypertrophy_gives_full_body_or_ppl_with_ten_sets_or_a_flag() {
    for style in ["auto", "custom", "full_body", "ppl"] {
        let (_, out) = answer(&input("intermediate", "hypertrophy", 3, style));
        let template = out["template"].as_str().unwrap();
        assert!(template == "full_body" || template == "ppl", "{style}");
        if style == "auto" {
            assert_eq!(template, "full_body");
        }
        for m in MAJOR {
            let weekly = entry(&out, m)["weekly_sets"].as_f64().unwrap();
            assert!(
                weekly >= 10.0
                    || out["flags"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|f| f["muscle"] == m),
                "{style}: {m} at {weekly}"
            );
        }
        if template == "ppl" {
            // 1×/week for chest, lats, quads and hams: flagged (§A8 counts this against PPL ×1).
            for m in ["chest", "lats", "quadriceps", "hamstrings"] {
                assert!(flagged(&out, "low_frequency", m), "{m}");
            }
        } else {
            for m in MAJOR {
                assert_eq!(entry(&out, m)["frequency"], 3, "{m}");
            }
        }
    }
    // Full body on Mon / Wed / Fri (§A8).
    let (_, out) = answer(&input("beginner", "hypertrophy", 3, "auto"));
    let rest: Vec<bool> = out["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rest"].as_bool().unwrap())
        .collect();
    assert_eq!(rest, [false, true, false, true, false, true, true]);
}

#[test]
fn auto_picks_templates_by_days() {
    let expected = [
        (1, "full_body"),
        (2, "full_body"),
        (3, "full_body"),
        (4, "upper_lower"),
        (5, "upper_lower_ppl"),
        (6, "ppl"),
        (7, "ppl"),
    ];
    for (days, template) in expected {
        let (_, out) = answer(&input("advanced", "strength", days, "auto"));
        assert_eq!(out["template"], template, "{days}");
    }
    let (_, out) = answer(&input("beginner", "hypertrophy", 6, "auto"));
    assert_eq!(out["template"], "upper_lower");
}

#[test]
fn rest_days_are_spread_and_fixed_ones_respected() {
    // 4 days: never more than 2 training days in a row, no 2 rest days in a row.
    let week = place_training_days(4, &[]).unwrap();
    assert_eq!(week, [true, true, false, true, false, true, false]);
    // Fixed rest days are never training days.
    let week = place_training_days(5, &[Weekday::Mon, Weekday::Tue]).unwrap();
    assert_eq!(week, [false, false, true, true, true, true, true]);
    assert_eq!(place_training_days(6, &[Weekday::Mon, Weekday::Tue]), None);
}

#[test]
fn guardrails_catch_crafted_bad_outputs() {
    let (input, good) = answer(&example_input());
    let check = |out: &Value| check_output(&input, out);
    assert!(check(&good).is_empty());

    // Not even the output type.
    let bad = with(good.clone(), "/training_days", Some(json!("six")));
    let v = check(&bad);
    assert_eq!(paths(&v), [""]);

    // Wrong template for a named style.
    let bad = with(good.clone(), "/template", Some(json!("ppl")));
    assert!(has(&check(&bad), "/template", "arnold"));

    // Training days ≠ requested.
    let bad = with(good.clone(), "/training_days", Some(json!(5)));
    assert!(has(&check(&bad), "/training_days", "6"));
    let mut bad = good.clone();
    bad["days"][5] = json!({ "day": "sat", "label": "Rest", "rest": true, "muscles": [] });
    assert!(has(&check(&bad), "/days", "exactly 6 training days"));

    // Rest day with muscles.
    let mut bad = good.clone();
    bad["days"][6]["muscles"] = json!([{ "muscle": "calves", "sets": 2 }]);
    assert!(has(&check(&bad), "/days/6/muscles", "rest day"));

    // Fixed rest day trained.
    let mut bad = good.clone();
    bad["days"][6] = json!({ "day": "sun", "label": "Calves", "rest": false, "muscles": [{ "muscle": "calves", "sets": 2 }] });
    assert!(has(&check(&bad), "/days/6/rest", "fixed rest day"));

    // A muscle twice on one day; a rest day not labelled `Rest`.
    let mut bad = good.clone();
    let first = bad["days"][0]["muscles"][0].clone();
    bad["days"][0]["muscles"]
        .as_array_mut()
        .unwrap()
        .push(first);
    assert!(has(&check(&bad), "/days/0/muscles/3/muscle", "twice"));
    let bad = with(good.clone(), "/days/6/label", Some(json!("Chill")));
    assert!(has(&check(&bad), "/days/6/label", "Rest"));
    let mut bad = good.clone();
    bad["days"][0]["muscles"][0]["muscle"] = json!("neck");
    assert!(has(
        &check(&bad),
        "/days/0/muscles/0/muscle",
        "not a programmed muscle"
    ));

    // Weekdays out of order.
    let mut bad = good.clone();
    bad["days"][0]["day"] = json!("tue");
    assert!(has(&check(&bad), "/days/0/day", "mon"));

    // Too many sets for one muscle in one session.
    let mut bad = good.clone();
    bad["days"][0]["muscles"][0]["sets"] = json!(12);
    assert!(has(&check(&bad), "/days/0/muscles/0/sets", "1 to 10"));

    // Totals inconsistent with the days.
    let bad = with(good.clone(), "/weekly_sets/0/direct_sets", Some(json!(14)));
    assert!(has(&check(&bad), "/weekly_sets/0/direct_sets", "sum"));
    let bad = with(good.clone(), "/weekly_sets/8/indirect_sets", Some(json!(0)));
    assert!(has(&check(&bad), "/weekly_sets/8/indirect_sets", "12"));
    let bad = with(good.clone(), "/weekly_sets/0/frequency", Some(json!(3)));
    assert!(has(&check(&bad), "/weekly_sets/0/frequency", "must be 2"));
    let bad = with(
        good.clone(),
        "/weekly_sets/0/weekly_sets",
        Some(json!(15.0)),
    );
    assert!(has(&check(&bad), "/weekly_sets/0/weekly_sets", "0.5"));
    let bad = with(
        good.clone(),
        "/weekly_sets/0/landmarks/mrv",
        Some(json!(30)),
    );
    assert!(has(&check(&bad), "/weekly_sets/0/landmarks", "MRV 22"));
    let bad = with(good.clone(), "/weekly_sets/3/priority", Some(json!(false)));
    assert!(has(&check(&bad), "/weekly_sets/3/priority", "priority"));
    let bad = with(good.clone(), "/weekly_sets/0/muscle", Some(json!("neck")));
    assert!(has(&check(&bad), "/weekly_sets/0/muscle", "chest"));

    // Chest below MEV without a flag; a `below_mev` flag makes it acceptable.
    let mut bad = good.clone();
    for d in [0, 3] {
        bad["days"][d]["muscles"][0]["sets"] = json!(2);
    }
    bad["weekly_sets"][0]["direct_sets"] = json!(4);
    bad["weekly_sets"][0]["weekly_sets"] = json!(4.0);
    bad["weekly_sets"][8]["indirect_sets"] = json!(4);
    bad["weekly_sets"][8]["weekly_sets"] = json!(6.0);
    assert_eq!(bad["weekly_sets"][0]["muscle"], "chest");
    let v = check(&bad);
    assert_eq!(paths(&v), ["/weekly_sets/0/weekly_sets"], "{v:?}");
    assert!(v[0].message.contains("MEV"));
    bad["flags"] =
        json!([{ "code": "below_mev", "muscle": "chest", "message": "two sessions are short" }]);
    assert!(check(&bad).is_empty());

    // Priority shoulders below the low end of MAV without a flag.
    let mut bad = good.clone();
    for d in [1, 4] {
        bad["days"][d]["muscles"][0]["sets"] = json!(6);
    }
    bad["weekly_sets"][3]["direct_sets"] = json!(12);
    bad["weekly_sets"][3]["weekly_sets"] = json!(12.0);
    assert_eq!(bad["weekly_sets"][3]["muscle"], "shoulders");
    assert!(has(&check(&bad), "/weekly_sets/3/weekly_sets", "priority"));

    // Schema limits: label and rationale lengths.
    let bad = with(good.clone(), "/rationale", Some(json!("")));
    assert!(has(&check(&bad), "/rationale", "characters"));
    let bad = with(good.clone(), "/days/0/label", Some(json!("x".repeat(41))));
    assert!(has(&check(&bad), "/days/0/label", "characters"));
}

#[test]
fn guardrails_catch_missing_flags_and_low_frequency() {
    // Above MRV from indirect sets: glutes get 0.5 × (18 + 16) = 17 > 16.
    let mut raw = input("intermediate", "hypertrophy", 4, "upper_lower");
    raw["constraints"] = json!({ "priority_muscles": ["quadriceps", "hamstrings"] });
    let (parsed, out) = answer(&raw);
    assert_eq!(entry(&out, "glutes")["weekly_sets"], json!(17.0));
    assert!(flagged(&out, "above_mrv", "glutes"));
    let bad = with(out.clone(), "/flags", Some(json!([])));
    let v = check_output(&parsed, &bad);
    assert!(has(&v, "/weekly_sets/6/weekly_sets", "MRV"), "{v:?}");

    // A named 1×/week template must flag it.
    let (parsed, out) = answer(&input("intermediate", "hypertrophy", 5, "bro"));
    assert!(flagged(&out, "low_frequency", "chest"));
    let bad = with(out.clone(), "/flags", Some(json!([])));
    let v = check_output(&parsed, &bad);
    assert!(
        has(&v, "/weekly_sets/0/frequency", "low_frequency"),
        "{v:?}"
    );

    // Auto on 4 days must give 2×/week, flag or not.
    let (parsed, out) = answer(&input("intermediate", "hypertrophy", 4, "auto"));
    let mut bad = out.clone();
    let upper = bad["days"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d["label"] == "Upper")
        .unwrap();
    let chest_sets = bad["days"][upper]["muscles"][0]["sets"].as_u64().unwrap();
    assert_eq!(bad["days"][upper]["muscles"][0]["muscle"], "chest");
    bad["days"][upper]["muscles"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let chest_total = out["weekly_sets"][0]["direct_sets"].as_u64().unwrap() - chest_sets;
    bad["weekly_sets"][0]["direct_sets"] = json!(chest_total);
    bad["weekly_sets"][0]["weekly_sets"] = json!(chest_total as f64);
    bad["weekly_sets"][0]["frequency"] = json!(1);
    bad["flags"] = json!([{ "code": "low_frequency", "muscle": "chest", "message": "once" },
                          { "code": "below_mev", "muscle": "chest", "message": "low" }]);
    let v = check_output(&parsed, &bad);
    assert!(has(&v, "/weekly_sets/0/frequency", "at least 2"), "{v:?}");
}

#[test]
fn schemas_bound_every_string_and_array() {
    let s = output_schema(JobKind::Split);
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(s["properties"]["days"]["minItems"], 7);
    assert_eq!(s["properties"]["days"]["maxItems"], 7);
    assert_eq!(s["properties"]["weekly_sets"]["maxItems"], LANDMARKS.len());
    assert_eq!(
        s["$defs"]["SessionMuscle"]["properties"]["sets"]["maximum"],
        json!(MAX_SETS_PER_SESSION)
    );
    assert_bounded(&s);
    assert_bounded(&input_schema(JobKind::Split));
    let i = input_schema(JobKind::Split);
    assert_eq!(
        i["properties"]["days_per_week"]["maximum"],
        json!(DaysPerWeek::MAX)
    );
    assert_eq!(i["required"], json!(["athlete", "days_per_week"]));
}
