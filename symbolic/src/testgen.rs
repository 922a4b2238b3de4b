//! Random expression DAGs for tests and benches (hidden; not part of the stable API).
//!
//! [`random_dag`] grows a DAG over variables `x0, x1, …` with a "realistic" mix of
//! operations: about a third transcendental or relaxed (`exp`, `log`, `pow`, comparisons,
//! `min`, `max`, `floordiv`, `ceildiv`, `mod`), the rest arithmetic, `select` and logic
//! (logic only on booleans). Every candidate node is evaluated at the reference points
//! (exactly, and relaxed at each temperature of [`GenOptions::taus`]); candidates that
//! would divide by (nearly) zero, take the log or a power of a non-positive value, or leave
//! `[-bound, bound]` are rejected, so the DAG is well defined at those points.

use rand::Rng;

use crate::eval::{binary_exact, binary_relaxed};
use crate::expr::{BinOp, Expr, ExprArena, ExprId, UnOp, Var};
use crate::integral::node_is_integral;
use crate::relax::{self, Relax};

/// Options of [`random_dag`].
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Number of variables `x0 … x{n-1}`.
    pub vars: usize,
    /// Number of arena nodes to create (variables and constants included).
    pub nodes: usize,
    /// Fraction of operations that are transcendental or relaxed.
    pub special_frac: f64,
    /// Minimal `|asinh a − asinh b|` at every reference point (exact values) for
    /// comparisons whose operands are not both integral (0 allows near-ties).
    pub cmp_gap: f64,
    /// Largest magnitude of any node value at the reference points.
    pub bound: f64,
    /// Temperatures at which relaxed values are checked too.
    pub taus: Vec<f64>,
    /// At most this many outputs: extra sinks are summed pairwise into the last ones
    /// (adding `+` nodes beyond [`GenOptions::nodes`]).
    pub max_outputs: usize,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            vars: 4,
            nodes: 40,
            special_frac: 1.0 / 3.0,
            cmp_gap: 0.0,
            bound: 1e6,
            taus: Vec::new(),
            max_outputs: usize::MAX,
        }
    }
}

/// A generated DAG.
#[derive(Clone, Debug)]
pub struct Dag {
    /// The variables, in column order.
    pub vars: Vec<Var>,
    /// Output nodes: every generated node no other node uses (the sinks).
    pub outputs: Vec<ExprId>,
}

const CONSTS: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 8.0, 16.0, 0.5, 1.5, 32.0];
const POW_EXPS: [f64; 5] = [0.5, 2.0, -1.0, 1.5, 3.0];
const SPECIAL: [BinOp; 9] = [
    BinOp::Lt,
    BinOp::Le,
    BinOp::Eq,
    BinOp::Min,
    BinOp::Max,
    BinOp::Min,
    BinOp::FloorDiv,
    BinOp::CeilDiv,
    BinOp::Mod,
];
const ARITH: [BinOp; 7] = [
    BinOp::Add,
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Mul,
    BinOp::Div,
    BinOp::Add,
];

struct Gen<'a> {
    arena: &'a mut ExprArena,
    opts: &'a GenOptions,
    /// Evaluation contexts: `(reference point, None = exact / Some = relaxed)`.
    ctx: Vec<(usize, Option<Relax>)>,
    /// Values of every node per context, indexed by id (`vals[id][ctx]`).
    vals: Vec<Vec<f64>>,
    integral: Vec<bool>,
    boolean: Vec<bool>,
    /// Generated (non-constant) nodes.
    pool: Vec<ExprId>,
    /// Whether each node is used by another (indexed by id).
    used: Vec<bool>,
}

/// Grows a random DAG in a fresh part of `arena`; `refs[i]` is a reference point (one value
/// per variable).
pub fn random_dag<R: Rng>(
    arena: &mut ExprArena,
    opts: &GenOptions,
    refs: &[Vec<f64>],
    rng: &mut R,
) -> Dag {
    let mut ctx: Vec<(usize, Option<Relax>)> = (0..refs.len()).map(|i| (i, None)).collect();
    for &t in &opts.taus {
        ctx.extend((0..refs.len()).map(|i| (i, Some(Relax::new(t)))));
    }
    let mut g = Gen {
        arena,
        opts,
        ctx,
        vals: Vec::new(),
        integral: Vec::new(),
        boolean: Vec::new(),
        pool: Vec::new(),
        used: Vec::new(),
    };
    let mut vars = Vec::new();
    for i in 0..opts.vars {
        let id = g.arena.var(&format!("x{i}"));
        if let Expr::Var(v) = *g.arena.get(id) {
            vars.push(v);
        }
        let vals = g
            .ctx
            .iter()
            .map(|&(p, _)| refs[p].get(i).copied().unwrap_or(f64::NAN))
            .collect();
        g.record(id, vals);
        g.pool.push(id);
    }
    let mut attempts = 0;
    while g.arena.len() < opts.nodes && attempts < opts.nodes * 50 {
        attempts += 1;
        let Some(node) = g.candidate(rng) else {
            continue;
        };
        let Some(vals) = g.values(&node) else {
            continue;
        };
        let before = g.arena.len();
        let id = g.arena.intern(node);
        if g.arena.len() == before {
            continue;
        }
        g.record(id, vals);
        for c in node.children() {
            g.used[c.index()] = true;
        }
        g.pool.push(id);
    }
    let mut outputs: Vec<ExprId> = g
        .pool
        .iter()
        .copied()
        .filter(|id| !g.used[id.index()])
        .collect();
    while outputs.len() > opts.max_outputs.max(1) {
        let (a, b) = (outputs.remove(0), outputs.remove(0));
        outputs.push(g.arena.add(a, b));
    }
    Dag { vars, outputs }
}

