//! Guardrails for any provider's `next_set` answer. The figures are the model's (a provider
//! cannot fit the bias posterior in its head), so the answer must carry the engine's decision:
//! the slider's reps and RIR (an AMRAP only where the engine asks for one), a load on the plate
//! increment, never above the engine's by more than one increment and never under 90 % of it,
//! never over the +7.5 % cap, the bias, confidence and flags as the engine states them, and §A9
//! when it applies.

use crate::Violation;
use crate::overload_analysis::engine::plate_increment_kg;
use crate::science::{LOAD_EPSILON_KG, is_on_increment};

use super::engine::{decide, rir_as_felt};
use super::{NextSetInput, NextSetOutput};

/// Tolerance on the stated bias and its sd, reps.
const BIAS_TOLERANCE: f64 = 0.1;
/// Tolerance on the stated confidence.
const CONFIDENCE_TOLERANCE: f64 = 0.1;
/// Lowest share of the engine's load a provider may prescribe.
const MIN_LOAD_SHARE: f64 = 0.9;

/// Checks an answer; empty = acceptable.
pub fn check(input: &NextSetInput, output: &NextSetOutput) -> Vec<Violation> {
    let d = decide(input);
    let mut v = Vec::new();
    if output.exercise_id != input.exercise_id.as_str() {
        v.push(Violation::new(
            "/exercise_id",
            format!("must be `{}`", input.exercise_id.as_str()),
        ));
    }
    if output.set_number != input.set_number() {
        v.push(Violation::new(
            "/set_number",
            format!("must be {}", input.set_number()),
        ));
    }
    if output.amrap != d.amrap {
        v.push(Violation::new(
            "/amrap",
            if d.amrap {
                "this set must be an AMRAP (a cold-start test, a fresh baseline or a calibration set)"
            } else {
                "no AMRAP here: the athlete's data place this set"
            },
        ));
    }
    if output.rep_range != d.rep_range || output.rir != d.rir {
        v.push(Violation::new(
            "/rep_range",
            format!(
                "must be {}–{} reps at RIR {} (the goal slider)",
                d.rep_range.min, d.rep_range.max, d.rir
            ),
        ));
    }
    let increment = plate_increment_kg(input.plate_increment_kg, input.athlete.units());
    match (d.load_kg, output.load_kg) {
        (None, Some(_)) => v.push(Violation::new(
            "/load_kg",
            "no logged load of this lift: no kg (a load the athlete could lift about 8 times)",
        )),
        (Some(kg), None) => v.push(Violation::new(
            "/load_kg",
            format!("must be given ({kg} kg)"),
        )),
        (Some(engine), Some(kg)) => {
            let high = engine + increment;
            let low = engine * MIN_LOAD_SHARE;
            let capped = d.cap_kg.is_some_and(|cap| kg > cap + LOAD_EPSILON_KG);
            if !is_on_increment(kg, increment)
                || kg > high + LOAD_EPSILON_KG
                || kg < low - LOAD_EPSILON_KG
                || capped
            {
                v.push(Violation::new(
                    "/load_kg",
                    format!(
                        "must be on the {increment} kg increment, between {low:.1} and {} kg{}",
                        high.min(d.cap_kg.unwrap_or(f64::INFINITY)),
                        d.cap_kg
                            .map_or(String::new(), |c| format!(" (+7.5 % cap: {c:.1} kg)"))
                    ),
                ));
            }
        }
        (None, None) => {}
    }
    let (bias, sd) = d.estimate.as_ref().map_or(
        (super::model::PRIOR_BIAS, super::model::PRIOR_BIAS_SD),
        |e| (e.bias, e.bias_sd),
    );
    if (output.rir_bias.estimate - bias).abs() > BIAS_TOLERANCE
        || (output.rir_bias.sd - sd).abs() > BIAS_TOLERANCE
    {
        v.push(Violation::new(
            "/rir_bias",
            format!("the athlete's history gives a bias of {bias:+.2} ± {sd:.2} reps"),
        ));
    }
    let felt = if d.amrap {
        0.0
    } else {
        rir_as_felt(d.rir, bias)
    };
    if (output.rir_as_felt - felt).abs() > 0.5 + 1e-9 {
        v.push(Violation::new(
            "/rir_as_felt",
            format!("must be {felt} (RIR {} plus the bias)", d.rir),
        ));
    }
    if (output.confidence - d.confidence).abs() > CONFIDENCE_TOLERANCE {
        v.push(Violation::new(
            "/confidence",
            format!("the data give {:.2}", d.confidence),
        ));
    }
    let mut flags = output.flags.clone();
    flags.sort();
    let mut expected = d.flags.clone();
    expected.sort();
    if flags != expected {
        let names: Vec<&str> = expected.iter().map(|f| f.as_str()).collect();
        v.push(Violation::new(
            "/flags",
            format!("must be exactly {names:?}"),
        ));
    }
    v.extend(crate::layoff::check_stated(
        &output.return_from_layoff,
        &d.layoff,
        "under two weeks since the last session, or no `date`",
    ));
    v
}
