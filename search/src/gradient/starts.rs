//! The starting points of a [`GradientSearch`] descent: the measured elite, then the
//! model's favourites among uniform samples (step 1 of the [parent module](super)'s docs).

use ndarray::{Array2, Axis};
use rand_chacha::ChaCha8Rng;

use super::{GradientSearch, Screened};
use crate::objective::score_checked;
use crate::work::{screen_of, starts_of};
use crate::{Objective, Result};
use tilegrad_symbolic::Assignment;

impl GradientSearch {
    /// Legal starting points of sketch `sketch`, one per row, `⌈share · n_starts⌉` of them:
    /// its best measured assignments first (up to the elite share), then the model's
    /// favourites of `share · screen` uniform samples. Also returns every screened sample
    /// with its score if it was scored (for the candidate pool).
    pub(super) fn starts(
        &self,
        sketch: usize,
        obj: &dyn Objective,
        share: f64,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Array2<f64>, Vec<Screened>)> {
        let space = obj.space();
        let n = starts_of(&self.config, share);
        let n_elite = (self.config.elite_share * n as f64).round() as usize;
        let elite = self.elite(sketch, space).take(n_elite);
        let mut rows: Vec<Vec<f64>> = Vec::with_capacity(n);
        for (_, a, _) in elite {
            rows.push(space.encode(a)?);
        }
        let want = n - rows.len();
        let screen = screen_of(&self.config, share);
        let screened = self.screened(obj, screen, want, rng)?;
        for (a, _) in screened.iter().take(want) {
            rows.push(space.encode(a)?);
        }
        while rows.len() < n {
            rows.push(space.encode(&space.sample(rng)?)?);
        }
        let mut x = Array2::zeros((n, space.dim()));
        for (mut row, r) in x.axis_iter_mut(Axis(0)).zip(&rows) {
            row.assign(&ndarray::ArrayView1::from(r));
        }
        Ok((x, screened))
    }

    /// `max(screen, want)` uniform samples of `obj`'s space, distinct, best first by
    /// `predicted + κ·uncertainty` (those the model cannot score last, in draw order), with
    /// their scores; unscored, in draw order, when `screen ≤ want`.
    fn screened(
        &self,
        obj: &dyn Objective,
        screen: usize,
        want: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Screened>> {
        let space = obj.space();
        let n = screen.max(want);
        let mut keys = std::collections::HashSet::new();
        let mut drawn = Vec::with_capacity(n);
        for _ in 0..4 * n {
            if drawn.len() == n {
                break;
            }
            let a = space.sample(rng)?;
            if keys.insert(a.to_string()) {
                drawn.push(a);
            }
        }
        if screen <= want {
            return Ok(drawn.into_iter().map(|a| (a, None)).collect());
        }
        let scores = score_checked(obj, &drawn)?;
        let kappa = self.config.kappa;
        let fitness = |i: usize| {
            let s = &scores[i];
            let f = s.score + kappa * s.uncertainty;
            if s.legal && f.is_finite() {
                f
            } else {
                f64::NEG_INFINITY
            }
        };
        let mut order: Vec<usize> = (0..drawn.len()).collect();
        order.sort_by(|&i, &j| fitness(j).total_cmp(&fitness(i)));
        let mut slots: Vec<Option<Assignment>> = drawn.into_iter().map(Some).collect();
        Ok(order
            .into_iter()
            .filter_map(|i| slots[i].take().map(|a| (a, Some(scores[i]))))
            .collect())
    }
}
