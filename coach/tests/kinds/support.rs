//! Helpers every kind's tests share.

use serde_json::Value;
use sparta_coach::{JobInput, Violation, check_output, run_builtin};

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
