//! A sweep's plots: `compare` (each compared metric per combination, mean
//! and 95% interval over seeds) and `tradeoff` (conflicts against RTO).

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FAMILY, Res, col, fitted, num, read_table, tick};

/// The metrics a sweep compares, with their labels: `aggregate.csv`
/// columns (`<name>_mean`, `<name>_ci95`), and `availability_pct`, the
/// share of requests that succeeded, from each run's `ok / requests`.
pub const COMPARED: &[(&str, &str)] = &[
    ("availability_pct", "availability (ok %)"),
    ("p50_ms", "p50 latency (ms)"),
    ("p99_ms", "p99 latency (ms)"),
    ("forwarded", "forwarded requests"),
    ("misrouted", "misrouted requests"),
    ("conflicts", "conflicts"),
    ("lost_writes", "lost writes"),
    ("rpo_writes", "RPO (writes)"),
    ("rpo_s", "RPO (s)"),
    ("rto_s", "RTO (s)"),
];

/// A sweep's combinations and, per compared metric, each one's mean and
/// 95% half-interval (NaN mean: undefined in every run).
pub struct SweepStats {
    /// The varied keys.
    pub keys: Vec<String>,
    /// Per combination, the varied keys' values.
    pub combos: Vec<Vec<String>>,
    pub runs: Vec<String>,
    /// In `COMPARED` order.
    pub metrics: Vec<Vec<(f64, f64)>>,
}

impl SweepStats {
    /// A combination's short label: `mode=async shards=64`.
    pub fn label(&self, i: usize) -> String {
        let l: Vec<String> = self
            .keys
            .iter()
            .zip(&self.combos[i])
            .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
            .collect();
        if l.is_empty() {
            "all".into()
        } else {
            l.join(" ")
        }
    }
}

/// Reads `aggregate.csv` (and `summary.csv` for availability) of a sweep.
pub fn sweep_stats(dir: &Path) -> Result<SweepStats, Box<dyn Error>> {
    let (h, rows) = read_table(&dir.join("aggregate.csv"))?;
    let n_keys = col(&h, "runs")?;
    let combos: Vec<Vec<String>> = rows.iter().map(|r| r[..n_keys].to_vec()).collect();
    let availability = availability(dir, n_keys, &combos)?;
    let metrics = COMPARED
        .iter()
        .map(|(k, _)| {
            if *k == "availability_pct" {
                return availability.clone();
            }
            let (m, c) = (col(&h, &format!("{k}_mean")), col(&h, &format!("{k}_ci95")));
            rows.iter()
                .map(|r| match (&m, &c) {
                    (Ok(m), Ok(c)) => (num(&r[*m]).unwrap_or(f64::NAN), num(&r[*c]).unwrap_or(0.0)),
                    _ => (f64::NAN, 0.0),
                })
                .collect()
        })
        .collect();
    Ok(SweepStats {
        keys: h[..n_keys].to_vec(),
        runs: rows.iter().map(|r| r[n_keys].clone()).collect(),
        combos,
        metrics,
    })
}

/// Per combination: mean and 95% half-interval over its runs of
/// `100 · ok / requests`.
fn availability(
    dir: &Path,
    n_keys: usize,
    combos: &[Vec<String>],
) -> Result<Vec<(f64, f64)>, Box<dyn Error>> {
    let (h, rows) = read_table(&dir.join("summary.csv"))?;
    let (ok, req) = (col(&h, "ok")?, col(&h, "requests")?);
    Ok(combos
        .iter()
        .map(|c| {
            let xs: Vec<f64> = rows
                .iter()
                .filter(|r| r[..n_keys] == c[..])
                .filter_map(|r| match (num(&r[ok]), num(&r[req])) {
                    (Some(o), Some(n)) if n > 0.0 => Some(100.0 * o / n),
                    _ => None,
                })
                .collect();
            match crate::sweep::mean_ci(&xs) {
                (Some(m), c) => (m, c.unwrap_or(0.0)),
                (None, _) => (f64::NAN, 0.0),
            }
        })
        .collect())
}

