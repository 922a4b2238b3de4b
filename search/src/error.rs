//! The crate's error type.

use tilegrad_symbolic::SymbolicError;

/// Everything that can go wrong in a search policy.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A space operation (rounding, projection, decoding, …) failed.
    #[error("space: {0}")]
    Symbolic(#[from] SymbolicError),
    /// A policy configuration value is out of range.
    #[error("invalid search configuration: {0}")]
    InvalidConfig(String),
    /// An [`Objective`](crate::Objective) returned something malformed or failed.
    #[error("objective: {0}")]
    Objective(String),
    /// The L-BFGS optimiser (argmin) failed.
    #[error("l-bfgs: {0}")]
    Lbfgs(String),
    /// A tuning report was fed inconsistent data, or its JSON is malformed or of another
    /// version.
    #[error("report: {0}")]
    Report(String),
    /// The tuner could not set up a task (no sketch applies, a feature set failed to build).
    #[error("tuner task: {0}")]
    Task(String),
    /// Reading or writing the tuning log failed.
    #[error("tuning log: {0}")]
    Log(String),
    /// A record sink other than the log (the schedule database) failed.
    #[error("record sink: {0}")]
    Sink(String),
    /// The cost model failed (prediction or fitting).
    #[error("cost model: {0}")]
    Model(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, SearchError>;
