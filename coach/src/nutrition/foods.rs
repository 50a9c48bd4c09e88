//! Our curated protein-food table, the diet rules, and a keyword classifier for foods named by
//! other providers (e.g. an LLM).
//!
//! Protein contents are typical values per 100 g as eaten (cooked, drained or as sold), rounded
//! conservatively from common food-composition tables (e.g. USDA FoodData Central); brands vary.

use super::{Diet, FoodExample};

/// Food groups that diets include or exclude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FoodClass {
    /// Meat and poultry (and animal gelatin/collagen).
    Meat,
    /// Fish and seafood.
    Fish,
    /// Eggs, dairy and honey (animal products that are not flesh).
    EggsDairy,
    /// Plant foods.
    Plant,
}

impl FoodClass {
    /// Plain-words name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            FoodClass::Meat => "meat",
            FoodClass::Fish => "fish or seafood",
            FoodClass::EggsDairy => "eggs, dairy or honey",
            FoodClass::Plant => "plant food",
        }
    }
}

impl Diet {
    /// Whether the diet includes foods of `class`.
    pub fn allows(self, class: FoodClass) -> bool {
        match self {
            Diet::Omnivore => true,
            Diet::Pescatarian => class != FoodClass::Meat,
            Diet::Vegetarian => matches!(class, FoodClass::EggsDairy | FoodClass::Plant),
            Diet::Vegan => class == FoodClass::Plant,
        }
    }

    /// The food groups the diet includes, in the order examples are drawn from them.
    pub fn classes(self) -> Vec<FoodClass> {
        [
            FoodClass::Meat,
            FoodClass::Fish,
            FoodClass::EggsDairy,
            FoodClass::Plant,
        ]
        .into_iter()
        .filter(|&c| self.allows(c))
        .collect()
    }
}

/// How a serving is written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Measure {
    /// "N g", with an optional qualifier ("cooked weight").
    Grams(&'static str),
    /// Whole pieces of a fixed weight, e.g. eggs.
    Pieces {
        /// Name of one piece ("large egg").
        one: &'static str,
        /// Name of several ("large eggs").
        many: &'static str,
        /// Edible grams per piece.
        grams_each: u32,
    },
}

/// One row of the food table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Food {
    /// Name as shown to the athlete.
    pub name: &'static str,
    /// Food group (decides which diets may use it).
    pub class: FoodClass,
    /// Protein per 100 g as eaten.
    pub protein_per_100g: f64,
    /// How the serving is written.
    pub measure: Measure,
    /// Smallest sensible serving, g.
    pub min_g: u32,
    /// Largest sensible serving for one meal, g.
    pub max_g: u32,
    /// Serving granularity, g.
    pub step_g: u32,
}

const COOKED: Measure = Measure::Grams("cooked weight");

const fn food(
    name: &'static str,
    class: FoodClass,
    protein_per_100g: f64,
    measure: Measure,
    (min_g, max_g, step_g): (u32, u32, u32),
) -> Food {
    Food {
        name,
        class,
        protein_per_100g,
        measure,
        min_g,
        max_g,
        step_g,
    }
}

