//! The [`SearchPolicy`] trait.

use rand_chacha::ChaCha8Rng;

use crate::{Objective, Proposal, Result, SeenSet};

/// A search policy: proposes candidates to measure for one task (one [`Objective`] per sketch
/// of the task) and learns from the measurements.
///
/// Contract, for every implementation: the returned proposals are legal
/// ([`Space::is_legal`](tilegrad_symbolic::Space::is_legal) of their sketch and
/// [`ExactScore::legal`](crate::ExactScore::legal)), pairwise distinct, disjoint from `seen`,
/// at most `k` of them, and the same for the same inputs and RNG state (no dependence on
/// thread scheduling).
pub trait SearchPolicy {
    /// A short name for logs and benchmarks.
    fn name(&self) -> &'static str;

    /// Up to `k` new legal proposals, best first. `tasks[i]` is sketch `i`'s objective; `seen`
    /// holds everything already proposed or measured. Fewer than `k` come back only when the
    /// policy could not find more unseen legal assignments within its budget; none when there
    /// is no sketch or `k` is 0, else [`SearchPolicy::propose_some`] answers.
    fn propose(
        &mut self,
        tasks: &[&dyn Objective],
        seen: &SeenSet,
        k: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Proposal>> {
        if tasks.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        self.propose_some(&Ask { tasks, seen, k }, rng)
    }

    /// [`SearchPolicy::propose`] for at least one sketch and `k >= 1`.
    fn propose_some(&mut self, ask: &Ask<'_>, rng: &mut ChaCha8Rng) -> Result<Vec<Proposal>>;

    /// Feeds back measurement results (`None`: the measurement failed). Stateless policies
    /// ignore it.
    fn observe(&mut self, results: &[(Proposal, Option<f64>)]) {
        let _ = results;
    }
}

/// What [`SearchPolicy::propose_some`] is asked for: at least one sketch, at least one
/// proposal.
#[derive(Clone, Copy)]
pub struct Ask<'a> {
    /// `tasks[i]` is sketch `i`'s objective (not empty).
    pub tasks: &'a [&'a dyn Objective],
    /// Everything already proposed or measured.
    pub seen: &'a SeenSet,
    /// How many proposals at most (at least 1).
    pub k: usize,
}
