//! Maps between continuous coordinates, real variable values and [`Assignment`]s, and the
//! legality check.

use ndarray::{Array2, ArrayView2};

use super::{Assignment, Slot, Space};
use crate::{Result, SymbolicError};

/// Tolerance for "integral" coordinates in [`Space::to_assignment`].
const INTEGRAL_TOL: f64 = 1e-6;
/// A choice coordinate within this distance of `ln m` decodes to exactly `m`.
const SNAP_TOL: f64 = 1e-12;

impl Space {
    /// The real value of the variable at position `pos` (space order) at the point `x`
    /// (given as a coordinate accessor). Factors are `Π p^{x_{f,p}}` (exact integers at
    /// integral exponents); choices are `exp(c)`, snapped to a member within `1e-12` of it.
    fn var_value(&self, pos: usize, x: impl Fn(usize) -> f64) -> f64 {
        match self.slots[pos] {
            Slot::Factor { group, index } => {
                let g = &self.groups[group];
                (0..g.primes.len())
                    .map(|k| (g.primes[k].0 as f64).powf(x(g.coord(index, k))))
                    .product()
            }
            Slot::Choice(c) => {
                let ch = &self.choices[c];
                let v = x(ch.coord);
                let m = nearest_member(&ch.values, v);
                if (v - (m as f64).ln()).abs() <= SNAP_TOL {
                    m as f64
                } else {
                    v.exp()
                }
            }
        }
    }

    /// Writes the real value of every space variable at coordinates `x` into
    /// `out_values[var.index()]` (entries of other variables are untouched). `out_values` is
    /// normally sized to `arena.num_vars()`.
    pub fn decode(&self, x: &[f64], out_values: &mut [f64]) -> Result<()> {
        self.check_dim("point", x.len())?;
        self.check_values_len(out_values.len())?;
        for (pos, v) in self.vars.iter().enumerate() {
            out_values[v.index()] = self.var_value(pos, |i| x[i]);
        }
        Ok(())
    }

    /// Chain rule through [`Space::decode`]: given `d_values[var.index()] = ∂L/∂value`,
    /// overwrites `d_x` with `∂L/∂x` (`∂value/∂x_i = value · w_i`, `w = ln p` or `1`).
    pub fn pullback(&self, x: &[f64], d_values: &[f64], d_x: &mut [f64]) -> Result<()> {
        self.check_dim("point", x.len())?;
        self.check_dim("gradient", d_x.len())?;
        self.check_values_len(d_values.len())?;
        for (pos, v) in self.vars.iter().enumerate() {
            let scale = d_values[v.index()] * self.var_value(pos, |i| x[i]);
            for (i, w) in self.log_coords(pos) {
                d_x[i] = scale * w;
            }
        }
        Ok(())
    }

    /// [`Space::decode`] over many points: rows of `x` are points (`dim()` columns); the
    /// result has one column per variable of [`Space::vars`], in that order.
    pub fn decode_batch(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        self.check_dim("batch row", x.ncols())?;
        let mut out = Array2::zeros((x.nrows(), self.num_vars()));
        for (row, mut o) in x.rows().into_iter().zip(out.rows_mut()) {
            for (pos, o) in o.iter_mut().enumerate() {
                *o = self.var_value(pos, |i| row[i]);
            }
        }
        Ok(out)
    }

    /// [`Space::pullback`] over many points: `d_values` has one row per point and one column
    /// per variable of [`Space::vars`]; returns `∂L/∂x` with the shape of `x`.
    pub fn pullback_batch(
        &self,
        x: ArrayView2<f64>,
        d_values: ArrayView2<f64>,
    ) -> Result<Array2<f64>> {
        self.check_dim("batch row", x.ncols())?;
        if d_values.dim() != (x.nrows(), self.num_vars()) {
            return Err(SymbolicError::InvalidRef(format!(
                "d_values has shape {:?}, expected ({}, {})",
                d_values.dim(),
                x.nrows(),
                self.num_vars()
            )));
        }
        let mut out = Array2::zeros(x.raw_dim());
        for ((row, d), mut o) in x
            .rows()
            .into_iter()
            .zip(d_values.rows())
            .zip(out.rows_mut())
        {
            for (pos, &dp) in d.iter().enumerate() {
                let scale = dp * self.var_value(pos, |i| row[i]);
                for (i, w) in self.log_coords(pos) {
                    o[i] = scale * w;
                }
            }
        }
        Ok(out)
    }

    /// The exact coordinates of `a`: prime exponents of each factor, `ln value` of choices.
    /// Requires each factor to be a product of its group's primes and each choice value to be
    /// in its set, but not the group sums or the linear constraints (see [`Space::check`]).
    pub fn encode(&self, a: &Assignment) -> Result<Vec<f64>> {
        self.check_shape(a)?;
        let mut x = vec![0.0; self.dim()];
        for (pos, &value) in a.values().iter().enumerate() {
            match self.slots[pos] {
                Slot::Factor { group, index } => {
                    let g = &self.groups[group];
                    let mut rest = value;
                    for (k, &(p, _)) in g.primes.iter().enumerate() {
                        let mut e = 0u32;
                        while rest != 0 && rest % p == 0 {
                            rest /= p;
                            e += 1;
                        }
                        x[g.coord(index, k)] = e as f64;
                    }
                    if rest != 1 {
                        return Err(self.not_divisible(group, a));
                    }
                }
                Slot::Choice(c) => {
                    let ch = &self.choices[c];
                    if ch.values.binary_search(&value).is_err() {
                        return Err(self.not_in_set(c, value));
                    }
                    x[ch.coord] = (value as f64).ln();
                }
            }
        }
        Ok(x)
    }

