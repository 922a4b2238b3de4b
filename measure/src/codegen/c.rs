//! C code generation for concrete CPU loop trees.
//!
//! [`emit`] prints a concrete [`LoopTree`] as one C translation unit following the crate's
//! kernel ABI (`void entry(float *const *args)`, inputs then output; see [`crate::kernel`]):
//! * arguments become `float *restrict` aliases; temporaries are declared at their allocation
//!   site (the IR's allocation rule) as 64-byte aligned stack arrays, or heap arrays above
//!   [`HEAP_THRESHOLD_BYTES`];
//! * `Parallel` loops get `#pragma omp parallel for`, `Unrolled` loops and loop nests under an
//!   `unroll_max_step` budget get `#pragma GCC unroll N`;
//! * guards are simplified with an interval analysis of the loop variables (conditions that
//!   always hold are dropped), and a loop whose body is one `if` gets the condition hoisted:
//!   parts independent of the loop variable move outside the loop, linear bounds on the loop
//!   variable become its start and end, so inner loops have simple bounds;
//! * `Vectorized` loops use GCC vector types (`v8f` for AVX2) when every access is contiguous
//!   (stride 1) or invariant (broadcast) along the loop variable, with a scalar tail; other
//!   vectorized loops fall back to a scalar loop under `#pragma GCC ivdep`;
//! * a register tile (unrolled loops around one vectorized loop) under reduction loops is
//!   unrolled and jammed, and its accumulators are promoted to named vector locals that live
//!   across the reduction loops (loaded before them, stored after; see `c_promote`).
//!
//! The output depends only on the tree and the options (byte-stable, no timestamps).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use tilegrad_symbolic::looptree::{AllocSite, BufferId, BufferRole, Loop, Scope, Stmt};
use tilegrad_symbolic::{LoopTree, Var};

use crate::MeasureError;

/// Temporaries larger than this many bytes are heap allocated (`aligned_alloc`).
pub const HEAP_THRESHOLD_BYTES: i64 = 128 * 1024;

/// Code generation options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct COptions {
    /// SIMD register width in bytes (16 SSE, 32 AVX2, 64 AVX-512); below 8, or not a power of
    /// two, vectorized loops are printed as scalar loops.
    pub simd_bytes: u32,
}

impl Default for COptions {
    /// AVX2 (32-byte vectors).
    fn default() -> Self {
        COptions { simd_bytes: 32 }
    }
}

/// The C source of the concrete tree `tree` with default options; `entry` names the exported
/// function.
pub fn emit(tree: &LoopTree, entry: &str) -> Result<String, MeasureError> {
    emit_with(tree, entry, &COptions::default())
}

/// The C source of the concrete tree `tree`. Errors ([`MeasureError::Invalid`]): the tree does
/// not verify, is not concrete, is a GPU tree or uses shared memory, an index uses `exp`/`log`,
/// or `entry` is not a C identifier.
pub fn emit_with(tree: &LoopTree, entry: &str, opts: &COptions) -> Result<String, MeasureError> {
    let invalid = |m: String| MeasureError::Invalid(format!("codegen: {m}"));
    tree.verify().map_err(|e| invalid(e.to_string()))?;
    if !tree.is_concrete() {
        return Err(invalid(format!("`{}` is not concrete", tree.name)));
    }
    if tree.is_gpu() {
        return Err(invalid(format!("`{}` is a GPU tree", tree.name)));
    }
    if let Some(b) = tree.buffers.iter().find(|b| b.scope == Scope::Shared) {
        return Err(invalid(format!("shared buffer `{}` in a CPU tree", b.name)));
    }
    let ident_ok = entry
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && entry.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ident_ok {
        return Err(invalid(format!("entry `{entry}` is not a C identifier")));
    }
    let mut em = Emitter::new(tree, opts)?;
    em.names.insert(entry.to_string());
    em.names.insert(prepare_entry(entry));
    em.indent = 1;
    let split = tree.prepare_len();
    em.stmts(&tree.body[..split])?;
    let prepare = std::mem::take(&mut em.out);
    for b in em.program_allocs.clone() {
        em.declare(b);
    }
    em.stmts(&tree.body[split..])?;
    for b in em.program_allocs.clone().into_iter().rev() {
        em.release(b);
    }
    Ok(em.finish(entry, (split > 0).then_some(prepare)))
}

