//! Parent side of the measurement worker: spawning, talking, detecting crashes and hangs,
//! restarting.

use crate::process::wait_with_timeout;
use crate::protocol::{Request, RequestEnvelope, Response, ResponseEnvelope};
use crate::{MeasureError, Timing};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// File name of the worker executable built by this crate.
pub const WORKER_EXE_NAME: &str = "tilegrad-measure-worker";

/// How to start the worker process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerConfig {
    /// Executable whose `main` calls [`crate::worker_main`].
    pub exe: PathBuf,
    /// Arguments passed to it.
    pub args: Vec<String>,
    /// Extra environment variables (e.g. `OMP_PROC_BIND`).
    pub env: Vec<(String, String)>,
    /// Limit for start-up and the hello handshake, seconds.
    pub start_timeout_s: f64,
    /// Pass the worker's stderr (and anything kernels print) through instead of discarding it.
    pub show_stderr: bool,
}

impl WorkerConfig {
    /// A config running `exe` with no arguments.
    pub fn with_exe(exe: impl Into<PathBuf>) -> Self {
        Self {
            exe: exe.into(),
            ..Self::default()
        }
    }

    /// Runs the current executable with `args` as the worker: for a binary whose `main`
    /// dispatches to [`crate::worker_main`] on those arguments (e.g. a hidden CLI subcommand).
    /// Cargo does not build a dependency's binaries, so this is how the `tilegrad` CLI can
    /// ship without a separate worker executable.
    pub fn self_hosted(args: &[&str]) -> Result<Self, MeasureError> {
        Ok(Self {
            exe: std::env::current_exe()?,
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Self::default()
        })
    }

    /// `tilegrad-measure-worker` next to the current executable (or one directory up, for test
    /// and bench binaries in `target/<profile>/deps/`).
    pub fn default_exe() -> PathBuf {
        let Ok(me) = std::env::current_exe() else {
            return PathBuf::from(WORKER_EXE_NAME);
        };
        let dir = me.parent().map(PathBuf::from).unwrap_or_default();
        let sibling = dir.join(WORKER_EXE_NAME);
        if !sibling.exists() && dir.ends_with("deps") {
            if let Some(up) = dir.parent() {
                let candidate = up.join(WORKER_EXE_NAME);
                if candidate.exists() {
                    return candidate;
                }
            }
        }
        sibling
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            exe: Self::default_exe(),
            args: Vec::new(),
            env: Vec::new(),
            start_timeout_s: 10.0,
            show_stderr: false,
        }
    }
}

struct WorkerProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A worker that is (re)started on demand.
pub(crate) struct WorkerHandle {
    cfg: WorkerConfig,
    proc: Option<WorkerProcess>,
    next_id: u64,
    starts: u64,
}

impl WorkerHandle {
    pub(crate) fn new(cfg: WorkerConfig) -> Self {
        Self {
            cfg,
            proc: None,
            next_id: 1,
            starts: 0,
        }
    }

    /// How many worker processes were started so far.
    pub(crate) fn starts(&self) -> u64 {
        self.starts
    }

    fn spawn(&mut self) -> Result<(), MeasureError> {
        let mut child = Command::new(&self.cfg.exe)
            .args(&self.cfg.args)
            .envs(self.cfg.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if self.cfg.show_stderr {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .map_err(|e| {
                MeasureError::Worker(format!("cannot start {}: {e}", self.cfg.exe.display()))
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(MeasureError::Worker("worker pipes missing".into()));
        };
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(l) = line else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        self.proc = Some(WorkerProcess {
            child,
            stdin,
            lines,
        });
        self.starts += 1;
        let limit = Duration::from_secs_f64(self.cfg.start_timeout_s.max(0.1));
        match self.exchange(Request::Hello, limit) {
            Ok(Response::Hello { .. }) => Ok(()),
            Ok(_) => Err(MeasureError::Worker("bad handshake".into())),
            Err(e) => {
                self.proc = None;
                Err(MeasureError::Worker(format!("worker did not start: {e}")))
            }
        }
    }

    /// Sends `request` and waits at most `limit` for its answer. Detects a dead worker
    /// (crash), a silent one (timeout: killed) and a worker announcing its own exit.
    fn exchange(&mut self, request: Request, limit: Duration) -> Result<Response, MeasureError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_string(&RequestEnvelope { id, request })
            .map_err(|e| MeasureError::Worker(e.to_string()))?;
        line.push('\n');
        let Some(p) = self.proc.as_mut() else {
            return Err(MeasureError::Worker("no worker".into()));
        };
        if p.stdin
            .write_all(line.as_bytes())
            .and_then(|_| p.stdin.flush())
            .is_err()
        {
            return Err(self.died());
        }
        let deadline = Instant::now() + limit;
        loop {
            let Some(p) = self.proc.as_mut() else {
                return Err(MeasureError::Worker("no worker".into()));
            };
            let left = deadline.saturating_duration_since(Instant::now());
            match p.lines.recv_timeout(left) {
                Ok(text) => {
                    let Ok(env) = serde_json::from_str::<ResponseEnvelope>(&text) else {
                        self.proc = None;
                        return Err(MeasureError::Worker(format!("bad response: {text}")));
                    };
                    if env.id != id {
                        continue;
                    }
                    if let Response::Done { fatal: true, .. } = env.response {
                        if let Some(mut p) = self.proc.take() {
                            let _ = wait_with_timeout(&mut p.child, Duration::from_secs(2));
                        }
                    }
                    return Ok(env.response);
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.proc = None;
                    return Err(MeasureError::RunTimeout {
                        limit_s: limit.as_secs_f64(),
                    });
                }
                Err(RecvTimeoutError::Disconnected) => return Err(self.died()),
            }
        }
    }

    /// Reaps a worker whose pipe closed and describes how it ended.
    fn died(&mut self) -> MeasureError {
        let Some(mut p) = self.proc.take() else {
            return MeasureError::Worker("no worker".into());
        };
        match wait_with_timeout(&mut p.child, Duration::from_secs(2)) {
            Ok(Some(st)) => MeasureError::Crash {
                signal: st.signal(),
                exit_code: st.code(),
                detail: "measurement worker died".into(),
            },
            _ => MeasureError::Crash {
                signal: None,
                exit_code: None,
                detail: "measurement worker closed its output and was killed".into(),
            },
        }
    }

    /// Runs one measurement request, starting a worker first if none is alive.
    pub(crate) fn run(
        &mut self,
        request: Request,
        limit: Duration,
    ) -> Result<Timing, MeasureError> {
        if let Some(p) = self.proc.as_mut() {
            if !matches!(p.child.try_wait(), Ok(None)) {
                self.proc = None;
            }
        }
        if self.proc.is_none() {
            self.spawn()?;
        }
        match self.exchange(request, limit)? {
            Response::Done { result, .. } => result,
            Response::Hello { .. } => Err(MeasureError::Worker("unexpected hello".into())),
        }
    }
}
