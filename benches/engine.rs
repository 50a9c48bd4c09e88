//! The builtin engine's time per job, for every kind SPARTA serves: parse the input, compute
//! the answer, check it against the guardrails (what a worker does for a builtin answer).
//! Inputs are the contract's examples (`examples/requests/<kind>.json`), plus realistic big inputs
//! for the heaviest kinds: a 16-week 6-day `workout_plan` with a year's training log, an
//! `overload_analysis` of a 200-session log, an `exercise_swap` of 10 alternatives with that log
//! and a `next_set` at its 600-set history bound. Target p99 < 5 ms.
//!
//! Also the catalogue API (`GET /v1/exercises` and friends), served from the embedded catalogue
//! in memory: a real `sparta serve` on an SQLite file in a temporary folder, asked over
//! loopback HTTP with keep-alive, one request at a time. Target p99 < 1 ms per request, client
//! time included.
//!
//! Prints the figures and writes them to `bench-results/engine.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::time::Instant;

// Linked for its global allocator: the engine is measured with the allocator the service uses.
use sparta as _;

use serde_json::{Value, json};
use sparta_coach::{JobInput, JobKind};

const RUNS: usize = 10_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Parse → engine → guardrails, `RUNS` times after 100 warm-up runs: the figures of one input.
fn measure(kind: JobKind, label: &str, raw: &Value) -> Value {
    let mut micros = Vec::with_capacity(RUNS);
    for i in 0..RUNS + 100 {
        let started = Instant::now();
        let input = JobInput::parse(kind, raw).unwrap();
        let output = sparta_coach::run_builtin(&input).unwrap();
        let violations = sparta_coach::check_output(&input, &output);
        let elapsed = started.elapsed().as_secs_f64() * 1e6;
        assert!(violations.is_empty(), "{kind}: {violations:?}");
        if i >= 100 {
            micros.push(elapsed);
        }
    }
    micros.sort_by(f64::total_cmp);
    let figures = json!({
        "kind": kind.as_str(),
        "input": label,
        "samples": micros.len(),
        "p50_us": percentile(&micros, 50.0),
        "p99_us": percentile(&micros, 99.0),
        "max_us": micros.last().copied().unwrap_or(0.0),
        "target_p99_us": 5_000.0,
    });
    println!("builtin engine, {kind}: {figures}");
    figures
}

