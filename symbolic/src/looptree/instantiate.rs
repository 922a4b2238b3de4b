//! [`LoopTree::instantiate`]: from a symbolic tree and integer schedule values to a
//! concrete tree.
//!
//! Substitution and constant folding are done here by a small private folder (exact
//! semantics of [`crate::eval::binary_exact`], plus the identities `x+0`, `x*1`, `x*0`,
//! `x-0`, `x/1`, `and`/`or` with constants, `min/max(x, x)`, `select` with a constant
//! condition), so that this module does not depend on the general simplifier.

use std::collections::HashMap;

use super::{Buffer, Loop, LoopTree, Stmt, Store, Value};
use crate::eval::{binary_exact, short_text, ERROR_TEXT_LIMIT};
use crate::expr::{BinOp, Expr, ExprArena, ExprId, UnOp, Var};
use crate::relax;
use crate::space::Assignment;
use crate::{Result, SymbolicError};

/// Substitutes `values` into every node reachable from `roots` and folds constants.
/// Returns the map from old ids to new ids (new nodes are added to `arena`).
fn fold_roots(
    arena: &mut ExprArena,
    roots: &[ExprId],
    values: &HashMap<Var, f64>,
) -> Result<HashMap<ExprId, ExprId>> {
    let mut map: HashMap<ExprId, ExprId> = HashMap::new();
    for id in arena.reachable(roots) {
        let m = |e: ExprId| map.get(&e).copied().unwrap_or(e);
        let node = *arena.get(id);
        let new = match node {
            Expr::Const(_) => id,
            Expr::Var(v) => match values.get(&v) {
                Some(&x) => arena.constant(x),
                None => id,
            },
            Expr::Unary(op, a) => {
                let a = m(a);
                match arena.as_const(a) {
                    Some(x) => {
                        let v = match op {
                            UnOp::Neg => -x,
                            UnOp::Exp => x.exp(),
                            UnOp::Not => relax::not_exact(x),
                            UnOp::Log if x <= 0.0 => {
                                return Err(SymbolicError::LogNonPositive {
                                    value: x,
                                    expr: short_text(arena, id, ERROR_TEXT_LIMIT),
                                })
                            }
                            UnOp::Log => x.ln(),
                        };
                        finite(arena, id, v)?
                    }
                    None => arena.unary(op, a),
                }
            }
            Expr::Binary(op, a, b) => fold_binary(arena, id, op, m(a), m(b))?,
            Expr::Select(c, a, b) => match arena.as_const(m(c)) {
                Some(x) if x != 0.0 => m(a),
                Some(_) => m(b),
                None => arena.select(m(c), m(a), m(b)),
            },
        };
        map.insert(id, new);
    }
    Ok(map)
}

fn finite(arena: &mut ExprArena, id: ExprId, v: f64) -> Result<ExprId> {
    if v.is_finite() {
        Ok(arena.constant(v))
    } else {
        Err(SymbolicError::NonFinite {
            value: v,
            expr: short_text(arena, id, ERROR_TEXT_LIMIT),
        })
    }
}

fn fold_binary(
    arena: &mut ExprArena,
    id: ExprId,
    op: BinOp,
    a: ExprId,
    b: ExprId,
) -> Result<ExprId> {
    let (ca, cb) = (arena.as_const(a), arena.as_const(b));
    if let (Some(x), Some(y)) = (ca, cb) {
        let zero_div = match op {
            BinOp::Div => y == 0.0,
            BinOp::FloorDiv | BinOp::CeilDiv | BinOp::Mod => relax::snap(y) == 0.0,
            _ => false,
        };
        if zero_div {
            return Err(SymbolicError::DivisionByZero {
                expr: short_text(arena, id, ERROR_TEXT_LIMIT),
            });
        }
        return finite(arena, id, binary_exact(op, x, y));
    }
    let is = |c: Option<f64>, v: f64| c == Some(v);
    Ok(match op {
        BinOp::Add if is(ca, 0.0) => b,
        BinOp::Add | BinOp::Sub if is(cb, 0.0) => a,
        BinOp::Mul if is(ca, 1.0) => b,
        BinOp::Mul | BinOp::Div | BinOp::FloorDiv | BinOp::CeilDiv if is(cb, 1.0) => a,
        BinOp::Mul if is(ca, 0.0) || is(cb, 0.0) => arena.constant(0.0),
        BinOp::And if is(ca, 0.0) || is(cb, 0.0) => arena.constant(0.0),
        BinOp::Or if ca.is_some_and(|x| x != 0.0) || cb.is_some_and(|x| x != 0.0) => {
            arena.constant(1.0)
        }
        BinOp::Min | BinOp::Max if a == b => a,
        _ => arena.binary(op, a, b),
    })
}

