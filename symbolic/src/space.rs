//! The schedule [`Space`] of a sketch: its schedule variables, their continuous coordinates
//! and legal integer [`Assignment`]s.
//!
//! # Variables
//! * **Split groups** ([`Space::add_split_group`]): the factors `f_1 … f_n` of one loop's
//!   multi-level tiling, for a loop of extent `E`. The outermost tile is the implied quotient
//!   `E / Π f_j` ([`Space::quotient_expr`]); an assignment is legal when `Π f_j` divides `E`.
//!   Any extent `E ≥ 1` works: it is factorised exactly ([`factorize`]), so 11008 = 2⁸·43,
//!   49 = 7², 97 (prime) and 1 (all factors fixed to 1) are all fine.
//! * **Choices** ([`Space::add_choice`]): a variable taking values from an explicit finite set
//!   of positive integers (unroll depth, vector width).
//!
//! # Continuous coordinates (what gradient descent moves)
//! * For each factor `f` of a group and each prime `p` with multiplicity `E_p` in the extent,
//!   an exponent `x_{f,p} ∈ [0, E_p]`, with the group constraint `Σ_f x_{f,p} ≤ E_p`, so that
//!   `f = Π_p p^{x_{f,p}}`. Integral exponents satisfying the group constraints are exactly
//!   the legal factor tuples (unique factorisation), so rounding in this space can never
//!   produce a non-divisible tiling.
//! * For each choice variable, one coordinate `c = ln(value) ∈ [ln min, ln max]`.
//!
//! Coordinates are laid out in declaration order: a group's factors one after the other, each
//! with its primes in increasing order; a choice takes one coordinate. Every variable's value
//! is `exp(Σ_i w_i x_i)` over its own coordinates, with weights `w = ln p` (factors) or `1`
//! (choices); [`Space::decode`] and [`Space::pullback`] are built on that.
//!
//! # Extra linear constraints
//! [`Space::add_linear_constraint`] adds `Σ a_i x_i ≤ b` on the coordinates;
//! [`Space::add_log_product_constraint`] adds the common form `Π v^{a_v} ≤ bound` (e.g.
//! threads per block ≤ 1024), which is linear in the coordinates.
//!
//! The other operations live in submodules: encoding, decoding and legality in `codec`,
//! rounding in `round`, projection in `project`, sampling and neighbours in `sample`.

mod assignment;
mod codec;
mod parts;
mod primes;
mod project;
mod round;
mod sample;
mod stored;

use std::sync::Arc;

pub use assignment::Assignment;
pub use parts::{Choice, LinearConstraint, LogTerm, SplitGroup, SplitGroupId, CONSTRAINT_TOL};
pub use primes::{factorize, is_prime};
pub use round::EXHAUSTIVE_LIMIT;
pub use sample::SAMPLE_REJECTION_CAP;

use crate::{ExprArena, Result, SymbolicError, Var};

/// What a space variable is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Factor `index` of group `group`.
    Factor { group: usize, index: usize },
    /// Choice number `.0`.
    Choice(usize),
}

/// The schedule variables of a sketch; see the [module docs](self).
///
/// Serde: stored as its declarations and constraints (variables by arena index and name) and
/// re-validated on load; store the arena alongside.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(into = "stored::StoredSpace", try_from = "stored::StoredSpace")]
pub struct Space {
    groups: Vec<SplitGroup>,
    choices: Vec<Choice>,
    constraints: Vec<LinearConstraint>,
    vars: Arc<[Var]>,
    names: Arc<[String]>,
    slots: Vec<Slot>,
    /// Per variable (space order): its coordinate range `start..start+len`.
    var_coords: Vec<(usize, usize)>,
    /// Per coordinate: `(position of its variable in space order, weight)`.
    coord_var: Vec<(usize, f64)>,
    coord_names: Vec<String>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// Declarations in order: `Slot::Factor { group, index: 0 }` for a group (even one with
    /// no factor), `Slot::Choice` for a choice.
    decls: Vec<Slot>,
    /// A legal point (computed lazily by [`Space::project`]; `None` if none exists).
    feasible: std::sync::OnceLock<Option<Vec<f64>>>,
}

impl Space {
    /// An empty space.
    pub fn new() -> Self {
        Self::default()
    }

