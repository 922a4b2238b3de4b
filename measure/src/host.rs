//! The host CPU as a [`Target`]: model, cores, SIMD width and caches read from the machine.
//!
//! Read from `/proc/cpuinfo` and `/sys/devices/system/cpu/cpu0/cache/` (Linux). Rates are
//! estimates, documented with their formulas: peak FP32 = cores × clock × lanes × 2 (FMA)
//! × 2 (FMA pipes, true of every x86 core with AVX2 or AVX-512 since Haswell / Zen 2);
//! memory bandwidth = 10 GB/s per core, capped at 100 GB/s (a rough prior: the cost model
//! learns the real behaviour from measurements).

use std::path::Path;

use tilegrad_symbolic::{CpuSpec, Target, TargetSpec};

/// Facts parsed from `/proc/cpuinfo`.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuInfo {
    /// `model name`.
    pub model: String,
    /// Clock in MHz (`cpu MHz` of the first processor).
    pub mhz: f64,
    /// SIMD register width in bytes from the flags (64 with `avx512f`, 32 with `avx2`/`avx`, else 16).
    pub simd_bytes: u32,
}

/// Parses the text of `/proc/cpuinfo`.
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let field = |name: &str| {
        text.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()))
    };
    let flags = field("flags").unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let simd_bytes = if has("avx512f") {
        64
    } else if has("avx2") || has("avx") {
        32
    } else {
        16
    };
    CpuInfo {
        model: field("model name").unwrap_or_else(|| "unknown CPU".into()),
        mhz: field("cpu MHz")
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000.0),
        simd_bytes,
    }
}

/// Parses a sysfs cache size such as `32K`, `1024K`, `32M`.
pub fn parse_cache_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, mult) = match t.chars().last()? {
        'K' => (&t[..t.len() - 1], 1024),
        'M' => (&t[..t.len() - 1], 1024 * 1024),
        'G' => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        _ => (t, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

fn read_caches(dir: &Path) -> (u64, u64, u64) {
    let (mut l1, mut l2, mut l3) = (32 * 1024, 1024 * 1024, 8 * 1024 * 1024);
    for i in 0..8 {
        let d = dir.join(format!("index{i}"));
        let read = |f: &str| std::fs::read_to_string(d.join(f)).ok();
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size"))
        else {
            continue;
        };
        let Some(size) = parse_cache_size(&size) else {
            continue;
        };
        match (level.trim(), kind.trim()) {
            ("1", "Data") => l1 = size,
            ("2", _) => l2 = size,
            ("3", _) => l3 = size,
            _ => {}
        }
    }
    (l1, l2, l3)
}

/// The CPU target for `info` with `cores` cores and the given cache sizes (see the module
/// docs for the rate formulas).
pub fn cpu_target(info: &CpuInfo, cores: u32, caches: (u64, u64, u64)) -> Target {
    let lanes = f64::from(info.simd_bytes / 4);
    let cores = cores.max(1);
    Target {
        name: info.model.clone(),
        spec: TargetSpec::Cpu(CpuSpec {
            cores,
            simd_bytes: info.simd_bytes,
            l1_bytes: caches.0,
            l2_bytes: caches.1,
            l3_bytes: caches.2,
            mem_bandwidth: (10e9 * f64::from(cores)).min(100e9),
            peak_fp32: f64::from(cores) * info.mhz * 1e6 * lanes * 4.0,
        }),
    }
}

/// The host CPU, using `threads` cores (all available ones when `None`).
pub fn host_cpu(threads: Option<u32>) -> Target {
    let info = parse_cpuinfo(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
    let avail = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let caches = read_caches(Path::new("/sys/devices/system/cpu/cpu0/cache"));
    cpu_target(&info, threads.unwrap_or(avail).min(avail.max(1)), caches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpuinfo_and_caches() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2445.406\nflags\t\t: fpu sse2 avx fma avx2\n\nprocessor\t: 1\n";
        let info = parse_cpuinfo(text);
        assert_eq!(
            info,
            CpuInfo {
                model: "AMD EPYC".into(),
                mhz: 2445.406,
                simd_bytes: 32
            }
        );
        assert_eq!(parse_cpuinfo("flags : sse2 avx512f avx2").simd_bytes, 64);
        assert_eq!(parse_cache_size("32K\n"), Some(32768));
        assert_eq!(parse_cache_size("32M"), Some(32 << 20));
        assert_eq!(parse_cache_size("junk"), None);
        let t = cpu_target(&info, 2, (65536, 1 << 20, 32 << 20));
        let c = t.cpu().unwrap();
        assert_eq!((c.cores, c.simd_bytes, c.l1_bytes), (2, 32, 65536));
        assert!((c.peak_fp32 - 2.0 * 2445.406e6 * 8.0 * 4.0).abs() < 1.0);
    }

    #[test]
    fn host_cpu_is_sane() {
        let t = host_cpu(None);
        let c = t.cpu().unwrap();
        assert!(c.cores >= 1 && c.simd_bytes >= 16 && c.l1_bytes > 0 && c.peak_fp32 > 0.0);
        assert_eq!(host_cpu(Some(1)).cpu().unwrap().cores, 1);
    }
}
