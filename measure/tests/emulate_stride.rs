//! Strided convolutions through every GPU sketch, emulated against the reference.
//!
//! Regression test for a CUDA printer bug first seen on an H100 (results/gpu/): the product
//! `2 * ((bx / 2) * 4)` of a stride-2 input tile offset printed as `2 * bx / 2 * 4`, which C
//! evaluates as `((2 * bx) / 2) * 4`; every shared-memory (`gpu-tiling`) candidate of a
//! stride-2 convolution read the wrong input tile.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_measure::codegen::cuda::emit;
use tilegrad_measure::emulate::{emulate_batch, EmulationJob, EmulatorOptions};
use tilegrad_measure::input_data;
use tilegrad_symbolic::Target;
use tilegrad_templates::reference::reference;
use tilegrad_templates::testing::compare;
use tilegrad_templates::{sketches, Workload};

#[test]
fn stride_two_convolutions_match_the_reference() {
    let target = Target::preset("h100-sxm").unwrap();
    let mut cases = Vec::new();
    for (wi, text) in [
        "conv2d(N=1,H=16,W=16,C=8,K=16,R=3,S=3,stride=2,pad=1)",
        "conv2d(N=1,H=16,W=16,C=8,K=16,R=1,S=1,stride=2,pad=0)",
        "conv2d(N=1,H=20,W=20,C=3,K=8,R=7,S=7,stride=2,pad=3)+bias+relu",
    ]
    .iter()
    .enumerate()
    {
        let w: Workload = text.parse().unwrap();
        let lens: Vec<usize> = w
            .input_shapes()
            .iter()
            .map(|s| s.iter().product())
            .collect();
        let inputs = input_data(3 + wi as u64, &lens);
        let want = reference(&w, &inputs).unwrap();
        for s in sketches(&w, &target).unwrap() {
            if !s.tree.is_gpu() {
                continue;
            }
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            for _ in 0..6 {
                let a = s.sample(&mut rng).unwrap();
                let kernel = emit(&s.instantiate(&a).unwrap(), "k").unwrap();
                let label = format!("`{w}` {} [{a}]", s.id);
                cases.push((label, kernel, inputs.clone(), want.clone()));
            }
        }
    }
    assert!(cases.iter().any(|c| c.0.contains("gpu-tiling [")));
    let jobs: Vec<EmulationJob> = cases
        .iter()
        .map(|c| EmulationJob {
            kernel: &c.1,
            inputs: &c.2,
            output_len: c.3.len(),
        })
        .collect();
    let mut failures = Vec::new();
    for (c, r) in cases
        .iter()
        .zip(emulate_batch(&jobs, &EmulatorOptions::default()))
    {
        match r {
            Ok(got) => {
                if let Err(e) = compare(&c.3, &got) {
                    failures.push(format!("{}: {e}", c.0));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", c.0)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
