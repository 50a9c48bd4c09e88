//! `exercise_swap`: the example, the ranking and exclusion rules, loads only from the athlete's own
//! log of each alternative, the 422 that names the last constraint, the guardrails on a provider's
//! answer, and a property over random valid inputs.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{Value, json};
use sparta_coach::catalogue::Catalogue;
use sparta_coach::exercise_swap::candidates;
use sparta_coach::vocab::{Category, Equipment, Muscle};
use sparta_coach::workout_plan::selection::{injury_exclusion, level_allowed};
use sparta_coach::{InputRejection, JobInput, JobKind, Violation, check_output};

use crate::support::{Schema, assert_valid, business_fields, only_invalid, paths, run, with};

fn example_input() -> Value {
    crate::support::example_input("exercise_swap")
}

fn parse(raw: &Value) -> Result<JobInput, InputRejection> {
    JobInput::parse(JobKind::ExerciseSwap, raw)
}

fn answer(raw: &Value) -> (JobInput, Value) {
    let input = parse(raw).unwrap();
    let out = run(&input);
    (input, out)
}

fn alternatives(out: &Value) -> &Vec<Value> {
    out["alternatives"].as_array().unwrap()
}

fn session(date: &str, id: &str, kg: f64, reps: u8, rir: u8) -> Value {
    json!({ "date": date, "exercises": [{ "exercise_id": id, "sets": [
        { "weight_kg": kg, "reps": reps, "rir": rir, "set_type": "working" },
        { "weight_kg": kg, "reps": reps, "rir": rir, "set_type": "working" },
        { "weight_kg": kg, "reps": reps, "rir": rir, "set_type": "working" } ] }] })
}

#[test]
fn the_example_gets_four_quad_alternatives_without_the_squats_load() {
    let raw = example_input();
    let (_, out) = answer(&raw);
    let alts = alternatives(&out);
    assert_eq!(alts.len(), 4, "{out:#}");
    assert_eq!(out["replaced"]["exercise_id"], "barbell-squat");
    let equipment = ["dumbbell", "body only", "bands", "kettlebells"];
    for (i, alt) in alts.iter().enumerate() {
        assert_eq!(alt["rank"], i + 1);
        let id = alt["exercise_id"].as_str().unwrap();
        assert_ne!(id, "barbell-squat");
        assert_ne!(id, "bodyweight-squat", "excluded");
        assert!(
            equipment.contains(&alt["equipment"].as_str().unwrap()),
            "{alt}"
        );
        let record = Catalogue::get().by_id(id).unwrap();
        assert!(
            injury_exclusion(record, Muscle::LowerBack).is_none(),
            "{id} loads the lower back"
        );
        // The slot of the last logged squat session: 2 sets of 6 at RIR 2 (the first set's).
        let p = &alt["prescription"];
        assert_eq!(p["sets"], 2, "{alt}");
        assert_eq!(p["rep_range"], json!({ "min": 6, "max": 6 }));
        // The squat's 100 kg never carries over; only the logged goblet squat and lunges get kg.
        match id {
            "goblet-squat" | "dumbbell-lunges" => {
                assert_eq!(p["basis"], "own_log", "{alt}");
                let kg = p["load_kg"].as_f64().unwrap();
                assert!(kg <= 24.0 * 1.075 && kg > 0.0, "{alt}");
            }
            _ => {
                assert_eq!(p["basis"], "rir", "{alt}");
                assert_eq!(p["load_kg"], Value::Null);
            }
        }
        assert_ne!(p["load_kg"], json!(100.0));
    }
    // Quad exercises first: the best match trains quadriceps as its primary muscle.
    assert_eq!(alts[0]["shared_primary"], json!(["quadriceps"]), "{out:#}");
}

#[test]
fn same_pattern_ranks_before_same_muscle_before_related() {
    let raw = json!({ "athlete": { "experience": "advanced", "goal": "strength" },
                      "exercise_id": "barbell-bench-press-medium-grip", "count": 10 });
    let (_, out) = answer(&raw);
    let order: Vec<&str> = alternatives(&out)
        .iter()
        .map(|a| a["match"].as_str().unwrap())
        .collect();
    let rank = |q: &str| {
        ["same_pattern", "same_muscle", "related"]
            .iter()
            .position(|x| *x == q)
    };
    assert!(
        order.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "{order:?}"
    );
    assert_eq!(order.len(), 10);
    assert_eq!(order[0], "same_pattern");
    // Presses before other chest work within the same pattern (shared movement word).
    assert!(
        alternatives(&out)[0]["exercise_id"]
            .as_str()
            .unwrap()
            .contains("press")
    );
}

