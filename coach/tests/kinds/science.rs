//! Reference tables of `science.md` against the `science` module: every cell of the RTS RPE chart
//! (§A3), the NSCA %1RM rows (§A2), and the §A1 formula values.

use sparta_coach::science::{
    self, NSCA_PCT_1RM, OneRmFormula, RTS_PCT_BY_REPS_TO_FAILURE, brzycki, e1rm_from_set, epley,
    load_for, nsca_pct_1rm, nsca_reps_at_pct, rts_pct, rts_pct_at_rpe,
};

/// science.md §A3, verbatim: rows RPE 10, 9.5, …, 6.5; columns reps 1..=12.
const CHART: [(f64, [f64; 12]); 8] = [
    (
        10.0,
        [
            100.0, 95.5, 92.2, 89.2, 86.3, 83.7, 81.1, 78.6, 76.2, 73.9, 70.7, 68.0,
        ],
    ),
    (
        9.5,
        [
            97.8, 93.9, 90.7, 87.8, 85.0, 82.4, 79.9, 77.4, 75.1, 72.3, 69.4, 66.7,
        ],
    ),
    (
        9.0,
        [
            95.5, 92.2, 89.2, 86.3, 83.7, 81.1, 78.6, 76.2, 73.9, 70.7, 68.0, 65.3,
        ],
    ),
    (
        8.5,
        [
            93.9, 90.7, 87.8, 85.0, 82.4, 79.9, 77.4, 75.1, 72.3, 69.4, 66.7, 64.0,
        ],
    ),
    (
        8.0,
        [
            92.2, 89.2, 86.3, 83.7, 81.1, 78.6, 76.2, 73.9, 70.7, 68.0, 65.3, 62.6,
        ],
    ),
    (
        7.5,
        [
            90.7, 87.8, 85.0, 82.4, 79.9, 77.4, 75.1, 72.3, 69.4, 66.7, 64.0, 61.3,
        ],
    ),
    (
        7.0,
        [
            89.2, 86.3, 83.7, 81.1, 78.6, 76.2, 73.9, 70.7, 68.0, 65.3, 62.6, 59.9,
        ],
    ),
    (
        6.5,
        [
            87.8, 85.0, 82.4, 79.9, 77.4, 75.1, 72.3, 69.4, 66.7, 64.0, 61.3, 58.6,
        ],
    ),
];

#[test]
fn every_one_of_the_96_rts_chart_cells_matches_science_md() {
    let mut cells = 0;
    for (rpe, row) in CHART {
        for (i, &want) in row.iter().enumerate() {
            let reps = u8::try_from(i + 1).unwrap();
            assert_eq!(
                rts_pct_at_rpe(reps, rpe),
                Some(want),
                "RPE {rpe}, {reps} reps"
            );
            assert_eq!(
                rts_pct(reps, 10.0 - rpe),
                Some(want),
                "RIR {}, {reps} reps",
                10.0 - rpe
            );
            cells += 1;
        }
    }
    assert_eq!(cells, 96);
}

#[test]
fn the_chart_array_follows_the_diagonal_and_midpoint_rules() {
    // Whole steps: the base row 1..15 of §A3.
    let base = [
        100.0, 95.5, 92.2, 89.2, 86.3, 83.7, 81.1, 78.6, 76.2, 73.9, 70.7, 68.0, 65.3, 62.6, 59.9,
    ];
    for (i, want) in base.iter().enumerate() {
        assert_eq!(RTS_PCT_BY_REPS_TO_FAILURE[2 * i], *want);
    }
    // Half steps: the midpoint of the neighbours, to the chart's 0.1 (the last uses ≈57.2 at 16).
    for i in (1..RTS_PCT_BY_REPS_TO_FAILURE.len()).step_by(2) {
        let next = RTS_PCT_BY_REPS_TO_FAILURE
            .get(i + 1)
            .copied()
            .unwrap_or(57.2);
        let mid = (RTS_PCT_BY_REPS_TO_FAILURE[i - 1] + next) / 2.0;
        assert!(
            (RTS_PCT_BY_REPS_TO_FAILURE[i] - mid).abs() <= 0.05 + 1e-9,
            "index {i}"
        );
    }
    // The chart is strictly decreasing.
    assert!(RTS_PCT_BY_REPS_TO_FAILURE.windows(2).all(|w| w[0] > w[1]));
}

#[test]
fn e1rm_and_load_lookups_invert_each_other() {
    // 5 @ RPE 8 is 81.1 %, not the rounded 82 % of some calculators (§A3).
    let e = e1rm_from_set(100.0, 5, 2.0).unwrap();
    assert!((e - 100.0 / 0.811).abs() < 1e-9);
    assert!((load_for(e, 5, 2.0).unwrap() - 100.0).abs() < 1e-9);
    // Singles at RIR 0 are the load (§A1).
    assert_eq!(e1rm_from_set(140.0, 1, 0.0), Some(140.0));
    // RPE 8.5 (RIR 1.5) uses the half step.
    let e = e1rm_from_set(92.5, 5, 1.5).unwrap();
    assert!((e - 92.5 / 0.824).abs() < 1e-9);
    // Above 12 reps to failure: ignored (issue #4; Reynolds 2006).
    assert_eq!(e1rm_from_set(60.0, 12, 1.0), None);
    assert_eq!(e1rm_from_set(60.0, 15, 0.0), None);
    assert!(e1rm_from_set(60.0, 12, 0.0).is_some());
    assert_eq!(e1rm_from_set(60.0, 0, 0.0), None);
    assert_eq!(e1rm_from_set(0.0, 5, 0.0), None);
}

