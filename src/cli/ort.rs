//! ONNX Runtime as a baseline: a persistent Python subprocess running
//! `scripts/ort_kernels.py` (embedded here), spoken to in JSON lines.
//!
//! The interpreter is `--python`, else `$TILEGRAD_PYTHON`, else `.cache/ort/bin/python` (the
//! venv of `scripts/setup-ort`, looked up from the working directory and from the folders
//! above this executable), else `python3`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{anyhow, Context};
use serde_json::{json, Value};

/// The script, as shipped in `scripts/ort_kernels.py`.
pub const SCRIPT: &str = include_str!("../../scripts/ort_kernels.py");

/// How to install ONNX Runtime the project's way.
pub const INSTALL_HINT: &str =
    "run scripts/setup-ort (a venv in .cache/ort), or pass --python / set TILEGRAD_PYTHON";

/// The venv `scripts/setup-ort` creates, relative to the repository root.
const VENV_PYTHON: &str = ".cache/ort/bin/python";

/// The Python interpreter to use (see the module docs).
pub fn python(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("TILEGRAD_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let mut roots = vec![PathBuf::from(".")];
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).take(4).map(Path::to_path_buf));
    }
    roots
        .into_iter()
        .map(|r| r.join(VENV_PYTHON))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// One timing of ONNX Runtime's implementation of a workload.
#[derive(Debug, Clone)]
pub struct OrtTiming {
    /// Median run time, seconds.
    pub median_s: f64,
    /// The ONNX operators of the graph and its opset (`Gemm+Relu (opset 23)`).
    pub graph: String,
}

/// A running `ort_kernels.py`.
pub struct OrtClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// `onnxruntime X, onnx Y`.
    pub versions: String,
}

impl OrtClient {
    /// Starts `python -c SCRIPT` (the embedded script: no copy of it is written next to the
    /// results), with its stderr appended to `stderr_log`; fails with the reason when Python
    /// or ONNX Runtime is missing.
    pub fn start(python: &Path, stderr_log: &Path) -> anyhow::Result<OrtClient> {
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(stderr_log)
            .with_context(|| format!("cannot open {}", stderr_log.display()))?;
        let mut child = Command::new(python)
            .arg("-u")
            .arg("-c")
            .arg(SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("cannot run {}", python.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(anyhow!("no pipes to {}", python.display()));
        };
        let mut client = OrtClient {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            versions: String::new(),
        };
        let hello = client.read().with_context(|| {
            format!(
                "{} exited at start-up (see {})",
                python.display(),
                stderr_log.display()
            )
        })?;
        if hello["ready"] != json!(true) {
            let e = hello["error"].as_str().unwrap_or("not ready").to_string();
            return Err(anyhow!("{}: {e}", python.display()));
        }
        client.versions = format!(
            "onnxruntime {}, onnx {}",
            hello["onnxruntime"].as_str().unwrap_or("?"),
            hello["onnx"].as_str().unwrap_or("?")
        );
        Ok(client)
    }

    fn read(&mut self) -> anyhow::Result<Value> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(anyhow!("the ONNX Runtime process ended"));
        }
        serde_json::from_str(&line).with_context(|| format!("bad reply `{}`", line.trim()))
    }

    /// Sends one request; `Err` when the process is gone, `Ok(Err(msg))` for an error reply
    /// (an unsupported operator, ...).
    pub fn request(&mut self, req: &Value) -> anyhow::Result<Result<Value, String>> {
        writeln!(self.stdin, "{req}")?;
        self.stdin.flush()?;
        let reply = self.read()?;
        if reply["ok"] == json!(true) {
            Ok(Ok(reply))
        } else {
            Ok(Err(reply["error"].as_str().unwrap_or("error").to_string()))
        }
    }

    /// Times `workload` on `threads` threads for at least `min_time_s` of runs.
    pub fn time(
        &mut self,
        workload: &str,
        threads: u32,
        min_time_s: f64,
    ) -> anyhow::Result<Result<OrtTiming, String>> {
        let req = json!({"cmd": "time", "workload": workload, "threads": threads,
                         "min_time_s": min_time_s});
        Ok(self.request(&req)?.map(|r| OrtTiming {
            median_s: r["median_ms"].as_f64().unwrap_or(f64::NAN) / 1e3,
            graph: r["graph"].as_str().unwrap_or("").to_string(),
        }))
    }
}

impl Drop for OrtClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
