//! tilegrad-datasets: on-disk formats and shipped data.
//!
//! The network task lists ([`networks`]), benchmark suites ([`suites`]), the tuning log ([`log`]) and the SQLite schedule
//! database ([`db`]).

pub mod db;
pub mod error;
mod lines;
pub mod log;
pub mod networks;
pub mod suites;

pub use db::{DbStats, ImportStats, Lookup, MergeStats, ScheduleDb, DB_SCHEMA_VERSION};
pub use error::DatasetError;
pub use log::{
    LogContents, Outcome, Provenance, Record, TargetInfo, Timings, TuningLog, LOG_VERSION,
};
pub use networks::Task;
pub use suites::{Split, Suite, SuiteEntry};
