//! The `nutrition` kind: daily protein target and range, per-meal split, food examples for the diet.
//!
//! Figures come from `science.md` §A6 (see [`science`]); the food table is ours (see [`foods`]).

mod engine;
pub mod foods;
mod guard;
pub mod science;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::athlete::{Goal, WeighedAthlete};
use crate::bounded::bounded_number;
use crate::kind::{example, prompt};
use crate::vocab::vocabulary;
use crate::{CoachError, FieldError, JobSpec, Prompt, Violation};

vocabulary! {
    /// Energy phase the athlete is in.
    pub enum Phase {
        /// Energy deficit (losing weight): protein needs are highest.
        Cut = "cut",
        /// Roughly energy balance.
        Maintain = "maintain",
        /// Energy surplus (gaining weight).
        Bulk = "bulk",
    }
}

vocabulary! {
    /// What the athlete eats; decides which foods may be suggested.
    pub enum Diet {
        /// Everything.
        Omnivore = "omnivore",
        /// No meat; fish and seafood, eggs and dairy allowed.
        Pescatarian = "pescatarian",
        /// No meat or fish; eggs and dairy allowed (lacto-ovo).
        Vegetarian = "vegetarian",
        /// Plant foods only: no meat, fish, eggs, dairy or honey.
        Vegan = "vegan",
    }
}

bounded_number!(
    /// Protein-containing meals (feedings) per day.
    MealsPerDay(u8), min = 1, max = 8, unit = " meals"
);

impl MealsPerDay {
    /// Used when `meals_per_day` is omitted: 4, the count Schoenfeld & Aragon 2018 give for reaching
    /// 1.6 g/kg/day at 0.4 g/kg per meal (science.md §A6).
    pub const DEFAULT: MealsPerDay = MealsPerDay(4);

    fn default_count() -> Self {
        Self::DEFAULT
    }
}

// The default is a valid count (checked at compile time).
const _: () = assert!(
    MealsPerDay::DEFAULT.0 >= MealsPerDay::MIN && MealsPerDay::DEFAULT.0 <= MealsPerDay::MAX
);

/// Input of a `nutrition` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NutritionInput {
    /// The athlete; `bodyweight_kg` is required here (targets are per kg).
    pub athlete: WeighedAthlete,
    /// Energy phase.
    pub phase: Phase,
    /// Protein-containing meals per day (default 4).
    #[serde(default = "MealsPerDay::default_count")]
    pub meals_per_day: MealsPerDay,
    /// Diet; food examples never break it.
    pub diet: Diet,
}

vocabulary! {
    /// What the g/kg figures are per kilogram of.
    pub enum Basis {
        /// Per kg of body weight.
        Bodyweight = "bodyweight",
        /// Per kg of fat-free mass (body weight × (1 − body fat)).
        FatFreeMass = "fat_free_mass",
    }
}

/// Largest daily protein figure any output may state (the highest g/kg in §A6 × the heaviest
/// accepted athlete, rounded up).
pub const MAX_DAILY_PROTEIN_G: u32 =
    (science::EVIDENCE_CEILING_G_PER_KG * crate::athlete::BodyweightKg::MAX) as u32 + 1;
/// Most food examples an output may list.
pub const MAX_FOOD_EXAMPLES: usize = 8;
/// Longest food name or serving description, in characters.
pub const MAX_FOOD_TEXT_CHARS: usize = 80;
/// Most protein one food example may claim, in grams.
pub const MAX_FOOD_PROTEIN_G: u32 = 100;
/// Longest rationale, in characters.
pub const MAX_RATIONALE_CHARS: usize = 1200;
/// Most sources an output may cite.
pub const MAX_SOURCES: usize = 6;
/// Longest source citation, in characters.
pub const MAX_SOURCE_CHARS: usize = 200;
/// Largest g/kg figure any output may state.
pub const MAX_G_PER_KG: f64 = science::EVIDENCE_CEILING_G_PER_KG;

