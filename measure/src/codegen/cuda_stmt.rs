//! Statements and values of the CUDA generator.

use std::fmt::Write;

use tilegrad_symbolic::looptree::{AllocSite, LoopId, Value, ValueBinOp, ValueUnOp};
use tilegrad_symbolic::{BufferId, ExprId, Loop, LoopKind, LoopTree, Scope, Stmt, StoreKind};

use super::cuda_expr::{IOp, Ix, Lowerer};
use super::cuda_print::IxPrinter;
use super::cuda_vector::{contiguous_aligned, uniform};
use super::err;
use crate::MeasureError;

/// State of one kernel's generation.
pub(super) struct Emitter<'a> {
    pub tree: &'a LoopTree,
    pub bufs: Vec<String>,
    pub sizes: Vec<i64>,
    pub sites: Vec<AllocSite>,
    pub low: Lowerer<'a>,
    pub pr: IxPrinter<'a>,
    pub out: String,
    /// Pre-order id of the next loop (as [`LoopTree::loops`] numbers them).
    pub next_loop: usize,
    /// The innermost enclosing `unroll_max_step`.
    pub unroll: Option<i64>,
}

/// A float literal that reads back to exactly `c`.
pub(super) fn float_lit(c: f32) -> String {
    if c.is_nan() {
        "__int_as_float(0x7fc00000)".into()
    } else if c.is_infinite() {
        let s = if c > 0.0 { "" } else { "-" };
        format!("{s}__int_as_float(0x7f800000)")
    } else {
        format!("{c:?}f")
    }
}

/// Loops in `body` (to keep loop ids in step when a subtree is skipped).
fn count_loops(body: &[Stmt]) -> usize {
    body.iter()
        .map(|s| match s {
            Stmt::Loop(l) => 1 + count_loops(&l.body),
            Stmt::If { then, .. } => count_loops(then),
            _ => 0,
        })
        .sum()
}

fn pad(depth: usize) -> String {
    "  ".repeat(depth)
}

