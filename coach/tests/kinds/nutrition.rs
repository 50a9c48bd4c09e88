//! The `nutrition` kind through the public API: parsing, schemas, engine and guardrails.

use crate::support::{
    Schema, assert_bounded, assert_valid, only_invalid, paths, run, schema_errors,
};
use serde_json::{Value, json};
use sparta_coach::athlete::{Age, BodyFatPct, BodyweightKg};
use sparta_coach::nutrition::{Diet, MealsPerDay, Phase};
use sparta_coach::{
    FieldError, InputRejection, JobInput, JobKind, Violation, check_output, input_schema,
    output_schema,
};

/// The `input` of `examples/requests/nutrition.json` (the client contract).
fn example_input() -> Value {
    crate::support::example_input("nutrition")
}

fn parse(raw: &Value) -> Result<JobInput, InputRejection> {
    JobInput::parse(JobKind::Nutrition, raw)
}

/// The single structural error of an invalid input.
fn invalid(raw: &Value) -> FieldError {
    only_invalid(parse(raw))
}

/// The example with one change at a JSON pointer (`None` removes the member).
fn example_with(pointer: &str, value: Option<Value>) -> Value {
    let mut raw = example_input();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let object = raw.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match value {
        Some(v) => object.insert(key.to_owned(), v),
        None => object.remove(key),
    };
    raw
}

