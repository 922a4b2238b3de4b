//! SVG line charts (plotters, SVG backend only) for `tilegrad report --plot`.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

/// One named line (or set of marks): `(x, y)` points in drawing order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// Drawn as separate marks, not joined (e.g. re-measurements beside a curve).
    pub marks: bool,
}

/// One chart: a title, axis labels and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Caption above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// The lines (charts with no points are drawn empty).
    pub series: Vec<Series>,
}

/// The smallest box holding every finite point of `chart`, padded so that a single point or
/// a flat line still gets a non-empty range.
fn bounds(chart: &Chart) -> ((f64, f64), (f64, f64)) {
    let pts = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return ((0.0, 1.0), (0.0, 1.0));
    }
    let pad = |a: f64, b: f64| {
        let span = if b > a { b - a } else { a.abs().max(1.0) };
        (a - 0.05 * span, b + 0.05 * span)
    };
    let (x0, x1) = if x1 > x0 { (x0, x1) } else { pad(x0, x1) };
    let (y0, y1) = pad(y0.min(0.0), y1);
    ((x0, x1), (y0, y1))
}

/// Writes `charts` stacked vertically into one SVG file at `path`.
pub fn write_svg(path: &Path, charts: &[Chart]) -> anyhow::Result<()> {
    let n = charts.len().max(1) as u32;
    let root = SVGBackend::new(path, (900, 420 * n)).into_drawing_area();
    let draw = || -> Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((charts.len().max(1), 1));
        for (chart, area) in charts.iter().zip(areas.iter()) {
            draw_chart(area, chart)?;
        }
        root.present().map_err(|e| e.to_string())
    };
    draw()
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot write the plot {}", path.display()))
}

fn draw_chart(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    c: &Chart,
) -> Result<(), String> {
    let ((x0, x1), (y0, y1)) = bounds(c);
    let mut chart = ChartBuilder::on(area)
        .caption(&c.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(c.x_label.as_str())
        .y_desc(c.y_label.as_str())
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, s) in c.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let drawn = if s.marks {
            chart.draw_series(
                pts.into_iter()
                    .map(|p| Cross::new(p, 4, color.stroke_width(2))),
            )
        } else {
            chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))
        };
        drawn
            .map_err(|e| e.to_string())?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    if !c.series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_every_series_and_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.svg");
        let chart = Chart {
            title: "best so far".into(),
            x_label: "trials".into(),
            y_label: "GFLOP/s".into(),
            series: vec![
                Series {
                    name: "matmul-a".into(),
                    points: vec![(1.0, 1.0), (2.0, 3.0)],
                    marks: false,
                },
                Series {
                    name: "one-point".into(),
                    points: vec![(1.0, 5.0)],
                    marks: true,
                },
            ],
        };
        let empty = Chart {
            series: vec![],
            ..chart.clone()
        };
        write_svg(&path, &[chart, empty]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        for s in ["matmul-a", "one-point", "trials", "GFLOP/s", "best so far"] {
            assert!(svg.contains(s), "{s} missing");
        }
        assert!(svg.contains("<polyline"), "a line is drawn");
    }

    #[test]
    fn an_unwritable_path_is_an_error() {
        let e = write_svg(Path::new("/nonexistent-dir/x/p.svg"), &[]).unwrap_err();
        assert!(format!("{e:#}").contains("cannot write the plot"), "{e:#}");
    }
}
