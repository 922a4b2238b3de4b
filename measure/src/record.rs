//! Conversions between measurements and tuning-log records ([`tilegrad_datasets::Record`]).
//!
//! * [`target_info`]: the stable [`TargetInfo`] of a [`Target`] (records with the same key
//!   are comparable).
//! * [`outcome_of`] / [`result_of`]: a [`MeasureResult`] to the log's [`Outcome`] and back.
//!   The failure kind is the error variant in snake case ([`error_kind`]) and the message
//!   its text; the typed error comes back with the same variant and, for the variants with
//!   fields, the fields parsed back from the text (exactly: floats print in their shortest
//!   round-tripping form).
//! * [`record_of`]: the whole record of one measured candidate.

use std::sync::OnceLock;

use tilegrad_datasets::{Outcome, Provenance, Record, TargetInfo, Timings, LOG_VERSION};
use tilegrad_symbolic::{Target, TargetSpec};

use crate::{MeasureError, MeasureInput, MeasureResult, Measurement, Timing, WrongKind};

/// The first line of `$CC --version` (`cc` when unset), computed once; empty if it fails.
pub fn compiler_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        std::process::Command::new(cc)
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .map(|l| l.trim().to_string())
            })
            .unwrap_or_default()
    })
}

/// The log's description of `target`. Key: `cpu/<arch>/<model>/<threads>t/<cc version>` for
/// CPUs (the C compiler decides the code as much as the chip does), `cuda/<sm>/<name>` for
/// GPUs.
pub fn target_info(target: &Target) -> TargetInfo {
    match &target.spec {
        TargetSpec::Cpu(c) => {
            let toolchain = compiler_version().to_string();
            let arch = std::env::consts::ARCH;
            TargetInfo {
                key: format!("cpu/{arch}/{}/{}t/{toolchain}", target.name, c.cores),
                kind: "cpu".into(),
                name: target.name.clone(),
                arch: String::new(),
                units: c.cores,
                driver: String::new(),
                toolchain,
            }
        }
        TargetSpec::Cuda(g) => TargetInfo {
            key: format!("cuda/{}/{}", g.arch, target.name),
            kind: "cuda".into(),
            name: target.name.clone(),
            arch: g.arch.clone(),
            units: g.sm_count,
            driver: String::new(),
            toolchain: String::new(),
        },
    }
}

/// The failure kind of `e` in the log: its variant in snake case.
pub fn error_kind(e: &MeasureError) -> &'static str {
    match e {
        MeasureError::BuildError { .. } => "build_error",
        MeasureError::BuildTimeout { .. } => "build_timeout",
        MeasureError::LoadError(_) => "load_error",
        MeasureError::LaunchError(_) => "launch_error",
        MeasureError::RunTimeout { .. } => "run_timeout",
        MeasureError::Crash { .. } => "crash",
        MeasureError::WrongAnswer { .. } => "wrong_answer",
        MeasureError::Unavailable(_) => "unavailable",
        MeasureError::Codegen(_) => "codegen",
        MeasureError::NotInLog(_) => "not_in_log",
        MeasureError::Invalid(_) => "invalid",
        MeasureError::Worker(_) => "worker",
        MeasureError::Io(_) => "io",
    }
}

