//! Batch driver: chunks of rows in parallel, per-thread scratch reuse, per-row status.

use std::cell::RefCell;

use ndarray::parallel::prelude::*;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::slice::ParallelSliceMut;

use super::backward::backward_instr;
use super::forward::forward_instr;
use super::{Evaluation, Mode, RowStatus, Tape, CHUNK_ROWS};
use crate::relax::Relax;
use crate::{Result, SymbolicError};

thread_local! {
    /// Per-thread scratch (values, adjoints, temporaries), grown on demand and reused.
    static SCRATCH: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// One chunk's inputs and output windows.
struct Chunk<'a> {
    r0: usize,
    values: ArrayViewMut2<'a, f64>,
    grads: ArrayViewMut2<'a, f64>,
    status: &'a mut [RowStatus],
}

impl Tape {
    pub(super) fn run(
        &self,
        points: ArrayView2<f64>,
        mode: Mode,
        d_out: Option<ArrayView2<f64>>,
    ) -> Result<(Evaluation, Option<Array2<f64>>)> {
        if points.ncols() != self.num_columns() {
            return Err(SymbolicError::InvalidInput(format!(
                "points have {} columns, the tape has {}",
                points.ncols(),
                self.num_columns()
            )));
        }
        let rows = points.nrows();
        if let Some(d) = d_out {
            if d.dim() != (rows, self.num_outputs()) {
                return Err(SymbolicError::InvalidInput(format!(
                    "d_outputs is {:?}, expected ({rows}, {})",
                    d.dim(),
                    self.num_outputs()
                )));
            }
        }
        let rx = match mode {
            Mode::Exact => None,
            Mode::Relaxed { tau } if tau.is_finite() && tau > 0.0 => Some(Relax::new(tau)),
            Mode::Relaxed { tau } => {
                return Err(SymbolicError::InvalidInput(format!(
                    "temperature {tau} is not finite and positive"
                )))
            }
        };
        let mut values = Array2::zeros((rows, self.num_outputs()));
        let mut grads = Array2::zeros((
            rows,
            if d_out.is_some() {
                self.num_columns()
            } else {
                0
            },
        ));
        let mut status = vec![RowStatus::Finite; rows];
        values
            .axis_chunks_iter_mut(Axis(0), CHUNK_ROWS)
            .into_par_iter()
            .zip(
                grads
                    .axis_chunks_iter_mut(Axis(0), CHUNK_ROWS)
                    .into_par_iter(),
            )
            .zip(status.par_chunks_mut(CHUNK_ROWS))
            .enumerate()
            .for_each(|(ci, ((values, grads), status))| {
                let chunk = Chunk {
                    r0: ci * CHUNK_ROWS,
                    values,
                    grads,
                    status,
                };
                SCRATCH.with(|s| {
                    self.run_chunk(&mut s.borrow_mut(), points, d_out, rx.as_ref(), chunk)
                });
            });
        let grads = d_out.map(|_| grads);
        Ok((Evaluation { values, status }, grads))
    }

    fn run_chunk(
        &self,
        scratch: &mut Vec<f64>,
        points: ArrayView2<f64>,
        d_out: Option<ArrayView2<f64>>,
        rx: Option<&Relax>,
        chunk: Chunk,
    ) {
        let Chunk {
            r0,
            mut values,
            mut grads,
            status,
        } = chunk;
        let m = status.len();
        let c = CHUNK_ROWS;
        let span = self.n_slots * c;
        let need = if d_out.is_some() {
            2 * span + 3 * c
        } else {
            span
        };
        if scratch.len() < need {
            scratch.resize(need, 0.0);
        }
        let (val, rest) = scratch.split_at_mut(span);
        let pts = points.slice(s![r0..r0 + m, ..]);
        for (j, col) in pts.columns().into_iter().enumerate() {
            for (x, &p) in val[j * c..j * c + m].iter_mut().zip(col) {
                *x = p;
            }
        }
        for &(s, v) in &self.consts {
            val[s as usize * c..s as usize * c + m].fill(v);
        }
        for ins in &self.instrs {
            forward_instr(ins, val, c, m, rx);
        }
        for (r, (mut row, st)) in values
            .rows_mut()
            .into_iter()
            .zip(status.iter_mut())
            .enumerate()
        {
            for (x, &s) in row.iter_mut().zip(&self.outputs) {
                *x = val[s as usize * c + r];
            }
            if let Some(k) = row.iter().position(|x| !x.is_finite()) {
                *st = RowStatus::NonFiniteValue { output: k };
            }
        }
        let Some(d) = d_out else { return };
        let d = d.slice(s![r0..r0 + m, ..]);
        let (adj, tmp) = rest.split_at_mut(span);
        let ncol = self.num_columns();
        adj[..ncol * c].fill(0.0);
        for (k, (&s, &assign)) in self.outputs.iter().zip(&self.seed_assign).enumerate() {
            let x = &mut adj[s as usize * c..s as usize * c + m];
            for (x, &dk) in x.iter_mut().zip(d.column(k)) {
                *x = if assign { dk } else { *x + dk };
            }
        }
        for ins in self.instrs.iter().rev() {
            backward_instr(ins, val, adj, c, m, rx, tmp);
        }
        for (r, (mut row, st)) in grads
            .rows_mut()
            .into_iter()
            .zip(status.iter_mut())
            .enumerate()
        {
            for (j, g) in row.iter_mut().enumerate() {
                *g = adj[j * c + r];
            }
            if st.is_ok() {
                if let Some(j) = row.iter().position(|g| !g.is_finite()) {
                    *st = RowStatus::NonFiniteGradient { column: j };
                }
            }
            if !st.is_ok() {
                row.fill(0.0);
            }
        }
    }
}
