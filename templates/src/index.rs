//! Affine index expressions over a stage's axes, and guards.

use crate::compute::AxisId;

/// One term `coef · axis` of an affine index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Term {
    /// The axis.
    pub axis: AxisId,
    /// Its coefficient (non-zero).
    pub coef: i64,
}

/// An index `(Σ coef·axis + offset) / div`. With `div > 1` the index is
/// valid only where the numerator is divisible by `div` (transposed conv);
/// elsewhere the access yields its pad value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexExpr {
    /// Linear terms.
    pub terms: Vec<Term>,
    /// Constant offset.
    pub offset: i64,
    /// Exact divisor (1: none).
    pub div: i64,
}

impl IndexExpr {
    /// The index `axis`.
    pub fn axis(axis: AxisId) -> IndexExpr {
        IndexExpr {
            terms: vec![Term { axis, coef: 1 }],
            offset: 0,
            div: 1,
        }
    }

    /// The constant `c`.
    pub fn constant(c: i64) -> IndexExpr {
        IndexExpr {
            terms: vec![],
            offset: c,
            div: 1,
        }
    }

    /// `Σ coef·axis + offset` (zero coefficients are dropped).
    pub fn affine(terms: &[(AxisId, i64)], offset: i64) -> IndexExpr {
        let terms = terms
            .iter()
            .filter(|(_, c)| *c != 0)
            .map(|&(axis, coef)| Term { axis, coef })
            .collect();
        IndexExpr {
            terms,
            offset,
            div: 1,
        }
    }

    /// Value at the given axis values: `Some(index)` when exact, `None` when
    /// `div` does not divide the numerator.
    pub fn eval(&self, axes: &[i64]) -> Option<i64> {
        let num = self
            .terms
            .iter()
            .fold(self.offset, |s, t| s + t.coef * axes[t.axis]);
        if self.div == 1 {
            Some(num)
        } else if num.rem_euclid(self.div) == 0 {
            Some(num.div_euclid(self.div))
        } else {
            None
        }
    }

    /// The axes this index uses.
    pub fn axes(&self) -> impl Iterator<Item = AxisId> + '_ {
        self.terms.iter().map(|t| t.axis)
    }
}

/// A condition `lo <= index < hi` on axis values (used by `Select`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Guard {
    /// Affine index (its `div` must be 1).
    pub index: IndexExpr,
    /// Inclusive lower bound.
    pub lo: i64,
    /// Exclusive upper bound.
    pub hi: i64,
}
