//! The timing protocol shared by the CPU and GPU runners, and its summary statistics.

use crate::MeasureError;
use serde::{Deserialize, Serialize};

/// How each candidate is timed.
///
/// Protocol: one verification run (poisoned output, checked against the reference), then
/// `warmup - 1` further untimed runs, then timed runs until at least `min_repeat` runs **and**
/// `min_time_s` of summed run time, stopping at `max_repeat` runs, or earlier for a slow
/// candidate: after [`SLOW_MIN_REPEAT`] timed runs once their sum reaches `max_time_s` (a
/// kernel 10x slower than the best needs no 10 samples to be ranked). Every run gets a freshly
/// poisoned output (outside the timed region); caches are optionally flushed between timed
/// runs. After the last run the output is verified again and the guard zones and inputs are
/// checked. CPU runs are timed with a monotonic clock around the call, GPU runs with CUDA
/// events (`CU_EVENT_DEFAULT`) around the launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimingConfig {
    /// Untimed runs before timing, including the verification run (at least one run is made).
    pub warmup: u32,
    /// Minimum number of timed runs.
    pub min_repeat: u32,
    /// Maximum number of timed runs.
    pub max_repeat: u32,
    /// Minimum summed time of the timed runs, in seconds.
    pub min_time_s: f64,
    /// Budget of summed timed-run time after which a slow candidate stops being timed (once
    /// it has [`SLOW_MIN_REPEAT`] samples), even below `min_repeat`.
    #[serde(default = "default_max_time_s")]
    pub max_time_s: f64,
    /// Limit for a single run of the kernel, in seconds; beyond it the worker is killed and the
    /// candidate gets [`MeasureError::RunTimeout`].
    pub run_timeout_s: f64,
    /// GPU: flush L2 before each timed run with a device memset of twice its size (default on).
    pub gpu_flush_l2: bool,
    /// CPU: write `cpu_flush_bytes` of scratch memory before each timed run (default off: CPU
    /// kernels of a tuning task are compared warm, as they run inside a network).
    pub cpu_flush: bool,
    /// Size of the CPU flush buffer in bytes.
    pub cpu_flush_bytes: usize,
    /// CPU: most share of the machine's CPU time that other processes may take during the
    /// timed runs ([`Timing::interference`]) before they are timed again (default 0.25).
    #[serde(default = "default_max_interference")]
    pub max_interference: f64,
    /// CPU: how many times timed runs disturbed beyond `max_interference` are repeated; the
    /// least disturbed attempt is kept (default 2).
    #[serde(default = "default_interference_retries")]
    pub interference_retries: u32,
}

/// Share of the machine's CPU time taken by other processes ([`Timing::interference`]) above
/// which a CPU measurement counts as disturbed: the default of
/// [`TimingConfig::max_interference`], and what reports count as disturbed trials.
pub const DISTURBED: f64 = 0.25;

/// Fewest timed runs of any candidate that ran successfully (see [`TimingConfig::max_time_s`]).
pub const SLOW_MIN_REPEAT: u32 = 3;

fn default_max_time_s() -> f64 {
    1.0
}

fn default_max_interference() -> f64 {
    DISTURBED
}

fn default_interference_retries() -> u32 {
    2
}

impl Default for TimingConfig {
    fn default() -> Self {
        Self {
            warmup: 3,
            min_repeat: 10,
            max_repeat: 1000,
            min_time_s: 0.05,
            max_time_s: default_max_time_s(),
            run_timeout_s: 10.0,
            gpu_flush_l2: true,
            cpu_flush: false,
            cpu_flush_bytes: 64 << 20,
            max_interference: default_max_interference(),
            interference_retries: default_interference_retries(),
        }
    }
}

