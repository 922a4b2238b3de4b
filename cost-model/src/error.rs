//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong in the cost model.
#[derive(Debug, Error)]
pub enum CostModelError {
    /// A saved model was built for a different feature-set version.
    #[error("feature-set version mismatch: model was trained on feature version `{found}`, caller expects `{expected}`")]
    FeatureVersionMismatch {
        /// The version the caller (the current feature extractor) expects.
        expected: String,
        /// The version recorded in the saved model.
        found: String,
    },
    /// The number of feature columns does not match the model.
    #[error("feature count mismatch: expected {expected} columns, found {found}")]
    FeatureCountMismatch {
        /// Columns the model expects.
        expected: usize,
        /// Columns supplied.
        found: usize,
    },
    /// A feature batch or program is malformed (inconsistent lengths or offsets).
    #[error("malformed features: {0}")]
    MalformedFeatures(String),
    /// A feature or label is NaN or infinite.
    #[error("non-finite value in {0}")]
    NonFinite(String),
    /// Training needs at least one sample with a measured label.
    #[error("no labelled samples to fit on")]
    NoLabels,
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The saved bytes are not a model this crate can read.
    #[error("cannot decode saved model: {0}")]
    Decode(String),
    /// The saved model's content hash does not match its weights.
    #[error("content hash mismatch: metadata says {expected}, weights hash to {found}")]
    HashMismatch {
        /// Hash recorded in the metadata.
        expected: String,
        /// Hash of the weights actually stored.
        found: String,
    },
    /// Reading or writing a path passed by the caller failed.
    #[error("io error on {path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, CostModelError>;
