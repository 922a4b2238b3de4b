//! The worker's run-timeout watchdog: a thread that ends the process when one kernel run
//! exceeds its limit, after telling the parent why.

use crate::protocol::{Response, ResponseEnvelope};
use crate::MeasureError;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Exit code of a worker ended by its watchdog.
pub(crate) const WATCHDOG_EXIT: i32 = 3;

struct State {
    epoch: Instant,
    /// Deadline in ns since `epoch`; 0 = disarmed.
    deadline_ns: AtomicU64,
    /// Request id being served.
    id: AtomicU64,
    /// Limit in µs, for the message.
    limit_us: AtomicU64,
}

/// Handle used by the worker's main thread around every kernel run.
#[derive(Clone)]
pub(crate) struct Watchdog {
    state: Arc<State>,
}

impl Watchdog {
    /// Starts the watchdog thread; on expiry it writes a fatal `RunTimeout` to `out` and exits.
    pub(crate) fn start<W: Write + Send + 'static>(out: Arc<Mutex<W>>) -> Self {
        let state = Arc::new(State {
            epoch: Instant::now(),
            deadline_ns: AtomicU64::new(0),
            id: AtomicU64::new(0),
            limit_us: AtomicU64::new(0),
        });
        let s = state.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(5));
            let d = s.deadline_ns.load(Ordering::Acquire);
            if d != 0 && s.epoch.elapsed().as_nanos() as u64 > d {
                let msg = ResponseEnvelope {
                    id: s.id.load(Ordering::Acquire),
                    response: Response::Done {
                        result: Err(MeasureError::RunTimeout {
                            limit_s: s.limit_us.load(Ordering::Acquire) as f64 * 1e-6,
                        }),
                        fatal: true,
                    },
                };
                let Ok(line) = serde_json::to_string(&msg) else {
                    continue;
                };
                let Ok(mut w) = out.lock() else { continue };
                // The main thread disarms before it takes this lock to answer: re-checking under
                // the lock guarantees the parent sees exactly one answer for the request.
                if s.deadline_ns.load(Ordering::Acquire) != d {
                    continue;
                }
                let _ = writeln!(w, "{line}");
                let _ = w.flush();
                // SAFETY: _exit ends the process without running atexit handlers, which could
                // block on the hung kernel's locks (e.g. OpenMP).
                unsafe { libc::_exit(WATCHDOG_EXIT) };
            }
        });
        Self { state }
    }

    /// Sets the request id reported on expiry.
    pub(crate) fn set_request(&self, id: u64) {
        self.state.id.store(id, Ordering::Release);
    }

    /// Arms the watchdog for one run of at most `limit_s` seconds.
    #[inline]
    pub(crate) fn arm(&self, limit_s: f64) {
        let now = self.state.epoch.elapsed().as_nanos() as u64;
        let limit_ns = (limit_s.max(0.0) * 1e9) as u64;
        self.state
            .limit_us
            .store(limit_ns / 1000, Ordering::Relaxed);
        self.state
            .deadline_ns
            .store(now.saturating_add(limit_ns).max(1), Ordering::Release);
    }

    /// Disarms after a run finished.
    #[inline]
    pub(crate) fn disarm(&self) {
        self.state.deadline_ns.store(0, Ordering::Release);
    }
}
