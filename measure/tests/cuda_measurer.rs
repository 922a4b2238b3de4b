//! `CudaMeasurer`: `Unavailable` without a GPU (never a panic), kernels and problems of GPU
//! sketches without a GPU, typed codegen errors; with a GPU, candidates verify and time.

mod common;

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_measure::cuda_measurer::{candidate_kernel, workload_io, workload_problem};
use tilegrad_measure::{
    cuda_device_count, CudaMeasurer, CudaMeasurerConfig, MeasureError, MeasureInput, Measurer,
    Tolerance,
};
use tilegrad_symbolic::Target;
use tilegrad_templates::{sketches, Workload};

fn workload() -> Workload {
    "matmul(M=64,N=48,K=32)".parse().unwrap()
}

fn inputs(target: &Target, gpu: bool, per_sketch: usize) -> Vec<MeasureInput> {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut out = Vec::new();
    for s in sketches(&workload(), target).unwrap() {
        if s.tree.is_gpu() != gpu {
            continue;
        }
        let s = Arc::new(s);
        for _ in 0..per_sketch {
            out.push(MeasureInput {
                assignment: s.sample(&mut rng).unwrap(),
                sketch: s.clone(),
            });
        }
    }
    out
}

#[test]
fn unavailable_without_gpu_or_measures_with_one() {
    let cfg = CudaMeasurerConfig {
        runner: common::test_config(),
        ..CudaMeasurerConfig::default()
    };
    if let Err(e) = cuda_device_count() {
        assert!(matches!(e, MeasureError::Unavailable(_)), "{e:?}");
        match CudaMeasurer::new(cfg) {
            Err(MeasureError::Unavailable(m)) => assert!(!m.is_empty()),
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("a CudaMeasurer without a GPU"),
        }
        println!("skipped GPU measurement: {e}");
        return;
    }
    // With a GPU (and NVRTC): every sampled candidate of every GPU sketch verifies.
    let mut m = match CudaMeasurer::new(cfg) {
        Ok(m) => m,
        Err(MeasureError::Unavailable(e)) => {
            println!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e:?}"),
    };
    assert!(m.target().gpu().is_some());
    let batch = inputs(&Target::preset("h100-sxm").unwrap(), true, 2);
    for (inp, r) in batch.iter().zip(m.measure(&batch)) {
        let t = r.unwrap_or_else(|e| panic!("{} [{}]: {e}", inp.sketch.id, inp.assignment));
        assert!(t.timing.median_s > 0.0);
    }
}

#[test]
fn kernels_of_gpu_sketches_need_no_gpu() {
    let batch = inputs(&Target::preset("h100-sxm").unwrap(), true, 3);
    assert!(batch.len() >= 6);
    for inp in &batch {
        let k = candidate_kernel(inp).unwrap();
        assert!(k.source.contains("extern \"C\" __global__"), "{}", k.source);
        assert!(k.source.contains(&k.entry));
        assert!(k.block.iter().product::<u32>() <= 1024);
    }
}

#[test]
fn cpu_candidates_are_codegen_errors() {
    let batch = inputs(&tilegrad_measure::host_cpu(Some(1)), false, 1);
    assert!(!batch.is_empty());
    for inp in &batch {
        let r = candidate_kernel(inp);
        assert!(matches!(r, Err(MeasureError::Codegen(_))), "{r:?}");
    }
    let e = MeasureError::Codegen("x".into());
    assert!(e.is_candidate_fault());
    let text = serde_json::to_string(&e).unwrap();
    assert_eq!(serde_json::from_str::<MeasureError>(&text).unwrap(), e);
}

#[test]
fn problems_match_the_workload() {
    let w = workload();
    let io = workload_io(&w);
    assert_eq!(
        (io.input_lens.clone(), io.output_len),
        (vec![64 * 32, 32 * 48], 64 * 48)
    );
    let p = workload_problem(&w, 5, Tolerance::F32).unwrap();
    p.validate().unwrap();
    let x = tilegrad_measure::input_data(5, &io.input_lens);
    let want: f32 = (0..32).map(|k| x[0][k] * x[1][k * 48]).sum();
    assert!(
        (p.expected[0] - want).abs() < 1e-4,
        "{} {want}",
        p.expected[0]
    );
}
