//! Interval analysis of integer index expressions: a sound range of every expression given
//! the ranges `0..extent` of the enclosing loop variables. Used to drop guards that always
//! hold, to simplify `mod`/`floordiv`, and to print C `/` and `%` where operands are
//! non-negative.

use tilegrad_symbolic::{BinOp, Expr, ExprId, UnOp};

use super::c::Emitter;
use super::c_expr::{int_of, Interval, FULL};

impl Emitter<'_> {
    /// A sound range of `e` given the ranges of the enclosing loop variables.
    pub(super) fn interval(&self, e: ExprId) -> Interval {
        let arena = &self.tree.exprs;
        let Ok(node) = arena.try_get(e) else {
            return FULL;
        };
        let clamp = |lo: i128, hi: i128| -> Interval {
            let (a, b) = (FULL.0 as i128, FULL.1 as i128);
            (lo.clamp(a, b) as i64, hi.clamp(a, b) as i64)
        };
        let iv = |x: ExprId| {
            let (lo, hi) = self.interval(x);
            (lo as i128, hi as i128)
        };
        let boolean = |t: bool, f: bool| match (t, f) {
            (true, _) => (1, 1),
            (_, true) => (0, 0),
            _ => (0, 1),
        };
        match *node {
            Expr::Const(_) => match arena.as_const(e).and_then(int_of) {
                Some(v) => (v, v),
                None => FULL,
            },
            Expr::Var(v) => self.var_range(v).unwrap_or(FULL),
            Expr::Unary(UnOp::Neg, a) => {
                let (lo, hi) = iv(a);
                clamp(-hi, -lo)
            }
            Expr::Unary(UnOp::Not, a) => {
                let (lo, hi) = iv(a);
                boolean(lo == 0 && hi == 0, lo > 0 || hi < 0)
            }
            Expr::Unary(..) => FULL,
            Expr::Binary(op, a, b) => {
                let ((al, ah), (bl, bh)) = (iv(a), iv(b));
                let corners = |f: &dyn Fn(i128, i128) -> i128| {
                    let c = [f(al, bl), f(al, bh), f(ah, bl), f(ah, bh)];
                    clamp(
                        c.iter().copied().min().unwrap_or(0),
                        c.iter().copied().max().unwrap_or(0),
                    )
                };
                let k = self.positive_const(b).map(i128::from);
                let truthy = |lo: i128, hi: i128| lo > 0 || hi < 0;
                let falsy = |lo: i128, hi: i128| lo == 0 && hi == 0;
                match op {
                    BinOp::Add => clamp(al + bh.min(bl), ah + bh.max(bl)),
                    BinOp::Sub => clamp(al - bh, ah - bl),
                    BinOp::Mul => corners(&|x, y| x * y),
                    BinOp::FloorDiv | BinOp::Div => match k {
                        Some(k) => clamp(al.div_euclid(k), ah.div_euclid(k)),
                        None => FULL,
                    },
                    BinOp::CeilDiv => match k {
                        Some(k) => clamp(-((-al).div_euclid(k)), -((-ah).div_euclid(k))),
                        None => FULL,
                    },
                    BinOp::Mod => match k {
                        Some(k) if al >= 0 && ah < k => clamp(al, ah),
                        Some(k) => clamp(0, k - 1),
                        None => FULL,
                    },
                    BinOp::Min => clamp(al.min(bl), ah.min(bh)),
                    BinOp::Max => clamp(al.max(bl), ah.max(bh)),
                    BinOp::Pow => FULL,
                    BinOp::Lt => boolean(ah < bl, al >= bh),
                    BinOp::Le => boolean(ah <= bl, al > bh),
                    BinOp::Eq => boolean(al == ah && bl == bh && al == bl, ah < bl || bh < al),
                    BinOp::And => boolean(
                        truthy(al, ah) && truthy(bl, bh),
                        falsy(al, ah) || falsy(bl, bh),
                    ),
                    BinOp::Or => boolean(
                        truthy(al, ah) || truthy(bl, bh),
                        falsy(al, ah) && falsy(bl, bh),
                    ),
                }
            }
            Expr::Select(c, a, b) => {
                let (cl, ch) = self.interval(c);
                if cl > 0 || ch < 0 {
                    self.interval(a)
                } else if cl == 0 && ch == 0 {
                    self.interval(b)
                } else {
                    let ((al, ah), (bl, bh)) = (self.interval(a), self.interval(b));
                    (al.min(bl), ah.max(bh))
                }
            }
        }
    }
}
