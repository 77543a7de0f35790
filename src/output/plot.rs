//! Plots, drawn from the CSV files of a run or a sweep (so `multiactive
//! plot DIR` redraws exactly what `run` and `sweep` drew), as SVG and PNG.
//! Text uses an embedded DejaVu Sans, so PNGs render on a machine without
//! fonts.

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;

type Res = Result<(), Box<dyn Error>>;

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font(FAMILY, style, FONT).is_err() {
                panic!("the embedded font is not a valid TrueType font");
            }
        }
    });
}

/// Draws `$body` (which uses `$root`) as `dir/stem.svg` and
/// `dir/stem.png`, each written to a temporary name and renamed into place.
/// A macro, because the body is generic over the two backends.
macro_rules! both {
    ($dir:expr, $stem:expr, $size:expr, |$root:ident| $body:expr) => {{
        register_font();
        let mut svg = String::new();
        {
            let $root = SVGBackend::with_string(&mut svg, $size).into_drawing_area();
            $root.fill(&WHITE)?;
            $body?;
            $root.present()?;
        }
        super::write_atomic($dir, &format!("{}.svg", $stem), svg.as_bytes())?;
        let tmp = $dir.join(format!(".{}.tmp-{}.png", $stem, std::process::id()));
        {
            let $root = BitMapBackend::new(&tmp, $size).into_drawing_area();
            $root.fill(&WHITE)?;
            $body?;
            $root.present()?;
        }
        std::fs::rename(&tmp, $dir.join(format!("{}.png", $stem)))?;
        Ok::<(), Box<dyn Error>>(())
    }};
}

/// Reads a CSV file into its header and rows of strings.
/// A CSV file: its header and its rows.
pub type Table = (Vec<String>, Vec<Vec<String>>);

pub fn read_table(path: &Path) -> Result<Table, Box<dyn Error>> {
    let mut r = csv::Reader::from_path(path)?;
    let header = r.headers()?.iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()?;
    Ok((header, rows))
}

fn col(header: &[String], name: &str) -> Result<usize, Box<dyn Error>> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| format!("no column `{name}`").into())
}

/// A finite number from a CSV cell (an `inf` would stall plotting).
fn num(s: &str) -> Option<f64> {
    s.parse().ok().filter(|v: &f64| v.is_finite())
}

/// A run's time series, summed over DCs per bucket.
struct Series {
    t: Vec<f64>,
    bucket_s: f64,
    requests: Vec<f64>,
    ok: Vec<f64>,
    errors: Vec<f64>,
    misrouted: Vec<f64>,
    lag_p99_ms: Vec<f64>,
}

fn read_series(dir: &Path) -> Result<Series, Box<dyn Error>> {
    // Row by row: a long run's time series need not fit in memory as text.
    let mut reader = csv::Reader::from_path(dir.join("timeseries.csv"))?;
    let h: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    let [t, req, ok, failed, rejected, mis, lag] = [
        "t_s",
        "requests",
        "ok",
        "failed",
        "rejected",
        "misrouted",
        "repl_lag_p99_ms",
    ]
    .map(|c| col(&h, c));
    let (t, req, ok, failed, rejected, mis, lag) = (t?, req?, ok?, failed?, rejected?, mis?, lag?);
    let mut s = Series {
        t: Vec::new(),
        bucket_s: 1.0,
        requests: Vec::new(),
        ok: Vec::new(),
        errors: Vec::new(),
        misrouted: Vec::new(),
        lag_p99_ms: Vec::new(),
    };
    for r in reader.records() {
        let r = r?;
        let time = num(&r[t]).unwrap_or(0.0);
        if s.t.last() != Some(&time) {
            s.t.push(time);
            for v in [
                &mut s.requests,
                &mut s.ok,
                &mut s.errors,
                &mut s.misrouted,
                &mut s.lag_p99_ms,
            ] {
                v.push(0.0);
            }
        }
        let i = s.t.len() - 1;
        let v = |c: usize| num(&r[c]).unwrap_or(0.0);
        s.requests[i] += v(req);
        s.ok[i] += v(ok);
        s.errors[i] += v(failed) + v(rejected);
        s.misrouted[i] += v(mis);
        s.lag_p99_ms[i] = s.lag_p99_ms[i].max(v(lag));
    }
    if s.t.len() > 1 {
        s.bucket_s = s.t[1] - s.t[0];
    }
    // Counts per bucket → rates per second.
    for v in [&mut s.requests, &mut s.ok, &mut s.errors, &mut s.misrouted] {
        for x in v.iter_mut() {
            *x /= s.bucket_s;
        }
    }
    Ok(s)
}

