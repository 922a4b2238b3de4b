//! Reference interpreter for concrete [`LoopTree`]s, so that lowering (sketch rules,
//! instantiation) is checked independently of code generation.
//!
//! Semantics: f32 storage and arithmetic (as in generated code); integer index arithmetic
//! (`floordiv`/`mod` floored, `/` only when exact). Parallel, vectorized, unrolled and
//! vthread loops run as serial loops; block loops run block after block. Within a block,
//! the perfect nest of thread loops creates one context per thread (its loop-variable
//! values and its private local buffers), and the nest's body runs *phase by phase*: each
//! maximal run of statements without a barrier inside runs for one thread after another
//! (innermost thread loop fastest), and a statement with barriers inside (a serial loop, an
//! `if` with a thread-uniform condition) is entered by all threads together. This is one
//! legal interleaving of the threads between barriers, so a race-free program gets its
//! exact result. Races on shared buffers (an element written by one thread and read or
//! written by another with no barrier between: a missing barrier) are detected and are
//! errors. Buffers are allocated by the rule of [`crate::looptree`] and filled with NaN, so
//! reading an element never written shows up as NaN. Errors (never panics):
//! out-of-bounds accesses ([`SymbolicError::OutOfBounds`]), output elements never written,
//! wrong input sizes, data races on shared buffers, a barrier under a condition that
//! differs between threads ([`SymbolicError::Interp`]), integer division by zero.

mod compile;
mod machine;
mod race;
mod scalar;
mod threads;

use compile::compile;
use machine::Machine;
pub(crate) use machine::ProgErr;

use crate::looptree::{LoopTree, Scope};
use crate::{Result, SymbolicError};

/// Largest buffer the interpreter allocates (elements).
pub const MAX_BUFFER_ELEMS: i64 = 1 << 28;

/// Runs the concrete tree `tree` on `inputs` (one row-major slice per input argument, in
/// order) and returns the output buffer (row-major).
///
/// The tree must verify ([`LoopTree::verify`]) and be concrete ([`LoopTree::is_concrete`]).
pub fn interpret(tree: &LoopTree, inputs: &[&[f32]]) -> Result<Vec<f32>> {
    tree.verify()?;
    if !tree.is_concrete() {
        return Err(SymbolicError::NotConcrete(format!(
            "`{}` must be instantiated before interpretation",
            tree.name
        )));
    }
    let prog = compile(tree)?;
    let ins = tree.inputs();
    if ins.len() != inputs.len() {
        return Err(SymbolicError::Interp(format!(
            "{} inputs given, `{}` takes {}",
            inputs.len(),
            tree.name,
            ins.len()
        )));
    }
    let sizes: Vec<usize> = prog
        .shapes
        .iter()
        .zip(&tree.buffers)
        .map(|(s, b)| {
            let n = s.iter().try_fold(1i64, |acc, &d| {
                acc.checked_mul(d).filter(|&n| n <= MAX_BUFFER_ELEMS)
            });
            n.map(|n| n as usize).ok_or_else(|| {
                SymbolicError::Interp(format!(
                    "buffer `{}` is larger than {MAX_BUFFER_ELEMS} elements",
                    b.name
                ))
            })
        })
        .collect::<Result<_>>()?;
    let mut mem: Vec<Vec<f32>> = sizes
        .iter()
        .zip(&prog.private)
        .map(|(&n, &p)| if p { Vec::new() } else { vec![f32::NAN; n] })
        .collect();
    for (k, (&b, data)) in ins.iter().zip(inputs).enumerate() {
        if data.len() != sizes[b.index()] {
            return Err(SymbolicError::Interp(format!(
                "input {k} (`{}`) has {} elements, expected {}",
                tree.buffer(b).name,
                data.len(),
                sizes[b.index()]
            )));
        }
        mem[b.index()] = data.to_vec();
    }
    let out = tree
        .output()
        .ok_or_else(|| SymbolicError::Interp("no output buffer".into()))?
        .index();
    let private: Vec<usize> = (0..sizes.len()).filter(|&b| prog.private[b]).collect();
    let mut slot = vec![usize::MAX; sizes.len()];
    for (k, &b) in private.iter().enumerate() {
        slot[b] = k;
    }
    let shared: Vec<bool> = tree
        .buffers
        .iter()
        .map(|b| b.scope == Scope::Shared)
        .collect();
    let m_sizes = sizes.clone();
    let mut m = Machine {
        tree,
        prog: &prog,
        vars: vec![0; tree.exprs.num_vars()],
        written: vec![false; sizes[out]],
        mem,
        out,
        sizes,
        private,
        slot,
        in_group: false,
        tid: 0,
        races: race::Races::new(&shared, &m_sizes),
    };
    m.exec(&prog.body)?;
    if let Some(first) = m.written.iter().position(|w| !w) {
        let index = unflatten(first as i64, &prog.shapes[out]);
        return Err(SymbolicError::Interp(format!(
            "output element {}{index:?} is never written",
            tree.buffers[out].name
        )));
    }
    Ok(std::mem::take(&mut m.mem[out]))
}

fn unflatten(mut off: i64, shape: &[i64]) -> Vec<i64> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = off % shape[d];
        off /= shape[d];
    }
    idx
}
