//! Printing index expressions of the CUDA generator as `int` C expressions, and the floored
//! helper functions they may need.

use super::cuda_expr::{Helpers, IOp, Ix, IxKind};

fn prec(ix: &Ix) -> u8 {
    match &ix.kind {
        IxKind::Const(c) if *c < 0 => 6,
        IxKind::Const(_) | IxKind::Var(_) => 9,
        IxKind::Not(_) => 8,
        IxKind::Sel(..) => 0,
        IxKind::Bin(op, a, b) => match op {
            IOp::Or => 1,
            IOp::And => 2,
            IOp::Eq => 3,
            IOp::Lt | IOp::Le => 4,
            IOp::Add | IOp::Sub => 5,
            IOp::Mul | IOp::Div => 6,
            IOp::FloorDiv | IOp::Mod if plain_div(a, b) => 6,
            IOp::CeilDiv if plain_div(a, b) => 6,
            _ => 9,
        },
    }
}

/// Whether `ix` prints as a product of atoms (no division or modulo at the same precedence).
fn mul_spine(ix: &Ix) -> bool {
    match &ix.kind {
        IxKind::Bin(IOp::Mul, l, r) => mul_spine(l) && prec(r) > 6,
        _ => prec(ix) > 6,
    }
}

/// Whether `a / b` (and `a % b`) in C equal the floored operations.
fn plain_div(a: &Ix, b: &Ix) -> bool {
    a.lo >= 0 && b.lo > 0
}

/// Prints index expressions; `names[v]` is the C name of variable `v`.
pub(super) struct IxPrinter<'a> {
    pub names: &'a [String],
    pub helpers: Helpers,
}

impl IxPrinter<'_> {
    /// C text of `ix`.
    pub fn print(&mut self, ix: &Ix) -> String {
        let mut s = String::new();
        self.write(&mut s, ix);
        s
    }

    fn paren(&mut self, out: &mut String, ix: &Ix, p: bool) {
        if p {
            out.push('(');
        }
        self.write(out, ix);
        if p {
            out.push(')');
        }
    }

    fn write(&mut self, out: &mut String, ix: &Ix) {
        match &ix.kind {
            IxKind::Const(c) => out.push_str(&c.to_string()),
            IxKind::Var(v) => out.push_str(&self.names[*v]),
            IxKind::Not(a) => {
                out.push('!');
                self.paren(out, a, prec(a) < 8);
            }
            IxKind::Sel(c, a, b) => {
                out.push('(');
                self.write(out, c);
                out.push_str(" ? ");
                self.write(out, a);
                out.push_str(" : ");
                self.write(out, b);
                out.push(')');
            }
            IxKind::Bin(op @ (IOp::Add | IOp::Sub), a, b)
                if a.as_const().is_some() || b.as_const().is_some_and(|c| c < 0) =>
            {
                // Constants last, as `x + 1` / `x - 1`.
                let (x, c, sub) = match (a.as_const(), b.as_const()) {
                    (Some(c), None) if *op == IOp::Add => (b, c, false),
                    (_, Some(c)) => (a, c, *op == IOp::Sub),
                    _ => return self.write_bin(out, ix, *op, a, b),
                };
                let neg = (c < 0) != sub;
                self.paren(out, x, prec(x) < 5);
                out.push_str(if neg { " - " } else { " + " });
                out.push_str(&c.unsigned_abs().to_string());
            }
            IxKind::Bin(op, a, b) => self.write_bin(out, ix, *op, a, b),
        }
    }

    fn write_bin(&mut self, out: &mut String, ix: &Ix, op: IOp, a: &Ix, b: &Ix) {
        let op = &op;
        if *op == IOp::Pow && a.as_const() == Some(2) {
            out.push_str("(1 << ");
            self.paren(out, b, prec(b) <= 5);
            out.push(')');
            return;
        }
        let call = match op {
            IOp::Pow => {
                self.helpers.pow = true;
                Some("tg_ipow")
            }
            IOp::Min => Some("min"),
            IOp::Max => Some("max"),
            IOp::FloorDiv if !plain_div(a, b) => {
                self.helpers.floordiv = true;
                Some("tg_floordiv")
            }
            IOp::Mod if !plain_div(a, b) => {
                self.helpers.floormod = true;
                Some("tg_floormod")
            }
            IOp::CeilDiv if !plain_div(a, b) => {
                self.helpers.ceildiv = true;
                Some("tg_ceildiv")
            }
            _ => None,
        };
        if let Some(f) = call {
            out.push_str(f);
            out.push('(');
            self.write(out, a);
            out.push_str(", ");
            self.write(out, b);
            out.push(')');
            return;
        }
        if *op == IOp::CeilDiv {
            // a >= 0, b > 0 constant: (a + b - 1) / b.
            let d = b.as_const().unwrap_or(1);
            out.push('(');
            self.paren(out, a, prec(a) < 5);
            out.push_str(&format!(" + {}) / {d}", d - 1));
            return;
        }
        let sym = match op {
            IOp::Add => "+",
            IOp::Sub => "-",
            IOp::Mul => "*",
            IOp::Div | IOp::FloorDiv => "/",
            IOp::Mod => "%",
            IOp::Lt => "<",
            IOp::Le => "<=",
            IOp::Eq => "==",
            IOp::And => "&&",
            _ => "||",
        };
        let p = prec(ix);
        // `a * (x * y)` prints as `a * x * y` only when the right operand's left spine is
        // multiplications of atoms: `a * (x / 2 * 4)` is not `a * x / 2 * 4` in integer C.
        let assoc = match (op, &b.kind) {
            (IOp::Mul, IxKind::Bin(IOp::Mul, l, _)) => mul_spine(l),
            _ => matches!(
                (op, &b.kind),
                (IOp::Add, IxKind::Bin(IOp::Add, ..))
                    | (IOp::And, IxKind::Bin(IOp::And, ..))
                    | (IOp::Or, IxKind::Bin(IOp::Or, ..))
            ),
        };
        let lp = prec(a) < p;
        let rp = prec(b) < p || (prec(b) == p && !assoc);
        self.paren(out, a, lp);
        out.push_str(&format!(" {sym} "));
        self.paren(out, b, rp);
    }
}

/// C definitions of the helpers in `h`, in a fixed order.
pub(super) fn helper_text(h: Helpers) -> String {
    let mut s = String::new();
    if h.floordiv || h.ceildiv {
        s.push_str(
            "__device__ __forceinline__ int tg_floordiv(int a, int b) {\n  \
             int q = a / b;\n  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;\n}\n",
        );
    }
    if h.floormod {
        s.push_str(
            "__device__ __forceinline__ int tg_floormod(int a, int b) {\n  \
             int r = a % b;\n  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;\n}\n",
        );
    }
    if h.pow {
        s.push_str(
            "__device__ __forceinline__ int tg_ipow(int a, int b) {\n  \
             int r = 1;\n  for (int i = 0; i < b; ++i) r *= a;\n  return r;\n}\n",
        );
    }
    if h.ceildiv {
        s.push_str(
            "__device__ __forceinline__ int tg_ceildiv(int a, int b) { return -tg_floordiv(-a, b); }\n",
        );
    }
    s
}
