//! GFLOP/s of the generated C for matmul 512^3 and 1024^3 (`cpu-tiling` sketch): hand-picked
//! assignments, then a seeded random sample of legal assignments (what a random search would
//! find in that many trials), measured end to end by [`CpuMeasurer`].
//!
//! ```text
//! cargo run --release -p tilegrad-measure --example cpu_matmul [-- 'sp_i_0=..,..' ...]
//! ```
//! Extra arguments are assignments (`name=value,…`) of the sketch, measured instead of the
//! hand-picked ones. Environment: `WORKLOAD` (one workload instead of 512^3 and 1024^3),
//! `SKETCH` (default `cpu-tiling`), `RANDOM` (sample size, default 64; 0 skips it), `SEED`
//! (default 1), `SHOW=1` prints the C source of the hand-picked candidates, `EMIT=1` prints
//! it and exits without measuring, `SAVE=<dir>` writes the C source of every hand-picked and
//! random candidate to `<dir>/<workload>-pick<k>.c` / `<dir>/<workload>-random<k>.c` (assignments in
//! `<dir>/index.txt`) without measuring, for side-by-side timing of two code generators. `measure/examples/cpu_matmul_ref.c` is the hand-written C
//! reference of the same loop structure.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_measure::{
    host_cpu, worker_main, CpuMeasurer, CpuMeasurerConfig, MeasureInput, Measurer, TimingConfig,
    WorkerConfig,
};
use tilegrad_templates::{sketches, Sketch, Workload};

const WORKER_ARG: &str = "--tilegrad-measure-worker";

/// Hand-picked assignments (names: `sp_<a>_0` = S1, `sp_<a>_1` = S2, `sp_<a>_2` = S3,
/// `rd_k_0` = R1; S0 is what is left). Every register tile has 8 vector accumulators, which
/// code generation keeps in named locals across the `R1` loop (across all of `K` when the
/// `S2` extents are 1). On this 2-core Zen3 VM (single-thread CPU-time A/B, 2026-11-25) the
/// short k blocks win: the unpacked `B` rows are 2 KiB apart at 512 (4 KiB at 1024), so a `B`
/// block of more than ~16 rows cannot stay in L1 (its lines fall into a few cache sets), and
/// the blocks that keep it there (`R1` 4..16 reused across an `S2_i` loop) beat the pure
/// micro-kernel (`S2 = 1`, last pick) that streams a whole `K × 16` panel per tile.
/// 1. 2×32 tile, `S2_i = 16`, `R1 = 4`;  2. the same with `S1_i = 2`, `S2_i = 8`;
/// 3. 4×16 tile, `S2 = 32 × 2`, `R1 = 8` (the best pick before register promotion);
/// 4. 1×64 tile, `R1 = 8` (the best pick at 1024);  5. 4×16 micro-kernel, `S2 = 1`.
const PICKS: &[&str] = &[
    "sp_i_0=1,sp_i_1=16,sp_i_2=2,sp_j_0=4,sp_j_1=1,sp_j_2=32,rd_k_0=4,unroll=64",
    "sp_i_0=2,sp_i_1=8,sp_i_2=2,sp_j_0=4,sp_j_1=1,sp_j_2=32,rd_k_0=4,unroll=64",
    "sp_i_0=1,sp_i_1=32,sp_i_2=4,sp_j_0=1,sp_j_1=2,sp_j_2=16,rd_k_0=8,unroll=512",
    "sp_i_0=16,sp_i_1=16,sp_i_2=1,sp_j_0=1,sp_j_1=1,sp_j_2=64,rd_k_0=8,unroll=512",
    "sp_i_0=8,sp_i_1=1,sp_i_2=4,sp_j_0=8,sp_j_1=1,sp_j_2=16,rd_k_0=64,unroll=64",
];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn measurer(min_time_s: f64) -> CpuMeasurer {
    let mut cfg = CpuMeasurerConfig::new(host_cpu(None));
    cfg.runner.worker = WorkerConfig::self_hosted(&[WORKER_ARG]).expect("worker");
    cfg.runner.timing = TimingConfig {
        warmup: 2,
        min_repeat: 10,
        min_time_s,
        ..TimingConfig::default()
    };
    CpuMeasurer::new(cfg).expect("measurer")
}

/// Measures `batch`; returns GFLOP/s (from the median) per candidate, 0 for failures.
fn run(m: &mut CpuMeasurer, w: &Workload, batch: &[MeasureInput], print: bool) -> Vec<f64> {
    let flops = w.flops();
    let mut out = Vec::new();
    for (b, r) in batch.iter().zip(m.measure(batch)) {
        match r {
            Ok(r) => {
                let g = flops / r.timing.median_s / 1e9;
                if print {
                    println!(
                        "  {g:7.1} GFLOP/s (median {:.3} ms, best {:7.1} GFLOP/s)  {}",
                        r.timing.median_s * 1e3,
                        flops / r.timing.min_s / 1e9,
                        b.assignment
                    );
                }
                out.push(g);
            }
            Err(e) => {
                if print {
                    println!("  failed: {e}  {}", b.assignment);
                }
                out.push(0.0);
            }
        }
    }
    out
}

