//! End to end: sketches → CpuMeasurer (instantiate, C, build, run, verify against the
//! reference, time).

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use tilegrad_measure::{
    CpuMeasurer, CpuMeasurerConfig, MeasureError, MeasureInput, Measurer, TimingConfig,
};
use tilegrad_symbolic::{CpuSpec, Target, TargetSpec};
use tilegrad_templates::{sketches, Sketch, Workload};

fn cpu_target() -> Target {
    Target {
        name: "test-cpu".into(),
        spec: TargetSpec::Cpu(CpuSpec {
            cores: 2,
            simd_bytes: 32,
            l1_bytes: 32 << 10,
            l2_bytes: 512 << 10,
            l3_bytes: 16 << 20,
            mem_bandwidth: 20e9,
            peak_fp32: 200e9,
        }),
    }
}

/// Three timed runs after one warm-up, input seed 11.
fn measurer() -> CpuMeasurer {
    measurer_timed(TimingConfig {
        warmup: 1,
        min_repeat: 3,
        max_repeat: 3,
        min_time_s: 0.0,
        run_timeout_s: 5.0,
        ..TimingConfig::default()
    })
}

fn measurer_timed(timing: TimingConfig) -> CpuMeasurer {
    let mut cfg = CpuMeasurerConfig::new(cpu_target());
    cfg.runner = common::test_config();
    cfg.runner.timing = timing;
    cfg.seed = 11;
    CpuMeasurer::new(cfg).unwrap()
}

fn cpu_sketches(text: &str) -> Vec<Arc<Sketch>> {
    let w: Workload = text.parse().unwrap();
    sketches(&w, &cpu_target())
        .unwrap()
        .into_iter()
        .map(Arc::new)
        .collect()
}

fn sampled(s: &Arc<Sketch>, seed: u64) -> MeasureInput {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    MeasureInput {
        sketch: s.clone(),
        assignment: s.sample(&mut rng).unwrap(),
    }
}

#[test]
fn every_cpu_sketch_of_several_operators_measures_correct() {
    let mut batch = Vec::new();
    for text in [
        "matmul(M=64,N=48,K=40)+bias+gelu",
        "batch_matmul(B=2,M=3,N=4,K=5,trans_b=1)+scale(0.125)",
        "conv2d(N=1,H=9,W=8,C=4,K=16,R=3,S=3,stride=1,pad=1)+bias+relu",
        "conv2d(N=1,H=6,W=6,C=8,K=8,R=3,S=3,stride=2,pad=1,groups=8)+bias+relu6",
        "softmax(M=5,N=70)",
        "layer_norm(M=4,N=33)+res",
        "elemwise(M=9,N=40)+gelu",
        "minimum(M=3,N=3)+causal",
        "max_pool2d(N=1,H=7,W=7,C=3,R=3,S=3,stride=2,pad=1)",
    ] {
        for s in cpu_sketches(text) {
            for seed in [1, 2] {
                batch.push(sampled(&s, seed));
            }
        }
    }
    let mut m = measurer();
    let results = m.measure(&batch);
    assert_eq!(results.len(), batch.len());
    for (inp, r) in batch.iter().zip(&results) {
        let r = r.as_ref().unwrap_or_else(|e| {
            panic!(
                "{} / {} / {}: {e}",
                inp.sketch.workload, inp.sketch.id, inp.assignment
            )
        });
        assert_eq!(r.timing.samples_s.len(), 3);
        assert!(r.timing.median_s > 0.0 && r.build_s > 0.0);
    }
}

#[test]
fn bad_candidates_fail_alone_and_references_are_cached() {
    let mm = cpu_sketches("matmul(M=16,N=16,K=8)");
    let sm = cpu_sketches("softmax(M=4,N=9)");
    let mut illegal = sampled(&mm[0], 3);
    let values: Vec<u64> = illegal
        .assignment
        .values()
        .iter()
        .map(|v| v + 1000)
        .collect();
    illegal.assignment = mm[0].space.assignment(&values).unwrap();
    let batch = vec![
        sampled(&mm[0], 3),
        illegal,
        sampled(&sm[0], 4),
        sampled(&mm[mm.len() - 1], 5),
    ];
    let mut m = measurer();
    let r = m.measure(&batch);
    assert!(r[0].is_ok() && r[2].is_ok() && r[3].is_ok(), "{r:?}");
    assert!(matches!(r[1], Err(MeasureError::Invalid(_))), "{:?}", r[1]);
    assert!(m.kernel(&batch[1]).is_err());
    let w = &mm[0].workload;
    let p = m.problem(w).unwrap();
    assert!(Arc::ptr_eq(&p, &m.problem(w).unwrap()));
    assert_eq!(p.seed, 11);
    assert_eq!(m.target().name, "test-cpu");
}

#[test]
fn gpu_targets_are_rejected() {
    let mut cfg = CpuMeasurerConfig::new(Target::preset("h100-sxm").unwrap());
    cfg.runner = common::test_config();
    assert!(matches!(
        CpuMeasurer::new(cfg),
        Err(MeasureError::Invalid(_))
    ));
}

#[test]
fn other_processes_busy_during_timing_are_reported_as_interference() {
    let mut m = measurer_timed(TimingConfig {
        warmup: 1,
        min_repeat: 3,
        max_repeat: 100_000,
        // Long enough for /proc's 10 ms ticks to resolve the share.
        min_time_s: 0.3,
        max_time_s: 10.0,
        run_timeout_s: 5.0,
        interference_retries: 0,
        ..TimingConfig::default()
    });
    let s = cpu_sketches("matmul(M=64,N=64,K=64)").remove(0);
    // Busy threads of this process, one per core, are other processes to the worker.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let spinners: Vec<_> = (0..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
        })
        .collect();
    let r = m.measure(&[sampled(&s, 1)]).remove(0);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    spinners.into_iter().for_each(|h| h.join().unwrap());
    let share = r.unwrap().timing.interference;
    if cfg!(target_os = "linux") {
        let share = share.expect("/proc is readable on Linux");
        assert!(share > tilegrad_measure::DISTURBED, "{share}");
    }
}

#[test]
fn a_candidate_repeated_in_a_batch_is_built_once_and_timed_at_each_place() {
    let mm = cpu_sketches("matmul(M=16,N=16,K=8)");
    let (a, b) = (sampled(&mm[0], 3), sampled(&mm[0], 4));
    assert_ne!(a.assignment, b.assignment);
    let mut m = measurer();
    let r = m.measure(&[a.clone(), b.clone(), a.clone(), b, a]);
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    let sources = std::fs::read_dir(m.build_dir().path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "c"))
        })
        .count();
    assert_eq!(sources, 2);
    // Every place has its own timed runs.
    let samples: Vec<usize> = r
        .iter()
        .map(|x| x.as_ref().unwrap().timing.samples_s.len())
        .collect();
    assert_eq!(samples, vec![3; 5]);
}
