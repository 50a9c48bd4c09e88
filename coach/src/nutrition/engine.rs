//! The deterministic nutrition engine.

use crate::science::round_to;
use std::fmt::Write as _;

use super::foods::{self, Pick};
use super::science::{self, Target};
use super::{Basis, Diet, NutritionInput, NutritionOutput, Phase};
use crate::athlete::Goal;
use crate::{CoachError, JobKind};

/// Whole grams (at least 1).
fn grams(value: f64) -> u32 {
    value.round().max(1.0) as u32
}

/// Rounds to `decimals` places.
pub(super) fn run(input: &NutritionInput) -> Result<NutritionOutput, CoachError> {
    let target = Target::for_input(input);
    let Target { basis_kg, band, .. } = target;
    let meals = input.meals_per_day.get();

    let daily = grams(band.target * basis_kg);
    let (low, high) = (grams(band.low * basis_kg), grams(band.high * basis_kg));
    let per_meal = grams(f64::from(daily) / f64::from(meals));

    let picks = foods::examples_for(input.diet, per_meal);
    if picks.is_empty() {
        return Err(CoachError::Engine {
            kind: JobKind::Nutrition,
            message: format!("the food table has no food for a {} diet", input.diet),
        });
    }

    let rationale = rationale(input, &target, [daily, low, high, per_meal], &picks);
    Ok(NutritionOutput {
        protein_g_per_day: daily,
        protein_range_g: super::GramRange { low, high },
        g_per_kg: round_to(band.target, 2),
        basis: target.basis,
        basis_kg: round_to(basis_kg, 1),
        per_meal_g: per_meal,
        meals_per_day: meals,
        food_examples: picks.into_iter().map(|p| p.example).collect(),
        rationale,
        sources: sources(target.basis, input.phase)
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    })
}

const HELMS: &str = "Helms, Zinn, Rowlands & Brown 2014, IJSNEM 24(2):127-138";
const ISSN: &str = "Jäger et al. 2017, ISSN Position Stand: protein and exercise, JISSN 14:20";
const MORTON: &str = "Morton et al. 2018, BJSM 52(6):376-384";
const SCHOENFELD_ARAGON: &str = "Schoenfeld & Aragon 2018, JISSN 15:10";
const PHILLIPS: &str = "Phillips 2014, Sports Med 44 Suppl 2 (RDA context)";

/// The studies behind the figures used for this basis and phase.
fn sources(basis: Basis, phase: Phase) -> &'static [&'static str] {
    match (basis, phase) {
        (Basis::FatFreeMass, _) => &[HELMS, ISSN, SCHOENFELD_ARAGON, PHILLIPS],
        (Basis::Bodyweight, Phase::Cut) => &[HELMS, ISSN, MORTON, SCHOENFELD_ARAGON, PHILLIPS],
        (Basis::Bodyweight, Phase::Maintain | Phase::Bulk) => {
            &[MORTON, SCHOENFELD_ARAGON, ISSN, PHILLIPS]
        }
    }
}