/// `compare.svg/png` and `tradeoff.svg/png` of a sweep folder.
pub fn plot_sweep(dir: &Path) -> Res {
    let st = sweep_stats(dir)?;
    let labels: Vec<String> = (0..st.combos.len()).map(|i| st.label(i)).collect();
    let metrics: Vec<(&str, &[(f64, f64)])> = COMPARED
        .iter()
        .zip(&st.metrics)
        .map(|((_, l), v)| (*l, v.as_slice()))
        .collect();
    let height = 260 * COMPARED.len().div_ceil(2) as u32;
    both!(dir, "compare", (1400, height), |root| compare(
        &root, &labels, &metrics
    ))?;
    let at = |k: &str| {
        COMPARED
            .iter()
            .position(|c| c.0 == k)
            .expect("a compared metric")
    };
    let (x, y) = (&st.metrics[at("rto_s")], &st.metrics[at("conflicts")]);
    both!(dir, "tradeoff", (1000, 700), |root| tradeoff(
        &root, &labels, x, y
    ))
}

fn compare<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[String],
    metrics: &[(&str, &[(f64, f64)])],
) -> Res
where
    DB::ErrorType: 'static,
{
    // Horizontal bars: the combinations' long names fit on the left.
    let areas = root.split_evenly((metrics.len().div_ceil(2), 2));
    let n = labels.len();
    let last = n.saturating_sub(1) as i32;
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32 * 7 + 16;
    for (area, (title, values)) in areas.iter().zip(metrics) {
        // Every compared metric is a count, a share or a duration: its
        // interval stops at 0.
        let ends = values
            .iter()
            .filter(|v| v.0.is_finite())
            .flat_map(|(m, c)| [(m - c).max(0.0), m + c]);
        let (mut lo, mut hi) = fitted(ends.clone());
        // Bars from 0 when 0 is near; otherwise dots on a fitted range
        // (a bar that does not start at 0 would mislead).
        let bars = lo <= 0.0 || lo < 0.5 * hi;
        if bars {
            lo = lo.min(0.0);
            hi = ends.fold(0.0f64, f64::max).max(1e-9) * 1.15;
        }
        let mut chart = ChartBuilder::on(area)
            .caption(*title, (FAMILY, 16))
            .margin(8)
            .margin_right(24)
            .x_label_area_size(28)
            .y_label_area_size(label_width.min(420))
            .build_cartesian_2d(lo..hi, (0..last).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .x_labels(6)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FAMILY, 12))
            .draw()?;
        let present = || {
            values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.0.is_finite())
                .map(|(i, v)| (i as i32, *v))
        };
        let thickness = (area.dim_in_pixel().1 / (n as u32 + 1) / 2).clamp(4, 40);
        if bars {
            chart.draw_series(present().map(|(i, (m, _))| {
                PathElement::new(
                    [
                        (lo.max(0.0), SegmentValue::CenterOf(i)),
                        (m, SegmentValue::CenterOf(i)),
                    ],
                    BLUE.mix(0.5).stroke_width(thickness),
                )
            }))?;
        } else {
            chart.draw_series(present().map(|(i, (m, _))| {
                Circle::new((m, SegmentValue::CenterOf(i)), 6, BLUE.filled())
            }))?;
        }
        chart.draw_series(present().filter(|(_, (_, c))| *c > 0.0).map(|(i, (m, c))| {
            ErrorBar::new_horizontal(
                SegmentValue::CenterOf(i),
                (m - c).max(lo),
                m,
                (m + c).min(hi),
                BLACK.stroke_width(2),
                10,
            )
        }))?;
    }
    Ok(())
}