#[test]
fn a_busy_station_puts_other_equipment_first() {
    let base = json!({ "athlete": { "experience": "advanced", "goal": "hypertrophy" },
                       "exercise_id": "barbell-bench-press-medium-grip", "count": 3 });
    let busy = with(base.clone(), "/reason", Some(json!("busy")));
    let (_, out) = answer(&busy);
    let first = &alternatives(&out)[0];
    assert_ne!(first["equipment"], "barbell", "{out:#}");
    assert_eq!(first["match"], "same_pattern");
}

#[test]
fn loads_come_from_the_alternatives_own_log_through_the_chart_capped_at_7_5_pct() {
    // Dumbbell bench logged at 30 kg × 8 @ RIR 2: e1RM through the chart; the slot asks 8–10 reps
    // at RIR 2, so the load is for 10 reps.
    let raw = json!({
        "athlete": { "experience": "intermediate", "goal": "hypertrophy", "equipment": ["dumbbell", "body only"] },
        "exercise_id": "barbell-bench-press-medium-grip",
        "slot": { "sets": 4, "reps_min": 8, "reps_max": 10, "rir": 2 },
        "plate_increment_kg": 2.0,
        "history": [
            session("2026-10-01", "barbell-bench-press-medium-grip", 100.0, 8, 2),
            session("2026-10-03", "dumbbell-bench-press", 30.0, 8, 2),
        ]
    });
    let (_, out) = answer(&raw);
    let db = alternatives(&out)
        .iter()
        .find(|a| a["exercise_id"] == "dumbbell-bench-press")
        .unwrap_or_else(|| panic!("{out:#}"));
    let p = &db["prescription"];
    assert_eq!(p["sets"], 4);
    assert_eq!(p["rep_range"], json!({ "min": 8, "max": 10 }));
    assert_eq!(p["basis"], "own_log");
    // 30 kg × 8 @ 2 = 10 reps to failure: 73.9 % (RTS chart) → e1RM 40.6; 10 reps @ 2 = 12 to
    // failure: 68.0 % → 27.6 kg, rounded down to the 2 kg step = 26. Never the bench's 100 kg.
    let e1rm = p["e1rm_kg"].as_f64().unwrap();
    assert!((e1rm - 30.0 / 0.739).abs() < 0.1, "{p}");
    assert_eq!(p["load_kg"], json!(26.0), "{p}");
    for alt in alternatives(&out) {
        if alt["exercise_id"] != "dumbbell-bench-press" {
            assert_eq!(alt["prescription"]["load_kg"], Value::Null, "{alt}");
        }
    }
}

#[test]
fn nothing_left_is_a_422_naming_the_constraint_that_removed_the_last_candidate() {
    // Only bands, a beginner, chest: every chest alternative needs other equipment.
    let raw = json!({ "athlete": { "experience": "beginner", "goal": "strength", "equipment": ["foam roll"] },
                      "exercise_id": "barbell-bench-press-medium-grip" });
    let fields = business_fields(parse(&raw));
    assert_eq!(fields, vec!["athlete.equipment".to_owned()]);
    let Err(InputRejection::BusinessRule(errors)) = parse(&raw) else {
        panic!()
    };
    assert!(
        errors[0]
            .message
            .contains("the athlete's equipment removed the last"),
        "{}",
        errors[0].message
    );
    assert_eq!(errors[0].details["constraint"], "athlete.equipment");

    // Injuries last: a neck injury removes the two other neck exercises done for reps (the
    // isometric holds went at the category step).
    let neck = json!({ "athlete": { "experience": "advanced", "goal": "strength",
                                    "injuries": [{ "area": "neck" }] },
                       "exercise_id": "lying-face-down-plate-neck-resistance" });
    assert_eq!(
        business_fields(parse(&neck)),
        vec!["athlete.injuries".to_owned()]
    );
    // Excluding both leaves 2 isometric holds and 4 stretches: the engine's categories remove them.
    let excluded = with(
        neck,
        "/exclude",
        Some(json!([
            "lying-face-up-plate-neck-resistance",
            "seated-head-harness-neck-resistance"
        ])),
    );
    let Err(InputRejection::BusinessRule(errors)) = parse(&excluded) else {
        panic!()
    };
    assert_eq!(errors[0].field, "exercise_id");
    assert_eq!(errors[0].details["removed"], 6, "{errors:?}");
}

