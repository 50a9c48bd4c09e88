//! Nutrition guardrails: what any provider's output must satisfy for a given input.

use super::engine::basis_words;
use super::foods;
use super::science::Target;
use super::{
    Basis, MAX_DAILY_PROTEIN_G, MAX_FOOD_EXAMPLES, MAX_FOOD_PROTEIN_G, MAX_FOOD_TEXT_CHARS,
    MAX_G_PER_KG, MAX_RATIONALE_CHARS, MAX_SOURCE_CHARS, MAX_SOURCES, NutritionInput,
    NutritionOutput,
};
use crate::Violation;
use crate::athlete::BodyweightKg;
use crate::guardrail::{check_items, check_length};

/// How far `basis_kg` may be from the input's own figure (rounding and slightly different
/// arithmetic are fine; a wrong basis is not).
const BASIS_KG_TOLERANCE: f64 = 0.5;

pub(super) fn check(input: &NutritionInput, out: &NutritionOutput) -> Vec<Violation> {
    let mut v = Vec::new();
    check_limits(out, &mut v);

    let target = Target::for_input(input);
    let meals = input.meals_per_day.get();
    if out.meals_per_day != meals {
        v.push(Violation::new(
            "/meals_per_day",
            format!(
                "must be {meals}, the meals_per_day of the input, got {}",
                out.meals_per_day
            ),
        ));
    }

    if out.basis != target.basis {
        let why = match target.basis {
            Basis::FatFreeMass => {
                "the phase is a cut and body fat is known, so figures are per kg of fat-free mass"
            }
            Basis::Bodyweight => {
                "figures are per kg of fat-free mass only in a cut with known body fat; otherwise per kg of body weight"
            }
        };
        v.push(Violation::new(
            "/basis",
            format!("must be `{}`: {why}", target.basis),
        ));
    } else if (out.basis_kg - target.basis_kg).abs() > BASIS_KG_TOLERANCE {
        v.push(Violation::new(
            "/basis_kg",
            format!(
                "must be the athlete's {} in kg, {:.1}, got {}",
                basis_words(target.basis),
                target.basis_kg,
                out.basis_kg
            ),
        ));
    }

    let daily = out.protein_g_per_day;
    let (low, high) = (out.protein_range_g.low, out.protein_range_g.high);
    if low > high {
        v.push(Violation::new(
            "/protein_range_g/low",
            format!("the range is inverted: low ({low} g) is above high ({high} g)"),
        ));
    } else if daily < low || daily > high {
        v.push(Violation::new(
            "/protein_g_per_day",
            format!("{daily} g is outside protein_range_g ({low}-{high} g); the target must lie within its range"),
        ));
    }

    // The evidence envelope for this input, per kg of the basis the input calls for.
    let (floor, ceiling) = target.evidence_envelope(input.phase);
    let min_g = (floor * target.basis_kg).floor();
    let max_g = (ceiling * target.basis_kg).ceil();
    for (path, grams) in [
        ("/protein_g_per_day", daily),
        ("/protein_range_g/low", low),
        ("/protein_range_g/high", high),
    ] {
        let value = f64::from(grams);
        if value < min_g || value > max_g {
            v.push(Violation::new(
                path,
                format!(
                    "{grams} g is {:.2} g/kg of {} ({:.1} kg); the evidence range for this athlete and phase is \
                     {floor}-{ceiling} g/kg, i.e. {min_g}-{max_g} g/day",
                    value / target.basis_kg,
                    basis_words(target.basis),
                    target.basis_kg,
                ),
            ));
        }
    }

    // g_per_kg × basis must give the daily figure (two-decimal rounding of g_per_kg + 1 g).
    let implied = out.g_per_kg * target.basis_kg;
    if out.basis == target.basis
        && (implied - f64::from(daily)).abs() > 0.005 * target.basis_kg + 1.0
    {
        v.push(Violation::new(
            "/g_per_kg",
            format!(
                "g_per_kg × basis_kg must equal protein_g_per_day: {} × {:.1} kg = {implied:.0} g, but \
                 protein_g_per_day is {daily} g",
                out.g_per_kg, target.basis_kg
            ),
        ));
    }

    // per_meal_g × meals_per_day must give the daily figure, allowing 1 g of rounding per meal.
    let out_meals = u32::from(out.meals_per_day);
    let split = out.per_meal_g.saturating_mul(out_meals);
    if out_meals == 0 || split.abs_diff(daily) > out_meals {
        let suggested = if out_meals == 0 {
            0
        } else {
            (f64::from(daily) / f64::from(out_meals)).round() as u32
        };
        v.push(Violation::new(
            "/per_meal_g",
            format!(
                "per_meal_g × meals_per_day must equal protein_g_per_day within 1 g per meal: {} g × {out_meals} = \
                 {split} g, but protein_g_per_day is {daily} g (use {suggested} g)",
                out.per_meal_g
            ),
        ));
    }

    for (i, food) in out.food_examples.iter().enumerate() {
        let excluded: Vec<&str> = foods::animal_classes(&food.food)
            .into_iter()
            .filter(|&class| !input.diet.allows(class))
            .map(foods::FoodClass::describe)
            .collect();
        if !excluded.is_empty() {
            v.push(Violation::new(
                format!("/food_examples/{i}/food"),
                format!(
                    "`{}` is {}, which a {} diet excludes",
                    food.food,
                    excluded.join(" and "),
                    input.diet
                ),
            ));
        }
    }
    v
}

