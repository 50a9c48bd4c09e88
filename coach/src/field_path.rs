//! Where a problem sits in a JSON document, and what serde said about it: the one mapping from a
//! serde error to a field path, shared by job inputs (`JobInput::parse`) and the API's request
//! bodies, so both point at fields the same way (`athlete.injuries[0].area`).

use std::fmt;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

/// One step of a path into a JSON instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array item.
    Index(usize),
}

/// A path into a JSON instance, shown dotted with `[i]` for array items (`a.b[0].c`; empty for
/// the root).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Step>);

impl FieldPath {
    /// The steps of a path recorded by `serde_path_to_error` (enum and unknown segments carry no
    /// field and are skipped).
    fn from_serde(path: &serde_path_to_error::Path) -> Self {
        Self(
            path.iter()
                .filter_map(|segment| match segment {
                    Segment::Seq { index } => Some(Step::Index(*index)),
                    Segment::Map { key } => Some(Step::Key(key.clone())),
                    Segment::Enum { .. } | Segment::Unknown => None,
                })
                .collect(),
        )
    }

    /// The path with `key` appended.
    #[must_use]
    pub fn child(mut self, key: &str) -> Self {
        self.0.push(Step::Key(key.to_owned()));
        self
    }

    /// The path as a JSON pointer (RFC 6901): `/a/b/0/c`, empty for the root.
    pub fn json_pointer(&self) -> String {
        self.0
            .iter()
            .map(|step| match step {
                Step::Index(i) => format!("/{i}"),
                // Escaped as RFC 6901 says: `~` first, then `/`.
                Step::Key(key) => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            })
            .collect()
    }

    /// The path without its last step (the root stays the root).
    pub fn parent(&self) -> &[Step] {
        &self.0[..self.0.len().saturating_sub(1)]
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if i == 0 => f.write_str(key)?,
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// What serde found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A required member is absent; the issue's path already names the member itself (serde
    /// reports it at the parent object).
    Missing(String),
    /// A member the object does not accept; the path names it.
    Unknown(String),
    /// Anything else (wrong type, a value a parser refused), with serde's message.
    Invalid(String),
}

/// The first problem of a document that did not deserialize, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerdeIssue {
    /// Where: the offending member (for a missing one, the member that should be there).
    pub path: FieldPath,
    /// What.
    pub problem: Problem,
}

impl SerdeIssue {
    /// Deserializes `value` into `T`, or names its first problem.
    pub fn deserialize<'de, T, D>(value: D) -> Result<T, SerdeIssue>
    where
        T: DeserializeOwned,
        D: serde::Deserializer<'de, Error = serde_json::Error>,
    {
        serde_path_to_error::deserialize(value).map_err(SerdeIssue::from)
    }

    /// The message for people: required and unknown members in words, anything else as serde
    /// said it.
    pub fn message(&self) -> String {
        match &self.problem {
            Problem::Missing(name) => format!("required field `{name}` is missing"),
            Problem::Unknown(name) => format!("unknown field `{name}` (check the spelling)"),
            Problem::Invalid(message) => message.clone(),
        }
    }
}

impl From<serde_path_to_error::Error<serde_json::Error>> for SerdeIssue {
    fn from(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = FieldPath::from_serde(error.path());
        let message = error.into_inner().to_string();
        // serde's wording is its only structure: "missing field `x`", "unknown field `x`, expected …".
        if let Some(name) = after_prefix(&message, "missing field `") {
            return Self {
                path: path.child(&name),
                problem: Problem::Missing(name),
            };
        }
        if let Some(name) = after_prefix(&message, "unknown field `") {
            return Self {
                path,
                problem: Problem::Unknown(name),
            };
        }
        Self {
            path,
            problem: Problem::Invalid(message),
        }
    }
}

/// The name between `prefix` (which ends with a backtick) and the next backtick.
fn after_prefix(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name.to_owned())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read by serde only
    struct Outer {
        items: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read by serde only
    struct Inner {
        kg: f64,
    }

    fn issue(value: serde_json::Value) -> SerdeIssue {
        SerdeIssue::deserialize::<Outer, _>(value).unwrap_err()
    }

    #[test]
    fn a_missing_member_is_named_at_itself() {
        let issue = issue(json!({ "items": [{ "kg": 1 }, {}] }));
        assert_eq!(issue.path.to_string(), "items[1].kg");
        assert_eq!(issue.path.json_pointer(), "/items/1/kg");
        assert_eq!(issue.problem, Problem::Missing("kg".into()));
        assert_eq!(issue.message(), "required field `kg` is missing");
    }

    #[test]
    fn an_unknown_member_is_named_with_its_parent_beside_it() {
        let issue = issue(json!({ "items": [{ "kg": 1, "lbs": 2 }] }));
        assert_eq!(issue.path.to_string(), "items[0].lbs");
        assert_eq!(
            issue.path.parent(),
            &[Step::Key("items".into()), Step::Index(0)]
        );
        assert_eq!(issue.problem, Problem::Unknown("lbs".into()));
    }

    #[test]
    fn a_wrong_type_keeps_serdes_words() {
        let issue = issue(json!({ "items": [{ "kg": "heavy" }] }));
        assert_eq!(issue.path.to_string(), "items[0].kg");
        assert!(
            issue.message().starts_with("invalid type: string"),
            "{issue:?}"
        );
        assert_eq!(
            SerdeIssue::deserialize::<Outer, _>(json!([]))
                .unwrap_err()
                .path,
            FieldPath::default()
        );
    }
}