#[test]
fn nsca_rows_match_science_md() {
    let want = [
        100.0, 95.0, 93.0, 90.0, 87.0, 85.0, 83.0, 80.0, 77.0, 75.0, 70.0, 67.0,
    ];
    for (i, pct) in want.iter().enumerate() {
        let reps = u8::try_from(i + 1).unwrap();
        assert_eq!(nsca_pct_1rm(reps), Some(*pct), "{reps} reps");
    }
    assert_eq!(nsca_pct_1rm(15), Some(65.0));
    // 13 and 14 are interpolated (66.3 and 65.7 in §A2, "[C]").
    assert!((nsca_pct_1rm(13).unwrap() - 66.3).abs() < 0.05);
    assert!((nsca_pct_1rm(14).unwrap() - 65.7).abs() < 0.05);
    assert_eq!(nsca_pct_1rm(0), None);
    assert_eq!(nsca_pct_1rm(16), None);
    assert_eq!(NSCA_PCT_1RM.len(), 13);
    assert_eq!(nsca_reps_at_pct(87.0), Some(5));
    assert_eq!(nsca_reps_at_pct(76.0), Some(9));
    assert_eq!(nsca_reps_at_pct(100.0), Some(1));
    assert_eq!(nsca_reps_at_pct(60.0), None);
}

/// §A1's implied %1RM table (100·w / 1RM), rows reps 1,2,3,4,5,6,8,10,12,15,20; columns Epley,
/// Brzycki, Lombardi, Mayhew, O'Conner, Wathan, Lander.
const IMPLIED_PCT: [(u8, [f64; 7]); 11] = [
    (1, [96.8, 100.0, 100.0, 91.9, 97.6, 98.7, 98.6]),
    (2, [93.8, 97.2, 93.3, 89.7, 95.2, 95.1, 96.0]),
    (3, [90.9, 94.4, 89.6, 87.7, 93.0, 91.8, 93.3]),
    (4, [88.2, 91.7, 87.1, 85.8, 90.9, 88.7, 90.6]),
    (5, [85.7, 88.9, 85.1, 84.0, 88.9, 85.8, 87.9]),
    (6, [83.3, 86.1, 83.6, 82.3, 87.0, 83.1, 85.3]),
    (8, [78.9, 80.6, 81.2, 79.2, 83.3, 78.3, 79.9]),
    (10, [75.0, 75.0, 79.4, 76.4, 80.0, 74.2, 74.6]),
    (12, [71.4, 69.4, 78.0, 73.9, 76.9, 70.7, 69.2]),
    (15, [66.7, 61.1, 76.3, 70.6, 72.7, 66.3, 61.2]),
    (20, [60.0, 47.2, 74.1, 66.1, 66.7, 60.8, 47.9]),
];

#[test]
fn all_seven_formulas_reproduce_the_a1_implied_percent_table() {
    for (reps, row) in IMPLIED_PCT {
        for (formula, want) in OneRmFormula::ALL.iter().zip(row) {
            let one_rm = formula.raw(100.0, reps).unwrap();
            let pct = 100.0 * 100.0 / one_rm;
            assert!(
                (pct - want).abs() <= 0.05 + 1e-9,
                "{formula:?} at {reps} reps: {pct} vs {want}"
            );
        }
    }
}

#[test]
fn epley_and_brzycki_known_values() {
    // Epley: 100 kg × 5 → 116.67; Brzycki: 100 kg × 5 → 112.5; equal at 10 reps (§A1).
    assert!((epley(100.0, 5).unwrap() - 116.666_666_7).abs() < 1e-6);
    assert!((brzycki(100.0, 5).unwrap() - 112.5).abs() < 1e-9);
    assert!((epley(100.0, 10).unwrap() - brzycki(100.0, 10).unwrap()).abs() < 1e-9);
    assert!((epley(100.0, 10).unwrap() - 133.333_333_3).abs() < 1e-6);
    // Below 10 reps Epley gives the higher estimate (§A1).
    for reps in 2..10 {
        assert!(epley(100.0, reps).unwrap() > brzycki(100.0, reps).unwrap());
    }
    // Singles are the load for the engine (§A1), not Epley's 1.033·w.
    assert_eq!(epley(120.0, 1), Some(120.0));
    assert_eq!(brzycki(120.0, 1), Some(120.0));
    assert!((OneRmFormula::Epley.raw(120.0, 1).unwrap() - 124.0).abs() < 1e-9);
    // Capped rep input: Brzycki is singular at 37 (§A1).
    assert_eq!(brzycki(100.0, 37), None);
    assert_eq!(brzycki(100.0, science::FORMULA_MAX_REPS + 1), None);
}

#[test]
fn progression_guardrail_figures() {
    assert_eq!(science::HARD_CAP_PCT, 7.5);
    assert_eq!(science::RESET_PCT, 10.0);
    assert_eq!(science::FAILED_SESSIONS_FOR_RESET, 3);
    assert!((science::hard_cap_kg(100.0) - 107.5).abs() < 1e-9);
    // Rounded to the plate increment, never up past the cap.
    assert_eq!(science::round_to_increment(107.4, 2.5, Some(107.5)), 107.5);
    assert_eq!(science::round_to_increment(99.4, 2.5, Some(99.2)), 97.5);
    assert_eq!(science::reset_load_kg(100.0, 2.5), 90.0);
    assert_eq!(science::reset_load_kg(60.0, 5.0), 55.0);
}