impl TimingConfig {
    /// Whether timed run number `done` (0-based count of finished runs, `elapsed_s` their summed
    /// time) should be followed by another run.
    pub fn wants_more(&self, done: u32, elapsed_s: f64) -> bool {
        if done >= self.max_repeat.max(1) {
            return false;
        }
        if done >= SLOW_MIN_REPEAT && elapsed_s >= self.max_time_s {
            return false;
        }
        done < self.min_repeat.max(1) || elapsed_s < self.min_time_s
    }
}

/// The measured run times of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Every timed run, in seconds, in the order they ran.
    pub samples_s: Vec<f64>,
    /// Median of `samples_s`.
    pub median_s: f64,
    /// Minimum of `samples_s`.
    pub min_s: f64,
    /// Relative spread `(p90 - p10) / median` (0 = perfectly stable).
    pub spread: f64,
    /// CPU: the share of the machine's CPU time (all cores) that other processes, or the
    /// hypervisor, took while the samples were timed (0 = the kernel had the machine to
    /// itself); `None` where it is not known (GPU, no `/proc`, or an older log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interference: Option<f64>,
}

impl Timing {
    /// Summarizes samples; fails on an empty or non-finite sample set.
    pub fn from_samples(samples_s: Vec<f64>) -> Result<Self, MeasureError> {
        if samples_s.is_empty() || samples_s.iter().any(|s| !s.is_finite() || *s < 0.0) {
            return Err(MeasureError::Worker("no valid timing samples".into()));
        }
        let mut sorted = samples_s.clone();
        sorted.sort_by(f64::total_cmp);
        let median_s = quantile(&sorted, 0.5);
        let spread = if median_s > 0.0 {
            (quantile(&sorted, 0.9) - quantile(&sorted, 0.1)) / median_s
        } else {
            0.0
        };
        Ok(Self {
            min_s: sorted[0],
            median_s,
            spread,
            samples_s,
            interference: None,
        })
    }
}

/// Linear-interpolated quantile of sorted, non-empty data.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] * (1.0 - frac) + sorted[hi] * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(samples: &[f64], median: f64, spread: f64) {
        let t = Timing::from_samples(samples.to_vec()).unwrap();
        assert!((t.median_s - median).abs() < 1e-12, "{t:?}");
        assert!((t.spread - spread).abs() < 1e-12, "{t:?}");
    }

    #[test]
    fn statistics() {
        check(&[1.0], 1.0, 0.0);
        check(&[3.0, 1.0, 2.0], 2.0, (2.8 - 1.2) / 2.0);
        check(&[1.0, 2.0, 3.0, 4.0], 2.5, (3.7 - 1.3) / 2.5);
        assert!(Timing::from_samples(vec![]).is_err());
        assert!(Timing::from_samples(vec![f64::NAN]).is_err());
    }

    #[test]
    fn repeat_rule() {
        let c = TimingConfig {
            min_repeat: 3,
            max_repeat: 5,
            min_time_s: 1.0,
            ..TimingConfig::default()
        };
        assert!(c.wants_more(2, 10.0));
        assert!(!c.wants_more(3, 10.0));
        assert!(c.wants_more(3, 0.5));
        assert!(!c.wants_more(5, 0.5));
        // A slow candidate: 3 runs of 0.4 s reach the 1 s budget before min_repeat.
        let slow = TimingConfig {
            min_repeat: 10,
            ..TimingConfig::default()
        };
        assert!(slow.wants_more(2, 0.8));
        assert!(slow.wants_more(3, 0.9));
        assert!(!slow.wants_more(3, 1.2));
        assert!(slow.wants_more(9, 0.09));
        assert!(!slow.wants_more(10, 0.1));
    }

    #[test]
    fn older_configs_without_the_time_budget_still_parse() {
        let mut v = serde_json::to_value(TimingConfig::default()).unwrap();
        for k in ["max_time_s", "max_interference", "interference_retries"] {
            v.as_object_mut().unwrap().remove(k);
        }
        let c: TimingConfig = serde_json::from_value(v).unwrap();
        assert_eq!(c, TimingConfig::default());
    }
}
