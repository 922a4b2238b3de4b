//! [`Assignment`]: integer values for the variables of a [`Space`], with a canonical text
//! form `sp_0_0=4,sp_0_1=2,unroll=64` (space order, no spaces) that parses back.

use std::fmt;
use std::sync::Arc;

use super::Space;
use crate::{ExprArena, Result, SymbolicError, Var};

/// Integer values for every variable of a [`Space`], in the space's variable order, with
/// the variables' names. Cheap to clone (variables and names are shared with the space).
///
/// Serialised (serde) as a list of `{var, name, value}` entries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "Vec<Entry>", try_from = "Vec<Entry>")]
pub struct Assignment {
    vars: Arc<[Var]>,
    names: Arc<[String]>,
    values: Vec<u64>,
}

/// One serialised entry of an [`Assignment`].
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Entry {
    var: Var,
    name: String,
    value: u64,
}

impl From<Assignment> for Vec<Entry> {
    fn from(a: Assignment) -> Self {
        (0..a.len())
            .map(|i| Entry {
                var: a.vars[i],
                name: a.names[i].clone(),
                value: a.values[i],
            })
            .collect()
    }
}

impl TryFrom<Vec<Entry>> for Assignment {
    type Error = SymbolicError;
    fn try_from(entries: Vec<Entry>) -> Result<Self> {
        let vars: Vec<Var> = entries.iter().map(|e| e.var).collect();
        for (i, v) in vars.iter().enumerate() {
            if vars[..i].contains(v) {
                return Err(SymbolicError::AssignmentMismatch(format!(
                    "variable {} (`{}`) appears twice",
                    v.0, entries[i].name
                )));
            }
        }
        let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
        let values = entries.iter().map(|e| e.value).collect();
        Ok(Assignment {
            vars: vars.into(),
            names: names.into(),
            values,
        })
    }
}

impl Assignment {
    /// The variables, in space order.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// The variables' names, in space order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The values, in space order.
    pub fn values(&self) -> &[u64] {
        &self.values
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the assignment has no variable.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of `var`, if it is assigned.
    pub fn value(&self, var: Var) -> Option<u64> {
        self.vars
            .iter()
            .position(|&v| v == var)
            .map(|i| self.values[i])
    }

    /// The value of the variable called `name`, if it is assigned.
    pub fn value_of(&self, name: &str) -> Option<u64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }

    /// Writes every value at its [`Var::index`] in `out` (other entries are untouched).
    pub fn write_values(&self, out: &mut [f64]) -> Result<()> {
        for (&v, &x) in self.vars.iter().zip(&self.values) {
            let len = out.len();
            *out.get_mut(v.index()).ok_or_else(|| {
                SymbolicError::InvalidRef(format!("variable {} beyond values of length {len}", v.0))
            })? = x as f64;
        }
        Ok(())
    }

    /// A values vector sized to `arena.num_vars()`, with this assignment's values at their
    /// variables' indices and `0.0` elsewhere (for exact evaluation).
    pub fn values_vec(&self, arena: &ExprArena) -> Result<Vec<f64>> {
        let mut out = vec![0.0; arena.num_vars()];
        self.write_values(&mut out)?;
        Ok(out)
    }

    /// Parses `name=value,name=value,…` into pairs (syntax only; whitespace around names and
    /// values is allowed, the empty text is the empty list). Errors give the byte offset.
    pub fn parse_pairs(text: &str) -> Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        if text.trim().is_empty() {
            return Ok(out);
        }
        let mut pos = 0;
        for item in text.split(',') {
            let Some(eq) = item.find('=') else {
                return Err(parse_err(
                    pos,
                    format!("expected `name=value`, found `{item}`"),
                ));
            };
            let name = item[..eq].trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(parse_err(
                    pos,
                    format!("bad variable name `{}`", &item[..eq]),
                ));
            }
            let raw = &item[eq + 1..];
            let value = raw.trim();
            let vpos = pos + eq + 1 + (raw.len() - raw.trim_start().len());
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(parse_err(
                    vpos,
                    format!("value of `{name}` must be a non-negative integer, found `{value}`"),
                ));
            }
            let value: u64 = value
                .parse()
                .map_err(|_| parse_err(vpos, format!("value of `{name}` overflows u64")))?;
            out.push((name.to_string(), value));
            pos += item.len() + 1;
        }
        Ok(out)
    }
}

fn parse_err(pos: usize, msg: String) -> SymbolicError {
    SymbolicError::Parse { pos, msg }
}

/// The canonical text form: `name=value` pairs in space order, joined by `,`.
impl fmt::Display for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (n, v)) in self.names.iter().zip(&self.values).enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{n}={v}")?;
        }
        Ok(())
    }
}

impl Space {
    /// An assignment with `values` in [`Space::vars`] order (not checked for legality; see
    /// [`Space::check`]).
    pub fn assignment(&self, values: &[u64]) -> Result<Assignment> {
        if values.len() != self.num_vars() {
            return Err(SymbolicError::AssignmentMismatch(format!(
                "{} values for a space of {} variables",
                values.len(),
                self.num_vars()
            )));
        }
        Ok(Assignment {
            vars: self.vars.clone(),
            names: self.names.clone(),
            values: values.to_vec(),
        })
    }

    /// An assignment from `(name, value)` pairs in any order; every space variable must appear
    /// exactly once and no other name may appear. Not checked for legality.
    pub fn assignment_from_pairs(&self, pairs: &[(String, u64)]) -> Result<Assignment> {
        let mut values: Vec<Option<u64>> = vec![None; self.num_vars()];
        for (name, value) in pairs {
            let Some(i) = self.names.iter().position(|n| n == name) else {
                return Err(SymbolicError::AssignmentMismatch(format!(
                    "unknown variable `{name}` (space has: {})",
                    self.names.join(", ")
                )));
            };
            if values[i].replace(*value).is_some() {
                return Err(SymbolicError::AssignmentMismatch(format!(
                    "variable `{name}` given twice"
                )));
            }
        }
        let missing: Vec<&str> = (0..values.len())
            .filter(|&i| values[i].is_none())
            .map(|i| self.names[i].as_str())
            .collect();
        if !missing.is_empty() {
            return Err(SymbolicError::AssignmentMismatch(format!(
                "missing variable(s) {}",
                missing.join(", ")
            )));
        }
        let values: Vec<u64> = values.into_iter().flatten().collect();
        self.assignment(&values)
    }

    /// Parses the text form (see [`Assignment::parse_pairs`]) against this space. Not checked
    /// for legality: use [`Space::check`].
    pub fn parse_assignment(&self, text: &str) -> Result<Assignment> {
        self.assignment_from_pairs(&Assignment::parse_pairs(text)?)
    }

    /// Errors unless `a` has exactly this space's variables and names, in order.
    pub(super) fn check_shape(&self, a: &Assignment) -> Result<()> {
        if a.vars[..] != self.vars[..] || a.names[..] != self.names[..] {
            return Err(SymbolicError::AssignmentMismatch(format!(
                "assignment over [{}] used with a space over [{}]",
                a.names.join(", "),
                self.names.join(", ")
            )));
        }
        Ok(())
    }
}
