//! `Vectorized` loops with GCC vector types.
//!
//! A vectorized loop over `v` is printed with vectors when its body is a list of stores whose
//! target is contiguous along `v` (stride 1 in the flat offset) and whose loads are contiguous
//! (vector load) or invariant (broadcast), and `v` appears nowhere else (selects, `Index`
//! values). The vector part runs `lanes` iterations at a time; the remainder is a scalar
//! tail. Anything else is printed as a scalar loop under `#pragma GCC ivdep`.

use tilegrad_symbolic::looptree::{BufferRole, Loop, Stmt, Store, Value, ValueBinOp, ValueUnOp};
use tilegrad_symbolic::Var;

use super::c::Emitter;
use super::c_expr::{paren, Printed, ATOM};
use super::c_hoist::Hoist;
use super::c_value::{float_lit, op_prec};
use crate::MeasureError;

/// Most vector chunks of a constant-extent loop that get a full-unroll pragma.
pub(super) const MAX_UNROLLED_CHUNKS: i64 = 16;

impl Emitter<'_> {
    /// Whether `v` can be vectorized in `value` (contiguous or invariant loads only).
    fn vec_value_ok(&self, value: &Value, v: Var) -> Result<bool, MeasureError> {
        Ok(match value {
            Value::Const(_) => true,
            Value::Load { buffer, index } => {
                let off = self.offset(*buffer, index)?;
                matches!(off.coef(v), 0 | 1) && !self.atoms_depend(&off, v)
            }
            Value::Unary(_, a) => self.vec_value_ok(a, v)?,
            Value::Binary(_, a, b) => self.vec_value_ok(a, v)? && self.vec_value_ok(b, v)?,
            Value::Select { cond, then, else_ } => match self.select_cond(*cond)? {
                Err(true) => self.vec_value_ok(then, v)?,
                Err(false) => self.vec_value_ok(else_, v)?,
                Ok(_) => {
                    self.open_conjuncts(*cond)
                        .iter()
                        .all(|&c| !self.depends(c, v))
                        && self.vec_value_ok(then, v)?
                        && self.vec_value_ok(else_, v)?
                }
            },
            Value::Index(e) => !self.depends(*e, v),
        })
    }

    /// The stores of `body` if every one can be vectorized along `v`.
    pub(super) fn vec_stores<'a>(
        &self,
        body: &'a [Stmt],
        v: Var,
    ) -> Result<Option<Vec<&'a Store>>, MeasureError> {
        let mut out = Vec::new();
        for s in body {
            let Stmt::Store(st) = s else { return Ok(None) };
            let off = self.offset(st.buffer, &st.index)?;
            if off.coef(v) != 1 || self.atoms_depend(&off, v) || !self.vec_value_ok(&st.value, v)? {
                return Ok(None);
            }
            out.push(st);
        }
        Ok(Some(out))
    }

    /// A vector expression (`v<lanes>f`) for `value` at lanes `v .. v + lanes`.
    fn vector(&self, value: &Value, v: Var) -> Result<Printed, MeasureError> {
        Ok(match value {
            Value::Const(c) => (format!("tg_splat({})", float_lit(*c).0), ATOM),
            Value::Load { buffer, index } => {
                let off = self.offset(*buffer, index)?;
                let access = format!(
                    "{}[{}]",
                    self.buf_names[buffer.index()],
                    self.print_linear(&off)?.0
                );
                // Contiguity with `v` free (it may be pinned to one chunk when unrolled).
                let prev = self.keep.replace(self.lane_var.get());
                let coef = self.offset(*buffer, index).map(|o| o.coef(v));
                self.keep.set(prev);
                let text = if coef? == 0 {
                    format!("tg_splat({access})")
                } else {
                    format!("tg_load(&{access})")
                };
                let input = matches!(self.tree.buffers[buffer.index()].role, BufferRole::Input(_));
                self.named(text, input)
            }
            Value::Unary(op, a) => {
                let x = self.vector(a, v)?;
                let f = match op {
                    ValueUnOp::Neg => return Ok((format!("-{}", paren(x, ATOM)), 6)),
                    ValueUnOp::Relu => {
                        return Ok((format!("tg_vmax({}, tg_splat(0.0f))", x.0), ATOM))
                    }
                    ValueUnOp::Exp => "tg_vexp",
                    ValueUnOp::Log => "tg_vlog",
                    ValueUnOp::Sqrt => "tg_vsqrt",
                    ValueUnOp::Rsqrt => "tg_vrsqrt",
                    ValueUnOp::Tanh => "tg_vtanh",
                    ValueUnOp::Erf => "tg_verf",
                    ValueUnOp::Sigmoid => "tg_vsigmoid",
                    ValueUnOp::Abs => "tg_vabs",
                };
                (format!("{f}({})", x.0), ATOM)
            }
            Value::Binary(op, a, b) => {
                let (x, y) = (self.vector(a, v)?, self.vector(b, v)?);
                match op {
                    ValueBinOp::Max => (format!("tg_vmax({}, {})", x.0, y.0), ATOM),
                    ValueBinOp::Min => (format!("tg_vmin({}, {})", x.0, y.0), ATOM),
                    _ => {
                        let p = op_prec(*op);
                        let right = if matches!(op, ValueBinOp::Add | ValueBinOp::Mul) {
                            p
                        } else {
                            p + 1
                        };
                        let text = format!("{} {} {}", paren(x, p), op.symbol(), paren(y, right));
                        (text, p)
                    }
                }
            }
            Value::Select { cond, then, else_ } => match self.select_cond(*cond)? {
                Err(true) => self.vector(then, v)?,
                Err(false) => self.vector(else_, v)?,
                Ok(c) => {
                    // Loads under a condition (padding) stay inside their branch: naming them
                    // at the top of an unrolled block would read out of bounds.
                    // The whole select is named once (a padded input point shared by the
                    // vector chunks of a register tile row) when it reads only inputs.
                    let named = self.cse.borrow_mut().take();
                    let (t, e) = (self.vector(then, v), self.vector(else_, v));
                    self.cse.replace(named);
                    let text = format!("({c} ? {} : {})", paren(t?, 1), paren(e?, 1));
                    let pure = self.reads_only_inputs(then) && self.reads_only_inputs(else_);
                    self.named(text, pure)
                }
            },
            Value::Index(e) => (
                format!("tg_splat((float)({}))", self.print_expr(*e)?.0),
                ATOM,
            ),
        })
    }

    /// `text` under a name of the enclosing unrolled block (declared once, before its first
    /// use) when `share` and a block is being printed; `text` itself otherwise.
    fn named(&self, text: String, share: bool) -> Printed {
        match self.cse.borrow_mut().as_mut() {
            Some(named) if share => {
                let name = match named.iter().find(|(t, _)| *t == text) {
                    Some((_, n)) => n.clone(),
                    None => {
                        let n = format!("tg_r{}", named.len());
                        named.push((text, n.clone()));
                        n
                    }
                };
                (name, ATOM)
            }
            _ => (text, ATOM),
        }
    }

    /// Whether every load in `value` reads an input (never a buffer the kernel writes).
    fn reads_only_inputs(&self, value: &Value) -> bool {
        match value {
            Value::Const(_) | Value::Index(_) => true,
            Value::Load { buffer, .. } => {
                matches!(self.tree.buffers[buffer.index()].role, BufferRole::Input(_))
            }
            Value::Unary(_, a) => self.reads_only_inputs(a),
            Value::Binary(_, a, b) => self.reads_only_inputs(a) && self.reads_only_inputs(b),
            Value::Select { then, else_, .. } => {
                self.reads_only_inputs(then) && self.reads_only_inputs(else_)
            }
        }
    }

    pub(super) fn vector_store(&self, st: &Store, v: Var) -> Result<String, MeasureError> {
        let off = self.offset(st.buffer, &st.index)?;
        let ptr = format!(
            "&{}[{}]",
            self.buf_names[st.buffer.index()],
            self.print_linear(&off)?.0
        );
        if let Some(rest) = self.accumulated(st) {
            if let Some(acc) = self.promoted_acc(st.buffer, &ptr)? {
                return Ok(format!("{acc} += {};", self.vector(rest, v)?.0));
            }
        }
        let value = match self.accumulated(st) {
            Some(rest) => format!("tg_load({ptr}) + {}", paren(self.vector(rest, v)?, 5)),
            None => self.vector(&st.value, v)?.0,
        };
        Ok(format!("tg_store({ptr}, {value});"))
    }

    /// Prints the vectorized loop `l` (its guard already split into `h`, bounds `lo..hi`).
    pub(super) fn vector_loop(
        &mut self,
        l: &Loop,
        var: &str,
        lo: &str,
        hi: &str,
        extent: i64,
        h: &Hoist<'_>,
    ) -> Result<(), MeasureError> {
        let w = self.lanes as i64;
        let stores = if w >= 2 && h.inner.is_empty() {
            self.vec_stores(h.body, l.var)?
        } else {
            None
        };
        let constant = lo == "0" && hi == extent.to_string();
        let (Some(stores), true) = (stores, !constant || extent >= w) else {
            self.line("#pragma GCC ivdep");
            self.line(&format!(
                "for (long {var} = {lo}; {var} < {hi}; ++{var}) {{"
            ));
            self.indent += 1;
            self.hoisted_body(h)?;
            self.indent -= 1;
            self.line("}");
            return Ok(());
        };
        let vec_lines = stores
            .iter()
            .map(|st| self.vector_store(st, l.var))
            .collect::<Result<Vec<_>, _>>()?;
        let scalar_lines = stores
            .iter()
            .map(|st| self.scalar_store(st))
            .collect::<Result<Vec<_>, _>>()?;
        if constant {
            let full = extent / w * w;
            if full / w <= MAX_UNROLLED_CHUNKS {
                self.line(&format!("#pragma GCC unroll {}", full / w));
            }
            self.block(
                &format!("for (long {var} = 0; {var} < {full}; {var} += {w}) {{"),
                &vec_lines,
            );
            if full < extent {
                self.block(
                    &format!("for (long {var} = {full}; {var} < {extent}; ++{var}) {{"),
                    &scalar_lines,
                );
            }
        } else {
            self.line("{");
            self.indent += 1;
            self.line(&format!("long {var} = {lo};"));
            self.block(
                &format!("for (; {var} + {w} <= {hi}; {var} += {w}) {{"),
                &vec_lines,
            );
            self.block(&format!("for (; {var} < {hi}; ++{var}) {{"), &scalar_lines);
            self.indent -= 1;
            self.line("}");
        }
        Ok(())
    }

    /// `head`, the indented `lines`, `}`.
    pub(super) fn block(&mut self, head: &str, lines: &[String]) {
        self.line(head);
        self.indent += 1;
        for s in lines {
            self.line(s);
        }
        self.indent -= 1;
        self.line("}");
    }
}
