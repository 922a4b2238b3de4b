//! `kill -9` in the middle of `tilegrad tune --resume`, then resume: no logged record is lost,
//! no candidate is measured twice, and the database holds every logged record.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WORKLOAD: &str = "matmul(M=32,N=32,K=32)";
const TRIALS: usize = 24;

fn tune_args<'a>(log: &'a str, db: &'a str, report: &'a str, trials: &'a str) -> Vec<&'a str> {
    vec![
        "tune",
        WORKLOAD,
        "--target",
        "cpu",
        "--threads",
        "1",
        "--trials",
        trials,
        "--per-round",
        "4",
        "--seed",
        "3",
        "--log",
        log,
        "--db",
        db,
        "--report",
        report,
        "--resume",
        "-q",
    ]
}

/// The log's trial records: every line but the tuner's head-to-head re-measurements of
/// would-be bests (`"policy":"confirm"`, a candidate measured again by design).
fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.contains(r#""policy":"confirm""#))
        .map(str::to_string)
        .collect()
}

/// Every line of the log, re-measurements included.
fn all_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}

/// (sketch, assignment) -> how many records the log holds for it.
fn counts(lines: &[String]) -> HashMap<(String, String), usize> {
    let mut c = HashMap::new();
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("a complete record");
        let key = (
            v["sketch"].as_str().unwrap().to_string(),
            v["assignment"].as_str().unwrap().to_string(),
        );
        *c.entry(key).or_insert(0) += 1;
    }
    c
}

#[test]
fn kill_9_during_tune_resume_then_resume_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (log, db, report) = (d.join("t.jsonl"), d.join("s.db"), d.join("r.json"));
    let (ls, dbs, rs) = (
        log.to_str().unwrap(),
        db.to_str().unwrap(),
        report.to_str().unwrap(),
    );

    // 1. Start (with --resume on an empty log, as a restart loop would) and kill -9 once at
    //    least two rounds are logged.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(tune_args(ls, dbs, rs, "24"))
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tilegrad starts");
    let start = Instant::now();
    loop {
        if log_lines(&log).len() >= 8 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("tune ended ({status}) before it could be killed");
        }
        assert!(start.elapsed() < Duration::from_secs(240), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.wait().unwrap();
    let before = log_lines(&log);
    assert!(
        before.len() >= 8 && before.len() < TRIALS,
        "{}",
        before.len()
    );
    assert!(
        counts(&before).values().all(|&n| n == 1),
        "a duplicate before the kill"
    );
    // Simulate a write torn by the kill: half a record, no newline.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"{\"v\":1,\"workload_key\":\"00").unwrap();
    drop(f);

    // 2. Resume to the same budget.
    let out = Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(tune_args(ls, dbs, rs, "24"))
        .current_dir(d)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("torn last line"), "{stderr}");
    assert!(
        stdout.contains(&format!("({} resumed from the log)", before.len())),
        "{stdout}"
    );

    // 3. Every record logged before the kill is still there, in order; nothing twice; the
    //    budget is met exactly; the database holds all of it.
    let after = log_lines(&log);
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "a logged record was lost"
    );
    assert_eq!(after.len(), TRIALS, "{stdout}");
    let c = counts(&after);
    assert_eq!(c.len(), TRIALS, "a candidate was measured twice");
    let stats = Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(["db", "stats", "--json", "--db", dbs])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(v["records"], all_lines(&log) as u64, "{v}");

    // 4. Resuming a finished run measures nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(tune_args(ls, dbs, rs, "24"))
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(log_lines(&log).len(), TRIALS);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("after 0 trial(s)"), "{stdout}");
}