/// Faults and failover moments from `failures.csv`.
struct Marks {
    spans: Vec<(f64, f64, String)>,
    detected: Vec<f64>,
    switched: Vec<f64>,
}

fn read_marks(dir: &Path, end: f64) -> Result<Marks, Box<dyn Error>> {
    let (h, rows) = read_table(&dir.join("failures.csv"))?;
    let [k, t, s, e, d, w] = [
        "kind",
        "target",
        "start_s",
        "end_s",
        "detected_s",
        "switched_s",
    ]
    .map(|c| col(&h, c));
    let (k, t, s, e, d, w) = (k?, t?, s?, e?, d?, w?);
    let mut m = Marks {
        spans: Vec::new(),
        detected: Vec::new(),
        switched: Vec::new(),
    };
    for r in &rows {
        if let Some(start) = num(&r[s])
            && r[k] != "failback"
        {
            m.spans.push((
                start,
                num(&r[e]).unwrap_or(end).max(start),
                format!("{} {}", r[k], r[t]),
            ));
        }
        m.detected.extend(num(&r[d]));
        m.switched.extend(num(&r[w]));
    }
    Ok(m)
}

/// Shades the faults and marks detections (orange) and switches (green)
/// from `lo` to `hi` on a time chart, linear or logarithmic.
fn draw_marks<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    m: &Marks,
    lo: f64,
    hi: f64,
) -> Res
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    let shade = RGBColor(230, 80, 60).mix(0.15);
    chart.draw_series(
        m.spans
            .iter()
            .map(|(a, b, _)| Rectangle::new([(*a, lo), (*b, hi)], shade.filled())),
    )?;
    let detected = m.detected.iter().map(|x| (x, RGBColor(230, 140, 0)));
    for (x, color) in detected.chain(m.switched.iter().map(|x| (x, RGBColor(0, 150, 60)))) {
        chart.draw_series(LineSeries::new([(*x, lo), (*x, hi)], color.stroke_width(2)))?;
    }
    Ok(())
}

/// `timeline.svg/png` and `latency.svg/png` of a run folder.
pub fn plot_run(dir: &Path) -> Res {
    let s = read_series(dir)?;
    let end = s.t.last().copied().unwrap_or(0.0) + s.bucket_s;
    let marks = read_marks(dir, end)?;
    both!(dir, "timeline", (1200, 900), |root| timeline(
        &root, &s, &marks, end
    ))?;
    let (h, rows) = read_table(&dir.join("latency.csv"))?;
    let (kind, q, ms) = (
        col(&h, "kind")?,
        col(&h, "quantile")?,
        col(&h, "latency_ms")?,
    );
    let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for r in &rows {
        let (Some(qv), Some(v)) = (num(&r[q]), num(&r[ms])) else {
            continue;
        };
        match curves.iter_mut().find(|(k, _)| *k == r[kind]) {
            Some((_, pts)) => pts.push((v, qv)),
            None => curves.push((r[kind].clone(), vec![(v, qv)])),
        }
    }
    both!(dir, "latency", (900, 600), |root| latency_cdf(
        &root, &curves
    ))
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    end: f64,
    lines: &[(&str, &[f64], RGBColor)],
    t: &[f64],
    marks: &Marks,
) -> Res
where
    DB::ErrorType: 'static,
{
    let top = lines
        .iter()
        .flat_map(|(_, v, _)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, 18))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..end, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .label_style((FAMILY, 13))
        .draw()?;
    draw_marks(&mut chart, marks, 0.0, top)?;
    for (name, values, color) in lines {
        chart
            .draw_series(LineSeries::new(
                t.iter().copied().zip(values.iter().copied()),
                color.stroke_width(2),
            ))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn timeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Series,
    m: &Marks,
    end: f64,
) -> Res
where
    DB::ErrorType: 'static,
{
    let areas = root.split_evenly((3, 1));
    let traffic: [(&str, &[f64], RGBColor); 2] = [
        ("requests/s", &s.requests, BLUE),
        ("ok/s", &s.ok, RGBColor(0, 150, 60)),
    ];
    panel(
        &areas[0],
        "Traffic (shaded: faults; orange: detected; green: switched)",
        end,
        &traffic,
        &s.t,
        m,
    )?;
    let errors: [(&str, &[f64], RGBColor); 2] = [
        ("failed+rejected/s", &s.errors, RED),
        ("misrouted/s", &s.misrouted, MAGENTA),
    ];
    panel(&areas[1], "Errors and misroutes", end, &errors, &s.t, m)?;
    lag_panel(&areas[2], end, s, m)
}

