//! [`EvolutionarySearch`]: Ansor's evolutionary search as a baseline.
//!
//! Per call of [`SearchPolicy::propose`]: a population seeded from the best measured
//! assignments (fed back through [`SearchPolicy::observe`]) and uniform random legal samples;
//! `generations` rounds of offspring, each child either a mutation (a random
//! [`Space::neighbors`] move: one prime factor moved between tile factors or to the
//! quotient, or a choice stepped) or a crossover (each split group's factors and each choice
//! taken whole from one of two parents of the same sketch); parents picked by binary
//! tournament on the model's fitness `predicted + κ·uncertainty`, and the population kept to
//! the fittest. Every legal, unseen child or seed is a candidate; the final selection is the
//! fittest `k − ⌊εk⌉` plus `⌊εk⌉` random legal picks (ε-greedy).
//!
//! One policy instance serves one task: the measured elite refers to its sketch indices.
//!
//! [`Space::neighbors`]: tilegrad_symbolic::Space::neighbors

use std::collections::HashSet;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::{Assignment, Space};

use crate::objective::score_checked;
use crate::pool::{select, Pool};
use crate::proposal::Elite;
use crate::{Ask, Objective, Proposal, ProposalSource, Result, SearchError, SearchPolicy};

/// Settings of [`EvolutionarySearch`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvolutionConfig {
    /// Population size (Ansor: 2048).
    pub population: usize,
    /// Generations per round (Ansor: 4).
    pub generations: usize,
    /// Probability that a child is a mutation rather than a crossover (Ansor: 0.85).
    pub mutation_prob: f64,
    /// Best measured assignments seeded into each initial population.
    pub elite: usize,
    /// Share of random legal picks in the proposals (Ansor: 0.05).
    pub epsilon: f64,
    /// Exploration bonus on the uncertainty in the fitness.
    pub kappa: f64,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        Self {
            population: 128,
            generations: 4,
            mutation_prob: 0.85,
            elite: 16,
            epsilon: 0.05,
            kappa: 0.0,
        }
    }
}

/// A member of the population.
#[derive(Clone, Debug)]
struct Individual {
    sketch: usize,
    a: Assignment,
    fitness: f64,
}

/// Ansor-style evolutionary search; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct EvolutionarySearch {
    /// Settings.
    pub config: EvolutionConfig,
    /// Measured `(sketch, assignment, score)`, best first, at most `4·elite` kept.
    measured: Elite,
}

/// The crossover genes of a space: per split group its factors' positions, per choice its
/// position.
fn genes(space: &Space) -> Result<Vec<Vec<usize>>> {
    let mut out = Vec::new();
    for g in space.groups() {
        out.push(
            g.factors()
                .iter()
                .map(|&v| space.position(v))
                .collect::<std::result::Result<_, _>>()?,
        );
    }
    for c in space.choices() {
        out.push(vec![space.position(c.var())?]);
    }
    Ok(out)
}

impl EvolutionarySearch {
    /// A policy with these settings.
    pub fn new(config: EvolutionConfig) -> Result<Self> {
        let ok = config.population > 0
            && (0.0..=1.0).contains(&config.mutation_prob)
            && (0.0..=1.0).contains(&config.epsilon)
            && config.kappa.is_finite();
        if !ok {
            return Err(SearchError::InvalidConfig(
                "population ≥ 1, mutation_prob and epsilon in [0, 1], kappa finite".into(),
            ));
        }
        Ok(Self {
            config,
            measured: Elite::default(),
        })
    }