/// The table, in the order examples are preferred within each food group.
pub const FOODS: &[Food] = &[
    food(
        "Chicken breast, skinless",
        FoodClass::Meat,
        31.0,
        COOKED,
        (80, 250, 10),
    ),
    food(
        "Turkey breast",
        FoodClass::Meat,
        29.0,
        COOKED,
        (80, 250, 10),
    ),
    food(
        "Lean beef mince (5% fat)",
        FoodClass::Meat,
        26.0,
        COOKED,
        (80, 250, 10),
    ),
    food(
        "Pork tenderloin",
        FoodClass::Meat,
        26.0,
        COOKED,
        (80, 250, 10),
    ),
    food(
        "Tuna, canned in water",
        FoodClass::Fish,
        25.0,
        Measure::Grams("drained"),
        (80, 200, 10),
    ),
    food(
        "Salmon fillet",
        FoodClass::Fish,
        22.0,
        COOKED,
        (100, 250, 10),
    ),
    food("Cod fillet", FoodClass::Fish, 23.0, COOKED, (100, 250, 10)),
    food("Prawns", FoodClass::Fish, 23.0, COOKED, (100, 250, 10)),
    food(
        "Greek yogurt, 0% fat",
        FoodClass::EggsDairy,
        10.0,
        Measure::Grams(""),
        (150, 400, 10),
    ),
    food(
        "Eggs",
        FoodClass::EggsDairy,
        12.6,
        Measure::Pieces {
            one: "large egg",
            many: "large eggs",
            grams_each: 50,
        },
        (100, 200, 50),
    ),
    food(
        "Cottage cheese, low fat",
        FoodClass::EggsDairy,
        12.0,
        Measure::Grams(""),
        (150, 350, 10),
    ),
    food(
        "Skyr",
        FoodClass::EggsDairy,
        11.0,
        Measure::Grams(""),
        (150, 400, 10),
    ),
    food(
        "Whey protein powder",
        FoodClass::EggsDairy,
        78.0,
        Measure::Grams("powder"),
        (20, 50, 5),
    ),
    food(
        "Firm tofu",
        FoodClass::Plant,
        14.0,
        Measure::Grams(""),
        (100, 350, 10),
    ),
    food(
        "Tempeh",
        FoodClass::Plant,
        19.0,
        Measure::Grams(""),
        (80, 250, 10),
    ),
    food(
        "Seitan",
        FoodClass::Plant,
        25.0,
        Measure::Grams(""),
        (80, 200, 10),
    ),
    food("Lentils", FoodClass::Plant, 9.0, COOKED, (150, 350, 10)),
    food(
        "Edamame, shelled",
        FoodClass::Plant,
        12.0,
        COOKED,
        (100, 300, 10),
    ),
    food("Chickpeas", FoodClass::Plant, 9.0, COOKED, (150, 350, 10)),
    food(
        "Pea protein powder",
        FoodClass::Plant,
        80.0,
        Measure::Grams("powder"),
        (20, 50, 5),
    ),
    food(
        "Textured soy protein",
        FoodClass::Plant,
        50.0,
        Measure::Grams("dry weight"),
        (30, 80, 5),
    ),
];

/// How many examples the engine lists.
pub const ENGINE_EXAMPLES: usize = 5;

/// A food counts as covering a meal when its serving (within the table's limits) gives at least
/// this share of the per-meal target.
pub const COVERS_MEAL_SHARE: f64 = 0.75;

impl Food {
    /// The serving nearest to `target_g` of protein, within the food's limits: (grams, protein g).
    pub fn serving_for(&self, target_g: u32) -> (u32, u32) {
        let ideal = f64::from(target_g) * 100.0 / self.protein_per_100g;
        let step = f64::from(self.step_g);
        let grams =
            ((ideal / step).round() * step).clamp(f64::from(self.min_g), f64::from(self.max_g));
        let protein = (grams * self.protein_per_100g / 100.0).round();
        (grams as u32, protein as u32)
    }

    /// The serving written out ("240 g", "180 g (cooked weight)", "4 large eggs").
    pub fn describe_serving(&self, grams: u32) -> String {
        match self.measure {
            Measure::Grams("") => format!("{grams} g"),
            Measure::Grams(note) => format!("{grams} g ({note})"),
            Measure::Pieces {
                one,
                many,
                grams_each,
            } => {
                let count = grams / grams_each.max(1);
                format!("{count} {}", if count == 1 { one } else { many })
            }
        }
    }
}

/// A chosen example and whether its serving alone covers a meal's target.
#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    /// The example as output.
    pub example: FoodExample,
    /// True when the serving gives at least [`COVERS_MEAL_SHARE`] of the per-meal target.
    pub covers_meal: bool,
}

/// Up to [`ENGINE_EXAMPLES`] foods the diet allows, each in a serving sized for `per_meal_g`.
/// Foods whose serving covers the meal come first; the food groups take turns so the list is varied.
pub fn examples_for(diet: Diet, per_meal_g: u32) -> Vec<Pick> {
    let threshold = (f64::from(per_meal_g) * COVERS_MEAL_SHARE).ceil() as u32;
    let sized: Vec<(&Food, u32, u32)> = FOODS
        .iter()
        .filter(|f| diet.allows(f.class))
        .map(|f| {
            let (grams, protein) = f.serving_for(per_meal_g);
            (f, grams, protein)
        })
        .collect();

    let mut picks = Vec::with_capacity(ENGINE_EXAMPLES);
    for covers_meal in [true, false] {
        // Round-robin over the diet's food groups, each in table order.
        let mut queues: Vec<Vec<&(&Food, u32, u32)>> = diet
            .classes()
            .into_iter()
            .map(|class| {
                sized
                    .iter()
                    .filter(|(f, _, protein)| {
                        f.class == class && (*protein >= threshold) == covers_meal
                    })
                    .rev()
                    .collect()
            })
            .collect();
        while picks.len() < ENGINE_EXAMPLES && queues.iter().any(|q| !q.is_empty()) {
            for queue in &mut queues {
                if picks.len() == ENGINE_EXAMPLES {
                    break;
                }
                if let Some(&(food, grams, protein)) = queue.pop() {
                    picks.push(Pick {
                        example: FoodExample {
                            food: food.name.to_owned(),
                            serving: food.describe_serving(grams),
                            protein_g: protein,
                        },
                        covers_meal,
                    });
                }
            }
        }
    }
    picks
}

