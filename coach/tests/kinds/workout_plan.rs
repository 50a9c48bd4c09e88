//! The `workout_plan` kind through the public API: the shared example, the hand-checked scenarios
//! (injuries, equipment, levels, deloads, loads from a log), business rules, guardrails on crafted
//! bad plans, and property tests over random valid inputs.

use std::collections::HashSet;

use crate::support::{
    Schema, assert_bounded, assert_valid, business_fields, only_invalid, paths, run, with,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use sparta_coach::catalogue::Catalogue;
use sparta_coach::split::engine::LANDMARKS;
use sparta_coach::vocab::{Category, Equipment, Level, Muscle};
use sparta_coach::workout_plan::engine::{DELOAD_RIR, HistoryLoad};
use sparta_coach::workout_plan::selection::{OVERHEAD_PATTERNS, injury_exclusion, level_allowed};
use sparta_coach::workout_plan::{PlanWeeks, SessionMinutes, engine};
use sparta_coach::{
    FieldError, InputRejection, JobInput, JobKind, Violation, check_output, input_schema,
    output_schema,
};

/// The `input` of `examples/requests/workout_plan.json` (the client contract).
fn example_input() -> Value {
    crate::support::example_input("workout_plan")
}

/// A minimal input.
fn input(experience: &str, goal: &str, days: u8, minutes: u16, weeks: u8) -> Value {
    json!({
        "athlete": { "experience": experience, "goal": goal },
        "days_per_week": days,
        "session_minutes": minutes,
        "weeks": weeks
    })
}

fn parse(raw: &Value) -> Result<JobInput, InputRejection> {
    JobInput::parse(JobKind::WorkoutPlan, raw)
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

fn has(violations: &[Violation], path: &str, word: &str) -> bool {
    violations
        .iter()
        .any(|v| v.path == path && v.message.contains(word))
}

fn array(value: &Value) -> &Vec<Value> {
    value.as_array().unwrap()
}

/// Every exercise of every week, with its week.
fn exercises(out: &Value) -> Vec<(&Value, &Value)> {
    array(&out["weeks"])
        .iter()
        .flat_map(|w| {
            array(&w["days"])
                .iter()
                .flat_map(move |d| array(&d["exercises"]).iter().map(move |e| (w, e)))
        })
        .collect()
}

fn volume<'a>(out: &'a Value, muscle: &str) -> &'a Value {
    array(&out["weekly_volume"])
        .iter()
        .find(|v| v["muscle"] == muscle)
        .unwrap()
}

fn flagged(out: &Value, code: &str, muscle: &str) -> bool {
    array(&out["flags"])
        .iter()
        .any(|f| f["code"] == code && f["muscle"] == muscle)
}

/// A logged session of one exercise: `sets` working sets of `kg` × `reps` at `rir`, after a warm-up.
fn session(date: &str, id: &str, kg: f64, reps: u8, rir: u8, sets: usize) -> Value {
    let mut logged = vec![json!({ "weight_kg": kg * 0.6, "reps": 8, "set_type": "warmup" })];
    logged.extend(
        (0..sets)
            .map(|_| json!({ "weight_kg": kg, "reps": reps, "rir": rir, "set_type": "working" })),
    );
    json!({ "date": date, "exercises": [{ "exercise_id": id, "sets": logged }] })
}

#[test]
fn the_example_parses_as_is_and_its_plan_passes_schema_and_guardrails() {
    let input = parse(&example_input()).unwrap();
    assert_eq!(input.kind(), JobKind::WorkoutPlan);
    assert_eq!(parse(&input.to_value()).unwrap(), input);
    let out = run(&input);
    assert_valid(Schema::Input(JobKind::WorkoutPlan), &example_input());
    assert_valid(Schema::Output(JobKind::WorkoutPlan), &out);

    // 3 days → full body on Mon / Wed / Fri (§A8); 8 weeks → one deload, closing the first block.
    assert_eq!(out["template"], "full_body");
    assert_eq!(array(&out["weeks"]).len(), 8);
    assert_eq!(out["deload_weeks"], json!([5]));
    for week in array(&out["weeks"]) {
        let days: Vec<&str> = array(&week["days"])
            .iter()
            .map(|d| d["day"].as_str().unwrap())
            .collect();
        assert_eq!(days, ["mon", "wed", "fri"]);
        for day in array(&week["days"]) {
            assert!(day["estimated_minutes"].as_u64().unwrap() <= 45, "{day}");
        }
    }
    // Beginner RIR ramp 3 → 2 over the four training weeks, RIR 4 in the deload, then 3 → 2 again
    // over the last three (3, 2.5 rounded up, 2).
    let rir_of_week: Vec<u64> = array(&out["weeks"])
        .iter()
        .map(|w| w["days"][0]["exercises"][0]["rir"].as_u64().unwrap())
        .collect();
    assert_eq!(rir_of_week, [3, 3, 2, 2, 4, 3, 3, 2]);
    assert_eq!(out["progression"]["model"], "double_progression");
    assert_eq!(out["progression"]["max_load_increase_pct"], json!(7.5));
    // No log: loadable exercises get a %e1RM from the chart, body-weight and band work an RIR target.
    for (_, e) in exercises(&out) {
        let basis = e["load"]["basis"].as_str().unwrap();
        assert!(basis == "pct_e1rm" || basis == "rir", "{e}");
        assert!(e["load"]["kg"].is_null());
    }
    // 8–12 reps at RIR 3 → the chart's cell for 11 reps to failure, 70.7 %.
    let bench = exercises(&out)
        .into_iter()
        .find(|(_, e)| e["exercise_id"] == "dumbbell-bench-press")
        .unwrap()
        .1;
    assert_eq!(bench["rep_range"], json!({ "min": 8, "max": 12 }));
    assert_eq!(bench["load"]["pct_e1rm"], json!(70.7));
}

