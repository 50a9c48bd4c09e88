//! The exercise catalogue: `data/exercises.json` (derived from yuhonas/free-exercise-db, The
//! Unlicense; see `data/README.md`), embedded at compile time and parsed once into typed records.
//!
//! Inputs name exercises by catalogue id through [`ExerciseId`], which only deserializes from an id
//! the catalogue holds ("parse, don't validate"); an unknown id is refused with the closest ids.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

use crate::vocab::{Category, Equipment, Force, Level, Mechanic, Muscle};

/// The embedded catalogue file (verbatim copy of `shared/data/exercises.json`).
const CATALOGUE_JSON: &str = include_str!("../data/exercises.json");

/// Longest id an input may send (the longest catalogue id is shorter); stated in the input schema.
pub const MAX_EXERCISE_ID_CHARS: usize = 100;

/// How many suggestions an "unknown exercise id" error carries in `details.closest`.
pub const CLOSEST_SUGGESTIONS: usize = 5;

/// Start of the serde error message for an id the catalogue does not hold; the input parser
/// recognises it and adds `details.closest`.
pub(crate) const UNKNOWN_ID_MESSAGE: &str = "unknown exercise id `";

/// One catalogue exercise (facts only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// Slug id, e.g. `barbell-squat`.
    pub id: String,
    /// Display name, e.g. `Barbell Squat`.
    pub name: String,
    /// Category.
    pub category: Category,
    /// Equipment needed (`None` when the source gives none).
    pub equipment: Option<Equipment>,
    /// Difficulty level.
    pub level: Level,
    /// Force type, when given.
    pub force: Option<Force>,
    /// Mechanic, when given.
    pub mechanic: Option<Mechanic>,
    /// Main muscles worked (exactly one in this snapshot).
    pub primary_muscles: Vec<Muscle>,
    /// Other muscles worked (possibly none).
    pub secondary_muscles: Vec<Muscle>,
}

impl Exercise {
    /// The equipment the exercise needs: `body only` for records that name none.
    pub fn equipment_needed(&self) -> Equipment {
        self.equipment.unwrap_or(Equipment::BodyOnly)
    }

    /// True when `muscle` is among its primary or secondary muscles.
    pub fn works(&self, muscle: Muscle) -> bool {
        self.primary_muscles.contains(&muscle) || self.secondary_muscles.contains(&muscle)
    }
}

/// The parsed catalogue, records sorted by id.
#[derive(Debug)]
pub struct Catalogue {
    exercises: Vec<Exercise>,
    /// Position of every id in `exercises`: inputs and outputs name exercises by id thousands of
    /// times per job (a year's training log, a 16-week plan), and one hash beats a binary search
    /// over 873 ids that share long prefixes (`barbell-…`, `dumbbell-…`).
    positions: HashMap<String, usize>,
    load_error: Option<String>,
}

