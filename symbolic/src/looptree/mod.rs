//! The loop-tree IR of a scheduled tensor program.
//!
//! A [`LoopTree`] is a kernel: a list of [`Buffer`]s and a body of [`Stmt`]s (loops, stores,
//! guards, barriers). Loop extents, buffer shapes and index expressions are [`ExprId`]s of
//! the tree's own [`ExprArena`]; the arena's variables are either *schedule variables*
//! (listed in [`LoopTree::schedule_vars`], e.g. `sp_0_1`) or *loop variables* (bound by a
//! [`Loop`], e.g. `i.0`). A tree whose extents and shapes are expressions of schedule
//! variables is *symbolic*; [`LoopTree::instantiate`] substitutes integers for the schedule
//! variables and gives a *concrete* tree, which [`crate::interp::interpret`] can run and
//! codegen can print.
//!
//! # Semantics
//! * Buffers are row-major arrays of `f32`. Global buffers with role [`BufferRole::Input`]
//!   and [`BufferRole::Output`] are the kernel arguments (inputs in order, then the output).
//! * A loop runs its body for `var = 0, 1, …, extent - 1`. Loop kinds only say how the
//!   iterations are mapped to hardware; every kind means the same as a serial loop except
//!   for [`LoopKind::ThreadIdx`], whose iterations run concurrently and synchronise at
//!   [`Stmt::Barrier`] (`__syncthreads`). [`LoopKind::VThread`] is a serial loop (TVM's
//!   virtual thread), [`LoopKind::BlockIdx`] iterations are independent blocks.
//! * A store writes one element; its [`StoreKind`] tag says whether it is a plain
//!   assignment or the init / update of a reduction (same semantics, a hint to features and
//!   codegen). Reading an element that was never written gives an unspecified value (the
//!   interpreter uses NaN).
//!
//! # Prepare statements
//! The leading top-level statements of the body that store only into buffers with role
//! [`BufferRole::Prepared`] are the tree's *prepare* statements ([`LoopTree::prepare_len`]);
//! they read inputs only, and nothing else stores into a prepared buffer. Running the whole
//! body is the meaning of the tree; since the prepare statements depend on nothing but the
//! inputs they read, a caller whose inputs are layer parameters (constant across calls) may
//! run them once and then run only the rest on every call. Codegen prints them as a separate
//! function, and prepared buffers are arguments after the output.
//!
//! # Allocation rule (no explicit allocation statements)
//! Every non-global buffer is allocated (fresh, uninitialised) at the start of each
//! iteration of its *allocation site*, computed by [`LoopTree::alloc_sites`] from the
//! positions of its uses (loads and stores):
//! * [`Scope::Global`]: the whole program (kernel arguments and global temporaries).
//! * [`Scope::Shared`]: the deepest [`LoopKind::BlockIdx`] loop enclosing every use (one
//!   copy per block). The verifier rejects a shared buffer with no such loop.
//! * [`Scope::Local`]: the deepest loop of kind [`LoopKind::ThreadIdx`],
//!   [`LoopKind::VThread`] or [`LoopKind::Parallel`] enclosing every use (one copy per
//!   thread, virtual thread or parallel iteration), or the whole program if there is none
//!   (CPU code without a parallel loop). In GPU trees the verifier requires the site to be
//!   at or inside a thread loop.
//!
//! # GPU trees
//! A tree is a *GPU tree* when it has a `BlockIdx` or `ThreadIdx` loop. The verifier
//! ([`LoopTree::verify`]) then requires: block loops form a perfect nest (a block loop
//! containing a block loop has it as its only statement) outside every thread loop;
//! every thread loop is inside a block loop; thread loops form a perfect nest too, and a
//! kernel (outermost block loop) holds at most one thread nest; every store and barrier
//! is inside a thread loop; no `Parallel` loop.

mod builder;
pub mod examples;
mod instantiate;
mod print;
mod value;
mod verify;
mod walk;

pub use builder::TreeBuilder;
pub use value::{Value, ValueBinOp, ValueUnOp};
pub use walk::{AllocSite, LoopCtx, LoopId, StoreCtx};

use crate::expr::{ExprArena, ExprId, Var};

/// Index of a buffer in [`LoopTree::buffers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(pub u32);

impl BufferId {
    /// The id as a vector index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Memory scope of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Device (or host) memory visible to the whole program.
    Global,
    /// GPU shared memory: one copy per block.
    Shared,
    /// Registers / thread-local memory: one copy per thread (see the allocation rule).
    Local,
}