#[test]
fn bad_inputs_point_at_the_field() {
    let base = example_input();
    for (pointer, value, field) in [
        ("/count", json!(0), "count"),
        ("/count", json!(11), "count"),
        ("/exercise_id", json!("barbel-squat"), "exercise_id"),
        (
            "/exclude",
            json!(["bodyweight-squat", "nope"]),
            "exclude[1]",
        ),
        ("/reason", json!("bored"), "reason"),
        (
            "/slot",
            json!({ "sets": 0, "reps_min": 5, "reps_max": 5, "rir": 2 }),
            "slot.sets",
        ),
    ] {
        let e = only_invalid(parse(&with(base.clone(), pointer, Some(value))));
        assert_eq!(e.field, field, "{pointer}: {e:?}");
    }
    let inverted = with(
        base,
        "/slot",
        Some(json!({ "sets": 3, "reps_min": 8, "reps_max": 6, "rir": 2 })),
    );
    assert_eq!(
        business_fields(parse(&inverted)),
        vec!["slot.reps_max".to_owned()]
    );
}

#[test]
fn the_guardrails_refuse_a_carried_load_an_excluded_id_an_injury_and_a_lost_slot() {
    let raw = example_input();
    let (input, out) = answer(&raw);
    let check = |mutated: &Value| -> Vec<Violation> { check_output(&input, mutated) };

    // The replaced squat's 100 kg carried over to an alternative without a log.
    let i = alternatives(&out)
        .iter()
        .position(|a| a["prescription"]["basis"] == "rir")
        .unwrap();
    let mut carried = out.clone();
    carried["alternatives"][i]["prescription"]["basis"] = json!("own_log");
    carried["alternatives"][i]["prescription"]["load_kg"] = json!(100.0);
    carried["alternatives"][i]["prescription"]["e1rm_kg"] = json!(120.0);
    assert!(
        paths(&check(&carried)).contains(&format!("/alternatives/{i}/prescription/basis").as_str())
    );

    let mut excluded = out.clone();
    excluded["alternatives"][0]["exercise_id"] = json!("bodyweight-squat");
    excluded["alternatives"][0]["name"] = json!("Bodyweight Squat");
    assert!(
        check(&excluded)
            .iter()
            .any(|v| v.path == "/alternatives/0/exercise_id" && v.message.contains("exclude"))
    );

    let mut deadlift = out.clone();
    deadlift["alternatives"][0]["exercise_id"] = json!("barbell-deadlift");
    assert!(
        check(&deadlift)
            .iter()
            .any(|v| v.path == "/alternatives/0/exercise_id")
    );

    let mut lost = out.clone();
    lost["alternatives"][0]["prescription"]["sets"] = json!(1);
    assert!(paths(&check(&lost)).contains(&"/alternatives/0/prescription"));

    let mut itself = out.clone();
    itself["alternatives"][1]["exercise_id"] = json!("barbell-squat");
    assert!(
        check(&itself)
            .iter()
            .any(|v| v.path == "/alternatives/1/exercise_id" && v.message.contains("replaced"))
    );

    let mut short = out.clone();
    short["alternatives"].as_array_mut().unwrap().truncate(1);
    assert!(paths(&check(&short)).contains(&"/alternatives"));
}

// ---------------------------------------------------------------------------------------------
// Property: any valid input