impl Catalogue {
    /// The catalogue, parsed on first use. Never fails: if the embedded file did not parse (a build
    /// defect the tests catch), the catalogue is empty and [`Catalogue::load_error`] says why.
    pub fn get() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| Self::parse(CATALOGUE_JSON))
    }

    fn parse(text: &str) -> Catalogue {
        match serde_json::from_str::<Vec<Exercise>>(text) {
            Ok(mut exercises) => {
                exercises.sort_by(|a, b| a.id.cmp(&b.id));
                // Ids are unique (unit-tested), so every record gets its own entry.
                let mut positions = HashMap::with_capacity(exercises.len());
                for (i, e) in exercises.iter().enumerate() {
                    positions.entry(e.id.clone()).or_insert(i);
                }
                Catalogue {
                    exercises,
                    positions,
                    load_error: None,
                }
            }
            Err(e) => Catalogue {
                exercises: Vec::new(),
                positions: HashMap::new(),
                load_error: Some(e.to_string()),
            },
        }
    }

    /// The embedded catalogue file as it is (for a content hash: an HTTP `ETag`).
    pub fn source() -> &'static str {
        CATALOGUE_JSON
    }

    /// Why the embedded file did not parse (`None` when it did).
    pub fn load_error(&self) -> Option<&str> {
        self.load_error.as_deref()
    }

    /// Every exercise, sorted by id.
    pub fn all(&self) -> &[Exercise] {
        &self.exercises
    }

    /// The exercise with this id.
    pub fn by_id(&self, id: &str) -> Option<&Exercise> {
        self.positions.get(id).and_then(|&i| self.exercises.get(i))
    }

    /// Exercises whose primary or secondary muscles include `muscle`, primary first (each group by id).
    pub fn by_muscle(&self, muscle: Muscle) -> Vec<&Exercise> {
        let primary = self
            .exercises
            .iter()
            .filter(|e| e.primary_muscles.contains(&muscle));
        let secondary = self.exercises.iter().filter(|e| {
            !e.primary_muscles.contains(&muscle) && e.secondary_muscles.contains(&muscle)
        });
        primary.chain(secondary).collect()
    }

    /// Exercises that need exactly this equipment (`None` = records without equipment).
    pub fn by_equipment(&self, equipment: Option<Equipment>) -> Vec<&Exercise> {
        self.exercises
            .iter()
            .filter(|e| e.equipment == equipment)
            .collect()
    }

    /// Exercises of this level.
    pub fn by_level(&self, level: Level) -> Vec<&Exercise> {
        self.exercises.iter().filter(|e| e.level == level).collect()
    }

    /// Exercises of this category.
    pub fn by_category(&self, category: Category) -> Vec<&Exercise> {
        self.exercises
            .iter()
            .filter(|e| e.category == category)
            .collect()
    }

    /// Up to `n` catalogue ids closest to `query`, best first: ids containing the normalised query
    /// come first, then by edit distance (Levenshtein, on the normalised text), then by shared
    /// `-`-separated tokens, then by id. For "unknown exercise id" errors.
    pub fn closest_ids(&self, query: &str, n: usize) -> Vec<&str> {
        let query = slug(query);
        let tokens: HashSet<&str> = query.split('-').filter(|t| !t.is_empty()).collect();
        let mut scored: Vec<(bool, usize, usize, &str)> = self
            .exercises
            .iter()
            .map(|e| {
                let id = e.id.as_str();
                let shared = id.split('-').filter(|t| tokens.contains(t)).count();
                let contains = !query.is_empty() && id.contains(query.as_str());
                (!contains, levenshtein(&query, id), usize::MAX - shared, id)
            })
            .collect();
        scored.sort_unstable();
        scored.into_iter().take(n).map(|(.., id)| id).collect()
    }
}

/// Lower-cases and turns every run of non-`[a-z0-9]` characters into one `-` (as the ids were made).
fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') && c != '\'' {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Levenshtein edit distance between two strings (by characters).
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// An exercise id that the catalogue holds. Deserializing an unknown id fails with a message that
/// names it (the input parser adds the closest ids as `details.closest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ExerciseId(&'static str);

impl ExerciseId {
    /// Checked constructor: `None` when the catalogue does not hold `id`.
    pub fn new(id: &str) -> Option<Self> {
        Catalogue::get()
            .by_id(id)
            .map(|e| ExerciseId(e.id.as_str()))
    }

    /// The id.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The catalogue record.
    pub fn exercise(self) -> Option<&'static Exercise> {
        Catalogue::get().by_id(self.0)
    }

    /// The display name (the id itself if the record were somehow missing).
    pub fn name(self) -> &'static str {
        self.exercise().map_or(self.0, |e| e.name.as_str())
    }
}

impl<'de> Deserialize<'de> for ExerciseId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::input::deserialize_str_with(deserializer, |id| {
            ExerciseId::new(id).ok_or_else(|| {
                let closest = Catalogue::get().closest_ids(id, CLOSEST_SUGGESTIONS);
                format!(
                    "{UNKNOWN_ID_MESSAGE}{id}` (not in the exercise catalogue); closest: {}",
                    closest.join(", ")
                )
            })
        })
    }
}

impl JsonSchema for ExerciseId {
    // Referenced, not inlined: the schema lists every id of the catalogue once.
    fn inline_schema() -> bool {
        false
    }

