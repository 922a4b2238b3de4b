//! CUDA C from a concrete GPU [`LoopTree`] ([`emit`]).
//!
//! The kernel follows the ABI of [`crate::kernel`]: `extern "C" __global__ void
//! __launch_bounds__(T) entry(const float* __restrict__ in0, …, float* __restrict__ out)`.
//! Translation, statement by statement:
//! * `BlockIdx`/`ThreadIdx` loops become `const int bx = blockIdx.x;` (grid and block
//!   dimensions are their extents; an axis of extent 1 becomes the constant 0);
//! * `Shared` buffers become `__shared__ __align__(16) float name[n]` (static; above 48 KiB
//!   they are carved out of one dynamic `extern __shared__` array and
//!   [`CudaKernel::shared_bytes`] says how much), `Local` buffers become register arrays
//!   declared at the start of their allocation site (the rule of
//!   [`tilegrad_symbolic::looptree`]); every buffer is indexed by its flat row-major offset;
//! * `Barrier` is `__syncthreads()`, `If` is `if`, `VThread` loops are serial loops (TVM's
//!   interleaving is semantically equal), `Unrolled` loops get `#pragma unroll`, and so does
//!   every loop under an `unroll_max_step = S` pragma whose total step count (iterations ×
//!   statements of its body, as TVM's `auto_unroll_max_step`) is at most `S`;
//! * a `Vectorized` loop of extent 2 or 4 that is a contiguous, aligned copy (see
//!   [`cuda_vector`](self)) becomes one `float2`/`float4` access through `reinterpret_cast`;
//!   other vectorized loops are unrolled scalar loops;
//! * values: `Select` is `?:` (only the chosen side is evaluated, so guarded loads never run
//!   out of bounds), math through `expf`/`logf`/`sqrtf`/`rsqrtf`/`tanhf`/`erff`/`fabsf`/
//!   `fmaxf`/`fminf`; reduction updates `acc = acc + x` print as `acc += x`.
//!
//! Loops of extent 1 disappear (their variable is 0) and index expressions are folded with
//! interval analysis ([`cuda_expr`](self)). The output depends only on the tree and the
//! entry name (byte-stable). Errors ([`MeasureError::Codegen`]): a tree that does not verify,
//! is not concrete or not a GPU tree, global temporaries, more than one kernel, launch
//! dimensions beyond CUDA's limits, buffers of 2^31 elements or more.

#[path = "cuda_expr.rs"]
mod cuda_expr;
#[path = "cuda_print.rs"]
mod cuda_print;
#[path = "cuda_stmt.rs"]
mod cuda_stmt;
#[path = "cuda_vector.rs"]
mod cuda_vector;

use std::fmt::Write;

use tilegrad_symbolic::looptree::{AllocSite, Axis3};
use tilegrad_symbolic::{BufferRole, LoopKind, LoopTree, Scope, Stmt};

use crate::{CudaKernel, MeasureError};
use cuda_expr::{Helpers, Lowerer};
use cuda_print::{helper_text, IxPrinter};
use cuda_stmt::Emitter;

/// Largest static shared memory per block (bytes); above it shared memory is dynamic.
pub const STATIC_SHARED_LIMIT: u64 = 48 * 1024;

fn err(msg: String) -> MeasureError {
    MeasureError::Codegen(format!("cuda codegen: {msg}"))
}

const RESERVED: &[&str] = &[
    "threadIdx",
    "blockIdx",
    "blockDim",
    "gridDim",
    "min",
    "max",
    "float",
    "int",
    "const",
    "for",
    "if",
    "else",
    "while",
    "do",
    "return",
    "void",
    "char",
    "long",
    "short",
    "auto",
    "double",
    "unsigned",
    "signed",
    "static",
    "extern",
    "struct",
    "union",
    "enum",
    "switch",
    "case",
    "default",
    "break",
    "continue",
    "goto",
    "sizeof",
    "volatile",
    "register",
    "new",
    "delete",
    "this",
    "class",
    "template",
    "typename",
    "namespace",
    "using",
    "true",
    "false",
    "bool",
    "float2",
    "float4",
    "dim3",
    "warpSize",
    "main",
];

