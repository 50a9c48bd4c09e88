//! Helpers every kind's tests share.

use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::{Value, json};
use sparta_coach::{
    FieldError, InputRejection, JobInput, JobKind, Violation, check_output, input_schema,
    output_schema, run_builtin,
};

/// The engine's answer, asserted to pass the engine's own guardrails; its input (canonical form)
/// and the answer are asserted valid against the kind's published input and output schemas.
pub(crate) fn run(input: &JobInput) -> Value {
    assert_valid(Schema::Input(input.kind()), &input.to_value());
    let out = run_builtin(input).unwrap();
    assert_eq!(
        check_output(input, &out),
        Vec::<Violation>::new(),
        "engine output breaks its own guardrails: {out:#}"
    );
    assert_valid(Schema::Output(input.kind()), &out);
    out
}

/// One published JSON Schema: the input or the output schema of a kind.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Schema {
    /// [`input_schema`] of the kind.
    Input(JobKind),
    /// [`output_schema`] of the kind.
    Output(JobKind),
}

/// Panics listing every way `value` breaks the published `schema` (see [`schema_errors`]).
pub(crate) fn assert_valid(schema: Schema, value: &Value) {
    let errors = schema_errors(schema, value);
    assert!(
        errors.is_empty(),
        "{schema:?} schema rejects the value:\n{}\nvalue: {value:#}",
        errors.join("\n")
    );
}

/// Every way `value` breaks the published `schema`, one `"<instance path>: <message>"` each,
/// checked by the `jsonschema` crate (draft 2020-12, `format` asserted). Empty = valid.
///
/// Each schema is compiled once per test binary: proptest cases and sweeps reuse the validator.
pub(crate) fn schema_errors(schema: Schema, value: &Value) -> Vec<String> {
    validator(schema)
        .iter_errors(value)
        .map(|e| format!("{:?}: {e}", e.instance_path().as_str()))
        .collect()
}

fn validator(schema: Schema) -> &'static Validator {
    const KINDS: usize = JobKind::ALL.len();
    static INPUT: [OnceLock<Validator>; KINDS] = [const { OnceLock::new() }; KINDS];
    static OUTPUT: [OnceLock<Validator>; KINDS] = [const { OnceLock::new() }; KINDS];
    let (cache, kind, published) = match schema {
        Schema::Input(kind) => (&INPUT, kind, input_schema as fn(JobKind) -> Value),
        Schema::Output(kind) => (&OUTPUT, kind, output_schema as fn(JobKind) -> Value),
    };
    let slot = JobKind::ALL.iter().position(|k| *k == kind).unwrap();
    cache[slot].get_or_init(|| {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&published(kind))
            .unwrap_or_else(|e| panic!("{schema:?} schema does not compile: {e}"))
    })
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

/// The `input` of the repository's `examples/requests/<kind>.json` (the client contract).
pub fn example_input(kind: &str) -> Value {
    let path = format!(
        "{}/../examples/requests/{kind}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let body: Value = serde_json::from_str(&text).expect("example JSON");
    body["input"].clone()
}
