//! The parts of a [`Space`]: split groups, choices, linear constraints.

use super::Space;
use crate::{ExprArena, ExprId, Result, SymbolicError, Var};

/// Relative tolerance used when checking linear constraints (`lhs ≤ rhs + TOL·max(1,|rhs|)`).
pub const CONSTRAINT_TOL: f64 = 1e-9;

/// Index of a split group in its [`Space`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SplitGroupId(pub u32);

/// The factors of one loop's multi-level tiling.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitGroup {
    pub(super) name: String,
    pub(super) extent: u64,
    pub(super) primes: Vec<(u64, u32)>,
    pub(super) factors: Vec<Var>,
    pub(super) offset: usize,
}

impl SplitGroup {
    /// The group's name (its factors are named `<name>_0`, `<name>_1`, …).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The extent of the tiled loop.
    pub fn extent(&self) -> u64 {
        self.extent
    }
    /// The prime factorisation of the extent, `(prime, multiplicity)`, primes increasing.
    pub fn primes(&self) -> &[(u64, u32)] {
        &self.primes
    }
    /// The free factor variables, innermost-last as declared.
    pub fn factors(&self) -> &[Var] {
        &self.factors
    }
    /// The coordinate of the exponent of prime number `k` (index into [`Self::primes`]) of
    /// factor `j`.
    pub fn coord(&self, j: usize, k: usize) -> usize {
        self.offset + j * self.primes.len() + k
    }
    /// The coordinates `x_{f,p}` of prime number `k` over all factors `f` of the group.
    pub fn prime_coords(&self, k: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.factors.len()).map(move |j| self.coord(j, k))
    }
}

/// A variable with an explicit finite set of values.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub(super) var: Var,
    pub(super) values: Vec<u64>,
    pub(super) coord: usize,
}

impl Choice {
    /// The variable.
    pub fn var(&self) -> Var {
        self.var
    }
    /// The allowed values, increasing, without duplicates.
    pub fn values(&self) -> &[u64] {
        &self.values
    }
    /// Its coordinate (`ln value`).
    pub fn coord(&self) -> usize {
        self.coord
    }
}

/// A linear constraint `Σ a_i x_i ≤ rhs` on the continuous coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearConstraint {
    pub(super) name: String,
    pub(super) terms: Vec<(usize, f64)>,
    pub(super) rhs: f64,
}

impl LinearConstraint {
    /// The constraint's name (used in error messages).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// `(coordinate, coefficient)` pairs, coordinates increasing and distinct.
    pub fn terms(&self) -> &[(usize, f64)] {
        &self.terms
    }
    /// The bound.
    pub fn rhs(&self) -> f64 {
        self.rhs
    }
    /// `Σ a_i x_i` at `x`.
    /// (A coordinate missing from a too short `x` counts as NaN.)
    pub fn lhs(&self, x: &[f64]) -> f64 {
        self.terms
            .iter()
            .map(|&(i, a)| a * x.get(i).copied().unwrap_or(f64::NAN))
            .sum()
    }
    /// `max(0, lhs − rhs)`, with violations within the tolerance counted as zero and a NaN
    /// left-hand side as infinite.
    pub fn violation(&self, x: &[f64]) -> f64 {
        let v = self.lhs(x) - self.rhs;
        if v.is_nan() {
            f64::INFINITY
        } else if v <= CONSTRAINT_TOL * self.rhs.abs().max(1.0) {
            0.0
        } else {
            v
        }
    }
}

/// A factor in a [`Space::add_log_product_constraint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTerm {
    /// A space variable (split factor or choice).
    Var(Var),
    /// The implied quotient `extent / Π factors` of a split group.
    Quotient(SplitGroupId),
}

impl Space {
    /// Adds the constraint `Σ a_i x_i ≤ rhs` on coordinates (`terms` = `(coordinate, a_i)`;
    /// repeated coordinates are summed). Returns its index.
    pub fn add_linear_constraint(
        &mut self,
        name: &str,
        terms: &[(usize, f64)],
        rhs: f64,
    ) -> Result<usize> {
        let bad = |msg: String| SymbolicError::InvalidSpace(format!("constraint `{name}`: {msg}"));
        if !rhs.is_finite() {
            return Err(bad(format!("bound {rhs} is not finite")));
        }
        let mut dense = vec![0.0; self.dim()];
        for &(i, a) in terms {
            if i >= self.dim() || !a.is_finite() {
                return Err(bad(format!(
                    "bad term ({i}, {a}) (space has {} coordinates)",
                    self.dim()
                )));
            }
            dense[i] += a;
        }
        let terms = dense
            .into_iter()
            .enumerate()
            .filter(|&(_, a)| a != 0.0)
            .collect();
        self.constraints.push(LinearConstraint {
            name: name.to_string(),
            terms,
            rhs,
        });
        self.feasible = Default::default();
        Ok(self.constraints.len() - 1)
    }

    /// Adds `Π term^{a} ≤ bound` (`bound > 0`), i.e. `Σ a·ln(term) ≤ ln bound`, which is linear
    /// in the coordinates. Example: threads per block `Π_{threadIdx factors} f ≤ 1024`.
    pub fn add_log_product_constraint(
        &mut self,
        name: &str,
        terms: &[(LogTerm, f64)],
        bound: f64,
    ) -> Result<usize> {
        if !(bound > 0.0 && bound.is_finite()) {
            return Err(SymbolicError::InvalidSpace(format!(
                "constraint `{name}`: bound {bound} must be positive and finite"
            )));
        }
        let mut rhs = bound.ln();
        let mut lin = Vec::new();
        for &(term, a) in terms {
            match term {
                LogTerm::Var(v) => {
                    let pos = self.position(v)?;
                    lin.extend(self.log_coords(pos).map(|(i, w)| (i, a * w)));
                }
                LogTerm::Quotient(g) => {
                    let group = self.group(g)?;
                    rhs -= a * (group.extent as f64).ln();
                    let positions: Vec<usize> = group
                        .factors
                        .iter()
                        .map(|&v| self.position(v))
                        .collect::<Result<_>>()?;
                    for pos in positions {
                        lin.extend(self.log_coords(pos).map(|(i, w)| (i, -a * w)));
                    }
                }
            }
        }
        self.add_linear_constraint(name, &lin, rhs)
    }

    /// The quotient `extent / Π factors` of `group` as `(ceildiv E (* f1 f2 …))` (just `E`
    /// when the group has no free factor).
    ///
    /// At legal points `Π f` divides `E`, so `ceildiv` equals `floordiv` there; they differ
    /// only in relaxed evaluation at over-tiled points (`Π f > E`), where `floor_τ(E/Π f)`
    /// falls to ~0 (collapsing every loop product, count and footprint, so the cost model
    /// sees an empty program) while `ceil_τ` keeps one outer iteration.
    pub fn quotient_expr(&self, arena: &mut ExprArena, group: SplitGroupId) -> Result<ExprId> {
        let g = self.group(group)?;
        let e = arena.constant(g.extent as f64);
        let mut prod: Option<ExprId> = None;
        for &f in &g.factors {
            let fe = arena.var_expr(f);
            prod = Some(match prod {
                None => fe,
                Some(p) => arena.mul(p, fe),
            });
        }
        Ok(match prod {
            None => e,
            Some(p) => arena.ceildiv(e, p),
        })
    }
}