/// The length in `f32`s of each prepared buffer of the concrete tree `tree`, in argument order
/// (0 for a shape that is not concrete).
pub fn prepared_lens(tree: &LoopTree) -> Vec<usize> {
    tree.prepared()
        .into_iter()
        .map(|b| {
            tree.const_shape(b)
                .map_or(0, |sh| sh.iter().product::<i64>().max(0) as usize)
        })
        .collect()
}

/// The name of the function that fills the prepared buffers of kernel `entry` (see the kernel
/// ABI in [`crate::kernel`]).
pub fn prepare_entry(entry: &str) -> String {
    format!("{entry}_prepare")
}

/// The state of one emission (shared by the `c_*` modules).
pub(super) struct Emitter<'t> {
    pub(super) tree: &'t LoopTree,
    /// Lanes of the vector type (0 = no vectors).
    pub(super) lanes: usize,
    pub(super) out: String,
    pub(super) indent: usize,
    pub(super) buf_names: Vec<String>,
    var_names: Vec<Option<String>>,
    pub(super) names: HashSet<String>,
    /// Concrete shape and row-major strides of every buffer.
    pub(super) shapes: Vec<Vec<i64>>,
    pub(super) strides: Vec<Vec<i64>>,
    /// Range of every loop variable in scope, indexed by variable.
    pub(super) bounds: Vec<Option<(i64, i64)>>,
    /// While set, this variable keeps this range even where `bounds` pins it to one value
    /// (to classify accesses of an explicitly unrolled vector loop).
    pub(super) keep: Cell<Option<(Var, (i64, i64))>>,
    /// The vector variable (and its full range) of an explicitly unrolled vector loop.
    pub(super) lane_var: Cell<Option<(Var, (i64, i64))>>,
    /// Input loads of an explicitly unrolled block, named once: `(expression, name)`.
    pub(super) cse: RefCell<Option<Vec<(String, String)>>>,
    pub(super) loop_ids: HashMap<*const Loop, usize>,
    pub(super) allocs: HashMap<usize, Vec<BufferId>>,
    program_allocs: Vec<BufferId>,
    /// Remaining `unroll_max_step` budget of the enclosing annotated loop.
    pub(super) unroll_budget: Option<i64>,
    pub(super) uses_omp: bool,
    /// Inside a promoted nest: the accumulated buffers and `(store target, accumulator)`.
    #[allow(clippy::type_complexity)]
    pub(super) promoted: RefCell<Option<(Vec<BufferId>, Vec<(String, String)>)>>,
    /// The register tile of the promoted nest (printed unrolled and jammed).
    pub(super) promote_tile: Cell<Option<*const Loop>>,
}

const RESERVED: &[&str] = &[
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "args",
    "main",
    "free",
    "aligned_alloc",
    "v4f",
    "v8f",
    "v16f",
    "v4i",
    "v8i",
    "v16i",
];

fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

