//! Verdicts on a run's `[[expect]]` entries: `expectations.csv`, their
//! section of `report.md`, and per combination of a sweep how many seeds
//! met each one. A scenario without expectations writes none of this, so
//! its outputs are those it always had.

use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::metrics::Outcome;
use crate::scenario::Config;
use crate::scenario::expect::{Expectation, show};

/// `dataset` came last, after the verdict: the columns before it keep the
/// places they had before expectations could name a dataset.
pub const EXPECTATIONS_COLUMNS: &[&str] = &[
    "metric",
    "per_failure",
    "min",
    "max",
    "value",
    "met",
    "dataset",
];

/// What one expectation came to in one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub expect: Expectation,
    /// The value judged (the worst failure's with `per_failure`); `None`
    /// when the run left the metric empty.
    pub value: Option<f64>,
    pub met: bool,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.value.map_or_else(|| "empty".to_string(), fmt_value);
        let word = if self.met { "met" } else { "NOT MET" };
        write!(
            f,
            "expect {}: {word} (value {value})",
            self.expect.describe()
        )
    }
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6}")
    }
}

/// The value of a run-wide metric from a `summary.csv` row.
pub fn run_value(metric: &str, summary: &[String]) -> Option<f64> {
    let col = |c: &str| {
        super::SUMMARY_COLUMNS
            .iter()
            .position(|x| *x == c)
            .and_then(|i| summary.get(i))
            .and_then(|v| v.parse::<f64>().ok())
    };
    if metric == "availability" {
        let (ok, req) = (col("ok")?, col("requests")?);
        return (req > 0.0).then(|| ok / req);
    }
    col(metric)
}

/// The value of a dataset metric from a `datasets.csv` row.
pub fn dataset_value(metric: &str, row: &[String]) -> Option<f64> {
    let col = |c: &str| {
        super::DATASETS_COLUMNS
            .iter()
            .position(|x| *x == c)
            .and_then(|i| row.get(i))
            .and_then(|v| v.parse::<f64>().ok())
    };
    if metric == "availability" {
        let (ok, req) = (col("ok")?, col("requests")?);
        return (req > 0.0).then(|| ok / req);
    }
    col(metric)
}

/// Judges each expectation of `cfg` against a run's summary row, its
/// `failures.csv` rows and its `datasets.csv` rows.
pub fn judge(
    cfg: &Config,
    summary: &[String],
    failures: &[super::tables::FailureRow],
    datasets: &[super::tables::DatasetRow],
) -> Vec<Verdict> {
    let failures: Vec<Vec<String>> = failures.iter().map(|f| f.cells()).collect();
    let datasets: Vec<Vec<String>> = datasets.iter().map(|d| d.cells()).collect();
    cfg.expect
        .iter()
        .map(|e| {
            let value = if e.per_failure {
                let i = super::FAILURES_COLUMNS.iter().position(|c| *c == e.metric);
                let values: Vec<f64> = failures
                    .iter()
                    .filter_map(|r| i.and_then(|i| r.get(i)).and_then(|v| v.parse().ok()))
                    .collect();
                // The first failure that breaks the bound, else the one nearest to it.
                values.iter().copied().find(|&v| !e.holds(v)).or_else(|| {
                    let fold = if e.max.is_some() { f64::max } else { f64::min };
                    values.iter().copied().reduce(fold)
                })
            } else if let Some(name) = &e.dataset {
                // A dataset without a row (`global` that no request
                // touched) left the metric empty.
                datasets
                    .iter()
                    .find(|r| r.first() == Some(name))
                    .and_then(|r| dataset_value(&e.metric, r))
            } else {
                run_value(&e.metric, summary)
            };
            Verdict {
                expect: e.clone(),
                value,
                met: value.is_none_or(|v| e.holds(v)),
            }
        })
        .collect()
}

/// The verdicts on a finished run.
pub fn judge_outcome(o: &Outcome, cfg: &Config) -> Vec<Verdict> {
    if cfg.expect.is_empty() {
        return Vec::new();
    }
    judge(
        cfg,
        &super::summary_row(o).cells(),
        &super::failure_rows(o),
        &super::tables::dataset_rows(o),
    )
}

