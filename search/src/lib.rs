//! tilegrad-search: search policies over a sketch's schedule space.
//!
//! A policy ([`SearchPolicy`]) proposes legal, never-seen assignments for the sketches of one
//! task, each sketch seen through an [`Objective`] (its features + cost model, abstracted):
//!
//! * [`GradientSearch`]: the core. Projected Adam (or argmin's L-BFGS) on the relaxed
//!   prime-exponent coordinates through the objective, penalties scaled against the score
//!   gradient, annealed temperature, every iterate rounded (exponent rounding and
//!   [`rounding`] in value space) into a de-duplicated pool, the best few hill-climbed over
//!   integer neighbours ([`polish`]), ranked by exact score plus an exploration bonus, with
//!   an ε share of random legal picks.
//! * [`EvolutionarySearch`]: Ansor-style population, mutation and crossover, model-guided
//!   selection, ε-greedy.
//! * [`RandomSearch`]: uniform legal samples, optionally ranked by the model.
//!
//! [`synthetic`] holds objectives with known optima for tests and benchmarks.

pub mod adam;
pub mod error;
pub mod evolution;
pub mod gradient;
pub mod lbfgs;
pub mod objective;
pub mod policy;
pub mod polish;
pub mod pool;
pub mod proposal;
pub mod random;
pub mod rounding;
pub mod synthetic;

pub use adam::{AdamParams, ProjectedAdam};
pub use error::{Result, SearchError};
pub use evolution::{EvolutionConfig, EvolutionarySearch};
pub use gradient::{GradientConfig, GradientSearch, Optimizer};
pub use lbfgs::LbfgsConfig;
pub use objective::{ExactScore, Objective, ObjectiveEval};
pub use policy::SearchPolicy;
pub use proposal::{Proposal, ProposalSource, SeenSet};
pub use random::{RandomConfig, RandomSearch};
