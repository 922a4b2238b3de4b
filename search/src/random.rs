//! [`RandomSearch`]: the honest baseline. Uniform legal samples over the sketches,
//! de-duplicated, optionally ranked by the model.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::pool::{select, Pool};
use crate::{Ask, Proposal, ProposalSource, Result, SearchError, SearchPolicy};

/// Settings of [`RandomSearch`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomConfig {
    /// Samples drawn per proposal wanted (`≥ 1`); with `rank_by_model` the best `k` of
    /// `oversample · k` are kept.
    pub oversample: usize,
    /// Rank the samples by `predicted + κ·uncertainty` (otherwise keep draw order).
    pub rank_by_model: bool,
    /// Exploration bonus `κ` when ranking.
    pub kappa: f64,
}

impl Default for RandomConfig {
    fn default() -> Self {
        Self {
            oversample: 1,
            rank_by_model: false,
            kappa: 0.0,
        }
    }
}

/// Uniform random legal assignments. Every candidate still goes through
/// [`Objective::score_exact`], which reports the hardware limits the space cannot express
/// (and gives the predicted score shown in the proposal).
#[derive(Clone, Debug, Default)]
pub struct RandomSearch {
    /// Settings.
    pub config: RandomConfig,
}

impl RandomSearch {
    /// A policy with these settings.
    pub fn new(config: RandomConfig) -> Result<Self> {
        if config.oversample == 0 || !config.kappa.is_finite() {
            return Err(SearchError::InvalidConfig(
                "oversample must be at least 1 and kappa finite".into(),
            ));
        }
        Ok(Self { config })
    }
}

impl SearchPolicy for RandomSearch {
    fn name(&self) -> &'static str {
        if self.config.rank_by_model {
            "random-ranked"
        } else {
            "random"
        }
    }

    fn propose_some(&mut self, ask: &Ask<'_>, rng: &mut ChaCha8Rng) -> Result<Vec<Proposal>> {
        let Ask { tasks, seen, k } = *ask;
        let draws = k * self.config.oversample.max(1);
        let mut pool = Pool::new(tasks.len());
        let mut order = Vec::with_capacity(draws);
        for _ in 0..draws {
            let sketch = rng.random_range(0..tasks.len());
            let a = tasks[sketch].space().sample(rng)?;
            let key = (sketch, a.to_string());
            if pool.offer(tasks[sketch], sketch, a, ProposalSource::Random, seen) {
                order.push(key);
            }
        }
        let mut scored = pool.score(tasks)?;
        if self.config.rank_by_model {
            return select(tasks, seen, scored, k, 0.0, self.config.kappa, rng);
        }
        // Draw order: sort by the position of each key in `order`.
        let index: std::collections::HashMap<_, _> = order
            .into_iter()
            .enumerate()
            .map(|(i, key)| (key, i))
            .collect();
        scored.sort_by_key(|p| index.get(&p.key()).copied().unwrap_or(usize::MAX));
        scored.truncate(k);
        // Top up (duplicates or hardware-illegal draws) with further random picks.
        let taken = scored.iter().map(Proposal::key).collect();
        let more = crate::pool::random_picks(tasks, seen, &taken, k - scored.len(), rng)?;
        scored.extend(more);
        Ok(scored)
    }
}
