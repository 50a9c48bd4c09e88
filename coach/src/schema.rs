//! JSON Schema generation (schemars, draft 2020-12) and lookups into generated schemas.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use crate::field_path::Step;

/// The draft 2020-12 root schema of `T`, as JSON.
pub(crate) fn root_schema_for<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
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

/// The object and array skeleton of an input schema, compiled once per kind from the published
/// schema: for every node an instance may reach, its `properties` (when it declares them) and its
/// `items`, with `$ref`s and `anyOf [T, null]` wrappers already resolved.
///
/// [`Shape::array_where_object_expected`] walks a (possibly large) instance against it without
/// touching the schema's JSON: looking members up in a `serde_json::Map` hashes every key, and a
/// year's training log reaches thousands of nodes.
#[derive(Clone, Debug)]
pub(crate) struct Shape {
    /// Node 0 is the root; children refer to nodes by index (a recursive schema refers back).
    nodes: Vec<ShapeNode>,
}

#[derive(Clone, Debug, Default)]
struct ShapeNode {
    /// `Some` when the node declares `properties`: the members whose subschema resolves and
    /// declares properties or items (the only ones worth walking into).
    properties: Option<Vec<(String, usize)>>,
    /// The node of the items, when `items` is declared and resolves.
    items: Option<usize>,
}

impl Shape {
    /// Compiles the skeleton of the schema `root`. A member or `items` whose subschema does not
    /// resolve is left out: the walk has nothing to check below it either way.
    pub(crate) fn of(root: &Value) -> Shape {
        let mut shape = Shape { nodes: Vec::new() };
        let mut seen: Vec<*const Value> = Vec::new();
        if let Some(node) = resolve(root, root) {
            shape.compile(root, node, &mut seen);
        }
        shape
    }

    /// Adds the (resolved) schema `node` and what it reaches; returns its index. `seen[i]` is the
    /// schema node of `nodes[i]`, so a node reached twice (or recursively) is compiled once.
    fn compile(&mut self, root: &Value, node: &Value, seen: &mut Vec<*const Value>) -> usize {
        if let Some(index) = seen.iter().position(|&p| std::ptr::eq(p, node)) {
            return index;
        }
        let index = self.nodes.len();
        seen.push(node);
        self.nodes.push(ShapeNode::default());
        let properties = node.get("properties").map(|properties| {
            properties
                .as_object()
                .map(|members| {
                    members
                        .iter()
                        .filter_map(|(key, child)| {
                            let child = resolve(root, child)?;
                            // A member whose schema declares neither properties nor items can
                            // never hold an array where an object is expected: not walked.
                            let inert = child.get("properties").is_none()
                                && child.get("items").and_then(|i| resolve(root, i)).is_none();
                            (!inert).then(|| (key.clone(), self.compile(root, child, seen)))
                        })
                        .collect()
                })
                .unwrap_or_default()
        });
        let items = node
            .get("items")
            .and_then(|items| resolve(root, items))
            .map(|items| self.compile(root, items, seen));
        if let Some(slot) = self.nodes.get_mut(index) {
            *slot = ShapeNode { properties, items };
        }
        index
    }

    /// serde's derived structs also accept an array (fields by position), but the contract and the
    /// published schema say object. Returns the path of the first array in `value` where the
    /// schema expects an object (members and items in document order).
    pub(crate) fn array_where_object_expected(&self, value: &Value) -> Option<Vec<Step>> {
        let mut path = Vec::new();
        self.walk(0, value, &mut path).then_some(path)
    }

    fn walk(&self, node: usize, value: &Value, path: &mut Vec<Step>) -> bool {
        let Some(node) = self.nodes.get(node) else {
            return false;
        };
        match value {
            Value::Array(_) if node.properties.is_some() => true,
            Value::Array(items) => {
                let Some(item_node) = node.items else {
                    return false;
                };
                // Only arrays and objects can hold an array where an object is expected: scalar
                // items are skipped (a 200-session log has thousands).
                for (i, item) in items.iter().enumerate() {
                    if is_container(item) {
                        path.push(Step::Index(i));
                        if self.walk(item_node, item, path) {
                            return true;
                        }
                        path.pop();
                    }
                }
                false
            }
            Value::Object(members) => {
                // An object of scalars (a logged set) has nothing to walk into.
                let Some(properties) = node.properties.as_ref().filter(|p| !p.is_empty()) else {
                    return false;
                };
                for (key, member) in members {
                    if !is_container(member) {
                        continue;
                    }
                    let Some(&(_, child)) = properties.iter().find(|(name, _)| name == key) else {
                        continue;
                    };
                    // The key is only copied onto the path on the way down, not for every member.
                    path.push(Step::Key(key.clone()));
                    if self.walk(child, member, path) {
                        return true;
                    }
                    path.pop();
                }
                false
            }
            _ => false,
        }
    }
}

