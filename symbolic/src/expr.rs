//! Hash-consed expression arena.
//!
//! An [`ExprArena`] stores [`Expr`] nodes in a vector; every node's children have smaller
//! ids than the node itself ("children before parents"), so a forward pass over ids is a
//! topological order. Structurally equal nodes share one id (hash-consing), so equality of
//! ids is structural equality of expressions.
//!
//! Values are real numbers (`f64`). Booleans are encoded as `0.0` (false) and `1.0` (true).

use std::collections::HashMap;

use crate::{Result, SymbolicError};

/// Index of a node in an [`ExprArena`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ExprId(pub u32);

impl ExprId {
    /// The id as a vector index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A schedule (or loop) variable: an index into the arena's variable table.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Var(pub u32);

impl Var {
    /// The variable as a vector index (its column in a batch of points).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Unary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnOp {
    /// `-a`.
    Neg,
    /// `e^a`.
    Exp,
    /// Natural logarithm.
    Log,
    /// Logical not: `1 - a` on booleans.
    Not,
}

/// Binary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// Real division `a / b`.
    Div,
    /// `floor(a / b)`.
    FloorDiv,
    /// `ceil(a / b)`.
    CeilDiv,
    /// `a - b * floor(a / b)` (floored modulo, sign of `b`).
    Mod,
    /// `min(a, b)`.
    Min,
    /// `max(a, b)`.
    Max,
    /// `a ^ b`.
    Pow,
    /// `a < b` as 0/1.
    Lt,
    /// `a <= b` as 0/1.
    Le,
    /// `a == b` as 0/1.
    Eq,
    /// Logical and on 0/1 values.
    And,
    /// Logical or on 0/1 values.
    Or,
}

impl BinOp {
    /// Whether `op(a, b) == op(b, a)` for all a, b.
    pub fn is_commutative(self) -> bool {
        matches!(
            self,
            BinOp::Add | BinOp::Mul | BinOp::Min | BinOp::Max | BinOp::Eq | BinOp::And | BinOp::Or
        )
    }

    /// Whether the result is a boolean (0 or 1).
    pub fn is_boolean(self) -> bool {
        matches!(
            self,
            BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::And | BinOp::Or
        )
    }
}

/// One node of an expression DAG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A constant, stored as `f64` bits (`-0.0` is normalised to `0.0`, NaNs to one NaN).
    Const(u64),
    /// A variable.
    Var(Var),
    /// A unary operation.
    Unary(UnOp, ExprId),
    /// A binary operation.
    Binary(BinOp, ExprId, ExprId),
    /// `select(c, a, b)`: `a` where `c` is true (non-zero), else `b`.
    Select(ExprId, ExprId, ExprId),
}

impl Expr {
    /// A constant node holding `value`.
    pub fn constant(value: f64) -> Expr {
        let v = if value == 0.0 {
            0.0
        } else if value.is_nan() {
            f64::NAN
        } else {
            value
        };
        Expr::Const(v.to_bits())
    }

