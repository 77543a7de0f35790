//! The files of a search, all from its chunk rows: `explore.csv`, the
//! shrunk counterexample (`worst.toml` beside `original.toml`, and its run
//! in `worst-run/`), `objective.svg/png` and `report.md`.

use std::fmt::Write as _;
use std::path::Path;

use super::{Base, ExploreError, Found, Search, other, schedule, shrink};
use crate::output::{self, expectations};
use crate::scenario::{self, Config};

/// Columns before the summary's own (without `scenario` and `seed`).
const LEAD: &[&str] = &["schedule", "faults_n", "faults", "unmet", "objective"];

pub fn header(_search: &Search) -> Vec<String> {
    LEAD.iter()
        .chain(
            output::SUMMARY_COLUMNS
                .iter()
                .filter(|c| !["scenario", "seed"].contains(c)),
        )
        .map(|c| c.to_string())
        .collect()
}

/// The metric the `objective` column holds: `--objective`, else the first
/// expectation's metric (`lost_writes in dataset orders` when it judges a
/// dataset: the column then holds that dataset's value).
fn objective_name(search: &Search, cfg: &Config) -> String {
    match &search.objective {
        Some(o) => o.clone(),
        None => cfg
            .expect
            .first()
            .map_or_else(String::new, |e| match &e.dataset {
                Some(d) => format!("{} in dataset {d}", e.metric),
                None => e.metric.clone(),
            }),
    }
}

/// Whether a larger value of the objective is worse.
fn higher_is_worse(search: &Search, cfg: &Config) -> bool {
    match &search.objective {
        Some(o) => !["availability", "ok", "requests", "replicated"].contains(&o.as_str()),
        None => cfg.expect.first().is_none_or(|e| e.max.is_some()),
    }
}

fn num(v: &str) -> String {
    v.to_string()
}

/// One schedule's `explore.csv` row.
pub fn row(
    index: u64,
    n_faults: usize,
    faults: String,
    verdicts: &[expectations::Verdict],
    search: &Search,
    summary: &[String],
) -> Vec<String> {
    let unmet: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.met)
        .map(|v| v.expect.describe())
        .collect();
    let objective = match &search.objective {
        Some(o) => expectations::run_value(o, summary),
        None => verdicts.first().and_then(|v| v.value),
    };
    let mut r = vec![
        index.to_string(),
        n_faults.to_string(),
        faults,
        unmet.join("; "),
        objective.map_or_else(String::new, |v| format!("{v:.6}")),
    ];
    r.extend(summary[2..].iter().map(|v| num(v)));
    r
}

/// Whether a row broke an expectation.
pub fn broke(row: &[String]) -> bool {
    !row[3].is_empty()
}

fn value(row: &[String]) -> Option<f64> {
    row[4].parse().ok()
}

/// What the counterexample must keep doing while it shrinks.
enum Target {
    /// Break expectation `i`.
    Breaks(usize),
    /// Stay at least as bad as the worst decile's boundary.
    Worst(f64),
}

