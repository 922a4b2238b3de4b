//! Program features of a scheduled [`crate::LoopTree`] as expressions of the schedule
//! variables (what makes tilegrad differentiable: gradients flow from a cost model's
//! prediction back to tile sizes), plus the direct computation on concrete trees that tests
//! use as the oracle.
//!
//! The definitions are written once, generically over a small number trait
//! (`algebra::Algebra`), with two implementations: expression building in an arena (the
//! symbolic path, compiled by [`FeatureSet`] into one [`crate::Tape`]) and plain `f64` on
//! a concrete (instantiated) tree ([`direct_features`]). The oracle thus shares the
//! *definitions* but none of the symbolic machinery (substitution, simplification, tape,
//! relaxation).
//!
//! # Rows and columns
//! One row per store (program order of [`crate::LoopTree::stores`]); the columns are
//! [`FEATURE_NAMES`] (version [`FEATURE_VERSION`]). Every numeric column enters as
//! `log(1 + x)`; the 0/1 flags ([`names::is_boolean`]) are raw. A store under a guard on
//! schedule variables only gets its whole row multiplied by the guard (0/1); guards that
//! mention loop variables (partial-tile bounds checks) are ignored: counts are over the
//! full loop nest. Notation: `path` = the loops enclosing the store, `A = Π extent(path)`.
//!
//! Per statement:
//! * `float_ops` = `A · n_ops`, `n_ops` = unary, binary and select nodes of the stored value;
//!   by class: `float_addsub` (`+ − neg`), `float_mul`, `float_div`, `float_cmp` (`min max
//!   abs relu select`), `float_math` (`exp log sqrt rsqrt tanh erf sigmoid`), each `A · count`.
//! * `int_ops` = `A · (2 · Σ_access dims + loop guards)` (address arithmetic proxy).
//! * `n_loops` = number of enclosing loops.
//! * `loop_product` = `A` (outer loop product).
//! * `block_extent`, `thread_extent`, `vthread_extent`, `unrolled_product`, `vector_lanes`,
//!   `parallel_extent` = Π of the extents of the enclosing loops of that kind.
//! * `unroll_max_step` = max of the enclosing loops' `auto_unroll_max_step` pragma (0: none).
//! * `is_reduction`, `is_init`: the store kind.
//! * `shared_bytes` = Σ over shared buffers allocated in the store's kernel of `4 · Π shape`;
//!   `local_bytes` likewise for local buffers (per thread).
//! * GPU only (0 on CPU): with `T = thread_extent`, `B = block_extent`,
//!   `R = local elements + REG_BASE` (register estimate) and `S = shared_bytes`, resident
//!   blocks per SM `res = max(1, min(max_blocks_per_sm, ⌊max_threads_per_sm / T⌋,
//!   ⌊registers_per_sm / (R·T)⌋, ⌊shared_mem_per_sm / max(S, 1)⌋))`;
//!   `waves = B / (sm_count · res)`, `occupancy = res · T / max_threads_per_sm`,
//!   `reg_estimate = R`, `arith_intensity = n_ops · Π extent(non-block loops) /
//!   max(1, Σ_global accesses unique bytes per block)` (footprints with the block loops
//!   pinned at 0).
//! * CPU only (0 on GPU): `parallel_per_core = parallel_extent / cores`,
//!   `vector_fill = vector_lanes / (simd_bytes / 4)`, `ws_l1|l2|l3 = W / cache bytes`, `W` =
//!   Σ_access footprint bytes over the loops inside the outermost parallel loop (all loops
//!   without one): the working set of one core.
//!
//! Per buffer slot `b<k>` (`k < N_BUFFERS`): the written buffer, then the loaded buffers in
//! order of first appearance; a buffer accessed several times is one slot (its first access
//! gives the region, `n` counts the accesses); missing slots are all zero.
//! * `is_read`, `is_write`, `is_shared`, `is_local`: flags.
//! * `bytes` = `4 · n · A`; `unique_bytes` = `4 · F`, `F = Π_d F_d`, `F_d = max(1, min(hi_d − lo_d + 1, shape_d))`
//!   over the interval of each index dimension with every enclosing loop ranged (see
//!   `region` for the interval rules).
//! * `stride` = `|flat[v := 1] − flat[v := 0]|` (other loop variables 0, row-major flattened
//!   index) for `v` the innermost enclosing loop whose variable occurs in the index (0 if
//!   none): the coefficient of `v` for an affine index; for fused-loop `floordiv`/`mod`
//!   indices it is the step of the first iteration only (an approximation).
//! * `lines` = `n · A · min(1, 4 · max(stride, 1) / 128)` (128-byte cache lines over the nest);
//!   `unique_lines` = `Π_{d<last} F_d · ⌈4 · F_last / 128⌉`.
//! * `reuse`, `reuse_dist_iter`, `reuse_dist_bytes`, `reuse_count` (Ansor's loop-multiple-
//!   read reuse): with `r` the innermost enclosing loop whose variable does not occur in
//!   the index, `reuse = 1`, `reuse_count = extent(r)`, `reuse_dist_iter` = Π extents of
//!   the loops inside `r`, `reuse_dist_bytes` = 4 · footprint over the loops inside `r`;
//!   all 0 without such a loop.
//! * `warp_sectors` (GPU, under a `threadIdx.x` loop; else 0) = `min(w, ⌈(4 · (w − 1) · s_x
//!   + 4) / 32⌉)`, `w = min(32, extent(threadIdx.x))`, `s_x` = |stride of the
//!   `threadIdx.x` variable|: 32-byte sectors per warp-wide access (1 = broadcast,
//!   `w` = uncoalesced).
//!
//! Constraints are in [`mod@crate::constraints`].

pub(crate) mod algebra;
pub(crate) mod context;
mod direct;
pub mod names;
mod region;
mod rows;
mod set;

pub use direct::direct_features;
pub use names::{
    FEATURE_NAMES, N_ROW_FEATURES, N_SLOT_FEATURES, ROW_FEATURE_NAMES, SLOT_FEATURE_NAMES,
};
/// Re-export of the array crate of [`FeatureSet`]'s API (for crates without a direct dependency).
pub use ndarray;
pub use set::{FeatureEval, FeatureSet};

/// Version of the feature layout and definitions; bumped on any change so that a trained
/// model never reads features of another version.
pub const FEATURE_VERSION: &str = "tg-feat-1";

/// Number of buffer slots per row.
pub const N_BUFFERS: usize = 5;

/// Number of columns of a row.
pub const N_FEATURES: usize = N_ROW_FEATURES + N_BUFFERS * N_SLOT_FEATURES;

/// Registers per thread besides local buffers (indices, addresses, loop counters).
pub const REG_BASE: f64 = 16.0;

/// Cache line, bytes.
pub const LINE_BYTES: f64 = 128.0;

/// DRAM sector (the unit of a coalesced access), bytes.
pub const SECTOR_BYTES: f64 = 32.0;
