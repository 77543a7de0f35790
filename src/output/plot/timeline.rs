//! `timeline.svg/png`: traffic, each DC's successes and errors, and the
//! replication backlog's age over time, with the faults marked: an outage
//! (an interval) is shaded, a drill or failback (an instant) is a dashed
//! line; each is numbered at the top and named in the key below.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::marks::{Marks, SWITCHED, draw_key, draw_marks, key_height, read_marks};
use super::series::{Series, read_series};
use super::{FAMILY, PALETTE, Res, tick};

/// Per-DC lines drawn before the rest are summed as "other DCs".
const MAX_DC_LINES: usize = 8;

/// `timeline.svg/png` of a run folder.
pub fn plot_timeline(dir: &Path) -> Res {
    let s = read_series(dir)?;
    let end = s.end;
    let m = read_marks(dir, end)?;
    let size = (WIDTH, HEIGHT + key_height(&m, WIDTH));
    both!(dir, "timeline", size, |root| timeline(&root, &s, &m, end))
}

/// The picture's size without the key of marks.
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1240;

fn timeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Series,
    m: &Marks,
    end: f64,
) -> Res
where
    DB::ErrorType: 'static,
{
    let (head, rest) = root.split_vertically(24);
    let (rest, key) = rest.split_vertically(HEIGHT - 24);
    head.draw(&Text::new(
        "shaded: outage · dashed purple: switchover drill or failback · numbered at the top, named below · orange: failure detected · green: shards switched",
        (12, 6),
        (FAMILY, 13),
    ))?;
    draw_key(&key, m)?;
    let areas = rest.split_evenly((4, 1));
    let total = [
        (
            "requests/s",
            s.requests.as_slice(),
            RGBColor(30, 30, 30),
            false,
        ),
        ("ok/s", s.ok.as_slice(), SWITCHED, false),
        (
            "misrouted/s",
            s.misrouted.as_slice(),
            RGBColor(200, 0, 200),
            true,
        ),
    ];
    panel(
        &areas[0],
        "All DCs (per second)",
        end,
        &total,
        &s.t,
        m,
        true,
    )?;
    let ok = per_dc(&s.dcs, &s.dc_ok);
    let refs: Vec<_> = ok
        .iter()
        .map(|(n, v, c)| (n.as_str(), v.as_slice(), *c, false))
        .collect();
    panel(
        &areas[1],
        "Successful requests per DC, where they were decided (ok/s)",
        end,
        &refs,
        &s.t,
        m,
        false,
    )?;
    let err = per_dc(&s.dcs, &s.dc_errors);
    let refs: Vec<_> = err
        .iter()
        .map(|(n, v, c)| (n.as_str(), v.as_slice(), *c, false))
        .collect();
    panel(
        &areas[2],
        "Failed and rejected requests per DC, where they were decided (per second)",
        end,
        &refs,
        &s.t,
        m,
        false,
    )?;
    lag_panel(&areas[3], end, s, m)
}

/// Each DC's line, the largest `MAX_DC_LINES - 1` by total and the rest
/// summed when there are more.
fn per_dc(names: &[String], v: &[Vec<f64>]) -> Vec<(String, Vec<f64>, RGBColor)> {
    let color = |i: usize| PALETTE[i % PALETTE.len()];
    if names.len() <= MAX_DC_LINES {
        return (0..names.len())
            .map(|d| (names[d].clone(), v[d].clone(), color(d)))
            .collect();
    }
    let mut order: Vec<usize> = (0..names.len()).collect();
    let sum = |d: usize| v[d].iter().sum::<f64>();
    order.sort_by(|&a, &b| sum(b).total_cmp(&sum(a)).then(a.cmp(&b)));
    let (shown, others) = order.split_at(MAX_DC_LINES - 1);
    let mut shown = shown.to_vec();
    shown.sort_unstable();
    let mut out: Vec<_> = shown
        .iter()
        .enumerate()
        .map(|(i, &d)| (names[d].clone(), v[d].clone(), color(i)))
        .collect();
    let mut rest = vec![0.0; v[0].len()];
    for &d in others {
        rest.iter_mut().zip(&v[d]).for_each(|(r, x)| *r += x);
    }
    out.push((
        format!("{} other DCs", others.len()),
        rest,
        RGBColor(120, 120, 120),
    ));
    out
}

