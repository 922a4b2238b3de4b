//! The fixed column layout of a feature row (formulas: see [`super`]).

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

/// Every column name, in order: the per-statement columns, then `b<k>.<name>` for each buffer
/// slot `k` in `0..N_BUFFERS`.
pub const FEATURE_NAMES: &[&str] = &[
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
    "b0.is_read",
    "b0.is_write",
    "b0.is_shared",
    "b0.is_local",
    "b0.bytes",
    "b0.unique_bytes",
    "b0.lines",
    "b0.unique_lines",
    "b0.reuse",
    "b0.reuse_dist_iter",
    "b0.reuse_dist_bytes",
    "b0.reuse_count",
    "b0.stride",
    "b0.warp_sectors",
    "b1.is_read",
    "b1.is_write",
    "b1.is_shared",
    "b1.is_local",
    "b1.bytes",
    "b1.unique_bytes",
    "b1.lines",
    "b1.unique_lines",
    "b1.reuse",
    "b1.reuse_dist_iter",
    "b1.reuse_dist_bytes",
    "b1.reuse_count",
    "b1.stride",
    "b1.warp_sectors",
    "b2.is_read",
    "b2.is_write",
    "b2.is_shared",
    "b2.is_local",
    "b2.bytes",
    "b2.unique_bytes",
    "b2.lines",
    "b2.unique_lines",
    "b2.reuse",
    "b2.reuse_dist_iter",
    "b2.reuse_dist_bytes",
    "b2.reuse_count",
    "b2.stride",
    "b2.warp_sectors",
    "b3.is_read",
    "b3.is_write",
    "b3.is_shared",
    "b3.is_local",
    "b3.bytes",
    "b3.unique_bytes",
    "b3.lines",
    "b3.unique_lines",
    "b3.reuse",
    "b3.reuse_dist_iter",
    "b3.reuse_dist_bytes",
    "b3.reuse_count",
    "b3.stride",
    "b3.warp_sectors",
    "b4.is_read",
    "b4.is_write",
    "b4.is_shared",
    "b4.is_local",
    "b4.bytes",
    "b4.unique_bytes",
    "b4.lines",
    "b4.unique_lines",
    "b4.reuse",
    "b4.reuse_dist_iter",
    "b4.reuse_dist_bytes",
    "b4.reuse_count",
    "b4.stride",
    "b4.warp_sectors",
];

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
