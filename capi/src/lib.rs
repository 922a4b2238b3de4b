//! tilegrad-capi: the C ABI of the schedule database, for compilers written in C or C++.
//!
//! Declared in `include/tilegrad.h` (hand-written; a test checks that every exported
//! function is declared there and nothing else is). The calls mirror
//! [`tilegrad::Database`]: open a database, ask for the best kernel of a workload on a
//! target, read its source, entry point, launch configuration, parameters and measured time,
//! free it, close the database.
//!
//! Rules of the ABI:
//! * every function is null-safe (a null handle is an argument error or a harmless no-op)
//!   and never unwinds into C: panics are caught and reported as [`TG_ERR_INTERNAL`];
//! * statuses are the `TG_*` codes; on any failure [`tg_last_error`] (per thread) says why,
//!   including the "not tuned" reason;
//! * strings returned by a `tg_kernel_*` accessor live as long as the kernel handle.

mod ffi;
mod handles;
mod target;

pub use ffi::*;
pub use handles::{TgDb, TgKernel, TgLaunch};
pub use target::parse_target;

/// Success.
pub const TG_OK: i32 = 0;
/// The workload is not tuned for the target or a compatible one (see [`tg_last_error`]).
pub const TG_NOT_TUNED: i32 = 1;
/// A bad argument: null pointer, invalid UTF-8, unparsable workload, unknown target.
pub const TG_ERR_ARG: i32 = 2;
/// The database could not be read.
pub const TG_ERR_DB: i32 = 3;
/// The stored schedule could not be turned into a kernel (sketch or code generation).
pub const TG_ERR_CODEGEN: i32 = 4;
/// An internal error (a caught panic).
pub const TG_ERR_INTERNAL: i32 = 5;

/// `TgLaunch::kind` of a CPU kernel.
pub const TG_LAUNCH_CPU: i32 = 0;
/// `TgLaunch::kind` of a CUDA kernel.
pub const TG_LAUNCH_CUDA: i32 = 1;
