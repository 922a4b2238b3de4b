//! Compilation of a concrete, verified [`LoopTree`] into the interpreter's form: integer
//! index programs (affine fast path), resolved buffer shapes, allocation lists per loop and
//! barrier flags.

use std::collections::HashMap;

use crate::expr::{BinOp, Expr, ExprId, UnOp};
use crate::looptree::{AllocSite, BufferId, LoopTree, Stmt, Value, ValueBinOp, ValueUnOp};
use crate::{Result, SymbolicError};

/// A compiled integer expression: affine parts become flat leaves, the rest a small tree.
#[derive(Clone, Debug)]
pub(crate) enum CExpr {
    Const(i64),
    Var(usize),
    /// `k · var + c`.
    Lin(usize, i64, i64),
    /// `c + Σ coef · var`.
    Affine(Vec<(usize, i64)>, i64),
    Neg(Box<CExpr>),
    Not(Box<CExpr>),
    /// A binary operation; the id is kept for error messages.
    Bin(BinOp, Box<CExpr>, Box<CExpr>, ExprId),
    /// `select(c, a, b)`, evaluating only the branch taken.
    Select(Box<CExpr>, Box<CExpr>, Box<CExpr>),
}

/// A compiled buffer access.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    pub buf: usize,
    pub index: Vec<CExpr>,
}

/// A compiled value.
#[derive(Clone, Debug)]
pub(crate) enum CValue {
    Const(f32),
    Load(Access),
    Unary(ValueUnOp, Box<CValue>),
    Binary(ValueBinOp, Box<CValue>, Box<CValue>),
    Select(CExpr, Box<CValue>, Box<CValue>),
    Index(CExpr),
}

/// A compiled statement; `barrier` flags say whether a barrier is inside.
#[derive(Clone, Debug)]
pub(crate) enum CStmt {
    Loop {
        var: usize,
        extent: i64,
        thread: bool,
        allocs: Vec<usize>,
        barrier: bool,
        body: Vec<CStmt>,
    },
    Store {
        access: Access,
        value: CValue,
    },
    If {
        cond: CExpr,
        then: Vec<CStmt>,
        barrier: bool,
    },
    Barrier,
}

impl CStmt {
    pub(crate) fn has_barrier(&self) -> bool {
        match self {
            CStmt::Loop { barrier, .. } | CStmt::If { barrier, .. } => *barrier,
            CStmt::Store { .. } => false,
            CStmt::Barrier => true,
        }
    }
}

/// The compiled program.
pub(crate) struct Program {
    pub body: Vec<CStmt>,
    /// Concrete shape of every buffer.
    pub shapes: Vec<Vec<i64>>,
    /// Whether each buffer is private to a GPU thread (allocated at or inside a thread loop).
    pub private: Vec<bool>,
}

struct Compiler<'t> {
    tree: &'t LoopTree,
    allocs: HashMap<usize, Vec<usize>>,
    next_loop: usize,
}

fn not_int(tree: &LoopTree, e: ExprId, why: &str) -> SymbolicError {
    SymbolicError::Interp(format!("index expression `{}` {why}", tree.expr_text(e)))
}

fn int_const(tree: &LoopTree, e: ExprId, v: f64) -> Result<i64> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Ok(v as i64)
    } else {
        Err(not_int(tree, e, "has a non-integer constant"))
    }
}

/// Compiles a concrete, verified tree.
pub(crate) fn compile(tree: &LoopTree) -> Result<Program> {
    let shapes: Vec<Vec<i64>> = (0..tree.buffers.len())
        .map(|b| {
            tree.const_shape(BufferId(b as u32))
                .ok_or_else(|| SymbolicError::NotConcrete(tree.buffers[b].name.clone()))
        })
        .collect::<Result<_>>()?;
    let loops = tree.loops();
    let mut allocs: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut private = vec![false; tree.buffers.len()];
    for (b, site) in tree.alloc_sites().into_iter().enumerate() {
        if let AllocSite::Loop(id) = site {
            allocs.entry(id.0).or_default().push(b);
            let l = &loops[id.0];
            private[b] = l.lp.kind.is_thread() || l.path.iter().any(|p| p.kind.is_thread());
        }
    }
    let mut c = Compiler {
        tree,
        allocs,
        next_loop: 0,
    };
    let body = c.stmts(&tree.body)?;
    Ok(Program {
        body,
        shapes,
        private,
    })
}

