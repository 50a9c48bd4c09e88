//! Helpers every kind's tests share.

use serde_json::{Value, json};
use sparta_coach::{FieldError, InputRejection, JobInput, Violation, check_output, run_builtin};

/// The engine's answer, asserted to pass the engine's own guardrails.
pub(crate) fn run(input: &JobInput) -> Value {
    let out = run_builtin(input).unwrap();
    assert_eq!(
        check_output(input, &out),
        Vec::<Violation>::new(),
        "engine output breaks its own guardrails: {out:#}"
    );
    out
}

/// The JSON pointers of some violations.
pub(crate) fn paths(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|v| v.path.as_str()).collect()
}

/// `raw` with the field at `pointer` set (`Some`) or removed (`None`).
pub(crate) fn with(mut raw: Value, pointer: &str, value: Option<Value>) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let object = raw.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match value {
        Some(v) => object.insert(key.to_owned(), v),
        None => object.remove(key),
    };
    raw
}

/// The one field error of an input refused as malformed (400).
pub(crate) fn only_invalid(parsed: Result<JobInput, InputRejection>) -> FieldError {
    match parsed {
        Err(InputRejection::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            errors.into_iter().next().unwrap()
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// The fields named by an input refused on business rules (422).
pub(crate) fn business_fields(parsed: Result<JobInput, InputRejection>) -> Vec<String> {
    match parsed {
        Err(InputRejection::BusinessRule(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected BusinessRule, got {other:?}"),
    }
}

/// Asserts that every string of a schema has a `maxLength` (or is a constant or a date) and every
/// array a `maxItems`: tiny models loop inside unbounded strings and arrays.
pub(crate) fn assert_bounded(schema: &Value) {
    fn walk(node: &Value, at: &str) {
        match node {
            Value::Object(map) => {
                if map.get("type") == Some(&json!("string")) && !map.contains_key("const") {
                    let dated = map.get("format") == Some(&json!("date"));
                    assert!(
                        map.contains_key("maxLength") || dated,
                        "unbounded string at {at}"
                    );
                }
                if map.get("type") == Some(&json!("array")) {
                    assert!(map.contains_key("maxItems"), "unbounded array at {at}");
                }
                for (k, v) in map {
                    walk(v, &format!("{at}/{k}"));
                }
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| walk(v, &format!("{at}/{i}"))),
            _ => {}
        }
    }
    walk(schema, "");
}