pub fn write_all(
    out: &Path,
    search: &Search,
    base: &Base,
    rows: &[Vec<String>],
) -> Result<Found, ExploreError> {
    let cfg = &base.cfg;
    let header = header(search);
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    output::write_csv(out, "explore.csv", &refs, rows).map_err(other(out))?;
    let hi = higher_is_worse(search, cfg);
    // Worse first.
    let badness = |r: &Vec<String>| value(r).map(|v| if hi { v } else { -v });
    let by_badness = |a: &&Vec<String>, b: &&Vec<String>| {
        badness(a)
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&badness(b).unwrap_or(f64::NEG_INFINITY))
    };
    let index = |r: &Vec<String>| r[0].parse::<u64>().unwrap_or(0);
    let faults_n = |r: &Vec<String>| r[1].parse::<u64>().unwrap_or(0);
    let breaking: Vec<&Vec<String>> = rows.iter().filter(|r| broke(r)).collect();
    let pick: Option<(&Vec<String>, Target)> = if !breaking.is_empty() {
        let r = if search.objective.is_some() {
            // The worst by the objective; the earliest on a tie.
            breaking
                .iter()
                .copied()
                .max_by(|a, b| by_badness(a, b).then(index(b).cmp(&index(a))))
        } else {
            breaking
                .iter()
                .copied()
                .min_by_key(|r| (faults_n(r), index(r)))
        };
        r.map(|r| {
            let first = r[3].split("; ").next().unwrap_or("");
            let i = cfg
                .expect
                .iter()
                .position(|e| e.describe() == first)
                .unwrap_or(0);
            (r, Target::Breaks(i))
        })
    } else if search.objective.is_some() {
        let mut vals: Vec<f64> = rows.iter().filter_map(badness).collect();
        vals.sort_by(f64::total_cmp);
        let r = rows
            .iter()
            .filter(|r| badness(r).is_some())
            .max_by(|a, b| by_badness(a, b).then(index(b).cmp(&index(a))));
        // An objective that never varied singles out no schedule.
        let spread = vals.first() != vals.last();
        match (r, vals.is_empty()) {
            (Some(r), false) if spread => {
                let bound = vals[(vals.len() - 1) * 9 / 10];
                Some((r, Target::Worst(bound)))
            }
            _ => None,
        }
    } else {
        None
    };
    let mut shrunk = None;
    if let Some((r, target)) = &pick {
        let original = search.drawer().draw(cfg, index(r));
        let breaks = |c: &Config| {
            let o = crate::run(c);
            let summary = output::summary_row(&o).cells();
            match target {
                Target::Breaks(i) => {
                    let v = expectations::judge(
                        c,
                        &summary,
                        &output::failure_rows(&o),
                        &output::tables::dataset_rows(&o),
                    );
                    !v[*i].met
                }
                Target::Worst(bound) => {
                    let v = match &search.objective {
                        Some(m) => expectations::run_value(m, &summary),
                        None => None,
                    };
                    v.is_some_and(|v| if hi { v >= *bound } else { -v >= *bound })
                }
            }
        };
        let mut s = shrink::shrink(cfg, original.clone(), search.shrink_workload, &breaks);
        // Listed by start time when that changes nothing that matters.
        let mut sorted = s.faults.clone();
        sorted.sort_by_key(|f| f.at);
        if sorted != s.faults {
            let mut c = cfg.clone();
            c.faults = sorted.clone();
            c.workload.rate = s.rate;
            if breaks(&c) {
                s.faults = sorted;
            }
        }
        let mut worst = cfg.clone();
        worst.faults = s.faults.clone();
        worst.workload.rate = s.rate;
        let text = worst_toml(base, &worst, search, index(r), original.len())?;
        output::write_atomic(out, "original.toml", base.text.as_bytes()).map_err(other(out))?;
        output::write_atomic(out, "worst.toml", text.as_bytes()).map_err(other(out))?;
        // What `multiactive run worst.toml` writes, notes and resolved
        // scenario included: the file is loaded back the way `run` loads it.
        let dir = out.join("worst-run");
        let path = out.join("worst.toml");
        let (sc, loaded) = crate::commands::load(Some(&path.display().to_string()), &[])
            .map_err(|e| ExploreError::Other(format!("{}: {e}", path.display())))?;
        let o = crate::run(&loaded.config);
        let notes = output::notes::for_run(&sc, &loaded, &o);
        output::write_run(&dir, &o, &loaded.config, &notes).map_err(other(&dir))?;
        let verdicts = expectations::judge_outcome(&o, &worst);
        shrunk = Some(((*r).clone(), original, s, verdicts, worst));
    }
    plot(out, rows, &objective_name(search, cfg))
        .map_err(|e| ExploreError::Other(format!("{}: plotting failed: {e}", out.display())))?;
    let report = report(search, cfg, rows, shrunk.as_ref(), &pick);
    output::write_atomic(out, "report.md", report.as_bytes()).map_err(other(out))?;
    let violation = matches!(pick, Some((_, Target::Breaks(_))));
    Ok(Found {
        tried: rows.len(),
        budget: search.budget,
        broke: breaking.len(),
        violation,
        out: out.to_path_buf(),
        part: false,
    })
}