    /// The value of a constant node.
    pub fn as_const(&self) -> Option<f64> {
        match *self {
            Expr::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    /// The children of this node, in order.
    pub fn children(&self) -> impl Iterator<Item = ExprId> {
        let (n, c) = match *self {
            Expr::Const(_) | Expr::Var(_) => (0, [ExprId(0); 3]),
            Expr::Unary(_, a) => (1, [a, a, a]),
            Expr::Binary(_, a, b) => (2, [a, b, b]),
            Expr::Select(c, a, b) => (3, [c, a, b]),
        };
        c.into_iter().take(n)
    }
}

/// A hash-consed arena of expression nodes plus the table of variable names.
#[derive(Clone, Debug, Default)]
pub struct ExprArena {
    nodes: Vec<Expr>,
    dedup: HashMap<Expr, ExprId>,
    vars: Vec<String>,
    var_index: HashMap<String, Var>,
}

impl ExprArena {
    /// An empty arena.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the arena holds no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node behind `id`. Panics if `id` is not from this arena (a programming error).
    pub fn get(&self, id: ExprId) -> &Expr {
        &self.nodes[id.index()]
    }

    /// The node behind `id`, or an error if `id` is not from this arena.
    pub fn try_get(&self, id: ExprId) -> Result<&Expr> {
        self.nodes.get(id.index()).ok_or_else(|| {
            SymbolicError::InvalidRef(format!("expression id {} (arena has {})", id.0, self.len()))
        })
    }

    /// All nodes, in id order (children before parents).
    pub fn nodes(&self) -> &[Expr] {
        &self.nodes
    }

    /// Interns `node`, returning the id of an existing equal node if there is one.
    pub fn intern(&mut self, node: Expr) -> ExprId {
        if let Some(&id) = self.dedup.get(&node) {
            return id;
        }
        debug_assert!(node.children().all(|c| c.index() < self.nodes.len()));
        let id = ExprId(self.nodes.len() as u32);
        self.nodes.push(node);
        self.dedup.insert(node, id);
        id
    }

    /// Declares the variable `name` (or finds it) and returns it.
    pub fn declare_var(&mut self, name: &str) -> Var {
        if let Some(&v) = self.var_index.get(name) {
            return v;
        }
        let v = Var(self.vars.len() as u32);
        self.vars.push(name.to_string());
        self.var_index.insert(name.to_string(), v);
        v
    }

    /// The variable called `name`, if declared.
    pub fn lookup_var(&self, name: &str) -> Option<Var> {
        self.var_index.get(name).copied()
    }

    /// The name of `v`.
    pub fn var_name(&self, v: Var) -> &str {
        &self.vars[v.index()]
    }

    /// All variable names, indexed by [`Var`].
    pub fn var_names(&self) -> &[String] {
        &self.vars
    }

    /// Number of declared variables.
    pub fn num_vars(&self) -> usize {
        self.vars.len()
    }

    /// The expression `name` (declaring the variable if needed).
    pub fn var(&mut self, name: &str) -> ExprId {
        let v = self.declare_var(name);
        self.intern(Expr::Var(v))
    }

    /// The expression for variable `v`.
    pub fn var_expr(&mut self, v: Var) -> ExprId {
        self.intern(Expr::Var(v))
    }

    /// A constant.
    pub fn constant(&mut self, value: f64) -> ExprId {
        self.intern(Expr::constant(value))
    }

    /// The value of `id` if it is a constant node.
    pub fn as_const(&self, id: ExprId) -> Option<f64> {
        self.get(id).as_const()
    }

    /// A unary node (no simplification).
    pub fn unary(&mut self, op: UnOp, a: ExprId) -> ExprId {
        self.intern(Expr::Unary(op, a))
    }

    /// A binary node (no simplification).
    pub fn binary(&mut self, op: BinOp, a: ExprId, b: ExprId) -> ExprId {
        self.intern(Expr::Binary(op, a, b))
    }

    /// `select(c, a, b)` (no simplification).
    pub fn select(&mut self, c: ExprId, a: ExprId, b: ExprId) -> ExprId {
        self.intern(Expr::Select(c, a, b))
    }

    /// Ids reachable from `roots`, in increasing id order (a topological order).
    pub fn reachable(&self, roots: &[ExprId]) -> Vec<ExprId> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<ExprId> = roots.to_vec();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id.index()], true) {
                continue;
            }
            stack.extend(self.get(id).children());
        }
        (0..self.nodes.len() as u32)
            .map(ExprId)
            .filter(|id| seen[id.index()])
            .collect()
    }

    /// The variables that `roots` depend on, sorted.
    pub fn free_vars(&self, roots: &[ExprId]) -> Vec<Var> {
        let mut vars: Vec<Var> = self
            .reachable(roots)
            .into_iter()
            .filter_map(|id| match *self.get(id) {
                Expr::Var(v) => Some(v),
                _ => None,
            })
            .collect();
        vars.sort();
        vars.dedup();
        vars
    }
}

macro_rules! binary_builders {
    ($($(#[$doc:meta])* $name:ident => $op:ident;)*) => {
        impl ExprArena {
            $($(#[$doc])* pub fn $name(&mut self, a: ExprId, b: ExprId) -> ExprId {
                self.binary(BinOp::$op, a, b)
            })*
        }
    };
}

binary_builders! {
    /// `a + b`.
    add => Add;
    /// `a - b`.
    sub => Sub;
    /// `a * b`.
    mul => Mul;
    /// `a / b`.
    div => Div;
    /// `floor(a / b)`.
    floordiv => FloorDiv;
    /// `ceil(a / b)`.
    ceildiv => CeilDiv;
    /// `a mod b` (floored).
    modulo => Mod;
    /// `min(a, b)`.
    min => Min;
    /// `max(a, b)`.
    max => Max;
    /// `a ^ b`.
    pow => Pow;
    /// `a < b`.
    lt => Lt;
    /// `a <= b`.
    le => Le;
    /// `a == b`.
    eq => Eq;
    /// `a and b`.
    and => And;
    /// `a or b`.
    or => Or;
}

impl ExprArena {
    /// `-a`.
    pub fn neg(&mut self, a: ExprId) -> ExprId {
        self.unary(UnOp::Neg, a)
    }
    /// `exp(a)`.
    pub fn exp(&mut self, a: ExprId) -> ExprId {
        self.unary(UnOp::Exp, a)
    }
    /// `log(a)`.
    pub fn log(&mut self, a: ExprId) -> ExprId {
        self.unary(UnOp::Log, a)
    }
    /// `not a`.
    pub fn not(&mut self, a: ExprId) -> ExprId {
        self.unary(UnOp::Not, a)
    }
}
