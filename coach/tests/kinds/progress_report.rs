//! `progress_report`: the example's figures worked out by hand, warm-ups never counted, PRs, gaps
//! and adherence, the guardrails, bad inputs, a property over random logs — and the charts: each
//! SVG parses as XML, is self-contained, and renders (resvg) to pixels of every series.

use std::collections::HashSet;

use proptest::prelude::*;
use serde_json::{Value, json};
use sparta_coach::progress_report::charts::svg;
use sparta_coach::progress_report::{ChartName, ProgressReportOutput};
use sparta_coach::{InputRejection, JobInput, JobKind, check_output};

use crate::support::{Schema, assert_valid, business_fields, paths, run, with};

fn example_input() -> Value {
    crate::support::example_input("progress_report")
}

fn parse(raw: &Value) -> Result<JobInput, InputRejection> {
    JobInput::parse(JobKind::ProgressReport, raw)
}

fn answer(raw: &Value) -> Value {
    run(&parse(raw).unwrap())
}

fn lift<'a>(out: &'a Value, id: &str) -> &'a Value {
    out["lifts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["exercise_id"] == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

fn kinds_of(out: &Value) -> Vec<&str> {
    out["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect()
}

#[test]
fn the_example_reports_lifts_prs_volume_consistency_and_the_gap() {
    let out = answer(&example_input());
    // 2026-08-03 to 2026-10-25: 84 days, 12 weeks.
    assert_eq!(out["weeks"], 12);
    // Pull-ups at body weight (0 kg) give no e1RM: three lifts.
    let ids: Vec<&str> = out["lifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["exercise_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "barbell-squat",
            "barbell-bench-press-medium-grip",
            "romanian-deadlift"
        ]
    );
    // The first squat session: 3 × 5 @ 100 kg at RIR 2 → 7 reps to failure: 81.1 % → 123.3 kg
    // (the 50 kg warm-up never counts).
    let squat = lift(&out, "barbell-squat");
    assert_eq!(
        squat["e1rm_series"][0]["e1rm_kg"],
        json!(123.3),
        "{squat:#}"
    );
    assert_eq!(squat["e1rm_series"][0]["date"], "2026-08-03");
    let first = squat["start_e1rm_kg"].as_f64().unwrap();
    let last = squat["end_e1rm_kg"].as_f64().unwrap();
    let change = squat["change_pct"].as_f64().unwrap();
    assert!((change - (last / first - 1.0) * 100.0).abs() < 0.06);
    // Consistency: 39 days trained, 4 planned a week over 12 weeks = 48: 81.3 %.
    let c = &out["consistency"];
    assert_eq!(c["sessions"], 39);
    assert_eq!(c["adherence_pct"], json!(81.3));
    assert_eq!(c["sessions_per_week"], json!(3.25));
    assert_eq!(c["weekly"].as_array().unwrap().len(), 12);
    // The 17 days between 2026-09-11 and 2026-09-28 are the only gap, and a return.
    assert_eq!(
        c["gaps"],
        json!([{ "from": "2026-09-11", "to": "2026-09-28", "days": 17 }])
    );
    assert!(
        kinds_of(&out).contains(&"return_after_gap"),
        "{:#}",
        out["highlights"]
    );
    // The weeks of the gap break the streak.
    let streak = c["longest_streak_weeks"].as_u64().unwrap();
    assert!((1..12).contains(&streak));
    // Volume: quadriceps get the squats' working sets, never the warm-ups.
    let quads = out["weekly_volume"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["muscle"] == "quadriceps")
        .unwrap();
    assert_eq!(quads["weeks"][0]["sets"], json!(3.0), "{quads:#}");
    assert_eq!(quads["weeks"].as_array().unwrap().len(), 12);
    let charts: Vec<&str> = out["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(charts, ["strength", "volume", "sessions"]);
}

fn session(date: &str, id: &str, sets: Value) -> Value {
    json!({ "date": date, "exercises": [{ "exercise_id": id, "sets": sets }] })
}

fn working(kg: f64, reps: u8, rir: u8) -> Value {
    json!({ "weight_kg": kg, "reps": reps, "rir": rir, "set_type": "working" })
}

#[test]
fn prs_count_against_the_whole_log_before_them() {
    let history = json!([
        // Before the period: the records to beat.
        session(
            "2026-01-05",
            "barbell-squat",
            json!([working(100.0, 5, 2), working(90.0, 8, 1)])
        ),
        // In it: no record (lighter), then an e1RM record and a rep record at 90 kg.
        session("2026-02-02", "barbell-squat", json!([working(95.0, 5, 2)])),
        session(
            "2026-02-09",
            "barbell-squat",
            json!([working(105.0, 5, 2), working(90.0, 9, 1)])
        ),
        // A first bench session is no record.
        session(
            "2026-02-10",
            "barbell-bench-press-medium-grip",
            json!([working(80.0, 5, 2)])
        ),
    ]);
    let raw = json!({ "athlete": { "experience": "intermediate", "goal": "strength" },
                      "period": { "from": "2026-02-01", "to": "2026-02-28" }, "history": history });
    let out = answer(&raw);
    let prs = out["prs"].as_array().unwrap();
    assert_eq!(prs.len(), 2, "{prs:#?}");
    assert_eq!(prs[0]["kind"], "e1rm");
    assert_eq!(prs[0]["date"], "2026-02-09");
    assert_eq!(prs[0]["weight_kg"], json!(105.0));
    assert_eq!(prs[0]["previous"], json!(123.3));
    assert_eq!(prs[1]["kind"], "reps_at_weight");
    assert_eq!(
        (
            prs[1]["weight_kg"].clone(),
            prs[1]["reps"].clone(),
            prs[1]["previous"].clone()
        ),
        (json!(90.0), json!(9), json!(8.0))
    );
    assert!(kinds_of(&out).contains(&"pr"));
    // No plan: no adherence; a gap of 2026-01-05 → 2026-02-02 (28 days) is a return; the 18 days
    // from the last session to the period's end are a gap but not a return.
    assert_eq!(out["consistency"]["adherence_pct"], Value::Null);
    let gaps = out["consistency"]["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 2, "{gaps:#?}");
    assert_eq!(gaps[0]["days"], 28);
    assert_eq!(gaps[1]["to"], "2026-02-28");
    assert_eq!(
        kinds_of(&out)
            .iter()
            .filter(|k| **k == "return_after_gap")
            .count(),
        1
    );
}

#[test]
fn warm_ups_never_change_the_report() {
    let raw = example_input();
    let base = answer(&raw);
    let mut heavy = raw.clone();
    for s in heavy["history"].as_array_mut().unwrap() {
        for e in s["exercises"].as_array_mut().unwrap() {
            e["sets"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "weight_kg": 300, "reps": 10, "set_type": "warmup" }));
        }
    }
    let out = answer(&heavy);
    assert_eq!(out["lifts"], base["lifts"]);
    assert_eq!(out["prs"], base["prs"]);
    assert_eq!(out["weekly_volume"], base["weekly_volume"]);
}

#[test]
fn stalls_and_low_volume_are_highlighted() {
    let history: Vec<Value> = (0..8)
        .map(|i| {
            session(
                &format!("2026-03-{:02}", 2 + 3 * i),
                "barbell-bench-press-medium-grip",
                json!([working(80.0, 5, 2)]),
            )
        })
        .collect();
    let raw = json!({ "athlete": { "experience": "intermediate", "goal": "strength" },
                      "period": { "from": "2026-03-01", "to": "2026-03-28" }, "planned_days_per_week": 3,
                      "history": history });
    let out = answer(&raw);
    assert_eq!(
        lift(&out, "barbell-bench-press-medium-grip")["status"],
        "plateau"
    );
    let kinds = kinds_of(&out);
    assert!(kinds.contains(&"stalled_lift"), "{kinds:?}");
    // One set twice a week is under chest's MEV of 6.
    assert!(kinds.contains(&"below_mev"), "{kinds:?}");
    // 8 of 12 planned: 66.7 %.
    assert_eq!(out["consistency"]["adherence_pct"], json!(66.7));
    assert!(kinds.contains(&"low_adherence"));
}

/// A report of `history` (one lift) over January 2026.
fn january(history: Vec<Value>) -> Value {
    let raw = json!({ "athlete": { "experience": "intermediate", "goal": "strength" },
                      "period": { "from": "2026-01-01", "to": "2026-01-31" }, "history": history });
    let out = answer(&raw);
    assert_valid(Schema::Output(JobKind::ProgressReport), &out);
    out
}

#[test]
fn a_weekly_rate_needs_a_week_and_stays_within_the_e1rm_range() {
    // Found by `any_valid_log_gets_a_consistent_report`: 8 reps at 123 kg one day and one rep at
    // 20 kg the next were a slope of −1,025 kg a week, past the output schema's bound.
    let out = january(vec![
        session("2026-01-03", "pullups", json!([working(123.0, 8, 2)])),
        session("2026-01-04", "pullups", json!([working(20.0, 1, 0)])),
    ]);
    let pullups = lift(&out, "pullups");
    assert_eq!(pullups["change_kg_per_week"], json!(0.0), "{pullups:#}");
    assert_eq!(pullups["status"], Value::Null, "{pullups:#}");
    // Sessions bunched on two days a day apart, between two a week apart: the line's slope is
    // 1,410 kg a week, more than an e1RM can be.
    let mut history = vec![
        session("2026-01-01", "pullups", json!([working(300.0, 5, 0)])),
        session("2026-01-08", "pullups", json!([working(300.0, 5, 0)])),
    ];
    let (light, heavy) = (json!([working(0.5, 1, 0)]), json!([working(600.0, 5, 0)]));
    for _ in 0..20 {
        history.push(session("2026-01-04", "pullups", light.clone()));
        history.push(session("2026-01-05", "pullups", heavy.clone()));
    }
    let out = january(history);
    assert_eq!(lift(&out, "pullups")["change_kg_per_week"], json!(1000.0));
    // A first set of half a kilo against a real one: a change past a hundredfold is stated as
    // a hundredfold.
    let out = january(vec![
        session("2026-01-02", "pullups", json!([working(0.5, 1, 0)])),
        session("2026-01-20", "pullups", json!([working(600.0, 5, 0)])),
    ]);
    assert_eq!(lift(&out, "pullups")["change_pct"], json!(10000.0));
}

#[test]
fn bad_inputs_point_at_the_field() {
    let base = example_input();
    let reversed = with(base.clone(), "/period/to", Some(json!("2026-08-01")));
    assert_eq!(
        business_fields(parse(&reversed)),
        vec!["period.to".to_owned()]
    );
    let long = with(base.clone(), "/period/to", Some(json!("2029-01-01")));
    assert_eq!(business_fields(parse(&long)), vec!["period.to".to_owned()]);
    let empty = with(
        base.clone(),
        "/period",
        Some(json!({ "from": "2025-01-01", "to": "2025-02-01" })),
    );
    assert_eq!(business_fields(parse(&empty)), vec!["history".to_owned()]);
    let days = with(base, "/planned_days_per_week", Some(json!(8)));
    assert!(
        matches!(parse(&days), Err(InputRejection::Invalid(e)) if e[0].field == "planned_days_per_week")
    );
}

#[test]
fn the_guardrails_hold_every_figure_and_leave_the_words_free() {
    let input = parse(&example_input()).unwrap();
    let out = run(&input);
    let mut words = out.clone();
    words["summary"] = json!("A great block.");
    words["highlights"][0]["text"] = json!("Well done.");
    words["charts"][0]["title"] = json!("Your lifts");
    assert!(check_output(&input, &words).is_empty());
    let mut inflated = out.clone();
    inflated["lifts"][0]["end_e1rm_kg"] = json!(200.0);
    assert_eq!(
        paths(&check_output(&input, &inflated)),
        ["/lifts/0/end_e1rm_kg"]
    );
    let mut lost_pr = out.clone();
    lost_pr["prs"].as_array_mut().unwrap().pop();
    assert_eq!(paths(&check_output(&input, &lost_pr)), ["/prs"]);
    let mut adherence = out.clone();
    adherence["consistency"]["adherence_pct"] = json!(100.0);
    assert_eq!(
        paths(&check_output(&input, &adherence)),
        ["/consistency/adherence_pct"]
    );
}

/// The SVG's elements by name, and the document checked self-contained.
fn parse_svg(text: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("not XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let mut names = Vec::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name().to_owned();
        assert!(
            !["script", "foreignObject", "image", "a", "use", "style"].contains(&name.as_str()),
            "<{name}>"
        );
        for attribute in node.attributes() {
            let n = attribute.name();
            assert!(!n.starts_with("on") && n != "href", "{name} {n}");
            assert!(
                !attribute.value().contains("url("),
                "{name} {n}={}",
                attribute.value()
            );
        }
        names.push(name);
    }
    names
}

/// Distinct saturated colours drawn (not white, grey or black), rendered by resvg.
fn colours(text: &str) -> HashSet<(u8, u8, u8)> {
    let tree = resvg::usvg::Tree::from_str(text, &resvg::usvg::Options::default()).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .pixels()
        .iter()
        .map(|p| (p.red(), p.green(), p.blue()))
        .filter(|(r, g, b)| r.max(g).max(b) - r.min(g).min(b) > 60)
        .collect()
}

fn texts(text: &str) -> String {
    let doc = roxmltree::Document::parse(text).unwrap();
    doc.descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn every_chart_is_self_contained_labelled_and_drawn() {
    let out: ProgressReportOutput = serde_json::from_value(answer(&example_input())).unwrap();
    for (name, labels) in [
        (
            ChartName::Strength,
            vec!["Date", "e1RM (kg)", "Barbell Squat", "2026-"],
        ),
        (
            ChartName::Volume,
            vec!["Week of the period", "Working sets per week", "quadriceps"],
        ),
        (
            ChartName::Sessions,
            vec!["Week of the period", "Sessions", "Planned: 4 a week"],
        ),
    ] {
        let text = svg(&out, name).unwrap();
        let elements = parse_svg(&text);
        assert!(elements.iter().any(|e| e == "text"), "{name}");
        let words = texts(&text);
        for label in labels {
            assert!(words.contains(label), "{name}: `{label}` not in {words}");
        }
        let drawn = colours(&text);
        // Series in colour: at least one per lift/muscle family, not an empty frame.
        assert!(drawn.len() >= 2, "{name}: {} colours", drawn.len());
    }
    // The strength chart draws every lift's series in its own colour.
    let strength = colours(&svg(&out, ChartName::Strength).unwrap());
    assert!(strength.len() >= 3, "{}", strength.len());
    // An empty frame (no lifts) still renders, without series colours.
    let mut empty = out.clone();
    empty.lifts.clear();
    assert!(colours(&svg(&empty, ChartName::Strength).unwrap()).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any valid log: schema-valid, deterministic, passes its own guardrails; the consistency
    /// adds up; every chart renders.
    #[test]
    fn any_valid_log_gets_a_consistent_report(
        sessions in prop::collection::vec((0u16..120, 0usize..4, 20.0f64..150.0, 1u8..=12, 0u8..=4), 1..40),
        planned in prop::option::of(1u8..=7),
        span in 7u16..120,
    ) {
        let ids = ["barbell-squat", "barbell-bench-press-medium-grip", "pullups", "romanian-deadlift"];
        let date = |d: u16| sparta_coach::date::IsoDate::new(2026, 1, 1).unwrap().plus_days(i64::from(d)).unwrap().to_string();
        let history: Vec<Value> = sessions.iter().map(|(d, e, kg, reps, rir)| session(&date(*d), ids[*e],
            json!([{ "weight_kg": 20.0, "reps": 10, "set_type": "warmup" }, working((kg * 2.0).round() / 2.0, *reps, *rir)]))).collect();
        let first = sessions.iter().map(|s| s.0).min().unwrap();
        let mut raw = json!({ "athlete": { "experience": "intermediate", "goal": "strength" },
                              "period": { "from": date(first), "to": date(first + span) }, "history": history });
        if let Some(p) = planned { raw["planned_days_per_week"] = json!(p); }
        assert_valid(Schema::Input(JobKind::ProgressReport), &raw);
        let input = parse(&raw).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let out = run(&input);
        let weekly: u64 = out["consistency"]["weekly"].as_array().unwrap().iter().map(|w| w["sessions"].as_u64().unwrap()).sum();
        prop_assert_eq!(weekly, out["consistency"]["sessions"].as_u64().unwrap());
        let typed: ProgressReportOutput = serde_json::from_value(out).unwrap();
        for name in ChartName::ALL {
            parse_svg(&svg(&typed, *name).unwrap());
        }
    }
}
