//! The one grammar of target names, shared by the CLI's `--target` and the C ABI's
//! `tg_db_best`: `auto`, `cpu` (or `host`), `cpu:N` (N threads), `cuda` / `gpu`, `cuda:N` /
//! `gpu:N`, or a GPU preset key (`h100-sxm`, `a100`, …), case-insensitive.

use std::str::FromStr;

use tilegrad_symbolic::target::PRESETS;
use tilegrad_symbolic::Target;

use crate::Error;

/// A parsed target name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The first CUDA device, else the host CPU.
    Auto,
    /// The host CPU, with this many threads (`None`: every core).
    Cpu(Option<u32>),
    /// CUDA device `N` (`cuda` alone is device 0).
    Cuda(usize),
    /// A GPU preset key (see [`PRESETS`]).
    Preset(String),
}

impl FromStr for Selector {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let t = text.trim().to_ascii_lowercase();
        let bad = |what: &str| Error::Target(format!("{what} in target `{text}`"));
        match t.as_str() {
            "auto" => return Ok(Selector::Auto),
            "cpu" | "host" => return Ok(Selector::Cpu(None)),
            "cuda" | "gpu" => return Ok(Selector::Cuda(0)),
            _ => {}
        }
        if let Some(n) = t.strip_prefix("cpu:") {
            return match n.parse::<u32>() {
                Ok(n) if n > 0 => Ok(Selector::Cpu(Some(n))),
                _ => Err(bad("bad thread count")),
            };
        }
        if let Some(n) = t.strip_prefix("cuda:").or_else(|| t.strip_prefix("gpu:")) {
            return n
                .parse()
                .map(Selector::Cuda)
                .map_err(|_| bad("bad device ordinal"));
        }
        if PRESETS.contains(&t.as_str()) {
            return Ok(Selector::Preset(t));
        }
        Err(Error::Target(format!(
            "unknown target `{text}` (use auto, cpu, cpu:N, cuda, cuda:N or a preset: {})",
            PRESETS.join(", ")
        )))
    }
}

impl Selector {
    /// The target this names, as a description (for database lookups and sketch listings):
    /// `auto` and `cuda[:N]` query the attached hardware, `cpu` is the host CPU (with
    /// `threads` unless the name gives a count), a preset needs no GPU.
    pub fn describe(&self, threads: Option<u32>) -> Result<Target, Error> {
        let device = |n: usize| {
            tilegrad_measure::query_device(n)
                .map(|info| tilegrad_measure::target_from_device(&info))
                .map_err(|e| Error::Target(format!("no CUDA device {n}: {e}")))
        };
        match self {
            Selector::Cpu(n) => Ok(tilegrad_measure::host_cpu(n.or(threads))),
            Selector::Auto => match tilegrad_measure::cuda_device_count() {
                Ok(n) if n > 0 => device(0),
                _ => Ok(tilegrad_measure::host_cpu(threads)),
            },
            Selector::Cuda(n) => device(*n),
            Selector::Preset(key) => Target::preset(key)
                .map_err(|e| Error::Target(format!("unknown target `{key}`: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let cases = [
            ("auto", Selector::Auto),
            ("CPU", Selector::Cpu(None)),
            ("host", Selector::Cpu(None)),
            ("cpu:3", Selector::Cpu(Some(3))),
            ("cuda", Selector::Cuda(0)),
            ("gpu:2", Selector::Cuda(2)),
            ("cuda:3", Selector::Cuda(3)),
            ("h100-sxm", Selector::Preset("h100-sxm".into())),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Selector>().unwrap(), want, "{text}");
        }
        for (bad, why) in [
            ("cuda:x", "bad device ordinal"),
            ("cpu:0", "bad thread count"),
            ("nosuchgpu", "unknown target `nosuchgpu`"),
            ("", "unknown target"),
        ] {
            let e = bad.parse::<Selector>().unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn presets_and_the_cpu_describe_without_a_gpu() {
        assert_eq!(
            Selector::Preset("a100".into())
                .describe(None)
                .unwrap()
                .kind(),
            "cuda"
        );
        let cpu = Selector::Cpu(Some(1)).describe(Some(2)).unwrap();
        assert_eq!(cpu.kind(), "cpu");
        assert_eq!(cpu, tilegrad_measure::host_cpu(Some(1)));
    }
}
