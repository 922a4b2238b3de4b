//! The compute of a workload as a TE-style list of loop-nest stages.
//!
//! A [`ComputeDef`] declares tensors (inputs, intermediates, one output) and
//! a list of [`Stage`]s in execution order. Each stage writes one tensor:
//!
//! ```text
//! for s_0 < e_0, …, s_{n-1} < e_{n-1}:            // spatial axes = output dims
//!     acc = combiner.init()
//!     for r_0 < f_0, …:                           // reduction axes
//!         acc = combiner(acc, body)
//!     out[s_0, …, s_{n-1}] = post[Acc := acc]
//! ```
//!
//! With [`Combiner::None`] there are no reduction axes and `acc = body`.
//! Axes are referred to by [`AxisId`]: spatial axes first, then reduction
//! axes. Every tensor access is a [`ValueExpr::Load`] with one affine
//! [`IndexExpr`] per dimension; accesses that may fall outside the tensor
//! (padding, transposed-conv holes) carry a `pad` value returned instead.
//! Fused epilogues live in the last stage's `post`.
//!
//! Tensor shapes here are *logical views*: a dimension of the workload's
//! tensor may be split into several (a grouped conv's `K` into `[G, K/G]`),
//! and size-1 group dims are dropped, but the row-major flat layout is always
//! exactly that of the workload's tensors (`Workload::input_shapes`).

pub use crate::index::{Guard, IndexExpr, Term};
use crate::op::BinaryFn;

/// Index of a tensor in [`ComputeDef::tensors`].
pub type TensorId = usize;
/// Index of an axis in a stage: `0..spatial.len()` are the spatial axes,
/// then the reduction axes.
pub type AxisId = usize;

/// What a tensor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorRole {
    /// Read-only input, supplied by the caller (in declaration order).
    Input,
    /// Written by one stage and read by later ones.
    Intermediate,
    /// The final result (exactly one).
    Output,
}

/// A tensor declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorDecl {
    /// Name (unique in the definition), e.g. `A`, `weight`, `bias`.
    pub name: String,
    /// Logical shape, row-major.
    pub shape: Vec<usize>,
    /// Input, intermediate or output.
    pub role: TensorRole,
    /// A layer parameter (weights, biases, norm scales, rotary tables): an input that holds
    /// the same values on every call of the kernel, so a schedule may transform it once, ahead
    /// of the calls (a prepared buffer, see `tilegrad_symbolic::looptree::BufferRole`).
    pub constant: bool,
}

impl TensorDecl {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A loop axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    /// Name, unique in the stage (`i`, `n`, `p`, `rc`, …).
    pub name: String,
    /// Trip count (>= 1).
    pub extent: usize,
}

/// How the body values over the reduction axes are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Combiner {
    /// No reduction: `acc = body`.
    None,
    /// `acc += body`, initial value 0.
    Sum,
    /// `acc = max(acc, body)`, initial value −∞.
    Max,
}

impl Combiner {
    /// The initial value of the accumulator.
    pub fn init(self) -> f64 {
        match self {
            Combiner::None | Combiner::Sum => 0.0,
            Combiner::Max => f64::NEG_INFINITY,
        }
    }

    /// Combines the accumulator with one body value.
    pub fn combine(self, acc: f64, v: f64) -> f64 {
        match self {
            Combiner::None => v,
            Combiner::Sum => acc + v,
            Combiner::Max => acc.max(v),
        }
    }
}

/// Unary scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryFn {
    /// `−x`.
    Neg,
    /// `e^x`.
    Exp,
    /// `ln x`.
    Log,
    /// `√x`.
    Sqrt,
    /// `1/√x`.
    Rsqrt,
    /// `tanh x`.
    Tanh,
    /// The error function.
    Erf,
    /// `1/(1+e^−x)`.
    Sigmoid,
    /// `max(x, 0)`.
    Relu,
}

impl UnaryFn {
    /// Applies the function in f64.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            UnaryFn::Neg => -x,
            UnaryFn::Exp => x.exp(),
            UnaryFn::Log => x.ln(),
            UnaryFn::Sqrt => x.sqrt(),
            UnaryFn::Rsqrt => 1.0 / x.sqrt(),
            UnaryFn::Tanh => x.tanh(),
            UnaryFn::Erf => crate::math::erf(x),
            UnaryFn::Sigmoid => crate::math::sigmoid(x),
            UnaryFn::Relu => x.max(0.0),
        }
    }
}

