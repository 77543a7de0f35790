//! Sweeps: the cross product of varied scenario keys and seeds, run in
//! parallel (each run single-threaded and deterministic), one directory per
//! run holding exactly the files `run` writes, then `summary.csv` (one row
//! per run, varied keys first) and `aggregate.csv` (mean and 95% interval
//! over seeds per combination).
//!
//! Everything is checked before anything is written: the flags, the plan
//! (`plan`), every combination's scenario, the folder. The folder is then
//! locked (`lock`) for the sweep's duration. Runs are computed from their
//! index as they are reached, so a plan of millions of runs holds none.
//!
//! A sweep is resumable: a run whose `summary.csv` exists (written last) is
//! done and skipped. `--shard I/N` runs the runs whose index is I modulo N,
//! so an array job can spread a sweep over machines; `merge` joins the
//! parts into a new folder, what one machine would have written.

mod lock;
mod merge;
mod plan;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::error::Error;
use crate::output::{self, notes};
use crate::scenario::Scenario;

pub use lock::{FolderLock, LOCK_FILE};
pub use merge::{default_out as default_merge_out, merge};
pub use plan::{MAX_RUNS, Plan, RunSpec, Vary, check_jobs, parse_seeds, parse_shard, parse_vary};

/// What a sweep did.
pub struct Done {
    pub total: u64,
    pub ran: u64,
    pub skipped: u64,
    /// Runs run now whose report has warnings (overload, ...).
    pub warned: u64,
}

/// What a sweep tells its caller as it goes.
#[derive(Clone, Debug)]
pub enum Event {
    /// Advice on a configuration (see [`crate::scenario::advice`]), once
    /// per sentence, with the combinations it concerns when not all: their
    /// number and the first few.
    Advice {
        advice: String,
        combinations: Option<(u64, Vec<String>)>,
    },
    /// Before the first run: this part's runs, those already done, the
    /// jobs, and a rough estimate of the wall time left in seconds.
    Start {
        total: u64,
        skipped: u64,
        jobs: usize,
        estimate_s: f64,
    },
    /// A run finished.
    Progress { done: u64, total: u64 },
}

/// Simulated requests per second one job gets through, and the fixed cost
/// of a run's files (tables, plots): for the estimate printed before a
/// sweep starts (a release build on one core of a laptop).
const REQUESTS_PER_JOB_S: f64 = 1.5e6;
const FILES_PER_RUN_S: f64 = 0.3;

/// Refuses to resume into a folder that holds another sweep.
fn check_same_plan(out: &Path, plan: &Plan) -> Result<(), Error> {
    if !out.join("plan.toml").exists() {
        return Ok(());
    }
    let existing = read_plan(out)?;
    if existing != *plan {
        return Err(Error::BadInput(format!(
            "{} holds a sweep with another plan (its plan.toml differs): resuming would mix their runs; choose another --out or remove it",
            out.display()
        )));
    }
    Ok(())
}

/// Runs the plan's runs (those of `shard`, if given) into `out`, `jobs` at a
/// time. Every combination is loaded before anything is written, so a bad
/// value stops the sweep at once and leaves no trace.
pub fn execute(
    plan: &Plan,
    scenario: &Scenario,
    out: &Path,
    jobs: usize,
    shard: Option<(u64, u64)>,
    tell: &(dyn Fn(Event) + Sync),
) -> Result<Done, Error> {
    plan.check()?;
    check_jobs(jobs)?;
    let mut requests_per_run = 0.0;
    let mut advice: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
    for c in 0..plan.combinations() {
        let mut overrides = plan.overrides_of(&plan.combination(c));
        overrides.push(crate::scenario::Override {
            flag: "--seeds",
            spec: format!("simulation.seed={}", plan.seeds[0]),
        });
        let cfg = scenario.load(&overrides)?.config;
        for a in crate::scenario::advice(&cfg) {
            let (n, first) = advice.entry(a).or_default();
            *n += 1;
            if first.len() < 3 {
                first.push(plan.combo_name(&plan.combination(c)));
            }
        }
        if c == 0 {
            requests_per_run =
                cfg.workload.rate * crate::time::secs(cfg.duration) + cfg.requests.len() as f64;
        }
    }
    for (a, (n, first)) in advice {
        tell(Event::Advice {
            advice: a,
            combinations: (n < plan.combinations()).then_some((n, first)),
        });
    }
    crate::commands::check_writable(out)?;
    fs::create_dir_all(out).map_err(Error::io(out))?;
    let _lock = lock::lock(out)?;
    check_same_plan(out, plan)?;
    remove_stale_temporaries(out)?;
    write_plan(out, plan)?;
    let all = plan.total() as u64;
    let (first, step) = shard.unwrap_or((0, 1));
    let total = if all > first {
        (all - first - 1) / step + 1
    } else {
        0
    };
    let index = |k: u64| first + k * step;
    let is_done = |r: &RunSpec| out.join(plan.dir_of(r)).join("summary.csv").exists();
    let skipped = if out.join("runs").is_dir() {
        (0..total).filter(|&k| is_done(&plan.run(index(k)))).count() as u64
    } else {
        0
    };
    let pending = total - skipped;
    let parallel = (jobs as u64).min(pending).max(1) as f64;
    tell(Event::Start {
        total,
        skipped,
        jobs,
        estimate_s: pending as f64 * (FILES_PER_RUN_S + requests_per_run / REQUESTS_PER_JOB_S)
            / parallel,
    });
    let done = AtomicU64::new(skipped);
    let warned = AtomicU64::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::ThreadPool {
            jobs,
            message: e.to_string(),
        })?;
    pool.install(|| {
        (0..total).into_par_iter().try_for_each(|k| {
            let r = plan.run(index(k));
            if is_done(&r) {
                return Ok(());
            }
            let dir = out.join(plan.dir_of(&r));
            // What an interrupted sweep left of this run is incomplete.
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(Error::io(&dir))?;
            }
            let loaded = scenario.load(&plan.run_overrides(&r))?;
            let make_notes = |o: &crate::metrics::Outcome| notes::for_run(scenario, &loaded, o);
            let (_, _, notes) = output::run_into(
                &loaded.config,
                &dir,
                output::PerfFile::Omit,
                &make_notes,
                &mut |_| {},
            )
            .map_err(Error::io(&dir))?;
            if !notes.warnings.is_empty() {
                warned.fetch_add(1, Ordering::Relaxed);
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            tell(Event::Progress { done: n, total });
            Ok::<(), Error>(())
        })
    })?;
    if shard.is_none() {
        finish(out, plan)?;
    } else {
        // A part's tables cover its own runs only; `merge` writes the whole.
        write_tables(out, plan, Some((first, step)))?;
    }
    Ok(Done {
        total,
        ran: pending,
        skipped,
        warned: warned.into_inner(),
    })
}

