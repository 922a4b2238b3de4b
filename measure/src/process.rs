//! Running a child process with a wall-clock limit.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Waits for `child` at most `limit`; on timeout kills it (and, when it leads its own process
/// group, the whole group: a compiler driver's `cc1`/`as` children), reaps it and returns
/// `Ok(None)`.
pub(crate) fn wait_with_timeout(
    child: &mut Child,
    limit: Duration,
) -> std::io::Result<Option<ExitStatus>> {
    let start = Instant::now();
    let mut nap = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let elapsed = start.elapsed();
        if elapsed >= limit {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: signals only the process group this child leads (if it leads one;
                // otherwise no such group exists and the call fails harmlessly).
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(nap.min(limit - elapsed));
        nap = (nap * 2).min(Duration::from_millis(5));
    }
}
