//! Rounding a continuous point to the nearest legal [`Assignment`].
//! The algorithm is documented on [`Space::round`].

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::codec::nearest_member;
use super::{Assignment, Space};
use crate::{Result, SymbolicError};

/// Spaces with at most this many points (ignoring extra constraints) are searched
/// exhaustively when the greedy constraint repair gets stuck.
pub const EXHAUSTIVE_LIMIT: usize = 200_000;
/// Most random samples tried when greedy repair is stuck on a larger space.
const FALLBACK_SAMPLES: usize = 20_000;
/// Random samples after which the fallback stops if it found a legal point: the nearest of
/// a few random legal points is no better a start than the nearest of a few dozen, and a
/// round of the search may round hundreds of stuck points.
const FALLBACK_EARLY_SAMPLES: usize = 2_000;

/// A single-step move: up to two coordinate changes `(coordinate, delta)`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Move {
    pub(super) delta: [(usize, f64); 2],
    pub(super) len: usize,
}

impl Move {
    fn one(i: usize, d: f64) -> Self {
        Move {
            delta: [(i, d), (i, 0.0)],
            len: 1,
        }
    }
    pub(super) fn changes(&self) -> &[(usize, f64)] {
        &self.delta[..self.len]
    }
    pub(super) fn apply(&self, r: &mut [f64]) {
        for &(i, d) in self.changes() {
            r[i] += d;
        }
    }
}

/// Index of the member of `values` whose log is nearest to `c`.
pub(super) fn member_index(values: &[u64], c: f64) -> usize {
    let m = nearest_member(values, c);
    values.partition_point(|&v| v < m)
}

impl Space {
    /// The nearest legal assignment to the continuous point `x` (any real values). Always
    /// legal when `Ok`; errors only when no legal assignment exists (or, for constraints with
    /// mixed-sign coefficients on a large space, none was found). Algorithm:
    ///
    /// 1. Clamp to the box (NaN counts as the lower bound).
    /// 2. Per split group and prime: round every exponent to the nearest integer; while the sum
    ///    exceeds `E_p`, decrement the exponent with the largest rounding-up error `r − x` among
    ///    the positive ones. For the separable squared distance this greedy is optimal, so the
    ///    result is the nearest point of the lattice simplex.
    /// 3. Choices: the nearest member in log space.
    /// 4. Extra linear constraints: greedy descent on the total violation `V = Σ_c max(0, a_c·r − b_c)`
    ///    over single-step moves (decrement, increment or transfer one prime between factors of a
    ///    group; step a choice), each step taking the move with the smallest increase of the
    ///    squared log-space distance to the clamped point per unit of violation removed. For
    ///    constraints with non-negative coefficients (upper bounds on products: the usual case)
    ///    this never gets stuck unless no legal assignment exists. With mixed signs (lower and
    ///    upper bounds on products) it can; where no single move lowers `V`, the step is the
    ///    best pair of moves by the same measure (at most the square of the number of moves
    ///    in violation evaluations), and only where no pair lowers it either does the fallback
    ///    search exhaustively (spaces up to [`EXHAUSTIVE_LIMIT`] points) or by seeded random
    ///    sampling (stopping after 2,000 samples when one was legal, else after 20,000), and
    ///    errors only if nothing legal was found.
    ///
    /// Without extra linear constraints the result is the legal assignment nearest to the
    /// clamped point in the log-value metric `Σ (ln p)² (Δx_{f,p})² + Σ (Δ ln choice)²`.
    pub fn round(&self, x: &[f64]) -> Result<Assignment> {
        self.check_dim("point", x.len())?;
        let target = self.clamped(x);
        let mut r = target.clone();
        for g in &self.groups {
            for (k, &(_, e)) in g.primes.iter().enumerate() {
                let coords: Vec<usize> = g.prime_coords(k).collect();
                let mut sum = 0.0;
                for &i in &coords {
                    r[i] = target[i].round();
                    sum += r[i];
                }
                while sum > e as f64 {
                    let Some(&i) = coords
                        .iter()
                        .filter(|&&i| r[i] >= 1.0)
                        .max_by(|&&a, &&b| (r[a] - target[a]).total_cmp(&(r[b] - target[b])))
                    else {
                        break; // unreachable: sum > e ≥ 0 implies a positive exponent
                    };
                    r[i] -= 1.0;
                    sum -= 1.0;
                }
            }
        }
        for ch in &self.choices {
            r[ch.coord] = (nearest_member(&ch.values, target[ch.coord]) as f64).ln();
        }
        if !self.constraints.is_empty() {
            self.repair(&mut r, &target)?;
        }
        self.to_assignment(&r)
    }

    /// `x` clamped to the box; NaN goes to the lower bound.
    pub(super) fn clamped(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(self.lower.iter().zip(&self.upper))
            .map(|(&v, (&lo, &hi))| if v.is_nan() { lo } else { v.clamp(lo, hi) })
            .collect()
    }

    /// Total violation of the extra linear constraints at `r`.
    pub(super) fn total_violation(&self, r: &[f64]) -> f64 {
        self.constraints.iter().map(|c| c.violation(r)).sum()
    }

    /// Squared log-space distance between `r` and `t`.
    fn log_dist2(&self, r: &[f64], t: &[f64]) -> f64 {
        (0..r.len())
            .map(|i| (self.coord_var[i].1 * (r[i] - t[i])).powi(2))
            .sum()
    }

