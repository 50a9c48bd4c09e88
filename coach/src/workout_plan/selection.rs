//! Which catalogue exercises a plan may use for an athlete: the category, the equipment at hand, the
//! level for the athlete's experience, and the injury → exclusion mapping. The engine, the guardrails
//! and the business rules all ask this module, so the three can never disagree.
//!
//! # Rules \[C\] (catalogue facts only: `data/exercises.json` fields)
//!
//! - **Category**: the engine picks from `strength` and `powerlifting`; any provider may also use the
//!   other resistance-training categories (`olympic weightlifting`, `strongman`, data README), never
//!   `stretching`, `cardio` or `plyometrics` (no sets × reps × RIR to count against the landmarks).
//!   The engine also leaves out static holds (a plan prescribes reps).
//! - **Equipment**: the exercise's equipment must be in `athlete.equipment`; a record without
//!   equipment counts as `body only`. No list = a commercial gym: everything is available.
//! - **Level**: beginners get `beginner` exercises only, intermediates `beginner` and
//!   `intermediate`, advanced lifters everything; `olympic weightlifting` is never for beginners
//!   (science.md §C: "an unconstrained LLM will happily prescribe Olympic lifts to a beginner").
//! - **Injuries** (`athlete.injuries[].area`, a catalogue muscle), see [`injury_exclusion`]:
//!   1. every area: exercises whose primary muscle is the area;
//!   2. every area but `shoulders`: compound exercises that list the area as a secondary muscle
//!      (they load it under heavy multi-joint work). Shoulders are the exception because the
//!      catalogue lists them as secondary on nearly every press and row (209 records): horizontal
//!      pressing and rows stay;
//!   3. area patterns, by catalogue id: `shoulders` → overhead and provoking positions
//!      ([`OVERHEAD_PATTERNS`]: presses overhead, jerks, snatches, handstands, upright rows,
//!      pullovers, dips, behind-the-neck work) and the whole `olympic weightlifting` category;
//!      `lower back` → hinges and axial loading ([`HINGE_PATTERNS`]) and the `olympic weightlifting`
//!      and `strongman` categories; `forearms` → grip-bound carries and wrist work; `traps` → shrugs
//!      and upright rows; `neck` → neck work.
//!
//!   The client's free-text `note` is never read (DESIGN §6: user text is never trusted).

use std::sync::OnceLock;

use crate::FieldError;
use crate::athlete::{Athlete, Experience};
use crate::catalogue::{Catalogue, Exercise, ExerciseId};
use crate::split::engine::LANDMARKS;
use crate::vocab::{Category, Force, Level, Mechanic, Muscle};

/// Categories any provider may use (the resistance-training categories of the data README).
pub const RESISTANCE_CATEGORIES: [Category; 4] = [
    Category::Strength,
    Category::Powerlifting,
    Category::OlympicWeightlifting,
    Category::Strongman,
];

/// Categories the engine picks from.
pub const ENGINE_CATEGORIES: [Category; 2] = [Category::Strength, Category::Powerlifting];

/// Catalogue-id fragments of overhead and shoulder-provoking patterns, excluded with a shoulder
/// injury (impingement classically flares with the arm overhead, in deep shoulder extension (dips)
/// and in loaded internal rotation at shoulder height (upright rows)).
pub const OVERHEAD_PATTERNS: &[&str] = &[
    "overhead",
    "military",
    "shoulder-press",
    "push-press",
    "jerk",
    "snatch",
    "handstand",
    "pike",
    "behind-the-neck",
    "behind-neck",
    "arnold",
    "upright",
    "pullover",
    "dip",
    "bradford",
    "thruster",
    "clean-and-press",
    "get-up",
    "jammer",
    "see-saw-press",
    "seesaw-press",
    "para-press",
    "cuban-press",
    "raise-over-head",
    "above-head",
];

/// Catalogue-id fragments of hinges and axially loaded pulls, excluded with a lower-back injury.
pub const HINGE_PATTERNS: &[&str] = &[
    "deadlift",
    "good-morning",
    "hyperextension",
    "back-extension",
    "superman",
    "clean",
    "snatch",
    "swing",
    "bent-over",
    "stiff-leg",
    "pull-through",
    "rack-pull",
];