/// Replication lag on a log scale: a failure's backlog (seconds) and the
/// normal lag (milliseconds) both stay readable. Buckets where nothing was
/// applied break the line.
fn lag_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    end: f64,
    s: &Series,
    m: &Marks,
) -> Res
where
    DB::ErrorType: 'static,
{
    let present = || s.lag_p99_ms.iter().copied().filter(|v| *v > 0.0);
    let hi = present().fold(1.0f64, f64::max) * 2.0;
    let lo = present().fold(hi, f64::min).min(1.0) / 2.0;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Replication lag p99, worst DC (ms, log scale)",
            (FAMILY, 18),
        )
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..end, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .label_style((FAMILY, 13))
        .draw()?;
    draw_marks(&mut chart, m, lo, hi)?;
    let gray = RGBColor(90, 90, 90);
    let mut run: Vec<(f64, f64)> = Vec::new();
    for (t, v) in s.t.iter().zip(&s.lag_p99_ms) {
        if *v > 0.0 {
            run.push((*t, *v));
        } else if !run.is_empty() {
            chart.draw_series(LineSeries::new(
                std::mem::take(&mut run),
                gray.stroke_width(2),
            ))?;
        }
    }
    if !run.is_empty() {
        chart.draw_series(LineSeries::new(run, gray.stroke_width(2)))?;
    }
    Ok(())
}

