//! The rows of `tilegrad bench kernels`, their summary, and the text, Markdown and JSON
//! forms of the table; plus the default output folder's name (date and CPU model).

use serde::Serialize;

/// One workload of the benchmark.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    /// The suite group (network or set) of the workload.
    pub group: String,
    /// The workload, canonical text.
    pub workload: String,
    /// FLOPs of one run (the templates crate's count, as `tune` uses).
    pub flops: f64,
    /// Our best kernel: median over the head-to-head rounds, seconds.
    pub ours_s: Option<f64>,
    /// Our throughput at `ours_s`, GFLOP/s.
    pub ours_gflops: Option<f64>,
    /// Our median of every head-to-head round, seconds.
    pub ours_rounds_s: Vec<f64>,
    /// ONNX Runtime: median over the rounds, seconds.
    pub ort_s: Option<f64>,
    /// ONNX Runtime's throughput at `ort_s`, GFLOP/s.
    pub ort_gflops: Option<f64>,
    /// ONNX Runtime's median of every round, seconds.
    pub ort_rounds_s: Vec<f64>,
    /// The ONNX graph's operators and opset.
    pub ort_graph: Option<String>,
    /// Our head-to-head timings during which other processes took more than
    /// [`tilegrad_measure::DISTURBED`] of the CPUs.
    pub disturbed_rounds: usize,
    /// `ours_gflops / ort_gflops`.
    pub ratio: Option<f64>,
    /// Trials the tuner measured.
    pub trials: usize,
    /// The first trial whose best-so-far reached 95 % of the final best.
    pub trials_to_95: Option<usize>,
    /// Seconds into tuning when that trial finished.
    pub seconds_to_95: Option<f64>,
    /// Wall time of the tuning run, seconds.
    pub tuning_s: f64,
    /// The best schedule's sketch id.
    pub sketch: Option<String>,
    /// The best schedule's assignment.
    pub assignment: Option<String>,
    /// Why we have no number (no schedule, tuning or measurement failed).
    pub error: Option<String>,
    /// Why ONNX Runtime has no number (unsupported operator, ...).
    pub ort_error: Option<String>,
    /// The tuning log of the workload.
    pub log: String,
}

/// The geomean and minimum of the ratios.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Rows with both numbers.
    pub compared: usize,
    /// Geometric mean of `ours / ORT`.
    pub geomean_ratio: Option<f64>,
    /// Smallest `ours / ORT`.
    pub min_ratio: Option<f64>,
    /// The workload of the smallest ratio.
    pub min_workload: Option<String>,
}

impl Summary {
    /// Over `rows`.
    pub fn of(rows: &[Row]) -> Summary {
        let r: Vec<(f64, &str)> = rows
            .iter()
            .filter_map(|r| r.ratio.map(|x| (x, r.workload.as_str())))
            .filter(|(x, _)| x.is_finite() && *x > 0.0)
            .collect();
        if r.is_empty() {
            return Summary::default();
        }
        let geo = (r.iter().map(|(x, _)| x.ln()).sum::<f64>() / r.len() as f64).exp();
        let min = r.iter().min_by(|a, b| a.0.total_cmp(&b.0)).copied();
        Summary {
            compared: r.len(),
            geomean_ratio: Some(geo),
            min_ratio: min.map(|m| m.0),
            min_workload: min.map(|m| m.1.to_string()),
        }
    }
}

/// The median of `xs` (NaN when empty).
pub fn median(xs: &[f64]) -> f64 {
    let mut s: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

fn num(x: Option<f64>, digits: usize) -> String {
    x.map_or("n/a".to_string(), |v| format!("{v:.digits$}"))
}

fn cells(r: &Row, with_ort: bool) -> Vec<String> {
    let mut c = vec![if r.ours_gflops.is_none() && r.error.is_some() {
        "fail".to_string()
    } else {
        num(r.ours_gflops, 2)
    }];
    if with_ort {
        c.push(num(r.ort_gflops, 2));
        c.push(r.ratio.map_or("n/a".to_string(), |x| format!("{x:.2}x")));
    }
    c.push(r.trials_to_95.map_or("-".to_string(), |t| t.to_string()));
    c.push(num(r.seconds_to_95, 1));
    c.push(format!("{:.1}", r.tuning_s));
    c.push(r.workload.clone());
    c
}

fn headers(with_ort: bool) -> Vec<&'static str> {
    let mut h = vec!["ours GFLOP/s"];
    if with_ort {
        h.extend(["ORT GFLOP/s", "ours/ORT"]);
    }
    h.extend(["trials@95%", "s@95%", "tune s", "workload"]);
    h
}

