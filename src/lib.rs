//! tilegrad: a differentiable auto-scheduler and autotuner for tensor kernels.
//!
//! This crate is the library façade (what a compiler links) and hosts the `tilegrad`
//! command-line tool. The building blocks live in the workspace crates, re-exported here:
//!
//! * [`symbolic`]: expressions over schedule variables, loop trees, schedule spaces, targets
//!   ([`symbolic::Target`], GPU presets), exact and relaxed evaluation, features.
//! * [`templates`]: operators and workloads with a canonical text form
//!   (`matmul(M=64,N=64,K=64)+bias+relu`), reference implementations and the sketch rules
//!   ([`templates::sketches`]) that turn a workload into symbolic schedules.
//! * [`measure`]: code generation (C, CUDA), parallel builds, the isolated measurement worker,
//!   verification against the reference and timing ([`measure::CpuMeasurer`]).
//! * [`cost_model`]: the learned performance model over symbolic features.
//! * [`search`]: gradient-based and evolutionary search over schedule spaces.
//! * [`datasets`]: shipped network task lists and the tuning log format.
//!
//! ```
//! let w: tilegrad::templates::Workload = "matmul(M=64,N=64,K=64)".parse().unwrap();
//! let target = tilegrad::symbolic::Target::preset("a100").unwrap();
//! assert!(!tilegrad::templates::sketches(&w, &target).unwrap().is_empty());
//! ```

pub mod database;
pub mod error;
pub mod target;
pub mod tune;

pub use database::{Database, Language, Launch, LookupKind, Param, TunedKernel};
pub use error::Error;
pub use tune::{prepare, tune, Prepared, TuneOptions, TuneRun};

pub use tilegrad_cost_model as cost_model;
pub use tilegrad_datasets as datasets;
pub use tilegrad_measure as measure;
pub use tilegrad_search as search;
pub use tilegrad_symbolic as symbolic;
pub use tilegrad_templates as templates;