impl<'t> Emitter<'t> {
    fn new(tree: &'t LoopTree, opts: &COptions) -> Result<Self, MeasureError> {
        let shapes: Vec<Vec<i64>> = (0..tree.buffers.len())
            .map(|b| {
                tree.const_shape(BufferId(b as u32)).ok_or_else(|| {
                    MeasureError::Invalid(format!("codegen: buffer {b} has no concrete shape"))
                })
            })
            .collect::<Result<_, _>>()?;
        let strides = shapes
            .iter()
            .map(|s| {
                let mut st = vec![1i64; s.len()];
                for d in (0..s.len().saturating_sub(1)).rev() {
                    st[d] = st[d + 1].saturating_mul(s[d + 1]);
                }
                st
            })
            .collect();
        let loop_ids = tree
            .loops()
            .iter()
            .map(|l| (l.lp as *const Loop, l.id.0))
            .collect();
        let mut allocs: HashMap<usize, Vec<BufferId>> = HashMap::new();
        let mut program_allocs = Vec::new();
        for (b, site) in tree.alloc_sites().into_iter().enumerate() {
            let id = BufferId(b as u32);
            match site {
                AllocSite::Loop(l) => allocs.entry(l.0).or_default().push(id),
                AllocSite::Program if tree.buffers[b].role == BufferRole::Temp => {
                    program_allocs.push(id)
                }
                _ => {}
            }
        }
        let bytes = opts.simd_bytes as usize;
        let lanes = if bytes >= 8 && bytes.is_power_of_two() {
            bytes / 4
        } else {
            0
        };
        let mut em = Emitter {
            tree,
            lanes,
            out: String::new(),
            indent: 0,
            buf_names: Vec::new(),
            var_names: vec![None; tree.exprs.num_vars()],
            names: RESERVED.iter().map(|s| s.to_string()).collect(),
            shapes,
            strides,
            bounds: vec![None; tree.exprs.num_vars()],
            keep: Cell::new(None),
            lane_var: Cell::new(None),
            cse: RefCell::new(None),
            loop_ids,
            allocs,
            program_allocs,
            unroll_budget: None,
            uses_omp: false,
            promoted: RefCell::new(None),
            promote_tile: Cell::new(None),
        };
        for b in &tree.buffers {
            let n = em.fresh(&b.name);
            em.buf_names.push(n);
        }
        for l in tree.loops() {
            let v = l.lp.var.index();
            if em.var_names[v].is_none() {
                let n = em.fresh(tree.exprs.var_name(l.lp.var));
                em.var_names[v] = Some(n);
            }
        }
        Ok(em)
    }

