//! Integer index expressions of the CUDA generator: lowering from the tree's arena with
//! constant folding and interval analysis (printing is in `cuda_print.rs`).
//!
//! Loop variables range over `[0, extent)`, so intervals decide many comparisons and remove
//! `mod x d` / `floordiv x d` when `x` is known to lie in `[0, d)`. `floordiv`/`mod`/`ceildiv`
//! print as C `/` and `%` when the dividend is provably non-negative and the divisor a positive
//! constant, else as the floored helpers `tg_floordiv`/`tg_floormod`/`tg_ceildiv` (whose use is
//! recorded so that only the needed helpers are emitted).

use tilegrad_symbolic::{BinOp, Expr, ExprArena, ExprId, UnOp};

use crate::MeasureError;

/// The unknown range (far from the `i64` limits so that sums cannot overflow).
const FULL: (i64, i64) = (i64::MIN / 8, i64::MAX / 8);

/// Integer binary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IOp {
    Add,
    Sub,
    Mul,
    /// Exact division.
    Div,
    FloorDiv,
    CeilDiv,
    Mod,
    Min,
    Max,
    Lt,
    Le,
    Eq,
    And,
    Or,
    /// `a ^ b` (integer power, `b >= 0`).
    Pow,
}

/// A lowered index expression with its value range.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Ix {
    pub kind: IxKind,
    pub lo: i64,
    pub hi: i64,
}

/// The node of an [`Ix`].
#[derive(Clone, Debug, PartialEq)]
pub(super) enum IxKind {
    Const(i64),
    /// A loop variable (index into the variable table).
    Var(usize),
    Bin(IOp, Box<Ix>, Box<Ix>),
    Not(Box<Ix>),
    Sel(Box<Ix>, Box<Ix>, Box<Ix>),
}

/// Helper functions an expression needs (printed once before the kernel).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Helpers {
    pub floordiv: bool,
    pub pow: bool,
    pub floormod: bool,
    pub ceildiv: bool,
}

fn err(msg: String) -> MeasureError {
    MeasureError::Codegen(format!("cuda codegen: {msg}"))
}

fn sat(v: i128) -> i64 {
    v.clamp(FULL.0 as i128, FULL.1 as i128) as i64
}

fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

fn floor_mod(a: i64, b: i64) -> i64 {
    a - b * floor_div(a, b)
}

impl Ix {
    pub fn constant(c: i64) -> Ix {
        Ix {
            kind: IxKind::Const(c),
            lo: c,
            hi: c,
        }
    }

    pub fn as_const(&self) -> Option<i64> {
        match self.kind {
            IxKind::Const(c) => Some(c),
            _ => None,
        }
    }

    fn node(kind: IxKind, (lo, hi): (i64, i64)) -> Ix {
        if lo == hi {
            return Ix::constant(lo);
        }
        Ix { kind, lo, hi }
    }

    fn boolean(kind: IxKind) -> Ix {
        Ix::node(kind, (0, 1))
    }