const MEAT_WORDS: &[&str] = &[
    "meat",
    "chicken",
    "beef",
    "pork",
    "turkey",
    "lamb",
    "mutton",
    "veal",
    "ham",
    "bacon",
    "sausage",
    "sausages",
    "sirloin",
    "ribeye",
    "jerky",
    "venison",
    "duck",
    "goose",
    "salami",
    "pepperoni",
    "prosciutto",
    "chorizo",
    "meatball",
    "meatballs",
    "liver",
    "bison",
    "rabbit",
    "goat",
    "brisket",
    "gelatin",
    "gelatine",
    "collagen",
];

const FISH_WORDS: &[&str] = &[
    "fish",
    "tuna",
    "salmon",
    "cod",
    "shrimp",
    "shrimps",
    "prawn",
    "prawns",
    "sardine",
    "sardines",
    "mackerel",
    "trout",
    "tilapia",
    "haddock",
    "pollock",
    "anchovy",
    "anchovies",
    "herring",
    "crab",
    "lobster",
    "mussel",
    "mussels",
    "clam",
    "clams",
    "oyster",
    "oysters",
    "scallop",
    "scallops",
    "squid",
    "octopus",
    "calamari",
    "seafood",
    "halibut",
    "caviar",
    "roe",
    "surimi",
];

const EGG_DAIRY_WORDS: &[&str] = &[
    "egg",
    "eggs",
    "omelette",
    "omelet",
    "milk",
    "whey",
    "casein",
    "cheese",
    "yogurt",
    "yoghurt",
    "skyr",
    "quark",
    "kefir",
    "cottage",
    "ricotta",
    "mozzarella",
    "parmesan",
    "cheddar",
    "feta",
    "halloumi",
    "paneer",
    "butter",
    "cream",
    "ghee",
    "dairy",
    "honey",
    "custard",
    "mayonnaise",
    "mayo",
];

/// Words that, right before an animal word, make it a plant food ("soy milk", "peanut butter",
/// "plant-based cheese", "dairy-free yogurt").
const PLANT_QUALIFIERS: &[&str] = &[
    "soy", "soya", "oat", "almond", "rice", "coconut", "cashew", "pea", "peanut", "hemp", "nut",
    "hazelnut", "vegan", "plant", "based", "free",
];

/// Words that, right before a meat or fish word, make it a substitute ("veggie sausage", "tofu
/// chicken"). Eggs and dairy in such products are still possible, so these do not clear them.
const MEAT_SUBSTITUTE_QUALIFIERS: &[&str] = &[
    "veggie",
    "vegetarian",
    "meatless",
    "mock",
    "faux",
    "tofu",
    "seitan",
    "tempeh",
    "soy",
    "soya",
    "vegan",
    "plant",
    "based",
    "free",
];

