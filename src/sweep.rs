//! Sweeps: the cross product of varied scenario keys and seeds, run in
//! parallel (each run single-threaded and deterministic), one directory per
//! run holding exactly the files `run` writes, then `summary.csv` (one row
//! per run, varied keys first) and `aggregate.csv` (mean and 95% interval
//! over seeds per combination).
//!
//! A sweep is resumable: a run whose `summary.csv` exists (written last) is
//! done and skipped. `--shard I/N` runs the runs whose index is I modulo N,
//! so an array job can spread a sweep over machines; `merge` joins the
//! parts into what one machine would have written.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::output;
use crate::scenario::Config;

/// What a sweep runs; saved as `plan.toml` so that parts can be merged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The scenario as named on the command line (a path or a shipped name).
    pub scenario: String,
    /// `--set` overrides applied to every run.
    pub sets: Vec<String>,
    /// Varied keys and their values, in command-line order.
    pub vary: Vec<Vary>,
    /// First and last seed, inclusive.
    pub seeds: [u64; 2],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vary {
    pub key: String,
    pub values: Vec<String>,
}

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSpec {
    pub index: usize,
    /// The value of each varied key, in plan order.
    pub values: Vec<String>,
    pub seed: u64,
}

/// Why a sweep could not be set up or finished.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    BadInput(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    move |source| SweepError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Parses `--vary KEY=V1,V2,...`.
pub fn parse_vary(spec: &str) -> Result<Vary, SweepError> {
    let (key, values) = spec.split_once('=').ok_or_else(|| {
        SweepError::BadInput(format!(
            "--vary {spec}: expected KEY=V1,V2,... such as replication.mode=async,quorum"
        ))
    })?;
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if key.trim().is_empty() || values.iter().any(String::is_empty) {
        return Err(SweepError::BadInput(format!(
            "--vary {spec}: a key and non-empty values are needed"
        )));
    }
    Ok(Vary {
        key: key.trim().to_string(),
        values,
    })
}

/// Parses `--seeds A..B` (inclusive; `A..=B` too) or a single seed.
pub fn parse_seeds(spec: &str) -> Result<[u64; 2], SweepError> {
    let bad = || {
        SweepError::BadInput(format!(
            "--seeds {spec}: expected A..B (inclusive), such as 1..10"
        ))
    };
    let (a, b) = match spec.split_once("..") {
        Some((a, b)) => (a, b.trim_start_matches('=')),
        None => (spec, spec),
    };
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    if b < a {
        return Err(bad());
    }
    Ok([a, b])
}

/// Parses `--shard I/N` (I from 0 to N-1, as array-job indices are).
pub fn parse_shard(spec: &str) -> Result<(usize, usize), SweepError> {
    let bad = || {
        SweepError::BadInput(format!(
            "--shard {spec}: expected I/N with 0 <= I < N, such as 0/4"
        ))
    };
    let (i, n) = spec.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

impl Plan {
    /// Every run, combinations in order (the first varied key slowest),
    /// seeds innermost.
    pub fn runs(&self) -> Vec<RunSpec> {
        let mut combos: Vec<Vec<String>> = vec![Vec::new()];
        for v in &self.vary {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    v.values.iter().map(move |value| {
                        let mut next = c.clone();
                        next.push(value.clone());
                        next
                    })
                })
                .collect();
        }
        let mut out = Vec::new();
        for values in combos {
            for seed in self.seeds[0]..=self.seeds[1] {
                out.push(RunSpec {
                    index: out.len(),
                    values: values.clone(),
                    seed,
                });
            }
        }
        out
    }

    /// The overrides of one run: the plan's sets, the varied values, the seed.
    pub fn sets_of(&self, run: &RunSpec) -> Vec<String> {
        let mut sets = self.sets.clone();
        for (v, value) in self.vary.iter().zip(&run.values) {
            sets.push(format!("{}={value}", v.key));
        }
        sets.push(format!("simulation.seed={}", run.seed));
        sets
    }

    /// The run's folder, relative to the sweep's: `runs/<k>=<v>,.../seed-<s>`.
    pub fn dir_of(&self, run: &RunSpec) -> PathBuf {
        let combo = self.combo_name(&run.values);
        let mut p = PathBuf::from("runs");
        if !combo.is_empty() {
            p.push(combo);
        }
        p.push(format!("seed-{}", run.seed));
        p
    }

    /// `k1=v1,k2=v2`, made safe for a folder name.
    pub fn combo_name(&self, values: &[String]) -> String {
        self.vary
            .iter()
            .zip(values)
            .map(|(v, value)| format!("{}={}", v.key, value))
            .collect::<Vec<_>>()
            .join(",")
            .replace(['/', '\\', ' '], "_")
    }
}