/// The summary lines (geomean and minimum ratio).
pub fn summary_lines(s: &Summary) -> Vec<String> {
    match (s.geomean_ratio, s.min_ratio) {
        (Some(g), Some(m)) => vec![
            format!("geomean ours/ORT: {g:.3}x over {} workload(s)", s.compared),
            format!(
                "min ours/ORT:     {m:.3}x ({})",
                s.min_workload.as_deref().unwrap_or("?")
            ),
        ],
        _ => vec!["no workload has both numbers: no ratio".to_string()],
    }
}

/// The table as aligned text (the workload last), ORT columns only `with_ort`.
pub fn to_text(rows: &[Row], with_ort: bool) -> String {
    let h = headers(with_ort);
    let body: Vec<Vec<String>> = rows.iter().map(|r| cells(r, with_ort)).collect();
    let widths: Vec<usize> = (0..h.len())
        .map(|i| {
            body.iter()
                .map(|c| c[i].len())
                .chain([h[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |c: Vec<String>| {
        let last = c.len() - 1;
        let mut s: Vec<String> = c[..last]
            .iter()
            .enumerate()
            .map(|(i, x)| format!("{x:>w$}", w = widths[i]))
            .collect();
        s.push(c[last].clone());
        s.join("  ")
    };
    let mut out = line(h.iter().map(|s| s.to_string()).collect()) + "\n";
    for c in body {
        out += &line(c);
        out.push('\n');
    }
    out
}

/// The table in Markdown (the workload first).
pub fn to_markdown(rows: &[Row], with_ort: bool) -> String {
    let mut h = headers(with_ort);
    h.rotate_right(1);
    let mut out = format!("| {} |\n|{}\n", h.join(" | "), "---|".repeat(h.len()));
    for r in rows {
        let mut c = cells(r, with_ort);
        c.rotate_right(1);
        c[0] = format!("`{}`", c[0]);
        out += &format!("| {} |\n", c.join(" | "));
    }
    out
}

/// `YYYY-MM-DD` (UTC) of the current time.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 -> (year, month, day) (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The CPU model (`model name` of `/proc/cpuinfo`), or `unknown CPU`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| {
                    l.split(':')
                        .next()
                        .is_some_and(|k| k.trim() == "model name")
                })
                .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()))
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// A file-name slug: lowercase, runs of other characters as one `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// This process's command line, quoted for a POSIX shell where needed.
pub fn shell_command() -> String {
    std::env::args()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The output folder's README: CPU, command, the table in Markdown and the summary.
pub fn readme(
    cpu: &str,
    threads: u32,
    command: &str,
    versions: Option<&str>,
    rows: &[Row],
    s: &Summary,
) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = format!(
        "# tilegrad vs ONNX Runtime: model-zoo kernels\n\n\
         - date: {} (UTC)\n- CPU: {cpu}, {cores} core(s) available, {threads} thread(s) \
         used by both sides\n- ONNX Runtime: {}\n- command:\n\n```sh\n{command}\n```\n\n\
         Every workload was tuned with the budget above (logs and reports in `logs/`), then \
         our best kernel and ONNX Runtime's graph of the same operator were timed \
         alternately; each column is the median of the rounds' medians. \
         `trials@95%`/`s@95%`: when the tuning run's best-so-far first reached 95 % of its \
         final best. The numbers are in `kernels.json`.\n\n",
        today(),
        versions.unwrap_or("not available (our column only)")
    );
    out += &to_markdown(rows, versions.is_some());
    if versions.is_some() {
        out.push('\n');
        for l in summary_lines(s) {
            out += &format!("- {l}\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_slugs_and_summaries() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(
            slug("AMD EPYC 7B13 64-Core Processor"),
            "amd-epyc-7b13-64-core-processor"
        );
        let row = |w: &str, ratio| Row {
            workload: w.into(),
            ratio,
            ..Row::default()
        };
        let s = Summary::of(&[row("a", Some(2.0)), row("b", Some(0.5)), row("c", None)]);
        assert_eq!(s.compared, 2);
        assert!((s.geomean_ratio.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(s.min_workload.as_deref(), Some("b"));
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
        let text = to_text(&[row("a", Some(2.0))], true);
        assert!(
            text.contains("2.00x") && text.contains("ORT GFLOP/s"),
            "{text}"
        );
        assert!(!to_text(&[row("a", None)], false).contains("ORT"));
        assert!(to_markdown(&[row("a", None)], true).starts_with("| workload |"));
    }
}