/// A scalar expression evaluated at one point of a stage's iteration space.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueExpr {
    /// A constant.
    Const(f64),
    /// `tensor[index…]`; if `pad` is set, an index out of bounds (or not
    /// exactly divisible) yields `pad` instead; if not, every access must be
    /// in bounds.
    Load {
        /// Which tensor.
        tensor: TensorId,
        /// One index per dimension of the tensor's logical shape.
        index: Vec<IndexExpr>,
        /// Value outside the tensor (0 for conv padding, −∞ for max pool).
        pad: Option<f64>,
    },
    /// The reduced value; only in a stage's `post`.
    Acc,
    /// `f(x)`.
    Unary(UnaryFn, Box<ValueExpr>),
    /// `f(a, b)`.
    Binary(BinaryFn, Box<ValueExpr>, Box<ValueExpr>),
    /// `if guard { then } else { otherwise }`; only the chosen branch is
    /// evaluated.
    Select {
        /// The condition on axis values.
        guard: Guard,
        /// Value where the guard holds.
        then: Box<ValueExpr>,
        /// Value elsewhere.
        otherwise: Box<ValueExpr>,
    },
}

impl ValueExpr {
    /// `f(self)`.
    pub fn unary(self, f: UnaryFn) -> ValueExpr {
        ValueExpr::Unary(f, Box::new(self))
    }

    /// `f(self, rhs)`.
    pub fn binary(self, f: BinaryFn, rhs: ValueExpr) -> ValueExpr {
        ValueExpr::Binary(f, Box::new(self), Box::new(rhs))
    }

    /// An always-in-bounds load.
    pub fn load(tensor: TensorId, index: Vec<IndexExpr>) -> ValueExpr {
        ValueExpr::Load {
            tensor,
            index,
            pad: None,
        }
    }

    /// Visits every node, parents before children.
    pub fn visit(&self, f: &mut dyn FnMut(&ValueExpr)) {
        f(self);
        match self {
            ValueExpr::Unary(_, a) => a.visit(f),
            ValueExpr::Binary(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
            ValueExpr::Select {
                then, otherwise, ..
            } => {
                then.visit(f);
                otherwise.visit(f);
            }
            ValueExpr::Const(_) | ValueExpr::Load { .. } | ValueExpr::Acc => {}
        }
    }

    /// Arithmetic operations in the expression (unary, binary and select
    /// nodes each count 1; loads and constants 0).
    pub fn op_count(&self) -> usize {
        let mut n = 0;
        self.visit(&mut |e| {
            if matches!(
                e,
                ValueExpr::Unary(..) | ValueExpr::Binary(..) | ValueExpr::Select { .. }
            ) {
                n += 1;
            }
        });
        n
    }

    /// Every load `(tensor, index, pad)` in the expression, in visit order.
    pub fn loads(&self) -> Vec<(TensorId, &[IndexExpr], Option<f64>)> {
        let mut out = Vec::new();
        collect_loads(self, &mut out);
        out
    }

    /// Whether `sub` occurs in the expression (as a whole node).
    pub fn contains(&self, sub: &ValueExpr) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= e == sub);
        found
    }

    /// The expression with every occurrence of `target` replaced by `with`.
    pub fn replaced(&self, target: &ValueExpr, with: &ValueExpr) -> ValueExpr {
        if self == target {
            return with.clone();
        }
        let r = |e: &ValueExpr| Box::new(e.replaced(target, with));
        match self {
            ValueExpr::Unary(f, a) => ValueExpr::Unary(*f, r(a)),
            ValueExpr::Binary(f, a, b) => ValueExpr::Binary(*f, r(a), r(b)),
            ValueExpr::Select {
                guard,
                then,
                otherwise,
            } => ValueExpr::Select {
                guard: guard.clone(),
                then: r(then),
                otherwise: r(otherwise),
            },
            ValueExpr::Const(_) | ValueExpr::Load { .. } | ValueExpr::Acc => self.clone(),
        }
    }

    pub(crate) fn map_tensors(&mut self, map: &dyn Fn(TensorId) -> TensorId) {
        match self {
            ValueExpr::Load { tensor, .. } => *tensor = map(*tensor),
            ValueExpr::Unary(_, a) => a.map_tensors(map),
            ValueExpr::Binary(_, a, b) => {
                a.map_tensors(map);
                b.map_tensors(map);
            }
            ValueExpr::Select {
                then, otherwise, ..
            } => {
                then.map_tensors(map);
                otherwise.map_tensors(map);
            }
            ValueExpr::Const(_) | ValueExpr::Acc => {}
        }
    }
}

