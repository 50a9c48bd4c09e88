//! Return after a layoff (science.md §A9) in every kind that looks at the gap, and the
//! week-to-week volume guardrail (≤ 30 %, seed 003) of the plans.

use serde_json::{Value, json};
use sparta_coach::{JobInput, JobKind, check_output};

use crate::support::{paths, run, with};

fn answer(kind: JobKind, raw: &Value) -> (JobInput, Value) {
    let input = JobInput::parse(kind, raw).unwrap_or_else(|e| panic!("{e}\n{raw:#}"));
    let out = run(&input);
    (input, out)
}

// ---------------------------------------------------------------------------------------------
// overload_analysis

#[test]
fn the_next_session_after_a_layoff_is_cut_and_flagged() {
    let base = crate::support::example_input("overload_analysis"); // last session 2026-10-26
    let (_, soon) = answer(
        JobKind::OverloadAnalysis,
        &with(base.clone(), "/date", Some(json!("2026-11-02"))),
    );
    assert_eq!(soon["return_from_layoff"], Value::Null);
    let (input, late) = answer(
        JobKind::OverloadAnalysis,
        &with(base.clone(), "/date", Some(json!("2026-12-05"))),
    );
    assert_eq!(late["return_from_layoff"]["gap_days"], 40);
    assert_eq!(late["return_from_layoff"]["band"], "long");
    for (a, b) in late["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .zip(soon["exercises"].as_array().unwrap())
    {
        let last = a["last_working_load_kg"].as_f64().unwrap();
        let kg = a["next_session"]["weight_kg"].as_f64().unwrap();
        assert!(kg <= last * 0.8 + 1e-9, "−20 %: {a:#}");
        assert!(
            a["flags"]
                .as_array()
                .unwrap()
                .contains(&json!("return_from_layoff"))
        );
        assert!(a["next_session"]["sets"].as_u64() <= b["next_session"]["sets"].as_u64());
    }
    // The uncut load is refused.
    let mut uncut = late.clone();
    uncut["exercises"][0]["next_session"] = soon["exercises"][0]["next_session"].clone();
    assert!(paths(&check_output(&input, &uncut)).contains(&"/exercises/0/next_session/weight_kg"));
    let mut unflagged = late.clone();
    unflagged["return_from_layoff"] = Value::Null;
    assert_eq!(
        paths(&check_output(&input, &unflagged)),
        ["/return_from_layoff"]
    );
    // A date before the last session is a 422.
    let early = with(base, "/date", Some(json!("2026-10-01")));
    assert!(JobInput::parse(JobKind::OverloadAnalysis, &early).is_err());
}

// ---------------------------------------------------------------------------------------------
// workout_plan

fn plan_with_log(start: Option<&str>) -> Value {
    let mut raw = json!({
        "athlete": { "experience": "intermediate", "goal": "hypertrophy",
                     "equipment": ["barbell", "dumbbell", "cable", "machine", "body only"] },
        "days_per_week": 4, "session_minutes": 75, "weeks": 8,
        "history": [
            { "date": "2026-09-28", "exercises": [{ "exercise_id": "barbell-bench-press-medium-grip", "sets": [
                { "weight_kg": 100, "reps": 5, "rir": 2, "set_type": "working" },
                { "weight_kg": 100, "reps": 5, "rir": 2, "set_type": "working" } ] }] },
            { "date": "2026-10-05", "exercises": [{ "exercise_id": "barbell-bench-press-medium-grip", "sets": [
                { "weight_kg": 100, "reps": 5, "rir": 2, "set_type": "working" },
                { "weight_kg": 100, "reps": 5, "rir": 2, "set_type": "working" } ] }] }
        ]
    });
    if let Some(day) = start {
        raw["start_date"] = json!(day);
    }
    raw
}

/// Total working sets of a week.
fn week_sets(out: &Value, w: usize) -> u64 {
    out["weeks"][w]["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["exercises"].as_array().unwrap())
        .map(|e| e["sets"].as_u64().unwrap())
        .sum()
}

fn bench_kg(out: &Value, w: usize) -> Option<f64> {
    out["weeks"][w]["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["exercises"].as_array().unwrap())
        .find(|e| e["exercise_id"] == "barbell-bench-press-medium-grip")
        .and_then(|e| e["load"]["kg"].as_f64())
}

#[test]
fn a_plan_after_a_layoff_ramps_sets_and_loads_back() {
    let (_, fresh) = answer(JobKind::WorkoutPlan, &plan_with_log(Some("2026-10-08")));
    assert_eq!(fresh["return_from_layoff"], Value::Null);
    // 2026-10-05 → 2026-11-14: 40 days, §A9's 28–55 row: sets 50 → 70 → 85 → 100 %, loads −20 %
    // then back by at most 5 % a week.
    let (input, back) = answer(JobKind::WorkoutPlan, &plan_with_log(Some("2026-11-14")));
    assert_eq!(back["return_from_layoff"]["gap_days"], 40);
    // Whole sets per exercise and the +30 % a week limit (from week 2) make the climb a little
    // slower than the table's; the deload of week 5 ends it: week 6 is the full plan.
    let full = week_sets(&fresh, 0) as f64;
    let shares: Vec<f64> = (0..4).map(|w| week_sets(&back, w) as f64 / full).collect();
    assert!((0.4..=0.65).contains(&shares[0]), "{shares:?}");
    assert!(shares.windows(2).all(|p| p[1] >= p[0]), "{shares:?}");
    assert!(shares[3] >= 0.8, "{shares:?}");
    assert_eq!(back["weeks"][4]["deload"], true);
    assert_eq!(week_sets(&back, 5), week_sets(&fresh, 5));
    let (k0, k1, full_kg) = (
        bench_kg(&back, 0).unwrap(),
        bench_kg(&back, 1).unwrap(),
        bench_kg(&fresh, 0).unwrap(),
    );
    // −20 % of the chart's load, on the 2.5 kg plates (the fresh plan's is also capped at +7.5 %).
    assert!(
        k0 <= full_kg * 0.8 + 2.5 && k0 < full_kg * 0.85,
        "{k0} vs {full_kg}"
    );
    assert!(k1 <= k0 * 1.05 + 2.5 && k1 >= k0, "{k0} → {k1}");
    assert!(back["rationale"].as_str().unwrap().contains("40 days"));
    // The guardrails hold a provider to the ramp: week 1 at full volume is refused.
    let mut unramped = back.clone();
    unramped["weeks"][0] = fresh["weeks"][0].clone();
    let violations = check_output(&input, &unramped);
    let refused = paths(&violations);
    assert!(
        refused.iter().any(|p| p.starts_with("/weeks/0/")),
        "{refused:?}"
    );
}

#[test]
fn a_beginners_old_log_counts_for_nothing_after_eight_weeks() {
    let mut raw = plan_with_log(Some("2026-12-20")); // 76 days after the last session
    raw["athlete"]["experience"] = json!("beginner");
    let (_, out) = answer(JobKind::WorkoutPlan, &raw);
    assert_eq!(out["return_from_layoff"]["band"], "baseline");
    assert_eq!(bench_kg(&out, 0), None, "no kg from the old log");
    // An intermediate's old log seeds the baseline at 65 % of its e1RM.
    let mut raw = plan_with_log(Some("2026-12-20"));
    raw["athlete"]["experience"] = json!("intermediate");
    let (_, out) = answer(JobKind::WorkoutPlan, &raw);
    let (_, fresh) = answer(JobKind::WorkoutPlan, &plan_with_log(Some("2026-10-08")));
    let ratio = bench_kg(&out, 0).unwrap() / bench_kg(&fresh, 0).unwrap();
    assert!((0.55..=0.72).contains(&ratio), "{ratio}");
}

#[test]
fn weekly_sets_never_rise_more_than_30_pct_after_the_first_week() {
    let (input, out) = answer(JobKind::WorkoutPlan, &plan_with_log(None));
    // A provider doubles week 3's sets: refused at that week.
    let mut doubled = out.clone();
    for day in doubled["weeks"][2]["days"].as_array_mut().unwrap() {
        for e in day["exercises"].as_array_mut().unwrap() {
            let sets = e["sets"].as_u64().unwrap();
            e["sets"] = json!((sets * 2).min(5));
        }
    }
    let violations = check_output(&input, &doubled);
    assert!(
        violations
            .iter()
            .any(|v| v.path == "/weeks/2" && v.message.contains("30 %")),
        "{violations:#?}"
    );
    // The engine's own ramp plans keep to it in every band (the properties check it too).
    for start in ["2026-10-20", "2026-11-14", "2027-01-10"] {
        answer(JobKind::WorkoutPlan, &plan_with_log(Some(start)));
    }
}

// ---------------------------------------------------------------------------------------------
// daily_coaching

#[test]
fn today_after_a_layoff_is_cut_even_when_ready() {
    let mut raw = crate::support::example_input("daily_coaching");
    raw["readiness"] = json!({ "sleep_hours": 8.5, "sleep_quality": 5, "soreness": 1, "stress": 1, "motivation": 5 });
    raw = with(raw, "/recent_sessions", None);
    let (_, ready) = answer(JobKind::DailyCoaching, &raw);
    assert_eq!(ready["decision"], "train");
    assert_eq!(ready["return_from_layoff"], Value::Null);
    // 20 days since the last session: −10 % load, −30 % sets.
    let (input, back) = answer(
        JobKind::DailyCoaching,
        &with(raw, "/last_session_date", Some(json!("2026-11-01"))),
    );
    assert_eq!(back["decision"], "train");
    assert_eq!(back["return_from_layoff"]["gap_days"], 20);
    let squat = &back["adjusted_session"]["exercises"][0];
    assert_eq!(squat["load_adjustment_pct"], json!(-10.0));
    assert_eq!(squat["sets"], 3, "4 planned × 0.7 = 2.8 → 3: {squat}");
    let mut uncut = back.clone();
    uncut["adjusted_session"] = ready["adjusted_session"].clone();
    let violations = check_output(&input, &uncut);
    let refused = paths(&violations);
    assert!(
        refused.contains(&"/adjusted_session/exercises/0/load_adjustment_pct"),
        "{refused:?}"
    );
}
