//! GPU sweep: random legal candidates of every GPU sketch of ResNet-50 (batch 1) and LLaMA-7B
//! (batch 1) tasks, built with NVRTC in parallel, verified against the reference and timed on
//! the GPU through the real [`CudaMeasurer`] path. One JSON line per candidate.
//!
//! ```text
//! cargo build --release -p tilegrad-measure --example gpu_sweep
//! target/release/examples/gpu_sweep --out sweep.jsonl [--tasks-out tasks.json]
//!     [--per-sketch 4] [--seed 1] [--nets resnet50,llama_7b] [--only 0,3,27] [--max-tasks N]
//!     [--time-limit 300] [--run-timeout 1.0] [--cubin] [--dry-run]
//! ```
//! `--dry-run` needs no GPU: it generates the candidates for the `h100-sxm` preset and compiles
//! them with NVRTC only. Without a GPU a real run stops with the `Unavailable` error (exit 3).
//! The binary is its own measurement worker (`gpu_sweep __worker`).

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tilegrad_measure::cuda_measurer::candidate_kernel;
use tilegrad_measure::record::error_kind;
use tilegrad_measure::{
    compile_cuda_batch, nvrtc_version, query_device, target_from_device, CudaImageKind,
    CudaMeasurer, CudaMeasurerConfig, MeasureError, MeasureInput, Measurer, NvrtcOptions,
    RunnerConfig, TimingConfig, WorkerConfig,
};
use tilegrad_symbolic::constraints::CONSTRAINT_TOL;
use tilegrad_symbolic::{direct_violations, Target};
use tilegrad_templates::{sketches, Workload};