fn input(athlete: Value, phase: &str, meals: u8, diet: &str) -> JobInput {
    parse(&json!({ "athlete": athlete, "phase": phase, "meals_per_day": meals, "diet": diet }))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Parsing

#[test]
fn the_example_parses_as_is_and_round_trips() {
    let parsed = parse(&example_input()).unwrap();
    assert_eq!(parsed.kind(), JobKind::Nutrition);
    let JobInput::Nutrition(n) = &parsed else {
        panic!("expected a nutrition input, got {parsed:?}")
    };
    assert_eq!(n.phase, Phase::Cut);
    assert_eq!(n.diet, Diet::Vegetarian);
    assert_eq!(n.meals_per_day.get(), 4);
    assert_eq!(n.athlete.bodyweight_kg.get(), 64.5);
    assert_eq!(n.athlete.body_fat_pct.map(BodyFatPct::get), Some(24.0));
    assert_eq!(n.athlete.age.map(Age::get), Some(31));

    let canonical = parsed.to_value();
    assert_eq!(canonical["athlete"]["id"], "athlete-42");
    assert_eq!(parse(&canonical).unwrap(), parsed);
    assert_eq!(
        canonical.pointer("/athlete/units"),
        None,
        "absent optional fields stay absent"
    );
}

#[test]
fn every_example_athletes_full_profile_is_accepted() {
    // The richest athlete of the examples (workout_plan.json): equipment, injuries, units.
    let athlete = json!({
        "id": "athlete-7", "experience": "beginner", "goal": "general_fitness", "sex": "male", "age": 45,
        "bodyweight_kg": 95, "equipment": ["dumbbell", "body only", "bands"],
        "injuries": [{ "area": "shoulders", "note": "impingement, avoid overhead pressing" }], "units": "kg"
    });
    let parsed = input(athlete, "maintain", 3, "omnivore");
    assert_eq!(parse(&parsed.to_value()).unwrap(), parsed);
}

#[test]
fn meals_per_day_defaults_to_four() {
    let parsed = parse(&example_with("/meals_per_day", None)).unwrap();
    let JobInput::Nutrition(n) = &parsed else {
        panic!("expected a nutrition input, got {parsed:?}")
    };
    assert_eq!(n.meals_per_day, MealsPerDay::DEFAULT);
    assert_eq!(n.meals_per_day.get(), 4);
    assert_eq!(parsed.to_value()["meals_per_day"], 4);
}

#[test]
fn wrong_type_points_at_the_field() {
    let e = invalid(&example_with(
        "/athlete/bodyweight_kg",
        Some(json!("heavy")),
    ));
    assert_eq!(e.field, "athlete.bodyweight_kg");
    assert_eq!(
        e.message,
        "invalid type: string \"heavy\", expected a number from 25 to 350"
    );
    assert_eq!(e.details, json!({ "minimum": 25.0, "maximum": 350.0 }));

    let e = invalid(&example_with("/meals_per_day", Some(json!(2.5))));
    assert_eq!(e.field, "meals_per_day");
    assert!(
        e.message.contains("expected a whole number from 1 to 8"),
        "{}",
        e.message
    );

    let e = invalid(&example_with(
        "/athlete/injuries",
        Some(json!([{ "area": "chest" }, { "area": 7 }])),
    ));
    assert_eq!(e.field, "athlete.injuries[1].area");

    // serde would accept an array as a struct (fields by position); the contract says object.
    let e = invalid(&example_with(
        "/athlete",
        Some(json!(["intermediate", "hypertrophy"])),
    ));
    assert_eq!(e.field, "athlete");
    assert_eq!(e.message, "invalid type: array, expected an object");
    let e = invalid(&json!([example_input()]));
    assert_eq!(e.field, "");
    let e = invalid(&json!("nutrition please"));
    assert_eq!(e.field, "");
    assert!(
        e.message.starts_with("invalid type: string"),
        "{}",
        e.message
    );
}

#[test]
fn missing_fields_point_at_the_missing_field() {
    let e = invalid(&example_with("/athlete/bodyweight_kg", None));
    assert_eq!(e.field, "athlete.bodyweight_kg");
    assert_eq!(e.message, "required field `bodyweight_kg` is missing");
    assert_eq!(e.details, json!({ "minimum": 25.0, "maximum": 350.0 }));

    let e = invalid(&example_with("/phase", None));
    assert_eq!(e.field, "phase");
    assert_eq!(e.details["allowed"], json!(["cut", "maintain", "bulk"]));

    let e = invalid(&example_with("/athlete/experience", None));
    assert_eq!(e.field, "athlete.experience");

    let e = invalid(&example_with(
        "/athlete/injuries",
        Some(json!([{ "note": "sore" }])),
    ));
    assert_eq!(e.field, "athlete.injuries[0].area");
}

#[test]
fn unknown_fields_are_refused_with_the_accepted_names() {
    let e = invalid(&example_with("/athlete/bodywieght_kg", Some(json!(64.5))));
    assert_eq!(e.field, "athlete.bodywieght_kg");
    assert_eq!(
        e.message,
        "unknown field `bodywieght_kg` (check the spelling)"
    );
    let allowed = e.details["allowed_fields"].as_array().unwrap();
    assert!(
        allowed.contains(&json!("bodyweight_kg")) && allowed.contains(&json!("injuries")),
        "{allowed:?}"
    );

    let e = invalid(&example_with("/diett", Some(json!("vegan"))));
    assert_eq!(e.field, "diett");
    assert_eq!(
        e.details["allowed_fields"],
        json!(["athlete", "phase", "meals_per_day", "diet"])
    );
}

#[test]
fn out_of_range_values_carry_their_bounds() {
    let cases = [
        (
            "/athlete/bodyweight_kg",
            json!(800),
            "athlete.bodyweight_kg",
            "must be between 25 and 350 kg, got 800",
        ),
        (
            "/athlete/body_fat_pct",
            json!(1.5),
            "athlete.body_fat_pct",
            "must be between 3 and 60 %, got 1.5",
        ),
        (
            "/athlete/age",
            json!(7),
            "athlete.age",
            "must be between 13 and 100 years, got 7",
        ),
        (
            "/meals_per_day",
            json!(9),
            "meals_per_day",
            "must be between 1 and 8 meals, got 9",
        ),
        (
            "/meals_per_day",
            json!(0),
            "meals_per_day",
            "must be between 1 and 8 meals, got 0",
        ),
        (
            "/meals_per_day",
            json!(-3),
            "meals_per_day",
            "must be between 1 and 8 meals, got -3",
        ),
    ];
    for (pointer, value, field, message) in cases {
        let e = invalid(&example_with(pointer, Some(value)));
        assert_eq!((e.field.as_str(), e.message.as_str()), (field, message));
    }
    let e = invalid(&example_with("/athlete/bodyweight_kg", Some(json!(24.9))));
    assert_eq!(
        e.details,
        json!({ "minimum": BodyweightKg::MIN, "maximum": BodyweightKg::MAX })
    );
    let e = invalid(&example_with("/athlete/age", Some(json!(101))));
    assert_eq!(
        e.details,
        json!({ "minimum": Age::MIN, "maximum": Age::MAX })
    );
    // Bounds are inclusive.
    assert!(parse(&example_with("/athlete/bodyweight_kg", Some(json!(350)))).is_ok());
    assert!(parse(&example_with("/meals_per_day", Some(json!(1)))).is_ok());

    let e = invalid(&example_with("/athlete/id", Some(json!("x".repeat(129)))));
    assert_eq!(e.field, "athlete.id");
    assert_eq!(e.message, "must be 1 to 128 characters long, got 129");
    assert_eq!(e.details["maxLength"], 128);

    let thirteen = json!(vec!["barbell"; 13]);
    let e = invalid(&example_with("/athlete/equipment", Some(thirteen)));
    assert_eq!(e.field, "athlete.equipment");
    assert_eq!(e.details["maxItems"], 12);
}

#[test]
fn values_outside_a_vocabulary_list_what_is_allowed() {
    let e = invalid(&example_with("/diet", Some(json!("keto"))));
    assert_eq!(e.field, "diet");
    assert!(
        e.message.starts_with("unknown variant `keto`"),
        "{}",
        e.message
    );
    assert_eq!(
        e.details,
        json!({ "allowed": ["omnivore", "pescatarian", "vegetarian", "vegan"] })
    );

    let e = invalid(&example_with("/athlete/goal", Some(json!("bulking"))));
    assert_eq!(e.field, "athlete.goal");
    assert_eq!(
        e.details["allowed"],
        json!([
            "strength",
            "hypertrophy",
            "general_fitness",
            "endurance",
            "fat_loss"
        ])
    );

    let e = invalid(&example_with("/athlete/sex", Some(json!("f"))));
    assert_eq!(
        (e.field.as_str(), &e.details),
        ("athlete.sex", &json!({ "allowed": ["female", "male"] }))
    );

    let e = invalid(&example_with(
        "/athlete/injuries",
        Some(json!([{ "area": "elbow" }])),
    ));
    assert_eq!(e.field, "athlete.injuries[0].area");
    assert_eq!(e.details["allowed"].as_array().map(Vec::len), Some(17));

    let e = invalid(&example_with(
        "/athlete/equipment",
        Some(json!(["barbell", "smith machine"])),
    ));
    assert_eq!(e.field, "athlete.equipment[1]");
    assert_eq!(e.details["allowed"].as_array().map(Vec::len), Some(12));
}

#[test]
fn business_rules_are_422_not_400() {
    let raw = example_with("/athlete/age", Some(json!(16)));
    let Err(InputRejection::BusinessRule(errors)) = parse(&raw) else {
        panic!("minors must be refused")
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "athlete.age");
    assert_eq!(errors[0].details, json!({ "minimum": 18 }));

    let mut raw = example_with("/phase", Some(json!("bulk")));
    raw["athlete"]["goal"] = json!("fat_loss");
    raw["athlete"]["age"] = json!(15);
    let Err(rejection) = parse(&raw) else {
        panic!("contradiction must be refused")
    };
    let fields: Vec<&str> = rejection
        .errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(
        fields,
        ["athlete.age", "phase"],
        "all business rules are reported at once"
    );
    assert!(matches!(rejection, InputRejection::BusinessRule(_)));
    assert!(
        rejection
            .to_string()
            .starts_with("input violates a business rule: athlete.age: ")
    );
}

// ---------------------------------------------------------------------------------------------
// Engine

#[test]
fn maintenance_hypertrophy_80kg_is_1_6_g_per_kg() {
    let i = input(
        json!({ "experience": "intermediate", "goal": "hypertrophy", "bodyweight_kg": 80 }),
        "maintain",
        4,
        "omnivore",
    );
    let out = run(&i);
    assert_eq!(out["protein_g_per_day"], 128); // 1.6 × 80
    assert_eq!(out["protein_range_g"], json!({ "low": 128, "high": 176 })); // 1.6–2.2 × 80
    assert_eq!(out["per_meal_g"], 32); // 128 / 4 = 0.4 g/kg per meal
    assert_eq!(out["meals_per_day"], 4);
    assert_eq!(out["g_per_kg"], 1.6);
    assert_eq!(out["basis"], "bodyweight");
    assert_eq!(out["basis_kg"], 80.0);
    assert_eq!(out["food_examples"][0]["food"], "Chicken breast, skinless");
}

#[test]
fn cut_with_body_fat_uses_fat_free_mass() {
    // The example: 64.5 kg at 24 % → FFM 49.02 kg; 2.3–3.1 g/kg FFM, target 2.7.
    let i = parse(&example_input()).unwrap();
    let out = run(&i);
    assert_eq!(out["basis"], "fat_free_mass");
    assert_eq!(out["basis_kg"], 49.0);
    assert_eq!(out["g_per_kg"], 2.7);
    assert_eq!(out["protein_g_per_day"], 132); // 2.7 × 49.02 = 132.35
    assert_eq!(out["protein_range_g"], json!({ "low": 113, "high": 152 })); // 112.75, 151.96
    assert_eq!(out["per_meal_g"], 33);
    let rationale = out["rationale"].as_str().unwrap();
    assert!(
        rationale.contains("2.7 g/kg x 49.0 kg of fat-free mass = 132 g/day"),
        "{rationale}"
    );
    assert!(
        rationale.contains("RDA of 0.8 g/kg/day (52 g)"),
        "{rationale}"
    );
    assert!(
        out["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("Helms"))
    );
}

#[test]
fn cut_without_body_fat_falls_back_to_body_weight_with_a_lower_range() {
    let i = input(
        json!({ "experience": "advanced", "goal": "strength", "bodyweight_kg": 64.5 }),
        "cut",
        5,
        "omnivore",
    );
    let out = run(&i);
    assert_eq!(out["basis"], "bodyweight");
    assert_eq!(out["protein_g_per_day"], 142); // 2.2 × 64.5 = 141.9
    assert_eq!(out["protein_range_g"], json!({ "low": 116, "high": 161 })); // 1.8, 2.5 × 64.5
    assert_eq!(out["per_meal_g"], 28); // 142 / 5 = 28.4
    assert!(
        out["rationale"]
            .as_str()
            .unwrap()
            .contains("send body_fat_pct")
    );
}

#[test]
fn general_fitness_bulk_uses_the_issn_range_and_ignores_body_fat() {
    let athlete = json!({ "experience": "beginner", "goal": "general_fitness", "bodyweight_kg": 70, "body_fat_pct": 18 });
    let out = run(&input(athlete, "bulk", 3, "pescatarian"));
    assert_eq!(out["basis"], "bodyweight");
    assert_eq!(out["protein_g_per_day"], 112); // 1.6 × 70
    assert_eq!(out["protein_range_g"], json!({ "low": 98, "high": 140 })); // 1.4–2.0 × 70
    assert_eq!(out["per_meal_g"], 37);
    // 37 g / 70 kg = 0.53 g/kg: within 0.4–0.55.
    assert!(
        out["rationale"]
            .as_str()
            .unwrap()
            .contains("within the 0.4-0.55 g/kg per meal")
    );
}

#[test]
fn food_examples_respect_every_diet() {
    let forbidden: [(&str, &[&str]); 4] = [
        ("omnivore", &[]),
        ("pescatarian", &["Chicken", "Turkey", "beef", "Pork"]),
        (
            "vegetarian",
            &[
                "Chicken", "Turkey", "beef", "Pork", "Tuna", "Salmon", "Cod", "Prawns",
            ],
        ),
        (
            "vegan",
            &[
                "Chicken", "beef", "Tuna", "Salmon", "Eggs", "Whey", "yogurt", "Skyr", "Cottage",
            ],
        ),
    ];
    for (diet, banned) in forbidden {
        for meals in 1..=8u8 {
            let athlete =
                json!({ "experience": "beginner", "goal": "hypertrophy", "bodyweight_kg": 75 });
            let out = run(&input(athlete, "maintain", meals, diet));
            let foods = out["food_examples"].as_array().unwrap();
            assert_eq!(foods.len(), 5);
            for food in foods {
                let name = food["food"].as_str().unwrap();
                assert!(!banned.iter().any(|b| name.contains(b)), "{diet}: {name}");
                assert!(food["protein_g"].as_u64().unwrap() >= 1);
            }
        }
    }
}

#[test]
fn engine_output_passes_its_guardrails_and_schema_across_the_input_space() {
    let mut count = 0;
    for goal in [
        "strength",
        "hypertrophy",
        "general_fitness",
        "endurance",
        "fat_loss",
    ] {
        for phase in ["cut", "maintain", "bulk"] {
            if goal == "fat_loss" && phase == "bulk" {
                continue; // refused as a business rule
            }
            for diet in ["omnivore", "pescatarian", "vegetarian", "vegan"] {
                for weight in [
                    BodyweightKg::MIN,
                    52.3,
                    64.5,
                    80.0,
                    121.7,
                    BodyweightKg::MAX,
                ] {
                    for fat in [
                        None,
                        Some(BodyFatPct::MIN),
                        Some(24.0),
                        Some(BodyFatPct::MAX),
                    ] {
                        for meals in [MealsPerDay::MIN, 3, 4, 6, MealsPerDay::MAX] {
                            let mut athlete = json!({ "experience": "intermediate", "goal": goal, "bodyweight_kg": weight });
                            if let Some(fat) = fat {
                                athlete["body_fat_pct"] = json!(fat);
                            }
                            // `run` checks the input and the answer against both schemas.
                            run(&input(athlete, phase, meals, diet));
                            count += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(count, 14 * 4 * 6 * 4 * 5);
}

// ---------------------------------------------------------------------------------------------
// Guardrails

/// The engine's answer for the example, to be broken one way at a time.
fn example_answer() -> (JobInput, Value) {
    let i = parse(&example_input()).unwrap();
    let out = run(&i);
    (i, out)
}

fn violations_after(edit: impl FnOnce(&mut Value)) -> Vec<Violation> {
    let (i, mut out) = example_answer();
    edit(&mut out);
    check_output(&i, &out)
}

#[test]
fn guardrail_catches_per_meal_split_inconsistent_with_the_daily_figure() {
    let v = violations_after(|o| o["per_meal_g"] = json!(40)); // 40 × 4 = 160 ≠ 132
    assert_eq!(paths(&v), ["/per_meal_g"]);
    assert!(
        v[0].message
            .contains("40 g × 4 = 160 g, but protein_g_per_day is 132 g (use 33 g)"),
        "{}",
        v[0].message
    );
    // Rounding within 1 g per meal is fine.
    assert!(violations_after(|o| o["per_meal_g"] = json!(34)).is_empty());
}

#[test]
fn guardrail_catches_daily_figures_outside_the_evidence_range() {
    // FFM basis (49.02 kg): 2.3–3.1 g/kg → 112–152 g.
    let v = violations_after(|o| {
        o["protein_g_per_day"] = json!(100);
        o["protein_range_g"] = json!({ "low": 90, "high": 120 });
        o["per_meal_g"] = json!(25);
        o["g_per_kg"] = json!(2.04);
    });
    assert_eq!(paths(&v), ["/protein_g_per_day", "/protein_range_g/low"]);
    assert!(
        v[0].message
            .contains("2.04 g/kg of fat-free mass (49.0 kg)"),
        "{}",
        v[0].message
    );
    assert!(
        v[0].message.contains("2.3-3.1 g/kg, i.e. 112-152 g/day"),
        "{}",
        v[0].message
    );

    // Body-weight basis, maintenance, 80 kg: 1.2–3.1 g/kg → 96–248 g.
    let i = input(
        json!({ "experience": "beginner", "goal": "strength", "bodyweight_kg": 80 }),
        "maintain",
        4,
        "vegan",
    );
    let mut out = run(&i);
    out["protein_g_per_day"] = json!(64); // the RDA, 0.8 g/kg
    out["protein_range_g"] = json!({ "low": 60, "high": 176 });
    out["per_meal_g"] = json!(16);
    out["g_per_kg"] = json!(0.8);
    let v = check_output(&i, &out);
    assert_eq!(paths(&v), ["/protein_g_per_day", "/protein_range_g/low"]);
    out["protein_g_per_day"] = json!(260); // 3.25 g/kg
    out["protein_range_g"] = json!({ "low": 128, "high": 260 });
    out["per_meal_g"] = json!(65);
    out["g_per_kg"] = json!(3.25);
    let v = check_output(&i, &out);
    assert!(
        paths(&v).contains(&"/protein_g_per_day") && paths(&v).contains(&"/protein_range_g/high"),
        "{v:?}"
    );
}

#[test]
fn guardrail_catches_an_inverted_range_and_a_target_outside_its_range() {
    let v = violations_after(|o| o["protein_range_g"] = json!({ "low": 150, "high": 120 }));
    assert_eq!(paths(&v), ["/protein_range_g/low"]);
    assert!(v[0].message.contains("low (150 g) is above high (120 g)"));

    let v = violations_after(|o| o["protein_range_g"] = json!({ "low": 135, "high": 150 }));
    assert_eq!(paths(&v), ["/protein_g_per_day"]);
    assert!(v[0].message.contains("outside protein_range_g (135-150 g)"));
}

#[test]
fn guardrail_catches_foods_the_diet_excludes() {
    let v = violations_after(|o| {
        o["food_examples"][0] =
            json!({ "food": "Chicken breast", "serving": "120 g", "protein_g": 37 });
        o["food_examples"][2] =
            json!({ "food": "Tuna steak", "serving": "150 g", "protein_g": 38 });
    });
    assert_eq!(
        paths(&v),
        ["/food_examples/0/food", "/food_examples/2/food"]
    );
    assert_eq!(
        v[0].message,
        "`Chicken breast` is meat, which a vegetarian diet excludes"
    );
    assert_eq!(
        v[1].message,
        "`Tuna steak` is fish or seafood, which a vegetarian diet excludes"
    );

    // Vegan: no whey, no eggs; soy milk and peanut butter are fine.
    let athlete = json!({ "experience": "beginner", "goal": "hypertrophy", "bodyweight_kg": 70 });
    let i = input(athlete, "maintain", 4, "vegan");
    let mut out = run(&i);
    out["food_examples"] = json!([
        { "food": "Whey protein shake", "serving": "1 scoop", "protein_g": 24 },
        { "food": "Scrambled eggs", "serving": "3 eggs", "protein_g": 19 },
        { "food": "Soy milk", "serving": "500 ml", "protein_g": 17 },
        { "food": "Peanut butter toast", "serving": "2 slices", "protein_g": 14 },
    ]);
    let v = check_output(&i, &out);
    assert_eq!(
        paths(&v),
        ["/food_examples/0/food", "/food_examples/1/food"]
    );
    assert!(v[0].message.contains("vegan diet excludes"));
}

#[test]
fn guardrail_catches_meals_basis_and_g_per_kg_inconsistent_with_the_input() {
    let v = violations_after(|o| {
        o["meals_per_day"] = json!(3);
        o["per_meal_g"] = json!(44);
    });
    assert_eq!(paths(&v), ["/meals_per_day"]);
    assert_eq!(
        v[0].message,
        "must be 4, the meals_per_day of the input, got 3"
    );

    let v = violations_after(|o| {
        o["basis"] = json!("bodyweight");
        o["basis_kg"] = json!(64.5);
    });
    assert_eq!(paths(&v), ["/basis"]);
    assert!(
        v[0].message.starts_with("must be `fat_free_mass`"),
        "{}",
        v[0].message
    );

    let v = violations_after(|o| o["basis_kg"] = json!(15.5)); // the fat mass, not the FFM
    assert_eq!(paths(&v), ["/basis_kg"]);
    assert!(v[0].message.contains("49.0"));

    let v = violations_after(|o| o["g_per_kg"] = json!(3.0)); // 3.0 × 49.02 = 147 ≠ 132
    assert_eq!(paths(&v), ["/g_per_kg"]);
}

#[test]
fn guardrail_enforces_the_schema_limits_too() {
    let v = violations_after(|o| o["rationale"] = json!("x".repeat(1201)));
    assert_eq!(paths(&v), ["/rationale"]);
    let v = violations_after(|o| o["rationale"] = json!("   "));
    assert_eq!(paths(&v), ["/rationale"]);
    let v = violations_after(|o| o["food_examples"] = json!([]));
    assert_eq!(paths(&v), ["/food_examples"]);
    let v = violations_after(|o| {
        let first = o["food_examples"][0].clone();
        o["food_examples"] = json!(vec![first; 9]);
    });
    assert_eq!(paths(&v), ["/food_examples"]);
    let v = violations_after(|o| o["food_examples"][1]["protein_g"] = json!(0));
    assert_eq!(paths(&v), ["/food_examples/1/protein_g"]);
    let v = violations_after(|o| o["sources"] = json!(vec!["s"; 7]));
    assert_eq!(paths(&v), ["/sources"]);
}

#[test]
fn output_that_does_not_deserialize_is_one_violation_at_the_root() {
    let v = violations_after(|o| o["protein_range_g"]["low"] = json!("113"));
    assert_eq!(paths(&v), [""]);
    assert!(
        v[0].message.contains("`/protein_range_g/low`"),
        "{}",
        v[0].message
    );
    assert!(
        v[0].message.contains("invalid type: string \"113\""),
        "{}",
        v[0].message
    );

    let v = violations_after(|o| o["per_meal_g"] = json!(33.5));
    assert_eq!(paths(&v), [""]);
    assert!(v[0].message.contains("`/per_meal_g`"), "{}", v[0].message);

    let v = violations_after(|o| {
        o.as_object_mut().unwrap().remove("rationale");
    });
    assert_eq!(paths(&v), [""]);
    assert!(
        v[0].message
            .contains("`/rationale`: required field `rationale` is missing"),
        "{}",
        v[0].message
    );

    let v = violations_after(|o| o["calories"] = json!(2000));
    assert_eq!(paths(&v), [""]);
    assert!(
        v[0].message.contains("unknown field `calories`"),
        "{}",
        v[0].message
    );

    let (i, _) = example_answer();
    let v = check_output(&i, &json!("132 g"));
    assert_eq!(paths(&v), [""]);
    assert!(
        v[0].message.contains("at the top level"),
        "{}",
        v[0].message
    );
}

// ---------------------------------------------------------------------------------------------
// Schemas

#[test]
fn input_schema_states_the_parsers_bounds_and_vocabularies() {
    let s = input_schema(JobKind::Nutrition);
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(s["required"], json!(["athlete", "phase", "diet"]));
    let meals = &s["properties"]["meals_per_day"];
    assert_eq!(
        (&meals["minimum"], &meals["maximum"]),
        (&json!(MealsPerDay::MIN), &json!(MealsPerDay::MAX))
    );
    assert_eq!(meals["default"], 4);

    let athlete_ref = s["properties"]["athlete"]["$ref"].as_str().unwrap();
    assert_eq!(athlete_ref, "#/$defs/Athlete_with_BodyweightKg");
    let athlete = s.pointer(&athlete_ref[1..]).unwrap();
    assert_eq!(athlete["additionalProperties"], false);
    assert_eq!(
        athlete["required"],
        json!(["experience", "goal", "bodyweight_kg"])
    );
    let p = &athlete["properties"];
    assert_eq!(p["bodyweight_kg"]["minimum"], json!(BodyweightKg::MIN));
    assert_eq!(p["bodyweight_kg"]["maximum"], json!(BodyweightKg::MAX));
    assert_eq!(p["body_fat_pct"]["minimum"], json!(BodyFatPct::MIN));
    assert_eq!(p["body_fat_pct"]["maximum"], json!(BodyFatPct::MAX));
    assert_eq!(p["age"]["minimum"], json!(Age::MIN));
    assert_eq!(p["age"]["maximum"], json!(Age::MAX));
    assert_eq!(p["age"]["type"], json!(["integer", "null"]));
    assert_eq!(p["id"]["maxLength"], 128);
    assert_eq!(p["equipment"]["maxItems"], 12);
    assert_eq!(p["injuries"]["maxItems"], 17);

    let consts = |def: &str| -> Vec<Value> {
        s["$defs"][def]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["const"].clone())
            .collect()
    };
    let names = |all: Vec<&str>| all.into_iter().map(Value::from).collect::<Vec<_>>();
    assert_eq!(
        consts("Diet"),
        names(Diet::ALL.iter().map(|d| d.as_str()).collect())
    );
    assert_eq!(
        consts("Phase"),
        names(Phase::ALL.iter().map(|p| p.as_str()).collect())
    );
    assert_eq!(consts("Muscle").len(), 17);
    assert_eq!(consts("Equipment").len(), 12);
    // The example validates against the published schema.
    assert_valid(Schema::Input(JobKind::Nutrition), &example_input());
}

#[test]
fn output_schema_bounds_every_string_and_array() {
    let s = output_schema(JobKind::Nutrition);
    assert_eq!(s["additionalProperties"], false);
    let p = &s["properties"];
    assert_eq!(p["rationale"]["maxLength"], 1200);
    assert_eq!(p["food_examples"]["maxItems"], 8);
    assert_eq!(p["food_examples"]["minItems"], 1);
    assert_eq!(p["sources"]["maxItems"], 6);
    assert_eq!(p["sources"]["items"]["maxLength"], 200);
    assert_eq!(p["meals_per_day"]["maximum"], json!(MealsPerDay::MAX));
    assert_eq!(
        s["$defs"]["FoodExample"]["properties"]["food"]["maxLength"],
        80
    );
    assert_eq!(
        s["$defs"]["FoodExample"]["properties"]["serving"]["maxLength"],
        80
    );
    // Every string and array anywhere in the schema is bounded.
    assert_bounded(&s);
    // Required = every member the engine emits.
    let (_, out) = example_answer();
    let emitted: Vec<Value> = out.as_object().unwrap().keys().map(|k| json!(k)).collect();
    assert_eq!(s["required"].as_array().unwrap(), &emitted);
}

#[test]
fn the_schema_validator_rejects_what_it_should_at_the_right_path() {
    let out_schema = Schema::Output(JobKind::Nutrition);
    let (_, good) = example_answer();
    assert_eq!(schema_errors(out_schema, &good), Vec::<String>::new());
    for (pointer, bad) in [
        ("/rationale", json!("x".repeat(1201))),
        ("/meals_per_day", json!(9)),
        ("/basis", json!("lean_mass")),
        ("/food_examples/0/protein_g", json!("33")),
        ("/extra", json!(1)),
    ] {
        let mut out = good.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        out.pointer_mut(parent).unwrap()[key] = bad;
        let errors = schema_errors(out_schema, &out);
        // `additionalProperties` is reported at the object holding the member.
        let at = if key == "extra" { parent } else { pointer };
        assert!(
            !errors.is_empty() && errors.iter().all(|e| e.starts_with(&format!("{at:?}"))),
            "{pointer}: {errors:?}"
        );
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("sources");
    assert_eq!(schema_errors(out_schema, &missing).len(), 1);

    // Keywords a hand-written checker tends to skip: `pattern` (an all-blank id), a vocabulary
    // (`oneOf` of `const`s) — and every error is reported, not just the first.
    let input = Schema::Input(JobKind::Nutrition);
    let mut raw = example_input();
    raw["athlete"]["id"] = json!("   ");
    raw["diet"] = json!("carnivore");
    let errors = schema_errors(input, &raw);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("\"/athlete/id\": "), "{errors:?}");
    assert!(errors[1].starts_with("\"/diet\": "), "{errors:?}");
}