    /// Errors unless `name` is a well-formed name and neither it nor `var` (the variable it
    /// names, if it exists yet) is already a variable of this space.
    fn check_new_var(&self, name: &str, var: Option<Var>) -> Result<()> {
        if name.is_empty() || name.contains([',', '=']) || name.contains(char::is_whitespace) {
            return Err(SymbolicError::InvalidSpace(format!(
                "variable name `{name}` must be non-empty, without ',', '=' or whitespace"
            )));
        }
        if self.names.iter().any(|n| n == name) || var.is_some_and(|v| self.vars.contains(&v)) {
            return Err(SymbolicError::InvalidSpace(format!(
                "variable `{name}` declared twice"
            )));
        }
        Ok(())
    }

    /// Errors unless a split group `name` of extent `extent` can be added.
    fn check_new_group(&self, name: &str, extent: u64) -> Result<()> {
        if extent == 0 {
            return Err(SymbolicError::InvalidSpace(format!(
                "split group `{name}` has extent 0"
            )));
        }
        if self.groups.iter().any(|g| g.name == name) {
            return Err(SymbolicError::InvalidSpace(format!(
                "split group `{name}` declared twice"
            )));
        }
        Ok(())
    }

    /// Sorted, deduplicated choice values, or an error unless non-empty and positive.
    fn check_choice_values(name: &str, values: &[u64]) -> Result<Vec<u64>> {
        let mut vals = values.to_vec();
        vals.sort_unstable();
        vals.dedup();
        if vals.is_empty() || vals[0] == 0 {
            return Err(SymbolicError::InvalidSpace(format!(
                "choice `{name}` needs a non-empty set of positive values, got {values:?}"
            )));
        }
        Ok(vals)
    }

    fn push_var(&mut self, v: Var, name: &str) {
        let mut vars = self.vars.to_vec();
        vars.push(v);
        self.vars = vars.into();
        let mut names = self.names.to_vec();
        names.push(name.to_string());
        self.names = names.into();
    }

    fn push_coord(&mut self, name: String, weight: f64, lo: f64, hi: f64) {
        self.coord_var.push((self.vars.len() - 1, weight));
        self.coord_names.push(name);
        self.lower.push(lo);
        self.upper.push(hi);
    }

    /// Declares a split group of `n_factors` free factor variables `<name>_0 … <name>_{n-1}`
    /// for a loop of extent `extent ≥ 1` (variables already in `arena`, e.g. used in a loop
    /// tree, are reused). Errors on extent 0 or a factor already in this space; the space is
    /// unchanged on error.
    pub fn add_split_group(
        &mut self,
        arena: &mut ExprArena,
        name: &str,
        extent: u64,
        n_factors: usize,
    ) -> Result<SplitGroupId> {
        self.check_new_group(name, extent)?;
        let names: Vec<String> = (0..n_factors).map(|j| format!("{name}_{j}")).collect();
        for n in &names {
            self.check_new_var(n, arena.lookup_var(n))?;
        }
        let factors: Vec<(Var, String)> = names
            .into_iter()
            .map(|n| (arena.declare_var(&n), n))
            .collect();
        Ok(self.insert_group(name, extent, &factors))
    }

    /// Adds a validated split group with the given factor variables.
    fn insert_group(&mut self, name: &str, extent: u64, factors: &[(Var, String)]) -> SplitGroupId {
        let primes = factorize(extent);
        let id = SplitGroupId(self.groups.len() as u32);
        self.decls.push(Slot::Factor {
            group: self.groups.len(),
            index: 0,
        });
        self.groups.push(SplitGroup {
            name: name.to_string(),
            extent,
            primes: primes.clone(),
            factors: Vec::new(),
            offset: self.coord_var.len(),
        });
        for (j, (v, n)) in factors.iter().enumerate() {
            self.push_var(*v, n);
            let start = self.coord_var.len();
            for &(p, e) in &primes {
                self.push_coord(format!("{n}.e{p}"), (p as f64).ln(), 0.0, e as f64);
            }
            self.var_coords.push((start, primes.len()));
            self.slots.push(Slot::Factor {
                group: id.0 as usize,
                index: j,
            });
            self.groups[id.0 as usize].factors.push(*v);
        }
        id
    }