/// The limits the output schema states (same constants), checked here too so that any provider's
/// output is held to them even where no JSON Schema validator ran.
fn check_limits(out: &NutritionOutput, v: &mut Vec<Violation>) {
    for (path, grams) in [
        ("/protein_g_per_day", out.protein_g_per_day),
        ("/protein_range_g/low", out.protein_range_g.low),
        ("/protein_range_g/high", out.protein_range_g.high),
        ("/per_meal_g", out.per_meal_g),
    ] {
        if !(1..=MAX_DAILY_PROTEIN_G).contains(&grams) {
            v.push(Violation::new(
                path,
                format!("must be 1 to {MAX_DAILY_PROTEIN_G} g, got {grams}"),
            ));
        }
    }
    if !(0.0..=MAX_G_PER_KG).contains(&out.g_per_kg) {
        v.push(Violation::new(
            "/g_per_kg",
            format!("must be 0 to {MAX_G_PER_KG} g/kg, got {}", out.g_per_kg),
        ));
    }
    if !(0.0..=BodyweightKg::MAX).contains(&out.basis_kg) {
        v.push(Violation::new(
            "/basis_kg",
            format!(
                "must be 0 to {} kg, got {}",
                BodyweightKg::MAX,
                out.basis_kg
            ),
        ));
    }
    check_items(
        v,
        "/food_examples",
        out.food_examples.len(),
        1,
        MAX_FOOD_EXAMPLES,
    );
    for (i, food) in out.food_examples.iter().enumerate() {
        check_length(
            v,
            &format!("/food_examples/{i}/food"),
            &food.food,
            1,
            MAX_FOOD_TEXT_CHARS,
        );
        check_length(
            v,
            &format!("/food_examples/{i}/serving"),
            &food.serving,
            1,
            MAX_FOOD_TEXT_CHARS,
        );
        if !(1..=MAX_FOOD_PROTEIN_G).contains(&food.protein_g) {
            v.push(Violation::new(
                format!("/food_examples/{i}/protein_g"),
                format!(
                    "must be 1 to {MAX_FOOD_PROTEIN_G} g for one serving, got {}",
                    food.protein_g
                ),
            ));
        }
    }
    check_length(v, "/rationale", &out.rationale, 1, MAX_RATIONALE_CHARS);
    check_items(v, "/sources", out.sources.len(), 0, MAX_SOURCES);
    for (i, source) in out.sources.iter().enumerate() {
        check_length(v, &format!("/sources/{i}"), source, 1, MAX_SOURCE_CHARS);
    }
}