fn tradeoff<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[String],
    x: &[(f64, f64)],
    y: &[(f64, f64)],
) -> Res
where
    DB::ErrorType: 'static,
{
    let pts: Vec<(usize, f64, f64, f64, f64)> = (0..labels.len())
        .filter(|&i| x[i].0.is_finite() && y[i].0.is_finite())
        .map(|i| (i, x[i].0, x[i].1, y[i].0, y[i].1))
        .collect();
    // RTO and conflicts are never negative: neither are their intervals.
    let (xlo, xhi) = fitted(pts.iter().flat_map(|p| [(p.1 - p.2).max(0.0), p.1 + p.2]));
    let (ylo, yhi) = fitted(pts.iter().flat_map(|p| [(p.3 - p.4).max(0.0), p.3 + p.4]));
    let mut chart = ChartBuilder::on(root)
        .caption("Conflicts against RTO (mean, 95% interval)", (FAMILY, 20))
        .margin(14)
        .margin_right(30)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(xlo..xhi, ylo..yhi)?;
    chart
        .configure_mesh()
        .x_desc("RTO (s)")
        .y_desc("conflicts")
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style((FAMILY, 13))
        .draw()?;
    chart.draw_series(
        pts.iter()
            .filter(|p| p.2 > 0.0)
            .map(|p| ErrorBar::new_horizontal(p.3, (p.1 - p.2).max(xlo), p.1, p.1 + p.2, BLACK, 8)),
    )?;
    chart.draw_series(
        pts.iter()
            .filter(|p| p.4 > 0.0)
            .map(|p| ErrorBar::new_vertical(p.1, (p.3 - p.4).max(ylo), p.3, p.3 + p.4, BLACK, 8)),
    )?;
    chart.draw_series(
        pts.iter()
            .map(|p| Circle::new((p.1, p.3), 6, BLUE.filled())),
    )?;
    // Labels beside their marker, not on it: on the side with room, moved
    // down while they would overlap one already placed.
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
    let markers: Vec<(i32, i32)> = pts
        .iter()
        .map(|p| chart.backend_coord(&(p.1, p.3)))
        .collect();
    for (k, p) in pts.iter().enumerate() {
        let text = labels[p.0].clone();
        let (px, py) = markers[k];
        // 13 px DejaVu Sans averages about 8.3 px a character: leave room.
        let w = text.chars().count() as i32 * 9 + 4;
        let h = 16;
        let left = px + 10 + w > xr.end;
        let x0 = if left { px - 10 - w } else { px + 10 };
        let overlaps = |y0: i32| {
            let r = (x0, y0, x0 + w, y0 + h);
            // Outside the plotting area counts as taken: clamped back in,
            // it would land on whatever is at the edge.
            y0 < yr.start
                || y0 + h > yr.end
                || placed
                    .iter()
                    .any(|q| r.0 < q.2 && q.0 < r.2 && r.1 < q.3 && q.1 < r.3)
                || markers
                    .iter()
                    .any(|&(mx, my)| mx + 7 > r.0 && mx - 7 < r.2 && my + 7 > r.1 && my - 7 < r.3)
        };
        let mut y0 = py - h / 2;
        for step in 1..40 {
            if !overlaps(y0) {
                break;
            }
            let d = (step + 1) / 2 * h;
            y0 = if step % 2 == 1 {
                py - h / 2 + d
            } else {
                py - h / 2 - d
            };
        }
        let y0 = y0.clamp(yr.start, (yr.end - h).max(yr.start));
        placed.push((x0, y0, x0 + w, y0 + h));
        let style = TextStyle::from((FAMILY, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
        chart
            .plotting_area()
            .draw(&(EmptyElement::at((p.1, p.3)) + Text::new(text, (x0 - px, y0 - py), style)))?;
    }
    if pts.is_empty() {
        root.draw(&Text::new(
            "no failure with a defined RTO in this sweep",
            (60, 60),
            (FAMILY, 16),
        ))?;
    }
    Ok(())
}