#[test]
fn beginner_with_dumbbells_and_a_shoulder_injury_gets_no_barbell_and_no_overhead_pressing() {
    let (_, out) = answer(&example_input());
    let catalogue = Catalogue::get();
    let allowed = [Equipment::Dumbbell, Equipment::BodyOnly, Equipment::Bands];
    let overhead_presses = [
        "standing-military-press",
        "seated-dumbbell-press",
        "dumbbell-shoulder-press",
        "arnold-dumbbell-press",
        "push-press",
        "shoulder-press-with-bands",
        "handstand-push-ups",
    ];
    let mut ids = HashSet::new();
    for (_, e) in exercises(&out) {
        let id = e["exercise_id"].as_str().unwrap();
        ids.insert(id);
        let record = catalogue.by_id(id).unwrap();
        assert_eq!(e["name"], record.name.as_str());
        let equipment = record.equipment.unwrap_or(Equipment::BodyOnly);
        assert!(allowed.contains(&equipment), "{id} needs {equipment}");
        assert_ne!(equipment, Equipment::Barbell);
        assert_eq!(record.level, Level::Beginner, "{id}");
        assert!(!record.primary_muscles.contains(&Muscle::Shoulders), "{id}");
        assert!(!overhead_presses.contains(&id), "{id}");
        assert!(
            OVERHEAD_PATTERNS.iter().all(|p| !id.contains(p)),
            "{id} is an overhead pattern"
        );
    }
    // Hand-checked choices: horizontal pressing and rows stay (shoulders only secondary), chest on
    // every day, A/B variants for the muscles trained three times a week.
    for id in [
        "dumbbell-bench-press",
        "incline-dumbbell-press",
        "one-arm-dumbbell-row",
        "pullups",
        "dumbbell-squat",
        "dumbbell-lunges",
        "stiff-legged-dumbbell-deadlift",
    ] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
    let week1 = &out["weeks"][0]["days"];
    assert_eq!(
        week1[0]["exercises"][0]["exercise_id"],
        "dumbbell-bench-press"
    );
    assert_eq!(
        week1[1]["exercises"][0]["exercise_id"],
        "incline-dumbbell-press"
    );
    assert_eq!(
        week1[2]["exercises"][0]["exercise_id"],
        "dumbbell-bench-press"
    );
    // The injured shoulders get no direct work and a flag that says why.
    assert_eq!(volume(&out, "shoulders")["direct_sets"], 0);
    assert!(flagged(&out, "below_mev", "shoulders"));
    let flag = array(&out["flags"])
        .iter()
        .find(|f| f["muscle"] == "shoulders")
        .unwrap();
    assert!(flag["message"].as_str().unwrap().contains("injured"));
    // Every other muscle with an MEV reaches it in the training weeks and the majors get 2×/week.
    for l in LANDMARKS.iter().filter(|l| l.muscle != Muscle::Shoulders) {
        let v = volume(&out, l.muscle.as_str());
        assert!(
            v["weekly_sets"].as_f64().unwrap() >= f64::from(l.mev),
            "{}: {v}",
            l.muscle
        );
        if l.major {
            assert!(v["frequency"].as_u64().unwrap() >= 2, "{}", l.muscle);
        }
    }
    assert!(
        out["rationale"]
            .as_str()
            .unwrap()
            .contains("overhead pressing")
    );
}

