//! tilegrad-datasets: on-disk formats and shipped data.
//!
//! So far: the network task lists ([`networks`]) and the tuning log ([`log`]).

pub mod error;
pub mod log;
pub mod networks;

pub use error::DatasetError;
pub use log::{
    LogContents, Outcome, Provenance, Record, TargetInfo, Timings, TuningLog, LOG_VERSION,
};
pub use networks::Task;
