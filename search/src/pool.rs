//! The candidate pool shared by all policies: de-duplication against everything seen,
//! exact scoring, ranking with an exploration bonus, and the ε share of random legal picks.

use std::collections::{HashMap, HashSet};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::Assignment;

use crate::objective::score_checked;
use crate::{ExactScore, Objective, Proposal, ProposalSource, Result, SeenSet};

/// Draws of random legal candidates per pick wanted before giving up (plus a constant).
const RANDOM_TRIES_PER_PICK: usize = 20;

/// Candidates every sketch has measured before the ranking alone decides ([`cover`]).
pub const COVER_PER_SKETCH: usize = 1;

/// Candidates, de-duplicated against a [`SeenSet`] and each other; unscored, or scored
/// already by whoever offered them ([`Pool::offer_scored`]).
#[derive(Debug, Default)]
pub struct Pool {
    /// Per sketch: candidates in insertion order, with their exact score if known.
    items: Vec<Vec<(Assignment, ProposalSource, Option<ExactScore>)>>,
    keys: HashSet<(usize, String)>,
}

impl Pool {
    /// An empty pool for `n_sketches` sketches.
    pub fn new(n_sketches: usize) -> Self {
        Self {
            items: vec![Vec::new(); n_sketches],
            keys: HashSet::new(),
        }
    }

    /// Adds `a` unless it is in `seen`, already pooled, or illegal in `obj`'s space; returns
    /// whether it was added.
    pub fn offer(
        &mut self,
        obj: &dyn Objective,
        sketch: usize,
        a: Assignment,
        source: ProposalSource,
        seen: &SeenSet,
    ) -> bool {
        self.offer_scored(obj, sketch, a, source, seen, None)
    }

    /// [`Pool::offer`] with the candidate's exact score when it is known already (from
    /// [`Objective::score_exact`] of the same objective): [`Pool::score`] keeps it instead
    /// of scoring the candidate again.
    pub fn offer_scored(
        &mut self,
        obj: &dyn Objective,
        sketch: usize,
        a: Assignment,
        source: ProposalSource,
        seen: &SeenSet,
        score: Option<ExactScore>,
    ) -> bool {
        let text = a.to_string();
        if seen.contains_text(sketch, &text) || self.keys.contains(&(sketch, text.clone())) {
            return false;
        }
        if !obj.space().is_legal(&a) {
            return false;
        }
        self.keys.insert((sketch, text));
        self.items[sketch].push((a, source, score));
        true
    }

    /// Marks `(sketch, text)` as known, so that [`Pool::offer`] rejects it.
    pub fn exclude(&mut self, sketch: usize, text: String) {
        self.keys.insert((sketch, text));
    }

    /// Whether `(sketch, text)` is pooled.
    pub fn contains_text(&self, sketch: usize, text: &str) -> bool {
        self.keys.contains(&(sketch, text.to_string()))
    }

    /// Number of pooled candidates.
    pub fn len(&self) -> usize {
        self.items.iter().map(Vec::len).sum()
    }

    /// Whether no candidate is pooled.
    pub fn is_empty(&self) -> bool {
        self.items.iter().all(Vec::is_empty)
    }