    /// Binary tournament: the fitter of two random members (from `among` if non-empty).
    fn tournament<'a>(
        pop: &'a [Individual],
        among: &[usize],
        rng: &mut ChaCha8Rng,
    ) -> &'a Individual {
        let pick = |rng: &mut ChaCha8Rng| {
            if among.is_empty() {
                rng.random_range(0..pop.len())
            } else {
                among[rng.random_range(0..among.len())]
            }
        };
        let (i, j) = (pick(rng), pick(rng));
        if pop[j].fitness > pop[i].fitness {
            &pop[j]
        } else {
            &pop[i]
        }
    }

    /// One child of `pop` (not checked against anything), or `None` when the chosen parent
    /// has no neighbour.
    fn child(
        &self,
        tasks: &[&dyn Objective],
        genes: &[Vec<Vec<usize>>],
        pop: &[Individual],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<(usize, Assignment, ProposalSource)>> {
        let p = Self::tournament(pop, &[], rng);
        let space = tasks[p.sketch].space();
        if rng.random_bool(self.config.mutation_prob) {
            let nbrs = space.neighbors(&p.a)?;
            if nbrs.is_empty() {
                return Ok(None);
            }
            let a = nbrs[rng.random_range(0..nbrs.len())].clone();
            return Ok(Some((p.sketch, a, ProposalSource::Mutation)));
        }
        let same: Vec<usize> = (0..pop.len())
            .filter(|&i| pop[i].sketch == p.sketch)
            .collect();
        let q = Self::tournament(pop, &same, rng);
        let mut values = p.a.values().to_vec();
        for gene in &genes[p.sketch] {
            if rng.random_bool(0.5) {
                for &pos in gene {
                    values[pos] = q.a.values()[pos];
                }
            }
        }
        Ok(Some((
            p.sketch,
            space.assignment(&values)?,
            ProposalSource::Crossover,
        )))
    }
}

impl SearchPolicy for EvolutionarySearch {
    fn name(&self) -> &'static str {
        "evolutionary"
    }

    fn propose_some(&mut self, ask: &Ask<'_>, rng: &mut ChaCha8Rng) -> Result<Vec<Proposal>> {
        let Ask { tasks, seen, k } = *ask;
        let c = self.config;
        let fit = |p: &Proposal| p.predicted + c.kappa * p.uncertainty;
        let genes: Vec<_> = tasks
            .iter()
            .map(|t| genes(t.space()))
            .collect::<Result<_>>()?;
        // Seeds: the measured elite (parents only: they are in `seen`) and random samples.
        let mut pop: Vec<Individual> = Vec::new();
        for &(sketch, ref a, _) in self
            .measured
            .iter()
            .filter(|m| m.0 < tasks.len())
            .take(c.elite)
        {
            if tasks[sketch].space().is_legal(a) {
                let s = score_checked(tasks[sketch], std::slice::from_ref(a))?[0];
                if s.legal && s.score.is_finite() {
                    let fitness = s.score + c.kappa * s.uncertainty;
                    pop.push(Individual {
                        sketch,
                        a: a.clone(),
                        fitness,
                    });
                }
            }
        }
        let mut pool = Pool::new(tasks.len());
        for _ in pop.len()..c.population {
            let sketch = rng.random_range(0..tasks.len());
            let a = tasks[sketch].space().sample(rng)?;
            pool.offer(tasks[sketch], sketch, a, ProposalSource::Random, seen);
        }
        let mut known: HashSet<(usize, String)> = HashSet::new();
        let mut candidates: Vec<Proposal> = Vec::new();
        // The scored candidates join the population and the candidates, and are known.
        let mut adopt = |scored: Vec<Proposal>, pop: &mut Vec<_>, known: &mut HashSet<_>| {
            for p in scored {
                known.insert(p.key());
                pop.push(Individual {
                    sketch: p.sketch,
                    a: p.assignment.clone(),
                    fitness: fit(&p),
                });
                candidates.push(p);
            }
        };
        adopt(pool.score(tasks)?, &mut pop, &mut known);
        for _ in 0..c.generations {
            if pop.is_empty() {
                break;
            }
            let mut pool = Pool::new(tasks.len());
            for _ in 0..c.population {
                if let Some((sketch, a, source)) = self.child(tasks, &genes, &pop, rng)? {
                    if !known.contains(&(sketch, a.to_string())) {
                        pool.offer(tasks[sketch], sketch, a, source, seen);
                    }
                }
            }
            adopt(pool.score(tasks)?, &mut pop, &mut known);
            // Stable sort: ties keep insertion order, so the survivors are deterministic.
            pop.sort_by(|a, b| b.fitness.total_cmp(&a.fitness));
            pop.truncate(c.population);
        }
        select(tasks, seen, candidates, k, c.epsilon, c.kappa, rng)
    }

    fn observe(&mut self, results: &[(Proposal, Option<f64>)]) {
        self.measured.observe(results, 4 * self.config.elite.max(1));
    }
}
