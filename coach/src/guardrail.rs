//! Guardrail plumbing shared by the kinds: violations and typed reading of a provider's output.

use crate::field_path::SerdeIssue;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One way an output breaks the engine's rules. `path` is a JSON pointer into the output
/// (`"/protein_range_g/low"`; `""` = the whole output) and `message` says what is wrong in terms a
/// repair re-ask can quote.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Violation {
    /// JSON pointer (RFC 6901) into the output.
    pub path: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl Violation {
    /// A violation at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Reads a provider's output into the kind's output type. On failure: exactly one violation at
/// path `""` whose message names the JSON pointer of the offending value and the serde error.
pub(crate) fn deserialize_output<T: DeserializeOwned>(output: &Value) -> Result<T, Violation> {
    // Fast path without path tracking; the tracked pass only runs to name where it failed.
    if let Ok(typed) = T::deserialize(output) {
        return Ok(typed);
    }
    SerdeIssue::deserialize(output).map_err(|issue| {
        let pointer = issue.path.json_pointer();
        let at = if pointer.is_empty() {
            "the top level".to_owned()
        } else {
            format!("`{pointer}`")
        };
        Violation::new(
            "",
            format!(
                "output does not match the output schema at {at}: {}",
                issue.message()
            ),
        )
    })
}

/// Collects violations for string lengths (in characters, as JSON Schema counts them).
pub(crate) fn check_length(
    out: &mut Vec<Violation>,
    path: &str,
    text: &str,
    min: usize,
    max: usize,
) {
    if let Some(message) = length_problem(text, min, max) {
        out.push(Violation::new(path, message));
    }
}

/// What [`check_length`] says about a string, without a path (for callers that only spell the
/// path out when there is a violation).
pub(crate) fn length_problem(text: &str, min: usize, max: usize) -> Option<String> {
    let chars = text.chars().count();
    (chars < min || chars > max || (min > 0 && text.trim().is_empty()))
        .then(|| format!("must be {min} to {max} characters of text, got {chars}"))
}

/// Collects a violation for an array longer or shorter than allowed.
pub(crate) fn check_items(
    out: &mut Vec<Violation>,
    path: &str,
    len: usize,
    min: usize,
    max: usize,
) {
    if let Some(message) = items_problem(len, min, max) {
        out.push(Violation::new(path, message));
    }
}

/// What [`check_items`] says about an array's length, without a path.
pub(crate) fn items_problem(len: usize, min: usize, max: usize) -> Option<String> {
    (len < min || len > max).then(|| format!("must have {min} to {max} items, got {len}"))
}
