//! Value-space rounding, the second rounding scheme of [`GradientSearch`].
//!
//! [`Space::round`] rounds the prime exponents (Felix's scheme): the nearest lattice point in
//! coordinate space. A cost model, though, sees only the variables' values, and when a
//! factor has several primes the relaxed optimum can sit anywhere on
//! `Σ_p x_p ln p = ln v`, so exponent rounding may land far from `v` (a relaxed `3.0` reached
//! as `2^0.8·3^0.5` rounds to `2·3 = 6`). [`round_values`] instead picks, factor by factor in
//! declaration order, the divisor of the group's remaining extent nearest to the relaxed
//! value in log space, and the nearest member for a choice; if that breaks a linear
//! constraint, the point goes through [`Space::round`]'s repair. Both roundings of every
//! iterate go into the candidate pool.
//!
//! [`GradientSearch`]: crate::GradientSearch

use std::collections::HashMap;

use ndarray::ArrayView2;
use tilegrad_symbolic::{Assignment, Space};

use crate::Result;

/// Per split group, all divisors of its extent (increasing).
#[derive(Clone, Debug)]
pub struct ValueRounder {
    divisors: Vec<Vec<u64>>,
}

impl ValueRounder {
    /// Precomputes the divisors of every group extent of `space`.
    pub fn new(space: &Space) -> Self {
        let divisors = space
            .groups()
            .iter()
            .map(|g| {
                let mut ds = vec![1u64];
                for &(p, e) in g.primes() {
                    let mut next = Vec::with_capacity(ds.len() * (e as usize + 1));
                    for &d in &ds {
                        let mut q = d;
                        for _ in 0..=e {
                            next.push(q);
                            q = q.saturating_mul(p);
                        }
                    }
                    ds = next;
                }
                ds.sort_unstable();
                ds
            })
            .collect();
        Self { divisors }
    }

    /// The value-rounded legal assignment of the point whose decoded variable values (space
    /// order, as a row of [`Space::decode_batch`]) are `values`; see the [module docs](self).
    pub fn round_values(&self, space: &Space, values: &[f64]) -> Result<Assignment> {
        self.legalize(space, self.nearest(space, values)?)
    }

    /// The nearest divisors and choice members of `values` (not yet checked against the
    /// linear constraints).
    fn nearest(&self, space: &Space, values: &[f64]) -> Result<Assignment> {
        let mut out: Vec<u64> = vec![1; space.num_vars()];
        for (g, divs) in space.groups().iter().zip(&self.divisors) {
            let mut rest = g.extent();
            for &v in g.factors() {
                let pos = space.position(v)?;
                let target = values[pos].max(1.0).ln();
                let best = divs
                    .iter()
                    .copied()
                    .filter(|d| rest % d == 0)
                    .min_by(|a, b| {
                        let da = ((*a as f64).ln() - target).abs();
                        let db = ((*b as f64).ln() - target).abs();
                        da.total_cmp(&db)
                    })
                    .unwrap_or(1);
                out[pos] = best;
                rest /= best;
            }
        }
        for c in space.choices() {
            let pos = space.position(c.var())?;
            let target = values[pos].ln();
            out[pos] = c
                .values()
                .iter()
                .copied()
                .min_by(|a, b| {
                    let da = ((*a as f64).ln() - target).abs();
                    let db = ((*b as f64).ln() - target).abs();
                    da.total_cmp(&db)
                })
                .unwrap_or(1);
        }
        Ok(space.assignment(&out)?)
    }

    /// `a` if legal, else its repair by [`Space::round`].
    fn legalize(&self, space: &Space, a: Assignment) -> Result<Assignment> {
        if space.is_legal(&a) {
            return Ok(a);
        }
        Ok(space.round(&space.encode(&a)?)?)
    }

    /// [`ValueRounder::round_values`] of every row of `values`.
    pub fn round_batch(&self, space: &Space, values: ArrayView2<f64>) -> Result<Vec<Assignment>> {
        use rayon::prelude::*;
        let rows: Vec<Vec<f64>> = values.rows().into_iter().map(|r| r.to_vec()).collect();
        let nearest = rows
            .par_iter()
            .map(|r| self.nearest(space, r))
            .collect::<Result<Vec<_>>>()?;
        // The iterates of a descent move little from step to step, so many share their
        // nearest divisors; each distinct one is legalized once (a repair can cost a
        // thousand constraint evaluations on spaces with lower and upper bounds).
        let mut index: HashMap<&Assignment, usize> = HashMap::new();
        let mut distinct: Vec<&Assignment> = Vec::new();
        let slots: Vec<usize> = nearest
            .iter()
            .map(|a| {
                *index.entry(a).or_insert_with(|| {
                    distinct.push(a);
                    distinct.len() - 1
                })
            })
            .collect();
        let legal = distinct
            .par_iter()
            .map(|&a| self.legalize(space, a.clone()))
            .collect::<Result<Vec<_>>>()?;
        Ok(slots.into_iter().map(|i| legal[i].clone()).collect())
    }
}