#[test]
fn deloads_close_each_block_in_plans_of_five_weeks_or_more_and_never_in_shorter_ones() {
    let cases: [(&str, u8, &[u64]); 8] = [
        ("beginner", 1, &[]),
        ("intermediate", 4, &[]),
        ("advanced", 4, &[]),
        ("beginner", 5, &[5]),
        ("intermediate", 8, &[5]),
        ("intermediate", 16, &[5, 10, 15]),
        ("advanced", 5, &[4]),
        ("advanced", 16, &[4, 8, 12, 16]),
    ];
    for (experience, weeks, deloads) in cases {
        let (_, out) = answer(&input(experience, "hypertrophy", 4, 60, weeks));
        assert_eq!(out["deload_weeks"], json!(deloads), "{experience} {weeks}");
        let plan = array(&out["weeks"]);
        for (i, week) in plan.iter().enumerate() {
            let deload = deloads.contains(&(i as u64 + 1));
            assert_eq!(week["deload"], deload);
            if !deload {
                continue;
            }
            // Same days and exercises as the week before, half the sets (rounded up), more RIR.
            let before = &plan[i - 1];
            for (d, day) in array(&week["days"]).iter().enumerate() {
                let prior = &before["days"][d];
                assert_eq!(day["day"], prior["day"]);
                for (k, e) in array(&day["exercises"]).iter().enumerate() {
                    let p = &prior["exercises"][k];
                    assert_eq!(e["exercise_id"], p["exercise_id"]);
                    let sets = p["sets"].as_u64().unwrap();
                    assert_eq!(e["sets"].as_u64().unwrap(), sets.div_ceil(2));
                    assert_eq!(e["rir"], DELOAD_RIR);
                    assert!(e["rir"].as_u64() > p["rir"].as_u64());
                }
                assert!(day["estimated_minutes"].as_u64() < prior["estimated_minutes"].as_u64());
            }
        }
    }
}

#[test]
fn no_exercise_twice_in_a_session_and_loads_alternate_a_b() {
    for (days, style) in [(3, "full_body"), (4, "upper_lower"), (6, "ppl"), (5, "bro")] {
        let mut raw = input("advanced", "hypertrophy", days, 90, 6);
        raw["split_preference"] = json!(style);
        let (_, out) = answer(&raw);
        assert_eq!(out["template"], style);
        for week in array(&out["weeks"]) {
            for day in array(&week["days"]) {
                let ids: Vec<&str> = array(&day["exercises"])
                    .iter()
                    .map(|e| e["exercise_id"].as_str().unwrap())
                    .collect();
                let unique: HashSet<&&str> = ids.iter().collect();
                assert_eq!(unique.len(), ids.len(), "{style}: {ids:?}");
            }
        }
    }
}

#[test]
fn levels_filter_the_exercises() {
    let mut seen = [HashSet::new(), HashSet::new(), HashSet::new()];
    for (k, experience) in ["beginner", "intermediate", "advanced"].iter().enumerate() {
        for goal in ["strength", "hypertrophy"] {
            for days in [3, 4, 6] {
                let (_, out) = answer(&input(experience, goal, days, 90, 2));
                for (_, e) in exercises(&out) {
                    let record = Catalogue::get()
                        .by_id(e["exercise_id"].as_str().unwrap())
                        .unwrap();
                    seen[k].insert(record.level);
                    assert_ne!(record.category, Category::OlympicWeightlifting);
                }
            }
        }
    }
    assert_eq!(seen[0], HashSet::from([Level::Beginner]));
    assert!(!seen[1].contains(&Level::Expert));
    assert!(seen[1].contains(&Level::Intermediate));
    assert!(level_allowed(
        sparta_coach::athlete::Experience::Advanced,
        Level::Expert
    ));
}

