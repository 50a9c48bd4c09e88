//! The crate's error type.

use crate::kind::JobKind;

/// Everything that can go wrong in this crate outside input validation (which returns
/// [`crate::InputRejection`]) and output checking (which returns [`crate::Violation`]s).
#[derive(Debug, thiserror::Error)]
pub enum CoachError {
    /// A job kind name that SPARTA does not know.
    #[error("unknown job kind `{0}`; known kinds: {known}", known = JobKind::names().join(", "))]
    UnknownKind(String),
    /// The engine could not produce an answer for a valid input. This is a bug in the engine,
    /// never the client's fault.
    #[error("the {kind} engine failed: {message}")]
    Engine {
        /// The job kind.
        kind: JobKind,
        /// What went wrong.
        message: String,
    },
    /// A typed value could not be turned into JSON (a bug; kept as an error rather than a panic).
    #[error("could not serialize to JSON: {0}")]
    Json(#[from] serde_json::Error),
}
