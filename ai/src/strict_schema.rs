//! Schemas for providers' strict structured-output modes.
//!
//! OpenAI's strict mode (and servers copying it) wants every property required (optional ones
//! nullable instead), `additionalProperties: false` everywhere, no `$ref` siblings, no `oneOf`,
//! and rejects numeric bounds and formats. The full schema, bounds included, is still enforced
//! locally on every answer; this copy only has to steer generation.

use serde_json::{Map, Value};

/// Keywords some strict modes reject; dropped from the copy sent to the provider.
const DROPPED: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "default",
    "examples",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

/// The strict-mode copy of `schema`: `$ref`s inlined from `$defs`/`definitions`, every object
/// closed with all properties required (optional ones made nullable), `oneOf` turned into
/// `anyOf`, unsupported keywords dropped.
pub fn strict_schema(schema: &Value) -> Value {
    let mut defs = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(found)) = schema.get(key) {
            defs.extend(found.clone());
        }
    }
    let mut out = rewrite(schema, &defs, 0);
    if let Value::Object(map) = &mut out {
        map.remove("$defs");
        map.remove("definitions");
    }
    out
}

/// Deep enough for any real schema; a cycle of `$ref`s stops here instead of overflowing.
const MAX_DEPTH: usize = 32;

fn rewrite(node: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Value::Object(map) = node else {
        return match node {
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| rewrite(i, defs, depth)).collect())
            }
            other => other.clone(),
        };
    };
    if depth > MAX_DEPTH {
        return Value::Object(Map::new());
    }
    // Inline a `$ref` and merge its siblings over it (strict modes refuse `$ref` siblings).
    if let Some(Value::String(reference)) = map.get("$ref") {
        let name = reference.rsplit('/').next().unwrap_or_default().to_owned();
        if let Some(Value::Object(target)) = defs.get(&name) {
            let mut merged = target.clone();
            for (k, v) in map {
                if k != "$ref" {
                    merged.insert(k.clone(), v.clone());
                }
            }
            return rewrite(&Value::Object(merged), defs, depth + 1);
        }
    }
    let mut out = Map::new();
    for (key, value) in map {
        if DROPPED.contains(&key.as_str()) || key == "$defs" || key == "definitions" {
            continue;
        }
        let key = if key == "oneOf" {
            "anyOf"
        } else {
            key.as_str()
        };
        let value = match key {
            "properties" => match value {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(k, v)| (k.clone(), rewrite(v, defs, depth + 1)))
                        .collect(),
                ),
                other => other.clone(),
            },
            _ => rewrite(value, defs, depth + 1),
        };
        out.insert(key.to_owned(), value);
    }
    let is_object = out.get("type").is_some_and(|t| {
        t == "object"
            || t.as_array()
                .is_some_and(|a| a.iter().any(|x| x == "object"))
    }) || out.contains_key("properties");
    if is_object {
        close_object(&mut out);
    }
    Value::Object(out)
}

/// Every property required; the ones that were optional become nullable.
fn close_object(object: &mut Map<String, Value>) {
    let required: Vec<String> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut all = Vec::new();
    if let Some(Value::Object(props)) = object.get_mut("properties") {
        for (name, schema) in props.iter_mut() {
            all.push(Value::String(name.clone()));
            if !required.contains(name) {
                make_nullable(schema);
            }
        }
    }
    object.insert("required".into(), Value::Array(all));
    object.insert("additionalProperties".into(), Value::Bool(false));
}

fn make_nullable(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    match map.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = t.clone();
            map.insert(
                "type".into(),
                Value::Array(vec![Value::String(t), "null".into()]),
            );
        }
        Some(Value::Array(types)) => {
            if !types.iter().any(|t| t == "null") {
                types.push("null".into());
            }
        }
        _ => {
            let inner = Value::Object(std::mem::take(map));
            map.insert(
                "anyOf".into(),
                Value::Array(vec![inner, serde_json::json!({"type": "null"})]),
            );
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum")
        && !values.iter().any(Value::is_null)
    {
        values.push(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_closed_optional_fields_nullable_and_bounds_dropped() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["a"],
            "properties": {
                "a": {"type": "integer", "format": "uint32", "minimum": 0, "maximum": 9},
                "b": {"$ref": "#/$defs/B", "description": "kept"},
                "c": {"oneOf": [{"const": "x"}, {"const": "y"}]}
            },
            "$defs": {"B": {"type": "object", "properties": {"n": {"type": "string", "maxLength": 5}}}}
        });
        let strict = strict_schema(&schema);
        assert_eq!(strict["required"], json!(["a", "b", "c"]));
        assert_eq!(strict["additionalProperties"], json!(false));
        assert_eq!(strict["properties"]["a"], json!({"type": "integer"}));
        assert_eq!(strict["properties"]["b"]["type"], json!(["object", "null"]));
        assert_eq!(strict["properties"]["b"]["description"], "kept");
        assert_eq!(strict["properties"]["b"]["properties"]["n"]["maxLength"], 5);
        assert_eq!(
            strict["properties"]["b"]["additionalProperties"],
            json!(false)
        );
        assert!(strict["properties"]["c"]["anyOf"].is_array());
        assert!(strict.get("$defs").is_none());
        assert!(strict.get("$schema").is_none());
        assert!(!strict.to_string().contains("$ref"));
    }
}