/// Plain-words explanation: why this basis and band, the figures, the per-meal split, the foods,
/// and the RDA for context. Every number comes from the figures or the [`science`] constants.
fn rationale(input: &NutritionInput, target: &Target, figures: [u32; 4], picks: &[Pick]) -> String {
    use science::{
        CUT_FFM_BAND, DEFAULT_G_PER_KG, ISSN_HIGH_G_PER_KG, ISSN_LOW_G_PER_KG,
        MIN_MEALS_FOR_DEFAULT, PER_DOSE_MIN_G, PER_DOSE_MIN_G_PER_KG, PER_MEAL_G_PER_KG,
        PER_MEAL_MAX_G_PER_KG, RDA_G_PER_KG, UPPER_USEFUL_G_PER_KG,
    };

    let [daily, low, high, per_meal] = figures;
    let bodyweight = input.athlete.bodyweight_kg.get();
    let meals = input.meals_per_day.get();
    let band = target.band;
    let mut text = String::new();

    // Writing into a String cannot fail, so the `write!` results are ignored.
    // 1. Why this basis and band.
    match (target.basis, input.phase) {
        (Basis::FatFreeMass, _) => {
            let fat = input.athlete.body_fat_pct.map_or(0.0, |f| f.get());
            let _ = write!(
                text,
                "Cut with body fat known ({fat} %): figures are per kg of fat-free mass, as advised to keep lean \
                 mass in an energy deficit; leaner athletes and steeper deficits belong at the upper end of the \
                 range. "
            );
        }
        (Basis::Bodyweight, Phase::Cut) => {
            let _ = write!(
                text,
                "Cut without a body-fat figure: the {:.1}-{:.1} g/kg of fat-free mass advised in an energy \
                 deficit, carried over to body weight assuming about {:.0} % body fat; send body_fat_pct for a \
                 figure on fat-free mass. ",
                CUT_FFM_BAND.low,
                CUT_FFM_BAND.high,
                science::ASSUMED_BODY_FAT_FRACTION * 100.0
            );
        }
        (Basis::Bodyweight, phase) => {
            let phase_words = if phase == Phase::Bulk {
                "Bulk"
            } else {
                "Maintenance"
            };
            let goal = input.athlete.goal.as_str().replace('_', " ");
            let _ = write!(text, "{phase_words} phase, {goal} goal: ");
            let _ = match input.athlete.goal {
                Goal::Strength | Goal::Hypertrophy | Goal::FatLoss => write!(
                    text,
                    "fat-free-mass gains level off around {DEFAULT_G_PER_KG:.1} g/kg/day; up to \
                     {UPPER_USEFUL_G_PER_KG:.1} can still help. "
                ),
                Goal::GeneralFitness | Goal::Endurance => write!(
                    text,
                    "{ISSN_LOW_G_PER_KG:.1}-{ISSN_HIGH_G_PER_KG:.1} g/kg/day is enough for most exercising \
                     people; {DEFAULT_G_PER_KG:.1} is where muscle gains level off. "
                ),
            };
            if phase == Phase::Bulk {
                text.push_str("An energy surplus does not raise protein needs. ");
            }
        }
    }

    // 2. The figures.
    let _ = write!(
        text,
        "Target {:.1} g/kg x {:.1} kg of {} = {daily} g/day (range {low}-{high} g, {:.1}-{:.1} g/kg)",
        band.target,
        target.basis_kg,
        basis_words(target.basis),
        band.low,
        band.high
    );
    if target.basis == Basis::FatFreeMass {
        let _ = write!(
            text,
            ", i.e. {:.2} g/kg of body weight",
            f64::from(daily) / bodyweight
        );
    }
    text.push_str(". ");

    // 3. The per-meal split, judged per kg of body weight.
    let per_meal_per_kg = f64::from(per_meal) / bodyweight;
    let _ = if meals == 1 {
        write!(
            text,
            "In one meal that is {per_meal} g ({per_meal_per_kg:.2} g/kg)"
        )
    } else {
        write!(
            text,
            "Over {meals} meals that is about {per_meal} g each ({per_meal_per_kg:.2} g/kg)"
        )
    };
    let advised = format!(
        "{PER_MEAL_G_PER_KG:.1}-{PER_MEAL_MAX_G_PER_KG:.2} g/kg per meal advised for lifters"
    );
    let minimum =
        format!("minimum dose ({PER_DOSE_MIN_G_PER_KG:.2} g/kg or {PER_DOSE_MIN_G:.0} g)");
    let _ = if per_meal_per_kg > PER_MEAL_MAX_G_PER_KG {
        write!(
            text,
            "; above the {advised}, so {MIN_MEALS_FOR_DEFAULT} or more meals would spread it better. "
        )
    } else if per_meal_per_kg >= PER_MEAL_G_PER_KG {
        write!(text, ", within the {advised}. ")
    } else if per_meal_per_kg >= PER_DOSE_MIN_G_PER_KG || f64::from(per_meal) >= PER_DOSE_MIN_G {
        write!(
            text,
            ", enough for the {minimum} though below the {advised}. "
        )
    } else {
        write!(
            text,
            "; below the {minimum}, so fewer, larger meals would make each count. "
        )
    };

    // 4. The foods.
    let covering = picks.iter().filter(|p| p.covers_meal).count();
    let diet = diet_words(input.diet);
    let _ = if covering == picks.len() {
        write!(
            text,
            "Each food example fits a {diet} diet and covers one meal's share on its own. "
        )
    } else if covering > 0 {
        write!(
            text,
            "The food examples fit a {diet} diet; the first {covering} cover one meal's share on their own, \
             combine the others. "
        )
    } else {
        write!(
            text,
            "The food examples fit a {diet} diet; none covers one meal's share in a sensible serving, so \
             combine two or more. "
        )
    };

    // 5. The RDA, for context.
    let _ = write!(
        text,
        "For context, the general-population RDA of {RDA_G_PER_KG:.1} g/kg/day ({} g) is a floor, not a \
         target for lifters.",
        grams(RDA_G_PER_KG * bodyweight)
    );
    text
}

pub(super) fn basis_words(basis: Basis) -> &'static str {
    match basis {
        Basis::Bodyweight => "body weight",
        Basis::FatFreeMass => "fat-free mass",
    }
}

fn diet_words(diet: Diet) -> &'static str {
    match diet {
        Diet::Omnivore => "mixed (omnivore)",
        Diet::Pescatarian => "pescatarian",
        Diet::Vegetarian => "vegetarian",
        Diet::Vegan => "vegan",
    }
}
