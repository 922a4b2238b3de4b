//! Uniform sampling, enumeration and neighbours of legal assignments.
//!
//! Without extra linear constraints the legal set is a product, over (split group, prime),
//! of lattice simplices `{x ∈ ℤⁿ, x ≥ 0, Σ x ≤ E_p}` and, over choices, of the value sets.
//! By unique factorisation, legal factor tuples and integral exponent vectors correspond one
//! to one, so sampling each simplex uniformly (stars and bars: a uniform `n`-subset of
//! `E_p + n` slots marks the bars) and each choice uniformly is exactly uniform over legal
//! assignments.

use rand::Rng;

use super::round::Move;
use super::{Assignment, Space};
use crate::{Result, SymbolicError};

/// Rejection-sampling attempts before [`Space::sample`] falls back to rounding.
pub const SAMPLE_REJECTION_CAP: usize = 1000;

/// A uniformly random composition of `total` into `n + 1` non-negative parts; writes the
/// first `n` parts (the last one is the slack).
fn stars_and_bars(rng: &mut impl Rng, total: u32, n: usize, out: &mut [f64]) {
    let slots = total as usize + n;
    // Floyd's algorithm: a uniform n-subset of 0..slots.
    let mut bars: Vec<usize> = Vec::with_capacity(n);
    for j in slots - n..slots {
        let t = rng.random_range(0..=j);
        bars.push(if bars.contains(&t) { j } else { t });
    }
    bars.sort_unstable();
    let mut prev: isize = -1;
    for (o, &b) in out.iter_mut().zip(&bars) {
        *o = (b as isize - prev - 1) as f64;
        prev = b as isize;
    }
}

impl Space {
    /// A uniformly random legal point, ignoring the extra linear constraints (coordinates:
    /// integral exponents, `ln` of choice members).
    pub(super) fn sample_point(&self, rng: &mut impl Rng) -> Vec<f64> {
        let mut x = vec![0.0; self.dim()];
        self.sample_point_into(rng, &mut x, &mut Vec::new());
        x
    }

    /// [`Space::sample_point`] written into `x` (of length [`Space::dim`]), with `parts` as
    /// scratch space: no allocation once `parts` has grown.
    pub(super) fn sample_point_into(
        &self,
        rng: &mut impl Rng,
        x: &mut [f64],
        parts: &mut Vec<f64>,
    ) {
        for g in &self.groups {
            let n = g.factors.len();
            for (k, &(_, e)) in g.primes.iter().enumerate() {
                parts.resize(n, 0.0);
                stars_and_bars(rng, e, n, parts);
                for (i, &p) in g.prime_coords(k).zip(parts.iter()) {
                    x[i] = p;
                }
            }
        }
        for ch in &self.choices {
            x[ch.coord] = (ch.values[rng.random_range(0..ch.values.len())] as f64).ln();
        }
    }

    /// A random legal assignment. Without extra linear constraints it is exactly uniform over
    /// legal assignments. With them, it is uniform over the legal set by rejection sampling
    /// for up to [`SAMPLE_REJECTION_CAP`] attempts; if all attempts are rejected, the last
    /// attempt is [rounded](Space::round) into the constraints (no longer uniform), which
    /// errors only if no legal assignment exists. Deterministic for a given RNG state.
    pub fn sample(&self, rng: &mut impl Rng) -> Result<Assignment> {
        let mut x = self.sample_point(rng);
        for _ in 1..SAMPLE_REJECTION_CAP {
            if self.total_violation(&x) == 0.0 {
                break;
            }
            x = self.sample_point(rng);
        }
        if self.total_violation(&x) == 0.0 {
            self.to_assignment(&x)
        } else {
            self.round(&x)
        }
    }

    /// Calls `f` on every legal point (coordinates), ignoring the extra linear constraints, in
    /// a fixed order (last block varying fastest).
    pub(super) fn for_each_point(&self, f: &mut impl FnMut(Vec<f64>)) {
        // Blocks: one per (group, prime) simplex and one per choice, each a list of options,
        // an option being the values of the block's coordinates.
        let mut blocks: Vec<(Vec<usize>, Vec<Vec<f64>>)> = Vec::new();
        for g in &self.groups {
            for (k, &(_, e)) in g.primes.iter().enumerate() {
                let coords: Vec<usize> = g.prime_coords(k).collect();
                let mut opts = Vec::new();
                simplex_points(coords.len(), e, &mut Vec::new(), &mut opts);
                blocks.push((coords, opts));
            }
        }
        for ch in &self.choices {
            let opts = ch.values.iter().map(|&v| vec![(v as f64).ln()]).collect();
            blocks.push((vec![ch.coord], opts));
        }
        let mut idx = vec![0usize; blocks.len()];
        let mut x = vec![0.0; self.dim()];
        loop {
            for ((coords, opts), &i) in blocks.iter().zip(&idx) {
                for (&c, &v) in coords.iter().zip(&opts[i]) {
                    x[c] = v;
                }
            }
            f(x.clone());
            // Odometer increment.
            let mut b = blocks.len();
            loop {
                if b == 0 {
                    return;
                }
                b -= 1;
                idx[b] += 1;
                if idx[b] < blocks[b].1.len() {
                    break;
                }
                idx[b] = 0;
            }
        }
    }

    /// Every legal assignment (extra linear constraints included), in a fixed order. Errors
    /// if the space has more than `limit` points before the linear constraints are applied.
    pub fn enumerate(&self, limit: usize) -> Result<Vec<Assignment>> {
        if self.size() > limit as f64 {
            return Err(SymbolicError::InvalidRef(format!(
                "space has {} points, more than the limit {limit}",
                self.size()
            )));
        }
        let mut points = Vec::new();
        self.for_each_point(&mut |x| {
            if self.total_violation(&x) == 0.0 {
                points.push(x);
            }
        });
        points.iter().map(|x| self.to_assignment(x)).collect()
    }

    /// The legal assignments one step away from the legal assignment `a`: one prime factor
    /// moved between two factors of a group, or between a factor and the group's quotient;
    /// or a choice moved to an adjacent value. Errors if `a` is not legal.
    pub fn neighbors(&self, a: &Assignment) -> Result<Vec<Assignment>> {
        self.check(a)?;
        let r = self.encode(a)?;
        let mut moves: Vec<Move> = Vec::new();
        self.moves(&r, &mut moves);
        let mut out = Vec::with_capacity(moves.len());
        let mut y = r.clone();
        for mv in &moves {
            mv.apply(&mut y);
            if self.total_violation(&y) == 0.0 {
                out.push(self.to_assignment(&y)?);
            }
            y.copy_from_slice(&r);
        }
        Ok(out)
    }
}

/// All points of `{x ∈ ℤⁿ, x ≥ 0, Σ x ≤ budget}` appended to `out` (prefix in `cur`).
fn simplex_points(n: usize, budget: u32, cur: &mut Vec<f64>, out: &mut Vec<Vec<f64>>) {
    if cur.len() == n {
        out.push(cur.clone());
        return;
    }
    for v in 0..=budget {
        cur.push(v as f64);
        simplex_points(n, budget - v, cur, out);
        cur.pop();
    }
}