    fn schema_name() -> Cow<'static, str> {
        "ExerciseId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Exactly the catalogue's ids: a generated client or a schema-driven test then only
        // sends ids the API takes (`GET /v1/exercises` lists them with their names).
        let ids: Vec<&str> = Catalogue::get()
            .all()
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        json_schema!({
            "type": "string",
            "maxLength": MAX_EXERCISE_ID_CHARS,
            "enum": ids,
            "description": "An exercise id from the SPARTA exercise catalogue (e.g. `barbell-squat`; `GET /v1/exercises` lists them)."
        })
    }
}

/// The closest ids for the id named in an "unknown exercise id" message (for error details).
pub(crate) fn closest_for_message(message: &str) -> Option<Vec<&'static str>> {
    let rest = message.strip_prefix(UNKNOWN_ID_MESSAGE)?;
    let (id, _) = rest.split_once('`')?;
    Some(Catalogue::get().closest_ids(id, CLOSEST_SUGGESTIONS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_loads_all_records_with_unique_sorted_ids() {
        let c = Catalogue::get();
        assert_eq!(c.load_error(), None);
        assert_eq!(c.all().len(), 873);
        let ids: HashSet<&str> = c.all().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), 873);
        assert!(c.all().windows(2).all(|w| w[0].id < w[1].id));
        assert!(
            c.all()
                .iter()
                .all(|e| e.id.chars().count() <= MAX_EXERCISE_ID_CHARS)
        );
        assert!(c.all().iter().all(|e| e.primary_muscles.len() == 1));
    }

    #[test]
    fn known_lookups() {
        let c = Catalogue::get();
        let squat = c.by_id("barbell-squat").unwrap();
        assert_eq!(squat.name, "Barbell Squat");
        assert_eq!(squat.equipment, Some(Equipment::Barbell));
        assert_eq!(squat.primary_muscles, vec![Muscle::Quadriceps]);
        let rdl = c.by_id("romanian-deadlift").unwrap();
        assert_eq!(rdl.primary_muscles, vec![Muscle::Hamstrings]);
        assert!(c.by_id("barbell-squats").is_none());
        assert!(c.by_id("").is_none());
    }

    #[test]
    fn filters_match_the_published_counts() {
        let c = Catalogue::get();
        assert_eq!(c.by_category(Category::Strength).len(), 581);
        assert_eq!(c.by_equipment(Some(Equipment::Barbell)).len(), 170);
        assert_eq!(c.by_equipment(None).len(), 77);
        assert_eq!(c.by_level(Level::Expert).len(), 57);
        let quads = c.by_muscle(Muscle::Quadriceps);
        // 148 primary + 82 secondary listings, 3 records list quadriceps as both.
        assert_eq!(quads.len(), 148 + 82 - 3);
        assert!(
            quads[..148]
                .iter()
                .all(|e| e.primary_muscles == [Muscle::Quadriceps])
        );
    }

    #[test]
    fn closest_ids_suggest_the_intended_exercise() {
        let c = Catalogue::get();
        assert_eq!(
            c.closest_ids("barbel-squat", 3).first(),
            Some(&"barbell-squat")
        );
        assert_eq!(
            c.closest_ids("Romanian Deadlift", 1),
            vec!["romanian-deadlift"]
        );
        assert_eq!(
            c.closest_ids("romanian_dedlift", 1),
            vec!["romanian-deadlift"]
        );
        assert_eq!(c.closest_ids("x", 4).len(), 4);
        assert!(
            c.closest_ids("squat", 5)
                .iter()
                .all(|id| id.contains("squat"))
        );
    }

    #[test]
    fn exercise_id_only_deserializes_catalogue_ids() {
        let id: ExerciseId = serde_json::from_value(serde_json::json!("barbell-squat")).unwrap();
        assert_eq!(id.name(), "Barbell Squat");
        let e =
            serde_json::from_value::<ExerciseId>(serde_json::json!("barbel-squat")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown exercise id `barbel-squat`"),
            "{e}"
        );
        assert_eq!(
            closest_for_message(&e.to_string()).and_then(|c| c.first().copied()),
            Some("barbell-squat")
        );
    }

    #[test]
    fn levenshtein_and_slug() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(slug("Farmer's  Walk!"), "farmers-walk");
    }
}
