//! Input rejections and the typed parsing step (serde + path tracking).

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Unexpected, Visitor};
use serde_json::{Value, json};

use crate::field_path::{FieldPath, Problem, SerdeIssue};
use crate::schema::{self, Shape};

/// One problem with a field of the job input. `field` is a path RELATIVE to the input object,
/// dotted with `[i]` for array items, e.g. `"athlete.bodyweight_kg"`, `"athlete.injuries[0].area"`;
/// `""` for the whole input.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FieldError {
    /// Path of the offending field relative to the input object (`""` = the input itself).
    pub field: String,
    /// What is wrong, for an app developer.
    pub message: String,
    /// `Null`, or machine-readable constraints of the field: `{"allowed": [...]}`,
    /// `{"minimum": 25.0, "maximum": 350.0}`, `{"maxLength": 128, ...}`, `{"allowed_fields": [...]}`.
    pub details: Value,
}

impl FieldError {
    /// A field error without details.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            details: Value::Null,
        }
    }

    /// Sets the details.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// Why an input was refused: malformed (→ HTTP 400 VALIDATION_ERROR) or well-formed but against a
/// business rule (→ 422 BUSINESS_RULE_VIOLATION). Never empty.
#[derive(Clone, Debug, PartialEq)]
pub enum InputRejection {
    /// Wrong type, missing or unknown field, value out of range, value not in the vocabulary.
    Invalid(Vec<FieldError>),
    /// Well-formed input the service will not answer (e.g. contradictory goal and phase).
    BusinessRule(Vec<FieldError>),
}

impl InputRejection {
    /// The field errors, whichever the class.
    pub fn errors(&self) -> &[FieldError] {
        match self {
            InputRejection::Invalid(errors) | InputRejection::BusinessRule(errors) => errors,
        }
    }
}

impl fmt::Display for InputRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputRejection::Invalid(_) => "invalid input",
            InputRejection::BusinessRule(_) => "input violates a business rule",
        })?;
        for (i, e) in self.errors().iter().enumerate() {
            write!(f, "{}{e}", if i == 0 { ": " } else { "; " })?;
        }
        Ok(())
    }
}

impl std::error::Error for InputRejection {}

/// Deserializes a string into a `T` through `parse` without copying it when the deserializer can
/// lend it (a `serde_json::Value` always can): a year's training log holds thousands of exercise
/// ids and dates. Refuses what `String` refuses, with the same messages ("expected a string"); an
/// `Err` of `parse` becomes a custom error with its text.
pub(crate) fn deserialize_str_with<'de, D, T, F>(deserializer: D, parse: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    struct StrVisitor<F>(F);

    impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for StrVisitor<F> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.0)(v).map_err(E::custom)
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<T, E> {
            match std::str::from_utf8(v) {
                Ok(text) => self.visit_str(text),
                Err(_) => Err(E::invalid_value(Unexpected::Bytes(v), &self)),
            }
        }
    }

    deserializer.deserialize_str(StrVisitor(parse))
}

/// Deserializes `raw` into `T`, turning the first serde error into a [`FieldError`] whose path points
/// at the offending field and whose details are the field's constraints in `input_schema` (the
/// published schema, so the details and the schema cannot disagree). `input_shape` is
/// [`Shape::of`] `input_schema`.
pub(crate) fn deserialize_input<T: DeserializeOwned>(
    raw: &Value,
    input_schema: &Value,
    input_shape: &Shape,
) -> Result<T, FieldError> {
    if let Some(path) = input_shape.array_where_object_expected(raw) {
        return Err(FieldError::new(
            FieldPath(path).to_string(),
            "invalid type: array, expected an object",
        ));
    }
    // Fast path: plain serde straight from the JSON tree. Path tracking allocates every key it
    // passes (thousands for a year's training log), so it only runs again to report an error.
    if let Ok(parsed) = T::deserialize(raw) {
        return Ok(parsed);
    }
    SerdeIssue::deserialize(raw).map_err(|issue| {
        let field = issue.path.to_string();
        let message = issue.message();
        match &issue.problem {
            // The constraints of the member that should be there.
            Problem::Missing(_) => FieldError::new(field, message).with_details(
                schema::node_at(input_schema, &issue.path.0)
                    .map_or(Value::Null, schema::constraints),
            ),
            // The members the object accepts.
            Problem::Unknown(_) => {
                let allowed = schema::node_at(input_schema, issue.path.parent())
                    .map(schema::property_names)
                    .unwrap_or_default();
                FieldError::new(field, message).with_details(json!({ "allowed_fields": allowed }))
            }
            Problem::Invalid(text) => match crate::catalogue::closest_for_message(text) {
                // An exercise id the catalogue does not hold: suggest the nearest ids.
                Some(closest) => {
                    FieldError::new(field, message).with_details(json!({ "closest": closest }))
                }
                None => FieldError::new(field, message).with_details(
                    schema::node_at(input_schema, &issue.path.0)
                        .map_or(Value::Null, schema::constraints),
                ),
            },
        }
    })
}
