//! `tilegrad devices`: the host CPU target, the CUDA devices and NVRTC.

use clap::Args;
use serde_json::json;
use tilegrad_measure::{cuda_device_count, nvrtc_version, query_device, DeviceInfo};
use tilegrad_symbolic::Target;

use super::util::bytes;
use tilegrad_measure::gpu_target::target_from_device as device_target;

/// Arguments of `tilegrad devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Print the targets (CPU first, then each CUDA device) and the CUDA/NVRTC status as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What was found: the CPU, the CUDA devices or why there are none, NVRTC or why not.
struct Found {
    cpu: Target,
    cuda: Result<Vec<(DeviceInfo, Target)>, String>,
    nvrtc: Result<(u32, u32), String>,
}

fn discover() -> Found {
    let cuda = cuda_device_count()
        .map_err(|e| e.to_string())
        .and_then(|n| {
            (0..n)
                .map(|i| {
                    query_device(i)
                        .map(|info| {
                            let t = device_target(&info);
                            (info, t)
                        })
                        .map_err(|e| e.to_string())
                })
                .collect()
        });
    Found {
        cpu: tilegrad_measure::host_cpu(None),
        cuda,
        nvrtc: nvrtc_version().map_err(|e| e.to_string()),
    }
}

/// Runs the command.
pub fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let found = discover();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&found))?);
    } else {
        print_text(&found);
    }
    Ok(())
}

fn to_json(f: &Found) -> serde_json::Value {
    let mut targets = vec![serde_json::to_value(&f.cpu).unwrap_or_default()];
    let (devices, cuda_error) = match &f.cuda {
        Ok(d) => (d.as_slice(), None),
        Err(e) => (&[][..], Some(e.clone())),
    };
    targets.extend(
        devices
            .iter()
            .map(|(_, t)| serde_json::to_value(t).unwrap_or_default()),
    );
    json!({
        "targets": targets,
        "cuda": {
            "device_count": devices.len(),
            "devices": devices.iter().map(|(i, _)| i).collect::<Vec<_>>(),
            "error": cuda_error,
        },
        "nvrtc": {
            "version": f.nvrtc.as_ref().ok().map(|(a, b)| format!("{a}.{b}")),
            "error": f.nvrtc.as_ref().err(),
        },
    })
}

fn print_text(f: &Found) {
    println!("CPU (target `cpu`)");
    println!("  model:      {}", f.cpu.name);
    if let Some(c) = f.cpu.cpu() {
        println!("  cores:      {}", c.cores);
        println!(
            "  SIMD:       {} bytes ({} f32 lanes)",
            c.simd_bytes,
            c.simd_bytes / 4
        );
        println!(
            "  caches:     L1d {}, L2 {}, L3 {}",
            bytes(c.l1_bytes),
            bytes(c.l2_bytes),
            bytes(c.l3_bytes)
        );
        println!(
            "  peak FP32:  {:.1} GFLOP/s (estimate), memory {:.0} GB/s (estimate)",
            c.peak_fp32 / 1e9,
            c.mem_bandwidth / 1e9
        );
    }
    println!();
    match &f.cuda {
        Err(e) => println!("CUDA: none ({e})"),
        Ok(devs) => {
            println!("CUDA: {} device(s)", devs.len());
            for (d, t) in devs {
                print_device(d, t);
            }
        }
    }
    match &f.nvrtc {
        Ok((a, b)) => println!("NVRTC: available, version {a}.{b}"),
        Err(e) => println!("NVRTC: not available ({e})"),
    }
}

fn print_device(d: &DeviceInfo, t: &Target) {
    println!(
        "  [{}] {} (compute capability {}.{})",
        d.ordinal, d.name, d.compute_capability.0, d.compute_capability.1
    );
    println!(
        "      SMs {}, warp {}, threads/block {}, threads/SM {}",
        d.sm_count, d.warp_size, d.max_threads_per_block, d.max_threads_per_sm
    );
    println!(
        "      shared memory/block {} (opt-in {}), /SM {}, registers/SM {}",
        bytes(d.shared_mem_per_block),
        bytes(d.shared_mem_per_block_optin),
        bytes(d.shared_mem_per_sm),
        d.regs_per_sm
    );
    println!(
        "      memory {}, L2 {}, SM clock {} MHz",
        bytes(d.global_mem_bytes),
        bytes(d.l2_bytes),
        d.clock_khz / 1000
    );
    println!(
        "      peak FP32 {:.1} TFLOP/s, memory {:.0} GB/s (estimates)",
        t.peak_fp32() / 1e12,
        t.mem_bandwidth() / 1e9
    );
    println!(
        "      driver CUDA {}.{}, bindings CUDA {}.{}",
        d.driver_version.0, d.driver_version.1, d.cuda_version.0, d.cuda_version.1
    );
}
