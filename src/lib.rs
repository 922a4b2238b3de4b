//! tilegrad: a differentiable auto-scheduler and autotuner for tensor kernels.
//!
//! This crate is the library façade; the building blocks live in the workspace crates
//! re-exported here.

pub use tilegrad_symbolic as symbolic;
