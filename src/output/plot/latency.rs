//! `latency.svg/png`: each request kind's latency against its percentile,
//! on a scale of 1 − p (p90, p99, p99.9, p99.99 equally spaced), so the
//! tail is as visible as the median.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FAMILY, PALETTE, Res, col, num, read_table, tick};

/// The deepest percentile shown: p99.99, 4 on the `-log10(1 - p)` axis.
const DEPTH: f64 = 4.0;

/// A kind's curve: (−log10(1 − p), latency ms) for p < 1, and its maximum.
pub(super) type Curve = (String, Vec<(f64, f64)>, Option<f64>);

pub(super) fn read_curves(dir: &Path) -> Result<Vec<Curve>, Box<dyn std::error::Error>> {
    let (h, rows) = read_table(&dir.join("latency.csv"))?;
    let (kind, q, ms) = (
        col(&h, "kind")?,
        col(&h, "quantile")?,
        col(&h, "latency_ms")?,
    );
    let mut curves: Vec<Curve> = Vec::new();
    for r in &rows {
        let (Some(qv), Some(v)) = (num(&r[q]), num(&r[ms])) else {
            continue;
        };
        let i = match curves.iter().position(|c| c.0 == r[kind]) {
            Some(i) => i,
            None => {
                curves.push((r[kind].clone(), Vec::new(), None));
                curves.len() - 1
            }
        };
        if qv >= 1.0 {
            curves[i].2 = Some(v);
        } else if qv >= 0.0 {
            let x = -(1.0 - qv).log10();
            if x <= DEPTH + 1e-9 {
                curves[i].1.push((x.max(0.0), v));
            }
        }
    }
    for c in &mut curves {
        c.1.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    Ok(curves)
}

/// `latency.svg/png` of a run folder.
pub fn plot_latency(dir: &Path) -> Res {
    let curves = read_curves(dir)?;
    both!(dir, "latency", (900, 600), |root| draw(&root, &curves))
}

/// The name of a position on the percentile axis.
pub(super) fn percentile_name(x: f64) -> String {
    if x.abs() < 1e-9 {
        return "p0".into();
    }
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    format!("p{}", tick((p * 1e4).round() / 1e4))
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, curves: &[Curve]) -> Res
where
    DB::ErrorType: 'static,
{
    let values = || curves.iter().flat_map(|c| c.1.iter().map(|p| p.1));
    let max = values().fold(0.0f64, f64::max);
    let min = values().filter(|v| *v > 0.0).fold(max, f64::min);
    let log = min > 0.0 && max / min > 30.0;
    let caption = "Client latency by percentile (each step right: ten times rarer)";
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(caption, (FAMILY, 18))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(44)
        .y_label_area_size(70);
    let x_range = 0.0..DEPTH;
    macro_rules! curves_on {
        ($chart:expr) => {{
            let chart = $chart;
            chart
                .configure_mesh()
                .x_labels(5)
                .x_label_formatter(&|x| percentile_name(*x))
                .y_label_formatter(&|v| tick(*v))
                .x_desc("percentile (log scale of 1 − p)")
                .y_desc("latency (ms)")
                .label_style((FAMILY, 13))
                .draw()?;
            for (i, (name, pts, top)) in curves.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                let label = match top {
                    Some(m) => format!("{name} (max {} ms)", tick((m * 1e3).round() / 1e3)),
                    None => name.clone(),
                };
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                chart.draw_series(pts.iter().map(|p| Circle::new(*p, 2, color.filled())))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FAMILY, 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()?;
        }};
    }
    if log {
        let mut chart = builder.build_cartesian_2d(x_range, (min / 1.3..max * 1.3).log_scale())?;
        curves_on!(&mut chart);
    } else {
        let mut chart = builder.build_cartesian_2d(x_range, 0.0..(max * 1.15).max(1e-3))?;
        curves_on!(&mut chart);
    }
    if curves.is_empty() {
        root.draw(&Text::new("no request completed", (80, 80), (FAMILY, 16)))?;
    }
    Ok(())
}