fn collect_loads<'a>(e: &'a ValueExpr, out: &mut Vec<(TensorId, &'a [IndexExpr], Option<f64>)>) {
    match e {
        ValueExpr::Load { tensor, index, pad } => out.push((*tensor, index, *pad)),
        ValueExpr::Unary(_, a) => collect_loads(a, out),
        ValueExpr::Binary(_, a, b) => {
            collect_loads(a, out);
            collect_loads(b, out);
        }
        ValueExpr::Select {
            then, otherwise, ..
        } => {
            collect_loads(then, out);
            collect_loads(otherwise, out);
        }
        ValueExpr::Const(_) | ValueExpr::Acc => {}
    }
}

/// One loop nest writing one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Name, e.g. `matmul`, `softmax_max`.
    pub name: String,
    /// The tensor written; its logical shape equals the spatial extents.
    pub output: TensorId,
    /// Spatial axes, one per output dimension, in order.
    pub spatial: Vec<Axis>,
    /// Reduction axes (empty with [`Combiner::None`]).
    pub reduce: Vec<Axis>,
    /// How body values are combined over the reduction axes.
    pub combiner: Combiner,
    /// The value at one point of spatial × reduction axes.
    pub body: ValueExpr,
    /// Applied to the reduced value ([`ValueExpr::Acc`]); may use spatial
    /// axes only. Epilogues land here.
    pub post: ValueExpr,
}

impl Stage {
    /// All axes: spatial then reduction, indexed by [`AxisId`].
    pub fn axes(&self) -> impl Iterator<Item = &Axis> + '_ {
        self.spatial.iter().chain(self.reduce.iter())
    }

    /// The axis with this id (spatial then reduction), if any.
    pub fn axis(&self, id: AxisId) -> Option<&Axis> {
        self.spatial
            .get(id)
            .or_else(|| self.reduce.get(id.checked_sub(self.spatial.len())?))
    }

    /// Whether the axis is a reduction axis.
    pub fn is_reduce(&self, axis: AxisId) -> bool {
        axis >= self.spatial.len()
    }

    /// Product of spatial extents.
    pub fn spatial_size(&self) -> f64 {
        self.spatial.iter().map(|a| a.extent as f64).product()
    }

    /// Product of reduction extents (1 if none).
    pub fn reduce_size(&self) -> f64 {
        self.reduce.iter().map(|a| a.extent as f64).product()
    }

    /// FLOPs of this stage: per iteration of the full nest, the body's ops
    /// plus 1 for the combiner (if reducing); per spatial point, the post's
    /// ops.
    pub fn flops(&self) -> f64 {
        let per_iter = self.body.op_count() as f64
            + if self.combiner == Combiner::None {
                0.0
            } else {
                1.0
            };
        self.spatial_size() * (self.reduce_size() * per_iter + self.post.op_count() as f64)
    }
}

/// The full compute of a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeDef {
    /// Tensors: inputs first (in the order of `Workload::input_shapes`),
    /// then intermediates, then the output.
    pub tensors: Vec<TensorDecl>,
    /// Stages in execution order; the last writes the output.
    pub stages: Vec<Stage>,
}

impl ComputeDef {
    /// Ids of the input tensors, in order.
    pub fn inputs(&self) -> Vec<TensorId> {
        self.ids(TensorRole::Input)
    }

    /// Id of the output tensor.
    pub fn output(&self) -> TensorId {
        self.ids(TensorRole::Output).first().copied().unwrap_or(0)
    }

    fn ids(&self, role: TensorRole) -> Vec<TensorId> {
        (0..self.tensors.len())
            .filter(|&i| self.tensors[i].role == role)
            .collect()
    }

    /// Total FLOPs (sum over stages of [`Stage::flops`]).
    pub fn flops(&self) -> f64 {
        self.stages.iter().map(Stage::flops).sum()
    }
}
