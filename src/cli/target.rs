//! The `--target` selector: `auto`, `cpu[:N]`, `cuda[:N]` or a GPU preset name
//! ([`Selector`], shared with the C ABI).
//!
//! Two resolutions: [`measurable`] finds hardware to measure on (a preset then means "the
//! attached GPU, which must match this preset"), [`describe`] only needs a [`Target`]
//! description (database lookups, sketch listings), so a preset needs no GPU.

use anyhow::Context;
pub use tilegrad::target::Selector;
use tilegrad_measure::{cuda_device_count, query_device, target_from_device};
use tilegrad_symbolic::Target;

use super::util::bad_input;

/// A resolved target and, for a CUDA target with hardware, the device ordinal.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The target description.
    pub target: Target,
    /// The CUDA device to measure on, if any.
    pub device: Option<usize>,
}

/// Parses a `--target` value ([`Selector`], the grammar the C ABI shares); anything else is
/// [`BadInput`].
pub fn parse(text: &str) -> anyhow::Result<Selector> {
    text.parse::<Selector>()
        .map_err(|e| bad_input(e.to_string()))
}

fn cuda_device(n: usize) -> anyhow::Result<Resolved> {
    let info = query_device(n).with_context(|| format!("no CUDA device {n}"))?;
    Ok(Resolved {
        target: target_from_device(&info),
        device: Some(n),
    })
}

/// Hardware to measure on. `auto` is the first CUDA device, else the host CPU; a preset
/// must match an attached GPU (same architecture and SM count), else it is an error naming
/// what is attached.
pub fn measurable(text: &str, threads: Option<u32>) -> anyhow::Result<Resolved> {
    let cpu = |n: Option<u32>| Resolved {
        target: tilegrad_measure::host_cpu(n.or(threads)),
        device: None,
    };
    match parse(text)? {
        Selector::Cpu(n) => Ok(cpu(n)),
        Selector::Auto => match cuda_device_count() {
            Ok(n) if n > 0 => cuda_device(0),
            _ => Ok(cpu(None)),
        },
        Selector::Cuda(n) => cuda_device(n),
        Selector::Preset(key) => {
            let want = Target::preset(&key)?;
            let n = cuda_device_count().with_context(|| {
                format!("`--target {key}` measures on a matching GPU, and there is none")
            })?;
            let mut seen = Vec::new();
            for i in 0..n {
                let r = cuda_device(i)?;
                if same_gpu(&r.target, &want) {
                    return Ok(r);
                }
                seen.push(format!("[{i}] {}", r.target.name));
            }
            anyhow::bail!(
                "no attached GPU matches preset `{key}` ({}); attached: {}",
                want.name,
                if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(", ")
                }
            )
        }
    }
}

/// A target description only ([`Selector::describe`]): `auto` and `cuda[:N]` query the
/// hardware, `cpu` is the host CPU, a preset needs no hardware.
pub fn describe(text: &str, threads: Option<u32>) -> anyhow::Result<Target> {
    Ok(parse(text)?.describe(threads)?)
}

/// Whether two GPU targets are the same device class: same architecture and SM count.
pub fn same_gpu(a: &Target, b: &Target) -> bool {
    match (a.gpu(), b.gpu()) {
        (Some(x), Some(y)) => x.arch == y.arch && x.sm_count == y.sm_count,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::BadInput;

    #[test]
    fn bad_names_are_bad_input() {
        assert_eq!(parse("CPU:2").unwrap(), Selector::Cpu(Some(2)));
        for bad in ["cuda:x", "nosuchgpu", "", "cpu:0"] {
            let e = parse(bad).unwrap_err();
            assert!(e.downcast_ref::<BadInput>().is_some(), "{bad}: {e:#}");
        }
    }

    #[test]
    fn presets_describe_without_hardware_and_match_by_arch_and_sms() {
        let a = describe("a100", None).unwrap();
        assert_eq!(a.kind(), "cuda");
        assert_eq!(describe("cpu", Some(1)).unwrap().kind(), "cpu");
        let sxm = Target::preset("h100-sxm").unwrap();
        assert!(same_gpu(&sxm, &Target::preset("h200").unwrap()));
        assert!(!same_gpu(&sxm, &Target::preset("h100-pcie").unwrap()));
        assert!(!same_gpu(&sxm, &describe("cpu", Some(1)).unwrap()));
    }

    #[test]
    fn a_preset_without_its_gpu_is_a_clear_error() {
        if cuda_device_count().unwrap_or(0) > 0 {
            return; // covered on GPU machines by the match itself
        }
        let e = measurable("t4", None).unwrap_err();
        assert!(format!("{e:#}").contains("matching GPU"), "{e:#}");
        assert_eq!(measurable("auto", Some(1)).unwrap().target.kind(), "cpu");
    }
}

/// Where a tuning command measures: `--target` and `--threads` (of `tune` and `bench
/// search`).
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    /// Where to measure: `auto` (the first GPU, else the CPU), `cpu[:N]`, `cuda`, `cuda:N`, or a
    /// GPU preset name (the attached GPU must then match it).
    #[arg(long, default_value = "auto")]
    pub target: String,
    /// CPU threads for the kernels (default: all cores); part of the CPU target's identity.
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
}
