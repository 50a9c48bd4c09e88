//! The builtin engine's time per job, for every kind SPARTA serves: parse the input, compute
//! the answer, check it against the guardrails (what a worker does for a builtin answer).
//! Inputs are the contract's examples (`../shared/examples/<kind>.json`). Target p99 < 5 ms.
//!
//! Prints the figures and writes them to `bench-results/engine.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::time::Instant;

use serde_json::{Value, json};
use sparta_coach::{JobInput, JobKind};

const RUNS: usize = 10_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() {
    let mut results = Vec::new();
    for &kind in JobKind::ALL {
        let path = format!(
            "{}/../shared/examples/{kind}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let raw = &body["input"];
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
            "input": path,
            "samples": micros.len(),
            "p50_us": percentile(&micros, 50.0),
            "p99_us": percentile(&micros, 99.0),
            "max_us": micros.last().copied().unwrap_or(0.0),
            "target_p99_us": 5_000.0,
        });
        println!("builtin engine, {kind}: {figures}");
        results.push(figures);
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-results");
    std::fs::create_dir_all(&out).unwrap();
    let report = json!({"bench": "builtin engine per job", "results": results});
    std::fs::write(
        out.join("engine.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("written to {}", out.join("engine.json").display());
}
