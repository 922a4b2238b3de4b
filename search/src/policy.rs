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
    /// policy could not find more unseen legal assignments within its budget.
    fn propose(
        &mut self,
        tasks: &[&dyn Objective],
        seen: &SeenSet,
        k: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Proposal>>;

    /// Feeds back measurement results (`None`: the measurement failed). Stateless policies
    /// ignore it.
    fn observe(&mut self, results: &[(Proposal, Option<f64>)]) {
        let _ = results;
    }
}
