//! Helpers shared by the commands: input errors, workload and target parsing, number
//! formatting.

use std::fmt;

use anyhow::Context;
use tilegrad_symbolic::Target;
use tilegrad_templates::Workload;

/// Marks an error as bad usage or bad input (exit code 2).
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// A [`BadInput`] error with no further cause.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// Parses a workload's canonical text; a parse or validation error is [`BadInput`].
pub fn parse_workload(text: &str) -> anyhow::Result<Workload> {
    let w: Workload = text
        .parse()
        .with_context(|| BadInput(format!("malformed workload `{text}`")))?;
    w.validate()
        .with_context(|| BadInput(format!("invalid workload `{text}`")))?;
    Ok(w)
}

/// The target named on the command line, as a description (see [`super::target::describe`]).
pub fn resolve_target(name: &str, threads: Option<u32>) -> anyhow::Result<Target> {
    super::target::describe(name, threads)
}

/// A duration for clap: seconds (`90`, `90s`, `1.5`), minutes (`5m`) or hours (`1h`);
/// positive and finite.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (num, scale) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        _ => (t, 1.0),
    };
    match num.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x * scale),
        _ => Err(format!(
            "`{text}` is not a positive duration (e.g. 90, 90s, 5m, 1h)"
        )),
    }
}

/// Bytes with a binary unit: `48 KiB`, `1.5 MiB`, `80.0 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < UNITS.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 || x.fract() == 0.0 {
        format!("{x:.0} {}", UNITS[u])
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}

/// A count that may be huge: plain below a million, else scientific (`3.2e9`).
pub fn count(x: f64) -> String {
    if x < 1e6 {
        format!("{x:.0}")
    } else {
        format!("{x:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(48 * 1024), "48 KiB");
        assert_eq!(bytes(1536 * 1024), "1.5 MiB");
        assert_eq!(count(1234.0), "1234");
        assert_eq!(count(3.2e9), "3.20e9");
    }

    #[test]
    fn durations() {
        for (text, want) in [("90", 90.0), ("1.5s", 1.5), ("5m", 300.0), ("1h", 3600.0)] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for bad in ["", "0", "-3", "5x", "m", "inf"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_workloads_are_bad_input() {
        for text in ["matmul(M=64,N=64", "nosuchop(M=1)", "matmul(M=0,N=1,K=1)"] {
            let e = parse_workload(text).unwrap_err();
            assert!(e.downcast_ref::<BadInput>().is_some(), "{text}: {e:#}");
        }
        assert!(parse_workload("matmul(M=4,N=4,K=4)").is_ok());
        let e = resolve_target("nosuchgpu", None).unwrap_err();
        assert!(e.downcast_ref::<BadInput>().is_some());
        assert_eq!(resolve_target("cpu", Some(1)).unwrap().kind(), "cpu");
        assert_eq!(resolve_target("a100", None).unwrap().kind(), "cuda");
    }
}
