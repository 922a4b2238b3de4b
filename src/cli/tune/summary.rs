//! The summary table printed at the end of `tilegrad tune` and by `tilegrad report`.

use tilegrad_search::report::Report;

/// One row per task: index, weight, trials, best ms, GFLOP/s, sketch, workload; then a warning
/// when other processes disturbed some of the measurements.
pub fn print_table(r: &Report) {
    let sk = r
        .tasks
        .iter()
        .filter_map(|t| t.best.as_ref().map(|b| b.sketch.len()))
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "{:>4}  {:>6}  {:>6}  {:>10}  {:>9}  {:<sk$}  workload",
        "task", "weight", "trials", "best ms", "GFLOP/s", "sketch"
    );
    for t in &r.tasks {
        match &t.best {
            Some(b) => println!(
                "{:>4}  {:>6}  {:>6}  {:>10.4}  {:>9.2}  {:<sk$}  {}",
                t.index + 1,
                t.weight,
                t.trials,
                b.median_s * 1e3,
                b.gflops,
                b.sketch,
                t.workload
            ),
            None => println!(
                "{:>4}  {:>6}  {:>6}  {:>10}  {:>9}  {:<sk$}  {}",
                t.index + 1,
                t.weight,
                t.trials,
                "-",
                "-",
                "(none)",
                t.workload
            ),
        }
    }
    let disturbed: usize = r.tasks.iter().map(|t| t.disturbed).sum();
    if disturbed > 0 {
        println!(
            "warning: {disturbed} of {} trial(s) ran while other processes took more than {:.0}% \
             of the CPUs: their times, and any best among them, may be off",
            r.total_trials,
            tilegrad_measure::DISTURBED * 100.0
        );
    }
}