/// A protein range in whole grams per day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GramRange {
    /// Lower end, g/day.
    #[schemars(range(min = 1, max = MAX_DAILY_PROTEIN_G))]
    pub low: u32,
    /// Upper end, g/day.
    #[schemars(range(min = 1, max = MAX_DAILY_PROTEIN_G))]
    pub high: u32,
}

/// One food that fits the diet, in a serving sized for one meal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FoodExample {
    /// The food, e.g. "Firm tofu".
    #[schemars(length(min = 1, max = MAX_FOOD_TEXT_CHARS))]
    pub food: String,
    /// The serving, e.g. "240 g".
    #[schemars(length(min = 1, max = MAX_FOOD_TEXT_CHARS))]
    pub serving: String,
    /// Protein in that serving, whole grams.
    #[schemars(range(min = 1, max = MAX_FOOD_PROTEIN_G))]
    pub protein_g: u32,
}

/// Output of a `nutrition` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NutritionOutput {
    /// Daily protein target, whole grams.
    #[schemars(range(min = 1, max = MAX_DAILY_PROTEIN_G))]
    pub protein_g_per_day: u32,
    /// Evidence-based range around the target, whole grams per day.
    pub protein_range_g: GramRange,
    /// The target in grams per kg of the basis (two decimals).
    #[schemars(range(min = 0.0, max = MAX_G_PER_KG))]
    pub g_per_kg: f64,
    /// What the g/kg figures are per kilogram of.
    pub basis: Basis,
    /// Mass of the basis in kg (one decimal): body weight or fat-free mass.
    #[schemars(range(min = 0.0, max = crate::athlete::BodyweightKg::MAX))]
    pub basis_kg: f64,
    /// Protein per meal, whole grams (`protein_g_per_day / meals_per_day`, rounded).
    #[schemars(range(min = 1, max = MAX_DAILY_PROTEIN_G))]
    pub per_meal_g: u32,
    /// Meals per day (as in the input).
    #[schemars(range(min = MealsPerDay::MIN, max = MealsPerDay::MAX))]
    pub meals_per_day: u8,
    /// Foods that fit the diet, each in a serving sized for one meal.
    #[schemars(length(min = 1, max = MAX_FOOD_EXAMPLES))]
    pub food_examples: Vec<FoodExample>,
    /// Why these numbers, in plain words.
    #[schemars(length(min = 1, max = MAX_RATIONALE_CHARS))]
    pub rationale: String,
    /// The studies the figures come from.
    #[schemars(length(max = MAX_SOURCES), inner(length(min = 1, max = MAX_SOURCE_CHARS)))]
    pub sources: Vec<String>,
}

/// The `nutrition` kind.
#[derive(Clone, Copy, Debug)]
pub struct Nutrition;

impl JobSpec for Nutrition {
    const NAME: &'static str = "nutrition";
    const DESCRIPTION: &'static str = "Daily protein target and evidence range, split per meal, with food examples that fit the athlete's diet.";
    const PROMPT: Prompt = prompt!("nutrition");
    const EXAMPLE: &'static str = example!("nutrition");
    type Input = NutritionInput;
    type Output = NutritionOutput;

    fn business_rules(input: &NutritionInput) -> Vec<FieldError> {
        let mut broken = Vec::new();
        if let Some(age) = input.athlete.age
            && age.get() < science::ADULT_AGE
        {
            broken.push(
                FieldError::new(
                    "athlete.age",
                    format!(
                        "nutrition targets are only given for athletes aged {} or older: the protein \
                         evidence they rest on comes from adults",
                        science::ADULT_AGE
                    ),
                )
                .with_details(serde_json::json!({ "minimum": science::ADULT_AGE })),
            );
        }
        if input.athlete.goal == Goal::FatLoss && input.phase == Phase::Bulk {
            broken.push(FieldError::new(
                "phase",
                "phase `bulk` (energy surplus) contradicts goal `fat_loss`; use `cut` or `maintain`, \
                 or change the goal",
            ));
        }
        broken
    }

    fn run(input: &NutritionInput) -> Result<NutritionOutput, CoachError> {
        engine::run(input)
    }

    fn check(input: &NutritionInput, output: &NutritionOutput) -> Vec<Violation> {
        guard::check(input, output)
    }
}