/// A linear panel of lines over time, with the marks; a line's flag makes it dashed.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    end: f64,
    lines: &[(&str, &[f64], RGBColor, bool)],
    t: &[f64],
    marks: &Marks,
    named: bool,
) -> Res
where
    DB::ErrorType: 'static,
{
    let (area, side) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(LEGEND_W));
    let key: Vec<(String, RGBColor, bool)> = lines
        .iter()
        .map(|(n, _, c, d)| (n.to_string(), *c, *d))
        .collect();
    side_legend(&side, &key)?;
    let area = &area;
    let top = lines
        .iter()
        .flat_map(|(_, v, _, _)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0)
        * if named { 1.25 } else { 1.1 };
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, 16))
        .margin(8)
        .margin_right(28)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..end, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style((FAMILY, 12))
        .draw()?;
    draw_marks(&mut chart, marks, 0.0, top, named)?;
    for (_, values, color, dashed) in lines {
        let pts = t.iter().copied().zip(values.iter().copied());
        let style = color.stroke_width(2);
        if *dashed {
            chart.draw_series(DashedLineSeries::new(pts, 5, 4, style))?;
        } else {
            chart.draw_series(LineSeries::new(pts, style))?;
        }
    }
    Ok(())
}

/// Width of the key beside each panel, so that it never hides data.
const LEGEND_W: u32 = 240;

/// The key of a panel, beside it: a line sample and a name per series.
fn side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor, bool)],
) -> Res
where
    DB::ErrorType: 'static,
{
    for (i, (name, color, dashed)) in items.iter().enumerate() {
        let y = 44 + 18 * i as i32;
        if *dashed {
            for x in [4, 13, 22] {
                area.draw(&PathElement::new(
                    [(x, y), (x + 5, y)],
                    color.stroke_width(2),
                ))?;
            }
        } else {
            area.draw(&PathElement::new([(4, y), (26, y)], color.stroke_width(2)))?;
        }
        let style =
            TextStyle::from((FAMILY, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(name.clone(), (32, y), style))?;
    }
    Ok(())
}

/// The replication backlog on a log scale: at each bucket's end, how old
/// the oldest write a DC has not applied yet is (it grows while a link is
/// cut), and in gray the p99 lag of the writes applied in the bucket (worst DC).
/// Zero (nothing pending, nothing applied) breaks a line.
fn lag_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    end: f64,
    s: &Series,
    m: &Marks,
) -> Res
where
    DB::ErrorType: 'static,
{
    let (area, side) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(LEGEND_W));
    let area = &area;
    let empty = Vec::new();
    let ages = s.dc_age_ms.as_ref().unwrap_or(&empty);
    let all = || {
        ages.iter()
            .flatten()
            .chain(&s.lag_p99_ms)
            .copied()
            .filter(|v| *v > 0.0)
    };
    let hi = all().fold(1.0f64, f64::max) * 3.0;
    let lo = all().fold(hi, f64::min).min(1.0) / 2.0;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Replication: age of the oldest write not yet applied, per destination DC (ms, log scale)",
            (FAMILY, 16),
        )
        .margin(8)
        .margin_right(28)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..end, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style((FAMILY, 12))
        .draw()?;
    draw_marks(&mut chart, m, lo, hi, false)?;
    let gray = RGBColor(150, 150, 150);
    // With many DCs, the ones with the oldest backlog (ties: file order).
    let peak = |d: usize| ages[d].iter().copied().fold(0.0f64, f64::max);
    let mut shown: Vec<usize> = (0..ages.len()).collect();
    shown.sort_by(|&a, &b| peak(b).total_cmp(&peak(a)).then(a.cmp(&b)));
    shown.truncate(MAX_DC_LINES);
    shown.sort_unstable();
    let mut lines: Vec<(String, &[f64], RGBColor)> = shown
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            (
                format!("oldest unapplied at {}", s.dcs[d]),
                ages[d].as_slice(),
                PALETTE[i % PALETTE.len()],
            )
        })
        .collect();
    if ages.len() > MAX_DC_LINES {
        lines.push((
            format!(
                "({} DCs with less backlog not drawn)",
                ages.len() - MAX_DC_LINES
            ),
            &[],
            WHITE,
        ));
    }
    lines.push((
        "applied-write lag p99, worst DC".into(),
        &s.lag_p99_ms,
        gray,
    ));
    // Ages are taken at the bucket's end, lags over the bucket.
    let t_end: Vec<f64> = s.t.iter().map(|t| t + s.bucket_s).collect();
    for (_, values, color) in &lines {
        let (width, t) = if *color == gray {
            (1, &s.t)
        } else {
            (2, &t_end)
        };
        for run in runs(t, values) {
            chart.draw_series(LineSeries::new(run, color.stroke_width(width)))?;
        }
    }
    let key: Vec<(String, RGBColor, bool)> =
        lines.into_iter().map(|(n, _, c)| (n, c, false)).collect();
    side_legend(&side, &key)
}

/// The stretches of positive values, as points.
fn runs(t: &[f64], v: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (t, v) in t.iter().zip(v) {
        if *v > 0.0 {
            out.last_mut().expect("one run").push((*t, *v));
        } else if !out.last().expect("one run").is_empty() {
            out.push(Vec::new());
        }
    }
    out.retain(|r| !r.is_empty());
    out
}