    /// The assignment at the integral point `x` (exponents within `1e-6` of integers, choice
    /// coordinates within `1e-6` of `ln` of a member). Errors if `x` is not integral or the
    /// assignment is not legal ([`Space::check`]).
    pub fn to_assignment(&self, x: &[f64]) -> Result<Assignment> {
        self.check_dim("point", x.len())?;
        let not_integral = |i: usize| SymbolicError::NotIntegral {
            coord: self.coord_names[i].clone(),
            value: x[i],
        };
        let mut values = Vec::with_capacity(self.num_vars());
        for &slot in &self.slots {
            let value = match slot {
                Slot::Factor { group, index } => {
                    let g = &self.groups[group];
                    let mut v = 1u64;
                    for (k, &(p, e)) in g.primes.iter().enumerate() {
                        let i = g.coord(index, k);
                        let r = x[i].round();
                        if !((x[i] - r).abs() <= INTEGRAL_TOL && (0.0..=e as f64).contains(&r)) {
                            return Err(not_integral(i));
                        }
                        v *= p.pow(r as u32); // divides the extent: cannot overflow
                    }
                    v
                }
                Slot::Choice(c) => {
                    let ch = &self.choices[c];
                    let m = nearest_member(&ch.values, x[ch.coord]);
                    let off = (x[ch.coord] - (m as f64).ln()).abs();
                    if off.is_nan() || off > INTEGRAL_TOL {
                        return Err(not_integral(ch.coord));
                    }
                    m
                }
            };
            values.push(value);
        }
        let a = self.assignment(&values)?;
        self.check(&a)?;
        Ok(a)
    }

    /// Whether `a` is legal (see [`Space::check`]).
    pub fn is_legal(&self, a: &Assignment) -> bool {
        self.check(a).is_ok()
    }

    /// Errors unless `a` is a legal assignment of this space, naming the violated rule: the
    /// factors' product of every split group divides its extent ([`SymbolicError::NotDivisible`]),
    /// every choice value is in its set ([`SymbolicError::NotInChoiceSet`]), and every linear
    /// constraint holds at the exact coordinates ([`SymbolicError::ConstraintViolated`]).
    pub fn check(&self, a: &Assignment) -> Result<()> {
        self.check_shape(a)?;
        for (gi, g) in self.groups.iter().enumerate() {
            let product = self.group_product(gi, a);
            if product == 0 || !(g.extent as u128).is_multiple_of(product) {
                return Err(self.not_divisible(gi, a));
            }
        }
        let x = self.encode(a)?;
        for c in &self.constraints {
            if c.violation(&x) > 0.0 {
                return Err(SymbolicError::ConstraintViolated {
                    name: c.name.clone(),
                    lhs: c.lhs(&x),
                    rhs: c.rhs,
                });
            }
        }
        Ok(())
    }

    /// Value of the quotient `extent / Π factors` of group number `group` under the legal
    /// assignment `a`.
    pub fn quotient_value(&self, group: super::SplitGroupId, a: &Assignment) -> Result<u64> {
        self.check_shape(a)?;
        let g = self.group(group)?;
        let product = self.group_product(group.0 as usize, a);
        if product == 0 || !(g.extent as u128).is_multiple_of(product) {
            return Err(self.not_divisible(group.0 as usize, a));
        }
        Ok((g.extent as u128 / product) as u64)
    }

    /// Saturating product of the factors of group `gi` in `a`.
    fn group_product(&self, gi: usize, a: &Assignment) -> u128 {
        let g = &self.groups[gi];
        g.factors
            .iter()
            .map(|&v| a.value(v).unwrap_or(0) as u128)
            .fold(1u128, |acc, v| acc.saturating_mul(v))
    }

    fn not_divisible(&self, gi: usize, a: &Assignment) -> SymbolicError {
        let g = &self.groups[gi];
        SymbolicError::NotDivisible {
            group: g.name.clone(),
            product: self.group_product(gi, a),
            extent: g.extent,
        }
    }

    fn not_in_set(&self, c: usize, value: u64) -> SymbolicError {
        let ch = &self.choices[c];
        let allowed: Vec<String> = ch.values.iter().map(u64::to_string).collect();
        SymbolicError::NotInChoiceSet {
            var: self.names[self.position(ch.var).unwrap_or(0)].clone(),
            value,
            allowed: allowed.join(","),
        }
    }

    fn check_values_len(&self, len: usize) -> Result<()> {
        match self.vars.iter().map(|v| v.index()).max() {
            Some(m) if m >= len => Err(SymbolicError::InvalidRef(format!(
                "values vector of length {len} cannot hold variable {m}"
            ))),
            _ => Ok(()),
        }
    }
}

/// The member of the sorted set `values` nearest to `exp(c)` in log space (`c` is clamped
/// to the set's range; NaN gives the smallest member).
pub(super) fn nearest_member(values: &[u64], c: f64) -> u64 {
    let i = values.partition_point(|&m| (m as f64).ln() < c);
    if i == 0 || c.is_nan() {
        return values[0];
    }
    if i == values.len() {
        return values[i - 1];
    }
    let (lo, hi) = (values[i - 1], values[i]);
    if c - (lo as f64).ln() <= (hi as f64).ln() - c {
        lo
    } else {
        hi
    }
}