/// C identifiers for the buffers, then the variables (unique, not reserved).
fn c_names(tree: &LoopTree, entry: &str) -> (Vec<String>, Vec<String>) {
    let mut used: Vec<String> = vec![entry.to_string()];
    let mut name = |raw: &str| {
        let mut s: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
            s.insert(0, 'v');
        }
        if s.starts_with("tg_") || s.starts_with("__") {
            s.insert(0, 'u');
        }
        while RESERVED.contains(&s.as_str()) || used.contains(&s) {
            s.push('_');
        }
        used.push(s.clone());
        s
    };
    let bufs = tree.buffers.iter().map(|b| name(&b.name)).collect();
    let vars = tree.exprs.var_names().iter().map(|v| name(v)).collect();
    (bufs, vars)
}

fn const_extent(
    tree: &LoopTree,
    e: tilegrad_symbolic::ExprId,
    what: &str,
) -> Result<i64, MeasureError> {
    tree.const_int(e)
        .ok_or_else(|| err(format!("{what} is not an integer constant")))
}

/// Grid and block dimensions from the block and thread loops.
fn launch_dims(tree: &LoopTree) -> Result<([u32; 3], [u32; 3]), MeasureError> {
    let (mut grid, mut block) = ([0u32; 3], [0u32; 3]);
    for l in tree.loops() {
        let (dims, axis, limit) = match l.lp.kind {
            LoopKind::BlockIdx(a) => (
                &mut grid,
                a,
                if a == Axis3::X {
                    i32::MAX as i64
                } else {
                    65535
                },
            ),
            LoopKind::ThreadIdx(a) => (&mut block, a, if a == Axis3::Z { 64 } else { 1024 }),
            _ => continue,
        };
        let ext = const_extent(tree, l.lp.extent, "a block or thread extent")?;
        if !(1..=limit).contains(&ext) {
            return Err(err(format!(
                "{} extent {ext} outside 1..={limit}",
                l.lp.kind.annotation()
            )));
        }
        let k = axis as usize;
        if dims[k] != 0 && dims[k] != ext as u32 {
            return Err(err(format!(
                "two extents ({} and {ext}) for {}",
                dims[k],
                l.lp.kind.annotation()
            )));
        }
        dims[k] = ext as u32;
    }
    for d in grid.iter_mut().chain(block.iter_mut()) {
        *d = (*d).max(1);
    }
    if block.iter().product::<u32>() > 1024 {
        return Err(err(format!(
            "{} threads per block (at most 1024)",
            block.iter().product::<u32>()
        )));
    }
    Ok((grid, block))
}