/// The message stored for `e`: the payload for the text-only variants (so the compiler log
/// stays readable), the error's `Display` text otherwise.
fn error_message(e: &MeasureError) -> String {
    match e {
        MeasureError::BuildError { log } => log.clone(),
        MeasureError::LoadError(s)
        | MeasureError::LaunchError(s)
        | MeasureError::Unavailable(s)
        | MeasureError::Codegen(s)
        | MeasureError::NotInLog(s)
        | MeasureError::Invalid(s)
        | MeasureError::Worker(s)
        | MeasureError::Io(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The log outcome of a measurement.
pub fn outcome_of(result: &MeasureResult) -> Outcome {
    match result {
        Ok(m) => Outcome::Ok(Timings {
            samples_s: m.timing.samples_s.clone(),
            median_s: m.timing.median_s,
            spread: m.timing.spread,
            build_s: m.build_s,
            interference: m.timing.interference,
        }),
        Err(e) => Outcome::Error {
            kind: error_kind(e).to_string(),
            message: error_message(e),
        },
    }
}

/// The number that follows `after` in `text` (up to the next space, comma or parenthesis).
fn number_after<T: std::str::FromStr>(text: &str, after: &str) -> Option<T> {
    let start = text.find(after)? + after.len();
    let rest = &text[start..];
    let end = rest.find([' ', ',', ')', ':']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Parses `Some(11)` / `None` after `after`.
fn option_after(text: &str, after: &str) -> Option<i32> {
    let start = text.find(after)? + after.len();
    let rest = text[start..].strip_prefix("Some(")?;
    rest[..rest.find(')')?].parse().ok()
}

fn wrong_kind(text: &str) -> WrongKind {
    let name = text
        .find('(')
        .and_then(|i| text[i + 1..].split(')').next())
        .unwrap_or("");
    match name {
        "NonFinite" => WrongKind::NonFinite,
        "Unwritten" => WrongKind::Unwritten,
        "OutOfBounds" => WrongKind::OutOfBounds,
        "InputModified" => WrongKind::InputModified,
        _ => WrongKind::Mismatch,
    }
}

/// The typed error of a failure logged as `kind` with `message` (fields the text does not
/// give are 0 / `None`); an unknown kind becomes [`MeasureError::Invalid`] naming it.
fn error_of(kind: &str, message: &str) -> MeasureError {
    let m = message.to_string();
    match kind {
        "build_error" => MeasureError::BuildError { log: m },
        "build_timeout" => MeasureError::BuildTimeout {
            limit_s: number_after(message, "after ").unwrap_or(0.0),
        },
        "load_error" => MeasureError::LoadError(m),
        "launch_error" => MeasureError::LaunchError(m),
        "run_timeout" => MeasureError::RunTimeout {
            limit_s: number_after(message, "after ").unwrap_or(0.0),
        },
        "crash" => MeasureError::Crash {
            signal: option_after(message, "(signal "),
            exit_code: option_after(message, ", exit code "),
            detail: message
                .find("): ")
                .map(|i| message[i + 3..].to_string())
                .unwrap_or_default(),
        },
        "wrong_answer" => MeasureError::WrongAnswer {
            kind: wrong_kind(message),
            max_abs_err: number_after(message, "max abs err ").unwrap_or(0.0),
            max_rel_err: number_after(message, "max rel err ").unwrap_or(0.0),
            first_bad_index: number_after(message, "first bad index ").unwrap_or(0),
        },
        "unavailable" => MeasureError::Unavailable(m),
        "codegen" => MeasureError::Codegen(m),
        "not_in_log" => MeasureError::NotInLog(m),
        "invalid" => MeasureError::Invalid(m),
        "worker" => MeasureError::Worker(m),
        "io" => MeasureError::Io(m),
        other => MeasureError::Invalid(format!("unknown failure kind `{other}` in log: {m}")),
    }
}

/// The measurement result a log outcome stands for (inverse of [`outcome_of`]).
pub fn result_of(outcome: &Outcome) -> MeasureResult {
    match outcome {
        Outcome::Ok(t) => {
            let min_s = t
                .samples_s
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
                .min(t.median_s);
            Ok(Measurement {
                timing: Timing {
                    samples_s: t.samples_s.clone(),
                    median_s: t.median_s,
                    min_s,
                    spread: t.spread,
                    interference: t.interference,
                },
                build_s: t.build_s,
            })
        }
        Outcome::Error { kind, message } => Err(error_of(kind, message)),
    }
}

/// The log record of one measured candidate.
pub fn record_of(
    input: &MeasureInput,
    target: &TargetInfo,
    result: &MeasureResult,
    provenance: Provenance,
) -> Record {
    let w = &input.sketch.workload;
    Record {
        v: LOG_VERSION,
        workload_key: w.key().to_string(),
        workload: w.to_string(),
        target: target.clone(),
        sketch: input.sketch.id.clone(),
        assignment: input.assignment.to_string(),
        outcome: outcome_of(result),
        provenance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_round_trips() {
        let errors = [
            MeasureError::BuildError {
                log: "x.c:1: error: expected ';'\nmore".into(),
            },
            MeasureError::BuildTimeout { limit_s: 30.5 },
            MeasureError::LoadError("dlopen failed".into()),
            MeasureError::LaunchError("too many resources".into()),
            MeasureError::RunTimeout { limit_s: 0.1 },
            MeasureError::Crash {
                signal: Some(11),
                exit_code: None,
                detail: "SIGSEGV: at 0x0".into(),
            },
            MeasureError::Crash {
                signal: None,
                exit_code: Some(-3),
                detail: String::new(),
            },
            MeasureError::WrongAnswer {
                kind: WrongKind::OutOfBounds,
                max_abs_err: 1.25e-3,
                max_rel_err: 0.1 + 0.2,
                first_bad_index: -4,
            },
            MeasureError::WrongAnswer {
                kind: WrongKind::NonFinite,
                max_abs_err: f64::INFINITY,
                max_rel_err: 0.0,
                first_bad_index: 7,
            },
            MeasureError::Unavailable("no cc".into()),
            MeasureError::Codegen("launch too large".into()),
            MeasureError::NotInLog("k/s/a=1".into()),
            MeasureError::Invalid("bad".into()),
            MeasureError::Worker("died".into()),
            MeasureError::Io("disk full".into()),
        ];
        for e in errors {
            let r: MeasureResult = Err(e.clone());
            let o = outcome_of(&r);
            assert_eq!(result_of(&o), r, "{o:?}");
        }
        let unknown = Outcome::Error {
            kind: "gremlins".into(),
            message: "m".into(),
        };
        assert!(
            matches!(result_of(&unknown), Err(MeasureError::Invalid(m)) if m.contains("gremlins"))
        );
    }

    #[test]
    fn timings_round_trip() {
        let t = Timing::from_samples(vec![3e-3, 1e-3, 2e-3]).unwrap();
        let r: MeasureResult = Ok(Measurement {
            timing: t,
            build_s: 0.25,
        });
        assert_eq!(result_of(&outcome_of(&r)), r);
    }

    #[test]
    fn target_keys_are_stable_and_distinct() {
        let gpu = Target::preset("h100-sxm").unwrap();
        let info = target_info(&gpu);
        assert_eq!(info.key, "cuda/sm_90/NVIDIA H100 SXM5 80GB");
        assert_eq!((info.kind.as_str(), info.units), ("cuda", 132));
        let cpu1 = crate::host::cpu_target(
            &crate::host::parse_cpuinfo("model name : Zen\nflags : avx2"),
            1,
            (1, 2, 3),
        );
        let mut cpu2 = cpu1.clone();
        if let TargetSpec::Cpu(c) = &mut cpu2.spec {
            c.cores = 2;
        }
        let (a, b) = (target_info(&cpu1), target_info(&cpu2));
        assert!(
            a.key.starts_with("cpu/") && a.key.contains("/Zen/1t/"),
            "{}",
            a.key
        );
        assert_ne!(a.key, b.key);
        assert_eq!(a, target_info(&cpu1));
    }
}