/// Catalogue-id fragments excluded with a forearm injury (loaded grip and wrist work).
const GRIP_PATTERNS: &[&str] = &["farmer", "wrist", "carry", "grip"];
/// Catalogue-id fragments excluded with a traps injury.
const TRAPS_PATTERNS: &[&str] = &["shrug", "upright"];
/// Catalogue-id fragments excluded with a neck injury.
const NECK_PATTERNS: &[&str] = &["neck"];

/// What an injury to one area excludes besides the exercises that train it directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjuryRule {
    /// The injured area.
    pub area: Muscle,
    /// Compound exercises listing the area as a secondary muscle are excluded too.
    pub secondary_compounds: bool,
    /// Catalogue-id fragments excluded.
    pub patterns: &'static [&'static str],
    /// Whole categories excluded.
    pub categories: &'static [Category],
}

/// The exclusion rule of an injured area (see the module documentation).
pub fn injury_rule(area: Muscle) -> InjuryRule {
    let (secondary_compounds, patterns, categories): (bool, &[&str], &[Category]) = match area {
        Muscle::Shoulders => (false, OVERHEAD_PATTERNS, &[Category::OlympicWeightlifting]),
        Muscle::LowerBack => (
            true,
            HINGE_PATTERNS,
            &[Category::OlympicWeightlifting, Category::Strongman],
        ),
        Muscle::Forearms => (true, GRIP_PATTERNS, &[]),
        Muscle::Traps => (true, TRAPS_PATTERNS, &[]),
        Muscle::Neck => (true, NECK_PATTERNS, &[]),
        _ => (true, &[], &[]),
    };
    InjuryRule {
        area,
        secondary_compounds,
        patterns,
        categories,
    }
}

/// Which part of an area's [`InjuryRule`] excludes an exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    Primary,
    SecondaryCompound,
    Pattern(&'static str),
    Category,
}

fn injury_cause(exercise: &Exercise, area: Muscle) -> Option<Cause> {
    let rule = injury_rule(area);
    if exercise.primary_muscles.contains(&area) {
        return Some(Cause::Primary);
    }
    if rule.secondary_compounds
        && exercise.mechanic == Some(Mechanic::Compound)
        && exercise.secondary_muscles.contains(&area)
    {
        return Some(Cause::SecondaryCompound);
    }
    if let Some(pattern) = rule.patterns.iter().find(|p| exercise.id.contains(*p)) {
        return Some(Cause::Pattern(pattern));
    }
    rule.categories
        .contains(&exercise.category)
        .then_some(Cause::Category)
}

/// Why an injury to `area` excludes `exercise`, or `None` when it does not.
pub fn injury_exclusion(exercise: &Exercise, area: Muscle) -> Option<String> {
    injury_cause(exercise, area).map(|cause| match cause {
        Cause::Primary => format!("it trains the injured {area} directly"),
        Cause::SecondaryCompound => {
            format!("it is a compound lift that loads the injured {area}")
        }
        Cause::Pattern(pattern) => {
            format!("its movement (`{pattern}`) is excluded with a {area} injury")
        }
        Cause::Category => format!(
            "{} lifts are excluded with a {area} injury",
            exercise.category
        ),
    })
}

/// The injured areas of an athlete (none when the profile lists none).
pub fn injured_areas(athlete: &Athlete) -> Vec<Muscle> {
    athlete
        .injuries
        .as_ref()
        .map(|list| list.as_slice().iter().map(|i| i.area).collect())
        .unwrap_or_default()
}

/// True when the athlete has the exercise's equipment (no list = everything).
pub fn has_equipment(athlete: &Athlete, exercise: &Exercise) -> bool {
    athlete
        .equipment
        .as_ref()
        .is_none_or(|list| list.as_slice().contains(&exercise.equipment_needed()))
}

/// True when an exercise of `level` suits an athlete of `experience`.
pub fn level_allowed(experience: Experience, level: Level) -> bool {
    match experience {
        Experience::Beginner => level == Level::Beginner,
        Experience::Intermediate => level != Level::Expert,
        Experience::Advanced => true,
    }
}

