//! Other processes' share of the CPUs while a kernel is timed (Linux `/proc`; elsewhere
//! unknown).
//!
//! A kernel using every core loses most of its speed to any other runnable process: on the
//! 2-core VM of issue 8 a `cargo build` at nice 19 cut 2-thread matmul kernels to a third of
//! their speed, and a benchmark confirmed while one ran was invalid
//! (`results/search/2026-11-25-policies-confirmed-picks-5tasks-3seeds/`). The worker
//! therefore reads the machine's busy time (`/proc/stat`: user, nice, system, irq, softirq,
//! steal) and its own (`/proc/self/stat`: utime, stime) before and after the timed runs; what
//! the machine spent beyond the worker, over wall time × CPUs, is the interference. Both are
//! counted in clock ticks (10 ms), so a 50 ms window resolves it to about ±10 %.

use std::time::Instant;

/// A reading of the machine's and this process's CPU time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuClock {
    machine_ticks: u64,
    own_ticks: u64,
    cpus: u64,
    at: Instant,
}

/// Clock ticks per second of `/proc` (`USER_HZ`).
fn ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// Busy ticks and CPU count from `/proc/stat`'s text.
fn parse_machine(stat: &str) -> Option<(u64, u64)> {
    let mut lines = stat.lines();
    let total: Vec<u64> = lines
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice] (guest is in user).
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|&i| total.get(i).copied().unwrap_or(0))
        .sum();
    let cpus = lines
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count() as u64;
    Some((busy, cpus.max(1)))
}

/// utime + stime from `/proc/<pid>/stat`'s text (fields 14 and 15; the command name, field 2,
/// may contain spaces, so fields are counted after its closing parenthesis).
fn parse_own(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ")": field 3 (state) is f[0], so field n is f[n - 3].
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

impl CpuClock {
    /// Reads the clocks; `None` where `/proc` is missing or unreadable.
    pub(crate) fn now() -> Option<Self> {
        let machine = std::fs::read_to_string("/proc/stat").ok()?;
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        let (machine_ticks, cpus) = parse_machine(&machine)?;
        Some(Self {
            machine_ticks,
            own_ticks: parse_own(&own)?,
            cpus,
            at: Instant::now(),
        })
    }

    /// Share of all CPUs' time since `self` that other processes (or the hypervisor) used:
    /// 0 = the machine ran this process only, 1 = every CPU ran something else throughout.
    pub(crate) fn others_share_since(&self, later: &CpuClock) -> f64 {
        let wall = later.at.duration_since(self.at).as_secs_f64();
        others_share(
            later.machine_ticks.saturating_sub(self.machine_ticks),
            later.own_ticks.saturating_sub(self.own_ticks),
            self.cpus,
            wall * ticks_per_s(),
        )
    }
}

/// `(machine - own) / (cpus × wall)`, all in ticks, clamped to `[0, 1]`; 0 for an empty window.
fn others_share(machine: u64, own: u64, cpus: u64, wall_ticks: f64) -> f64 {
    let capacity = cpus as f64 * wall_ticks;
    if capacity <= 0.0 {
        return 0.0;
    }
    (machine.saturating_sub(own) as f64 / capacity).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_and_pid_stat() {
        let stat = "cpu  100 5 50 1000 7 3 2 4 0 0\ncpu0 50 2 25 500 3 1 1 2 0 0\n\
                    cpu1 50 3 25 500 4 2 1 2 0 0\nintr 12345\nctxt 99\n";
        assert_eq!(parse_machine(stat), Some((100 + 5 + 50 + 3 + 2 + 4, 2)));
        assert_eq!(parse_machine("nonsense"), None);
        let own = "4242 (tilegrad (worker)) R 1 2 3 4 5 6 7 8 9 10 31 17 0 0 20 0 3 0";
        assert_eq!(parse_own(own), Some(31 + 17));
        assert_eq!(parse_own("4242 (x) R 1"), None);
    }

    #[test]
    fn share_of_other_processes() {
        // 2 CPUs, 10 ticks of wall time: 20 ticks of capacity.
        assert_eq!(others_share(20, 20, 2, 10.0), 0.0);
        assert_eq!(others_share(20, 10, 2, 10.0), 0.5);
        assert_eq!(others_share(30, 0, 2, 10.0), 1.0);
        assert_eq!(others_share(5, 9, 2, 10.0), 0.0);
        assert_eq!(others_share(5, 0, 2, 0.0), 0.0);
    }

    #[test]
    fn reads_this_machine() {
        if let Some(a) = CpuClock::now() {
            let b = CpuClock::now().expect("second reading");
            let s = a.others_share_since(&b);
            assert!((0.0..=1.0).contains(&s), "{s}");
        }
    }
}