type Shrunk = (
    Vec<String>,
    Vec<scenario::FaultConfig>,
    shrink::Shrunk,
    Vec<expectations::Verdict>,
    Config,
);

/// The original scenario text with its `[[fault]]` tables replaced by
/// `worst`'s, its name kept and its rate the shrunk one; checked by reading
/// it back into exactly `worst`.
fn worst_toml(
    base: &Base,
    worst: &Config,
    search: &Search,
    index: u64,
    from: usize,
) -> Result<String, ExploreError> {
    let mut text = format!(
        "# Found by `multiactive explore` (seed {}, schedule {index}) and shrunk from {from} to {} faults.\n# The scenario is original.toml with its fault timeline replaced.\n",
        search.seed,
        worst.faults.len()
    );
    let mut in_fault = false;
    let mut section = String::new();
    let named = base
        .cfg
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c));
    for line in base.text.lines() {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_fault = t.starts_with("[[fault]]");
            section = t.to_string();
        }
        if in_fault {
            continue;
        }
        if section.starts_with("[workload]")
            && t.starts_with("rate")
            && t[4..].trim_start().starts_with('=')
            && worst.workload.rate != base.cfg.workload.rate
        {
            let _ = writeln!(text, "rate = {:?}", worst.workload.rate);
            continue;
        }
        text.push_str(line);
        text.push('\n');
        if t.starts_with("[simulation]") && named {
            // The run is named as the original, whatever this file is called.
            let _ = writeln!(text, "name = \"{}\"", base.cfg.name);
        }
    }
    text.push('\n');
    text += &schedule::to_toml(worst, &worst.faults);
    let back = scenario::load_str("worst.toml", "worst", &text, &[]);
    match back {
        Ok(c) if c == *worst => Ok(text),
        // A scenario with `name` already set reads the same either way.
        _ => {
            let without = text.replacen(&format!("name = \"{}\"\n", base.cfg.name), "", 1);
            match scenario::load_str("worst.toml", "worst", &without, &[]) {
                Ok(c) if c == *worst => Ok(without),
                _ => Err(ExploreError::Other(
                    "cannot write worst.toml: the scenario's faults, name or workload rate are not written as [[fault]] tables, a [simulation] table and a `rate = ...` line of [workload]".into(),
                )),
            }
        }
    }
}

