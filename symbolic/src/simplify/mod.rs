//! Exact expression simplifier: constant folding, identities, canonical sums and products,
//! logarithms of products, integer-division cancellations.
//!
//! # Contract
//!
//! `simplify(e)` is *value-preserving where `e` is defined*: at every point where exact
//! evaluation of `e` ([`crate::eval::eval_exact`]) succeeds (no division by zero, no log of
//! a non-positive value, every intermediate finite), the result evaluates to the same value
//! (up to floating-point reassociation: sums and products are reordered, `x/3` becomes
//! `x·0.333…`). The result may be defined at more points (`x/x → 1`, `x·0 → 0`), never at
//! fewer, except through f64 overflow of a reordered intermediate. Every variable is taken
//! to be integer-valued (the crate's contract for schedule and loop variables); that is used
//! only by integer-division rules (`floordiv(x, 1) → x`, `mod(x·k, k) → 0`).
//!
//! With [`SimplifyOptions::assume_positive_vars`] every variable is further taken to be
//! `≥ 1`. A sign analysis then proves factors non-negative, which enables
//! `log(a·b) → log a + log b` (a non-negative factor of a product whose log is defined is
//! positive), `floordiv(floordiv(a, b), c) → floordiv(a, b·c)` for a non-negative integral
//! `c`, and bound rules such as `max(x, 1) → x`, `(<= 1 x) → 1`. Without the option these
//! rules still fire where the sign is known from the expression itself (constants, `exp`).
//!
//! # Canonical form
//!
//! Results are canonical: a sum is a left-folded chain `t₁ ± t₂ ± … ± c` of distinct
//! *unit terms* each with a coefficient (`t`, `(neg t)`, `(* t k)`), the constant last; a
//! product is `(* unit k)` around a left-folded chain of factors `b` / `(pow b e)` divided
//! by the chain of factors with negative exponents. Terms and factors are ordered by a
//! structural order that compares variables by *name* (never by id), so equal expressions
//! built in different orders simplify to the same id. Commutative `min`/`max`/`and`/`or`/`==`
//! are flattened and sorted the same way. Simplifying a result again returns it unchanged.
//!
//! # Rules and the assumption each one uses
//!
//! "Defined" = the original is defined at the point (so divisors are non-zero, log
//! arguments positive); "int" = variables are integers; "sign" = the sign analysis (which
//! knows constants and `exp` always, and variables `≥ 1` only under
//! `assume_positive_vars`).
//!
//! | rule | assumption |
//! |---|---|
//! | constant folding (never `x/0`, `log` of `≤ 0`, a non-finite result) | none |
//! | sums: flatten, combine like terms, `x − x → 0`, `x + 0 → x`, distribute `k·(a + b)` | none |
//! | products: combine exponents, `x·x → x²`, `x/x → 1`, `(a·b·c)/(a·c) → b`, `x·0 → 0` | defined |
//! | `(a·b)^k`, `(x^j)^k` opened for integer `k`, or non-negative bases (sign), or non-integer `j` | defined / sign |
//! | `exp(log x) → x`, `exp(k·log x + r) → x^k·exp(r)`, `log(exp x) → x` | defined |
//! | `log(c·Π bᵢ^eᵢ) → log c + Σ eᵢ·log bᵢ` for `c > 0` and bᵢ ≥ 0 | defined + sign |
//! | `log(a^y) → y·log a` (symbolic `y`) | sign: `a > 0` |
//! | `floordiv(x, 1) → x`, `mod(x, 1) → 0`, `floordiv(Q·A + B, Q) → A + floordiv(B, Q)`, `mod(Q·A + B, Q) → mod(B, Q)` | int, defined |
//! | `floordiv(a·g, b·g) → floordiv(a, b)` (common factors and integer gcds) | defined |
//! | `floordiv(floordiv(a, b), c) → floordiv(a, b·c)` (and `ceildiv`) | `c` integral and ≥ 0 (sign) |
//! | `k·floordiv(x, k) + mod(x, k) → x` (constant `k`) | defined |
//! | `min`/`max`: flatten, dedup, drop operands dominated by a constant difference or a lower bound (`max(x, 1) → x`) | sign for bounds |
//! | comparisons: constant difference decides (`x < x + 1 → 1`), lower bounds decide comparisons with constants | sign for bounds |
//! | `not (a < b) → b <= a`, `not (not b) → b` (boolean `b`), `and`/`or` with constants, duplicates, `x and not x` | none (truthiness) |
//! | `select` on a constant, equal branches, `select(not c, a, b) → select(c, b, a)`, `select(c, 1, 0) → c` | none |
//!
//! The relaxed value (see [`crate::relax`]) is preserved by the pure arithmetic rules
//! (`+ − * / neg exp log pow`), not necessarily by the others (e.g. `floordiv` nesting,
//! or `x·x → x²`, which the static integrality rule of [`crate::integral`] does not count
//! as integral).
//!
//! # Why not egg
//!
//! An e-graph (the `egg` crate, as Felix uses) explores many equivalent forms and extracts
//! the cheapest; here a single canonical form per expression is what we want (hash-consing
//! then shares equal sub-expressions across features), every rule above is a local
//! normalization that never needs to be undone, and a direct bottom-up rewriter runs in
//! linear-ish time (about 5 ms for a 5k-node feature set, `cargo bench -p
//! tilegrad-symbolic --bench simplify`) with no saturation limits to tune.
//!
//! The pass is one bottom-up sweep over the reachable ids, memoized (shared sub-DAGs are
//! simplified once) and iterative, with long `+`/`−` chains folded without building their
//! intermediate sums.

