//! Plots, drawn from the CSV files of a run or a sweep (so `multiactive
//! plot DIR` redraws exactly what `run` and `sweep` drew), as SVG and PNG.
//! Text uses an embedded DejaVu Sans, so PNGs render on a machine without
//! fonts; nothing depends on the clock or the machine, so the same CSVs give
//! the same bytes.
//!
//! Every number is bounded before it reaches the plotting library: a cell
//! that is not finite or lies beyond ±`LIMIT` is left out, and a line on
//! standard error says how many were.

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

pub type Res = Result<(), Box<dyn Error>>;

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
pub const FAMILY: &str = "sans-serif";

/// The largest magnitude plotted: far beyond any count, rate or latency a
/// run writes (1e12 ms is 31 years), far below where drawing stalls.
pub const LIMIT: f64 = 1e12;

pub(crate) fn register_font() {
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
        $crate::output::plot::register();
        let mut svg = String::new();
        {
            let $root = SVGBackend::with_string(&mut svg, $size).into_drawing_area();
            $root.fill(&WHITE)?;
            $body?;
            $root.present()?;
        }
        $crate::output::write_atomic($dir, &format!("{}.svg", $stem), svg.as_bytes())?;
        let tmp = $dir.join(format!(".{}.tmp-{}.png", $stem, std::process::id()));
        {
            let $root = BitMapBackend::new(&tmp, $size).into_drawing_area();
            $root.fill(&WHITE)?;
            $body?;
            $root.present()?;
        }
        std::fs::rename(&tmp, $dir.join(format!("{}.png", $stem)))?;
        Ok::<(), Box<dyn std::error::Error>>(())
    }};
}

mod latency;
mod marks;
mod series;
mod sweep;
mod timeline;

pub use latency::plot_latency;
pub use sweep::{COMPARED, SweepStats, plot_sweep, sweep_stats};
pub use timeline::plot_timeline;

#[doc(hidden)]
pub fn register() {
    register_font();
}

/// A CSV file: its header and its rows.
pub type Table = (Vec<String>, Vec<Vec<String>>);

/// Reads a CSV file into its header and rows of strings. Numeric cells the
/// plots will leave out (not finite, or beyond ±`LIMIT`) are counted and
/// reported on standard error.
pub fn read_table(path: &Path) -> Result<Table, Box<dyn Error>> {
    let mut r = csv::Reader::from_path(path)?;
    let header: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()?;
    let out_of_range = rows
        .iter()
        .map(|r| out_of_range(r.iter().map(String::as_str)))
        .sum();
    say_left_out(path, out_of_range);
    Ok((header, rows))
}

/// How many numeric cells of a row the plots will leave out.
pub fn out_of_range<'a>(cells: impl Iterator<Item = &'a str>) -> usize {
    cells
        .filter(|c| c.parse::<f64>().is_ok_and(|v| !in_range(v)))
        .count()
}

/// Says on standard error how many values of `path` the plots left out.
pub fn say_left_out(path: &Path, n: usize) {
    if n > 0 {
        eprintln!(
            "plot: {}: {n} value{} not finite or beyond ±{LIMIT:e}, left out of the plots",
            path.display(),
            if n == 1 { "" } else { "s" }
        );
    }
}

fn in_range(v: f64) -> bool {
    v.is_finite() && v.abs() <= LIMIT
}

pub fn col(header: &[String], name: &str) -> Result<usize, Box<dyn Error>> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| format!("no column `{name}`").into())
}

/// A plottable number from a CSV cell: finite and within ±`LIMIT`.
pub fn num(s: &str) -> Option<f64> {
    s.parse().ok().filter(|v: &f64| in_range(*v))
}

/// A tick label: integers as integers (`20000`, `0`), other values with
/// the fewest decimals that show them (`0.25`, `1.5`).
pub fn tick(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let r = v.round();
    if (v - r).abs() <= 1e-9 * v.abs().max(1.0) {
        return format!("{}", r as i64);
    }
    for d in 1..=6 {
        let s = format!("{v:.d$}");
        if (s.parse::<f64>().unwrap_or(v) - v).abs() <= 1e-9 * v.abs().max(1e-12) {
            return s;
        }
    }
    format!("{v:.6}")
}

/// `[lo, hi]` with some room around the values, not forced to start at 0:
/// clustered points spread over the plot. Stays at or above 0 when every
/// value is.
pub fn fitted(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| in_range(*v)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.12
    } else {
        (hi.abs() * 0.1).max(1.0)
    };
    let low = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    (low, hi + pad)
}

/// Colours for series, in order (DCs, request kinds, …).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// `timeline.svg/png` and `latency.svg/png` of a run folder.
pub fn plot_run(dir: &Path) -> Res {
    plot_timeline(dir)?;
    plot_latency(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_show_integers_as_integers() {
        assert_eq!(tick(20000.0), "20000");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(-0.0), "0");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(-3.0), "-3");
        assert_eq!(tick(0.001), "0.001");
    }

    #[test]
    fn fitted_ranges_do_not_start_at_zero_for_clustered_points() {
        let (lo, hi) = fitted([20.0, 22.0].into_iter());
        assert!(
            lo > 19.0 && lo < 20.0 && hi > 22.0 && hi < 23.0,
            "{lo} {hi}"
        );
        assert_eq!(fitted([0.0, 10.0].into_iter()).0, 0.0);
        assert_eq!(fitted(std::iter::empty()), (0.0, 1.0));
        assert_eq!(fitted([1.7e308].into_iter()), (0.0, 1.0));
    }
}
