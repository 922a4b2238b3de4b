//! The well-formedness checks of a [`LoopTree`] ([`LoopTree::verify`]).

use super::{AllocSite, BufferId, BufferRole, Loop, LoopKind, LoopTree, Scope, Stmt, Value};
use crate::expr::{ExprId, Var};
use crate::{Result, SymbolicError};

fn err<T>(msg: String) -> Result<T> {
    Err(SymbolicError::Verify(msg))
}

struct Ctx<'a> {
    tree: &'a LoopTree,
    gpu: bool,
    /// Enclosing loops, outermost first.
    loops: Vec<&'a Loop>,
    /// Enclosing `If` conditions.
    guards: Vec<ExprId>,
    /// Outermost thread loops seen in the current kernel (outermost block loop).
    thread_nests: usize,
    output_written: bool,
    /// Inside one of the tree's prepare statements.
    in_prepare: bool,
}

impl LoopTree {
    /// Checks that the tree is well formed; the error names the first problem found.
    ///
    /// Checks: expression and buffer ids belong to the tree; buffer names are unique;
    /// inputs are numbered `0..n`, exactly one output, arguments are global; shapes and loop
    /// extents use only schedule variables; every variable of an index, guard or value is
    /// bound by an enclosing loop or is a schedule variable; no loop variable is a schedule
    /// variable or is bound twice on a path; index arity equals buffer rank; inputs are never
    /// written and the output is written; the GPU nesting rules of the module documentation;
    /// barriers only inside a thread loop, not inside a parallel or vectorized loop nor under
    /// an `If` whose condition depends on a thread index; shared buffers only inside a block
    /// loop and (GPU) local buffers only inside a thread loop; no parallel loop inside another;
    /// prepared buffers are written only by the prepare statements, which read only inputs and
    /// prepared buffers, and only in CPU trees.
    pub fn verify(&self) -> Result<()> {
        let nvars = self.exprs.num_vars();
        if let Some(v) = self.schedule_vars.iter().find(|v| v.index() >= nvars) {
            return err(format!(
                "schedule variable #{} is not declared in the arena",
                v.0
            ));
        }
        self.verify_buffers()?;
        let gpu = self.is_gpu();
        let mut ctx = Ctx {
            tree: self,
            gpu,
            loops: Vec::new(),
            guards: Vec::new(),
            thread_nests: 0,
            output_written: false,
            in_prepare: false,
        };
        let split = self.prepare_len();
        if split > 0 && gpu {
            return err("a GPU tree has prepare statements".into());
        }
        ctx.in_prepare = true;
        ctx.stmts(&self.body[..split])?;
        ctx.in_prepare = false;
        ctx.stmts(&self.body[split..])?;
        if !ctx.output_written {
            return err("the output buffer is never written".into());
        }
        self.verify_alloc_sites(gpu)
    }

    fn verify_buffers(&self) -> Result<()> {
        let mut inputs = Vec::new();
        let mut outputs = 0;
        for (i, b) in self.buffers.iter().enumerate() {
            if self.buffers[..i].iter().any(|o| o.name == b.name) {
                return err(format!("two buffers are called `{}`", b.name));
            }
            match b.role {
                BufferRole::Input(k) => inputs.push(k),
                BufferRole::Output => outputs += 1,
                BufferRole::Temp | BufferRole::Prepared => {}
            }
            if b.role != BufferRole::Temp && b.scope != Scope::Global {
                return err(format!("argument buffer `{}` must be global", b.name));
            }
            for &e in &b.shape {
                self.check_schedule_only(e, &format!("shape of buffer `{}`", b.name))?;
            }
        }
        inputs.sort_unstable();
        if inputs.iter().enumerate().any(|(i, &k)| i != k) {
            return err(format!(
                "input numbers {inputs:?} are not 0..{}",
                inputs.len()
            ));
        }
        if outputs != 1 {
            return err(format!("{outputs} output buffers (need exactly one)"));
        }
        Ok(())
    }

    fn check_id(&self, e: ExprId, what: &str) -> Result<()> {
        self.exprs.try_get(e).map(|_| ()).map_err(|_| {
            SymbolicError::Verify(format!("{what}: expression id {} is not in the arena", e.0))
        })
    }