impl LoopTree {
    /// Every expression root of the tree: buffer shapes, loop extents and unroll steps,
    /// guards, store indices and the expressions inside stored values.
    pub fn expr_roots(&self) -> Vec<ExprId> {
        let mut out: Vec<ExprId> = self
            .buffers
            .iter()
            .flat_map(|b| b.shape.iter().copied())
            .collect();
        fn go(body: &[Stmt], out: &mut Vec<ExprId>) {
            for s in body {
                match s {
                    Stmt::Loop(l) => {
                        out.push(l.extent);
                        out.extend(l.unroll_max_step);
                        go(&l.body, out);
                    }
                    Stmt::If { cond, then } => {
                        out.push(*cond);
                        go(then, out);
                    }
                    Stmt::Store(st) => {
                        out.extend_from_slice(&st.index);
                        out.extend(st.value.exprs());
                    }
                    Stmt::Barrier => {}
                }
            }
        }
        go(&self.body, &mut out);
        out
    }

    /// Whether every loop extent and buffer shape is a positive integer constant and no
    /// schedule variable is left anywhere in the tree.
    pub fn is_concrete(&self) -> bool {
        let pos = |e: ExprId| self.const_int(e).is_some_and(|v| v > 0);
        let shapes = self.buffers.iter().all(|b| b.shape.iter().all(|&e| pos(e)));
        let roots = self.expr_roots();
        let ids_ok = roots.iter().all(|&e| self.exprs.try_get(e).is_ok());
        shapes
            && ids_ok
            && self.loops().iter().all(|l| pos(l.lp.extent))
            && self
                .exprs
                .free_vars(&roots)
                .iter()
                .all(|v| !self.is_schedule_var(*v))
    }

    /// [`SymbolicError::NotConcrete`] unless the tree [`LoopTree::is_concrete`].
    pub fn require_concrete(&self) -> Result<()> {
        if self.is_concrete() {
            return Ok(());
        }
        Err(SymbolicError::NotConcrete(format!(
            "tree `{}` has schedule variables",
            self.name
        )))
    }

    /// The concrete tree for the schedule values `values` (`(variable, value)` pairs).
    /// See [`LoopTree::instantiate_map`].
    pub fn instantiate(&self, values: &[(Var, i64)]) -> Result<LoopTree> {
        self.instantiate_map(&values.iter().copied().collect())
    }

    /// Like [`LoopTree::instantiate`] with variables given by name
    /// ([`SymbolicError::InvalidRef`] for a name that is not a schedule variable).
    pub fn instantiate_named(&self, values: &[(&str, i64)]) -> Result<LoopTree> {
        let mut map = HashMap::new();
        for &(name, x) in values {
            match self.exprs.lookup_var(name) {
                Some(v) => map.insert(v, x),
                None => {
                    return Err(SymbolicError::InvalidRef(format!(
                        "`{name}` is not a variable of `{}`",
                        self.name
                    )))
                }
            };
        }
        self.instantiate_map(&map)
    }

    /// The concrete tree for a space's [`Assignment`] (variables matched by name; a
    /// variable of the assignment that the tree does not declare is ignored, one that the
    /// tree declares as a loop variable is [`SymbolicError::InvalidRef`]).
    pub fn instantiate_assignment(&self, a: &Assignment) -> Result<LoopTree> {
        let mut map = HashMap::new();
        for (name, &x) in a.names().iter().zip(a.values()) {
            if let Some(v) = self.exprs.lookup_var(name) {
                let x = i64::try_from(x).map_err(|_| {
                    SymbolicError::InvalidInput(format!("value {x} of `{name}` is too large"))
                })?;
                map.insert(v, x);
            }
        }
        self.instantiate_map(&map)
    }

