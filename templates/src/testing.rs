//! Test harness for sketch rules (not part of the stable API).
//!
//! * [`small_workloads`]: every operator family and every epilogue at small shapes, with
//!   awkward extents (7, 12, 49, primes), depthwise / grouped / strided / padded / dilated
//!   conv, transposed conv, conv3d, batch matmul with transposes, pooling, softmax, layer and
//!   RMS norm, element-wise and broadcast ops.
//! * [`check_sketch`]: instantiates seeded random legal assignments of a sketch, verifies and
//!   interprets each tree, and compares with [`crate::reference::reference`].
//!
//! # Acceptance criterion of [`check_sketch`]
//! With `want` the reference output (f64 accumulation, rounded to f32) and `got` the
//! interpreted tree's output (f32): non-finite reference elements (`−∞` from `causal`) must be
//! matched exactly; for the finite ones, `|got − want| ≤ 1e-5 · scale` where
//! `scale = max(max_k |want_k| over finite k, 1e-30)`, i.e. the maximum error relative to the
//! output's largest magnitude is below 1e-5. NaN in `got` always fails.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::interpret;

use crate::reference::reference;
use crate::sketch::Sketch;
use crate::Workload;

/// Relative tolerance of [`check_sketch`] (see the module docs).
pub const REL_TOL: f64 = 1e-5;

/// Canonical texts of the workloads of [`small_workloads`].
pub const SMALL_WORKLOADS: &[&str] = &[
    // matmul / dense, every transpose combination, awkward extents
    "matmul(M=12,N=7,K=9)",
    "matmul(M=3,N=4,K=5,trans_a=1)",
    "matmul(M=8,N=6,K=12,trans_b=1)+bias",
    "matmul(M=3,N=4,K=5,trans_a=1,trans_b=1)+bias+gelu",
    "matmul(M=5,N=5,K=2)+causal",
    "matmul(M=1,N=49,K=7)+silu+mul",
    // batch matmul
    "batch_matmul(B=2,M=3,N=4,K=5)",
    "batch_matmul(B=2,M=3,N=4,K=5,trans_b=1)+scale(0.125)",
    "batch_matmul(B=2,M=3,N=4,K=5,trans_a=1)+res",
    "batch_matmul(B=3,M=4,N=4,K=3,trans_a=1,trans_b=1)+scale(0.5)+causal",
    // a reduction that every operand reads contiguously (the dot sketch)
    "matmul(M=2,N=9,K=32,trans_b=1)+bias+silu",
    "batch_matmul(B=2,M=3,N=5,K=16,trans_b=1)",
    // extents with few divisors (the padded sketch)
    "matmul(M=19,N=23,K=257)+bias",
    "conv2d(N=1,H=17,W=17,C=3,K=4,R=3,S=3,stride=1,pad=1)+relu",
    // conv2d: padding, stride, dilation, groups, depthwise
    "conv2d(N=2,H=7,W=6,C=4,K=6,R=3,S=3,stride=1,pad=1)+bias+relu",
    "conv2d(N=1,H=7,W=7,C=3,K=5,R=3,S=2,stride=2,pad=0)",
    "conv2d(N=1,H=9,W=8,C=2,K=3,R=3,S=3,stride=1,pad=2,dilation=2)+bias",
    "conv2d(N=1,H=6,W=6,C=4,K=6,R=3,S=3,stride=1,pad=1,groups=2)+bias+res+relu",
    "conv2d(N=1,H=6,W=6,C=4,K=4,R=3,S=3,stride=2,pad=1,groups=4)+bias+relu6",
    "conv2d(N=1,H=5,W=5,C=3,K=6,R=3,S=3,stride=1,pad=1,groups=3)",
    "conv2d(N=1,H=7,W=7,C=4,K=2,R=1,S=1,stride=1,pad=0,groups=2)+leaky_relu(0.2)",
    "conv2d(N=1,H=4,W=4,C=2,K=1,R=4,S=4,stride=1,pad=0)+sigmoid",
    // transposed conv
    "conv2d_transpose(N=1,H=4,W=3,C=3,K=2,R=4,S=4,stride=2,pad=1)+bias+relu",
    "conv2d_transpose(N=1,H=3,W=4,C=2,K=3,R=3,S=3,stride=2,pad=1,output_pad=1)+tanh",
    "conv2d_transpose(N=2,H=3,W=3,C=2,K=2,R=3,S=3,stride=1,pad=0)",
    "conv2d_transpose(N=1,H=3,W=3,C=2,K=2,R=3,S=3,stride=3,pad=1)",
    // conv3d
    "conv3d(N=1,D=4,H=5,W=5,C=2,K=3,T=3,R=3,S=3,stride_d=1,stride=2,pad_d=1,pad=1)+bias+res+relu",
    "conv3d(N=2,D=3,H=4,W=4,C=4,K=4,T=1,R=1,S=1,stride_d=2,stride=2,pad_d=0,pad=0,groups=2)",
    // pooling
    "max_pool2d(N=1,H=7,W=7,C=3,R=3,S=3,stride=2,pad=1)",
    "avg_pool2d(N=1,H=6,W=5,C=2,R=3,S=3,stride=1,pad=1)+relu",
    "global_avg_pool2d(N=2,H=3,W=4,C=5)",
    "global_avg_pool3d(N=1,D=2,H=3,W=3,C=4)+bias",
    // row-wise
    "softmax(M=3,N=7)",
    "softmax(M=2,N=12)+scale(2)",
    "layer_norm(M=3,N=8)",
    "layer_norm(M=2,N=5)+res",
    "rms_norm(M=2,N=49)+mul",
    // element-wise and broadcast
    "elemwise(M=3,N=5)+gelu",
    "elemwise(M=7,N=12)+clip(-0.5,0.25)+sigmoid+tanh",
    "elemwise(M=2,N=4)+scale(10)+relu6",
    "add(B=2,M=3,N=4)",
    "add(M=3,N=4,bcast_b=1,bcast_m=1)",
    "sub(B=2,M=3,N=4,bcast_b=1)",
    "mul(B=2,M=3,N=7,bcast_n=1)+relu",
    "div(B=2,M=2,N=3,bcast_m=1)",
    "maximum(B=2,M=2,N=3,bcast_b=1,bcast_m=1,bcast_n=1)",
    "minimum(M=3,N=3)+causal",
    "rope(B=2,M=3,N=4)",
    "rope(B=1,M=2,N=6)+res",
];