impl Scope {
    /// Lower-case name used by the printer (`global`, `shared`, `local`).
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Shared => "shared",
            Scope::Local => "local",
        }
    }
}

/// Element type of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit IEEE float.
    F32,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
        }
    }

    /// Lower-case name used by the printer.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
        }
    }
}

/// What a buffer is to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BufferRole {
    /// The `i`-th input argument (read only).
    Input(usize),
    /// The output argument (exactly one per tree).
    Output,
    /// A temporary (staging copies, accumulators, intermediate results).
    Temp,
    /// A global buffer that the tree's *prepare* statements compute from the inputs (a weight
    /// packed into the layout the schedule reads). See "Prepare statements" in the module
    /// documentation.
    Prepared,
}

/// An array the kernel reads or writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    /// Name used by the printer and codegen (unique in the tree).
    pub name: String,
    /// Memory scope.
    pub scope: Scope,
    /// Element type.
    pub dtype: DType,
    /// Extents of the dimensions, row-major (expressions of schedule variables).
    pub shape: Vec<ExprId>,
    /// Argument role.
    pub role: BufferRole,
}

/// One of the three hardware axes of a GPU grid or block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Axis3 {
    /// `.x`
    X,
    /// `.y`
    Y,
    /// `.z`
    Z,
}

impl Axis3 {
    /// `"x"`, `"y"` or `"z"`.
    pub fn name(self) -> &'static str {
        match self {
            Axis3::X => "x",
            Axis3::Y => "y",
            Axis3::Z => "z",
        }
    }
}

/// How a loop's iterations are mapped to hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoopKind {
    /// An ordinary sequential loop.
    Serial,
    /// CPU multi-core loop (OpenMP `parallel for`); iterations must be independent.
    Parallel,
    /// SIMD loop (innermost, iterations independent).
    Vectorized,
    /// Fully unrolled loop.
    Unrolled,
    /// GPU grid axis `blockIdx.{x,y,z}`.
    BlockIdx(Axis3),
    /// GPU block axis `threadIdx.{x,y,z}`: iterations run concurrently and meet at barriers.
    ThreadIdx(Axis3),
    /// TVM virtual thread: a serial loop whose iterations own separate local buffers.
    VThread,
}

impl LoopKind {
    /// Whether this is a `BlockIdx` loop.
    pub fn is_block(self) -> bool {
        matches!(self, LoopKind::BlockIdx(_))
    }

    /// Whether this is a `ThreadIdx` loop.
    pub fn is_thread(self) -> bool {
        matches!(self, LoopKind::ThreadIdx(_))
    }

    /// Whether this kind makes the tree a GPU tree.
    pub fn is_gpu(self) -> bool {
        self.is_block() || self.is_thread()
    }

    /// Whether local buffers may be allocated per iteration of this loop.
    pub fn owns_locals(self) -> bool {
        matches!(
            self,
            LoopKind::ThreadIdx(_) | LoopKind::VThread | LoopKind::Parallel
        )
    }

    /// The printer's annotation (`""` for serial, else e.g. `"@threadIdx.x"`).
    pub fn annotation(self) -> String {
        match self {
            LoopKind::Serial => String::new(),
            LoopKind::Parallel => "@parallel".into(),
            LoopKind::Vectorized => "@vectorized".into(),
            LoopKind::Unrolled => "@unrolled".into(),
            LoopKind::BlockIdx(a) => format!("@blockIdx.{}", a.name()),
            LoopKind::ThreadIdx(a) => format!("@threadIdx.{}", a.name()),
            LoopKind::VThread => "@vthread".into(),
        }
    }
}

/// A loop `for var in 0..extent`.
#[derive(Clone, Debug, PartialEq)]
pub struct Loop {
    /// The loop variable (a variable of the tree's arena, not a schedule variable).
    pub var: Var,
    /// Number of iterations: an expression of schedule variables.
    pub extent: ExprId,
    /// Hardware mapping.
    pub kind: LoopKind,
    /// TVM's `auto_unroll_max_step` pragma on this loop nest (codegen hint; no semantics).
    pub unroll_max_step: Option<ExprId>,
    /// The loop body.
    pub body: Vec<Stmt>,
}

/// What a store means for features and codegen (all kinds write the value the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// A plain assignment (element-wise ops, staging copies, output writes).
    Assign,
    /// Initialisation of a reduction accumulator.
    Init,
    /// Update of a reduction accumulator (`C = C + …`).
    Update,
}