fn valid_input() -> impl Strategy<Value = Value> {
    let ids: Vec<&'static str> = Catalogue::get()
        .all()
        .iter()
        .filter(|e| matches!(e.category, Category::Strength | Category::Powerlifting))
        .map(|e| e.id.as_str())
        .collect();
    let equipment = subsequence(Equipment::ALL.to_vec(), 1..=Equipment::ALL.len());
    let injuries = subsequence(Muscle::ALL.to_vec(), 0..=2);
    (
        select(ids.clone()),
        select(vec!["beginner", "intermediate", "advanced"]),
        select(vec![
            "strength",
            "hypertrophy",
            "general_fitness",
            "endurance",
            "fat_loss",
        ]),
        prop::option::of(equipment),
        injuries,
        prop::option::of(1u8..=10),
        prop::option::of(subsequence(ids.clone(), 0..=3)),
        prop::option::of(select(vec!["injury", "equipment", "busy", "preference"])),
        prop::collection::vec((select(ids), 20.0f64..150.0, 3u8..=12, 0u8..=4), 0..=6),
    )
        .prop_map(
            |(id, experience, goal, equipment, injuries, count, exclude, reason, log)| {
                let mut athlete = json!({ "experience": experience, "goal": goal });
                if let Some(list) = equipment {
                    athlete["equipment"] =
                        json!(list.iter().map(|e| e.as_str()).collect::<Vec<_>>());
                }
                if !injuries.is_empty() {
                    athlete["injuries"] = json!(
                        injuries
                            .iter()
                            .map(|m| json!({ "area": m.as_str() }))
                            .collect::<Vec<_>>()
                    );
                }
                let mut raw = json!({ "athlete": athlete, "exercise_id": id });
                if let Some(c) = count {
                    raw["count"] = json!(c);
                }
                if let Some(x) = exclude {
                    raw["exclude"] = json!(x);
                }
                if let Some(r) = reason {
                    raw["reason"] = json!(r);
                }
                if !log.is_empty() {
                    let sessions: Vec<Value> = log
                        .iter()
                        .enumerate()
                        .map(|(i, (id, kg, reps, rir))| {
                            let kg = (kg * 2.0).round() / 2.0;
                            session(&format!("2026-09-{:02}", i + 1), id, kg, *reps, *rir)
                        })
                        .collect();
                    raw["history"] = json!(sessions);
                }
                raw
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any valid input: either a 422 naming one constraint field, or alternatives that pass the
    /// guardrails and both schemas, the athlete may do, never the exercise itself or an excluded
    /// one, at most `count`, each keeping the same slot, with kg only for exercises in the log.
    #[test]
    fn every_valid_input_gets_safe_alternatives_or_a_named_422(raw in valid_input()) {
        assert_valid(Schema::Input(JobKind::ExerciseSwap), &raw);
        let input = match parse(&raw) {
            Ok(input) => input,
            Err(InputRejection::BusinessRule(errors)) => {
                prop_assert_eq!(errors.len(), 1, "{:?}", errors);
                prop_assert!(["exclude", "exercise_id", "athlete.experience", "athlete.equipment",
                              "athlete.injuries"].contains(&errors[0].field.as_str()), "{:?}", errors);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{raw:#}"))),
        };
        let out = run(&input);
        let count = raw["count"].as_u64().unwrap_or(3) as usize;
        let alts = alternatives(&out);
        prop_assert!(!alts.is_empty() && alts.len() <= count);
        let logged: HashSet<&str> = raw["history"].as_array().map(|h| h.iter()
            .map(|s| s["exercises"][0]["exercise_id"].as_str().unwrap()).collect()).unwrap_or_default();
        let experience = serde_json::from_value(raw["athlete"]["experience"].clone()).unwrap();
        let slot = &alts[0]["prescription"];
        for alt in alts {
            let id = alt["exercise_id"].as_str().unwrap();
            prop_assert_ne!(id, raw["exercise_id"].as_str().unwrap());
            if let Some(x) = raw["exclude"].as_array() {
                prop_assert!(!x.contains(&json!(id)));
            }
            let record = Catalogue::get().by_id(id).unwrap();
            prop_assert!(level_allowed(experience, record.level));
            if let Some(list) = raw["athlete"]["equipment"].as_array() {
                prop_assert!(list.contains(&json!(record.equipment_needed().as_str())));
            }
            let p = &alt["prescription"];
            prop_assert_eq!(&p["sets"], &slot["sets"]);
            prop_assert_eq!(&p["rep_range"], &slot["rep_range"]);
            if !p["load_kg"].is_null() {
                prop_assert!(logged.contains(id), "kg for an exercise never logged: {}", alt);
            }
        }
        let replaced = Catalogue::get().by_id(raw["exercise_id"].as_str().unwrap()).unwrap();
        let ranked = candidates::rank(input_of(&input)).unwrap();
        prop_assert_eq!(alts.len(), ranked.len().min(count));
        prop_assert!(ranked.iter().all(|c| candidates::quality(replaced, c.exercise).is_some()));
    }
}

fn input_of(input: &JobInput) -> &sparta_coach::exercise_swap::ExerciseSwapInput {
    match input {
        JobInput::ExerciseSwap(input) => input,
        other => panic!("not a swap: {other:?}"),
    }
}