/// Why the athlete may not do `exercise` in any plan (any provider), or `None`. The first reason
/// found: category, level, equipment, then injuries.
pub fn refusal(athlete: &Athlete, exercise: &Exercise) -> Option<String> {
    if !RESISTANCE_CATEGORIES.contains(&exercise.category) {
        return Some(format!(
            "`{}` is a {} exercise, not resistance training with sets, reps and RIR",
            exercise.id, exercise.category
        ));
    }
    let experience = athlete.experience;
    if experience == Experience::Beginner && exercise.category == Category::OlympicWeightlifting {
        return Some(format!(
            "`{}` is an Olympic lift, never for a beginner",
            exercise.id
        ));
    }
    if !level_allowed(experience, exercise.level) {
        return Some(format!(
            "`{}` is an {}-level exercise, above a {experience}'s level",
            exercise.id, exercise.level
        ));
    }
    if !has_equipment(athlete, exercise) {
        return Some(format!(
            "`{}` needs {}, which is not in the athlete's equipment",
            exercise.id,
            exercise.equipment_needed()
        ));
    }
    injured_areas(athlete).into_iter().find_map(|area| {
        injury_exclusion(exercise, area)
            .map(|why| format!("`{}` is excluded by the {area} injury: {why}", exercise.id))
    })
}

/// True when the engine may pick `exercise` for the athlete: an [`ENGINE_CATEGORIES`] exercise that
/// is not a static hold (a plan prescribes reps, and a hold has none) and that [`refusal`] allows.
pub fn engine_may_use(athlete: &Athlete, exercise: &Exercise) -> bool {
    may_use(athlete, &injured_areas(athlete), exercise)
}

/// [`engine_may_use`] with the injured areas worked out once.
fn may_use(athlete: &Athlete, injured: &[Muscle], exercise: &Exercise) -> bool {
    may_use_uninjured(athlete, exercise)
        && injured
            .iter()
            .all(|area| injury_cause(exercise, *area).is_none())
}

/// [`engine_may_use`] but for the injuries: category, static holds, level and equipment.
fn may_use_uninjured(athlete: &Athlete, exercise: &Exercise) -> bool {
    let experience = athlete.experience;
    ENGINE_CATEGORIES.contains(&exercise.category)
        && exercise.force != Some(Force::Static)
        && level_allowed(experience, exercise.level)
        && !(experience == Experience::Beginner
            && exercise.category == Category::OlympicWeightlifting)
        && has_equipment(athlete, exercise)
}

/// The bit of an area in an injury mask (its position in [`Muscle::ALL`], fewer than 32).
fn area_bit(area: Muscle) -> u32 {
    Muscle::ALL
        .iter()
        .position(|m| *m == area)
        .map_or(0, |k| 1 << k)
}

/// For every catalogue exercise (by position in [`Catalogue::all`]), the mask of the areas whose
/// injury excludes it ([`injury_cause`]), worked out once: a pool asks about every exercise of the
/// catalogue, and an injury's id patterns are a dozen substring searches per exercise.
fn injury_masks() -> &'static [u32] {
    static MASKS: OnceLock<Vec<u32>> = OnceLock::new();
    MASKS.get_or_init(|| {
        Catalogue::get()
            .all()
            .iter()
            .map(|exercise| {
                Muscle::ALL
                    .iter()
                    .filter(|area| injury_cause(exercise, **area).is_some())
                    .fold(0, |mask, area| mask | area_bit(*area))
            })
            .collect()
    })
}

