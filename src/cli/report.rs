//! `tilegrad report`: summarise a tuning report (JSON) and plot its best-so-far curves.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use tilegrad_search::report::Report;

use super::plot::{write_svg, Chart, Series};
use super::util::BadInput;

/// Arguments of `tilegrad report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report written by `tilegrad tune --report` (JSON).
    pub report: PathBuf,
    /// Write the best-so-far curves (per task against trials, and the network's estimated
    /// latency against time) to this SVG file.
    #[arg(long, value_name = "SVG")]
    pub plot: Option<PathBuf>,
}

/// Reads a report; a missing or malformed file is [`BadInput`].
pub fn read(path: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path)
        .with_context(|| BadInput(format!("cannot read the report {}", path.display())))?;
    Report::from_json(&text)
        .with_context(|| BadInput(format!("{} is not a tilegrad report", path.display())))
}

/// Runs the command.
pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let r = read(&args.report)?;
    print_summary(&r);
    if let Some(svg) = &args.plot {
        write_svg(svg, &charts(&r))?;
        println!("\nwrote {}", svg.display());
    }
    Ok(())
}

/// Header lines and the per-task table.
pub fn print_summary(r: &Report) {
    let m = &r.meta;
    println!("target:      {}", m.target);
    println!("policy:      {} (seed {})", m.policy, m.seed);
    println!(
        "stopped:     {} after {:.1} s, {} trial(s) in {} round(s)",
        m.stop_reason.as_deref().unwrap_or("(not recorded)"),
        m.wall_s,
        r.total_trials,
        r.rounds
    );
    let t = &r.time;
    println!(
        "time split:  search {:.1} s, build {:.1} s, measure {:.1} s, train {:.1} s",
        t.search_s, t.build_s, t.measure_s, t.train_s
    );
    if !m.best_rule.is_empty() {
        println!("best rule:   {}", m.best_rule);
    }
    if let Some(share) = r.search_overhead_share() {
        println!(
            "overhead:    {:.1} % of the wall time outside build and measure",
            share * 100.0
        );
    }
    if r.tasks.len() > 1 {
        match r.network_latency_s() {
            Some(l) => println!(
                "network:     estimated {:.4} ms end to end (sum of weight x best)",
                l * 1e3
            ),
            None => println!("network:     no estimate (some task has no successful schedule)"),
        }
    }
    if !r.failures.is_empty() {
        let f: Vec<String> = r.failures.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("failures:    {}", f.join(", "));
    }
    println!();
    super::tune::summary::print_table(r);
}

/// The charts of a report: GFLOP/s against trials per task (the best-so-far curve, and
/// the re-measurements as marks beside it); the network latency over time.
pub fn charts(r: &Report) -> Vec<Chart> {
    let mut series = Vec::new();
    for t in &r.tasks {
        let name = format!("#{} {}", t.index + 1, short(&t.workload));
        series.push(Series {
            points: t
                .curve
                .iter()
                .filter_map(|p| p.best_gflops.map(|g| (p.trial as f64, g)))
                .collect(),
            name: name.clone(),
            marks: false,
        });
        if !t.remeasurements.is_empty() {
            series.push(Series {
                name: format!("{name}, re-measured"),
                points: t
                    .remeasurements
                    .iter()
                    .filter_map(|m| m.median_s.map(|s| (m.trial as f64, t.flops / s / 1e9)))
                    .collect(),
                marks: true,
            });
        }
    }
    let per_task = Chart {
        title: "best so far, per task".into(),
        x_label: "trials of the task".into(),
        y_label: "GFLOP/s".into(),
        series,
    };
    let mut out = vec![per_task];
    if r.tasks.len() > 1 && r.network.iter().any(|p| p.latency_s.is_some()) {
        out.push(Chart {
            title: "estimated network latency (sum of weight x best so far)".into(),
            x_label: "seconds".into(),
            y_label: "ms".into(),
            series: vec![Series {
                name: "network".into(),
                points: r
                    .network
                    .iter()
                    .filter_map(|p| p.latency_s.map(|l| (p.elapsed_s, l * 1e3)))
                    .collect(),
                marks: false,
            }],
        });
    }
    out
}

/// A workload text cut to fit a legend.
fn short(w: &str) -> String {
    if w.chars().count() <= 48 {
        return w.to_string();
    }
    let cut: String = w.chars().take(45).collect();
    format!("{cut}...")
}
