//! The faults on the timeline: outages shaded, drills and failbacks as
//! dashed lines, detections and switches as thin lines; each outage and
//! drill numbered at the top of the first panel (in time order) and named
//! in a key below the panels, so that no name is ever left out however
//! many there are.

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FAMILY, Res, col, num, read_table, tick};

/// An outage or an instant (a switchover drill, a failback, a clock jump).
pub(super) struct Mark {
    pub start: f64,
    /// An outage's end (the plot's when it lasted) and whether it lasted;
    /// `None` for an instant.
    pub end: Option<(f64, bool)>,
    pub name: String,
}

/// What `failures.csv` says happened when.
pub(super) struct Marks {
    /// Outages and instants by start time (ties: file order); mark `i` is
    /// numbered `i + 1`.
    pub named: Vec<Mark>,
    pub detected: Vec<f64>,
    pub switched: Vec<f64>,
}

/// Kinds that happen at one instant rather than last.
const INSTANT_KINDS: &[&str] = &["switchover", "failback", "clock_jump"];

/// A short name of a `failures.csv` row for the plot.
pub(super) fn label(kind: &str, target: &str) -> String {
    match kind {
        "dc_down" => format!("{target} down"),
        "link_down" => format!("link {target} cut"),
        "slow_link" => format!("link {target} slow"),
        "partition" => format!("partition {}", target.replace('|', " | ")),
        "replication_stall" => format!("replication {target} stalled"),
        "clock_jump" => format!("clock jump at {target}"),
        "switchover" => format!("switchover: {target}"),
        "failback" => format!("failback to {target}"),
        _ => format!("{kind} {target}"),
    }
}

pub(super) fn read_marks(dir: &Path, end: f64) -> Result<Marks, Box<dyn Error>> {
    let (h, rows) = read_table(&dir.join("failures.csv"))?;
    let c = |n: &str| col(&h, n);
    let (k, t, s, e, d, w) = (
        c("kind")?,
        c("target")?,
        c("start_s")?,
        c("end_s")?,
        c("detected_s")?,
        c("switched_s")?,
    );
    let mut m = Marks {
        named: Vec::new(),
        detected: Vec::new(),
        switched: Vec::new(),
    };
    for r in &rows {
        if let Some(start) = num(&r[s]) {
            let end = if INSTANT_KINDS.contains(&r[k].as_str()) {
                None
            } else {
                let stop = num(&r[e]);
                Some((stop.unwrap_or(end).max(start), stop.is_none()))
            };
            m.named.push(Mark {
                start,
                end,
                name: label(&r[k], &r[t]),
            });
        }
        m.detected.extend(num(&r[d]));
        m.switched.extend(num(&r[w]));
    }
    m.named.sort_by(|a, b| a.start.total_cmp(&b.start));
    Ok(m)
}

const SHADE: RGBColor = RGBColor(230, 80, 60);
const OUTAGE: RGBColor = RGBColor(170, 40, 30);
const DRILL: RGBColor = RGBColor(120, 60, 170);
pub(super) const DETECTED: RGBColor = RGBColor(230, 140, 0);
pub(super) const SWITCHED: RGBColor = RGBColor(0, 150, 60);

impl Mark {
    fn color(&self) -> &'static RGBColor {
        if self.end.is_some() { &OUTAGE } else { &DRILL }
    }

    /// Its name and when, for the key: `dc1 down (6–9 s)`.
    fn described(&self) -> String {
        let s = |v: f64| tick((v * 1000.0).round() / 1000.0);
        match self.end {
            None => format!("{} ({} s)", self.name, s(self.start)),
            Some((_, true)) => format!("{} ({} s to the end)", self.name, s(self.start)),
            Some((b, false)) => format!("{} ({}–{} s)", self.name, s(self.start), s(b)),
        }
    }
}

/// Rows of numbers at the top of the first panel.
const TAG_ROWS: usize = 3;

/// Pixels a text takes at 13 px: DejaVu Sans averages about 8.3 px a
/// character; 9 and a margin of 8 keep neighbours apart.
fn text_px(s: &str) -> i32 {
    s.chars().count() as i32 * 9 + 8
}

/// A number at the top of the first panel: marks `first..=last`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Tag {
    pub first: usize,
    pub last: usize,
    pub row: usize,
    /// Its left pixel.
    pub left: i32,
}

impl Tag {
    /// `3`, or `3–5` for marks too close together to number apart.
    pub fn text(&self) -> String {
        if self.first == self.last {
            (self.first + 1).to_string()
        } else {
            format!("{}–{}", self.first + 1, self.last + 1)
        }
    }
}

/// The tags of marks at pixels `px` (ascending), ending by `right`: each
/// on the first row where it starts after the row's last tag ends; a mark
/// with no free row joins the tag placed last (the mark before it), which
/// then reads `3–5`. So every number is shown, and no tag covers another
/// (but at the right edge, where a grown tag is pushed left to stay inside).
pub(super) fn place_tags(px: &[i32], right: i32) -> Vec<Tag> {
    let mut tags: Vec<Tag> = Vec::new();
    let mut row_end = [i32::MIN; TAG_ROWS];
    for (i, &x) in px.iter().enumerate() {
        let fit = |t: &Tag, x: i32| x.min(right - text_px(&t.text()));
        let mut tag = Tag {
            first: i,
            last: i,
            row: 0,
            left: 0,
        };
        tag.left = fit(&tag, x);
        if let Some(row) = (0..TAG_ROWS).find(|&r| row_end[r] < tag.left) {
            tag.row = row;
            row_end[row] = tag.left + text_px(&tag.text());
            tags.push(tag);
        } else {
            let t = tags.last_mut().expect("row 0 is free for the first mark");
            t.last = i;
            t.left = fit(t, t.left);
            row_end[t.row] = t.left + text_px(&t.text());
        }
    }
    tags
}

