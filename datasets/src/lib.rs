//! tilegrad-datasets: on-disk formats and shipped data.
//!
//! So far: the network task lists ([`networks`]).

pub mod error;
pub mod networks;

pub use error::DatasetError;
pub use networks::Task;