/// What a sweep did.
pub struct Done {
    pub total: usize,
    pub ran: usize,
    pub skipped: usize,
}

/// The most runs one sweep may have: beyond, a typo in `--seeds` or
/// `--vary` is far likelier than a real plan.
pub const MAX_RUNS: u128 = 10_000_000;

/// Refuses a plan with more than `MAX_RUNS` runs before listing them.
fn check_size(plan: &Plan) -> Result<(), SweepError> {
    let seeds = (plan.seeds[1] - plan.seeds[0]) as u128 + 1;
    let total = plan
        .vary
        .iter()
        .fold(seeds, |acc, v| acc.saturating_mul(v.values.len() as u128));
    if total > MAX_RUNS {
        return Err(SweepError::BadInput(format!(
            "the sweep has {total} runs (combinations × seeds): at most {MAX_RUNS}; narrow --seeds or --vary"
        )));
    }
    Ok(())
}

/// Refuses to resume into a folder that holds another sweep.
fn check_same_plan(out: &Path, plan: &Plan) -> Result<(), SweepError> {
    if !out.join("plan.toml").exists() {
        return Ok(());
    }
    let existing = read_plan(out)?;
    if existing != *plan {
        return Err(SweepError::BadInput(format!(
            "{} holds a sweep with another plan (its plan.toml differs): resuming would mix their runs; choose another --out or remove it",
            out.display()
        )));
    }
    Ok(())
}

/// Runs the plan's runs (those of `shard`, if given) into `out`, `jobs` at a
/// time; `load` turns a run's overrides into a config. Every run's config is
/// loaded before any runs, so a bad value stops the sweep at once.
pub fn execute(
    plan: &Plan,
    out: &Path,
    jobs: usize,
    shard: Option<(usize, usize)>,
    load: &(dyn Fn(&[String]) -> Result<Config, String> + Sync),
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Done, SweepError> {
    check_size(plan)?;
    fs::create_dir_all(out).map_err(io(out))?;
    check_same_plan(out, plan)?;
    remove_stale_temporaries(out)?;
    write_plan(out, plan)?;
    let mine: Vec<RunSpec> = plan
        .runs()
        .into_iter()
        .filter(|r| shard.is_none_or(|(i, n)| r.index % n == i))
        .collect();
    let total = mine.len();
    let pending: Vec<(RunSpec, Config)> = mine
        .into_iter()
        .filter(|r| !out.join(plan.dir_of(r)).join("summary.csv").exists())
        .map(|r| {
            load(&plan.sets_of(&r))
                .map(|c| (r, c))
                .map_err(SweepError::BadInput)
        })
        .collect::<Result<_, _>>()?;
    let skipped = total - pending.len();
    let done = std::sync::atomic::AtomicUsize::new(skipped);
    progress(skipped, total);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| SweepError::BadInput(format!("--jobs {jobs}: {e}")))?;
    pool.install(|| {
        pending.par_iter().try_for_each(|(r, cfg)| {
            let dir = out.join(plan.dir_of(r));
            // What an interrupted sweep left of this run is incomplete.
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(io(&dir))?;
            }
            output::run_into(cfg, &dir, output::PerfFile::Omit, &mut |_| {}).map_err(io(&dir))?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n, total);
            Ok::<(), SweepError>(())
        })
    })?;
    if shard.is_none() {
        finish(out, plan)?;
    } else {
        // A part's tables cover its own runs only; `merge` writes the whole.
        write_tables(out, plan, true)?;
    }
    Ok(Done {
        total,
        ran: total - skipped,
        skipped,
    })
}