/// `buffer[index] = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Store {
    /// The buffer written.
    pub buffer: BufferId,
    /// One index expression per dimension (over loop and schedule variables).
    pub index: Vec<ExprId>,
    /// The value written.
    pub value: Value,
    /// Assignment, reduction init or reduction update.
    pub kind: StoreKind,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// A loop.
    Loop(Loop),
    /// A store.
    Store(Store),
    /// `if cond { then }` (guards partial tiles; `cond` is a boolean expression).
    If {
        /// The condition (non-zero means true).
        cond: ExprId,
        /// Statements run when the condition holds.
        then: Vec<Stmt>,
    },
    /// Block-level barrier (`__syncthreads()`).
    Barrier,
}

/// A scheduled tensor program (see the module documentation).
#[derive(Clone, Debug)]
pub struct LoopTree {
    /// Kernel name (an identifier).
    pub name: String,
    /// The arena of every expression of the tree (extents, shapes, indices, guards).
    pub exprs: ExprArena,
    /// Variables of `exprs` that are schedule variables (everything else is a loop variable).
    pub schedule_vars: Vec<Var>,
    /// Buffers, indexed by [`BufferId`].
    pub buffers: Vec<Buffer>,
    /// The program.
    pub body: Vec<Stmt>,
}

impl LoopTree {
    /// An empty tree named `name`.
    pub fn new(name: &str) -> Self {
        LoopTree {
            name: name.to_string(),
            exprs: ExprArena::new(),
            schedule_vars: Vec::new(),
            buffers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The buffer `id` (panics on a foreign id; use [`LoopTree::verify`] first).
    pub fn buffer(&self, id: BufferId) -> &Buffer {
        &self.buffers[id.index()]
    }

    /// Whether `v` is a schedule variable of this tree.
    pub fn is_schedule_var(&self, v: Var) -> bool {
        self.schedule_vars.contains(&v)
    }

    /// The input buffers in argument order (role `Input(0)`, `Input(1)`, …).
    pub fn inputs(&self) -> Vec<BufferId> {
        let mut ins: Vec<(usize, BufferId)> = (0..self.buffers.len())
            .filter_map(|i| match self.buffers[i].role {
                BufferRole::Input(k) => Some((k, BufferId(i as u32))),
                _ => None,
            })
            .collect();
        ins.sort();
        ins.into_iter().map(|(_, b)| b).collect()
    }

    /// The prepared buffers (role [`BufferRole::Prepared`]) in declaration order: the
    /// arguments after the output.
    pub fn prepared(&self) -> Vec<BufferId> {
        (0..self.buffers.len())
            .filter(|&i| self.buffers[i].role == BufferRole::Prepared)
            .map(|i| BufferId(i as u32))
            .collect()
    }

    /// The number of leading top-level statements that are prepare statements (see the
    /// module documentation): each stores at least once, and only into prepared buffers.
    pub fn prepare_len(&self) -> usize {
        self.body
            .iter()
            .take_while(|s| {
                let mut stores = 0;
                let mut only_prepared = true;
                walk::Walk::run(std::slice::from_ref(*s), &mut |_, st, _| {
                    if let Stmt::Store(store) = st {
                        stores += 1;
                        only_prepared &= self
                            .buffers
                            .get(store.buffer.index())
                            .is_some_and(|b| b.role == BufferRole::Prepared);
                    }
                });
                stores > 0 && only_prepared
            })
            .count()
    }

    /// The output buffer, if there is one.
    pub fn output(&self) -> Option<BufferId> {
        self.buffers
            .iter()
            .position(|b| b.role == BufferRole::Output)
            .map(|i| BufferId(i as u32))
    }

    /// Whether this is a GPU tree (has a `BlockIdx` or `ThreadIdx` loop).
    pub fn is_gpu(&self) -> bool {
        self.loops().iter().any(|l| l.lp.kind.is_gpu())
    }

    /// The constant value of a shape or extent expression, if it is an integer constant.
    pub fn const_int(&self, id: ExprId) -> Option<i64> {
        let v = self.exprs.try_get(id).ok()?.as_const()?;
        (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
    }

    /// The concrete shape of buffer `id` (None if some extent is not an integer constant).
    pub fn const_shape(&self, id: BufferId) -> Option<Vec<i64>> {
        self.buffers
            .get(id.index())?
            .shape
            .iter()
            .map(|&e| self.const_int(e))
            .collect()
    }
}