#[test]
fn loads_come_from_the_log_through_the_rpe_chart_on_the_plate_increment() {
    // Bench 100 kg × 5 @ RIR 2 (7 reps to failure → 81.1 %): e1RM 123.3 kg.
    let mut raw = input("intermediate", "hypertrophy", 4, 75, 6);
    raw["athlete"]["equipment"] = json!(["barbell", "dumbbell", "cable", "machine", "body only"]);
    raw["history"] = json!([
        session(
            "2026-10-05",
            "barbell-bench-press-medium-grip",
            97.5,
            5,
            2,
            3
        ),
        session(
            "2026-10-12",
            "barbell-bench-press-medium-grip",
            100.0,
            5,
            2,
            3
        ),
    ]);
    let (parsed, out) = answer(&raw);
    let bench: Vec<(u64, f64, u64, f64)> = exercises(&out)
        .into_iter()
        .filter(|(_, e)| e["exercise_id"] == "barbell-bench-press-medium-grip")
        .map(|(w, e)| {
            assert_eq!(e["load"]["basis"], "kg");
            assert_eq!(e["rep_range"], json!({ "min": 6, "max": 10 }));
            (
                w["week"].as_u64().unwrap(),
                e["load"]["kg"].as_f64().unwrap(),
                e["rir"].as_u64().unwrap(),
                e["load"]["pct_e1rm"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(!bench.is_empty(), "the logged lift is picked first");
    let by_week = |w: u64| *bench.iter().find(|b| b.0 == w).unwrap();
    // Hand-computed: e1RM = 100 / 0.811 = 123.30 kg.
    // Week 1, 6 reps @ RIR 3 (9 to failure, 76.2 %): 93.96 kg → 92.5 (never above the chart).
    assert_eq!(by_week(1), (1, 92.5, 3, 76.2));
    // Week 2, RIR 2 (8 → 78.6 %): 96.92 kg → 95.0.
    assert_eq!(by_week(2), (2, 95.0, 2, 78.6));
    // Week 4, RIR 1 (7 → 81.1 %): exactly 100.0 kg, ≤ 95 × 1.075 = 102.1.
    assert_eq!(by_week(4), (4, 100.0, 1, 81.1));
    // Deload week 5, RIR 4 (10 → 73.9 %): 91.1 kg → 90.0, lighter than week 4.
    assert_eq!(by_week(5), (5, 90.0, 4, 73.9));
    // Week 6 restarts the ramp at RIR 3: 92.5 kg again.
    assert_eq!(by_week(6), (6, 92.5, 3, 76.2));

    // A failed last session (4 of 5 reps): no increase over the last 100 kg, and the week-1 cap is it.
    let mut failed = raw.clone();
    failed["history"][1] = json!({ "date": "2026-10-12", "exercises": [{
        "exercise_id": "barbell-bench-press-medium-grip", "target_reps": 5, "sets": [
            { "weight_kg": 100, "reps": 5, "rir": 0, "set_type": "working" },
            { "weight_kg": 100, "reps": 4, "rir": 0, "set_type": "working" } ] }] });
    let (_, out) = answer(&failed);
    for (_, e) in exercises(&out) {
        if e["exercise_id"] == "barbell-bench-press-medium-grip" {
            assert!(e["load"]["kg"].as_f64().unwrap() <= 100.0 * 1.075 * 1.075 + 1e-9);
        }
    }
    let first = exercises(&out)
        .into_iter()
        .find(|(_, e)| e["exercise_id"] == "barbell-bench-press-medium-grip")
        .unwrap()
        .1;
    assert!(first["load"]["kg"].as_f64().unwrap() <= 100.0);

    // The history's figures, as the guardrails read them.
    let JobInput::WorkoutPlan(typed) = &parsed else {
        panic!()
    };
    let loads = engine::history_loads(typed);
    let HistoryLoad {
        e1rm_kg,
        first_cap_kg,
    } = loads["barbell-bench-press-medium-grip"];
    assert!((e1rm_kg - 100.0 / 0.811).abs() < 1e-9);
    assert!((first_cap_kg - 107.5).abs() < 1e-9);
}

#[test]
fn bad_inputs_point_at_the_field() {
    let e = invalid(&with(example_input(), "/weeks", Some(json!(17))));
    assert_eq!(e.field, "weeks");
    assert_eq!(e.details["maximum"], json!(PlanWeeks::MAX));
    let e = invalid(&with(example_input(), "/session_minutes", Some(json!(10))));
    assert_eq!(e.field, "session_minutes");
    assert_eq!(e.details["minimum"], json!(SessionMinutes::MIN));
    let e = invalid(&with(example_input(), "/days_per_week", Some(json!(0))));
    assert_eq!(e.field, "days_per_week");
    let e = invalid(&with(example_input(), "/weeks", None));
    assert_eq!(e.field, "weeks");
    let e = invalid(&with(
        example_input(),
        "/split_preference",
        Some(json!("push_pull")),
    ));
    assert_eq!(e.field, "split_preference");
    let e = invalid(&with(example_input(), "/split", Some(json!("auto"))));
    assert_eq!(e.field, "split");
    let mut raw = example_input();
    raw["history"] = json!([session("2026-10-05", "dumbell-bench-press", 30.0, 8, 2, 3)]);
    let e = invalid(&raw);
    assert_eq!(e.field, "history[0].exercises[0].exercise_id");
    assert_eq!(e.details["closest"][0], "dumbbell-bench-press");
}

#[test]
fn business_rules_give_422_with_an_explanation() {
    // 7 training days with no rest for a beginner.
    let raw = with(example_input(), "/days_per_week", Some(json!(7)));
    assert_eq!(business(&raw), ["days_per_week"]);
    assert!(parse(&raw).unwrap_err().to_string().contains("no rest day"));
    // A named split outside its days, and Arnold for a beginner.
    let mut raw = input("intermediate", "hypertrophy", 4, 60, 8);
    raw["split_preference"] = json!("bro");
    assert_eq!(business(&raw), ["days_per_week"]);
    assert!(
        parse(&raw)
            .unwrap_err()
            .to_string()
            .contains("split_preference `auto`")
    );
    let mut raw = input("beginner", "hypertrophy", 6, 60, 8);
    raw["split_preference"] = json!("arnold");
    assert_eq!(business(&raw), ["split_preference"]);
    // Equipment that offers no exercise for the required movements.
    let raw = with(
        example_input(),
        "/athlete/equipment",
        Some(json!(["foam roll"])),
    );
    let fields = business(&raw);
    assert!(
        !fields.is_empty() && fields.iter().all(|f| f == "athlete.equipment"),
        "{fields:?}"
    );
    // Injuries that exclude every option for a required movement: with dumbbells only, a biceps
    // injury removes every row (biceps secondary in every compound pull).
    let mut raw = with(
        example_input(),
        "/athlete/equipment",
        Some(json!(["dumbbell"])),
    );
    raw["athlete"]["injuries"] = json!([{ "area": "biceps" }, { "area": "calves" }]);
    assert_eq!(business(&raw), ["athlete.injuries"]);
    let err = parse(&raw).unwrap_err();
    let e = &err.errors()[0];
    assert!(e.message.contains("upper-body pull"), "{e}");
    assert!(
        e.message.contains("(biceps)"),
        "only the injury that matters: {e}"
    );
    assert_eq!(e.details["muscles"], json!(["lats", "middle back"]));
    // ... but when every muscle of the movement is itself injured, its absence is the point.
    raw["athlete"]["injuries"] = json!([{ "area": "lats" }, { "area": "middle back" }]);
    assert!(parse(&raw).is_ok());
    // A history whose only sets are warm-ups.
    let mut raw = example_input();
    raw["history"] = json!([{ "date": "2026-10-05", "exercises": [{ "exercise_id": "dumbbell-bench-press",
        "sets": [{ "weight_kg": 20, "reps": 10, "set_type": "warmup" }] }] }]);
    assert_eq!(business(&raw), ["history[0].exercises[0].sets"]);
}

#[test]
fn guardrails_catch_crafted_bad_plans() {
    let (input, good) = answer(&example_input());
    let check = |out: &Value| check_output(&input, out);
    assert!(check(&good).is_empty());
    let ex = "/weeks/0/days/0/exercises";

    // Not even the output type.
    let v = check(&with(good.clone(), "/weeks", Some(json!("eight"))));
    assert_eq!(paths(&v), [""]);

    // Equipment not available (a barbell lift for a dumbbell athlete).
    let mut bad = good.clone();
    bad["weeks"][0]["days"][0]["exercises"][0]["exercise_id"] =
        json!("barbell-bench-press-medium-grip");
    let v = check(&bad);
    assert!(
        has(&v, &format!("{ex}/0/exercise_id"), "needs barbell"),
        "{v:?}"
    );
    assert!(has(&v, &format!("{ex}/0/name"), "Barbell Bench Press"));

    // An exercise of the injured area.
    let mut bad = good.clone();
    bad["weeks"][0]["days"][0]["exercises"][1]["exercise_id"] = json!("side-lateral-raise");
    bad["weeks"][0]["days"][0]["exercises"][1]["name"] = json!("Side Lateral Raise");
    let v = check(&bad);
    assert!(
        has(&v, &format!("{ex}/1/exercise_id"), "shoulders injury"),
        "{v:?}"
    );

    // Expert-level and Olympic lifts for a beginner.
    let mut bad = good.clone();
    bad["weeks"][0]["days"][0]["exercises"][1]["exercise_id"] = json!("hanging-leg-raise");
    bad["weeks"][0]["days"][0]["exercises"][1]["name"] = json!("Hanging Leg Raise");
    assert!(has(&check(&bad), &format!("{ex}/1/exercise_id"), "expert"));
    let mut bad = good.clone();
    bad["weeks"][0]["days"][0]["exercises"][1]["exercise_id"] = json!("clean-deadlift");
    assert!(has(&check(&bad), &format!("{ex}/1/exercise_id"), "Olympic"));

    // The same exercise twice in a session.
    let mut bad = good.clone();
    let first = bad["weeks"][0]["days"][0]["exercises"][0].clone();
    bad["weeks"][0]["days"][0]["exercises"][1] = first;
    assert!(has(&check(&bad), &format!("{ex}/1/exercise_id"), "twice"));

    // Unknown exercise id, with the closest ids.
    let mut bad = good.clone();
    bad["weeks"][0]["days"][0]["exercises"][0]["exercise_id"] = json!("dumbell-bench-press");
    assert!(has(
        &check(&bad),
        &format!("{ex}/0/exercise_id"),
        "closest: dumbbell-bench-press"
    ));

    // Volume above MRV (quads: 5 sets of squats and lunges every day = 30 > 20).
    let mut bad = good.clone();
    for d in 0..3 {
        let day = &mut bad["weeks"][0]["days"][d]["exercises"];
        for e in day.as_array_mut().unwrap() {
            if e["exercise_id"] == "dumbbell-squat" || e["exercise_id"] == "dumbbell-lunges" {
                e["sets"] = json!(5);
            }
        }
        day.as_array_mut().unwrap().push(json!({
            "exercise_id": "split-squat-with-dumbbells", "name": "Split Squat with Dumbbells", "sets": 5,
            "rep_range": { "min": 8, "max": 12 }, "rir": 3,
            "load": { "basis": "pct_e1rm", "kg": null, "pct_e1rm": 70.7 }, "rest_seconds": 90 }));
    }
    let v = check(&bad);
    assert!(has(&v, "/weeks/0", "quadriceps"), "{v:?}");
    assert!(has(&v, "/weeks/0", "exceeds its MRV of 20"));
    assert!(has(&v, "/weeks/0/days/0/exercises", "more than the 45 min"));
    assert!(has(&v, "/weeks/0/days/0/estimated_minutes", "must be"));

    // Below MEV without a flag: the shoulders' flag removed.
    let bad = with(good.clone(), "/flags", Some(json!([])));
    let v = check(&bad);
    assert!(has(&v, "/weeks/0", "shoulders"), "{v:?}");
    assert!(has(&v, "/weeks/0", "below its MEV of 8"));

    // Missing deload in an 8-week plan; a deload in the wrong place.
    let mut bad = good.clone();
    bad["weeks"][4]["deload"] = json!(false);
    bad["deload_weeks"] = json!([]);
    assert!(has(&check(&bad), "/deload_weeks", "none is planned"));
    let mut bad = good.clone();
    bad["weeks"][4]["deload"] = json!(false);
    bad["weeks"][1]["deload"] = json!(true);
    bad["deload_weeks"] = json!([2]);
    let v = check(&bad);
    assert!(
        has(&v, "/weeks/1/deload", "2 weeks after the start"),
        "{v:?}"
    );
    assert!(has(
        &v,
        "/deload_weeks",
        "6 training weeks without a deload"
    ));
    // A deload that does not lower the sets or the effort.
    let mut bad = good.clone();
    bad["weeks"][4]["days"][0]["exercises"][0]["sets"] = json!(2);
    bad["weeks"][4]["days"][0]["exercises"][0]["rir"] = json!(2);
    let v = check(&bad);
    assert!(
        has(&v, "/weeks/4/days/0/exercises/0/sets", "halves"),
        "{v:?}"
    );
    assert!(has(
        &v,
        "/weeks/4/days/0/exercises/0/rir",
        "lowers the effort"
    ));
    // RIR rising inside a block; a beginner at RIR 0.
    let bad = with(
        good.clone(),
        "/weeks/3/days/0/exercises/0/rir",
        Some(json!(3)),
    );
    let v = check(&bad);
    assert!(
        has(&v, "/weeks/3/days/0/exercises/0/rir", "ramps down"),
        "{v:?}"
    );
    let bad = with(
        good.clone(),
        "/weeks/3/days/0/exercises/0/rir",
        Some(json!(0)),
    );
    assert!(has(
        &check(&bad),
        "/weeks/3/days/0/exercises/0/rir",
        "never trains to failure"
    ));

    // %e1RM above the chart; kg without a log.
    let bad = with(
        good.clone(),
        &format!("{ex}/0/load/pct_e1rm"),
        Some(json!(80.0)),
    );
    assert!(has(&check(&bad), &format!("{ex}/0/load/pct_e1rm"), "70.7"));
    let mut bad = good.clone();
    bad["weeks"][0]["days"][0]["exercises"][0]["load"] =
        json!({ "basis": "kg", "kg": 30.0, "pct_e1rm": 70.7 });
    assert!(has(&check(&bad), &format!("{ex}/0/load/basis"), "no e1RM"));

    // Session estimate, week numbering, days, weekly volume, progression cap.
    let bad = with(
        good.clone(),
        "/weeks/0/days/0/estimated_minutes",
        Some(json!(30)),
    );
    assert!(has(
        &check(&bad),
        "/weeks/0/days/0/estimated_minutes",
        "must be 44"
    ));
    let bad = with(good.clone(), "/weeks/1/week", Some(json!(3)));
    assert!(has(&check(&bad), "/weeks/1/week", "must be 2"));
    let mut bad = good.clone();
    bad["weeks"][0]["days"][1]["day"] = json!("mon");
    assert!(has(
        &check(&bad),
        "/weeks/0/days/1/day",
        "twice or out of order"
    ));
    let bad = with(good.clone(), "/weekly_volume/0/direct_sets", Some(json!(9)));
    assert!(has(
        &check(&bad),
        "/weekly_volume/0/direct_sets",
        "must be 6"
    ));
    let bad = with(
        good.clone(),
        "/progression/max_load_increase_pct",
        Some(json!(10.0)),
    );
    assert!(has(
        &check(&bad),
        "/progression/max_load_increase_pct",
        "7.5"
    ));
    let mut bad = good.clone();
    array_mut(&mut bad["weeks"]).pop();
    assert!(has(&check(&bad), "/weeks", "must have 8 to 8 items"));
}

fn array_mut(value: &mut Value) -> &mut Vec<Value> {
    value.as_array_mut().unwrap()
}

#[test]
fn guardrails_catch_loads_above_the_chart_and_the_hard_cap() {
    // Last session 100 kg × 10 @ RIR 2 (12 to failure → 68.0 %): e1RM 147.1 kg; week 1 at 6 reps @
    // RIR 3 (76.2 %) would be 112.1 kg on the chart, capped at +7.5 % over 100 kg = 107.5.
    let mut raw = input("intermediate", "hypertrophy", 4, 75, 5);
    raw["athlete"]["equipment"] = json!(["barbell", "dumbbell", "cable", "machine", "body only"]);
    raw["history"] = json!([session(
        "2026-10-12",
        "barbell-bench-press-medium-grip",
        100.0,
        10,
        2,
        3
    )]);
    let (input, good) = answer(&raw);
    let (w, d, k) = locate(&good, "barbell-bench-press-medium-grip");
    let at = format!("/weeks/{w}/days/{d}/exercises/{k}/load/kg");
    assert_eq!(good.pointer(&at), Some(&json!(107.5)));
    // 110 kg: under the chart (112.1) but over the +7.5 % cap.
    let bad = with(good.clone(), &at, Some(json!(110.0)));
    let v = check_output(&input, &bad);
    assert!(has(&v, &at, "+7.5 %"), "{v:?}");
    // 115 kg: above the chart too; 108 kg: off the plate increment.
    let v = check_output(&input, &with(good.clone(), &at, Some(json!(115.0))));
    assert!(has(&v, &at, "above what the RPE chart gives"), "{v:?}");
    let v = check_output(&input, &with(good.clone(), &at, Some(json!(106.0))));
    assert!(has(&v, &at, "plate increment"), "{v:?}");
    // Stating the logged lift as %e1RM hides the kg the log gives.
    let load = at.trim_end_matches("/kg").to_owned();
    let bad = with(
        good.clone(),
        &load,
        Some(json!({ "basis": "pct_e1rm", "kg": null, "pct_e1rm": 76.2 })),
    );
    assert!(has(
        &check_output(&input, &bad),
        &format!("{load}/basis"),
        "in kg"
    ));
    // Week 2 more than +7.5 % over week 1.
    let at2 = format!("/weeks/1/days/{d}/exercises/{k}/load/kg");
    assert_eq!(
        good.pointer(&format!("/weeks/1/days/{d}/exercises/{k}/exercise_id")),
        Some(&json!("barbell-bench-press-medium-grip"))
    );
    let v = check_output(&input, &with(good.clone(), &at2, Some(json!(117.5))));
    assert!(has(&v, &at2, "previous training week's 107.5 kg"), "{v:?}");
}

/// The first (week, day, exercise) position of an exercise id.
fn locate(out: &Value, id: &str) -> (usize, usize, usize) {
    for (w, week) in array(&out["weeks"]).iter().enumerate() {
        for (d, day) in array(&week["days"]).iter().enumerate() {
            for (k, e) in array(&day["exercises"]).iter().enumerate() {
                if e["exercise_id"] == id {
                    return (w, d, k);
                }
            }
        }
    }
    panic!("{id} not in the plan");
}

#[test]
fn schemas_bound_every_string_and_array() {
    let s = output_schema(JobKind::WorkoutPlan);
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(s["properties"]["weeks"]["maxItems"], json!(PlanWeeks::MAX));
    assert_bounded(&s);
    let i = input_schema(JobKind::WorkoutPlan);
    assert_bounded(&i);
    assert_eq!(
        i["required"],
        json!(["athlete", "days_per_week", "session_minutes", "weeks"])
    );
    assert_eq!(
        i["properties"]["session_minutes"]["maximum"],
        json!(SessionMinutes::MAX)
    );
}

/// Catalogue ids a random log draws from.
const LOGGED: [&str; 6] = [
    "barbell-bench-press-medium-grip",
    "barbell-squat",
    "dumbbell-bench-press",
    "romanian-deadlift",
    "one-arm-dumbbell-row",
    "leg-press",
];

fn valid_input() -> impl Strategy<Value = Value> {
    let athlete = (
        prop::sample::select(vec!["beginner", "intermediate", "advanced"]),
        prop::sample::select(vec![
            "strength",
            "hypertrophy",
            "general_fitness",
            "endurance",
            "fat_loss",
        ]),
        prop::option::of(prop::sample::subsequence(
            Equipment::ALL
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>(),
            2..=Equipment::ALL.len(),
        )),
        prop::sample::subsequence(
            Muscle::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            0..=2,
        ),
        prop::sample::select(vec!["kg", "lb"]),
    );
    let history = prop::collection::vec(
        (
            prop::sample::select(LOGGED.to_vec()),
            20.0..140.0f64,
            1u8..=12,
            0u8..=4,
            1usize..=4,
        ),
        0..=6,
    );
    (
        athlete,
        1u8..=7,
        20u16..=180,
        1u8..=16,
        prop::sample::select(vec![
            "auto",
            "auto",
            "custom",
            "full_body",
            "upper_lower",
            "ppl",
        ]),
        history,
        // Days from the last logged session to the plan's start (§A9's rows and none).
        prop::option::of(prop::sample::select(vec![3i64, 20, 40, 70])),
    )
        .prop_map(
            |(
                (experience, goal, equipment, injuries, units),
                days,
                minutes,
                weeks,
                style,
                log,
                gap,
            )| {
                let mut athlete = json!({ "experience": experience, "goal": goal, "units": units });
                if let Some(equipment) = equipment {
                    athlete["equipment"] = json!(equipment);
                }
                if !injuries.is_empty() {
                    athlete["injuries"] = json!(
                        injuries
                            .iter()
                            .map(|a| json!({ "area": a }))
                            .collect::<Vec<_>>()
                    );
                }
                let mut raw = json!({
                    "athlete": athlete, "days_per_week": days, "session_minutes": minutes,
                    "weeks": weeks, "split_preference": style
                });
                if !log.is_empty() {
                    let sessions: Vec<Value> = log
                        .iter()
                        .enumerate()
                        .map(|(i, (id, kg, reps, rir, sets))| {
                            let kg = (kg / 2.5).round() * 2.5;
                            session(&format!("2026-10-{:02}", i + 1), id, kg, *reps, *rir, *sets)
                        })
                        .collect();
                    raw["history"] = json!(sessions);
                    if let Some(gap) = gap {
                        let last =
                            sparta_coach::date::IsoDate::new(2026, 10, log.len() as u8).unwrap();
                        raw["start_date"] = json!(last.plus_days(gap).unwrap().to_string());
                    }
                }
                raw
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, max_global_rejects: 4096, ..ProptestConfig::default() })]

    /// Any valid input gives a plan that matches its JSON Schema, passes its guardrails, and respects
    /// equipment, injuries, level, the session length and the volume landmarks.
    #[test]
    fn every_valid_input_gives_a_plan_within_the_rules(raw in valid_input()) {
        let parsed = parse(&raw);
        prop_assume!(parsed.is_ok());
        let input = parsed.unwrap();
        assert_valid(Schema::Input(JobKind::WorkoutPlan), &raw);
        let out = run(&input); // asserts the guardrails and both schemas

        let athlete = &raw["athlete"];
        let equipment: Option<Vec<&str>> = athlete["equipment"]
            .as_array()
            .map(|l| l.iter().map(|e| e.as_str().unwrap()).collect());
        let injuries: Vec<Muscle> = athlete["injuries"]
            .as_array()
            .map(|l| l.iter().map(|i| serde_json::from_value(i["area"].clone()).unwrap()).collect())
            .unwrap_or_default();
        let experience = serde_json::from_value(athlete["experience"].clone()).unwrap();
        let minutes = raw["session_minutes"].as_u64().unwrap();
        let weeks = raw["weeks"].as_u64().unwrap() as usize;
        prop_assert_eq!(array(&out["weeks"]).len(), weeks);
        prop_assert_eq!(weeks >= 5, !array(&out["deload_weeks"]).is_empty());

        for week in array(&out["weeks"]) {
            prop_assert_eq!(array(&week["days"]).len() as u64, raw["days_per_week"].as_u64().unwrap());
            for day in array(&week["days"]) {
                prop_assert!(day["estimated_minutes"].as_u64().unwrap() <= minutes);
                let mut ids = HashSet::new();
                for e in array(&day["exercises"]) {
                    let id = e["exercise_id"].as_str().unwrap();
                    prop_assert!(ids.insert(id), "{} twice in a session", id);
                    let record = Catalogue::get().by_id(id).unwrap();
                    let needs = record.equipment.unwrap_or(Equipment::BodyOnly);
                    if let Some(list) = &equipment {
                        prop_assert!(list.contains(&needs.as_str()), "{} needs {}", id, needs);
                    }
                    for area in &injuries {
                        prop_assert!(injury_exclusion(record, *area).is_none(), "{} vs {} injury", id, area);
                    }
                    prop_assert!(level_allowed(experience, record.level), "{} level", id);
                    prop_assert!(record.category != Category::OlympicWeightlifting);
                }
            }
        }
        // Volume in the first training week: never above MRV; below MEV only with a flag.
        for v in array(&out["weekly_volume"]) {
            let l = LANDMARKS.iter().find(|l| v["muscle"] == l.muscle.as_str()).unwrap();
            let weekly = v["weekly_sets"].as_f64().unwrap();
            prop_assert!(weekly <= f64::from(l.mrv), "{}", v);
            prop_assert!(
                weekly >= f64::from(l.mev) || flagged(&out, "below_mev", l.muscle.as_str()),
                "{}", v
            );
        }
    }
}