/// The engine's first choices per programmed muscle, best first \[C\]: the staple lifts coaches
/// program (free weights first, then cables, machines, body weight and bands), so a plan reads like a
/// coach's rather than like the catalogue's alphabet. Every id is a catalogue id whose primary muscle
/// is the one it is listed under (unit-tested).
pub const STAPLES: &[(Muscle, &[&str])] = &[
    (
        Muscle::Chest,
        &[
            "barbell-bench-press-medium-grip",
            "dumbbell-bench-press",
            "incline-dumbbell-press",
            "barbell-incline-bench-press-medium-grip",
            "machine-bench-press",
            "cable-chest-press",
            "pushups",
            "dumbbell-flyes",
            "cable-crossover",
            "butterfly",
            "bench-press-with-bands",
            "incline-push-up",
            "leverage-chest-press",
        ],
    ),
    (
        Muscle::Lats,
        &[
            "wide-grip-lat-pulldown",
            "pullups",
            "chin-up",
            "close-grip-front-lat-pulldown",
            "one-arm-lat-pulldown",
            "straight-arm-pulldown",
            "underhand-cable-pulldowns",
            "band-assisted-pull-up",
        ],
    ),
    (
        Muscle::MiddleBack,
        &[
            "bent-over-barbell-row",
            "one-arm-dumbbell-row",
            "seated-cable-rows",
            "t-bar-row-with-handle",
            "dumbbell-incline-row",
            "bent-over-two-dumbbell-row",
            "leverage-high-row",
            "inverted-row",
            "one-arm-kettlebell-row",
        ],
    ),
    (
        Muscle::Shoulders,
        &[
            "standing-military-press",
            "seated-dumbbell-press",
            "side-lateral-raise",
            "machine-shoulder-military-press",
            "cable-seated-lateral-raise",
            "reverse-flyes",
            "face-pull",
            "reverse-machine-flyes",
            "cable-rear-delt-fly",
            "lateral-raise-with-bands",
            "band-pull-apart",
            "two-arm-kettlebell-military-press",
            "shoulder-press-with-bands",
        ],
    ),
    (
        Muscle::Quadriceps,
        &[
            "barbell-squat",
            "leg-press",
            "goblet-squat",
            "dumbbell-squat",
            "dumbbell-lunges",
            "split-squat-with-dumbbells",
            "hack-squat",
            "front-squat-clean-grip",
            "leg-extensions",
            "smith-machine-squat",
            "bodyweight-squat",
            "bodyweight-walking-lunge",
            "squats-with-bands",
        ],
    ),
    (
        Muscle::Hamstrings,
        &[
            "romanian-deadlift",
            "stiff-legged-dumbbell-deadlift",
            "lying-leg-curls",
            "seated-leg-curl",
            "good-morning",
            "glute-ham-raise",
            "kettlebell-one-legged-deadlift",
            "smith-machine-stiff-legged-deadlift",
            "standing-leg-curl",
            "band-good-morning",
            "ball-leg-curl",
        ],
    ),
    (
        Muscle::Glutes,
        &[
            "barbell-hip-thrust",
            "barbell-glute-bridge",
            "pull-through",
            "single-leg-glute-bridge",
            "butt-lift-bridge",
            "hip-lift-with-band",
            "glute-kickback",
            "one-legged-cable-kickback",
        ],
    ),
    (
        Muscle::Biceps,
        &[
            "barbell-curl",
            "dumbbell-bicep-curl",
            "hammer-curls",
            "ez-bar-curl",
            "incline-dumbbell-curl",
            "preacher-curl",
            "standing-biceps-cable-curl",
            "machine-bicep-curl",
            "concentration-curls",
        ],
    ),
    (
        Muscle::Triceps,
        &[
            "close-grip-barbell-bench-press",
            "triceps-pushdown",
            "ez-bar-skullcrusher",
            "close-grip-dumbbell-press",
            "tricep-dumbbell-kickback",
            "triceps-pushdown-rope-attachment",
            "machine-triceps-extension",
            "dips-triceps-version",
            "band-skull-crusher",
            "incline-push-up-close-grip",
        ],
    ),
    (
        Muscle::Traps,
        &[
            "barbell-shrug",
            "dumbbell-shrug",
            "cable-shrugs",
            "leverage-shrug",
            "calf-machine-shoulder-shrug",
        ],
    ),
    (
        Muscle::Calves,
        &[
            "standing-calf-raises",
            "standing-barbell-calf-raise",
            "seated-calf-raise",
            "calf-press-on-the-leg-press-machine",
            "dumbbell-seated-one-leg-calf-raise",
            "standing-dumbbell-calf-raise",
            "calf-raises-with-bands",
        ],
    ),
    (
        Muscle::Abdominals,
        &[
            "cable-crunch",
            "reverse-crunch",
            "crunches",
            "dead-bug",
            "flat-bench-lying-leg-raise",
            "pallof-press",
            "ab-crunch-machine",
            "exercise-ball-crunch",
        ],
    ),
];