struct Args {
    out: String,
    tasks_out: Option<String>,
    per_sketch: usize,
    seed: u64,
    nets: Vec<String>,
    only: Option<Vec<usize>>,
    max_tasks: usize,
    time_limit_s: f64,
    run_timeout_s: f64,
    cubin: bool,
    dry_run: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        out: String::new(),
        tasks_out: None,
        per_sketch: 4,
        seed: 1,
        nets: vec!["resnet50".into(), "llama_7b".into()],
        only: None,
        max_tasks: usize::MAX,
        time_limit_s: f64::INFINITY,
        run_timeout_s: 1.0,
        cubin: false,
        dry_run: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or(format!("{k} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|e| format!("{v}: {e}"));
        match k.as_str() {
            "--out" => a.out = val()?,
            "--tasks-out" => a.tasks_out = Some(val()?),
            "--per-sketch" => a.per_sketch = num(val()?)? as usize,
            "--seed" => a.seed = num(val()?)? as u64,
            "--nets" => a.nets = val()?.split(',').map(String::from).collect(),
            "--only" => {
                let v = val()?;
                let idx: Result<Vec<usize>, _> = v.split(',').map(str::parse).collect();
                a.only = Some(idx.map_err(|e| format!("--only {v}: {e}"))?);
            }
            "--max-tasks" => a.max_tasks = num(val()?)? as usize,
            "--time-limit" => a.time_limit_s = num(val()?)?,
            "--run-timeout" => a.run_timeout_s = num(val()?)?,
            "--cubin" => a.cubin = true,
            "--dry-run" => a.dry_run = true,
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    if a.out.is_empty() {
        return Err("--out PATH is required".into());
    }
    Ok(a)
}

/// A network task: (network, index in its list, weight, workload).
type Task = (String, usize, u32, Workload);

fn tasks(a: &Args) -> Result<Vec<Task>, String> {
    let mut all = Vec::new();
    for net in &a.nets {
        let list = tilegrad_datasets::networks::load(net, 1).map_err(|e| e.to_string())?;
        for (i, t) in list.into_iter().enumerate() {
            all.push((net.clone(), i, t.weight, t.workload));
        }
    }
    if let Some(only) = &a.only {
        all = only.iter().filter_map(|&i| all.get(i).cloned()).collect();
    }
    all.truncate(a.max_tasks);
    Ok(all)
}

/// Seeded random candidates (distinct per sketch) of every GPU sketch of `w` that satisfy the
/// target's hardware constraints (threads, shared memory, registers, vector width:
/// [`direct_violations`]), as a tuner's candidate generation would filter them. At most
/// `TRIES` samples per sketch.
fn candidates(w: &Workload, target: &Target, per_sketch: usize, seed: u64) -> Vec<MeasureInput> {
    const TRIES: usize = 400;
    let Ok(all) = sketches(w, target) else {
        return Vec::new();
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for s in all.into_iter().filter(|s| s.tree.is_gpu()) {
        let s = Arc::new(s);
        let mut seen = HashSet::new();
        for _ in 0..TRIES {
            if seen.len() == per_sketch {
                break;
            }
            let Ok(a) = s.sample(&mut rng) else { break };
            let legal = s
                .instantiate(&a)
                .ok()
                .and_then(|t| direct_violations(&t, target).ok());
            if !legal.is_some_and(|v| v.iter().all(|c| c.1 <= CONSTRAINT_TOL)) {
                continue;
            }
            if seen.insert(a.to_string()) {
                out.push(MeasureInput {
                    sketch: s.clone(),
                    assignment: a,
                });
            }
        }
    }
    out
}

fn short(text: &str) -> String {
    text.chars().take(600).collect()
}

/// The JSON line of one candidate.
fn line(
    task: &Task,
    inp: &MeasureInput,
    r: &Result<tilegrad_measure::Measurement, MeasureError>,
) -> Value {
    let (net, idx, weight, w) = task;
    let k = candidate_kernel(inp).ok();
    let mut v = json!({
        "network": net, "task_index": idx, "weight": weight, "workload": w.to_string(),
        "sketch": inp.sketch.id, "assignment": inp.assignment.to_string(),
        "grid": k.as_ref().map(|k| k.grid), "block": k.as_ref().map(|k| k.block),
        "shared_bytes": k.as_ref().map(|k| k.shared_bytes),
    });
    let bytes: usize = w
        .input_shapes()
        .iter()
        .chain([&w.output_shape()])
        .map(|s| s.iter().product::<usize>() * 4)
        .sum();
    match r {
        Ok(m) => {
            let t = &m.timing;
            v["ok"] = json!(true);
            v["median_s"] = json!(t.median_s);
            v["min_s"] = json!(t.min_s);
            v["spread"] = json!(t.spread);
            v["samples"] = json!(t.samples_s.len());
            v["build_s"] = json!(m.build_s);
            v["gflops"] = json!(w.flops() / t.median_s / 1e9);
            v["gbps"] = json!(bytes as f64 / t.median_s / 1e9);
        }
        Err(e) => {
            v["ok"] = json!(false);
            v["error_kind"] = json!(error_kind(e));
            v["error"] = json!(short(&e.to_string()));
        }
    }
    v
}

/// NVRTC only, no GPU: how many candidates generate and compile.
fn dry_run(a: &Args, tasks: &[Task], target: &Target) -> Result<(), String> {
    let opts = NvrtcOptions {
        arch: (9, 0),
        output: if a.cubin {
            CudaImageKind::Cubin
        } else {
            CudaImageKind::Ptx
        },
        ..NvrtcOptions::default()
    };
    let mut out = std::fs::File::create(&a.out).map_err(|e| e.to_string())?;
    let (mut n, mut ok) = (0, 0);
    for (ti, task) in tasks.iter().enumerate() {
        let t0 = Instant::now();
        let batch = candidates(&task.3, target, a.per_sketch, a.seed + ti as u64);
        let t1 = t0.elapsed().as_secs_f64();
        let kernels: Vec<_> = batch.iter().map(candidate_kernel).collect();
        let good: Vec<_> = kernels
            .iter()
            .filter_map(|k| k.as_ref().ok().cloned())
            .collect();
        let mut built = compile_cuda_batch(&good, &opts).into_iter();
        for (inp, k) in batch.iter().zip(kernels) {
            let r = k.and_then(|_| {
                built
                    .next()
                    .unwrap_or(Err(MeasureError::Worker("lost".into())))
            });
            n += 1;
            let mut v = line(task, inp, &Err(MeasureError::Unavailable("dry run".into())));
            if let Err(e) = &r {
                v["error_kind"] = json!(error_kind(e));
                v["error"] = json!(short(&e.to_string()));
            } else {
                ok += 1;
            }
            writeln!(out, "{v}").map_err(|e| e.to_string())?;
        }
        println!(
            "#{ti} `{}`: {} candidates, generated in {t1:.2} s, compiled in {:.2} s",
            task.3,
            batch.len(),
            t0.elapsed().as_secs_f64() - t1
        );
    }
    println!(
        "dry run: {ok}/{n} candidates of {} tasks compiled with NVRTC",
        tasks.len()
    );
    Ok(())
}

fn run() -> Result<(), (i32, String)> {
    let a = parse_args().map_err(|e| (2, e))?;
    let tasks = tasks(&a).map_err(|e| (2, e))?;
    let fail = |e: String| (1, e);
    if let Some(p) = &a.tasks_out {
        let v: Vec<Value> = tasks
            .iter()
            .map(|(net, i, wt, w)| {
                json!({"network": net, "task_index": i, "weight": wt,
                "workload": w.to_string(), "flops": w.flops()})
            })
            .collect();
        std::fs::write(p, serde_json::to_string_pretty(&v).unwrap_or_default())
            .map_err(|e| fail(e.to_string()))?;
    }
    if a.dry_run {
        let target = Target::preset("h100-sxm").map_err(|e| fail(e.to_string()))?;
        return dry_run(&a, &tasks, &target).map_err(fail);
    }
    let info = query_device(0).map_err(|e| (3, e.to_string()))?;
    println!(
        "device: {}",
        serde_json::to_string(&info).unwrap_or_default()
    );
    match nvrtc_version() {
        Ok((ma, mi)) => println!("nvrtc: {ma}.{mi}"),
        Err(e) => println!("nvrtc: {e}"),
    }
    let target = target_from_device(&info);
    let runner = RunnerConfig {
        worker: WorkerConfig::self_hosted(&["__worker"]).map_err(|e| fail(e.to_string()))?,
        timing: TimingConfig {
            warmup: 2,
            min_repeat: 5,
            max_repeat: 200,
            min_time_s: 0.02,
            run_timeout_s: a.run_timeout_s,
            ..TimingConfig::default()
        },
        cubin: a.cubin,
        ..RunnerConfig::default()
    };
    let cfg = CudaMeasurerConfig {
        runner,
        target: Some(target.clone()),
        seed: a.seed,
        ..CudaMeasurerConfig::default()
    };
    let mut m = CudaMeasurer::new(cfg).map_err(|e| (3, e.to_string()))?;
    let start = Instant::now();
    let workloads: Vec<Workload> = tasks.iter().map(|t| t.3.clone()).collect();
    let prepared = m.prepare(&workloads);
    println!(
        "references of {} tasks in {:.1} s",
        tasks.len(),
        start.elapsed().as_secs_f64()
    );
    let mut out = std::fs::File::create(&a.out).map_err(|e| fail(e.to_string()))?;
    let (mut n, mut ok) = (0usize, 0usize);
    for (ti, (task, prep)) in tasks.iter().zip(prepared).enumerate() {
        if start.elapsed().as_secs_f64() > a.time_limit_s {
            println!(
                "time limit reached: {} tasks left unmeasured",
                tasks.len() - ti
            );
            break;
        }
        if let Err(e) = prep {
            println!("task {} `{}`: reference failed: {e}", task.1, task.3);
            continue;
        }
        let t0 = Instant::now();
        let batch = candidates(&task.3, &target, a.per_sketch, a.seed + ti as u64);
        let results = m.measure(&batch);
        let mut best: Option<(f64, String)> = None;
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for (inp, r) in batch.iter().zip(&results) {
            let v = line(task, inp, r);
            writeln!(out, "{v}").map_err(|e| fail(e.to_string()))?;
            n += 1;
            match r {
                Ok(t) => {
                    ok += 1;
                    if best.as_ref().is_none_or(|b| t.timing.median_s < b.0) {
                        best = Some((t.timing.median_s, inp.sketch.id.clone()));
                    }
                }
                Err(e) => *kinds.entry(error_kind(e)).or_default() += 1,
            }
        }
        out.flush().map_err(|e| fail(e.to_string()))?;
        let best = best.map_or("none".into(), |(s, id)| {
            format!(
                "{:.1} us ({:.1} GFLOP/s, {id})",
                s * 1e6,
                task.3.flops() / s / 1e9
            )
        });
        println!(
            "{} #{} `{}`: {} candidates in {:.1} s, best {best}, failures {kinds:?}",
            task.0,
            task.1,
            task.3,
            batch.len(),
            t0.elapsed().as_secs_f64()
        );
    }
    println!(
        "{ok}/{n} candidates verified and timed in {:.1} s; worker starts {}",
        start.elapsed().as_secs_f64(),
        m.worker_starts()
    );
    Ok(())
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("__worker") {
        std::process::exit(tilegrad_measure::worker_main());
    }
    if let Err((code, e)) = run() {
        eprintln!("gpu_sweep: {e}");
        std::process::exit(code);
    }
}
