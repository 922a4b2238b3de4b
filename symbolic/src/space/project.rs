//! Projection of continuous points onto the feasible region (for projected Adam).

use super::{LinearConstraint, Space};
use crate::Result;

/// Maximum alternating-projection sweeps over the extra linear constraints.
const PROJECT_SWEEPS: usize = 20;

/// Euclidean projection of `y` onto `{x ≥ 0, Σ x ≤ budget}` in place.
fn project_capped_simplex(y: &mut [f64], budget: f64) {
    for v in y.iter_mut() {
        *v = v.max(0.0);
    }
    if y.iter().sum::<f64>() <= budget {
        return;
    }
    // Onto {x ≥ 0, Σ x = budget}: x = max(y − θ, 0) (Duchi et al. 2008).
    let mut s: Vec<f64> = y.to_vec();
    s.sort_unstable_by(|a, b| b.total_cmp(a));
    let (mut cum, mut theta) = (0.0, 0.0);
    for (j, &v) in s.iter().enumerate() {
        cum += v;
        let t = (cum - budget) / (j + 1) as f64;
        if v - t > 0.0 {
            theta = t;
        }
    }
    for v in y.iter_mut() {
        *v = (*v - theta).max(0.0);
    }
}

impl Space {
    /// Projects `x` in place onto the box and the group constraints `Σ_f x_{f,p} ≤ E_p`
    /// (exactly: per group and prime, the Euclidean projection onto a capped simplex; NaN
    /// goes to the lower bound), then, if there are extra linear constraints, alternates
    /// exact projections onto each constraint's half-space intersected with the box with the
    /// box/group projection, for up to 20 sweeps; if a constraint still fails, moves the point
    /// towards a fixed legal point just far enough to satisfy all of them. The result always
    /// satisfies the box and group constraints, and the linear constraints too (up to floating
    /// point error) whenever a legal assignment exists; it is near, not always nearest.
    pub fn project(&self, x: &mut [f64]) -> Result<()> {
        self.check_dim("point", x.len())?;
        self.project_box_groups(x);
        for _ in 0..PROJECT_SWEEPS {
            if self.total_violation(x) == 0.0 {
                break;
            }
            for c in &self.constraints {
                self.project_halfspace_box(x, c);
            }
            self.project_box_groups(x);
        }
        if self.total_violation(x) > 0.0 {
            self.restore(x);
        }
        Ok(())
    }

    /// Moves `x` (inside the box and group simplices) along the segment towards a legal point
    /// `z`, just far enough to satisfy every linear constraint (each is linear along the
    /// segment, and the box and simplices are convex, so the result is feasible).
    fn restore(&self, x: &mut [f64]) {
        let z = self.feasible.get_or_init(|| {
            let mid: Vec<f64> = self
                .lower
                .iter()
                .zip(&self.upper)
                .map(|(l, h)| 0.5 * (l + h))
                .collect();
            self.round(&mid).ok().and_then(|a| self.encode(&a).ok())
        });
        let Some(z) = z else {
            return; // no legal point: the constraints cannot all hold
        };
        let mut t: f64 = 0.0;
        for c in &self.constraints {
            let (lx, lz) = (c.lhs(x), c.lhs(z));
            if lx > c.rhs && lx > lz {
                t = t.max((lx - c.rhs) / (lx - lz));
            }
        }
        let t = t.min(1.0);
        for (xi, zi) in x.iter_mut().zip(z) {
            *xi += t * (zi - *xi);
        }
    }

    /// Projects `x` (inside the box) onto `{a·x ≤ rhs} ∩ box`: `x(λ) = clamp(x − λa)` with the
    /// smallest `λ ≥ 0` such that `a·x(λ) ≤ rhs` (bisection; the largest useful `λ` if even
    /// that is not enough).
    fn project_halfspace_box(&self, x: &mut [f64], c: &LinearConstraint) {
        if c.violation(x) == 0.0 {
            return;
        }
        let at =
            |lambda: f64, i: usize, a: f64| (x[i] - lambda * a).clamp(self.lower[i], self.upper[i]);
        let lhs = |lambda: f64| {
            c.terms
                .iter()
                .map(|&(i, a)| a * at(lambda, i, a))
                .sum::<f64>()
        };
        let mut hi = c
            .terms
            .iter()
            .map(|&(i, a)| (x[i] - self.lower[i]).max(self.upper[i] - x[i]) / a.abs())
            .fold(0.0, f64::max)
            + 1.0;
        let mut lo = 0.0;
        if lhs(hi) > c.rhs {
            lo = hi;
        }
        for _ in 0..200 {
            if hi - lo <= 1e-15 * hi {
                break;
            }
            let mid = 0.5 * (lo + hi);
            if lhs(mid) > c.rhs {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let moved: Vec<(usize, f64)> = c.terms.iter().map(|&(i, a)| (i, at(hi, i, a))).collect();
        for (i, v) in moved {
            x[i] = v;
        }
    }

    fn project_box_groups(&self, x: &mut [f64]) {
        let clamped = self.clamped(x);
        x.copy_from_slice(&clamped);
        let mut buf = Vec::new();
        for g in &self.groups {
            for (k, &(_, e)) in g.primes.iter().enumerate() {
                buf.clear();
                buf.extend(g.prime_coords(k).map(|i| x[i]));
                project_capped_simplex(&mut buf, e as f64);
                for (i, &v) in g.prime_coords(k).zip(&buf) {
                    x[i] = v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::project_capped_simplex;

    #[test]
    fn capped_simplex_projection() {
        let mut y = vec![0.5, -1.0, 0.2];
        project_capped_simplex(&mut y, 3.0);
        assert_eq!(y, vec![0.5, 0.0, 0.2]);
        let mut y = vec![3.0, 2.0, 0.0];
        project_capped_simplex(&mut y, 3.0);
        assert_eq!(y, vec![2.0, 1.0, 0.0]);
        let mut y = vec![5.0, 5.0];
        project_capped_simplex(&mut y, 1.0);
        assert_eq!(y, vec![0.5, 0.5]);
    }
}