pub fn rows(verdicts: &[Verdict]) -> Vec<Vec<String>> {
    let opt = |v: Option<f64>| v.map_or_else(String::new, show);
    verdicts
        .iter()
        .map(|v| {
            vec![
                v.expect.metric.clone(),
                v.expect.per_failure.to_string(),
                opt(v.expect.min),
                opt(v.expect.max),
                v.value.map_or_else(String::new, fmt_value),
                v.met.to_string(),
                v.expect.dataset.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

/// `expectations.csv` of a run folder (nothing when there are none).
pub fn write(dir: &Path, verdicts: &[Verdict]) -> std::io::Result<()> {
    if verdicts.is_empty() {
        // A stale table from an earlier run into the same folder is not this run's.
        let stale = dir.join("expectations.csv");
        if stale.exists() {
            std::fs::remove_file(stale)?;
        }
        return Ok(());
    }
    super::write_csv(
        dir,
        "expectations.csv",
        EXPECTATIONS_COLUMNS,
        &rows(verdicts),
    )
    .map(|_| ())
}

/// The `report.md` section of a run folder's verdicts ("" without any).
pub fn report_section(dir: &Path) -> String {
    let Ok((_, rows)) = super::plot::read_table(&dir.join("expectations.csv")) else {
        return String::new();
    };
    let mut s =
        String::from("## Expectations\n\n| expectation | value | verdict |\n|---|---|---|\n");
    for r in &rows {
        let e = Expectation {
            metric: r[0].clone(),
            per_failure: r[1] == "true",
            min: r[2].parse().ok(),
            max: r[3].parse().ok(),
            dataset: dataset_cell(r.get(6)),
        };
        let value = if r[4].is_empty() { "empty" } else { &r[4] };
        let verdict = if r[5] == "true" { "met" } else { "**NOT MET**" };
        let _ = writeln!(s, "| {} | {value} | {verdict} |", e.describe());
    }
    s.push('\n');
    s
}

/// An expectation's dataset from its `dataset` cell (empty: the run).
fn dataset_cell(cell: Option<&String>) -> Option<String> {
    cell.filter(|d| !d.is_empty()).cloned()
}

/// The sweep's `expectations.csv` columns after the varied keys.
const SWEEP_COLUMNS: [&str; 7] = [
    "metric",
    "per_failure",
    "min",
    "max",
    "runs",
    "met",
    "dataset",
];

/// Per combination of a sweep (`keys` = its varied keys), how many seeds met
/// each expectation: the sweep's `expectations.csv`, from its run folders
/// (`runs`: each run's values and folder). Nothing when no run has verdicts.
pub fn sweep_table(
    out: &Path,
    keys: &[&str],
    runs: &[(Vec<String>, PathBuf)],
) -> std::io::Result<()> {
    // Per combination: its values, each expectation's labels, runs, seeds met.
    type Group = (Vec<String>, Vec<Vec<String>>, usize, Vec<usize>);
    let mut groups: Vec<Group> = Vec::new();
    for (values, dir) in runs {
        let Ok((_, rows)) = super::plot::read_table(&dir.join("expectations.csv")) else {
            continue;
        };
        let g = match groups.iter().position(|g| g.0 == *values) {
            Some(g) => g,
            None => {
                // metric, per_failure, min, max, dataset
                let labels = rows
                    .iter()
                    .map(|r| {
                        let mut l = r[..4].to_vec();
                        l.push(r.get(6).cloned().unwrap_or_default());
                        l
                    })
                    .collect();
                groups.push((values.clone(), labels, 0, vec![0; rows.len()]));
                groups.len() - 1
            }
        };
        groups[g].2 += 1;
        for (i, r) in rows.iter().enumerate() {
            if r[5] == "true"
                && let Some(n) = groups[g].3.get_mut(i)
            {
                *n += 1;
            }
        }
    }
    if groups.is_empty() {
        return Ok(());
    }
    let mut header: Vec<&str> = keys.to_vec();
    header.extend(SWEEP_COLUMNS);
    let mut table = Vec::new();
    for (values, labels, n, met) in &groups {
        for (label, m) in labels.iter().zip(met) {
            let mut row = values.clone();
            row.extend(label[..4].iter().cloned());
            row.push(n.to_string());
            row.push(m.to_string());
            row.push(label[4].clone());
            table.push(row);
        }
    }
    super::write_csv(out, "expectations.csv", &header, &table).map(|_| ())
}

/// The `report.md` section of a sweep's `expectations.csv` ("" without it).
pub fn sweep_section(dir: &Path) -> String {
    let Ok((header, rows)) = super::plot::read_table(&dir.join("expectations.csv")) else {
        return String::new();
    };
    let n_keys = header.len() - SWEEP_COLUMNS.len();
    let mut s = String::from("## Expectations: seeds that met each\n\n");
    let mut cols: Vec<&str> = header[..n_keys].iter().map(String::as_str).collect();
    cols.extend(["expectation", "met"]);
    let _ = writeln!(s, "| {} |", cols.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(cols.len()));
    for r in &rows {
        let e = Expectation {
            metric: r[n_keys].clone(),
            per_failure: r[n_keys + 1] == "true",
            min: r[n_keys + 2].parse().ok(),
            max: r[n_keys + 3].parse().ok(),
            dataset: dataset_cell(r.get(n_keys + 6)),
        };
        let mut cells: Vec<String> = r[..n_keys].to_vec();
        cells.push(e.describe());
        cells.push(format!("{} of {}", r[n_keys + 5], r[n_keys + 4]));
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
    s.push('\n');
    s
}
