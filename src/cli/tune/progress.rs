//! Progress display of a tuning run: an overall bar (trials, ETA) and a line for the task of
//! the current round with its best so far. Drawn on stderr, hidden when it is not a terminal.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tilegrad_search::report::BestSchedule;
use tilegrad_search::TuneEvent;

/// The bars and what they show.
pub struct Progress {
    bars: MultiProgress,
    overall: ProgressBar,
    task: ProgressBar,
    names: Vec<String>,
    best: Vec<Option<(f64, f64)>>,
    weights: Vec<f64>,
}

fn ms(s: f64) -> String {
    format!("{:.4} ms", s * 1e3)
}

impl Progress {
    /// Bars for a run of at most `trials` measurements over tasks with these short names and
    /// weights; `time_limit_s` is shown when set.
    pub fn new(
        trials: usize,
        names: Vec<String>,
        weights: Vec<f64>,
        time_limit_s: Option<f64>,
    ) -> Self {
        let bars = MultiProgress::new();
        let overall = bars.add(ProgressBar::new(trials as u64));
        let limit = time_limit_s.map_or(String::new(), |t| format!(" (limit {t:.0} s)"));
        if let Ok(s) = ProgressStyle::with_template(&format!(
            "{{spinner}} tuning [{{bar:30}}] {{pos}}/{{len}} trials, {{elapsed}}{limit}, ETA {{eta}} {{msg}}"
        )) {
            overall.set_style(s.progress_chars("=> "));
        }
        let task = bars.add(ProgressBar::new_spinner());
        if let Ok(s) = ProgressStyle::with_template("  {msg}") {
            task.set_style(s);
        }
        overall.enable_steady_tick(Duration::from_millis(200));
        let n = names.len();
        Progress {
            bars,
            overall,
            task,
            names,
            best: vec![None; n],
            weights,
        }
    }

    fn note_best(&mut self, task: usize, b: &BestSchedule) {
        if let Some(slot) = self.best.get_mut(task) {
            *slot = Some((b.median_s, b.gflops));
        }
    }

    /// Σ weight × best over the tasks, when every task has one.
    fn network_s(&self) -> Option<f64> {
        self.best
            .iter()
            .zip(&self.weights)
            .map(|(b, w)| b.map(|(s, _)| s * w))
            .sum()
    }

    /// Updates the display for one event.
    pub fn on_event(&mut self, e: &TuneEvent) {
        match e {
            TuneEvent::Resumed {
                records, successes, ..
            } => {
                let _ = self.bars.println(format!(
                    "resumed {records} record(s) from the log ({successes} successful); they are not measured again"
                ));
            }
            TuneEvent::NewBest { task, best } => self.note_best(*task, best),
            TuneEvent::RoundDone {
                task,
                trials,
                best,
                cold,
                ..
            } => {
                if let Some(b) = best {
                    self.note_best(*task, b);
                }
                self.overall.set_position(*trials as u64);
                let name = self.names.get(*task).map_or("?", String::as_str);
                let best_text = match self.best.get(*task).copied().flatten() {
                    Some((s, g)) => format!("best {} ({g:.2} GFLOP/s)", ms(s)),
                    None => "no success yet".to_string(),
                };
                let phase = if *cold { ", random warm-up" } else { "" };
                self.task.set_message(format!(
                    "task {}/{} {name}: {best_text}{phase}",
                    task + 1,
                    self.names.len()
                ));
                if self.names.len() > 1 {
                    if let Some(n) = self.network_s() {
                        self.overall.set_message(format!("| network {}", ms(n)));
                    }
                }
            }
            TuneEvent::ModelFitted { .. } | TuneEvent::Stopped { .. } => {}
        }
    }

    /// Removes the bars.
    pub fn finish(&self) {
        self.task.finish_and_clear();
        self.overall.finish_and_clear();
    }
}