impl Gen<'_> {
    fn record(&mut self, id: ExprId, vals: Vec<f64>) {
        let n = self.arena.len();
        self.vals.resize(n, Vec::new());
        self.integral.resize(n, false);
        self.boolean.resize(n, false);
        self.used.resize(n, false);
        let node = *self.arena.get(id);
        let arena = &*self.arena;
        self.integral[id.index()] =
            node_is_integral(&node, |c| self.integral[c.index()], |c| arena.as_const(c));
        self.boolean[id.index()] = matches!(node, Expr::Binary(op, ..) if op.is_boolean())
            || matches!(node, Expr::Unary(UnOp::Not, _));
        self.vals[id.index()] = vals;
    }

    fn constant(&mut self, v: f64) -> ExprId {
        let id = self.arena.constant(v);
        let vals = vec![v; self.ctx.len()];
        self.record(id, vals);
        id
    }

    fn pick<R: Rng>(&self, rng: &mut R, boolean: bool) -> Option<ExprId> {
        let cands: Vec<ExprId> = self
            .pool
            .iter()
            .copied()
            .filter(|c| self.boolean[c.index()] == boolean)
            .collect();
        if cands.is_empty() {
            return None;
        }
        // Favour recent and not yet used nodes so that the DAG gets deep with few sinks.
        let n = cands.len();
        let recent = &cands[n - n.min(12)..];
        if rng.random_bool(0.5) {
            if let Some(&u) = recent.iter().find(|c| !self.used[c.index()]) {
                return Some(u);
            }
        }
        let i = if rng.random_bool(0.6) {
            n - 1 - rng.random_range(0..n.min(12))
        } else {
            rng.random_range(0..n)
        };
        Some(cands[i])
    }

    fn operand<R: Rng>(&mut self, rng: &mut R) -> Option<ExprId> {
        if rng.random_bool(0.2) {
            Some(self.constant(CONSTS[rng.random_range(0..CONSTS.len())]))
        } else {
            self.pick(rng, false)
        }
    }

    fn candidate<R: Rng>(&mut self, rng: &mut R) -> Option<Expr> {
        if rng.random_bool(self.opts.special_frac) {
            Some(match rng.random_range(0..11) {
                0 => Expr::Unary(UnOp::Exp, self.operand(rng)?),
                1 => Expr::Unary(UnOp::Log, self.operand(rng)?),
                2 => {
                    let a = self.operand(rng)?;
                    Expr::Binary(
                        BinOp::Pow,
                        a,
                        self.constant(POW_EXPS[rng.random_range(0..POW_EXPS.len())]),
                    )
                }
                k => Expr::Binary(
                    SPECIAL[k - 3 + rng.random_range(0..2)],
                    self.operand(rng)?,
                    self.operand(rng)?,
                ),
            })
        } else {
            Some(match rng.random_range(0..10) {
                0 => Expr::Unary(UnOp::Neg, self.operand(rng)?),
                1 => {
                    let c = self.pick(rng, true)?;
                    Expr::Select(c, self.operand(rng)?, self.operand(rng)?)
                }
                2 => {
                    let (a, b) = (self.pick(rng, true)?, self.pick(rng, true)?);
                    match rng.random_range(0..3) {
                        0 => Expr::Unary(UnOp::Not, a),
                        1 => Expr::Binary(BinOp::And, a, b),
                        _ => Expr::Binary(BinOp::Or, a, b),
                    }
                }
                k => Expr::Binary(ARITH[k - 3], self.operand(rng)?, self.operand(rng)?),
            })
        }
    }

    /// Values of `node` in every context, or `None` if it is rejected.
    fn values(&self, node: &Expr) -> Option<Vec<f64>> {
        let v = |c: ExprId, i: usize| self.vals[c.index()][i];
        let mut out = Vec::with_capacity(self.ctx.len());
        for (i, &(_, rx)) in self.ctx.iter().enumerate() {
            let x = match *node {
                Expr::Unary(op, a) => {
                    let a = v(a, i);
                    match op {
                        UnOp::Exp if a.abs() <= 12.0 => a.exp(),
                        UnOp::Log if a > 0.0 => a.ln(),
                        UnOp::Neg => -a,
                        UnOp::Not if rx.is_some() => 1.0 - a,
                        UnOp::Not => relax::not_exact(a),
                        _ => return None,
                    }
                }
                Expr::Binary(op, a, b) => {
                    let (av, bv) = (v(a, i), v(b, i));
                    let divides = matches!(
                        op,
                        BinOp::Div | BinOp::FloorDiv | BinOp::CeilDiv | BinOp::Mod
                    );
                    if (divides && relax::snap(bv).abs() < 0.5) || (op == BinOp::Pow && av <= 0.0) {
                        return None;
                    }
                    let both_integral = self.integral[a.index()] && self.integral[b.index()];
                    if op.is_boolean()
                        && !matches!(op, BinOp::And | BinOp::Or)
                        && !both_integral
                        && rx.is_none()
                        && (av.asinh() - bv.asinh()).abs() < self.opts.cmp_gap
                    {
                        return None;
                    }
                    match rx {
                        None => binary_exact(op, av, bv),
                        Some(r) => {
                            binary_relaxed(&r, op, av, bv, if both_integral { 0.5 } else { 0.0 })
                        }
                    }
                }
                Expr::Select(c, a, b) => match rx {
                    None => relax::select_exact(v(c, i), v(a, i), v(b, i)),
                    Some(_) => relax::select_relaxed(v(c, i), v(a, i), v(b, i)),
                },
                Expr::Const(_) | Expr::Var(_) => return None,
            };
            if !(x.is_finite() && x.abs() <= self.opts.bound) {
                return None;
            }
            out.push(x);
        }
        Some(out)
    }
}
