//! Serde support for [`Space`]: a space is stored as its declarations in order (split groups
//! and choices, with their variables' indices and names) plus its linear constraints, and
//! rebuilt (and re-validated) from them on load. The variables' indices refer to the arena
//! the space was built against, which must be stored alongside.

use super::{Slot, Space};
use crate::{SymbolicError, Var};

/// One declaration of a stored space.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum StoredItem {
    /// A split group and its factor variables.
    Group {
        name: String,
        extent: u64,
        factors: Vec<(Var, String)>,
    },
    /// A choice variable.
    Choice {
        var: Var,
        name: String,
        values: Vec<u64>,
    },
}

/// One stored linear constraint.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct StoredConstraint {
    name: String,
    terms: Vec<(usize, f64)>,
    rhs: f64,
}

/// The serialised form of a [`Space`].
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct StoredSpace {
    items: Vec<StoredItem>,
    constraints: Vec<StoredConstraint>,
}

impl From<Space> for StoredSpace {
    fn from(s: Space) -> Self {
        let items = s
            .decls
            .iter()
            .map(|&d| match d {
                Slot::Factor { group, .. } => {
                    let g = &s.groups[group];
                    let factors = g
                        .factors
                        .iter()
                        .map(|&v| {
                            (
                                v,
                                s.names[s.vars.iter().position(|&w| w == v).unwrap_or(0)].clone(),
                            )
                        })
                        .collect();
                    StoredItem::Group {
                        name: g.name.clone(),
                        extent: g.extent,
                        factors,
                    }
                }
                Slot::Choice(c) => {
                    let ch = &s.choices[c];
                    let name =
                        s.names[s.vars.iter().position(|&w| w == ch.var).unwrap_or(0)].clone();
                    StoredItem::Choice {
                        var: ch.var,
                        name,
                        values: ch.values.clone(),
                    }
                }
            })
            .collect();
        let constraints = s
            .constraints
            .iter()
            .map(|c| StoredConstraint {
                name: c.name.clone(),
                terms: c.terms.clone(),
                rhs: c.rhs,
            })
            .collect();
        StoredSpace { items, constraints }
    }
}

impl TryFrom<StoredSpace> for Space {
    type Error = SymbolicError;
    fn try_from(stored: StoredSpace) -> crate::Result<Space> {
        let mut space = Space::new();
        for item in stored.items {
            match item {
                StoredItem::Group {
                    name,
                    extent,
                    factors,
                } => {
                    space.check_new_group(&name, extent)?;
                    for (i, (v, n)) in factors.iter().enumerate() {
                        space.check_new_var(n, Some(*v))?;
                        if factors[..i].iter().any(|(w, m)| w == v || m == n) {
                            return Err(SymbolicError::InvalidSpace(format!(
                                "variable `{n}` declared twice"
                            )));
                        }
                    }
                    space.insert_group(&name, extent, &factors);
                }
                StoredItem::Choice { var, name, values } => {
                    let vals = Space::check_choice_values(&name, &values)?;
                    space.check_new_var(&name, Some(var))?;
                    space.insert_choice(var, &name, vals);
                }
            }
        }
        for c in stored.constraints {
            space.add_linear_constraint(&c.name, &c.terms, c.rhs)?;
        }
        Ok(space)
    }
}
