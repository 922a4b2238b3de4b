//! GFLOP/s of the generated C for `matmul(M=512,N=512,K=512)` (`cpu-tiling` sketches) at a few
//! hand-picked assignments, measured end to end by [`CpuMeasurer`].
//!
//! ```text
//! cargo run --release -p tilegrad-measure --example cpu_matmul [-- 'sp_i_0=..,..' ...]
//! ```
//! Extra arguments are assignments (`name=value,…`) of the `cpu-tiling` sketch; set
//! `SKETCH=cpu-tiling/no-cache` to pick the other sketch, `SHOW=1` to print the C source.

use std::sync::Arc;

use tilegrad_measure::{
    host_cpu, worker_main, CpuMeasurer, CpuMeasurerConfig, MeasureInput, Measurer, TimingConfig,
    WorkerConfig,
};
use tilegrad_templates::{sketches, Workload};

const WORKER_ARG: &str = "--tilegrad-measure-worker";

/// Hand-picked assignments: (S1, S2, S3) per spatial axis, R1 of k, unroll.
const PICKS: &[&str] = &[
    // 4x16 register tile (8 ymm accumulators), 32x128 accumulator tile, k blocked by 64.
    "sp_i_0=4,sp_i_1=8,sp_i_2=4,sp_j_0=1,sp_j_1=8,sp_j_2=16,rd_k_0=64,unroll=64",
    // 2x32 register tile (8 accumulators), two shapes of the accumulator tile.
    "sp_i_0=4,sp_i_1=8,sp_i_2=2,sp_j_0=1,sp_j_1=4,sp_j_2=32,rd_k_0=64,unroll=64",
    "sp_i_0=4,sp_i_1=32,sp_i_2=2,sp_j_0=1,sp_j_1=2,sp_j_2=32,rd_k_0=64,unroll=64",
    // 4x32: 16 accumulators, more than the 16 ymm registers hold.
    "sp_i_0=4,sp_i_1=8,sp_i_2=4,sp_j_0=1,sp_j_1=4,sp_j_2=32,rd_k_0=64,unroll=64",
    // Untiled (one vector per iteration, no unrolling): the floor.
    "sp_i_0=1,sp_i_1=1,sp_i_2=1,sp_j_0=1,sp_j_1=1,sp_j_2=8,rd_k_0=1,unroll=1",
];

fn main() {
    if std::env::args().nth(1).as_deref() == Some(WORKER_ARG) {
        std::process::exit(worker_main());
    }
    let w: Workload = std::env::var("WORKLOAD")
        .unwrap_or_else(|_| "matmul(M=512,N=512,K=512)".into())
        .parse()
        .expect("workload");
    let target = host_cpu(None);
    let id = std::env::var("SKETCH").unwrap_or_else(|_| "cpu-tiling".into());
    let sketch = sketches(&w, &target)
        .expect("sketches")
        .into_iter()
        .find(|s| s.id == id)
        .expect("sketch id");
    let sketch = Arc::new(sketch);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let picks: Vec<String> = if args.is_empty() {
        PICKS.iter().map(|s| s.to_string()).collect()
    } else {
        args
    };
    let mut cfg = CpuMeasurerConfig::new(target);
    cfg.runner.worker = WorkerConfig::self_hosted(&[WORKER_ARG]).expect("worker");
    cfg.runner.timing = TimingConfig {
        warmup: 3,
        min_repeat: 20,
        min_time_s: 0.5,
        ..TimingConfig::default()
    };
    let mut m = CpuMeasurer::new(cfg).expect("measurer");
    let mut batch = Vec::new();
    for p in &picks {
        let a = sketch.space.parse_assignment(p).expect("assignment");
        batch.push(MeasureInput {
            sketch: sketch.clone(),
            assignment: a,
        });
    }
    if std::env::var("SHOW").is_ok() {
        for b in &batch {
            println!("{}", m.kernel(b).expect("kernel").source);
        }
    }
    let flops = w.flops();
    println!("{w}, sketch {id}, {} threads", m.config().runner.threads);
    for (b, r) in batch.iter().zip(m.measure(&batch)) {
        match r {
            Ok(r) => println!(
                "{:7.1} GFLOP/s (median {:.3} ms)  {:7.1} GFLOP/s (best {:.3} ms)  spread {:.2}  build {:.2} s  {}",
                flops / r.timing.median_s / 1e9,
                r.timing.median_s * 1e3,
                flops / r.timing.min_s / 1e9,
                r.timing.min_s * 1e3,
                r.timing.spread,
                r.build_s,
                b.assignment
            ),
            Err(e) => println!("failed: {e}  {}", b.assignment),
        }
    }
}