/// `YYYY-MM-DD` of day `n` (0-based) of 2026, wrapping into 2027 (enough for a year's log).
fn date(n: usize) -> String {
    const MONTHS: [usize; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (mut year, mut day) = (2026, n);
    while day >= 365 {
        day -= 365;
        year += 1;
    }
    let mut month = 0;
    while day >= MONTHS[month] {
        day -= MONTHS[month];
        month += 1;
    }
    format!("{year}-{:02}-{:02}", month + 1, day + 1)
}

/// A realistic year of training: 200 sessions (four a week) rotating upper and lower days of four
/// exercises, each a warm-up and three working sets, loads creeping up with the odd missed rep.
fn year_log() -> Value {
    let upper = [
        ("barbell-bench-press-medium-grip", 80.0),
        ("bent-over-barbell-row", 70.0),
        ("standing-military-press", 45.0),
        ("wide-grip-lat-pulldown", 60.0),
    ];
    let lower = [
        ("barbell-squat", 100.0),
        ("romanian-deadlift", 90.0),
        ("leg-press", 150.0),
        ("lying-leg-curls", 40.0),
    ];
    let sessions: Vec<Value> = (0..200)
        .map(|i| {
            let lifts = if i % 2 == 0 { &upper } else { &lower };
            let exercises: Vec<Value> = lifts
                .iter()
                .map(|(id, start)| {
                    // +2.5 kg every four weeks of sessions of this kind, rounded to the plate.
                    let kg = start + 2.5 * (i / 16) as f64;
                    let last_reps = if i % 7 == 3 { 7 } else { 8 };
                    json!({ "exercise_id": id, "target_reps": 8, "sets": [
                        { "weight_kg": (kg * 0.5 / 2.5_f64).round() * 2.5, "reps": 8, "set_type": "warmup" },
                        { "weight_kg": kg, "reps": 8, "rir": 2, "set_type": "working" },
                        { "weight_kg": kg, "reps": 8, "rir": 1, "set_type": "working" },
                        { "weight_kg": kg, "reps": last_reps, "rpe": 9.5, "set_type": "working" } ] })
                })
                .collect();
            json!({ "date": date(i * 7 / 4), "exercises": exercises })
        })
        .collect();
    json!(sessions)
}

/// A `next_set` input at the history's bound: 150 sessions of 4 sets of squats, the first set of
/// every fourth session an AMRAP, two sets done today.
fn next_set_input() -> Value {
    let mut history = Vec::new();
    for i in 0..150 {
        let kg = 100.0 + 2.5 * (i / 12) as f64;
        for k in 0..4 {
            let set = if k == 0 && i % 4 == 0 {
                json!({ "date": date(i * 7 / 3), "weight_kg": kg, "reps": 8, "set_type": "amrap" })
            } else {
                json!({ "date": date(i * 7 / 3), "weight_kg": kg, "reps": 5, "rir": 3 - k.min(2), "set_type": "working" })
            };
            history.push(set);
        }
    }
    json!({
        "athlete": { "experience": "intermediate", "goal": "strength", "units": "kg" },
        "exercise_id": "barbell-squat", "goal_strength": 0.6, "plate_increment_kg": 2.5,
        "history": history,
        "today": [{ "weight_kg": 130, "reps": 5, "rir": 3, "set_type": "working" },
                  { "weight_kg": 130, "reps": 5, "rir": 2, "set_type": "working" }],
    })
}

/// Catalogue requests timed one at a time over loopback HTTP against an embedded service.
async fn catalogue() -> Value {
    const REQUESTS: usize = 2_000;
    let dir = std::env::temp_dir().join(format!("sparta-engine-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut settings = sparta::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite:{}", dir.join("sparta.db").display()),
        ..sparta::Settings::default()
    };
    settings.api.rate_per_key_per_sec = 0;
    settings.scheduler.enabled = false;
    settings.secrets.key = Some("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into());
    let service = sparta::Service::start(&settings, sparta::Roles::ALL)
        .await
        .unwrap();
    let key = sparta_jobs::ApiKey::generate();
    service
        .backends()
        .store
        .create_tenant(
            &sparta_jobs::TenantName::parse("bench").unwrap(),
            &key.hash(),
            &sparta_jobs::WebhookSecret::generate(),
        )
        .await
        .unwrap();
    let base = format!("http://{}", service.local_addr().unwrap());
    let http = reqwest::Client::new();
    let tag = http
        .get(format!("{base}/v1/muscles"))
        .bearer_auth(key.reveal())
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let cases: [(&str, &str, bool); 7] = [
        ("first page (50)", "/v1/exercises", false),
        (
            "name search with typos",
            "/v1/exercises?q=barbel%20sqat",
            false,
        ),
        (
            "filters: muscle, 3 equipment, level",
            "/v1/exercises?muscle=chest&equipment=dumbbell&equipment=barbell&equipment=body%20only&level=intermediate",
            false,
        ),
        (
            "search + filter, page of 200",
            "/v1/exercises?q=press&equipment=dumbbell&limit=200",
            false,
        ),
        ("one exercise", "/v1/exercises/barbell-squat", false),
        ("muscles", "/v1/muscles", false),
        ("revalidation (304)", "/v1/exercises?q=curl", true),
    ];
    let mut figures = Vec::new();
    for (label, path, revalidate) in cases {
        let mut micros = Vec::with_capacity(REQUESTS);
        for i in 0..REQUESTS + 100 {
            let mut request = http.get(format!("{base}{path}")).bearer_auth(key.reveal());
            if revalidate {
                request = request.header("if-none-match", &tag);
            }
            let started = Instant::now();
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let bytes = response.bytes().await.unwrap();
            let elapsed = started.elapsed().as_secs_f64() * 1e6;
            assert_eq!(status, if revalidate { 304 } else { 200 }, "{path}");
            assert!(revalidate || !bytes.is_empty());
            if i >= 100 {
                micros.push(elapsed);
            }
        }
        micros.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&micros, 50.0), percentile(&micros, 99.0));
        println!("catalogue  {label:<40} p50 {p50:>7.1} µs  p99 {p99:>7.1} µs");
        figures.push(json!({"request": label, "path": path, "p50_us": p50, "p99_us": p99, "requests": REQUESTS}));
    }
    service.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    json!(figures)
}

fn main() {
    let mut results = Vec::new();
    for &kind in JobKind::ALL {
        let path = format!(
            "{}/examples/requests/{kind}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        results.push(measure(kind, &path, &body["input"]));
    }
    let log = year_log();
    let plan = json!({
        "athlete": { "experience": "advanced", "goal": "hypertrophy", "bodyweight_kg": 90, "units": "kg",
                     "equipment": ["barbell", "dumbbell", "cable", "machine", "body only", "e-z curl bar"],
                     "injuries": [{ "area": "lower back" }] },
        "days_per_week": 6, "session_minutes": 90, "weeks": 16, "split_preference": "ppl",
        "history": log,
    });
    results.push(measure(
        JobKind::WorkoutPlan,
        "16 weeks × 6 days (PPL, advanced, lower-back injury) with a 200-session log",
        &plan,
    ));
    let analysis = json!({
        "athlete": { "experience": "intermediate", "goal": "strength", "bodyweight_kg": 88, "units": "kg" },
        "plate_increment_kg": 2.5,
        "history": log,
    });
    results.push(measure(
        JobKind::OverloadAnalysis,
        "200-session log, 8 exercises",
        &analysis,
    ));
    let swap = json!({
        "athlete": { "experience": "advanced", "goal": "hypertrophy", "units": "kg",
                     "equipment": ["barbell", "dumbbell", "cable", "machine", "body only"],
                     "injuries": [{ "area": "lower back" }] },
        "exercise_id": "barbell-squat", "reason": "injury", "count": 10,
        "history": log,
    });
    results.push(measure(
        JobKind::ExerciseSwap,
        "10 alternatives with a 200-session log",
        &swap,
    ));
    results.push(measure(
        JobKind::NextSet,
        "set 3 with a 600-set history (150 sessions, an AMRAP every 4th)",
        &next_set_input(),
    ));
    let catalogue = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(catalogue());
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-results");
    std::fs::create_dir_all(&out).unwrap();
    let report =
        json!({"bench": "builtin engine per job", "results": results, "catalogue": catalogue});
    std::fs::write(
        out.join("engine.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("written to {}", out.join("engine.json").display());
}