    /// All single-step moves from the legal integral point `r` that stay inside the box and
    /// the group simplices (extra linear constraints are not checked).
    pub(super) fn moves(&self, r: &[f64], out: &mut Vec<Move>) {
        out.clear();
        for g in &self.groups {
            for (k, &(_, e)) in g.primes.iter().enumerate() {
                let coords: Vec<usize> = g.prime_coords(k).collect();
                let sum: f64 = coords.iter().map(|&i| r[i]).sum();
                for &i in &coords {
                    if r[i] >= 1.0 {
                        out.push(Move::one(i, -1.0));
                        for &j in coords.iter().filter(|&&j| j != i) {
                            out.push(Move {
                                delta: [(i, -1.0), (j, 1.0)],
                                len: 2,
                            });
                        }
                    }
                    if sum + 1.0 <= e as f64 {
                        out.push(Move::one(i, 1.0));
                    }
                }
            }
        }
        for ch in &self.choices {
            let m = member_index(&ch.values, r[ch.coord]);
            let ln = |m: usize| (ch.values[m] as f64).ln();
            if m > 0 {
                out.push(Move::one(ch.coord, ln(m - 1) - r[ch.coord]));
            }
            if m + 1 < ch.values.len() {
                out.push(Move::one(ch.coord, ln(m + 1) - r[ch.coord]));
            }
        }
    }

    /// Makes the legal-but-for-linear-constraints integral point `r` satisfy the linear
    /// constraints, staying near `target`: greedy steps of one move, or of two moves where no
    /// single move lowers the violation (a lower bound and an upper bound on products of
    /// factors of different groups, e.g. `register_min` and `register_tile`, often need a
    /// prime taken from one group and given to another in one step). Only when no pair of
    /// moves helps either does the costly [`Space::fallback`] run.
    fn repair(&self, r: &mut [f64], target: &[f64]) -> Result<()> {
        let mut moves = Vec::new();
        let mut second = Vec::new();
        let mut v = self.total_violation(r);
        let mut trial = r.to_vec();
        let mut trial2 = r.to_vec();
        while v > 0.0 {
            self.moves(r, &mut moves);
            let d0 = self.log_dist2(r, target);
            let score_of = |p: &[f64]| {
                let dv = v - self.total_violation(p);
                (dv > 0.0).then(|| (self.log_dist2(p, target) - d0) / dv)
            };
            let mut best: Option<(f64, Move, Option<Move>)> = None;
            for mv in &moves {
                mv.apply(&mut trial);
                if let Some(score) = score_of(&trial) {
                    if best.as_ref().is_none_or(|(s, _, _)| score < *s) {
                        best = Some((score, *mv, None));
                    }
                }
                trial.copy_from_slice(r);
            }
            if best.is_none() {
                for mv in &moves {
                    mv.apply(&mut trial);
                    self.moves(&trial, &mut second);
                    trial2.copy_from_slice(&trial);
                    for mv2 in &second {
                        mv2.apply(&mut trial2);
                        if let Some(score) = score_of(&trial2) {
                            if best.as_ref().is_none_or(|(s, _, _)| score < *s) {
                                best = Some((score, *mv, Some(*mv2)));
                            }
                        }
                        trial2.copy_from_slice(&trial);
                    }
                    trial.copy_from_slice(r);
                }
            }
            let Some((_, mv, mv2)) = best else {
                return self.fallback(r, target);
            };
            mv.apply(r);
            if let Some(mv2) = mv2 {
                mv2.apply(r);
            }
            // Re-snap choice coordinates to exact logs of members (no drift).
            for ch in &self.choices {
                r[ch.coord] = (nearest_member(&ch.values, r[ch.coord]) as f64).ln();
            }
            trial.copy_from_slice(r);
            v = self.total_violation(r);
        }
        Ok(())
    }

    /// Greedy repair got stuck: search for the nearest point satisfying the constraints.
    fn fallback(&self, r: &mut [f64], target: &[f64]) -> Result<()> {
        let mut best: Option<(f64, Vec<f64>)> = None;
        let consider = |p: &[f64], best: &mut Option<(f64, Vec<f64>)>| {
            if self.total_violation(p) == 0.0 {
                let d = self.log_dist2(p, target);
                if best.as_ref().is_none_or(|(b, _)| d < *b) {
                    *best = Some((d, p.to_vec()));
                }
            }
        };
        let exhaustive = self.size() <= EXHAUSTIVE_LIMIT as f64;
        if exhaustive {
            self.for_each_point(&mut |p| consider(&p, &mut best));
        } else {
            // Allocation-free draws (each used to allocate twice: most of the time of a
            // stuck rounding).
            let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
            let (mut p, mut parts) = (vec![0.0; self.dim()], Vec::new());
            for i in 0..FALLBACK_SAMPLES {
                if i == FALLBACK_EARLY_SAMPLES && best.is_some() {
                    break;
                }
                self.sample_point_into(&mut rng, &mut p, &mut parts);
                consider(&p, &mut best);
            }
        }
        match best {
            Some((_, p)) => {
                r.copy_from_slice(&p);
                Ok(())
            }
            None => Err(SymbolicError::NoLegalAssignment(if exhaustive {
                format!(
                    "no point of the space satisfies its {} linear constraint(s)",
                    self.constraints.len()
                )
            } else {
                format!(
                    "greedy repair stuck and none of {FALLBACK_SAMPLES} random points satisfies the \
                     linear constraints"
                )
            })),
        }
    }
}
