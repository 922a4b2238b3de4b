//! The crate's error type.

/// Errors of the shipped data and on-disk formats.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// No shipped task list of that name and batch.
    #[error("unknown network `{name}` at batch {batch} (known: {known})")]
    UnknownNetwork {
        /// Name asked for.
        name: String,
        /// Batch asked for.
        batch: u32,
        /// The shipped `<name>_b<batch>` lists.
        known: String,
    },
    /// A line of a task list that does not parse.
    #[error("{file}:{line}: {msg}")]
    TaskLine {
        /// Task list name (`resnet50_b1`).
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A workload that does not parse or validate.
    #[error("{file}:{line}: {source}")]
    Workload {
        /// Task list name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The templates error.
        source: tilegrad_templates::TemplateError,
    },
    /// A file could not be read or written.
    #[error("{path}: {msg}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        msg: String,
    },
    /// A tuning-log line that does not parse (other than a torn last line).
    #[error("{file}:{line}: {msg}")]
    LogLine {
        /// The log file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A schedule-database operation failed (SQLite error, schema version, conflict).
    #[error("{path}: {msg}")]
    Db {
        /// The database file.
        path: String,
        /// The cause.
        msg: String,
    },
    /// A malformed fold split (`H/N` with `H < N`).
    #[error("bad split `{text}`: {msg}")]
    Split {
        /// The text given.
        text: String,
        /// What is wrong.
        msg: String,
    },
}