    /// The concrete tree for the schedule values `values`: substitutes them, folds
    /// constants, removes `If`s and `select`s whose condition became constant, and checks
    /// that every loop extent and buffer shape is a positive integer constant
    /// ([`SymbolicError::NotConcrete`] naming the loop or buffer otherwise) and that no
    /// schedule variable is left ([`SymbolicError::UnboundVar`]). A value for a variable
    /// that is not a schedule variable is [`SymbolicError::InvalidRef`]. Loop variables stay
    /// symbolic in indices; the arena keeps its variables (ids stay valid).
    pub fn instantiate_map(&self, values: &HashMap<Var, i64>) -> Result<LoopTree> {
        for &v in values.keys() {
            if !self.is_schedule_var(v) {
                let name = self
                    .exprs
                    .var_names()
                    .get(v.index())
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", v.0));
                return Err(SymbolicError::InvalidRef(format!(
                    "`{name}` is not a schedule variable of `{}`",
                    self.name
                )));
            }
        }
        let roots = self.expr_roots();
        for &r in &roots {
            self.exprs.try_get(r)?;
        }
        let mut exprs = self.exprs.clone();
        let fvals: HashMap<Var, f64> = values.iter().map(|(&v, &x)| (v, x as f64)).collect();
        let map = fold_roots(&mut exprs, &roots, &fvals)?;
        let mut out = LoopTree {
            name: self.name.clone(),
            exprs,
            schedule_vars: self.schedule_vars.clone(),
            buffers: Vec::new(),
            body: Vec::new(),
        };
        let m = |e: ExprId| map.get(&e).copied().unwrap_or(e);
        for b in &self.buffers {
            let shape: Vec<ExprId> = b.shape.iter().map(|&e| m(e)).collect();
            if let Some(&bad) = shape
                .iter()
                .find(|&&e| out.const_int(e).is_none_or(|v| v <= 0))
            {
                return Err(SymbolicError::NotConcrete(format!(
                    "shape of buffer `{}` has extent {}, not a positive integer",
                    b.name,
                    out.expr_text(bad)
                )));
            }
            out.buffers.push(Buffer { shape, ..b.clone() });
        }
        out.body = out.map_stmts(&self.body, &m)?;
        let left: Vec<Var> = out
            .exprs
            .free_vars(&out.expr_roots())
            .into_iter()
            .filter(|v| out.is_schedule_var(*v))
            .collect();
        if let Some(&v) = left.first() {
            return Err(SymbolicError::UnboundVar(out.exprs.var_name(v).to_string()));
        }
        Ok(out)
    }

    fn map_stmts(&self, body: &[Stmt], m: &impl Fn(ExprId) -> ExprId) -> Result<Vec<Stmt>> {
        let mut out = Vec::with_capacity(body.len());
        for s in body {
            match s {
                Stmt::Loop(l) => {
                    let extent = m(l.extent);
                    if self.const_int(extent).is_none_or(|v| v <= 0) {
                        return Err(SymbolicError::NotConcrete(format!(
                            "extent of loop `{}` is {}, not a positive integer",
                            self.exprs.var_name(l.var),
                            self.expr_text(extent)
                        )));
                    }
                    let unroll_max_step = l.unroll_max_step.map(m);
                    let body = self.map_stmts(&l.body, m)?;
                    out.push(Stmt::Loop(Loop {
                        var: l.var,
                        extent,
                        kind: l.kind,
                        unroll_max_step,
                        body,
                    }));
                }
                Stmt::If { cond, then } => {
                    // A branch that never runs is dropped unmapped: it may hold a loop of
                    // extent 0 (a lane reduction's tail where the lanes divide the row).
                    let cond = m(*cond);
                    match self.exprs.as_const(cond) {
                        Some(c) if c != 0.0 => out.extend(self.map_stmts(then, m)?),
                        Some(_) => {}
                        None => out.push(Stmt::If {
                            cond,
                            then: self.map_stmts(then, m)?,
                        }),
                    }
                }
                Stmt::Store(st) => out.push(Stmt::Store(Store {
                    buffer: st.buffer,
                    index: st.index.iter().map(|&e| m(e)).collect(),
                    value: self.map_value(&st.value, m),
                    kind: st.kind,
                })),
                Stmt::Barrier => out.push(Stmt::Barrier),
            }
        }
        Ok(out)
    }

    fn map_value(&self, v: &Value, m: &impl Fn(ExprId) -> ExprId) -> Value {
        match v {
            Value::Select { cond, then, else_ } => {
                let cond = m(*cond);
                match self.exprs.as_const(cond) {
                    Some(c) if c != 0.0 => self.map_value(then, m),
                    Some(_) => self.map_value(else_, m),
                    None => Value::select(cond, self.map_value(then, m), self.map_value(else_, m)),
                }
            }
            Value::Unary(op, a) => Value::Unary(*op, Box::new(self.map_value(a, m))),
            Value::Binary(op, a, b) => Value::Binary(
                *op,
                Box::new(self.map_value(a, m)),
                Box::new(self.map_value(b, m)),
            ),
            other => other
                .try_map_exprs::<()>(&mut |e| Ok(m(e)))
                .unwrap_or_else(|_| other.clone()),
        }
    }
}
