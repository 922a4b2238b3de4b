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
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, SearchError>;