/// Shades outages, draws drills as dashed lines and detections (orange)
/// and switches (green) as thin lines, between `lo` and `hi`; with
/// `numbered`, writes each outage's and drill's number at the top.
pub(super) fn draw_marks<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    m: &Marks,
    lo: f64,
    hi: f64,
    numbered: bool,
) -> Res
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    chart.draw_series(m.named.iter().filter_map(|k| {
        let (b, _) = k.end?;
        Some(Rectangle::new(
            [(k.start, lo), (b, hi)],
            SHADE.mix(0.15).filled(),
        ))
    }))?;
    for (x, color) in m
        .detected
        .iter()
        .map(|x| (x, DETECTED))
        .chain(m.switched.iter().map(|x| (x, SWITCHED)))
    {
        chart.draw_series(LineSeries::new([(*x, lo), (*x, hi)], color.stroke_width(1)))?;
    }
    for k in m.named.iter().filter(|k| k.end.is_none()) {
        chart.draw_series(DashedLineSeries::new(
            [(k.start, lo), (k.start, hi)],
            6,
            4,
            DRILL.stroke_width(2),
        ))?;
    }
    if !numbered {
        return Ok(());
    }
    let right = chart.plotting_area().get_pixel_range().0.end;
    let px: Vec<i32> = m
        .named
        .iter()
        .map(|k| chart.backend_coord(&(k.start, hi)).0)
        .collect();
    for tag in place_tags(&px, right) {
        let first = &m.named[tag.first];
        let style = TextStyle::from((FAMILY, 13).into_font())
            .color(first.color())
            .pos(Pos::new(HPos::Left, VPos::Top));
        chart.plotting_area().draw(
            &(EmptyElement::at((first.start, hi))
                + Text::new(
                    tag.text(),
                    (tag.left - px[tag.first] + 4, 3 + 15 * tag.row as i32),
                    style,
                )),
        )?;
    }
    Ok(())
}

/// Height of a key line.
const KEY_LINE: i32 = 18;

/// The key's columns and lines on a picture `width` wide: as many columns
/// as the longest name allows (one at least).
fn key_grid(m: &Marks, width: u32) -> (usize, usize) {
    let n = m.named.len();
    if n == 0 {
        return (0, 0);
    }
    let widest = m
        .named
        .iter()
        .map(|k| text_px(&k.described()))
        .max()
        .unwrap_or(0);
    let cols = ((width as i32 - 24) / (widest + 48)).clamp(1, n as i32) as usize;
    (cols, n.div_ceil(cols))
}

/// Height of the key below the panels (0 without marks).
pub(super) fn key_height(m: &Marks, width: u32) -> u32 {
    match key_grid(m, width) {
        (_, 0) => 0,
        (_, lines) => 16 + KEY_LINE as u32 * lines as u32,
    }
}

/// The key: each mark's number and name with when, in columns, down then
/// across, in the mark's color.
pub(super) fn draw_key<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, m: &Marks) -> Res
where
    DB::ErrorType: 'static,
{
    let (cols, lines) = key_grid(m, area.dim_in_pixel().0);
    if lines == 0 {
        return Ok(());
    }
    let col_w = (area.dim_in_pixel().0 as i32 - 24) / cols as i32;
    for (i, k) in m.named.iter().enumerate() {
        let x = 12 + col_w * (i / lines) as i32;
        let y = 8 + KEY_LINE * (i % lines) as i32 + KEY_LINE / 2;
        let style = |h| {
            TextStyle::from((FAMILY, 13).into_font())
                .color(k.color())
                .pos(Pos::new(h, VPos::Center))
        };
        area.draw(&Text::new(
            (i + 1).to_string(),
            (x + 28, y),
            style(HPos::Right),
        ))?;
        area.draw(&Text::new(k.described(), (x + 36, y), style(HPos::Left)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mark_is_numbered_and_close_ones_share_a_tag() {
        // Far apart: one row, each its number.
        let tags = place_tags(&[0, 100, 200], 1000);
        let texts: Vec<String> = tags.iter().map(Tag::text).collect();
        assert_eq!(texts, ["1", "2", "3"]);
        assert!(tags.iter().all(|t| t.row == 0));
        // Five at one pixel: three rows, then the fourth and fifth join
        // the third's tag.
        let tags = place_tags(&[50; 5], 1000);
        let texts: Vec<(String, usize)> = tags.iter().map(|t| (t.text(), t.row)).collect();
        assert_eq!(texts, [("1".into(), 0), ("2".into(), 1), ("3–5".into(), 2)]);
        // At the right edge a tag ends at the edge.
        let tags = place_tags(&[995], 1000);
        assert_eq!(tags[0].left, 1000 - text_px("1"));
    }
}
