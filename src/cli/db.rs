//! `tilegrad db import|distill|merge|stats`: maintain a schedule database.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use tilegrad_datasets::ScheduleDb;

use super::util::BadInput;

/// The default database path of every command.
pub const DEFAULT_DB: &str = "tilegrad-out/schedules.db";

/// Arguments of `tilegrad db`.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The operation.
    #[command(subcommand)]
    pub op: DbOp,
}

/// The `db` operations.
#[derive(Debug, Subcommand)]
pub enum DbOp {
    /// Import tuning logs (JSON Lines) into the database; records already there are kept once.
    Import {
        /// The logs to import.
        #[arg(required = true, value_name = "LOG")]
        logs: Vec<PathBuf>,
        /// The database (created if missing).
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
    },
    /// Write a new database holding only the fastest record per workload and target.
    Distill {
        /// The new database (must not exist).
        #[arg(value_name = "OUT")]
        out: PathBuf,
        /// The database to distill (must exist).
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
    },
    /// Copy every record of other databases into this one.
    Merge {
        /// The databases to merge in (must exist).
        #[arg(required = true, value_name = "OTHER")]
        others: Vec<PathBuf>,
        /// The database merged into (created if missing).
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
    },
    /// Counts: workloads, targets, records, successes, failures by kind.
    Stats {
        /// The database (must exist).
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Print the counts as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Opens an existing database; a missing file is [`BadInput`].
pub fn open_existing(path: &std::path::Path) -> anyhow::Result<ScheduleDb> {
    if !path.exists() {
        return Err(anyhow::Error::new(BadInput(format!(
            "no schedule database at {} (run `tilegrad tune` or `tilegrad db import` first, \
             or pass --db)",
            path.display()
        ))));
    }
    ScheduleDb::open_existing(path)
        .with_context(|| format!("cannot open the schedule database {}", path.display()))
}

/// Opens (creating, with its folder) a database.
pub fn open_or_create(path: &std::path::Path) -> anyhow::Result<ScheduleDb> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    ScheduleDb::open(path)
        .with_context(|| format!("cannot open the schedule database {}", path.display()))
}

/// Runs the command.
pub fn run(args: &DbArgs) -> anyhow::Result<()> {
    match &args.op {
        DbOp::Import { logs, db } => {
            let mut d = open_or_create(db)?;
            for log in logs {
                if !log.exists() {
                    return Err(anyhow::Error::new(BadInput(format!(
                        "no log at {}",
                        log.display()
                    ))));
                }
                let s = d
                    .import_log(log)
                    .with_context(|| format!("cannot import {}", log.display()))?;
                for w in &s.warnings {
                    eprintln!("warning: {w}");
                }
                println!(
                    "{}: {} record(s), {} added, {} already present",
                    log.display(),
                    s.records,
                    s.added,
                    s.duplicates
                );
            }
            Ok(())
        }
        DbOp::Distill { out, db } => {
            let d = open_existing(db)?;
            if out.exists() {
                return Err(anyhow::Error::new(BadInput(format!(
                    "{} already exists; distill writes a new database",
                    out.display()
                ))));
            }
            let n = d
                .distill(out)
                .with_context(|| format!("cannot distill into {}", out.display()))?;
            println!(
                "{}: {n} record(s) (the fastest per workload and target)",
                out.display()
            );
            Ok(())
        }
        DbOp::Merge { others, db } => {
            let mut d = open_or_create(db)?;
            for o in others {
                if !o.exists() {
                    return Err(anyhow::Error::new(BadInput(format!(
                        "no database at {}",
                        o.display()
                    ))));
                }
                let s = d
                    .merge(o)
                    .with_context(|| format!("cannot merge {}", o.display()))?;
                println!(
                    "{}: {} record(s), {} added, {} already present",
                    o.display(),
                    s.records,
                    s.added,
                    s.duplicates
                );
            }
            Ok(())
        }
        DbOp::Stats { db, json } => stats(db, *json),
    }
}

fn stats(path: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let d = open_existing(path)?;
    let s = d.stats().context("cannot read the database's counts")?;
    if json {
        let v = serde_json::json!({
            "path": path.display().to_string(),
            "schema_version": s.schema_version,
            "workloads": s.workloads,
            "targets": s.targets,
            "records": s.records,
            "successes": s.successes,
            "failures_by_kind": s.failures_by_kind,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "database:   {} (schema {})",
        path.display(),
        s.schema_version
    );
    println!("workloads:  {}", s.workloads);
    println!("targets:    {}", s.targets);
    println!("records:    {}", s.records);
    println!("successes:  {}", s.successes);
    println!("failures:   {}", s.records - s.successes);
    for (kind, n) in &s.failures_by_kind {
        println!("  {kind:<14} {n}");
    }
    for t in d.targets().context("cannot list the targets")? {
        println!("target:     {} ({})", t.key, t.name);
    }
    Ok(())
}