impl Emitter<'_> {
    fn line(&mut self, depth: usize, text: &str) {
        let _ = writeln!(self.out, "{}{text}", pad(depth));
    }

    fn ix(&mut self, e: ExprId) -> Result<Ix, MeasureError> {
        self.low.lower(e)
    }

    /// TVM's step count: statements executed by `body` when fully unrolled.
    fn steps(&self, body: &[Stmt]) -> i64 {
        body.iter()
            .map(|s| match s {
                Stmt::Loop(l) => self
                    .tree
                    .const_int(l.extent)
                    .unwrap_or(i64::MAX / 4)
                    .saturating_mul(self.steps(&l.body)),
                Stmt::If { then, .. } => self.steps(then),
                _ => 1,
            })
            .fold(0i64, |a, b| a.saturating_add(b))
    }

    pub fn stmts(&mut self, body: &[Stmt], depth: usize) -> Result<(), MeasureError> {
        for s in body {
            match s {
                Stmt::Loop(lp) => self.lp(lp, depth)?,
                Stmt::If { cond, then } => {
                    let c = self.ix(*cond)?;
                    match c.as_const() {
                        Some(0) => self.next_loop += count_loops(then),
                        Some(_) => self.stmts(then, depth)?,
                        None => {
                            let t = self.pr.print(&c);
                            self.line(depth, &format!("if ({t}) {{"));
                            self.stmts(then, depth + 1)?;
                            self.line(depth, "}");
                        }
                    }
                }
                Stmt::Barrier => self.line(depth, "__syncthreads();"),
                Stmt::Store(st) => {
                    let dst = self.access(st.buffer, &st.index)?;
                    let text = match (&st.kind, &st.value) {
                        (StoreKind::Update, Value::Binary(ValueBinOp::Add, a, b))
                            if **a == Value::load(st.buffer, &st.index) =>
                        {
                            format!("{dst} += {};", self.value(b)?.0)
                        }
                        _ => format!("{dst} = {};", self.value(&st.value)?.0),
                    };
                    self.line(depth, &text);
                }
            }
        }
        Ok(())
    }

    fn declare_locals(&mut self, id: LoopId, depth: usize) {
        for i in 0..self.tree.buffers.len() {
            if self.sites[i] == AllocSite::Loop(id) && self.tree.buffers[i].scope == Scope::Local {
                let line = format!("float {}[{}];", self.bufs[i], self.sizes[i]);
                self.line(depth, &line);
            }
        }
    }

    fn has_locals(&self, id: LoopId) -> bool {
        (0..self.tree.buffers.len()).any(|i| {
            self.sites[i] == AllocSite::Loop(id) && self.tree.buffers[i].scope == Scope::Local
        })
    }

    fn lp(&mut self, lp: &Loop, depth: usize) -> Result<(), MeasureError> {
        let id = LoopId(self.next_loop);
        self.next_loop += 1;
        let ext = self
            .tree
            .const_int(lp.extent)
            .ok_or_else(|| err("non-constant loop extent".into()))?;
        if ext <= 0 {
            self.next_loop += count_loops(&lp.body);
            return Ok(());
        }
        let v = lp.var.index();
        let name = self.pr.names[v].clone();
        let saved_unroll = self.unroll;
        if let Some(s) = lp.unroll_max_step.and_then(|e| self.tree.const_int(e)) {
            self.unroll = Some(s);
        }
        let saved_fixed = self.low.fixed[v];
        let r = (|| {
            let hw = match lp.kind {
                LoopKind::BlockIdx(a) => Some(format!("blockIdx.{}", a.name())),
                LoopKind::ThreadIdx(a) => Some(format!("threadIdx.{}", a.name())),
                _ => None,
            };
            if ext == 1 {
                self.low.fixed[v] = Some(0);
                let scoped = self.has_locals(id) && hw.is_none();
                let d = if scoped {
                    self.line(depth, "{");
                    depth + 1
                } else {
                    depth
                };
                self.declare_locals(id, d);
                self.stmts(&lp.body, d)?;
                if scoped {
                    self.line(depth, "}");
                }
                return Ok(());
            }
            if let Some(hw) = hw {
                self.line(depth, &format!("const int {name} = {hw};"));
                self.declare_locals(id, depth);
                return self.stmts(&lp.body, depth);
            }
            if lp.kind == LoopKind::Vectorized {
                if let Some(text) = self.vector(lp, ext)? {
                    self.next_loop += count_loops(&lp.body);
                    for l in text.lines() {
                        self.line(depth, l);
                    }
                    return Ok(());
                }
            }
            let unrolled = match lp.kind {
                LoopKind::Unrolled | LoopKind::Vectorized => true,
                _ => self
                    .unroll
                    .is_some_and(|s| s > 1 && ext.saturating_mul(self.steps(&lp.body)) <= s),
            };
            if unrolled {
                self.line(depth, "#pragma unroll");
            }
            let note = if lp.kind == LoopKind::VThread {
                "  // vthread"
            } else {
                ""
            };
            self.line(
                depth,
                &format!("for (int {name} = 0; {name} < {ext}; ++{name}) {{{note}"),
            );
            self.declare_locals(id, depth + 1);
            self.stmts(&lp.body, depth + 1)?;
            self.line(depth, "}");
            Ok(())
        })();
        self.low.fixed[v] = saved_fixed;
        self.unroll = saved_unroll;
        r
    }

    /// The flat offset of `buffer[index]`.
    fn offset(&mut self, buffer: BufferId, index: &[ExprId]) -> Result<Ix, MeasureError> {
        let shape = self
            .tree
            .const_shape(buffer)
            .ok_or_else(|| err("non-constant buffer shape".into()))?;
        if shape.len() != index.len() {
            return Err(err(format!(
                "wrong index rank for `{}`",
                self.tree.buffer(buffer).name
            )));
        }
        let mut off = Ix::constant(0);
        for (&d, &e) in shape.iter().zip(index) {
            let i = self.ix(e)?;
            off = Ix::bin(IOp::Add, Ix::bin(IOp::Mul, off, Ix::constant(d))?, i)?;
        }
        Ok(off)
    }

    fn access(&mut self, buffer: BufferId, index: &[ExprId]) -> Result<String, MeasureError> {
        let off = self.offset(buffer, index)?;
        Ok(format!(
            "{}[{}]",
            self.bufs[buffer.index()],
            self.pr.print(&off)
        ))
    }

    /// C text of a value and its precedence (9 = atom).
    fn value(&mut self, v: &Value) -> Result<(String, u8), MeasureError> {
        let wrap = |(s, p): (String, u8), min: u8| if p < min { format!("({s})") } else { s };
        Ok(match v {
            Value::Const(c) => {
                let s = float_lit(*c);
                let p = if s.starts_with('-') { 7 } else { 9 };
                (s, p)
            }
            Value::Load { buffer, index } => (self.access(*buffer, index)?, 9),
            Value::Index(e) => {
                let ix = self.ix(*e)?;
                (format!("(float)({})", self.pr.print(&ix)), 7)
            }
            Value::Unary(op, a) => {
                let x = self.value(a)?;
                let f = |name: &str, x: (String, u8)| (format!("{name}({})", x.0), 9);
                match op {
                    ValueUnOp::Neg => (format!("-{}", wrap(x, 8)), 7),
                    ValueUnOp::Exp => f("expf", x),
                    ValueUnOp::Log => f("logf", x),
                    ValueUnOp::Sqrt => f("sqrtf", x),
                    ValueUnOp::Rsqrt => (format!("1.0f / sqrtf({})", x.0), 6),
                    ValueUnOp::Tanh => f("tanhf", x),
                    ValueUnOp::Erf => f("erff", x),
                    ValueUnOp::Abs => f("fabsf", x),
                    ValueUnOp::Relu => (format!("fmaxf({}, 0.0f)", x.0), 9),
                    ValueUnOp::Sigmoid => (format!("1.0f / (1.0f + expf(-{}))", wrap(x, 8)), 6),
                }
            }
            Value::Binary(op, a, b) => {
                let (x, y) = (self.value(a)?, self.value(b)?);
                match op {
                    ValueBinOp::Max => (format!("fmaxf({}, {})", x.0, y.0), 9),
                    ValueBinOp::Min => (format!("fminf({}, {})", x.0, y.0), 9),
                    _ => {
                        let p = if matches!(op, ValueBinOp::Add | ValueBinOp::Sub) {
                            5
                        } else {
                            6
                        };
                        // Float arithmetic is not associative: keep the tree's grouping.
                        let right_min = p + 1;
                        (
                            format!("{} {} {}", wrap(x, p), op.symbol(), wrap(y, right_min)),
                            p,
                        )
                    }
                }
            }
            Value::Select { cond, then, else_ } => {
                let c = self.ix(*cond)?;
                match c.as_const() {
                    Some(0) => self.value(else_)?,
                    Some(_) => self.value(then)?,
                    None => {
                        let c = self.pr.print(&c);
                        let (t, e) = (self.value(then)?.0, self.value(else_)?.0);
                        (format!("({c} ? {t} : {e})"), 9)
                    }
                }
            }
        })
    }

    /// The `float2`/`float4` form of a contiguous, aligned vectorized copy, if it is one.
    fn vector(&mut self, lp: &Loop, w: i64) -> Result<Option<String>, MeasureError> {
        if w != 2 && w != 4 {
            return Ok(None);
        }
        let (guard, st) = match lp.body.as_slice() {
            [Stmt::Store(st)] => (None, st),
            [Stmt::If { cond, then }] => match then.as_slice() {
                [Stmt::Store(st)] => (Some(*cond), st),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let v = lp.var.index();
        let vector_scope = |e: &Self, b: BufferId| e.tree.buffer(b).scope != Scope::Local;
        if st.kind != StoreKind::Assign || !vector_scope(self, st.buffer) {
            return Ok(None);
        }
        let aligned = |e: &mut Self, b: BufferId, idx: &[ExprId]| -> Result<bool, MeasureError> {
            Ok(vector_scope(e, b) && contiguous_aligned(&e.offset(b, idx)?, v, w))
        };
        let uni = |e: &mut Self, c: ExprId| -> Result<bool, MeasureError> {
            Ok(uniform(&e.ix(c)?, v, w))
        };
        if !aligned(self, st.buffer, &st.index)? || !guard.map_or(Ok(true), |g| uni(self, g))? {
            return Ok(None);
        }
        let (sel, load, fill) = match &st.value {
            Value::Load { buffer, index } => (None, Some((*buffer, index)), None),
            Value::Const(c) => (None, None, Some(*c)),
            Value::Select { cond, then, else_ } => match (&**then, &**else_) {
                (Value::Load { buffer, index }, Value::Const(c)) => {
                    (Some(*cond), Some((*buffer, index)), Some(*c))
                }
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        if let Some((b, idx)) = load {
            if !aligned(self, b, idx)? {
                return Ok(None);
            }
        }
        if !sel.map_or(Ok(true), |c| uni(self, c))? {
            return Ok(None);
        }
        // Proven: print everything at v = 0.
        let saved = self.low.fixed[v];
        self.low.fixed[v] = Some(0);
        let ty = if w == 4 { "float4" } else { "float2" };
        let r = (|| -> Result<String, MeasureError> {
            let dst = self.access(st.buffer, &st.index)?;
            let fill = fill.map(|c| {
                let c = float_lit(c);
                let cs = vec![c; w as usize].join(", ");
                format!("make_{ty}({cs})")
            });
            let src = match load {
                Some((b, idx)) => Some(format!(
                    "*reinterpret_cast<const {ty}*>(&{})",
                    self.access(b, idx)?
                )),
                None => None,
            };
            let rhs = match (sel, src, fill) {
                (Some(c), Some(s), Some(f)) => {
                    let c = self.ix(c)?;
                    match c.as_const() {
                        Some(0) => f,
                        Some(_) => s,
                        None => format!("({} ? {s} : {f})", self.pr.print(&c)),
                    }
                }
                (_, Some(s), _) => s,
                (_, None, Some(f)) => f,
                _ => return Err(err("malformed vector copy".into())),
            };
            let store = format!("*reinterpret_cast<{ty}*>(&{dst}) = {rhs};  // vectorized x{w}");
            Ok(match guard {
                Some(g) => {
                    let g = self.ix(g)?;
                    match g.as_const() {
                        Some(0) => String::new(),
                        Some(_) => store,
                        None => format!("if ({}) {{\n  {store}\n}}", self.pr.print(&g)),
                    }
                }
                None => store,
            })
        })();
        self.low.fixed[v] = saved;
        r.map(Some)
    }
}
