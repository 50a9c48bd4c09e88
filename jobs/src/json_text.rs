//! [`JsonText`]: a JSON document kept as its text between the places that read it as a type.
//!
//! A job's input is parsed into its kind's type twice in its life, at the API (to validate it)
//! and in the worker (to run it), and its output once, by the worker that produces it; in
//! between they are only carried: inserted or written, read back, answered in a job view, sent
//! in a webhook. Carried as `serde_json::Value`s they were built into trees from the stored text
//! at every read, cloned into each answer and written out again at every insert and response;
//! as text they are copied.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// A well-formed JSON document, as text (compact where SPARTA wrote it; a store may hand back
/// its own rendering). Serialized as the document itself (not as a string); two are equal when
/// their texts are.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// The document written out as compact text.
    pub fn from_value(value: &Value) -> Self {
        Self::write(value)
    }

    /// `value` written out as compact text (the serializations SPARTA writes cannot fail: string
    /// keys, finite numbers; `null` would stand out in any test).
    pub fn write<T: Serialize + ?Sized>(value: &T) -> Self {
        Self(serde_json::value::to_raw_value(value).unwrap_or_else(|_| null()))
    }

    /// `text` if it is one well-formed JSON document.
    pub fn parse(text: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text).map(Self)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The document read as a `T`.
    pub fn read<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }

    /// The document as a tree (for what inspects or edits it as such).
    pub fn to_value(&self) -> Value {
        // Well-formed by construction; `null` would stand out in any test.
        self.read().unwrap_or(Value::Null)
    }
}

fn null() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

impl From<&Value> for JsonText {
    fn from(value: &Value) -> Self {
        Self::from_value(value)
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        Self::from_value(&value)
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_travels_as_itself_and_reads_back_as_it_was() {
        let value = json!({"athlete": {"id": "a-1", "bodyweight_kg": 64.5}, "phase": "cut"});
        let text = JsonText::from(&value);
        assert_eq!(
            text.as_str(),
            r#"{"athlete":{"id":"a-1","bodyweight_kg":64.5},"phase":"cut"}"#
        );
        // Serialized inside another document as the document, not as a string.
        let wrapped = serde_json::to_string(&json!({"input": text.to_value()})).expect("json");
        let inside = serde_json::to_string(&serde_json::json!({ "input": text })).expect("json");
        assert_eq!(wrapped, inside);
        assert_eq!(text.to_value(), value);
        assert_eq!(text.clone(), text);
        assert!(JsonText::parse("{\"a\":".into()).is_err());
        let parsed = JsonText::parse(r#"{"a":[1,2]}"#.into()).expect("well-formed");
        assert_eq!(parsed.read::<Value>().expect("reads"), json!({"a": [1, 2]}));
    }
}