impl Compiler<'_> {
    fn stmts(&mut self, body: &[Stmt]) -> Result<Vec<CStmt>> {
        body.iter().map(|s| self.stmt(s)).collect()
    }

    fn stmt(&mut self, s: &Stmt) -> Result<CStmt> {
        Ok(match s {
            Stmt::Loop(l) => {
                let id = self.next_loop;
                self.next_loop += 1;
                let extent = self.tree.const_int(l.extent).ok_or_else(|| {
                    SymbolicError::NotConcrete(format!(
                        "loop `{}`",
                        self.tree.exprs.var_name(l.var)
                    ))
                })?;
                let body = self.stmts(&l.body)?;
                CStmt::Loop {
                    var: l.var.index(),
                    extent,
                    thread: l.kind.is_thread(),
                    allocs: self.allocs.remove(&id).unwrap_or_default(),
                    barrier: body.iter().any(CStmt::has_barrier),
                    body,
                }
            }
            Stmt::If { cond, then } => {
                let then = self.stmts(then)?;
                CStmt::If {
                    cond: self.expr(*cond)?,
                    barrier: then.iter().any(CStmt::has_barrier),
                    then,
                }
            }
            Stmt::Store(st) => CStmt::Store {
                access: self.access(st.buffer, &st.index)?,
                value: self.value(&st.value)?,
            },
            Stmt::Barrier => CStmt::Barrier,
        })
    }

    fn access(&self, b: BufferId, index: &[ExprId]) -> Result<Access> {
        Ok(Access {
            buf: b.index(),
            index: index.iter().map(|&e| self.expr(e)).collect::<Result<_>>()?,
        })
    }

    fn value(&self, v: &Value) -> Result<CValue> {
        Ok(match v {
            Value::Const(c) => CValue::Const(*c),
            Value::Load { buffer, index } => CValue::Load(self.access(*buffer, index)?),
            Value::Unary(op, a) => CValue::Unary(*op, Box::new(self.value(a)?)),
            Value::Binary(op, a, b) => {
                CValue::Binary(*op, Box::new(self.value(a)?), Box::new(self.value(b)?))
            }
            Value::Select { cond, then, else_ } => CValue::Select(
                self.expr(*cond)?,
                Box::new(self.value(then)?),
                Box::new(self.value(else_)?),
            ),
            Value::Index(e) => CValue::Index(self.expr(*e)?),
        })
    }

    fn expr(&self, e: ExprId) -> Result<CExpr> {
        let arena = &self.tree.exprs;
        let node = *arena.try_get(e)?;
        if let Expr::Var(v) = node {
            return Ok(CExpr::Var(v.index()));
        }
        if let Some((terms, c)) = self.affine(e)? {
            let mut terms: Vec<(usize, i64)> = terms.into_iter().filter(|&(_, k)| k != 0).collect();
            terms.sort_unstable();
            return Ok(match terms.as_slice() {
                [] => CExpr::Const(c),
                [(v, 1)] if c == 0 => CExpr::Var(*v),
                &[(v, k)] => CExpr::Lin(v, k, c),
                _ => CExpr::Affine(terms, c),
            });
        }
        let sub = |x: ExprId| self.expr(x).map(Box::new);
        Ok(match node {
            Expr::Unary(UnOp::Neg, a) => CExpr::Neg(sub(a)?),
            Expr::Unary(UnOp::Not, a) => CExpr::Not(sub(a)?),
            Expr::Unary(_, _) => return Err(not_int(self.tree, e, "uses exp/log")),
            Expr::Binary(op, a, b) => CExpr::Bin(op, sub(a)?, sub(b)?, e),
            Expr::Select(c, a, b) => CExpr::Select(sub(c)?, sub(a)?, sub(b)?),
            // Constants and variables are affine, handled above.
            Expr::Const(_) | Expr::Var(_) => return Err(not_int(self.tree, e, "is malformed")),
        })
    }

    /// `Some((coefficients, constant))` if `e` is affine in the loop variables.
    fn affine(&self, e: ExprId) -> Result<Option<(HashMap<usize, i64>, i64)>> {
        let arena = &self.tree.exprs;
        Ok(match *arena.get(e) {
            Expr::Const(_) => Some((
                HashMap::new(),
                int_const(self.tree, e, arena.as_const(e).unwrap_or(f64::NAN))?,
            )),
            Expr::Var(v) => Some((HashMap::from([(v.index(), 1)]), 0)),
            Expr::Unary(UnOp::Neg, a) => self.affine(a)?.map(|(t, c)| scale(t, c, -1)),
            Expr::Binary(op @ (BinOp::Add | BinOp::Sub), a, b) => {
                match (self.affine(a)?, self.affine(b)?) {
                    (Some((mut ta, ca)), Some((tb, cb))) => {
                        let s = if op == BinOp::Add { 1 } else { -1 };
                        for (v, k) in tb {
                            let slot = ta.entry(v).or_insert(0);
                            *slot = slot.wrapping_add(s * k);
                        }
                        Some((ta, ca.wrapping_add(s * cb)))
                    }
                    _ => None,
                }
            }
            Expr::Binary(BinOp::Mul, a, b) => match (self.affine(a)?, self.affine(b)?) {
                (Some((ta, ca)), Some((tb, cb))) if tb.is_empty() => Some(scale(ta, ca, cb)),
                (Some((ta, ca)), Some((tb, cb))) if ta.is_empty() => Some(scale(tb, cb, ca)),
                _ => None,
            },
            _ => None,
        })
    }
}

fn scale(t: HashMap<usize, i64>, c: i64, k: i64) -> (HashMap<usize, i64>, i64) {
    (
        t.into_iter().map(|(v, x)| (v, x.wrapping_mul(k))).collect(),
        c.wrapping_mul(k),
    )
}