fn report(
    search: &Search,
    cfg: &Config,
    rows: &[Vec<String>],
    shrunk: Option<&Shrunk>,
    pick: &Option<(&Vec<String>, Target)>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Explore {}\n", search.scenario);
    let _ = writeln!(
        s,
        "- **Schedules**: {} tried of a budget of {} (schedule 0 has no fault), explore seed {}",
        rows.len(),
        search.budget,
        search.seed
    );
    let _ = writeln!(
        s,
        "- **Fault kinds**: {}; at most {} per schedule{}",
        search
            .faults
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", "),
        search.max_faults,
        if search.one_dc_down_at_a_time {
            "; at most one DC down at a time"
        } else {
            ""
        }
    );
    if let Some(o) = &search.objective {
        let _ = writeln!(s, "- **Objective**: the worst `{o}`");
    }
    s.push_str("\n## Expectations\n\n| expectation | schedules that broke it |\n|---|---|\n");
    for e in &cfg.expect {
        let d = e.describe();
        let n = rows
            .iter()
            .filter(|r| r[3].split("; ").any(|u| u == d))
            .count();
        let _ = writeln!(s, "| {d} | {n} of {} |", rows.len());
    }
    if cfg.expect.is_empty() {
        s.push_str("| (none) | |\n");
    }
    s.push('\n');
    match (shrunk, pick) {
        (Some((r, original, sh, verdicts, worst)), Some((_, target))) => {
            let what = match target {
                Target::Breaks(i) => format!("breaks `{}`", cfg.expect[*i].describe()),
                Target::Worst(b) => {
                    format!("stays in the worst decile (objective {b:.6} or worse)")
                }
            };
            let _ = writeln!(
                s,
                "## Counterexample\n\nSchedule {} {what}. Its {} fault(s): {}.\n",
                r[0],
                original.len(),
                schedule::describe(cfg, original)
            );
            let _ = writeln!(
                s,
                "Shrunk in {} runs to {} fault(s): **{}**{}.\n",
                sh.tries,
                worst.faults.len(),
                if worst.faults.is_empty() {
                    "none: the design breaks it without any fault".to_string()
                } else {
                    schedule::describe(cfg, &worst.faults)
                },
                if sh.rate != cfg.workload.rate {
                    format!(", at a workload of {} requests/s", sh.rate)
                } else {
                    String::new()
                }
            );
            s.push_str("Removing any one of its faults makes it hold. `multiactive run worst.toml` reproduces it (`original.toml` is the scenario as given); its run is in `worst-run/`.\n\n");
            for v in verdicts {
                let _ = writeln!(s, "- {v}");
            }
            s.push_str("\n![timeline of the counterexample](worst-run/timeline.svg)\n\n");
        }
        _ if search.objective.is_some() => s.push_str(
            "## Counterexample\n\nNo schedule broke an expectation, and the objective took the same value in every schedule: none is worst.\n\n",
        ),
        _ => s.push_str("## Counterexample\n\nNo schedule broke an expectation.\n\n"),
    }
    let name = objective_name(search, cfg);
    let mut vals: Vec<f64> = rows.iter().filter_map(|r| value(r)).collect();
    vals.sort_by(f64::total_cmp);
    let _ = writeln!(s, "## Distribution of `{name}` over the schedules\n");
    if vals.is_empty() {
        s.push_str("No schedule gave it a value.\n\n");
    } else {
        s.push_str("| min | p10 | p50 | p90 | max | schedules |\n|---|---|---|---|---|---|\n");
        let q = |p: f64| vals[((vals.len() - 1) as f64 * p).round() as usize];
        let _ = writeln!(
            s,
            "| {:.6} | {:.6} | {:.6} | {:.6} | {:.6} | {} |\n",
            q(0.0),
            q(0.1),
            q(0.5),
            q(0.9),
            q(1.0),
            vals.len()
        );
    }
    s.push_str("![objective over the schedules tried](objective.svg)\n\n");
    s.push_str("`explore.csv` has every schedule: its faults and its metrics.\n");
    s
}

type Res = Result<(), Box<dyn std::error::Error>>;

/// `objective.svg/png`: the metric of each schedule, red where it broke an
/// expectation.
fn plot(out: &Path, rows: &[Vec<String>], name: &str) -> Res {
    use plotters::prelude::*;
    output::plot::register_font();
    let pts: Vec<(f64, f64, bool)> = rows
        .iter()
        .filter_map(|r| Some((r[0].parse().ok()?, value(r)?, broke(r))))
        .collect();
    let (mut lo, mut hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.05;
    let xmax = pts.iter().map(|p| p.0).fold(1.0, f64::max);
    fn draw<DB: DrawingBackend>(
        root: DrawingArea<DB, plotters::coord::Shift>,
        pts: &[(f64, f64, bool)],
        name: &str,
        x: f64,
        y: (f64, f64),
    ) -> Res
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{name} over the schedules tried"),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x, y.0..y.1)?;
        chart
            .configure_mesh()
            .x_desc("schedule")
            .y_desc(name)
            .label_style(("sans-serif", 13))
            .draw()?;
        chart.draw_series(pts.iter().map(|&(i, v, b)| {
            let c = if b {
                RGBColor(220, 40, 30)
            } else {
                RGBColor(90, 90, 90)
            };
            Circle::new((i, v), 3, c.filled())
        }))?;
        root.present()?;
        Ok(())
    }
    let mut svg = String::new();
    draw(
        SVGBackend::with_string(&mut svg, (800, 450)).into_drawing_area(),
        &pts,
        name,
        xmax,
        (lo - pad, hi + pad),
    )?;
    output::write_atomic(out, "objective.svg", svg.as_bytes())?;
    let tmp = out.join(format!(".objective.tmp-{}.png", std::process::id()));
    draw(
        BitMapBackend::new(&tmp, (800, 450)).into_drawing_area(),
        &pts,
        name,
        xmax,
        (lo - pad, hi + pad),
    )?;
    std::fs::rename(&tmp, out.join("objective.png"))?;
    Ok(())
}