/// A killed sweep may leave half-written tables (`.name.tmp-PID`) in its
/// folder; they are no one's output (the lock says no one else writes).
fn remove_stale_temporaries(out: &Path) -> Result<(), Error> {
    for e in fs::read_dir(out).map_err(Error::io(out))? {
        let path = e.map_err(Error::io(out))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') && name.contains(".tmp-") && path.is_file() {
            fs::remove_file(&path).map_err(Error::io(&path))?;
        }
    }
    Ok(())
}

fn write_plan(out: &Path, plan: &Plan) -> Result<(), Error> {
    let text = toml::to_string(plan).map_err(|e| Error::BadInput(e.to_string()))?;
    output::write_atomic(out, "plan.toml", text.as_bytes()).map_err(Error::io(out))?;
    Ok(())
}

/// Reads a sweep folder's plan.
pub fn read_plan(dir: &Path) -> Result<Plan, Error> {
    let path = dir.join("plan.toml");
    let text = fs::read_to_string(&path).map_err(Error::io(&path))?;
    toml::from_str(&text)
        .map_err(|e| Error::BadInput(format!("{}: not a sweep plan: {e}", path.display())))
}

/// Writes the sweep's tables, plots and report from its run folders.
pub fn finish(out: &Path, plan: &Plan) -> Result<(), Error> {
    write_tables(out, plan, None)?;
    output::plot::plot_sweep(out).map_err(|e| Error::Plot {
        path: out.display().to_string(),
        message: e.to_string(),
    })?;
    output::report::sweep_report(out, plan).map_err(Error::io(out))?;
    Ok(())
}

/// `summary.csv` and `aggregate.csv` from the runs: all of them, or those
/// of a shard that are present.
fn write_tables(out: &Path, plan: &Plan, shard: Option<(u64, u64)>) -> Result<(), Error> {
    let partial = shard.is_some();
    let (first, step) = shard.unwrap_or((0, 1));
    let keys: Vec<&str> = plan.vary.iter().map(|v| v.key.as_str()).collect();
    let mut header: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    header.extend(output::SUMMARY_COLUMNS.iter().map(|c| c.to_string()));
    let mut rows = Vec::new();
    let mut dirs = Vec::new();
    for i in (first..plan.total() as u64).step_by(step as usize) {
        let r = plan.run(i);
        let path = out.join(plan.dir_of(&r)).join("summary.csv");
        let row = match read_summary_row(&path) {
            Ok(row) => row,
            Err(_) if partial => continue,
            Err(e) => return Err(e),
        };
        dirs.push((r.values.clone(), out.join(plan.dir_of(&r))));
        let mut full = r.values.clone();
        full.extend(row);
        rows.push(full);
    }
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    output::write_csv(out, "summary.csv", &header_refs, &rows).map_err(Error::io(out))?;
    let (agg_header, agg_rows) = aggregate(keys.len(), &header, &rows);
    let agg_refs: Vec<&str> = agg_header.iter().map(String::as_str).collect();
    output::write_csv(out, "aggregate.csv", &agg_refs, &agg_rows).map_err(Error::io(out))?;
    // Per combination, how many seeds met each `[[expect]]`.
    output::expectations::sweep_table(out, &keys, &dirs).map_err(Error::io(out))?;
    Ok(())
}

fn read_summary_row(path: &Path) -> Result<Vec<String>, Error> {
    let mut r = csv::Reader::from_path(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let rec = r
        .records()
        .next()
        .ok_or_else(|| Error::BadInput(format!("{}: no row", path.display())))?
        .map_err(|e| Error::BadInput(format!("{}: {e}", path.display())))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_interval() {
        // Two values 1 and 3: mean 2, sd sqrt(2), t(1) = 12.706: 12.706 · 1 = 12.706.
        let (m, c) = mean_ci(&[1.0, 3.0]);
        assert_eq!(m, Some(2.0));
        assert!((c.unwrap() - 12.706).abs() < 1e-9);
        assert_eq!(mean_ci(&[4.0]), (Some(4.0), None));
    }
}
