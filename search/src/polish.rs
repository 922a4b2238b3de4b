//! Local polishing of the best candidates with exact scores: the integer neighbours
//! ([`Space::neighbors`]) of the top few candidates are scored and added to the pool,
//! repeatedly, like a best-first hill climb.
//!
//! Rounding a relaxed optimum lands on the nearest lattice point in coordinate space, which
//! need not be the best integer point nearby: when a factor has several primes, the relaxed
//! objective is often flat along `Σ_p x_p ln p = const` (only the value matters), and the
//! rounded point can be one prime move away from the best. Polishing closes that last step.
//!
//! [`Space::neighbors`]: tilegrad_symbolic::Space::neighbors

use std::collections::HashSet;

use crate::pool::{rank, Pool};
use crate::{Objective, Proposal, ProposalSource, Result, SeenSet};

/// Up to `rounds` times: ranks `scored` by `predicted + κ·uncertainty`, expands the best
/// `top` candidates not expanded yet (their unseen, unpooled legal neighbours are scored and
/// appended to `scored` as [`ProposalSource::Gradient`]); stops early when the best `top`
/// were all expanded already.
pub fn polish(
    tasks: &[&dyn Objective],
    seen: &SeenSet,
    scored: &mut Vec<Proposal>,
    top: usize,
    rounds: usize,
    kappa: f64,
) -> Result<()> {
    let mut expanded: HashSet<(usize, String)> = HashSet::new();
    for _ in 0..rounds {
        rank(scored, kappa);
        let fresh: Vec<&Proposal> = scored
            .iter()
            .take(top)
            .filter(|p| !expanded.contains(&p.key()))
            .collect();
        if fresh.is_empty() {
            break;
        }
        let mut pool = Pool::new(tasks.len());
        for p in scored.iter() {
            pool.exclude(p.sketch, p.assignment.to_string());
        }
        for p in fresh {
            expanded.insert(p.key());
            let obj = tasks[p.sketch];
            for n in obj.space().neighbors(&p.assignment)? {
                pool.offer(obj, p.sketch, n, ProposalSource::Gradient, seen);
            }
        }
        scored.extend(pool.score(tasks)?);
    }
    rank(scored, kappa);
    Ok(())
}