/// The exercises the engine may pick for an athlete, per programmed muscle (by primary muscle),
/// best first.
#[derive(Clone, Debug)]
pub struct Pool {
    by_muscle: Vec<(Muscle, Vec<&'static Exercise>)>,
}

impl Pool {
    /// The pool for an athlete. Exercises in `logged` (the training log) come first, so the plan can
    /// give them loads in kg; then [`STAPLES`] in their order; then the rest of the catalogue,
    /// compound before isolation, easier before harder, by id.
    pub fn new(athlete: &Athlete, logged: &[ExerciseId]) -> Pool {
        let catalogue = Catalogue::get();
        let injured = injured_areas(athlete);
        let injured_mask = injured.iter().fold(0, |mask, area| mask | area_bit(*area));
        let masks = injury_masks();
        let mut by_muscle: Vec<(Muscle, Vec<&'static Exercise>)> =
            LANDMARKS.iter().map(|l| (l.muscle, Vec::new())).collect();
        for (i, exercise) in catalogue.all().iter().enumerate() {
            let Some(primary) = exercise.primary_muscles.first() else {
                continue;
            };
            let Some((_, bucket)) = by_muscle.iter_mut().find(|(m, _)| m == primary) else {
                continue;
            };
            // The precomputed mask is [`may_use`]'s injury test; the direct test stays as the
            // fallback (never taken: the masks cover the whole catalogue).
            let uninjured = match masks.get(i) {
                Some(mask) => mask & injured_mask == 0,
                None => injured
                    .iter()
                    .all(|area| injury_cause(exercise, *area).is_none()),
            };
            if uninjured && may_use_uninjured(athlete, exercise) {
                bucket.push(exercise);
            }
        }
        for (muscle, bucket) in &mut by_muscle {
            let staples = STAPLES
                .iter()
                .find(|(m, _)| m == muscle)
                .map_or(&[][..], |(_, ids)| *ids);
            bucket.sort_by_cached_key(|e| {
                let logged = !logged.iter().any(|id| id.as_str() == e.id);
                let staple = staples
                    .iter()
                    .position(|id| *id == e.id)
                    .unwrap_or(usize::MAX);
                let mechanic = match e.mechanic {
                    Some(Mechanic::Compound) => 0,
                    Some(Mechanic::Isolation) => 1,
                    None => 2,
                };
                (logged, staple, mechanic, e.level, e.id.as_str())
            });
        }
        Pool { by_muscle }
    }

    /// The candidates for a muscle, best first (empty for a muscle without landmarks).
    pub fn candidates(&self, muscle: Muscle) -> &[&'static Exercise] {
        self.by_muscle
            .iter()
            .find(|(m, _)| *m == muscle)
            .map_or(&[], |(_, bucket)| bucket.as_slice())
    }

    /// True when no programmed muscle has a candidate.
    pub fn is_empty(&self) -> bool {
        self.by_muscle.iter().all(|(_, bucket)| bucket.is_empty())
    }
}

/// The movement patterns every plan needs, by the primary muscles that carry them \[C\] (§A8: every
/// full-body session "covers squat or hinge, push, pull"; every split covers them over the week).
pub const REQUIRED_MOVEMENTS: [(&str, &[Muscle]); 4] = [
    ("a squat or lunge (quadriceps)", &[Muscle::Quadriceps]),
    (
        "a hinge or hip extension (hamstrings, glutes)",
        &[Muscle::Hamstrings, Muscle::Glutes],
    ),
    (
        "an upper-body push (chest, triceps)",
        &[Muscle::Chest, Muscle::Triceps],
    ),
    (
        "an upper-body pull (lats, middle back)",
        &[Muscle::Lats, Muscle::MiddleBack],
    ),
];

/// Business rules on exercise selection (→ 422): every required movement must keep at least one
/// exercise the athlete may do, unless every muscle that carries it is itself injured (then its
/// absence is the point). The error names `athlete.injuries` when the injuries removed the last
/// options and `athlete.equipment` when the equipment and level never offered any.
pub fn movement_rules(athlete: &Athlete) -> Vec<FieldError> {
    let injured = injured_areas(athlete);
    let pool = Pool::new(athlete, &[]);
    let uninjured = Athlete {
        injuries: None,
        ..athlete.clone()
    };
    let mut broken = Vec::new();
    let mut without_injuries: Option<Pool> = None;
    for (movement, muscles) in REQUIRED_MOVEMENTS {
        if muscles.iter().all(|m| injured.contains(m)) {
            continue;
        }
        if muscles.iter().any(|m| !pool.candidates(*m).is_empty()) {
            continue;
        }
        let free = without_injuries.get_or_insert_with(|| Pool::new(&uninjured, &[]));
        let names: Vec<&str> = muscles.iter().map(|m| m.as_str()).collect();
        let details = serde_json::json!({ "movement": movement, "muscles": names });
        if muscles.iter().any(|m| !free.candidates(*m).is_empty()) {
            // Name only the injuries that took options of this movement away.
            let areas: Vec<&str> = injured
                .iter()
                .filter(|area| {
                    muscles.iter().any(|m| {
                        free.candidates(*m)
                            .iter()
                            .any(|e| injury_exclusion(e, **area).is_some())
                    })
                })
                .map(|m| m.as_str())
                .collect();
            broken.push(
                FieldError::new(
                    "athlete.injuries",
                    format!(
                        "the injuries ({}) exclude every exercise for {movement} that the equipment and the {} level \
                         allow; a plan needs one: add equipment or ask a clinician which of these areas may be trained",
                        areas.join(", "),
                        athlete.experience
                    ),
                )
                .with_details(details),
            );
        } else {
            broken.push(
                FieldError::new(
                    "athlete.equipment",
                    format!(
                        "no catalogue exercise for {movement} fits the equipment listed at the {} level; \
                         a plan needs one: add equipment (e.g. dumbbell or body only)",
                        athlete.experience
                    ),
                )
                .with_details(details),
            );
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staples_are_catalogue_ids_of_their_muscle_and_engine_categories() {
        let catalogue = Catalogue::get();
        for (muscle, ids) in STAPLES {
            for id in *ids {
                let e = catalogue.by_id(id).unwrap_or_else(|| panic!("{id}"));
                assert_eq!(e.primary_muscles, [*muscle], "{id}");
                assert!(ENGINE_CATEGORIES.contains(&e.category), "{id}");
                assert_ne!(e.force, Some(Force::Static), "{id}");
                assert_ne!(e.level, Level::Expert, "{id}");
            }
        }
        assert_eq!(STAPLES.len(), LANDMARKS.len());
    }

    #[test]
    fn pool_holds_exactly_what_the_engine_may_use() {
        // The pool tests injuries through precomputed masks; they must agree with the rules.
        let c = Catalogue::get();
        let athletes = [
            serde_json::json!({ "experience": "advanced", "goal": "strength",
                "injuries": [{ "area": "lower back" }, { "area": "shoulders" }] }),
            serde_json::json!({ "experience": "intermediate", "goal": "hypertrophy",
                "equipment": ["dumbbell", "body only"], "injuries": [{ "area": "forearms" }] }),
            serde_json::json!({ "experience": "beginner", "goal": "general_fitness",
                "injuries": [{ "area": "traps" }, { "area": "neck" }, { "area": "chest" }] }),
            serde_json::json!({ "experience": "advanced", "goal": "strength" }),
        ];
        for raw in athletes {
            let athlete: Athlete = serde_json::from_value(raw).unwrap();
            let pool = Pool::new(&athlete, &[]);
            for l in &LANDMARKS {
                let mut got: Vec<&str> = pool
                    .candidates(l.muscle)
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect();
                got.sort_unstable();
                let want: Vec<&str> = c
                    .all()
                    .iter()
                    .filter(|e| e.primary_muscles.first() == Some(&l.muscle))
                    .filter(|e| engine_may_use(&athlete, e))
                    .map(|e| e.id.as_str())
                    .collect();
                assert_eq!(got, want, "{}", l.muscle);
            }
        }
    }

    #[test]
    fn shoulder_injury_keeps_horizontal_pressing_and_rows_but_not_overhead_work() {
        let c = Catalogue::get();
        let excluded = |id: &str| injury_exclusion(c.by_id(id).unwrap(), Muscle::Shoulders);
        for id in [
            "standing-military-press",
            "dumbbell-shoulder-press",
            "side-lateral-raise",
            "upright-barbell-row",
            "dips-triceps-version",
            "cable-rope-overhead-triceps-extension",
            "push-press",
            "snatch",
        ] {
            assert!(excluded(id).is_some(), "{id}");
        }
        for id in [
            "dumbbell-bench-press",
            "pushups",
            "one-arm-dumbbell-row",
            "pullups",
        ] {
            assert_eq!(excluded(id), None, "{id}");
        }
    }

    #[test]
    fn lower_back_injury_excludes_hinges_and_loaded_compounds() {
        let c = Catalogue::get();
        let excluded = |id: &str| injury_exclusion(c.by_id(id).unwrap(), Muscle::LowerBack);
        for id in [
            "barbell-deadlift",
            "romanian-deadlift",
            "barbell-squat",
            "good-morning",
            "bent-over-barbell-row",
        ] {
            assert!(excluded(id).is_some(), "{id}");
        }
        for id in ["leg-press", "seated-cable-rows", "lying-leg-curls"] {
            assert_eq!(excluded(id), None, "{id}");
        }
    }
}
