//! Several processes (and threads) committing to one database at once lose nothing.
//!
//! The test binary re-runs itself as child writer processes: with `TG_DB_CHILD=<path>` set,
//! the ignored test `child_writer` commits its share of records, one small transaction at a
//! time.

mod db_support;

use std::process::Command;

use db_support::{cpu, ok, W1, W2};
use tilegrad_datasets::ScheduleDb;

const PER_WRITER: u32 = 600;
const BATCH: usize = 3;

/// Commits `PER_WRITER` records unique to `writer`, `BATCH` per transaction.
fn write_share(path: &str, writer: u32) {
    let mut db = ScheduleDb::open(path).unwrap();
    let t = cpu("x86_64", &format!("Writer {writer}"), 2);
    let w = if writer.is_multiple_of(2) { W1 } else { W2 };
    let records: Vec<_> = (0..PER_WRITER)
        .map(|i| ok(w, &t, writer * 10_000 + i, 1e-3 + f64::from(i) * 1e-6))
        .collect();
    for chunk in records.chunks(BATCH) {
        assert_eq!(db.commit_all(chunk).unwrap(), chunk.len());
    }
    // Records another writer also commits: stored once in the end.
    let shared = ok(W1, &cpu("x86_64", "Shared", 2), 7, 5e-4);
    db.commit(&shared).unwrap();
}

#[test]
#[ignore = "child-process entry point of two_processes_and_a_thread_lose_nothing"]
fn child_writer() {
    // Started by the parent with both variables; a bare `--ignored` run has nothing to do.
    let (Ok(path), Ok(id)) = (std::env::var("TG_DB_CHILD"), std::env::var("TG_DB_WRITER")) else {
        return;
    };
    write_share(&path, id.parse().unwrap());
}

#[test]
fn two_processes_and_a_thread_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let path_s = path.to_str().unwrap().to_string();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (1..=2)
        .map(|id| {
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "child_writer",
                    "--test-threads",
                    "1",
                ])
                .env("TG_DB_CHILD", &path_s)
                .env("TG_DB_WRITER", id.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    let threads: Vec<_> = (3..=4)
        .map(|id| {
            let p = path_s.clone();
            std::thread::spawn(move || write_share(&p, id))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a child writer failed");
    }
    let db = ScheduleDb::open(&path).unwrap();
    let s = db.stats().unwrap();
    assert_eq!(s.records, u64::from(4 * PER_WRITER + 1), "{s:?}");
    assert_eq!(s.targets, 5);
    let records = db.records().unwrap();
    for writer in 1..=4u32 {
        let name = format!("Writer {writer}");
        let mine: Vec<u32> = records
            .iter()
            .filter(|r| r.target.name == name)
            .map(|r| r.provenance.round - writer * 10_000)
            .collect();
        assert_eq!(
            mine,
            (0..PER_WRITER).collect::<Vec<_>>(),
            "writer {writer}: in order, none lost"
        );
    }
}
