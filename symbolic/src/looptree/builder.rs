//! [`TreeBuilder`]: a small API for writing loop trees (used by sketch rules and tests).

use super::{
    Buffer, BufferId, BufferRole, DType, Loop, LoopKind, LoopTree, Scope, Stmt, Store, StoreKind,
    Value,
};
use crate::expr::{ExprArena, ExprId};
use crate::Result;

/// Builds a [`LoopTree`] statement by statement; nested bodies are written in closures.
///
/// ```
/// use tilegrad_symbolic::looptree::{LoopKind, TreeBuilder};
/// let mut b = TreeBuilder::new("copy");
/// let n = b.c(8.0);
/// let x = b.input("X", &[n]);
/// let y = b.output("Y", &[n]);
/// b.loop_("i", n, LoopKind::Serial, |b, i| {
///     let v = b.load(x, &[i]);
///     b.store(y, &[i], v);
/// });
/// let tree = b.finish();
/// assert!(tree.verify().is_ok());
/// ```
#[derive(Debug)]
pub struct TreeBuilder {
    tree: LoopTree,
    frames: Vec<Vec<Stmt>>,
    inputs: usize,
}

impl TreeBuilder {
    /// A builder for a kernel called `name`.
    pub fn new(name: &str) -> Self {
        TreeBuilder {
            tree: LoopTree::new(name),
            frames: vec![Vec::new()],
            inputs: 0,
        }
    }

    /// The expression arena, to build index expressions (`b.e().mul(x, y)`).
    pub fn e(&mut self) -> &mut ExprArena {
        &mut self.tree.exprs
    }

    /// Declares the schedule variable `name` and returns its expression.
    pub fn sched_var(&mut self, name: &str) -> ExprId {
        let v = self.tree.exprs.declare_var(name);
        if !self.tree.schedule_vars.contains(&v) {
            self.tree.schedule_vars.push(v);
        }
        self.tree.exprs.var_expr(v)
    }

    /// Marks `v` (declared in [`TreeBuilder::e`], e.g. by a `Space`) as a schedule variable
    /// and returns its expression.
    pub fn schedule_var(&mut self, v: crate::expr::Var) -> ExprId {
        if !self.tree.schedule_vars.contains(&v) {
            self.tree.schedule_vars.push(v);
        }
        self.tree.exprs.var_expr(v)
    }

    /// A constant expression.
    pub fn c(&mut self, value: f64) -> ExprId {
        self.tree.exprs.constant(value)
    }

    /// Parses an s-expression (variables by name, see [`crate::text`]).
    pub fn parse(&mut self, text: &str) -> Result<ExprId> {
        self.tree.exprs.parse(text)
    }

    fn add_buffer(
        &mut self,
        name: &str,
        scope: Scope,
        shape: &[ExprId],
        role: BufferRole,
    ) -> BufferId {
        let id = BufferId(self.tree.buffers.len() as u32);
        self.tree.buffers.push(Buffer {
            name: name.to_string(),
            scope,
            dtype: DType::F32,
            shape: shape.to_vec(),
            role,
        });
        id
    }

    /// Declares the next input argument (global).
    pub fn input(&mut self, name: &str, shape: &[ExprId]) -> BufferId {
        self.inputs += 1;
        self.add_buffer(
            name,
            Scope::Global,
            shape,
            BufferRole::Input(self.inputs - 1),
        )
    }

    /// Declares the output argument (global).
    pub fn output(&mut self, name: &str, shape: &[ExprId]) -> BufferId {
        self.add_buffer(name, Scope::Global, shape, BufferRole::Output)
    }

    /// Declares a prepared buffer (global; see [`BufferRole::Prepared`]).
    pub fn prepared(&mut self, name: &str, shape: &[ExprId]) -> BufferId {
        self.add_buffer(name, Scope::Global, shape, BufferRole::Prepared)
    }

    /// Declares a temporary buffer in `scope`.
    pub fn buffer(&mut self, name: &str, scope: Scope, shape: &[ExprId]) -> BufferId {
        self.add_buffer(name, scope, shape, BufferRole::Temp)
    }

    fn push(&mut self, s: Stmt) {
        if let Some(f) = self.frames.last_mut() {
            f.push(s);
        }
    }

    /// `for name in 0..extent @kind { f(b, name) }`.
    pub fn loop_(
        &mut self,
        name: &str,
        extent: ExprId,
        kind: LoopKind,
        f: impl FnOnce(&mut Self, ExprId),
    ) {
        self.loop_unroll(name, extent, kind, None, f);
    }

    /// Like [`TreeBuilder::loop_`] with an `auto_unroll_max_step` pragma.
    pub fn loop_unroll(
        &mut self,
        name: &str,
        extent: ExprId,
        kind: LoopKind,
        unroll_max_step: Option<ExprId>,
        f: impl FnOnce(&mut Self, ExprId),
    ) {
        let var = self.tree.exprs.declare_var(name);
        let v = self.tree.exprs.var_expr(var);
        self.frames.push(Vec::new());
        f(self, v);
        let body = self.frames.pop().unwrap_or_default();
        self.push(Stmt::Loop(Loop {
            var,
            extent,
            kind,
            unroll_max_step,
            body,
        }));
    }

    /// `if cond { f(b) }`.
    pub fn if_(&mut self, cond: ExprId, f: impl FnOnce(&mut Self)) {
        self.frames.push(Vec::new());
        f(self);
        let then = self.frames.pop().unwrap_or_default();
        self.push(Stmt::If { cond, then });
    }

    /// A block barrier.
    pub fn barrier(&mut self) {
        self.push(Stmt::Barrier);
    }

    /// `buffer[index] = value` with an explicit [`StoreKind`].
    pub fn store_kind(
        &mut self,
        kind: StoreKind,
        buffer: BufferId,
        index: &[ExprId],
        value: Value,
    ) {
        self.push(Stmt::Store(Store {
            buffer,
            index: index.to_vec(),
            value,
            kind,
        }));
    }

    /// `buffer[index] = value` (plain assignment).
    pub fn store(&mut self, buffer: BufferId, index: &[ExprId], value: Value) {
        self.store_kind(StoreKind::Assign, buffer, index, value);
    }

    /// Reduction init `buffer[index] = value`.
    pub fn init(&mut self, buffer: BufferId, index: &[ExprId], value: Value) {
        self.store_kind(StoreKind::Init, buffer, index, value);
    }

    /// Reduction update `buffer[index] = buffer[index] + value`.
    pub fn accumulate(&mut self, buffer: BufferId, index: &[ExprId], value: Value) {
        let old = Value::load(buffer, index);
        self.store_kind(StoreKind::Update, buffer, index, old + value);
    }

    /// `buffer[index]` as a value.
    pub fn load(&self, buffer: BufferId, index: &[ExprId]) -> Value {
        Value::load(buffer, index)
    }

    /// The tree built so far (statements inside an unfinished closure are not included).
    pub fn finish(mut self) -> LoopTree {
        self.tree.body = self.frames.drain(..).next().unwrap_or_default();
        self.tree
    }
}
