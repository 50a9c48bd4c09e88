//! JSON Schema generation (schemars, draft 2020-12) and lookups into generated schemas.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

/// The draft 2020-12 root schema of `T`, as JSON.
pub(crate) fn root_schema_for<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// One step of a path into a JSON instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// An object member.
    Key(String),
    /// An array item.
    Index(usize),
}

impl Step {
    /// The steps of a path recorded by `serde_path_to_error`.
    pub(crate) fn from_serde_path(path: &serde_path_to_error::Path) -> Vec<Step> {
        path.iter()
            .filter_map(|segment| match segment {
                Segment::Seq { index } => Some(Step::Index(*index)),
                Segment::Map { key } => Some(Step::Key(key.clone())),
                Segment::Enum { .. } | Segment::Unknown => None,
            })
            .collect()
    }
}

/// The subschema that describes the instance at `path`, following `$ref`s into `$defs` and
/// looking through `anyOf [T, null]` wrappers (optional fields).
pub(crate) fn node_at<'a>(root: &'a Value, path: &[Step]) -> Option<&'a Value> {
    let mut node = resolve(root, root)?;
    for step in path {
        node = match step {
            Step::Key(key) => node.get("properties")?.get(key)?,
            Step::Index(_) => node.get("items")?,
        };
        node = resolve(root, node)?;
    }
    Some(node)
}

pub(crate) fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> Option<&'a Value> {
    // Bounded: a schema that refers to itself in a loop would otherwise spin.
    for _ in 0..16 {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let name = reference.strip_prefix("#/$defs/")?;
            node = root.get("$defs")?.get(name)?;
        } else if let Some(branches) = node.get("anyOf").and_then(Value::as_array) {
            node = branches
                .iter()
                .find(|b| b.get("type") != Some(&Value::from("null")))?;
        } else {
            return Some(node);
        }
    }
    None
}

/// The values a (vocabulary) schema allows: its `enum`, or the `const`s of its `oneOf`, without `null`.
pub(crate) fn allowed_values(node: &Value) -> Option<Vec<Value>> {
    let values: Vec<Value> = if let Some(values) = node.get("enum").and_then(Value::as_array) {
        values.iter().filter(|v| !v.is_null()).cloned().collect()
    } else {
        let branches = node.get("oneOf")?.as_array()?;
        branches
            .iter()
            .map(|b| b.get("const").cloned())
            .collect::<Option<_>>()?
    };
    Some(values)
}

/// Machine-readable constraints of a schema node, for error details:
/// `{"allowed": [...]}`, `{"minimum": .., "maximum": ..}`, `{"minLength": .., "maxLength": ..}`, `{"maxItems": ..}`.
/// `Null` when the node states none of these.
pub(crate) fn constraints(node: &Value) -> Value {
    let mut details = Map::new();
    if let Some(allowed) = allowed_values(node) {
        details.insert("allowed".to_owned(), Value::Array(allowed));
    }
    for key in ["minimum", "maximum", "minLength", "maxLength", "maxItems"] {
        if let Some(v) = node.get(key) {
            details.insert(key.to_owned(), v.clone());
        }
    }
    if details.is_empty() {
        Value::Null
    } else {
        Value::Object(details)
    }
}

/// The member names an object schema node declares.
pub(crate) fn property_names(node: &Value) -> Vec<Value> {
    node.get("properties")
        .and_then(Value::as_object)
        .map(|props| props.keys().map(|k| Value::from(k.as_str())).collect())
        .unwrap_or_default()
}

/// serde's derived structs also accept an array (fields by position), but the contract and the
/// published schema say object. Returns the path of the first array in `value` where the schema
/// `root` expects an object.
pub(crate) fn array_where_object_expected(root: &Value, value: &Value) -> Option<Vec<Step>> {
    fn walk(root: &Value, node: &Value, value: &Value, path: &mut Vec<Step>) -> bool {
        let Some(node) = resolve(root, node) else {
            return false;
        };
        let children: Vec<(Step, &Value, &Value)> = match value {
            Value::Array(_) if node.get("properties").is_some() => return true,
            // Only arrays and objects can hold an array where an object is expected: scalar
            // children are skipped before any schema lookup (a 200-session log has thousands).
            // The item schema is resolved once for the whole array, not once per item.
            Value::Array(items) => match node.get("items").and_then(|n| resolve(root, n)) {
                Some(item_schema) => items
                    .iter()
                    .enumerate()
                    .filter(|(_, item)| is_container(item))
                    .map(|(i, item)| (Step::Index(i), item_schema, item))
                    .collect(),
                None => return false,
            },
            Value::Object(members) => match node.get("properties") {
                Some(properties) => members
                    .iter()
                    .filter(|(_, member)| is_container(member))
                    .filter_map(|(key, member)| {
                        Some((Step::Key(key.clone()), properties.get(key)?, member))
                    })
                    .collect(),
                None => return false,
            },
            _ => return false,
        };
        for (step, child_schema, child) in children {
            path.push(step);
            if walk(root, child_schema, child, path) {
                return true;
            }
            path.pop();
        }
        false
    }

    fn is_container(value: &Value) -> bool {
        matches!(value, Value::Array(_) | Value::Object(_))
    }

    let mut path = Vec::new();
    walk(root, root, value, &mut path).then_some(path)
}
