//! Substitution of variables by expressions (instantiating schedules, renaming).

use std::collections::HashMap;

use crate::expr::{Expr, ExprArena, ExprId, Var};
use crate::simplify::{simplify_many_with, SimplifyOptions};

/// `id` with every variable `v` in `map` replaced by `map[v]`. Nodes that do not depend
/// on a replaced variable keep their ids; shared sub-DAGs are rebuilt once. No
/// simplification is done (see [`substitute_values`]).
///
/// # Panics
///
/// If `id` or a replacement is not an id of `arena` (a programming error).
pub fn substitute(arena: &mut ExprArena, id: ExprId, map: &HashMap<Var, ExprId>) -> ExprId {
    substitute_many(arena, &[id], map)[0]
}

/// [`substitute`] for several roots, sharing the rebuilt sub-DAGs.
pub fn substitute_many(
    arena: &mut ExprArena,
    roots: &[ExprId],
    map: &HashMap<Var, ExprId>,
) -> Vec<ExprId> {
    if map.is_empty() {
        return roots.to_vec();
    }
    let order = arena.reachable(roots);
    let mut new: Vec<ExprId> = (0..arena.len() as u32).map(ExprId).collect();
    for id in order {
        let m = |c: ExprId| new[c.index()];
        let node = match *arena.get(id) {
            Expr::Var(v) => match map.get(&v) {
                Some(&r) => {
                    new[id.index()] = r;
                    continue;
                }
                None => continue,
            },
            Expr::Const(_) => continue,
            Expr::Unary(op, a) => Expr::Unary(op, m(a)),
            Expr::Binary(op, a, b) => Expr::Binary(op, m(a), m(b)),
            Expr::Select(c, a, b) => Expr::Select(m(c), m(a), m(b)),
        };
        if node != *arena.get(id) {
            new[id.index()] = arena.intern(node);
        }
    }
    roots.iter().map(|r| new[r.index()]).collect()
}

/// Substitutes constants for variables (`values[v]`) in `roots`, then simplifies the
/// results with default options (no sign assumption, so variables left free may be loop
/// variables that can be 0): instantiates feature expressions at a schedule point or a
/// shape. See [`substitute_values_with`] to simplify under other options.
pub fn substitute_values(
    arena: &mut ExprArena,
    roots: &[ExprId],
    values: &HashMap<Var, f64>,
) -> Vec<ExprId> {
    substitute_values_with(arena, roots, values, SimplifyOptions::default())
}

/// [`substitute_values`] simplifying under `opts` (e.g. [`SimplifyOptions::positive`] when
/// the variables left free are all schedule variables).
pub fn substitute_values_with(
    arena: &mut ExprArena,
    roots: &[ExprId],
    values: &HashMap<Var, f64>,
    opts: SimplifyOptions,
) -> Vec<ExprId> {
    let map: HashMap<Var, ExprId> = values
        .iter()
        .map(|(&v, &x)| (v, arena.constant(x)))
        .collect();
    let subst = substitute_many(arena, roots, &map);
    simplify_many_with(arena, &subst, opts)
}