    /// `op(a, b)` with folding.
    pub fn bin(op: IOp, a: Ix, b: Ix) -> Result<Ix, MeasureError> {
        let (ca, cb) = (a.as_const(), b.as_const());
        let (al, ah, bl, bh) = (a.lo as i128, a.hi as i128, b.lo as i128, b.hi as i128);
        let mk =
            |a: Ix, b: Ix, r: (i64, i64)| Ix::node(IxKind::Bin(op, Box::new(a), Box::new(b)), r);
        Ok(match op {
            IOp::Add => match (ca, cb) {
                (Some(0), _) => b,
                (_, Some(0)) => a,
                _ if recombines(&a, &b) => match a.kind {
                    IxKind::Bin(_, q, _) => match q.kind {
                        IxKind::Bin(_, x, _) => *x,
                        _ => unreachable!("checked by recombines"),
                    },
                    _ => unreachable!("checked by recombines"),
                },
                _ => mk(a, b, (sat(al + bl), sat(ah + bh))),
            },
            IOp::Sub => match cb {
                Some(0) => a,
                _ => mk(a, b, (sat(al - bh), sat(ah - bl))),
            },
            IOp::Mul => match (ca, cb) {
                (Some(0), _) | (_, Some(0)) => Ix::constant(0),
                (Some(1), _) => b,
                (_, Some(1)) => a,
                _ => {
                    let p = [al * bl, al * bh, ah * bl, ah * bh];
                    let r = (
                        sat(*p.iter().min().unwrap_or(&0)),
                        sat(*p.iter().max().unwrap_or(&0)),
                    );
                    mk(a, b, r)
                }
            },
            IOp::Div | IOp::FloorDiv | IOp::CeilDiv => {
                let Some(d) = cb else {
                    if op == IOp::FloorDiv && a.lo >= 0 && b.lo > 0 {
                        let r = (a.lo / b.hi, a.hi / b.lo);
                        return Ok(mk(a, b, r));
                    }
                    return Ok(mk(a, b, FULL));
                };
                if let Some(x) = scaled(&a, d) {
                    // floordiv(x * (k * d), d) = x * k.
                    return Ix::bin(IOp::Mul, x.0, Ix::constant(x.1 / d));
                }
                if d == 0 {
                    return Err(err("division by zero".into()));
                }
                if d == 1 {
                    return Ok(a);
                }
                if op == IOp::Div {
                    if let Some(x) = ca {
                        if x % d != 0 {
                            return Err(err(format!("inexact division {x} / {d}")));
                        }
                    }
                }
                let f = |x: i64| match op {
                    IOp::CeilDiv => -floor_div(-x, d),
                    _ => floor_div(x, d),
                };
                let (x, y) = (f(a.lo), f(a.hi));
                mk(a, b, (x.min(y), x.max(y)))
            }
            IOp::Mod => match cb {
                Some(0) => return Err(err("modulo by zero".into())),
                Some(d) if scaled(&a, d).is_some() => Ix::constant(0),
                Some(1) | Some(-1) => Ix::constant(0),
                Some(d) if d > 0 && a.lo >= 0 && a.hi < d => a,
                Some(d) if d > 0 && floor_div(a.lo, d) == floor_div(a.hi, d) => {
                    // One period: mod is `a - d * q` with a constant q.
                    let q = floor_div(a.lo, d);
                    Ix::bin(IOp::Sub, a, Ix::constant(q * d))?
                }
                Some(d) if d > 0 => mk(a, b, (0, d - 1)),
                Some(d) => {
                    if let Some(x) = ca {
                        Ix::constant(floor_mod(x, d))
                    } else {
                        mk(a, b, (d + 1, 0))
                    }
                }
                None => mk(a, b, FULL),
            },
            IOp::Min | IOp::Max => {
                let a_first = if op == IOp::Min {
                    a.hi <= b.lo
                } else {
                    a.lo >= b.hi
                };
                let b_first = if op == IOp::Min {
                    b.hi <= a.lo
                } else {
                    b.lo >= a.hi
                };
                if a_first {
                    a
                } else if b_first {
                    b
                } else if op == IOp::Min {
                    let r = (a.lo.min(b.lo), a.hi.min(b.hi));
                    mk(a, b, r)
                } else {
                    let r = (a.lo.max(b.lo), a.hi.max(b.hi));
                    mk(a, b, r)
                }
            }
            IOp::Lt | IOp::Le | IOp::Eq => {
                let t = match op {
                    IOp::Lt => (a.hi < b.lo, a.lo >= b.hi),
                    IOp::Le => (a.hi <= b.lo, a.lo > b.hi),
                    _ => (ca.is_some() && ca == cb, a.hi < b.lo || a.lo > b.hi),
                };
                match t {
                    (true, _) => Ix::constant(1),
                    (_, true) => Ix::constant(0),
                    _ => Ix::boolean(IxKind::Bin(op, Box::new(a), Box::new(b))),
                }
            }
            IOp::Pow => {
                if b.lo < 0 {
                    return Err(err("negative exponent in an index expression".into()));
                }
                let p = |x: i64, y: i64| (x as f64).powf(y as f64);
                if a.lo >= 0 && b.hi < 63 && p(a.hi, b.hi) < 9.0e15 {
                    let r = (p(a.lo, b.lo) as i64, p(a.hi, b.hi) as i64);
                    mk(a, b, r)
                } else {
                    mk(a, b, FULL)
                }
            }
            IOp::And => match (ca, cb) {
                (Some(0), _) | (_, Some(0)) => Ix::constant(0),
                (Some(_), _) => b,
                (_, Some(_)) => a,
                _ => Ix::boolean(IxKind::Bin(op, Box::new(a), Box::new(b))),
            },
            IOp::Or => match (ca, cb) {
                (Some(x), _) if x != 0 => Ix::constant(1),
                (_, Some(x)) if x != 0 => Ix::constant(1),
                (Some(_), _) => b,
                (_, Some(_)) => a,
                _ => Ix::boolean(IxKind::Bin(op, Box::new(a), Box::new(b))),
            },
        })
    }
}