    fn check_schedule_only(&self, e: ExprId, what: &str) -> Result<()> {
        self.check_id(e, what)?;
        match self
            .exprs
            .free_vars(&[e])
            .into_iter()
            .find(|v| !self.is_schedule_var(*v))
        {
            Some(v) => err(format!(
                "{what} uses `{}`, which is not a schedule variable",
                self.exprs.var_name(v)
            )),
            None => Ok(()),
        }
    }

    fn verify_alloc_sites(&self, gpu: bool) -> Result<()> {
        let loops = self.loops();
        for (b, site) in self.buffers.iter().zip(self.alloc_sites()) {
            match (b.scope, site) {
                (Scope::Shared, AllocSite::Missing) => {
                    return err(format!(
                        "shared buffer `{}` is used outside a block loop",
                        b.name
                    ))
                }
                (Scope::Local, site) if gpu => {
                    let in_thread = match site {
                        AllocSite::Loop(id) => loops.get(id.0).is_some_and(|l| {
                            l.lp.kind.is_thread() || l.path.iter().any(|p| p.kind.is_thread())
                        }),
                        AllocSite::Unused => true,
                        _ => false,
                    };
                    if !in_thread {
                        return err(format!(
                            "local buffer `{}` is not allocated inside a thread loop",
                            b.name
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl<'a> Ctx<'a> {
    fn name(&self, v: Var) -> &str {
        self.tree.exprs.var_name(v)
    }

    fn bound(&self, e: ExprId, what: &str) -> Result<()> {
        self.tree.check_id(e, what)?;
        for v in self.tree.exprs.free_vars(&[e]) {
            if !self.tree.is_schedule_var(v) && !self.loops.iter().any(|l| l.var == v) {
                return err(format!(
                    "{what} uses `{}`, which is not bound by an enclosing loop",
                    self.name(v)
                ));
            }
        }
        Ok(())
    }

    fn access(&self, buffer: BufferId, index: &[ExprId], what: &str) -> Result<()> {
        let Some(b) = self.tree.buffers.get(buffer.index()) else {
            return err(format!("{what} refers to missing buffer #{}", buffer.0));
        };
        if b.shape.len() != index.len() {
            return err(format!(
                "{what} of `{}` has {} indices, the buffer has rank {}",
                b.name,
                index.len(),
                b.shape.len()
            ));
        }
        for &e in index {
            self.bound(e, &format!("{what} of `{}`", b.name))?;
        }
        Ok(())
    }

    fn value(&self, v: &Value) -> Result<()> {
        for (b, idx) in v.loads() {
            self.access(b, idx, "load")?;
        }
        let mut res = Ok(());
        v.visit(&mut |x| {
            if let (Ok(()), Value::Select { cond: e, .. } | Value::Index(e)) = (&res, x) {
                res = self.bound(*e, "value expression");
            }
        });
        res
    }

    fn in_kind(&self, f: impl Fn(LoopKind) -> bool) -> bool {
        self.loops.iter().any(|l| f(l.kind))
    }

    fn stmts(&mut self, body: &'a [Stmt]) -> Result<()> {
        for s in body {
            match s {
                Stmt::Loop(lp) => self.lp(lp)?,
                Stmt::If { cond, then } => {
                    self.bound(*cond, "if condition")?;
                    self.guards.push(*cond);
                    self.stmts(then)?;
                    self.guards.pop();
                }
                Stmt::Barrier => self.barrier()?,
                Stmt::Store(st) => {
                    self.access(st.buffer, &st.index, "store")?;
                    self.value(&st.value)?;
                    let b = self.tree.buffer(st.buffer);
                    match b.role {
                        BufferRole::Input(_) => {
                            return err(format!("input `{}` is written", b.name))
                        }
                        BufferRole::Output => self.output_written = true,
                        BufferRole::Temp => {}
                        BufferRole::Prepared if !self.in_prepare => {
                            return err(format!(
                                "prepared `{}` is written outside the prepare statements",
                                b.name
                            ))
                        }
                        BufferRole::Prepared => {}
                    }
                    if self.in_prepare {
                        let tree = self.tree;
                        let bad = st.value.loads().into_iter().find(|(l, _)| {
                            !matches!(
                                tree.buffers.get(l.index()).map(|b| b.role),
                                Some(BufferRole::Input(_) | BufferRole::Prepared)
                            )
                        });
                        if let Some((l, _)) = bad {
                            return err(format!(
                                "prepare statement reads `{}`, which is not an input",
                                tree.buffer(l).name
                            ));
                        }
                    }
                    if self.gpu && !self.in_kind(LoopKind::is_thread) {
                        return err(format!(
                            "store to `{}` is outside a thread loop in a GPU tree",
                            b.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        if !self.in_kind(LoopKind::is_thread) {
            return err("barrier outside a thread loop".into());
        }
        if self.in_kind(|k| matches!(k, LoopKind::Parallel | LoopKind::Vectorized)) {
            return err("barrier inside a parallel or vectorized loop".into());
        }
        let thread_vars: Vec<Var> = self
            .loops
            .iter()
            .filter(|l| l.kind.is_thread())
            .map(|l| l.var)
            .collect();
        for &g in &self.guards {
            if let Some(v) = self
                .tree
                .exprs
                .free_vars(&[g])
                .into_iter()
                .find(|v| thread_vars.contains(v))
            {
                return err(format!(
                    "barrier under a condition that depends on thread index `{}`",
                    self.name(v)
                ));
            }
        }
        Ok(())
    }

    fn lp(&mut self, lp: &'a Loop) -> Result<()> {
        let name = self.name(lp.var).to_string();
        let what = format!("extent of loop `{name}`");
        self.tree.check_schedule_only(lp.extent, &what)?;
        if let Some(u) = lp.unroll_max_step {
            self.tree
                .check_schedule_only(u, &format!("unroll_max_step of loop `{name}`"))?;
        }
        if self.tree.is_schedule_var(lp.var) {
            return err(format!("loop variable `{name}` is a schedule variable"));
        }
        if self.loops.iter().any(|l| l.var == lp.var) {
            return err(format!("loop variable `{name}` is bound twice on one path"));
        }
        let parent = self.loops.last().map(|l| l.kind);
        let has = |f: fn(LoopKind) -> bool| {
            lp.body
                .iter()
                .any(|s| matches!(s, Stmt::Loop(l) if f(l.kind)))
        };
        match lp.kind {
            LoopKind::BlockIdx(a) => {
                if self.loops.iter().any(|l| !l.kind.is_block()) || !self.guards.is_empty() {
                    return err(format!(
                        "block loop `{name}` is nested inside a non-block loop or an if"
                    ));
                }
                if self.loops.iter().any(|l| l.kind == LoopKind::BlockIdx(a)) {
                    return err(format!("block loop `{name}` repeats axis {}", a.name()));
                }
                if self.loops.is_empty() {
                    self.thread_nests = 0;
                }
                if has(LoopKind::is_block) && lp.body.len() != 1 {
                    return err(format!(
                        "block loop `{name}` has statements beside its inner block loop"
                    ));
                }
            }
            LoopKind::ThreadIdx(a) => {
                if !self.in_kind(LoopKind::is_block) {
                    return err(format!("thread loop `{name}` is not inside a block loop"));
                }
                if self.in_kind(|k| k == LoopKind::ThreadIdx(a)) {
                    return err(format!("thread loop `{name}` repeats axis {}", a.name()));
                }
                if self.in_kind(LoopKind::is_thread) {
                    if !parent.is_some_and(LoopKind::is_thread) {
                        return err(format!(
                            "thread loop `{name}` is not perfectly nested in its outer thread loop"
                        ));
                    }
                } else {
                    self.thread_nests += 1;
                    if self.thread_nests > 1 {
                        return err(format!(
                            "thread loop `{name}` starts a second thread nest in one kernel"
                        ));
                    }
                }
                if has(LoopKind::is_thread) && lp.body.len() != 1 {
                    return err(format!(
                        "thread loop `{name}` has statements beside its inner thread loop"
                    ));
                }
            }
            LoopKind::Parallel => {
                if self.gpu {
                    return err(format!("parallel loop `{name}` in a GPU tree"));
                }
                if self.in_kind(|k| k == LoopKind::Parallel) {
                    return err(format!(
                        "parallel loop `{name}` is nested in another parallel loop"
                    ));
                }
            }
            _ => {}
        }
        self.loops.push(lp);
        let r = self.stmts(&lp.body);
        self.loops.pop();
        r
    }
}