fn is_container(value: &Value) -> bool {
    matches!(value, Value::Array(_) | Value::Object(_))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::JobKind;

    /// The walk over the JSON schema itself that [`Shape`] replaces (kept as the oracle).
    fn reference_walk(root: &Value, value: &Value) -> Option<Vec<Step>> {
        fn walk(root: &Value, node: &Value, value: &Value, path: &mut Vec<Step>) -> bool {
            let Some(node) = resolve(root, node) else {
                return false;
            };
            let children: Vec<(Step, &Value, &Value)> = match value {
                Value::Array(_) if node.get("properties").is_some() => return true,
                Value::Array(items) => match node.get("items").and_then(|n| resolve(root, n)) {
                    Some(item_schema) => items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| (Step::Index(i), item_schema, item))
                        .collect(),
                    None => return false,
                },
                Value::Object(members) => match node.get("properties") {
                    Some(properties) => members
                        .iter()
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
        let mut path = Vec::new();
        walk(root, root, value, &mut path).then_some(path)
    }

    fn key(name: &str) -> Step {
        Step::Key(name.to_owned())
    }

    #[test]
    fn shape_follows_refs_optional_wrappers_and_recursion() {
        let root = json!({
            "type": "object",
            "properties": {
                "a": { "anyOf": [{ "$ref": "#/$defs/A" }, { "type": "null" }] },
                "list": { "type": "array", "items": { "$ref": "#/$defs/A" } },
                "tree": { "$ref": "#/$defs/Tree" },
                "free": { "type": "object" },
                "broken": { "$ref": "#/$defs/Missing" },
            },
            "$defs": {
                "A": { "type": "object", "properties": { "x": { "type": "number" } } },
                "Tree": {
                    "type": "object",
                    "properties": {
                        "children": { "type": "array", "items": { "$ref": "#/$defs/Tree" } }
                    }
                },
            },
        });
        let shape = Shape::of(&root);
        let cases = [
            (json!({ "a": { "x": 1 } }), None),
            (json!({ "a": [1] }), Some(vec![key("a")])),
            (
                json!({ "a": null, "list": [{}, [1]] }),
                Some(vec![key("list"), Step::Index(1)]),
            ),
            (json!([1, 2]), Some(vec![])),
            (
                json!({ "tree": { "children": [{ "children": [] }, { "children": [[]] }] } }),
                Some(vec![
                    key("tree"),
                    key("children"),
                    Step::Index(1),
                    key("children"),
                    Step::Index(0),
                ]),
            ),
            (json!({ "free": [1], "broken": [1], "unknown": [1] }), None),
            (json!("text"), None),
        ];
        for (value, expected) in cases {
            assert_eq!(
                shape.array_where_object_expected(&value),
                expected,
                "{value}"
            );
            assert_eq!(reference_walk(&root, &value), expected, "{value}");
        }
    }

    #[test]
    fn shape_agrees_with_the_schema_walk_on_every_kind() {
        let log = json!([
            { "date": "2026-01-05", "exercises": [
                { "exercise_id": "barbell-squat", "sets": [
                    { "weight_kg": 100, "reps": 5, "set_type": "working" } ] } ] },
            { "date": "2026-01-08", "exercises": [
                { "exercise_id": "barbell-squat", "sets": [
                    { "weight_kg": 100, "reps": 5, "set_type": "working" },
                    [100, 5, null, null, "working"] ] } ] },
        ]);
        let athlete = json!({ "experience": "advanced", "goal": "strength", "bodyweight_kg": 90,
                              "injuries": [{ "area": "chest" }, ["neck"]] });
        for &kind in JobKind::ALL {
            let root = crate::input_schema(kind);
            let shape = Shape::of(&root);
            for value in [
                json!({ "athlete": athlete, "history": log }),
                json!({ "athlete": { "injuries": [{ "area": "chest" }] }, "history": [[]] }),
                json!({ "history": [{ "exercises": [[]] }] }),
                json!([athlete]),
                json!({}),
            ] {
                assert_eq!(
                    shape.array_where_object_expected(&value),
                    reference_walk(&root, &value),
                    "{kind}: {value}"
                );
            }
        }
        let root = crate::input_schema(JobKind::OverloadAnalysis);
        let value = json!({ "athlete": { "experience": "advanced" }, "history": log });
        assert_eq!(
            Shape::of(&root).array_where_object_expected(&value),
            Some(vec![
                key("history"),
                Step::Index(1),
                key("exercises"),
                Step::Index(0),
                key("sets"),
                Step::Index(1),
            ])
        );
    }
}
