//! Code generation from concrete loop trees ([`tilegrad_symbolic::LoopTree`]).
//!
//! * [`c`]: C with OpenMP and GCC vector types for the CPU target; [`c_prelude`]: the helper
//!   definitions every C kernel starts with (polynomial exp/sigmoid/tanh/erf/log).

pub mod c;
mod c_expr;
mod c_hoist;
mod c_interval;
mod c_jam;
mod c_loop;
mod c_math;
pub mod c_prelude;
mod c_promote;
mod c_value;
mod c_vec;
pub mod cuda;
