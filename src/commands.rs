//! The commands behind the command line, as library functions: finding and
//! loading the scenario, choosing and checking the output folder, running,
//! writing. `main.rs` only parses flags, shows progress and maps [`Error`]s
//! to exit statuses.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::metrics::Outcome;
use crate::output::{self, RunNotes, notes};
use crate::scenario::{self, Config, Loaded, Override, Scenario};

/// A run ready to start: its scenario, loaded with its overrides, and the
/// folder it will write (checked writable).
pub struct PreparedRun {
    pub scenario: Scenario,
    pub loaded: Loaded,
    pub out: PathBuf,
    /// Said before the run: the lookup's note, advice on the configuration.
    pub notes: Vec<String>,
}

/// A finished run.
pub struct RunDone {
    pub outcome: Outcome,
    pub wall_s: f64,
    pub out: PathBuf,
    pub notes: RunNotes,
}

/// The overrides of `run`: each `--set`, then `--seed`.
pub fn run_overrides(sets: &[String], seed: Option<u64>) -> Vec<Override> {
    let mut out: Vec<Override> = sets.iter().map(Override::set).collect();
    if let Some(s) = seed {
        out.push(Override {
            flag: "--seed",
            spec: format!("simulation.seed={s}"),
        });
    }
    out
}

/// Finds and loads the scenario named on the command line (`None`: the
/// default) with its overrides.
pub fn load(arg: Option<&str>, overrides: &[Override]) -> Result<(Scenario, Loaded), Error> {
    let sc = scenario::find(arg)?;
    let loaded = sc.load(overrides)?;
    Ok((sc, loaded))
}

/// Everything `run` checks before simulating: the scenario, the overrides,
/// the output folder (default: [`Loaded::default_folder`]).
pub fn prepare_run(
    arg: Option<&str>,
    overrides: &[Override],
    out: Option<PathBuf>,
) -> Result<PreparedRun, Error> {
    let (scenario, loaded) = load(arg, overrides)?;
    let out = out.unwrap_or_else(|| loaded.default_folder());
    check_writable(&out)?;
    let mut notes: Vec<String> = scenario.note.iter().cloned().collect();
    notes.extend(
        scenario::advice(&loaded.config)
            .into_iter()
            .map(|a| format!("warning: {a}")),
    );
    Ok(PreparedRun {
        scenario,
        loaded,
        out,
        notes,
    })
}

/// Simulates a prepared run and writes its folder; `progress` gets the
/// simulated fraction now and then.
pub fn execute_run(p: &PreparedRun, progress: &mut dyn FnMut(f64)) -> Result<RunDone, Error> {
    let cfg: &Config = &p.loaded.config;
    let make_notes = |o: &crate::metrics::Outcome| notes::for_run(&p.scenario, &p.loaded, o);
    let (outcome, perf, notes) =
        output::run_into(cfg, &p.out, output::PerfFile::Write, &make_notes, progress)
            .map_err(Error::io(&p.out))?;
    Ok(RunDone {
        outcome,
        wall_s: perf.wall_s,
        out: p.out.clone(),
        notes,
    })
}

/// Fails, before anything is simulated, when `out` cannot be created or
/// written. Leaves no trace: a folder it created for the test is removed.
pub fn check_writable(out: &Path) -> Result<(), Error> {
    let shown = || scenario::load::escape(&out.display().to_string());
    if out.exists() && !out.is_dir() {
        return Err(Error::BadInput(format!(
            "--out {}: is a file, not a folder",
            shown()
        )));
    }
    let created = !out.exists();
    fs::create_dir_all(out).map_err(|e| {
        Error::BadInput(format!("--out {}: cannot create the folder: {e}", shown()))
    })?;
    let probe = out.join(format!(".probe-{}", std::process::id()));
    let result = fs::write(&probe, b"").and_then(|()| fs::remove_file(&probe));
    if created {
        let _ = fs::remove_dir(out);
    }
    result.map_err(|e| Error::BadInput(format!("--out {}: cannot write into it: {e}", shown())))
}

/// `check`'s one line: the scenario's name and size.
pub fn describe(cfg: &Config) -> String {
    let n = |k: usize, one: &str, many: &str| notes::plural(k as u64, one, many);
    format!(
        "{}: ok ({}, {}, {}, {}, {})",
        scenario::load::escape(&cfg.name),
        n(cfg.datacenters.len(), "datacenter", "datacenters"),
        n(cfg.links.len(), "link", "links"),
        n(cfg.regions.len(), "region", "regions"),
        n(cfg.sharding.shards as usize, "shard", "shards"),
        n(cfg.faults.len(), "fault", "faults"),
    )
}

/// Redraws the plots of a run or a sweep folder.
pub fn plot(dir: &Path) -> Result<(), Error> {
    let shown = dir.display().to_string();
    if !dir.is_dir() {
        return Err(Error::BadInput(format!(
            "{shown}: {}; plot redraws the plots of a run folder (with timeseries.csv) or a sweep folder (with plan.toml)",
            if dir.exists() {
                "not a folder"
            } else {
                "no such folder"
            }
        )));
    }
    let result = if dir.join("plan.toml").is_file() {
        output::plot::plot_sweep(dir)
    } else if dir.join("timeseries.csv").is_file() {
        output::plot::plot_run(dir)
    } else {
        return Err(Error::BadInput(format!(
            "{shown}: neither a run folder (no timeseries.csv) nor a sweep folder (no plan.toml): nothing to plot"
        )));
    };
    result.map_err(|e| Error::Plot {
        path: shown,
        message: e.to_string(),
    })
}