/// Generates the CUDA kernel `entry` for the concrete GPU tree `tree` (see the module docs).
pub fn emit(tree: &LoopTree, entry: &str) -> Result<CudaKernel, MeasureError> {
    tree.verify()
        .map_err(|e| err(format!("tree does not verify: {e}")))?;
    if !tree.is_concrete() || !tree.is_gpu() {
        return Err(err(format!("`{}` is not a concrete GPU tree", tree.name)));
    }
    let valid = !entry.is_empty()
        && !entry.starts_with(|c: char| c.is_ascii_digit())
        && entry.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(err(format!("entry `{entry}` is not a C identifier")));
    }
    let kernels = tree
        .body
        .iter()
        .filter(|s| matches!(s, Stmt::Loop(_) | Stmt::If { .. }))
        .count();
    if kernels != 1 || tree.body.len() != 1 {
        return Err(err(
            "the tree must be one kernel (a single top-level block nest)".into(),
        ));
    }
    let (grid, block) = launch_dims(tree)?;
    let (buf_names, var_names) = c_names(tree, entry);
    let mut sizes = Vec::new();
    for (i, b) in tree.buffers.iter().enumerate() {
        let shape = tree
            .const_shape(tilegrad_symbolic::BufferId(i as u32))
            .ok_or_else(|| err(format!("buffer `{}` has a non-constant shape", b.name)))?;
        let n = shape
            .iter()
            .try_fold(1i64, |a, &d| a.checked_mul(d).filter(|&n| n < 1 << 31));
        sizes.push(n.ok_or_else(|| err(format!("buffer `{}` has 2^31 elements or more", b.name)))?);
    }
    let sites = tree.alloc_sites();
    let mut params = Vec::new();
    for (k, id) in tree.inputs().iter().enumerate() {
        params.push(format!(
            "const float* __restrict__ {}",
            buf_names[id.index()]
        ));
        debug_assert_eq!(tree.buffer(*id).role, BufferRole::Input(k));
    }
    let out = tree
        .output()
        .ok_or_else(|| err("no output buffer".into()))?;
    params.push(format!("float* __restrict__ {}", buf_names[out.index()]));

    let mut decls = String::new();
    let shared: Vec<usize> = (0..tree.buffers.len())
        .filter(|&i| tree.buffers[i].scope == Scope::Shared && sites[i] != AllocSite::Unused)
        .collect();
    let padded = |n: i64| (n + 3) / 4 * 4;
    let shared_floats: i64 = shared.iter().map(|&i| padded(sizes[i])).sum();
    let dynamic = shared_floats as u64 * 4 > STATIC_SHARED_LIMIT;
    if dynamic {
        decls.push_str("  extern __shared__ __align__(16) float tg_dyn_smem[];\n");
    }
    let mut offset = 0;
    for &i in &shared {
        let shape = tree
            .const_shape(tilegrad_symbolic::BufferId(i as u32))
            .unwrap_or_default();
        let (name, n) = (&buf_names[i], sizes[i]);
        if dynamic {
            let _ = writeln!(
                decls,
                "  float* __restrict__ {name} = tg_dyn_smem + {offset};  // {shape:?}"
            );
            offset += padded(n);
        } else {
            let _ = writeln!(
                decls,
                "  __shared__ __align__(16) float {name}[{n}];  // {shape:?}"
            );
        }
    }
    for (i, b) in tree.buffers.iter().enumerate() {
        if b.scope == Scope::Global && b.role == BufferRole::Temp && sites[i] != AllocSite::Unused {
            return Err(err(format!(
                "global temporary `{}` is not supported",
                b.name
            )));
        }
    }

    let mut ranges = vec![None; tree.exprs.num_vars()];
    for l in tree.loops() {
        let ext = const_extent(tree, l.lp.extent, "a loop extent")?;
        let r: &mut Option<(i64, i64)> = &mut ranges[l.lp.var.index()];
        let hi = r.map_or(ext - 1, |(_, h)| h.max(ext - 1));
        *r = Some((0, hi.max(0)));
    }
    let fixed = vec![None; tree.exprs.num_vars()];
    let mut em = Emitter {
        tree,
        bufs: buf_names,
        sizes,
        sites,
        low: Lowerer {
            arena: &tree.exprs,
            ranges,
            fixed,
        },
        pr: IxPrinter {
            names: &var_names,
            helpers: Helpers::default(),
        },
        out: String::new(),
        next_loop: 0,
        unroll: None,
    };
    em.stmts(&tree.body, 1)?;
    let body = std::mem::take(&mut em.out);
    let helpers = helper_text(em.pr.helpers);

    let threads: u32 = block.iter().product();
    let shared_bytes = if dynamic {
        (shared_floats * 4) as u32
    } else {
        0
    };
    let mut src = String::new();
    let _ = writeln!(
        src,
        "// Generated by tilegrad from the loop tree `{}`.",
        tree.name
    );
    let _ = writeln!(
        src,
        "// Launch: grid ({}, {}, {}), block ({}, {}, {}), dynamic shared memory {shared_bytes} bytes.",
        grid[0], grid[1], grid[2], block[0], block[1], block[2]
    );
    if !helpers.is_empty() {
        src.push('\n');
        src.push_str(&helpers);
    }
    src.push('\n');
    let _ = writeln!(
        src,
        "extern \"C\" __global__ void __launch_bounds__({threads})"
    );
    let _ = writeln!(src, "{entry}({}) {{", params.join(", "));
    src.push_str(&decls);
    src.push_str(&body);
    src.push_str("}\n");
    Ok(CudaKernel {
        source: src,
        entry: entry.to_string(),
        grid,
        block,
        shared_bytes,
    })
}
