//! Guardrails for any provider's `progress_report`: every figure is a count or a computation over
//! the log, so the answer must state the engine's figures — lifts, series, PRs, weekly volume,
//! consistency, the subjects of the highlights and the charts — to within rounding; only the
//! words (`summary`, highlight `text`, chart `title`) are the provider's own.

use serde_json::Value;

use crate::Violation;

use super::{ProgressReportInput, ProgressReportOutput, engine};

/// Keys whose values are free words, not figures.
const FREE_TEXT: [&str; 3] = ["summary", "text", "title"];
/// Most violations reported (a wholly different answer would list every number).
const MAX_VIOLATIONS: usize = 20;

/// Checks an answer; empty = acceptable.
pub fn check(input: &ProgressReportInput, output: &ProgressReportOutput) -> Vec<Violation> {
    let (Ok(expected), Ok(actual)) = (
        engine::run(input).and_then(|e| Ok(serde_json::to_value(e)?)),
        serde_json::to_value(output),
    ) else {
        return vec![Violation::new(
            "",
            "the report could not be computed from the log",
        )];
    };
    let mut violations = Vec::new();
    compare(&expected, &actual, &mut String::new(), &mut violations);
    violations.truncate(MAX_VIOLATIONS);
    violations
}

/// Numbers agree to within rounding (0.05 absolute plus 0.2 %).
fn close(expected: f64, actual: f64) -> bool {
    (expected - actual).abs() <= 0.05 + 0.002 * expected.abs()
}

fn compare(expected: &Value, actual: &Value, path: &mut String, out: &mut Vec<Violation>) {
    if out.len() >= MAX_VIOLATIONS {
        return;
    }
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (
                e.as_f64().unwrap_or(f64::NAN),
                a.as_f64().unwrap_or(f64::NAN),
            );
            if !close(e, a) {
                out.push(Violation::new(path.clone(), format!("the log gives {e}")));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(Violation::new(
                    path.clone(),
                    format!("the log gives {} entries, not {}", e.len(), a.len()),
                ));
                return;
            }
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                compare(e, a, path, out);
                path.truncate(len);
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (key, e) in e {
                if FREE_TEXT.contains(&key.as_str()) {
                    continue;
                }
                let len = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                match a.get(key) {
                    Some(a) => compare(e, a, path, out),
                    None => out.push(Violation::new(path.clone(), "missing")),
                }
                path.truncate(len);
            }
        }
        (e, a) if e == a => {}
        (e, _) => out.push(Violation::new(path.clone(), format!("the log gives {e}"))),
    }
}