    /// A new C identifier derived from `base` (never a keyword, a prelude name or a name
    /// already taken).
    pub(super) fn fresh(&mut self, base: &str) -> String {
        let mut base = sanitize(base);
        if base.starts_with("tg_") {
            base.insert_str(0, "x_");
        }
        let mut name = base.clone();
        let mut k = 1;
        while self.names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// The range of loop variable `v` in scope (see [`Emitter::keep`]).
    pub(super) fn var_range(&self, v: Var) -> Option<(i64, i64)> {
        match self.keep.get() {
            Some((k, r)) if k == v => Some(r),
            _ => self.bounds.get(v.index()).copied().flatten(),
        }
    }

    /// The C name of a loop variable.
    pub(super) fn var_name(&self, v: Var) -> String {
        self.var_names
            .get(v.index())
            .cloned()
            .flatten()
            .unwrap_or_else(|| sanitize(self.tree.exprs.var_name(v)))
    }

    /// Appends one line at the current indentation.
    pub(super) fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn elems(&self, b: BufferId) -> i64 {
        self.shapes[b.index()].iter().product()
    }

    fn on_heap(&self, b: BufferId) -> bool {
        self.tree.buffers[b.index()].scope == Scope::Global
            || self.elems(b) * 4 > HEAP_THRESHOLD_BYTES
    }

    /// Declares temporary `b` (at its allocation site).
    pub(super) fn declare(&mut self, b: BufferId) {
        let (name, n) = (self.buf_names[b.index()].clone(), self.elems(b));
        if self.on_heap(b) {
            let bytes = (n * 4 + 63) / 64 * 64;
            self.line(&format!(
                "float *restrict {name} = (float *)aligned_alloc(64, {bytes});"
            ));
        } else {
            self.line(&format!("float {name}[{n}] __attribute__((aligned(64)));"));
        }
    }

    /// Frees temporary `b` at the end of its scope (heap buffers only).
    pub(super) fn release(&mut self, b: BufferId) {
        if self.on_heap(b) {
            let name = self.buf_names[b.index()].clone();
            self.line(&format!("free({name});"));
        }
    }

    pub(super) fn stmts(&mut self, body: &[Stmt]) -> Result<(), MeasureError> {
        for s in body {
            match s {
                Stmt::Loop(l) => self.emit_loop(l)?,
                Stmt::Store(st) => {
                    let text = self.scalar_store(st)?;
                    self.line(&text);
                }
                Stmt::If { cond, then } => {
                    let mut parts = Vec::new();
                    self.conjuncts(*cond, &mut parts);
                    let mut keep = Vec::new();
                    for c in parts {
                        match self.decide(c) {
                            Some(true) => {}
                            Some(false) => {
                                keep.clear();
                                keep.push(None);
                                break;
                            }
                            None => keep.push(Some(c)),
                        }
                    }
                    if keep.first() == Some(&None) {
                        continue;
                    }
                    let conds: Vec<_> = keep.into_iter().flatten().collect();
                    self.guarded(&conds, |em| em.stmts(then))?;
                }
                Stmt::Barrier => {
                    return Err(MeasureError::Invalid(
                        "codegen: barrier in a CPU tree".into(),
                    ))
                }
            }
        }
        Ok(())
    }

    /// Runs `f` inside `if (conds) { … }` (no `if` when `conds` is empty).
    pub(super) fn guarded(
        &mut self,
        conds: &[tilegrad_symbolic::ExprId],
        f: impl FnOnce(&mut Self) -> Result<(), MeasureError>,
    ) -> Result<(), MeasureError> {
        if conds.is_empty() {
            return f(self);
        }
        let texts = conds
            .iter()
            .map(|&c| Ok(super::c_expr::paren(self.print_expr(c)?, 2)))
            .collect::<Result<Vec<_>, MeasureError>>()?;
        self.line(&format!("if ({}) {{", texts.join(" && ")));
        self.indent += 1;
        f(self)?;
        self.indent -= 1;
        self.line("}");
        Ok(())
    }

    fn finish(self, entry: &str, prepare: Option<String>) -> String {
        let tree = self.tree;
        let ins = tree.inputs();
        let prepared = tree.prepared();
        let mut s = String::new();
        let _ = writeln!(s, "/* Generated by tilegrad (C backend); do not edit.");
        let _ = writeln!(s, " * kernel: {}", tree.name);
        for (b, buf) in tree.buffers.iter().enumerate() {
            let role = match buf.role {
                BufferRole::Input(i) => format!("args[{i}]"),
                BufferRole::Output => format!("args[{}]", ins.len()),
                BufferRole::Temp => format!("{} temporary", buf.scope.name()),
                BufferRole::Prepared => {
                    let k = prepared.iter().position(|p| p.index() == b).unwrap_or(0);
                    format!("args[{}], prepared", ins.len() + 1 + k)
                }
            };
            let shape: Vec<String> = self.shapes[b].iter().map(|x| x.to_string()).collect();
            let _ = writeln!(s, " * {}: f32[{}], {role}", buf.name, shape.join(", "));
        }
        s.push_str(" */\n");
        if self.uses_omp {
            s.push_str("#include <omp.h>\n");
        }
        s.push_str(&super::c_prelude::prelude(self.lanes));
        let arg = |s: &mut String, b: BufferId, k: usize, writable: bool| {
            let q = if writable { "" } else { "const " };
            let name = &self.buf_names[b.index()];
            let _ = writeln!(s, "    {q}float *restrict {name} = args[{k}];");
        };
        if let Some(body) = prepare {
            // The inputs the prepare statements read (the only stores into prepared buffers).
            let read: std::collections::BTreeSet<BufferId> = tree
                .stores()
                .iter()
                .filter(|st| tree.buffer(st.store.buffer).role == BufferRole::Prepared)
                .flat_map(|st| st.store.value.loads().into_iter().map(|(b, _)| b))
                .collect();
            let _ = writeln!(s, "\nvoid {}(float *const *args) {{", prepare_entry(entry));
            for (k, &b) in ins.iter().enumerate().filter(|(_, b)| read.contains(*b)) {
                arg(&mut s, b, k, false);
            }
            for (k, &b) in prepared.iter().enumerate() {
                arg(&mut s, b, ins.len() + 1 + k, true);
            }
            s.push_str(&body);
            s.push_str("}\n");
        }
        let _ = writeln!(s, "\nvoid {entry}(float *const *args) {{");
        for (k, &b) in ins.iter().enumerate() {
            arg(&mut s, b, k, false);
        }
        if let Some(o) = tree.output() {
            arg(&mut s, o, ins.len(), true);
        }
        for (k, &b) in prepared.iter().enumerate() {
            arg(&mut s, b, ins.len() + 1 + k, false);
        }
        s.push_str(&self.out);
        s.push_str("}\n");
        s
    }
}
