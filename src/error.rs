//! The library façade's error type.

use tilegrad_datasets::DatasetError;
use tilegrad_measure::MeasureError;
use tilegrad_templates::TemplateError;

/// Errors of the `tilegrad` library façade ([`crate::Database`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database has no usable schedule for the workload on the target or a compatible
    /// one (see [`tilegrad_datasets::db`] for the lookup policy). Never replaced by a default.
    #[error("`{workload}` is not tuned for `{target}`: {reason}")]
    NotTuned {
        /// Canonical workload text.
        workload: String,
        /// Key of the target asked for.
        target: String,
        /// Why (no records, only failures, only incompatible targets).
        reason: String,
    },
    /// The best stored record cannot be turned back into a kernel for this target (its sketch
    /// or assignment no longer exists or is illegal here, e.g. after a sketch-rule change).
    #[error("the stored schedule `{sketch}` [{assignment}] of `{workload}` does not apply: {msg}")]
    RecordDoesNotApply {
        /// Canonical workload text.
        workload: String,
        /// Sketch id of the record.
        sketch: String,
        /// Assignment text of the record.
        assignment: String,
        /// What failed.
        msg: String,
    },
    /// A target name that is malformed, or names hardware that is not there.
    #[error("{0}")]
    Target(String),
    /// The schedule database failed (open, query, schema version).
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// A workload or sketch error.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Tuning failed (search, cost model, log).
    #[error(transparent)]
    Search(#[from] tilegrad_search::SearchError),
    /// Code generation failed.
    #[error(transparent)]
    Measure(#[from] MeasureError),
}
