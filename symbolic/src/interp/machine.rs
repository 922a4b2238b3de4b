//! The interpreter's state and the single-thread execution of compiled statements.

use super::compile::{Access, CExpr, CStmt, CValue, Program};
use super::race::{Conflict, Races};
use super::scalar;
use crate::expr::ExprId;
use crate::looptree::{BufferId, LoopTree};
use crate::{Result, SymbolicError};

pub(super) struct Machine<'t> {
    pub(super) tree: &'t LoopTree,
    pub(super) prog: &'t Program,
    pub(super) vars: Vec<i64>,
    pub(super) mem: Vec<Vec<f32>>,
    pub(super) written: Vec<bool>,
    pub(super) out: usize,
    pub(super) sizes: Vec<usize>,
    /// Thread-private buffers; `slot[b]` is the position of buffer `b` in that list.
    pub(super) private: Vec<usize>,
    pub(super) slot: Vec<usize>,
    pub(super) in_group: bool,
    /// Index of the running thread within its block (in a thread nest).
    pub(super) tid: u32,
    pub(super) races: Races,
}

impl Machine<'_> {
    pub(super) fn alloc(&mut self, bufs: &[usize]) {
        for &b in bufs {
            self.mem[b].clear();
            self.mem[b].resize(self.sizes[b], f32::NAN);
        }
    }

    pub(super) fn exec(&mut self, body: &[CStmt]) -> Result<()> {
        for s in body {
            match s {
                CStmt::Loop { thread: true, .. } if self.in_group => {
                    return Err(SymbolicError::Interp(
                        "thread loop nested inside a thread nest".into(),
                    ))
                }
                CStmt::Loop { thread: true, .. } => self.group(s)?,
                CStmt::Loop {
                    var,
                    extent,
                    allocs,
                    body,
                    ..
                } => {
                    for it in 0..*extent {
                        self.vars[*var] = it;
                        self.alloc(allocs);
                        self.exec(body)?;
                    }
                }
                CStmt::Store { access, value } => {
                    let v = self.value(value).map_err(|f| self.fault(f))?;
                    let off = self.offset(access).map_err(|f| self.fault(f))?;
                    if self.in_group {
                        let r = self.races.write(access.buf, off, self.tid);
                        r.map_err(|(c, other)| self.race(access.buf, off, c, other))?;
                    }
                    self.mem[access.buf][off] = v;
                    if access.buf == self.out {
                        self.written[off] = true;
                    }
                }
                CStmt::If { cond, then, .. } => {
                    if self.expr(cond)? != 0 {
                        self.exec(then)?;
                    }
                }
                CStmt::Barrier if self.in_group => {}
                CStmt::Barrier => {
                    return Err(SymbolicError::Interp(
                        "barrier outside a thread loop".into(),
                    ))
                }
            }
        }
        Ok(())
    }

    /// Runs a perfect nest of thread loops starting at `s` with one context per thread.
    fn offset(&self, a: &Access) -> std::result::Result<usize, Fault> {
        let shape = &self.prog.shapes[a.buf];
        let mut off: i64 = 0;
        for (d, e) in a.index.iter().enumerate() {
            let x = self.eval(e)?;
            if x < 0 || x >= shape[d] {
                let index = a
                    .index
                    .iter()
                    .map(|e| self.eval(e))
                    .collect::<std::result::Result<Vec<i64>, Fault>>()?;
                return Err(Fault::OutOfBounds(Box::new((a.buf, index))));
            }
            off = off * shape[d] + x;
        }
        Ok(off as usize)
    }

    fn value(&mut self, v: &CValue) -> std::result::Result<f32, Fault> {
        Ok(match v {
            CValue::Const(c) => *c,
            CValue::Load(a) => {
                let off = self.offset(a)?;
                if self.in_group {
                    let r = self.races.read(a.buf, off, self.tid);
                    r.map_err(|(c, other)| Fault::Err(Box::new(self.race(a.buf, off, c, other))))?;
                }
                self.mem[a.buf][off]
            }
            CValue::Unary(op, a) => scalar::unary(*op, self.value(a)?),
            CValue::Binary(op, a, b) => {
                let x = self.value(a)?;
                scalar::binary(*op, x, self.value(b)?)
            }
            CValue::Select(c, a, b) => {
                if self.eval(c)? != 0 {
                    self.value(a)?
                } else {
                    self.value(b)?
                }
            }
            CValue::Index(e) => self.eval(e)? as f32,
        })
    }

    pub(super) fn expr(&self, e: &CExpr) -> Result<i64> {
        self.eval(e).map_err(|f| self.fault(f))
    }

    /// Integer value of `e` with a small error type (the hot path).
    pub(super) fn eval(&self, e: &CExpr) -> std::result::Result<i64, Fault> {
        let vars = &self.vars;
        Ok(match e {
            CExpr::Const(c) => *c,
            CExpr::Var(v) => vars[*v],
            CExpr::Lin(v, k, c) => k.wrapping_mul(vars[*v]).wrapping_add(*c),
            CExpr::Affine(terms, c) => terms
                .iter()
                .fold(*c, |acc, &(v, k)| acc.wrapping_add(k.wrapping_mul(vars[v]))),
            CExpr::Neg(a) => self.eval(a)?.wrapping_neg(),
            CExpr::Not(a) => i64::from(self.eval(a)? == 0),
            CExpr::Bin(op, a, b, id) => {
                let x = self.eval(a)?;
                let y = self.eval(b)?;
                scalar::int_binary(*op, x, y).map_err(|k| match k {
                    ProgErr::DivZero => Fault::DivZero(*id),
                    ProgErr::Inexact => Fault::Inexact(*id),
                })?
            }
            CExpr::Select(c, a, b) => {
                if self.eval(c)? != 0 {
                    self.eval(a)?
                } else {
                    self.eval(b)?
                }
            }
        })
    }

    /// The error for a data race on `buf[off]`.
    pub(super) fn race(&self, buf: usize, off: usize, c: Conflict, other: u32) -> SymbolicError {
        let shape = &self.prog.shapes[buf];
        let mut index = vec![0; shape.len()];
        let mut rest = off as i64;
        for d in (0..shape.len()).rev() {
            index[d] = rest % shape[d];
            rest /= shape[d];
        }
        let other = if other == u32::MAX {
            "other threads".to_string()
        } else {
            format!("thread {other}")
        };
        SymbolicError::Interp(format!(
            "data race on shared `{}`{index:?}: thread {} {} {other} with no barrier between",
            self.tree.buffers[buf].name,
            self.tid,
            c.describe()
        ))
    }

    /// The error for a fault.
    pub(super) fn fault(&self, f: Fault) -> SymbolicError {
        match f {
            Fault::DivZero(id) => SymbolicError::DivisionByZero {
                expr: self.tree.expr_text(id),
            },
            Fault::Inexact(id) => {
                SymbolicError::Interp(format!("`{}` is not an integer", self.tree.expr_text(id)))
            }
            Fault::Err(e) => *e,
            Fault::OutOfBounds(b) => {
                let (buf, index) = *b;
                SymbolicError::OutOfBounds {
                    buffer: self.tree.buffer(BufferId(buf as u32)).name.clone(),
                    index,
                    shape: self.prog.shapes[buf].clone(),
                }
            }
        }
    }
}

/// A failure in the hot path (converted to a [`SymbolicError`] by [`Machine::fault`]).
pub(super) enum Fault {
    DivZero(ExprId),
    Inexact(ExprId),
    OutOfBounds(Box<(usize, Vec<i64>)>),
    Err(Box<SymbolicError>),
}

/// Why an integer program failed.
pub(crate) enum ProgErr {
    DivZero,
    Inexact,
}
