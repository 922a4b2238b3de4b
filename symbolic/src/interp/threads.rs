//! The GPU thread model of the interpreter: thread contexts and phase-by-phase execution.

use super::compile::CStmt;
use super::machine::Machine;
use crate::{Result, SymbolicError};

/// The state of one GPU thread between phases.
pub(super) struct Thread {
    vars: Vec<i64>,
    locals: Vec<Vec<f32>>,
}

impl Machine<'_> {
    fn swap(&mut self, t: &mut Thread) {
        std::mem::swap(&mut self.vars, &mut t.vars);
        for (k, &b) in self.private.iter().enumerate() {
            std::mem::swap(&mut self.mem[b], &mut t.locals[k]);
        }
    }

    pub(super) fn group(&mut self, s: &CStmt) -> Result<()> {
        let mut nest: Vec<(usize, i64)> = Vec::new();
        let mut allocs: Vec<usize> = Vec::new();
        let mut cur = s;
        let body = loop {
            let CStmt::Loop {
                var,
                extent,
                body,
                allocs: a,
                ..
            } = cur
            else {
                return Err(SymbolicError::Interp("malformed thread nest".into()));
            };
            nest.push((*var, *extent));
            allocs.extend(a);
            match body.as_slice() {
                [inner @ CStmt::Loop { thread: true, .. }] => cur = inner,
                _ => break body,
            }
        };
        let count: i64 = nest.iter().map(|&(_, e)| e).product();
        let mut threads: Vec<Thread> = Vec::with_capacity(count as usize);
        for t in 0..count {
            let mut vars = self.vars.clone();
            let mut rest = t;
            for &(v, e) in nest.iter().rev() {
                vars[v] = rest % e;
                rest /= e;
            }
            let locals = self
                .private
                .iter()
                .map(|&b| vec![f32::NAN; self.sizes[b]])
                .collect();
            threads.push(Thread { vars, locals });
        }
        self.in_group = true;
        self.races.epoch += 1;
        let r = self.phases(body, &mut threads);
        self.races.epoch += 1;
        self.in_group = false;
        r
    }

    fn phases(&mut self, body: &[CStmt], threads: &mut [Thread]) -> Result<()> {
        let mut rest = body;
        while !rest.is_empty() {
            // A maximal run of barrier-free statements runs thread after thread.
            let run = rest.iter().take_while(|s| !s.has_barrier()).count();
            if run > 0 {
                for (i, t) in threads.iter_mut().enumerate() {
                    self.tid = i as u32;
                    self.swap(t);
                    let r = self.exec(&rest[..run]);
                    self.swap(t);
                    r?;
                }
                rest = &rest[run..];
                continue;
            }
            let s = &rest[0];
            rest = &rest[1..];
            match s {
                CStmt::Barrier => self.races.epoch += 1,
                CStmt::Loop {
                    thread: false,
                    var,
                    extent,
                    allocs,
                    body,
                    ..
                } => {
                    for it in 0..*extent {
                        for t in threads.iter_mut() {
                            t.vars[*var] = it;
                            for &b in allocs {
                                if let Some(l) = t.locals.get_mut(self.slot[b]) {
                                    l.iter_mut().for_each(|x| *x = f32::NAN);
                                }
                            }
                        }
                        self.phases(body, threads)?;
                    }
                }
                CStmt::If { cond, then, .. } => {
                    let mut taken = None;
                    for (i, t) in threads.iter_mut().enumerate() {
                        self.tid = i as u32;
                        self.swap(t);
                        let c = self.expr(cond);
                        self.swap(t);
                        let c = c? != 0;
                        if taken.is_some_and(|x| x != c) {
                            return Err(SymbolicError::Interp(
                                "a condition around a barrier differs between threads of a block"
                                    .into(),
                            ));
                        }
                        taken = Some(c);
                    }
                    if taken == Some(true) {
                        self.phases(then, threads)?;
                    }
                }
                _ => {
                    return Err(SymbolicError::Interp(
                        "barrier inside a thread loop nested in a thread nest".into(),
                    ))
                }
            }
        }
        Ok(())
    }
}
