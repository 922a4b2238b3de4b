//! The fixed column layout of a feature row (formulas: see [`super`]).

use std::sync::LazyLock;

use super::N_BUFFERS;

/// Number of per-statement columns (before the buffer slots).
pub const N_ROW_FEATURES: usize = 29;

/// Number of columns per buffer slot.
pub const N_SLOT_FEATURES: usize = 14;

/// Names of the per-statement columns, in order.
pub const ROW_FEATURE_NAMES: [&str; N_ROW_FEATURES] = [
    "float_ops",
    "float_addsub",
    "float_mul",
    "float_div",
    "float_cmp",
    "float_math",
    "int_ops",
    "n_loops",
    "loop_product",
    "block_extent",
    "thread_extent",
    "vthread_extent",
    "unrolled_product",
    "unroll_max_step",
    "vector_lanes",
    "parallel_extent",
    "is_reduction",
    "is_init",
    "shared_bytes",
    "local_bytes",
    "waves",
    "occupancy",
    "reg_estimate",
    "arith_intensity",
    "parallel_per_core",
    "vector_fill",
    "ws_l1",
    "ws_l2",
    "ws_l3",
];

/// Names of the columns of one buffer slot, in order.
pub const SLOT_FEATURE_NAMES: [&str; N_SLOT_FEATURES] = [
    "is_read",
    "is_write",
    "is_shared",
    "is_local",
    "bytes",
    "unique_bytes",
    "lines",
    "unique_lines",
    "reuse",
    "reuse_dist_iter",
    "reuse_dist_bytes",
    "reuse_count",
    "stride",
    "warp_sectors",
];

/// Every column name, in order: the per-statement columns ([`ROW_FEATURE_NAMES`]), then
/// `b<k>.<name>` for each buffer slot `k` in `0..N_BUFFERS` ([`SLOT_FEATURE_NAMES`]).
pub static FEATURE_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let slots = (0..N_BUFFERS).flat_map(|k| {
        SLOT_FEATURE_NAMES
            .iter()
            .map(move |n| &*Box::leak(format!("b{k}.{n}").into_boxed_str()))
    });
    ROW_FEATURE_NAMES.iter().copied().chain(slots).collect()
});

/// Columns taken raw (0/1 flags); every other column is `log(1 + x)`.
pub fn is_boolean(name: &str) -> bool {
    let base = name.rsplit('.').next().unwrap_or(name);
    matches!(
        base,
        "is_reduction" | "is_init" | "is_read" | "is_write" | "is_shared" | "is_local" | "reuse"
    )
}

/// Positions of the per-statement columns in a row.
pub(crate) mod col {
    pub const FLOAT_OPS: usize = 0;
    pub const FLOAT_ADDSUB: usize = 1;
    pub const FLOAT_MUL: usize = 2;
    pub const FLOAT_DIV: usize = 3;
    pub const FLOAT_CMP: usize = 4;
    pub const FLOAT_MATH: usize = 5;
    pub const INT_OPS: usize = 6;
    pub const N_LOOPS: usize = 7;
    pub const LOOP_PRODUCT: usize = 8;
    pub const BLOCK_EXTENT: usize = 9;
    pub const THREAD_EXTENT: usize = 10;
    pub const VTHREAD_EXTENT: usize = 11;
    pub const UNROLLED_PRODUCT: usize = 12;
    pub const UNROLL_MAX_STEP: usize = 13;
    pub const VECTOR_LANES: usize = 14;
    pub const PARALLEL_EXTENT: usize = 15;
    pub const IS_REDUCTION: usize = 16;
    pub const IS_INIT: usize = 17;
    pub const SHARED_BYTES: usize = 18;
    pub const LOCAL_BYTES: usize = 19;
    pub const WAVES: usize = 20;
    pub const OCCUPANCY: usize = 21;
    pub const REG_ESTIMATE: usize = 22;
    pub const ARITH_INTENSITY: usize = 23;
    pub const PARALLEL_PER_CORE: usize = 24;
    pub const VECTOR_FILL: usize = 25;
    pub const WS_L1: usize = 26;
    pub const WS_L2: usize = 27;
    pub const WS_L3: usize = 28;
}
