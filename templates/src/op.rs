//! The operators: one enum variant per operator, holding its named integer
//! parameters (the text-form parameter tables are in `params`).
//!
//! Every operator is written `name(P=v,...)`. Each parameter has a fixed
//! position in the canonical text and a print rule: shape parameters and the
//! conv/pool `stride`/`pad` are always printed; the others (`dilation`,
//! `groups`, `trans_a`, broadcast flags, ...) only when they differ from their
//! default. The parser accepts parameters in any order and fills in defaults.

/// `C = A·B` with `A: [M,K]` (`[K,M]` if `trans_a`) and `B: [K,N]` (`[N,K]`
/// if `trans_b`; a dense layer with weights `[N,K]` is `trans_b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Matmul {
    /// Rows of the output.
    pub m: usize,
    /// Columns of the output.
    pub n: usize,
    /// Reduction length.
    pub k: usize,
    /// `A` is stored `[K,M]`.
    pub trans_a: bool,
    /// `B` is stored `[N,K]`.
    pub trans_b: bool,
}

/// `C[b] = A[b]·B[b]` for `b < B`, operands as in [`Matmul`] with a leading
/// batch dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchMatmul {
    /// Batch count.
    pub b: usize,
    /// Rows of each output matrix.
    pub m: usize,
    /// Columns of each output matrix.
    pub n: usize,
    /// Reduction length.
    pub k: usize,
    /// `A` is stored `[B,K,M]`.
    pub trans_a: bool,
    /// `B` is stored `[B,N,K]`.
    pub trans_b: bool,
}

/// 2-D convolution, NHWC input `[N,H,W,C]`, weights `[R,S,C/groups,K]`,
/// output `[N,P,Q,K]`; symmetric padding; `groups == C` is depthwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2d {
    /// Batch.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub c: usize,
    /// Output channels.
    pub k: usize,
    /// Kernel height.
    pub r: usize,
    /// Kernel width.
    pub s: usize,
    /// Stride (both spatial dims).
    pub stride: usize,
    /// Zero padding on each side (both spatial dims).
    pub pad: usize,
    /// Kernel dilation (both spatial dims).
    pub dilation: usize,
    /// Channel groups.
    pub groups: usize,
}

/// 2-D transposed convolution (the gradient of a strided conv), NHWC input
/// `[N,H,W,C]`, weights `[R,S,C,K]`, output `[N,P,Q,K]` with
/// `P = (H-1)·stride − 2·pad + R + output_pad`:
/// `out[n,p,q,k] = Σ in[n,h,w,c]·w[r,s,c,k]` over `p = h·stride − pad + r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2dTranspose {
    /// Batch.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub c: usize,
    /// Output channels.
    pub k: usize,
    /// Kernel height.
    pub r: usize,
    /// Kernel width.
    pub s: usize,
    /// Stride.
    pub stride: usize,
    /// Cropping on each side.
    pub pad: usize,
    /// Extra rows/columns at the end of the output (< stride).
    pub output_pad: usize,
}

/// 3-D convolution, NDHWC input `[N,D,H,W,C]`, weights `[T,R,S,C/groups,K]`,
/// output `[N,Z,P,Q,K]`; depth has its own stride/pad/dilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv3d {
    /// Batch.
    pub n: usize,
    /// Input depth.
    pub d: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub c: usize,
    /// Output channels.
    pub k: usize,
    /// Kernel depth.
    pub t: usize,
    /// Kernel height.
    pub r: usize,
    /// Kernel width.
    pub s: usize,
    /// Depth stride.
    pub stride_d: usize,
    /// Height/width stride.
    pub stride: usize,
    /// Depth padding.
    pub pad_d: usize,
    /// Height/width padding.
    pub pad: usize,
    /// Depth dilation.
    pub dilation_d: usize,
    /// Height/width dilation.
    pub dilation: usize,
    /// Channel groups.
    pub groups: usize,
}

/// Max or average.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// Maximum over the window; padding is −∞.
    Max,
    /// Mean over the window; padding counts as 0 and the divisor is `R·S`
    /// (PyTorch `count_include_pad=True`).
    Avg,
}

/// 2-D pooling, NHWC `[N,H,W,C]` → `[N,P,Q,C]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2d {
    /// Max or average.
    pub kind: PoolKind,
    /// Batch.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Window height.
    pub r: usize,
    /// Window width.
    pub s: usize,
    /// Stride.
    pub stride: usize,
    /// Padding on each side (at most half the window).
    pub pad: usize,
}

/// Global (adaptive to 1×1) average pooling over the spatial dims, NHWC
/// `[N,H,W,C]` or NDHWC `[N,D,H,W,C]` → `[N,C]`; `d == 1` for the 2-D form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalAvgPool {
    /// 3-D (NDHWC) form; else 2-D and `d == 1`.
    pub three_d: bool,
    /// Batch.
    pub n: usize,
    /// Depth (1 in 2-D).
    pub d: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

