//! [`Proposal`]s, where they came from, and the [`SeenSet`] of everything already proposed.

use std::collections::HashSet;

use tilegrad_symbolic::Assignment;

/// Which mechanism produced a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ProposalSource {
    /// A rounded iterate of gradient descent (projected Adam or L-BFGS).
    Gradient,
    /// A uniformly random legal sample (exploration share or the random baseline).
    Random,
    /// A uniformly random legal sample that a model-guided policy kept because the model
    /// ranked it high among many (gradient search's screened starting points).
    Screened,
    /// An evolutionary mutation (a [`Space::neighbors`](tilegrad_symbolic::Space::neighbors) move).
    Mutation,
    /// An evolutionary crossover of two parents.
    Crossover,
    /// An individual carried over from an earlier population (e.g. a measured one).
    Population,
    /// A sketch's seed schedule ([`tilegrad_templates::seeds`]), measured before the search.
    Seed,
}

/// A candidate for measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    /// Index of the sketch (into the `tasks` slice given to the policy).
    pub sketch: usize,
    /// The legal assignment of that sketch's space.
    pub assignment: Assignment,
    /// Predicted score at the exact assignment (higher is better).
    pub predicted: f64,
    /// The prediction's uncertainty.
    pub uncertainty: f64,
    /// How it was found.
    pub source: ProposalSource,
}

impl Proposal {
    /// The key this proposal has in a [`SeenSet`].
    pub fn key(&self) -> (usize, String) {
        (self.sketch, self.assignment.to_string())
    }
}

/// Everything already proposed or measured for a task, as `(sketch index, assignment text)`
/// (the text is [`Assignment`]'s canonical `Display` form).
#[derive(Clone, Debug, Default)]
pub struct SeenSet {
    keys: HashSet<(usize, String)>,
}

impl SeenSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `a` of sketch `sketch`; returns whether it was new.
    pub fn insert(&mut self, sketch: usize, a: &Assignment) -> bool {
        self.keys.insert((sketch, a.to_string()))
    }

    /// Records an assignment by its text; returns whether it was new.
    pub fn insert_text(&mut self, sketch: usize, text: String) -> bool {
        self.keys.insert((sketch, text))
    }

    /// Records every proposal of `batch`.
    pub fn extend(&mut self, batch: &[Proposal]) {
        self.keys.extend(batch.iter().map(Proposal::key));
    }

    /// Whether `a` of sketch `sketch` was seen.
    pub fn contains(&self, sketch: usize, a: &Assignment) -> bool {
        self.contains_text(sketch, &a.to_string())
    }

    /// Whether the assignment text `text` of sketch `sketch` was seen.
    pub fn contains_text(&self, sketch: usize, text: &str) -> bool {
        // HashSet<(usize, String)> cannot be queried by (usize, &str) without allocating.
        self.keys.contains(&(sketch, text.to_string()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Number of entries of sketch `sketch`.
    pub fn count(&self, sketch: usize) -> usize {
        self.keys.iter().filter(|(s, _)| *s == sketch).count()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The best measured assignments of a task, `(sketch, assignment, score)`, best first: what
/// the model-guided policies seed from (fed by [`SearchPolicy::observe`](crate::SearchPolicy::observe)).
#[derive(Clone, Debug, Default)]
pub(crate) struct Elite {
    items: Vec<(usize, Assignment, f64)>,
}

impl Elite {
    /// Adds the finite-scored results and keeps the best `cap`; ties keep arrival order
    /// (stable sort), so the elite is deterministic.
    pub(crate) fn observe(&mut self, results: &[(Proposal, Option<f64>)], cap: usize) {
        for (p, score) in results {
            if let Some(s) = score.filter(|s| s.is_finite()) {
                self.items.push((p.sketch, p.assignment.clone(), s));
            }
        }
        self.items.sort_by(|a, b| b.2.total_cmp(&a.2));
        self.items.truncate(cap);
    }

    /// The kept entries, best first.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, (usize, Assignment, f64)> {
        self.items.iter()
    }
}
