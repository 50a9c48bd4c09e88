//! Closed vocabularies shared by the job kinds (the contract in `examples/README.md`).
//!
//! Each vocabulary is a fieldless enum whose wire spelling is stated once (in the `vocabulary!` macro) and
//! used by serde, the JSON Schema, `as_str` and `Display`.

/// Defines a closed vocabulary: enum + serde/schemars derives + `ALL` + `as_str` + `Display`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, schemars::JsonSchema,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration (and schema) order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary! {
    /// Equipment, as the exercise catalogue (`data/exercises.json`) spells it.
    pub enum Equipment {
        /// Olympic or standard barbell.
        Barbell = "barbell",
        /// Dumbbells.
        Dumbbell = "dumbbell",
        /// Cable stack / pulley.
        Cable = "cable",
        /// Selectorised or plate-loaded machines.
        Machine = "machine",
        /// Bodyweight only.
        BodyOnly = "body only",
        /// Resistance bands.
        Bands = "bands",
        /// Kettlebells.
        Kettlebells = "kettlebells",
        /// Medicine ball.
        MedicineBall = "medicine ball",
        /// Exercise (Swiss) ball.
        ExerciseBall = "exercise ball",
        /// E-Z curl bar.
        EzCurlBar = "e-z curl bar",
        /// Foam roller.
        FoamRoll = "foam roll",
        /// Anything else.
        Other = "other",
    }
}

vocabulary! {
    /// The exercise catalogue's 17 muscles (used by `injuries[].area`, `priority_muscles`, ...).
    pub enum Muscle {
        /// Abdominals.
        Abdominals = "abdominals",
        /// Hip abductors.
        Abductors = "abductors",
        /// Hip adductors.
        Adductors = "adductors",
        /// Biceps.
        Biceps = "biceps",
        /// Calves.
        Calves = "calves",
        /// Chest.
        Chest = "chest",
        /// Forearms.
        Forearms = "forearms",
        /// Glutes.
        Glutes = "glutes",
        /// Hamstrings.
        Hamstrings = "hamstrings",
        /// Latissimus dorsi.
        Lats = "lats",
        /// Lower back (erectors).
        LowerBack = "lower back",
        /// Middle back (rhomboids, mid traps).
        MiddleBack = "middle back",
        /// Neck.
        Neck = "neck",
        /// Quadriceps.
        Quadriceps = "quadriceps",
        /// Shoulders (all deltoid heads; the catalogue does not split them).
        Shoulders = "shoulders",
        /// Upper trapezius.
        Traps = "traps",
        /// Triceps.
        Triceps = "triceps",
    }
}

vocabulary! {
    /// Exercise category, as the exercise catalogue spells it.
    pub enum Category {
        /// Powerlifting movements.
        Powerlifting = "powerlifting",
        /// General resistance training.
        Strength = "strength",
        /// Stretches.
        Stretching = "stretching",
        /// Cardio.
        Cardio = "cardio",
        /// Olympic lifts and their variations.
        OlympicWeightlifting = "olympic weightlifting",
        /// Strongman events.
        Strongman = "strongman",
        /// Jumps and throws.
        Plyometrics = "plyometrics",
    }
}

vocabulary! {
    /// Difficulty level of a catalogue exercise (not the athlete's experience).
    pub enum Level {
        /// Suitable for beginners.
        Beginner = "beginner",
        /// Needs some training experience.
        Intermediate = "intermediate",
        /// Technically demanding.
        Expert = "expert",
    }
}

vocabulary! {
    /// Force type of a catalogue exercise.
    pub enum Force {
        /// Holds.
        Static = "static",
        /// Pulling.
        Pull = "pull",
        /// Pushing.
        Push = "push",
    }
}

vocabulary! {
    /// Mechanic of a catalogue exercise.
    pub enum Mechanic {
        /// One joint.
        Isolation = "isolation",
        /// Several joints.
        Compound = "compound",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_match_the_catalogue() {
        assert_eq!(Muscle::ALL.len(), 17);
        assert_eq!(Equipment::ALL.len(), 12);
        assert_eq!(Category::ALL.len(), 7);
        assert_eq!(Level::ALL.len(), 3);
        assert_eq!(Equipment::BodyOnly.as_str(), "body only");
        assert_eq!(Muscle::MiddleBack.to_string(), "middle back");
        for m in Muscle::ALL {
            assert_eq!(
                serde_json::to_value(m).ok(),
                Some(serde_json::json!(m.as_str()))
            );
        }
    }
}
