//! Readable, byte-stable text of a [`LoopTree`] (its `Display`).
//!
//! ```text
//! kernel matmul(sp_0, sp_1)
//! buffer A: f32 global [64, 32] input 0
//! buffer C.local: f32 local [(* sp_0 sp_1)]
//! for i.0 in 0..(floordiv 512 (* sp_0 sp_1)) @blockIdx.x {
//!   C[i, j] = 0  // init
//!   C[i, j] = C[i, j] + A[i, k] * B[k, j]  // update
//!   barrier
//! }
//! ```
//! Index expressions use the arena's canonical s-expressions; values are infix.

use std::fmt::{self, Write};

use super::{BufferRole, LoopTree, Stmt, StoreKind, Value, ValueBinOp};
use crate::expr::ExprId;

impl LoopTree {
    /// Text of a value (infix, minimal parentheses).
    pub fn value_text(&self, v: &Value) -> String {
        let mut s = String::new();
        self.write_value(&mut s, v);
        s
    }

    /// Text of `buffer[i, j, …]`.
    pub fn access_text(&self, buffer: super::BufferId, index: &[ExprId]) -> String {
        let name = self
            .buffers
            .get(buffer.index())
            .map_or_else(|| format!("<buffer {}>", buffer.0), |b| b.name.clone());
        let idx: Vec<String> = index.iter().map(|&e| self.expr_text(e)).collect();
        format!("{name}[{}]", idx.join(", "))
    }

    /// Text of an expression (canonical s-expression; a marker for foreign ids).
    pub fn expr_text(&self, e: ExprId) -> String {
        match self.exprs.try_get(e) {
            Ok(_) => self.exprs.display(e),
            Err(_) => format!("<expr {}>", e.0),
        }
    }

    fn write_value(&self, out: &mut String, v: &Value) {
        match v {
            Value::Const(c) => {
                let _ = write!(out, "{c}");
            }
            Value::Load { buffer, index } => out.push_str(&self.access_text(*buffer, index)),
            Value::Unary(op, a) => {
                out.push_str(op.name());
                out.push('(');
                self.write_value(out, a);
                out.push(')');
            }
            Value::Binary(op @ (ValueBinOp::Max | ValueBinOp::Min), a, b) => {
                out.push_str(op.symbol());
                out.push('(');
                self.write_value(out, a);
                out.push_str(", ");
                self.write_value(out, b);
                out.push(')');
            }
            Value::Binary(op, a, b) => {
                let p = prec(v);
                let left_paren = prec(a) < p;
                let right_same_assoc = matches!(
                    (op, &**b),
                    (ValueBinOp::Add, Value::Binary(ValueBinOp::Add, ..))
                ) || matches!(
                    (op, &**b),
                    (ValueBinOp::Mul, Value::Binary(ValueBinOp::Mul, ..))
                );
                let right_paren = prec(b) < p || (prec(b) == p && !right_same_assoc);
                self.write_paren(out, a, left_paren);
                let _ = write!(out, " {} ", op.symbol());
                self.write_paren(out, b, right_paren);
            }
            Value::Select { cond, then, else_ } => {
                let _ = write!(out, "select({}, ", self.expr_text(*cond));
                self.write_value(out, then);
                out.push_str(", ");
                self.write_value(out, else_);
                out.push(')');
            }
            Value::Index(e) => {
                let _ = write!(out, "float({})", self.expr_text(*e));
            }
        }
    }

    fn write_paren(&self, out: &mut String, v: &Value, paren: bool) {
        if paren {
            out.push('(');
        }
        self.write_value(out, v);
        if paren {
            out.push(')');
        }
    }

    fn write_stmts(&self, out: &mut String, body: &[Stmt], depth: usize) {
        for s in body {
            let pad = "  ".repeat(depth);
            match s {
                Stmt::Loop(lp) => {
                    let name = self.exprs.var_name(lp.var);
                    let _ = write!(out, "{pad}for {name} in 0..{}", self.expr_text(lp.extent));
                    let ann = lp.kind.annotation();
                    if !ann.is_empty() {
                        let _ = write!(out, " {ann}");
                    }
                    if let Some(u) = lp.unroll_max_step {
                        let _ = write!(out, " unroll_max_step={}", self.expr_text(u));
                    }
                    out.push_str(" {\n");
                    self.write_stmts(out, &lp.body, depth + 1);
                    let _ = writeln!(out, "{pad}}}");
                }
                Stmt::Store(st) => {
                    let _ = write!(
                        out,
                        "{pad}{} = {}",
                        self.access_text(st.buffer, &st.index),
                        self.value_text(&st.value)
                    );
                    match st.kind {
                        StoreKind::Assign => out.push('\n'),
                        StoreKind::Init => out.push_str("  // init\n"),
                        StoreKind::Update => out.push_str("  // update\n"),
                    }
                }
                Stmt::If { cond, then } => {
                    let _ = writeln!(out, "{pad}if {} {{", self.expr_text(*cond));
                    self.write_stmts(out, then, depth + 1);
                    let _ = writeln!(out, "{pad}}}");
                }
                Stmt::Barrier => {
                    let _ = writeln!(out, "{pad}barrier");
                }
            }
        }
    }
}

fn prec(v: &Value) -> u8 {
    match v {
        Value::Binary(ValueBinOp::Add | ValueBinOp::Sub, ..) => 1,
        Value::Binary(ValueBinOp::Mul | ValueBinOp::Div, ..) => 2,
        Value::Const(c) if *c < 0.0 => 2,
        _ => 3,
    }
}

impl fmt::Display for LoopTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sched: Vec<&str> = self
            .schedule_vars
            .iter()
            .map(|&v| self.exprs.var_name(v))
            .collect();
        let mut out = format!("kernel {}({})\n", self.name, sched.join(", "));
        for b in &self.buffers {
            let shape: Vec<String> = b.shape.iter().map(|&e| self.expr_text(e)).collect();
            let role = match b.role {
                BufferRole::Input(i) => format!(" input {i}"),
                BufferRole::Output => " output".to_string(),
                BufferRole::Temp => String::new(),
                BufferRole::Prepared => " prepared".to_string(),
            };
            let _ = writeln!(
                out,
                "buffer {}: {} {} [{}]{role}",
                b.name,
                b.dtype.name(),
                b.scope.name(),
                shape.join(", ")
            );
        }
        self.write_stmts(&mut out, &self.body, 0);
        f.write_str(&out)
    }
}
