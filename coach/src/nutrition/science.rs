//! Protein figures (`science.md` §A6) and the target they give for an input.
//!
//! Tags as in science.md: \[V\] verified in the source, \[C\] our own choice derived from the sources.

use super::{Basis, NutritionInput, Phase};
use crate::athlete::Goal;

/// A g/kg band: where the target sits and the evidence range around it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// Lower end of the range, g/kg/day.
    pub low: f64,
    /// The target, g/kg/day.
    pub target: f64,
    /// Upper end of the range, g/kg/day.
    pub high: f64,
}

/// Default target: Morton et al. 2018 found no further fat-free-mass gain above 1.62 g/kg/day
/// (95% CI 1.03–2.20); Schoenfeld & Aragon 2018: ≥1.6 g/kg/day. §A6 \[V\].
pub const DEFAULT_G_PER_KG: f64 = 1.6;

/// Upper useful figure outside a deficit: Morton's CI upper bound and Schoenfeld & Aragon's upper
/// target, 2.2 g/kg/day. §A6 \[V\].
pub const UPPER_USEFUL_G_PER_KG: f64 = 2.2;

/// ISSN position stand (Jäger et al. 2017): 1.4–2.0 g/kg/day is enough for most exercising people. §A6 \[V\].
pub const ISSN_LOW_G_PER_KG: f64 = 1.4;
/// See [`ISSN_LOW_G_PER_KG`].
pub const ISSN_HIGH_G_PER_KG: f64 = 2.0;

/// Lifters training for muscle or strength (and those cutting fat, who want to keep it):
/// 1.6 (Morton) up to 2.2 g/kg/day. §A6 \[V\].
pub const MUSCLE_BAND: Band = Band {
    low: DEFAULT_G_PER_KG,
    target: DEFAULT_G_PER_KG,
    high: UPPER_USEFUL_G_PER_KG,
};

/// General fitness and endurance: the ISSN range 1.4–2.0, target still Morton's 1.6. §A6 \[V\]/\[C\].
pub const GENERAL_BAND: Band = Band {
    low: ISSN_LOW_G_PER_KG,
    target: DEFAULT_G_PER_KG,
    high: ISSN_HIGH_G_PER_KG,
};

/// Cut with body fat known: Helms et al. 2014, 2.3–3.1 g/kg of FAT-FREE MASS for lean,
/// resistance-trained athletes in an energy deficit (the ISSN 2017 stand gives the same 2.3–3.1). §A6 \[V\].
/// Target = the midpoint \[C\]: Helms scales upwards with deficit severity and leanness, which the
/// input does not state.
pub const CUT_FFM_BAND: Band = Band {
    low: 2.3,
    target: 2.7,
    high: 3.1,
};

/// Assumed body fat when a cut's body fat is unknown, to carry Helms's FFM figures over to body
/// mass (science.md: "fall back to body mass with a lower range"). \[C\]
pub const ASSUMED_BODY_FAT_FRACTION: f64 = 0.20;

/// Cut without body fat: Helms's 2.3–3.1 g/kg FFM × (1 − 0.20) = 1.84–2.48 → 1.8–2.5 g/kg of body
/// weight; target 2.7 × 0.8 = 2.16 → 2.2, which is also Morton's upper bound. \[C\] from §A6.
pub const CUT_BODYWEIGHT_BAND: Band = Band {
    low: 1.8,
    target: 2.2,
    high: 2.5,
};

/// Guardrail floor for any provider on a body-weight basis: below the ISSN 1.4 with some margin,
/// 1.5× the RDA. \[C\]
pub const EVIDENCE_FLOOR_G_PER_KG: f64 = 1.2;
/// Guardrail floor in a cut on a body-weight basis: Morton's 1.6. \[C\]
pub const CUT_EVIDENCE_FLOOR_G_PER_KG: f64 = DEFAULT_G_PER_KG;
/// Guardrail ceiling for any provider and basis: the highest figure in §A6 (Helms / ISSN 3.1). \[V\]
pub const EVIDENCE_CEILING_G_PER_KG: f64 = 3.1;

/// Per meal: 0.4 g/kg of body weight, over at least 4 meals, to reach 1.6 g/kg/day
/// (Schoenfeld & Aragon 2018). §A6 \[V\].
pub const PER_MEAL_G_PER_KG: f64 = 0.4;
/// Per meal, upper: 2.2 g/kg/day over 4 meals → up to 0.55 g/kg per meal (Schoenfeld & Aragon 2018). §A6 \[V\].
pub const PER_MEAL_MAX_G_PER_KG: f64 = 0.55;
/// Per dose, lower: 0.25 g/kg of high-quality protein (ISSN 2017). §A6 \[V\].
pub const PER_DOSE_MIN_G_PER_KG: f64 = 0.25;
/// Per dose, lower, absolute: 20 g (the ISSN's alternative 20–40 g per dose). §A6 \[V\].
pub const PER_DOSE_MIN_G: f64 = 20.0;
/// Meals needed at 0.4 g/kg to reach 1.6 g/kg/day (Schoenfeld & Aragon 2018). §A6 \[V\].
pub const MIN_MEALS_FOR_DEFAULT: u8 = 4;