/// A killed sweep may leave half-written tables (`.name.tmp-PID`) in its
/// folder; they are no one's output.
fn remove_stale_temporaries(out: &Path) -> Result<(), SweepError> {
    for e in fs::read_dir(out).map_err(io(out))? {
        let path = e.map_err(io(out))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') && name.contains(".tmp-") && path.is_file() {
            fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}

fn write_plan(out: &Path, plan: &Plan) -> Result<(), SweepError> {
    let text = toml::to_string(plan).map_err(|e| SweepError::BadInput(e.to_string()))?;
    output::write_atomic(out, "plan.toml", text.as_bytes()).map_err(io(out))?;
    Ok(())
}

/// Reads a sweep folder's plan.
pub fn read_plan(dir: &Path) -> Result<Plan, SweepError> {
    let path = dir.join("plan.toml");
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    toml::from_str(&text)
        .map_err(|e| SweepError::BadInput(format!("{}: not a sweep plan: {e}", path.display())))
}

/// Writes the sweep's tables, plots and report from its run folders.
pub fn finish(out: &Path, plan: &Plan) -> Result<(), SweepError> {
    write_tables(out, plan, false)?;
    output::plot::plot_sweep(out)
        .map_err(|e| SweepError::BadInput(format!("{}: plotting failed: {e}", out.display())))?;
    output::report::sweep_report(out, plan).map_err(io(out))?;
    Ok(())
}

/// `summary.csv` and `aggregate.csv` from the runs present (all of them
/// unless `partial`).
fn write_tables(out: &Path, plan: &Plan, partial: bool) -> Result<(), SweepError> {
    let keys: Vec<&str> = plan.vary.iter().map(|v| v.key.as_str()).collect();
    let mut header: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    header.extend(output::SUMMARY_COLUMNS.iter().map(|c| c.to_string()));
    let mut rows = Vec::new();
    for r in plan.runs() {
        let path = out.join(plan.dir_of(&r)).join("summary.csv");
        let row = match read_summary_row(&path) {
            Ok(row) => row,
            Err(_) if partial => continue,
            Err(e) => return Err(e),
        };
        let mut full = r.values.clone();
        full.extend(row);
        rows.push(full);
    }
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    output::write_csv(out, "summary.csv", &header_refs, &rows).map_err(io(out))?;
    let (agg_header, agg_rows) = aggregate(keys.len(), &header, &rows);
    let agg_refs: Vec<&str> = agg_header.iter().map(String::as_str).collect();
    output::write_csv(out, "aggregate.csv", &agg_refs, &agg_rows).map_err(io(out))?;
    Ok(())
}

fn read_summary_row(path: &Path) -> Result<Vec<String>, SweepError> {
    let mut r = csv::Reader::from_path(path).map_err(|e| SweepError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let rec = r
        .records()
        .next()
        .ok_or_else(|| SweepError::BadInput(format!("{}: no row", path.display())))?
        .map_err(|e| SweepError::BadInput(format!("{}: {e}", path.display())))?;
    Ok(rec.iter().map(str::to_string).collect())
}

/// Columns that are labels, not measurements.
const LABELS: &[&str] = &["scenario", "seed"];

/// Mean, 95% interval (Student t, half-width) and count of the runs where
/// the metric is defined, over seeds, per combination.
fn aggregate(
    n_keys: usize,
    header: &[String],
    rows: &[Vec<String>],
) -> (Vec<String>, Vec<Vec<String>>) {
    let metrics: Vec<usize> = (n_keys..header.len())
        .filter(|&i| !LABELS.contains(&header[i].as_str()))
        .collect();
    let mut out_header: Vec<String> = header[..n_keys].to_vec();
    out_header.push("runs".into());
    for &i in &metrics {
        out_header.push(format!("{}_mean", header[i]));
        out_header.push(format!("{}_ci95", header[i]));
        // Runs where the metric is defined (RPO and RTO are not always).
        out_header.push(format!("{}_n", header[i]));
    }
    let mut groups: BTreeMap<usize, (Vec<String>, Vec<&Vec<String>>)> = BTreeMap::new();
    let mut order: Vec<Vec<String>> = Vec::new();
    for row in rows {
        let key = row[..n_keys].to_vec();
        let g = match order.iter().position(|k| *k == key) {
            Some(g) => g,
            None => {
                order.push(key.clone());
                order.len() - 1
            }
        };
        groups
            .entry(g)
            .or_insert_with(|| (key, Vec::new()))
            .1
            .push(row);
    }
    let mut out = Vec::new();
    for (_, (key, members)) in groups {
        let mut line = key;
        line.push(members.len().to_string());
        for &i in &metrics {
            let xs: Vec<f64> = members
                .iter()
                .filter_map(|r| r[i].parse::<f64>().ok())
                .collect();
            let (mean, ci) = mean_ci(&xs);
            line.push(mean.map_or_else(String::new, |m| format!("{m:.6}")));
            line.push(ci.map_or_else(String::new, |c| format!("{c:.6}")));
            line.push(xs.len().to_string());
        }
        out.push(line);
    }
    (out_header, out)
}

/// Mean and the half-width of its 95% interval.
pub fn mean_ci(xs: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = xs.len();
    if n == 0 {
        return (None, None);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (Some(mean), None);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (Some(mean), Some(t_975(n - 1) * (var / n as f64).sqrt()))
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Joins sweep parts (same plan) into `out`: copies every run folder, then
/// writes the tables, plots and report one machine would have written.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<Done, SweepError> {
    let Some(first) = parts.first() else {
        return Err(SweepError::BadInput(
            "merge: name the sweep folders to join".into(),
        ));
    };
    let plan = read_plan(first)?;
    check_size(&plan)?;
    for p in &parts[1..] {
        if read_plan(p)? != plan {
            return Err(SweepError::BadInput(format!(
                "{}: its plan differs from {}'s: only parts of one sweep can be merged",
                p.display(),
                first.display()
            )));
        }
    }
    fs::create_dir_all(out).map_err(io(out))?;
    write_plan(out, &plan)?;
    let runs = plan.runs();
    let mut missing = Vec::new();
    for r in &runs {
        let rel = plan.dir_of(r);
        let target = out.join(&rel);
        if target.join("summary.csv").exists() {
            continue;
        }
        match parts
            .iter()
            .find(|p| p.join(&rel).join("summary.csv").exists())
        {
            Some(p) => copy_dir(&p.join(&rel), &target)?,
            None => missing.push(rel.display().to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(SweepError::BadInput(format!(
            "merge: {} of {} runs are in none of the parts (the first: {}); run the missing shards",
            missing.len(),
            runs.len(),
            missing[0]
        )));
    }
    finish(out, &plan)?;
    Ok(Done {
        total: runs.len(),
        ran: 0,
        skipped: runs.len(),
    })
}

/// Copies a run folder, `summary.csv` last (it marks the run as done).
fn copy_dir(from: &Path, to: &Path) -> Result<(), SweepError> {
    fs::create_dir_all(to).map_err(io(to))?;
    let mut names: Vec<_> = fs::read_dir(from)
        .map_err(io(from))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| !n.to_string_lossy().starts_with('.'))
        .collect();
    names.sort_by_key(|n| (n == "summary.csv", n.clone()));
    for name in names {
        let bytes = fs::read(from.join(&name)).map_err(io(from))?;
        output::write_atomic(to, &name.to_string_lossy(), &bytes).map_err(io(to))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_the_cross_product_in_order() {
        let plan = Plan {
            scenario: "x".into(),
            sets: vec![],
            vary: vec![parse_vary("a=1,2").unwrap(), parse_vary("b=x,y,z").unwrap()],
            seeds: parse_seeds("5..6").unwrap(),
        };
        let runs = plan.runs();
        assert_eq!(runs.len(), 2 * 3 * 2);
        assert_eq!(runs[0].values, ["1", "x"]);
        assert_eq!(
            (runs[1].values.clone(), runs[1].seed),
            (vec!["1".to_string(), "x".to_string()], 6)
        );
        assert_eq!(runs[11].values, ["2", "z"]);
        assert_eq!(plan.dir_of(&runs[3]), PathBuf::from("runs/a=1,b=y/seed-6"));
        assert_eq!(plan.sets_of(&runs[3]), ["a=1", "b=y", "simulation.seed=6"]);
    }

    #[test]
    fn flags_are_parsed_or_refused() {
        assert_eq!(parse_seeds("1..=3").unwrap(), [1, 3]);
        assert_eq!(parse_seeds("7").unwrap(), [7, 7]);
        assert!(parse_seeds("3..1").is_err());
        assert_eq!(parse_shard("2/3").unwrap(), (2, 3));
        assert!(parse_shard("3/3").is_err());
        assert!(parse_vary("novalues").is_err());
        assert!(parse_vary("k=a,,b").is_err());
    }

    #[test]
    fn mean_and_interval() {
        // Two values 1 and 3: mean 2, sd sqrt(2), t(1) = 12.706: 12.706 · 1 = 12.706.
        let (m, c) = mean_ci(&[1.0, 3.0]);
        assert_eq!(m, Some(2.0));
        assert!((c.unwrap() - 12.706).abs() < 1e-9);
        assert_eq!(mean_ci(&[4.0]), (Some(4.0), None));
    }
}
