//! The athlete profile shared by every job kind's input.
//!
//! A client typically keeps one profile per athlete and sends it whole with every job, so every kind
//! accepts every profile field (unknown fields are still refused, to catch typos). Kinds that cannot
//! work without the body weight use [`WeighedAthlete`], where `bodyweight_kg` is required in both the
//! parser and the published schema.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bounded::{BoundedString, BoundedVec, bounded_number};
use crate::vocab::{Equipment, Muscle, vocabulary};

vocabulary! {
    /// Resistance-training experience.
    pub enum Experience {
        /// Less than about a year of consistent training.
        Beginner = "beginner",
        /// About 1–3 years of consistent training.
        Intermediate = "intermediate",
        /// Several years; progress needs planned overload.
        Advanced = "advanced",
    }
}

vocabulary! {
    /// The athlete's main training goal.
    pub enum Goal {
        /// Maximal strength.
        Strength = "strength",
        /// Muscle size.
        Hypertrophy = "hypertrophy",
        /// Overall fitness and health.
        GeneralFitness = "general_fitness",
        /// Muscular and aerobic endurance.
        Endurance = "endurance",
        /// Losing body fat while keeping muscle.
        FatLoss = "fat_loss",
    }
}

vocabulary! {
    /// Sex. Omit the field when unknown or not disclosed.
    pub enum Sex {
        /// Female.
        Female = "female",
        /// Male.
        Male = "male",
    }
}

vocabulary! {
    /// Units for rounding and displaying loads. Inputs are always in kg (`*_kg` fields).
    pub enum Units {
        /// Kilograms.
        Kg = "kg",
        /// Pounds.
        Lb = "lb",
    }
}

bounded_number!(
    /// Body weight in kilograms.
    BodyweightKg(f64), min = 25.0, max = 350.0, unit = " kg"
);

bounded_number!(
    /// Body fat in percent of body weight.
    BodyFatPct(f64), min = 3.0, max = 60.0, unit = " %"
);

bounded_number!(
    /// Age in whole years.
    Age(u8), min = 13, max = 100, unit = " years"
);

/// The client's own athlete identifier (opaque to SPARTA).
pub type AthleteId = BoundedString<1, 128>;

/// Free-text note on an injury or limitation (never trusted by the engine).
pub type InjuryNote = BoundedString<1, 500>;

/// At most one entry per catalogue equipment value.
pub type EquipmentList = BoundedVec<Equipment, { Equipment::ALL.len() }>;

/// At most one entry per catalogue muscle.
pub type InjuryList = BoundedVec<Injury, { Muscle::ALL.len() }>;

/// An injury or limitation affecting one muscle group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Injury {
    /// The affected muscle (catalogue vocabulary).
    pub area: Muscle,
    /// What to avoid, in the client's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<InjuryNote>,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::BodyweightKg {}
    impl Sealed for Option<super::BodyweightKg> {}
}

/// What the `bodyweight_kg` field of an [`Athlete`] holds: [`BodyweightKg`] (required) or
/// `Option<BodyweightKg>` (optional). Sealed.
pub trait BodyweightSlot: sealed::Sealed {
    /// The body weight, when given.
    fn kg(&self) -> Option<BodyweightKg>;

    /// True when absent (the field is then left out of canonical JSON).
    fn is_absent(&self) -> bool {
        self.kg().is_none()
    }
}

impl BodyweightSlot for BodyweightKg {
    fn kg(&self) -> Option<BodyweightKg> {
        Some(*self)
    }
}

impl BodyweightSlot for Option<BodyweightKg> {
    fn kg(&self) -> Option<BodyweightKg> {
        *self
    }
}

/// The athlete profile. `W` says whether the body weight is required (see [`WeighedAthlete`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// Distinct names per instantiation, so one OpenAPI document can hold both:
// `Athlete_with_BodyweightKg` (required) and `Athlete_with_Nullable_BodyweightKg` (optional).
#[schemars(
    rename = "Athlete_with_{W}",
    description = "The athlete profile, shared by every job kind."
)]
pub struct Athlete<W: BodyweightSlot = Option<BodyweightKg>> {
    /// The client's own athlete identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<AthleteId>,
    /// Training experience.
    pub experience: Experience,
    /// Main training goal.
    pub goal: Goal,
    /// Sex; omit when unknown or not disclosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    /// Age in whole years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<Age>,
    /// Body weight in kg.
    #[serde(skip_serializing_if = "BodyweightSlot::is_absent")]
    pub bodyweight_kg: W,
    /// Body fat in percent, when measured or estimated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_fat_pct: Option<BodyFatPct>,
    /// Equipment available (catalogue vocabulary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equipment: Option<EquipmentList>,
    /// Injuries and limitations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injuries: Option<InjuryList>,
    /// Display units for loads (default kg).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<Units>,
}

/// An athlete whose body weight is required (e.g. for g/kg figures).
pub type WeighedAthlete = Athlete<BodyweightKg>;

impl<W: BodyweightSlot> Athlete<W> {
    /// Display units, defaulting to kg.
    pub fn units(&self) -> Units {
        self.units.unwrap_or(Units::Kg)
    }

    /// Fat-free mass in kg, when both body weight and body fat are known.
    pub fn fat_free_mass_kg(&self) -> Option<f64> {
        let weight = self.bodyweight_kg.kg()?.get();
        let fat = self.body_fat_pct?.get();
        Some(weight * (1.0 - fat / 100.0))
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    #[test]
    fn every_example_athlete_parses_as_the_shared_profile() {
        // The athlete object of every example request (examples/requests/*.json), including the
        // kinds not served yet: the profile is the same in all of them.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/requests");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let body: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let raw = body["input"]["athlete"].clone();
            let a: Athlete =
                serde_json::from_value(raw).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            // Canonical JSON round-trips (numbers may be re-spelled, e.g. 24 -> 24.0).
            let back: Athlete = serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
            assert_eq!(a, back);
            seen += 1;
        }
        assert!(seen >= 9, "read {seen} examples from {dir:?}");
    }

    #[test]
    fn weighed_athlete_requires_bodyweight_and_derives_ffm() {
        let raw = json!({ "experience": "beginner", "goal": "strength" });
        let e = serde_json::from_value::<WeighedAthlete>(raw).unwrap_err();
        assert_eq!(e.to_string(), "missing field `bodyweight_kg`");
        let a: WeighedAthlete = serde_json::from_value(
            json!({ "experience": "beginner", "goal": "strength", "bodyweight_kg": 64.5, "body_fat_pct": 24 }),
        )
        .unwrap();
        let ffm = a.fat_free_mass_kg().unwrap();
        assert!((ffm - 49.02).abs() < 1e-9, "{ffm}");
        assert_eq!(a.units(), Units::Kg);
    }
}