/// Every operator family and every epilogue at small shapes (see [`SMALL_WORKLOADS`]).
pub fn small_workloads() -> Vec<Workload> {
    SMALL_WORKLOADS
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// Compares `got` with `want` by the criterion of the module docs; the error names the worst
/// element.
pub fn compare(want: &[f32], got: &[f32]) -> Result<(), String> {
    if want.len() != got.len() {
        return Err(format!(
            "output has {} elements, reference {}",
            got.len(),
            want.len()
        ));
    }
    let scale = want
        .iter()
        .filter(|v| v.is_finite())
        .fold(1e-30f64, |m, &v| m.max(f64::from(v).abs()));
    let mut worst: Option<(usize, f64)> = None;
    for (k, (&w, &g)) in want.iter().zip(got).enumerate() {
        if g.is_nan() {
            return Err(format!("element {k} is NaN (reference {w})"));
        }
        if !w.is_finite() {
            if g != w {
                return Err(format!("element {k}: got {g}, reference {w}"));
            }
            continue;
        }
        let err = (f64::from(g) - f64::from(w)).abs() / scale;
        if (err > REL_TOL || err.is_nan()) && worst.is_none_or(|(_, e)| err > e) {
            worst = Some((k, err));
        }
    }
    match worst {
        Some((k, err)) => Err(format!(
            "element {k}: got {}, reference {} (error {err:.3e} of max |ref|)",
            got[k], want[k]
        )),
        None => Ok(()),
    }
}

/// Checks `n` seeded random legal assignments of `s`: each instantiates, verifies, and
/// interprets on `s.workload.random_inputs(seed)` to the reference output (criterion in the
/// module docs). The symbolic tree must verify too. The error names the sketch, the
/// assignment and the problem.
pub fn check_sketch(s: &Sketch, seed: u64, n: usize) -> Result<(), String> {
    let ctx = |a: &dyn std::fmt::Display, e: &dyn std::fmt::Display| {
        format!("sketch `{}` of `{}`, {a}: {e}", s.id, s.workload)
    };
    s.tree.verify().map_err(|e| ctx(&"symbolic tree", &e))?;
    let inputs = s.workload.random_inputs(seed);
    let want = reference(&s.workload, &inputs).map_err(|e| ctx(&"reference", &e))?;
    let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..n {
        let a = s.sample(&mut rng).map_err(|e| ctx(&"sampling", &e))?;
        if !s.space.is_legal(&a) {
            return Err(ctx(&a, &"sampled assignment is not legal"));
        }
        let tree = s.instantiate(&a).map_err(|e| ctx(&a, &e))?;
        tree.verify().map_err(|e| ctx(&a, &e))?;
        let got = interpret(&tree, &refs).map_err(|e| ctx(&a, &e))?;
        compare(&want, &got).map_err(|e| ctx(&a, &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_small_workload_parses() {
        assert_eq!(small_workloads().len(), SMALL_WORKLOADS.len());
    }

    #[test]
    fn compare_criterion() {
        assert!(compare(&[1.0, 100.0], &[1.0005, 100.0]).is_ok());
        assert!(compare(&[1.0, 100.0], &[1.01, 100.0]).is_err());
        assert!(compare(&[f32::NEG_INFINITY, 1.0], &[f32::NEG_INFINITY, 1.0]).is_ok());
        assert!(compare(&[f32::NEG_INFINITY, 1.0], &[0.0, 1.0]).is_err());
        assert!(compare(&[1.0], &[f32::NAN]).is_err());
        assert!(compare(&[1.0], &[1.0, 2.0]).is_err());
    }
}