fn inputs(sketch: &Arc<Sketch>, texts: &[String]) -> Vec<MeasureInput> {
    texts
        .iter()
        .filter_map(|p| match sketch.space.parse_assignment(p) {
            Ok(a) if sketch.space.is_legal(&a) => Some(MeasureInput {
                sketch: sketch.clone(),
                assignment: a,
            }),
            _ => {
                println!("  skipped (not a legal assignment here): {p}");
                None
            }
        })
        .collect()
}

/// Writes the C source of `picks` and `sample` under `dir` (see the module docs).
fn save(m: &CpuMeasurer, dir: &str, w: &Workload, picks: &[MeasureInput], sample: &[MeasureInput]) {
    std::fs::create_dir_all(dir).expect("SAVE directory");
    let size: String = w
        .to_string()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let mut index = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{dir}/index.txt"))
        .expect("index");
    let all = picks
        .iter()
        .map(|b| ("pick", b))
        .chain(sample.iter().map(|b| ("random", b)));
    let mut counts = [0usize; 2];
    for (kind, b) in all {
        let k = &mut counts[usize::from(kind == "random")];
        let name = format!("{size}-{kind}{k}.c");
        *k += 1;
        let src = m.kernel(b).expect("kernel").source;
        std::fs::write(format!("{dir}/{name}"), src).expect("write");
        use std::io::Write;
        writeln!(index, "{name} {w} {}", b.assignment).expect("index");
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some(WORKER_ARG) {
        std::process::exit(worker_main());
    }
    let workloads: Vec<String> = match std::env::var("WORKLOAD") {
        Ok(w) => vec![w],
        Err(_) => vec![
            "matmul(M=512,N=512,K=512)".into(),
            "matmul(M=1024,N=1024,K=1024)".into(),
        ],
    };
    let id = std::env::var("SKETCH").unwrap_or_else(|_| "cpu-tiling".into());
    let n_random: usize = env_or("RANDOM", 64);
    let seed: u64 = env_or("SEED", 1);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let picks: Vec<String> = if args.is_empty() {
        PICKS.iter().map(|s| s.to_string()).collect()
    } else {
        args
    };
    let target = host_cpu(None);
    let mut hand = measurer(0.3);
    let mut quick = measurer(0.1);
    for text in &workloads {
        let w: Workload = text.parse().expect("workload");
        let sketch = sketches(&w, &target)
            .expect("sketches")
            .into_iter()
            .find(|s| s.id == id)
            .expect("sketch id");
        let sketch = Arc::new(sketch);
        let batch = inputs(&sketch, &picks);
        if std::env::var("SHOW").is_ok() || std::env::var("EMIT").is_ok() {
            for b in &batch {
                println!("{}", hand.kernel(b).expect("kernel").source);
            }
            if std::env::var("EMIT").is_ok() {
                continue;
            }
        }
        if std::env::var("SAVE").is_err() {
            println!(
                "{w}, sketch {id}, {} threads",
                target.cpu().map_or(0, |c| c.cores)
            );
            println!(" hand-picked:");
            let g = run(&mut hand, &w, &batch, true);
            let best = g.iter().cloned().fold(0.0, f64::max);
            println!(" best hand-picked: {best:.1} GFLOP/s");
        }
        if n_random == 0 {
            continue;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sample: Vec<MeasureInput> = (0..n_random)
            .map(|_| MeasureInput {
                sketch: sketch.clone(),
                assignment: sketch.space.sample(&mut rng).expect("sample"),
            })
            .collect();
        if let Ok(dir) = std::env::var("SAVE") {
            save(&hand, &dir, &w, &batch, &sample);
            continue;
        }
        let mut g: Vec<(f64, usize)> = run(&mut quick, &w, &sample, false)
            .into_iter()
            .enumerate()
            .map(|(k, g)| (g, k))
            .collect();
        g.sort_by(|a, b| b.0.total_cmp(&a.0));
        let ok = g.iter().filter(|x| x.0 > 0.0).count();
        let at = |q: usize| g.get(q.min(g.len() - 1)).map_or(0.0, |x| x.0);
        println!(
            " random-{n_random} (seed {seed}): best {:.1}, 90th pct {:.1}, median {:.1} GFLOP/s; {ok}/{n_random} verified",
            at(0),
            at(g.len() / 10),
            at(g.len() / 2),
        );
        for &(gf, k) in g.iter().take(3) {
            println!("  {gf:7.1} GFLOP/s  {}", sample[k].assignment);
        }
    }
}
