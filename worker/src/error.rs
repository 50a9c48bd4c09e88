//! The crate's one error type.

/// What can stop a worker from starting.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// A job kind's task could not be built (bad schema, unknown model).
    #[error("job kind '{kind}' cannot run: {source}")]
    Task {
        /// The kind.
        kind: String,
        /// Why.
        #[source]
        source: sparta_ai::AiError,
    },
    /// A setting is unusable.
    #[error("{0}")]
    Config(String),
    /// The store or queue failed.
    #[error(transparent)]
    Jobs(#[from] sparta_jobs::JobsError),
}