mod build;
mod facts;
mod intdiv;
mod logic;
mod order;
mod product;
mod sum;
mod transcend;

use crate::expr::{Expr, ExprArena, ExprId};

pub use order::structural_cmp;

/// Assumptions the simplifier may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimplifyOptions {
    /// Take every variable to be a positive integer (`≥ 1`), as schedule variables are.
    pub assume_positive_vars: bool,
}

impl SimplifyOptions {
    /// Options for schedule-variable expressions: every variable `≥ 1`.
    pub fn positive() -> Self {
        SimplifyOptions {
            assume_positive_vars: true,
        }
    }
}

/// Simplifies `id` with default options (no sign assumption on variables).
pub fn simplify(arena: &mut ExprArena, id: ExprId) -> ExprId {
    simplify_with(arena, id, SimplifyOptions::default())
}

/// Simplifies `id` under `opts`.
pub fn simplify_with(arena: &mut ExprArena, id: ExprId, opts: SimplifyOptions) -> ExprId {
    simplify_many_with(arena, &[id], opts)[0]
}

/// Simplifies several roots with default options, sharing work across them.
pub fn simplify_many(arena: &mut ExprArena, roots: &[ExprId]) -> Vec<ExprId> {
    simplify_many_with(arena, roots, SimplifyOptions::default())
}

/// Simplifies several roots under `opts`; a sub-DAG shared by several roots is simplified
/// once. Results are interned in `arena` (which only grows).
///
/// # Panics
///
/// If a root is not an id of `arena` (a programming error, as for [`ExprArena::get`]);
/// the same holds for every simplify function.
pub fn simplify_many_with(
    arena: &mut ExprArena,
    roots: &[ExprId],
    opts: SimplifyOptions,
) -> Vec<ExprId> {
    let mut s = Simplifier::new(arena, opts);
    s.run(roots)
}

/// Size of the DAG below `roots`: the number of distinct reachable nodes.
pub fn dag_size(arena: &ExprArena, roots: &[ExprId]) -> usize {
    arena.reachable(roots).len()
}

const NONE: u32 = u32::MAX;

/// The simplifier's state for one call: the memo from input ids to canonical ids and the
/// facts (sign, integrality) of canonical nodes.
pub(crate) struct Simplifier<'a> {
    arena: &'a mut ExprArena,
    opts: SimplifyOptions,
    memo: Vec<u32>,
    facts: Vec<facts::Facts>,
}

impl<'a> Simplifier<'a> {
    fn new(arena: &'a mut ExprArena, opts: SimplifyOptions) -> Self {
        let n = arena.len();
        Simplifier {
            arena,
            opts,
            memo: vec![NONE; n],
            facts: vec![facts::Facts::UNKNOWN; n],
        }
    }

    /// Interns a node whose children are canonical and which is itself canonical, records
    /// it as a fixpoint and computes its facts.
    fn make(&mut self, node: Expr) -> ExprId {
        let id = self.arena.intern(node);
        let i = id.index();
        if i >= self.memo.len() {
            self.memo.resize(i + 1, NONE);
            self.facts.resize(i + 1, facts::Facts::UNKNOWN);
        }
        self.memo[i] = id.0;
        if !self.facts[i].known() {
            self.facts[i] = facts::compute(self.arena, &self.facts, self.opts, &node);
        }
        id
    }

    fn konst(&mut self, v: f64) -> ExprId {
        self.make(Expr::constant(v))
    }

    fn node(&self, id: ExprId) -> Expr {
        *self.arena.get(id)
    }

    fn as_const(&self, id: ExprId) -> Option<f64> {
        self.arena.as_const(id)
    }

    fn canon(&self, id: ExprId) -> ExprId {
        ExprId(self.memo[id.index()])
    }
}