    /// Declares a variable taking values in `values` (positive integers; order and duplicates
    /// do not matter). Its coordinate is `ln value`.
    pub fn add_choice(&mut self, arena: &mut ExprArena, name: &str, values: &[u64]) -> Result<Var> {
        let vals = Self::check_choice_values(name, values)?;
        self.check_new_var(name, arena.lookup_var(name))?;
        let v = arena.declare_var(name);
        self.insert_choice(v, name, vals);
        Ok(v)
    }

    /// Adds a validated choice variable.
    fn insert_choice(&mut self, v: Var, name: &str, vals: Vec<u64>) {
        self.push_var(v, name);
        let coord = self.coord_var.len();
        let (lo, hi) = ((vals[0] as f64).ln(), (vals[vals.len() - 1] as f64).ln());
        self.push_coord(format!("ln({name})"), 1.0, lo, hi);
        self.var_coords.push((coord, 1));
        self.slots.push(Slot::Choice(self.choices.len()));
        self.decls.push(Slot::Choice(self.choices.len()));
        self.choices.push(Choice {
            var: v,
            values: vals,
            coord,
        });
    }

    /// The split group `id`.
    pub fn group(&self, id: SplitGroupId) -> Result<&SplitGroup> {
        self.groups
            .get(id.0 as usize)
            .ok_or_else(|| SymbolicError::InvalidRef(format!("split group {}", id.0)))
    }

    /// All split groups, in declaration order.
    pub fn groups(&self) -> &[SplitGroup] {
        &self.groups
    }

    /// All choice variables, in declaration order.
    pub fn choices(&self) -> &[Choice] {
        &self.choices
    }

    /// All extra linear constraints.
    pub fn constraints(&self) -> &[LinearConstraint] {
        &self.constraints
    }

    /// The space's variables in their stable order (declaration order): the columns of
    /// [`Space::decode_batch`] and the order of an [`Assignment`]'s values.
    pub fn vars(&self) -> Vec<Var> {
        self.vars.to_vec()
    }

    /// Names of the space's variables, in [`Space::vars`] order.
    pub fn var_names(&self) -> &[String] {
        &self.names
    }

    /// Position of `v` in [`Space::vars`].
    pub fn position(&self, v: Var) -> Result<usize> {
        self.vars.iter().position(|&w| w == v).ok_or_else(|| {
            SymbolicError::InvalidRef(format!("variable {} is not in the space", v.0))
        })
    }

    /// `(coordinate, weight)` pairs of the variable at `pos` such that
    /// `ln value = Σ weight · x[coordinate]` (empty if `pos` is out of range).
    pub fn log_coords(&self, pos: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (start, len) = self.var_coords.get(pos).copied().unwrap_or((0, 0));
        (start..start + len).map(|i| (i, self.coord_var[i].1))
    }

    /// Number of continuous coordinates.
    pub fn dim(&self) -> usize {
        self.coord_var.len()
    }

    /// Number of space variables.
    pub fn num_vars(&self) -> usize {
        self.vars.len()
    }

    /// Box bounds `(lower, upper)` of the coordinates.
    pub fn bounds(&self) -> (Vec<f64>, Vec<f64>) {
        (self.lower.clone(), self.upper.clone())
    }

    /// Coordinate names: `<factor>.e<prime>` for exponents, `ln(<choice>)` for choices.
    pub fn coordinate_names(&self) -> &[String] {
        &self.coord_names
    }

    /// Number of legal assignments, ignoring the extra linear constraints:
    /// `Π_{group, prime} C(E_p + n, n) · Π_{choice} |values|` for groups of `n` factors.
    pub fn size(&self) -> f64 {
        let groups: f64 = self
            .groups
            .iter()
            .flat_map(|g| {
                let n = g.factors.len() as u64;
                g.primes
                    .iter()
                    .map(move |&(_, e)| primes::binomial(e as u64 + n, n))
            })
            .product();
        groups
            * self
                .choices
                .iter()
                .map(|c| c.values.len() as f64)
                .product::<f64>()
    }

    fn check_dim(&self, what: &str, len: usize) -> Result<()> {
        if len != self.dim() {
            return Err(SymbolicError::InvalidRef(format!(
                "{what} has length {len}, the space has {} coordinates",
                self.dim()
            )));
        }
        Ok(())
    }
}