    /// Scores every candidate not scored yet exactly (one [`Objective::score_exact`] call
    /// per sketch) and returns the legal ones as proposals, in pool order (sketch by sketch).
    pub fn score(self, tasks: &[&dyn Objective]) -> Result<Vec<Proposal>> {
        let mut out = Vec::with_capacity(self.len());
        for (sketch, items) in self.items.into_iter().enumerate() {
            let batch: Vec<Assignment> = items
                .iter()
                .filter(|(_, _, s)| s.is_none())
                .map(|(a, _, _)| a.clone())
                .collect();
            let mut fresh = score_checked(tasks[sketch], &batch)?.into_iter();
            for (a, source, known) in items {
                let Some(s) = known.or_else(|| fresh.next()) else {
                    break;
                };
                if s.legal && s.score.is_finite() && s.uncertainty.is_finite() {
                    out.push(Proposal {
                        sketch,
                        assignment: a,
                        predicted: s.score,
                        uncertainty: s.uncertainty,
                        source,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Sorts `props` by `predicted + kappa · uncertainty`, best first (stable: ties keep their
/// order, so the result is deterministic).
pub fn rank(props: &mut [Proposal], kappa: f64) {
    props.sort_by(|a, b| {
        let ra = a.predicted + kappa * a.uncertainty;
        let rb = b.predicted + kappa * b.uncertainty;
        rb.total_cmp(&ra)
    });
}

/// Up to `n` uniformly random legal proposals (sketch uniform, then [`Space::sample`]),
/// distinct, not in `seen` and not in `exclude`; each is scored exactly and kept only if
/// legal. Gives up after about `20·n` draws.
///
/// [`Space::sample`]: tilegrad_symbolic::Space::sample
pub fn random_picks(
    tasks: &[&dyn Objective],
    seen: &SeenSet,
    exclude: &HashSet<(usize, String)>,
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Proposal>> {
    let mut out = Vec::with_capacity(n);
    if tasks.is_empty() || n == 0 {
        return Ok(out);
    }
    let mut taken = exclude.clone();
    let mut budget = RANDOM_TRIES_PER_PICK * n + 16;
    while out.len() < n && budget > 0 {
        // Draw a batch of fresh candidates, then score them per sketch.
        let want = (n - out.len()).min(budget);
        budget -= want;
        let mut pool = Pool::new(tasks.len());
        for _ in 0..want {
            let sketch = rng.random_range(0..tasks.len());
            let a = tasks[sketch].space().sample(rng)?;
            if !taken.contains(&(sketch, a.to_string())) {
                pool.offer(tasks[sketch], sketch, a, ProposalSource::Random, seen);
            }
        }
        for p in pool.score(tasks)? {
            if out.len() < n && taken.insert(p.key()) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// The final selection shared by the policies: from the scored candidates `pool`, the best
/// `k − ⌊ε·k⌉` by `predicted + κ·uncertainty`, then `⌊ε·k⌉` random legal picks (filled from
/// the pool's next best if random sampling runs dry, and vice versa).
pub fn select(
    tasks: &[&dyn Objective],
    seen: &SeenSet,
    mut pool: Vec<Proposal>,
    k: usize,
    epsilon: f64,
    kappa: f64,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Proposal>> {
    rank(&mut pool, kappa);
    select_ranked(tasks, seen, pool, k, epsilon, rng)
}

/// Reorders a ranked `pool` so that its head is spread out: walking down the ranking, a
/// candidate is taken when it differs from every candidate already taken of its sketch in at
/// least `min_diff` variables; the others follow, in rank order. `min_diff ≤ 1` keeps the
/// order. (The best candidates of a descent are often one variable apart, so without this a
/// round measures one schedule and its neighbours.)
pub fn spread(pool: Vec<Proposal>, min_diff: usize) -> Vec<Proposal> {
    if min_diff <= 1 {
        return pool;
    }
    let (mut head, mut tail): (Vec<Proposal>, Vec<Proposal>) = (Vec::new(), Vec::new());
    for p in pool {
        let far = head.iter().filter(|h| h.sketch == p.sketch).all(|h| {
            let (a, b) = (h.assignment.values(), p.assignment.values());
            a.len() != b.len() || a.iter().zip(b).filter(|(x, y)| x != y).count() >= min_diff
        });
        if far {
            head.push(p);
        } else {
            tail.push(p);
        }
    }
    head.extend(tail);
    head
}

/// Moves to the head of a ranked `pool` the best candidate of every sketch that has fewer
/// than [`COVER_PER_SKETCH`] entries in `seen`, at most `max` of them (sketches in order of
/// their best candidate's rank); the rest keep their order.
///
/// A model ranks sketches it was not trained on poorly, and a sketch it ranks low is never
/// measured, however fast it is (a `trans_b` matmul whose packed sketch runs 1.7x its dot
/// sketch, left unmeasured for 45 trials): one measured candidate per sketch lets the
/// measurements, the elite and fine-tuning judge it.
pub fn cover(pool: Vec<Proposal>, seen: &SeenSet, max: usize) -> Vec<Proposal> {
    // Per sketch, whether it is still owed a pick; `seen` is counted once per sketch.
    let mut owed: HashMap<usize, bool> = HashMap::new();
    let mut head = Vec::new();
    let mut tail = Vec::with_capacity(pool.len());
    for p in pool {
        let due = owed
            .entry(p.sketch)
            .or_insert_with(|| seen.count(p.sketch) < COVER_PER_SKETCH);
        if head.len() < max && *due {
            *due = false;
            head.push(p);
        } else {
            tail.push(p);
        }
    }
    head.extend(tail);
    head
}

/// [`select`] on a pool already in the order to take it (see [`spread`]). Up to half of the
/// `k` picks go first to sketches not measured yet ([`cover`]).
pub fn select_ranked(
    tasks: &[&dyn Objective],
    seen: &SeenSet,
    pool: Vec<Proposal>,
    k: usize,
    epsilon: f64,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Proposal>> {
    let mut pool = cover(pool, seen, k.div_ceil(2));
    let n_random = ((epsilon.clamp(0.0, 1.0) * k as f64).round() as usize).min(k);
    let n_model = (k - n_random).min(pool.len());
    let mut out: Vec<Proposal> = pool.drain(..n_model).collect();
    let taken: HashSet<(usize, String)> =
        out.iter().chain(pool.iter()).map(Proposal::key).collect();
    let randoms = random_picks(tasks, seen, &taken, k - n_model, rng)?;
    let short = k - n_model - randoms.len();
    out.extend(randoms);
    out.extend(pool.into_iter().take(short));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::tiled_space;

    #[test]
    fn cover_moves_the_best_of_each_unmeasured_sketch_to_the_head() {
        let space = tiled_space(&[("a", 64, 2)], &[]).unwrap();
        let a = |t: &str| space.parse_assignment(t).unwrap();
        let p = |sketch, t: &str| Proposal {
            sketch,
            assignment: a(t),
            predicted: 0.0,
            uncertainty: 0.0,
            source: ProposalSource::Gradient,
        };
        // Ranked: sketch 0 leads; sketch 1 was measured already; 2 and 3 were not.
        let ranked = vec![
            p(0, "a_0=1,a_1=1"),
            p(0, "a_0=2,a_1=1"),
            p(1, "a_0=1,a_1=1"),
            p(2, "a_0=1,a_1=2"),
            p(3, "a_0=4,a_1=1"),
            p(2, "a_0=2,a_1=2"),
        ];
        let mut seen = SeenSet::new();
        seen.insert(1, &a("a_0=8,a_1=8"));
        let key = |v: &[Proposal]| v.iter().map(Proposal::key).collect::<Vec<_>>();
        let order = |idx: &[usize]| idx.iter().map(|&i| ranked[i].key()).collect::<Vec<_>>();
        assert_eq!(
            key(&cover(ranked.clone(), &seen, 8)),
            order(&[0, 3, 4, 1, 2, 5])
        );
        assert_eq!(
            key(&cover(ranked.clone(), &seen, 2)),
            order(&[0, 3, 1, 2, 4, 5])
        );
        for s in [0, 2, 3] {
            seen.insert(s, &a("a_0=8,a_1=8"));
        }
        assert_eq!(key(&cover(ranked.clone(), &seen, 8)), key(&ranked));
    }
}