/// The animal food groups a free-text food name mentions (empty = plant food as far as we can tell).
///
/// Table foods are looked up by name; other names are matched word by word, so "chickpeas" is not
/// chicken and "eggplant" is not egg. A qualifier right before the word ("soy milk", "veggie
/// sausage") or "free" right after it ("dairy free") clears it; "vegan" anywhere clears everything.
pub fn animal_classes(name: &str) -> Vec<FoodClass> {
    if let Some(food) = FOODS
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name.trim()))
    {
        return if food.class == FoodClass::Plant {
            Vec::new()
        } else {
            vec![food.class]
        };
    }
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.contains(&"vegan") {
        return Vec::new();
    }
    let mut classes = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let before = i.checked_sub(1).and_then(|j| words.get(j)).copied();
        let after = words.get(i + 1).copied();
        let (class, qualifiers) = if MEAT_WORDS.contains(word) {
            (FoodClass::Meat, MEAT_SUBSTITUTE_QUALIFIERS)
        } else if FISH_WORDS.contains(word) {
            (FoodClass::Fish, MEAT_SUBSTITUTE_QUALIFIERS)
        } else if EGG_DAIRY_WORDS.contains(word) {
            (FoodClass::EggsDairy, PLANT_QUALIFIERS)
        } else {
            continue;
        };
        let cleared = before.is_some_and(|b| qualifiers.contains(&b)) || after == Some("free");
        if !cleared && !classes.contains(&class) {
            classes.push(class);
        }
    }
    classes
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn classifier_agrees_with_the_table_on_every_row() {
        for food in FOODS {
            // Look-up is by name; also check the word matcher alone agrees (decorated name).
            let expected: Vec<FoodClass> = if food.class == FoodClass::Plant {
                vec![]
            } else {
                vec![food.class]
            };
            assert_eq!(animal_classes(food.name), expected, "{}", food.name);
            assert_eq!(
                animal_classes(&format!("{} bowl", food.name)),
                expected,
                "{}",
                food.name
            );
        }
    }

    #[test]
    fn classifier_handles_plant_lookalikes_and_qualifiers() {
        for plant in [
            "Chickpea curry",
            "Grilled eggplant",
            "Soy milk",
            "Peanut butter",
            "Oat milk latte",
            "Dairy-free yogurt",
            "Plant-based cheese",
            "Vegan cheese",
            "Coconut yogurt",
            "Butternut squash",
            "Pea protein shake",
            "Almond butter on toast",
        ] {
            assert_eq!(animal_classes(plant), Vec::<FoodClass>::new(), "{plant}");
        }
        assert_eq!(animal_classes("Veggie sausage"), Vec::<FoodClass>::new());
        assert_eq!(animal_classes("Scrambled eggs"), vec![FoodClass::EggsDairy]);
        assert_eq!(
            animal_classes("Whey isolate shake"),
            vec![FoodClass::EggsDairy]
        );
        assert_eq!(animal_classes("Oats with milk"), vec![FoodClass::EggsDairy]);
        assert_eq!(
            animal_classes("Tuna salad with egg"),
            vec![FoodClass::Fish, FoodClass::EggsDairy]
        );
        assert_eq!(animal_classes("Beef jerky"), vec![FoodClass::Meat]);
        // "steak" alone says nothing: tuna steak is fish, cauliflower steak is a plant.
        assert_eq!(animal_classes("Tuna steak"), vec![FoodClass::Fish]);
        assert_eq!(animal_classes("Cauliflower steak"), Vec::<FoodClass>::new());
        assert_eq!(
            animal_classes("Honey-glazed tofu"),
            vec![FoodClass::EggsDairy]
        );
    }

    #[test]
    fn diets_exclude_the_right_groups() {
        assert!(Diet::Omnivore.classes().len() == 4);
        assert_eq!(
            Diet::Pescatarian.classes(),
            [FoodClass::Fish, FoodClass::EggsDairy, FoodClass::Plant]
        );
        assert_eq!(
            Diet::Vegetarian.classes(),
            [FoodClass::EggsDairy, FoodClass::Plant]
        );
        assert_eq!(Diet::Vegan.classes(), [FoodClass::Plant]);
    }

    #[test]
    fn servings_are_sized_for_the_meal_within_limits() {
        let tofu = FOODS.iter().find(|f| f.name == "Firm tofu").unwrap();
        // 33 g / 14 g per 100 g = 235.7 g → 240 g → 33.6 → 34 g.
        assert_eq!(tofu.serving_for(33), (240, 34));
        assert_eq!(tofu.describe_serving(240), "240 g");
        // Capped at the largest sensible serving.
        assert_eq!(tofu.serving_for(100), (350, 49));
        let eggs = FOODS.iter().find(|f| f.name == "Eggs").unwrap();
        assert_eq!(eggs.serving_for(33), (200, 25));
        assert_eq!(eggs.describe_serving(200), "4 large eggs");
    }

    #[test]
    fn examples_respect_the_diet_and_vary() {
        for diet in Diet::ALL.iter().copied() {
            for per_meal in [10, 25, 33, 45, 80, 200] {
                let picks = examples_for(diet, per_meal);
                assert_eq!(picks.len(), ENGINE_EXAMPLES, "{diet} {per_meal}");
                for p in &picks {
                    for class in animal_classes(&p.example.food) {
                        assert!(diet.allows(class), "{diet}: {}", p.example.food);
                    }
                    assert!(p.example.protein_g >= 1);
                }
                // Covering foods come first.
                let first_short = picks
                    .iter()
                    .position(|p| !p.covers_meal)
                    .unwrap_or(picks.len());
                assert!(picks[first_short..].iter().all(|p| !p.covers_meal));
            }
        }
        let vegetarian: Vec<String> = examples_for(Diet::Vegetarian, 33)
            .into_iter()
            .map(|p| p.example.food)
            .collect();
        assert_eq!(
            vegetarian,
            [
                "Greek yogurt, 0% fat",
                "Firm tofu",
                "Eggs",
                "Tempeh",
                "Cottage cheese, low fat"
            ]
        );
    }
}