/// RDA for the general population: 0.8 g/kg/day (Phillips 2014) — a floor for context, not a
/// target for lifters. §A6 \[V\].
pub const RDA_G_PER_KG: f64 = 0.8;

/// Targets are given from this age on: the §A6 evidence comes from adults. \[C\]
pub const ADULT_AGE: u8 = 18;

// The figures fit together (checked at compile time).
const _: () = {
    assert!(CUT_BODYWEIGHT_BAND.low >= CUT_EVIDENCE_FLOOR_G_PER_KG);
    assert!(CUT_FFM_BAND.high <= EVIDENCE_CEILING_G_PER_KG);
    assert!(RDA_G_PER_KG < EVIDENCE_FLOOR_G_PER_KG);
};

/// The target for one input: basis, its mass and the g/kg band.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    /// What the g/kg figures are per kilogram of.
    pub basis: Basis,
    /// Mass of the basis, kg (unrounded).
    pub basis_kg: f64,
    /// The g/kg band on that basis.
    pub band: Band,
}

impl Target {
    /// The target for `input`: a cut with known body fat is computed on fat-free mass (Helms);
    /// everything else on body weight.
    pub fn for_input(input: &NutritionInput) -> Self {
        let weight = input.athlete.bodyweight_kg.get();
        match (input.phase, input.athlete.fat_free_mass_kg()) {
            (Phase::Cut, Some(ffm)) => Self {
                basis: Basis::FatFreeMass,
                basis_kg: ffm,
                band: CUT_FFM_BAND,
            },
            (Phase::Cut, None) => Self {
                basis: Basis::Bodyweight,
                basis_kg: weight,
                band: CUT_BODYWEIGHT_BAND,
            },
            (Phase::Maintain | Phase::Bulk, _) => {
                // A surplus does not raise protein needs, so bulk uses the maintenance band (ISSN 2017).
                let band = match input.athlete.goal {
                    Goal::Strength | Goal::Hypertrophy | Goal::FatLoss => MUSCLE_BAND,
                    Goal::GeneralFitness | Goal::Endurance => GENERAL_BAND,
                };
                Self {
                    basis: Basis::Bodyweight,
                    basis_kg: weight,
                    band,
                }
            }
        }
    }

    /// What any provider's daily figure must stay within, in g/kg of this basis.
    pub fn evidence_envelope(&self, phase: Phase) -> (f64, f64) {
        let floor = match (self.basis, phase) {
            (Basis::FatFreeMass, _) => CUT_FFM_BAND.low,
            (Basis::Bodyweight, Phase::Cut) => CUT_EVIDENCE_FLOOR_G_PER_KG,
            (Basis::Bodyweight, Phase::Maintain | Phase::Bulk) => EVIDENCE_FLOOR_G_PER_KG,
        };
        (floor, EVIDENCE_CEILING_G_PER_KG)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_ordered_and_inside_the_guardrail_envelope() {
        for band in [MUSCLE_BAND, GENERAL_BAND, CUT_FFM_BAND, CUT_BODYWEIGHT_BAND] {
            assert!(
                band.low <= band.target && band.target <= band.high,
                "{band:?}"
            );
            assert!(band.low >= EVIDENCE_FLOOR_G_PER_KG && band.high <= EVIDENCE_CEILING_G_PER_KG);
        }
        // The body-weight cut band is the FFM band carried over with the assumed body fat (±0.05).
        let lean = 1.0 - ASSUMED_BODY_FAT_FRACTION;
        assert!((CUT_FFM_BAND.low * lean - CUT_BODYWEIGHT_BAND.low).abs() <= 0.05);
        assert!((CUT_FFM_BAND.high * lean - CUT_BODYWEIGHT_BAND.high).abs() <= 0.05);
        assert!((CUT_FFM_BAND.target * lean - CUT_BODYWEIGHT_BAND.target).abs() <= 0.05);
        // 0.4 g/kg × 4 meals = 1.6 g/kg; 0.55 × 4 = 2.2.
        assert!(
            (PER_MEAL_G_PER_KG * f64::from(MIN_MEALS_FOR_DEFAULT) - DEFAULT_G_PER_KG).abs() < 1e-9
        );
        assert!(
            (PER_MEAL_MAX_G_PER_KG * f64::from(MIN_MEALS_FOR_DEFAULT) - UPPER_USEFUL_G_PER_KG)
                .abs()
                < 1e-9
        );
    }
}