/// `a = x * c` with `d | c`: `(x, c)`.
fn scaled(a: &Ix, d: i64) -> Option<(Ix, i64)> {
    match &a.kind {
        IxKind::Bin(IOp::Mul, x, c) => {
            let c = c.as_const()?;
            (d != 0 && c % d == 0).then(|| ((**x).clone(), c))
        }
        _ => None,
    }
}

/// `a = floordiv(x, d) * d` and `b = mod(x, d)` (their sum is `x`).
fn recombines(a: &Ix, b: &Ix) -> bool {
    let (IxKind::Bin(IOp::Mul, q, d1), IxKind::Bin(IOp::Mod, x2, d2)) = (&a.kind, &b.kind) else {
        return false;
    };
    let IxKind::Bin(IOp::FloorDiv, x1, d0) = &q.kind else {
        return false;
    };
    d0.as_const().is_some() && d0 == d1 && d1 == d2 && x1 == x2
}

/// Lowers arena expressions: `ranges[v]` is the range of variable `v` (None: not a loop
/// variable), `fixed[v]` a constant substituted for it.
pub(super) struct Lowerer<'a> {
    pub arena: &'a ExprArena,
    pub ranges: Vec<Option<(i64, i64)>>,
    pub fixed: Vec<Option<i64>>,
}

fn as_int(x: f64) -> Result<i64, MeasureError> {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Ok(x as i64)
    } else {
        Err(err(format!("non-integer index constant {x}")))
    }
}

impl Lowerer<'_> {
    /// The lowered form of `id`.
    pub fn lower(&self, id: ExprId) -> Result<Ix, MeasureError> {
        let node = *self
            .arena
            .try_get(id)
            .map_err(|e| err(format!("bad expression id: {e}")))?;
        Ok(match node {
            Expr::Const(_) => Ix::constant(as_int(node.as_const().unwrap_or(f64::NAN))?),
            Expr::Var(v) => {
                let i = v.index();
                if let Some(Some(c)) = self.fixed.get(i) {
                    return Ok(Ix::constant(*c));
                }
                match self.ranges.get(i).copied().flatten() {
                    Some(r) => Ix::node(IxKind::Var(i), r),
                    None => {
                        return Err(err(format!(
                            "`{}` is not a loop variable (tree not concrete?)",
                            self.arena.var_name(v)
                        )))
                    }
                }
            }
            Expr::Unary(UnOp::Neg, a) => Ix::bin(IOp::Sub, Ix::constant(0), self.lower(a)?)?,
            Expr::Unary(UnOp::Not, a) => {
                let a = self.lower(a)?;
                match a.as_const() {
                    Some(c) => Ix::constant(i64::from(c == 0)),
                    None => Ix::boolean(IxKind::Not(Box::new(a))),
                }
            }
            Expr::Unary(op, _) => return Err(err(format!("{op:?} in an index expression"))),
            Expr::Binary(BinOp::Pow, a, b) => {
                let (a, b) = (self.lower(a)?, self.lower(b)?);
                match (a.as_const(), b.as_const()) {
                    (Some(x), Some(y)) if (0..63).contains(&y) => Ix::constant(
                        x.checked_pow(y as u32)
                            .ok_or_else(|| err("pow overflow".into()))?,
                    ),
                    _ => Ix::bin(IOp::Pow, a, b)?,
                }
            }
            Expr::Binary(op, a, b) => {
                let op = match op {
                    BinOp::Add => IOp::Add,
                    BinOp::Sub => IOp::Sub,
                    BinOp::Mul => IOp::Mul,
                    BinOp::Div => IOp::Div,
                    BinOp::FloorDiv => IOp::FloorDiv,
                    BinOp::CeilDiv => IOp::CeilDiv,
                    BinOp::Mod => IOp::Mod,
                    BinOp::Min => IOp::Min,
                    BinOp::Max => IOp::Max,
                    BinOp::Lt => IOp::Lt,
                    BinOp::Le => IOp::Le,
                    BinOp::Eq => IOp::Eq,
                    BinOp::And => IOp::And,
                    BinOp::Or => IOp::Or,
                    BinOp::Pow => IOp::Pow,
                };
                Ix::bin(op, self.lower(a)?, self.lower(b)?)?
            }
            Expr::Select(c, a, b) => {
                let (c, a, b) = (self.lower(c)?, self.lower(a)?, self.lower(b)?);
                match c.as_const() {
                    Some(0) => b,
                    Some(_) => a,
                    None => {
                        let r = (a.lo.min(b.lo), a.hi.max(b.hi));
                        Ix::node(IxKind::Sel(Box::new(c), Box::new(a), Box::new(b)), r)
                    }
                }
            }
        })
    }
}