/// A row-wise operator on `[M,N]` (softmax, layer norm, RMS norm), working
/// along the last axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rows {
    /// Rows.
    pub m: usize,
    /// Row length (the normalised axis).
    pub n: usize,
}

/// Binary elementwise function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryFn {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a · b`.
    Mul,
    /// `a / b`.
    Div,
    /// `max(a, b)`.
    Max,
    /// `min(a, b)`.
    Min,
}

impl BinaryFn {
    /// Applies the function in f64.
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            BinaryFn::Add => a + b,
            BinaryFn::Sub => a - b,
            BinaryFn::Mul => a * b,
            BinaryFn::Div => a / b,
            BinaryFn::Max => a.max(b),
            BinaryFn::Min => a.min(b),
        }
    }
}

/// Broadcasting binary op: `out[b,m,n] = f(lhs[b,m,n], rhs[b',m',n'])` where
/// the rhs has extent 1 in each dimension flagged `bcast_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Binary {
    /// The function.
    pub func: BinaryFn,
    /// Outer dim (default 1).
    pub b: usize,
    /// Middle dim.
    pub m: usize,
    /// Inner dim.
    pub n: usize,
    /// The rhs is broadcast along `B`.
    pub bcast_b: bool,
    /// The rhs is broadcast along `M`.
    pub bcast_m: bool,
    /// The rhs is broadcast along `N`.
    pub bcast_n: bool,
}

/// Rotary position embedding (rotate-half form) on `x: [B,M,N]` with tables
/// `cos, sin: [M,N]`: `out = x·cos + rot(x)·sin`, `rot(x)[n] = −x[n+N/2]`
/// for `n < N/2`, `x[n−N/2]` otherwise. `N` must be even.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rope {
    /// Batch × heads.
    pub b: usize,
    /// Sequence positions.
    pub m: usize,
    /// Head dimension (even).
    pub n: usize,
}

/// An operator with concrete shapes (no dtype, no epilogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `matmul`: dense / matrix multiply.
    Matmul(Matmul),
    /// `batch_matmul`.
    BatchMatmul(BatchMatmul),
    /// `conv2d` (grouped, depthwise, dilated).
    Conv2d(Conv2d),
    /// `conv2d_transpose`.
    Conv2dTranspose(Conv2dTranspose),
    /// `conv3d`.
    Conv3d(Conv3d),
    /// `max_pool2d` / `avg_pool2d`.
    Pool2d(Pool2d),
    /// `global_avg_pool2d` / `global_avg_pool3d`.
    GlobalAvgPool(GlobalAvgPool),
    /// `softmax` along the last axis.
    Softmax(Rows),
    /// `layer_norm` along the last axis, with `gamma, beta: [N]`, eps 1e-5.
    LayerNorm(Rows),
    /// `rms_norm` along the last axis, with `gamma: [N]`, eps 1e-6.
    RmsNorm(Rows),
    /// `elemwise`: a copy of `x: [M,N]`; the epilogue supplies the function
    /// (e.g. `elemwise(M=1,N=8)+gelu`).
    Elemwise(Rows),
    /// `add`, `sub`, `mul`, `div`, `maximum`, `minimum` with broadcasting.
    Binary(Binary),
    /// `rope`.
    Rope(Rope),
}

/// All operator names accepted by the parser.
pub const OP_NAMES: &[&str] = &[
    "matmul",
    "batch_matmul",
    "conv2d",
    "conv2d_transpose",
    "conv3d",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "global_avg_pool3d",
    "softmax",
    "layer_norm",
    "rms_norm",
    "elemwise",
    "add",
    "sub",
    "mul",
    "div",
    "maximum",
    "minimum",
    "rope",
];

impl Op {
    /// The operator's name in the text form.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Matmul(_) => "matmul",
            Op::BatchMatmul(_) => "batch_matmul",
            Op::Conv2d(_) => "conv2d",
            Op::Conv2dTranspose(_) => "conv2d_transpose",
            Op::Conv3d(_) => "conv3d",
            Op::Pool2d(p) => match p.kind {
                PoolKind::Max => "max_pool2d",
                PoolKind::Avg => "avg_pool2d",
            },
            Op::GlobalAvgPool(g) if g.three_d => "global_avg_pool3d",
            Op::GlobalAvgPool(_) => "global_avg_pool2d",
            Op::Softmax(_) => "softmax",
            Op::LayerNorm(_) => "layer_norm",
            Op::RmsNorm(_) => "rms_norm",
            Op::Elemwise(_) => "elemwise",
            Op::Binary(b) => match b.func {
                BinaryFn::Add => "add",
                BinaryFn::Sub => "sub",
                BinaryFn::Mul => "mul",
                BinaryFn::Div => "div",
                BinaryFn::Max => "maximum",
                BinaryFn::Min => "minimum",
            },
            Op::Rope(_) => "rope",
        }
    }
}