fn latency_cdf<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[(String, Vec<(f64, f64)>)],
) -> Res
where
    DB::ErrorType: 'static,
{
    let max = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .fold(0.001f64, f64::max)
        * 1.05;
    let min = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .filter(|x| *x > 0.0)
        .fold(max, f64::min)
        .max(0.001);
    let mut chart = ChartBuilder::on(root)
        .caption("Client latency (CDF)", (FAMILY, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d((min..max).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms)")
        .y_desc("fraction of requests")
        .label_style((FAMILY, 13))
        .draw()?;
    let colors = [BLUE, RED, RGBColor(0, 150, 60), MAGENTA];
    for (i, (name, pts)) in curves.iter().enumerate() {
        let color = colors[i % colors.len()];
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|&(x, y)| (x.max(min), y)),
                color.stroke_width(2),
            ))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FAMILY, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The metrics a sweep compares, with their labels.
pub const COMPARED: &[(&str, &str)] = &[
    ("p99_ms", "p99 latency (ms)"),
    ("conflicts", "conflicts"),
    ("lost_writes", "lost writes"),
    ("rpo_writes", "RPO (writes)"),
    ("rto_s", "RTO (s)"),
    ("misrouted", "misrouted"),
];

/// `compare.svg/png` (each compared metric per combination, mean and 95%
/// interval) and `tradeoff.svg/png` (conflicts against RTO) of a sweep.
pub fn plot_sweep(dir: &Path) -> Res {
    let (h, rows) = read_table(&dir.join("aggregate.csv"))?;
    let n_keys = col(&h, "runs")?;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| {
            let l = (0..n_keys)
                .map(|i| format!("{}={}", short(&h[i]), r[i]))
                .collect::<Vec<_>>()
                .join(" ");
            if l.is_empty() { "all".to_string() } else { l }
        })
        .collect();
    let stat = |name: &str| -> Vec<(f64, f64)> {
        let (m, c) = (
            col(&h, &format!("{name}_mean")),
            col(&h, &format!("{name}_ci95")),
        );
        rows.iter()
            .map(|r| match (&m, &c) {
                (Ok(m), Ok(c)) => (num(&r[*m]).unwrap_or(f64::NAN), num(&r[*c]).unwrap_or(0.0)),
                _ => (f64::NAN, 0.0),
            })
            .collect()
    };
    let metrics: Vec<(&str, Vec<(f64, f64)>)> = COMPARED
        .iter()
        .map(|(k, label)| (*label, stat(k)))
        .collect();
    let height = 300 * COMPARED.len().div_ceil(2) as u32;
    both!(dir, "compare", (1400, height), |root| compare(
        &root, &labels, &metrics
    ))?;
    let x = stat("rto_s");
    let y = stat("conflicts");
    both!(dir, "tradeoff", (1000, 700), |root| tradeoff(
        &root, &labels, &x, &y
    ))
}

/// The last segment of a dotted key: `replication.mode` → `mode`.
fn short(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

fn compare<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[String],
    metrics: &[(&str, Vec<(f64, f64)>)],
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
        let top = values
            .iter()
            .filter(|v| v.0.is_finite())
            .map(|(m, c)| m + c)
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(*title, (FAMILY, 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(label_width.min(420))
            .build_cartesian_2d(0.0..top, (0..last).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
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
        chart.draw_series(present().map(|(i, (m, _))| {
            PathElement::new(
                [
                    (0.0, SegmentValue::CenterOf(i)),
                    (m, SegmentValue::CenterOf(i)),
                ],
                BLUE.mix(0.5).stroke_width(thickness),
            )
        }))?;
        chart.draw_series(present().filter(|(_, (_, c))| *c > 0.0).map(|(i, (m, c))| {
            ErrorBar::new_horizontal(
                SegmentValue::CenterOf(i),
                (m - c).max(0.0),
                m,
                m + c,
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
    let xmax = pts.iter().map(|p| p.1 + p.2).fold(1e-9f64, f64::max) * 1.2;
    let ymax = pts.iter().map(|p| p.3 + p.4).fold(1e-9f64, f64::max) * 1.2;
    let mut chart = ChartBuilder::on(root)
        .caption("Conflicts against RTO (mean, 95% interval)", (FAMILY, 20))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..xmax, 0.0..ymax)?;
    chart
        .configure_mesh()
        .x_desc("RTO (s)")
        .y_desc("conflicts")
        .label_style((FAMILY, 13))
        .draw()?;
    chart
        .draw_series(pts.iter().map(|p| {
            ErrorBar::new_horizontal(p.3, (p.1 - p.2).max(0.0), p.1, p.1 + p.2, BLACK, 8)
        }))?;
    chart
        .draw_series(pts.iter().map(|p| {
            ErrorBar::new_vertical(p.1, (p.3 - p.4).max(0.0), p.3, p.3 + p.4, BLACK, 8)
        }))?;
    chart.draw_series(
        pts.iter()
            .map(|p| Circle::new((p.1, p.3), 6, BLUE.filled())),
    )?;
    chart.draw_series(
        pts.iter()
            .map(|p| Text::new(labels[p.0].clone(), (p.1, p.3), (FAMILY, 13))),
    )?;
    if pts.is_empty() {
        root.draw(&Text::new(
            "no failure with a defined RTO in this sweep",
            (60, 60),
            (FAMILY, 16),
        ))?;
    }
    Ok(())
}
