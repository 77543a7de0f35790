//! `explore`: a search over fault schedules for the one that breaks a
//! design's expectations (`[[expect]]`), or that is worst by a metric
//! (`--objective`), then shrunk to the smallest reproduction.
//!
//! Schedule `i` is drawn from the explore seed and `i` alone
//! ([`schedule`]); schedule 0 has no fault. Schedules run in parallel in
//! chunks of [`CHUNK`], each run single-threaded on its own copy of the
//! configuration; a finished chunk is written to `chunks/` at once, so a
//! search is resumable (done chunks are skipped, and a larger `--budget`
//! extends it) and shardable (`--shard I/N` runs chunks `k ≡ I mod N`;
//! `merge` joins the parts). Everything after the runs ([`outputs`]) is a
//! function of the chunk files, so a sharded-and-merged search writes the
//! same files as a single one.

pub mod outputs;
pub mod schedule;
pub mod shrink;

use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::output::{self, expectations};
use crate::scenario::{self, Config, FaultType, Named, expect};
use schedule::Drawer;

/// Schedules per chunk file.
pub const CHUNK: u64 = 8;
/// The most schedules one search may have.
pub const MAX_BUDGET: u64 = 10_000_000;

/// The command-line flags of `explore`.
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// A scenario file, or the name of a shipped scenario.
    pub scenario: String,
    /// Schedules to try (schedule 0 is the one without faults).
    #[arg(long, default_value_t = 100)]
    pub budget: u64,
    /// Stop starting schedules after this wall time (e.g. 10m); a later
    /// run with the same --out resumes.
    #[arg(long, value_name = "DURATION")]
    pub budget_time: Option<String>,
    /// Fault kinds to draw [default: every kind the scenario can host].
    #[arg(long, value_name = "KIND,...")]
    pub faults: Option<String>,
    /// Faults per schedule, at most.
    #[arg(long, default_value_t = 3)]
    pub max_faults: u32,
    /// Keep the worst schedule by this metric (a summary.csv column or availability).
    #[arg(long, value_name = "METRIC")]
    pub objective: Option<String>,
    /// The explore seed: the schedules drawn.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Runs at a time [default: the number of cores].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder [default: results/<scenario name>/explore/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only chunks I modulo N (I from 0), for array jobs; `merge` joins the parts.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Never draw two dc_down faults that overlap in time.
    #[arg(long)]
    pub one_dc_down_at_a_time: bool,
    /// Also halve the workload rate while shrinking, while it still breaks.
    #[arg(long)]
    pub shrink_workload: bool,
}

/// What a search is; saved as `explore.toml` for resuming and merging.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Search {
    pub scenario: String,
    pub seed: u64,
    pub budget: u64,
    /// Written by their scenario spelling: `["dc_down", "partition"]`.
    #[serde(with = "schedule::kind_names")]
    pub faults: Vec<FaultType>,
    pub max_faults: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    pub one_dc_down_at_a_time: bool,
    pub shrink_workload: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Other(String),
}

fn other(path: &Path) -> impl FnOnce(std::io::Error) -> ExploreError + '_ {
    move |e| ExploreError::Other(format!("{}: {e}", path.display()))
}

/// What a search found.
pub struct Found {
    pub tried: usize,
    pub budget: u64,
    /// Schedules that broke an expectation.
    pub broke: usize,
    /// Whether `worst.toml` breaks an expectation (exit status 3).
    pub violation: bool,
    pub out: PathBuf,
    /// A shard's part: nothing but its chunks was written.
    pub part: bool,
}

/// A scenario named on the command line: its display name, stem and text.
pub fn resolve(name: &str) -> Result<(String, String, String), ExploreError> {
    let path = Path::new(name);
    if path.exists() {
        let text = fs::read_to_string(path)
            .map_err(|e| ExploreError::BadInput(format!("{name}: cannot read: {e}")))?;
        let stem = path
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
        return Ok((name.to_string(), stem, text));
    }
    match scenario::SHIPPED.iter().find(|(n, _)| *n == name) {
        Some((stem, text)) => Ok((
            format!("<shipped scenario {stem}>"),
            stem.to_string(),
            text.to_string(),
        )),
        None => Err(ExploreError::BadInput(format!(
            "{name}: no such file, and no shipped scenario of that name; shipped: {}",
            scenario::SHIPPED
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The loaded scenario of a search.
pub struct Base {
    pub cfg: Config,
    pub text: String,
    pub display: String,
}

fn load(name: &str) -> Result<Base, ExploreError> {
    let (display, stem, text) = resolve(name)?;
    let cfg = scenario::load_str(&display, &stem, &text, &[])
        .map_err(|e| ExploreError::BadInput(e.to_string()))?;
    Ok(Base { cfg, text, display })
}

/// Where in the scenario a fault kind would act: its links, else its
/// datacenters (`file:line:col`).
fn host_location(base: &Base, kind: FaultType) -> String {
    let sources = scenario::tree::Sources::new(base.display.clone(), base.text.clone(), vec![]);
    let at = scenario::tree::parse(&base.text).ok().and_then(|root| {
        let key = match kind {
            FaultType::LinkDown | FaultType::SlowLink if root.get("link").is_some() => "link",
            FaultType::LinkDown
            | FaultType::SlowLink
            | FaultType::DcDown
            | FaultType::Partition
            | FaultType::ReplicationStall
            | FaultType::ClockJump
            | FaultType::Switchover
            | FaultType::PushFailure => "datacenter",
        };
        root.get(key).map(|n| n.at)
    });
    match at {
        Some(at) => sources.describe(at),
        None => format!("{}:1:1", base.display),
    }
}

/// Checks the flags against the scenario; nothing is written before.
fn plan(args: &Args, base: &Base) -> Result<Search, ExploreError> {
    let bad = |m: String| Err(ExploreError::BadInput(m));
    if args.budget == 0 {
        return bad(format!(
            "{}: `--budget 0`: an empty budget: nothing would be tried; give at least 1 schedule",
            base.display
        ));
    }
    if args.budget > MAX_BUDGET {
        return bad(format!(
            "--budget {}: at most {MAX_BUDGET} schedules",
            args.budget
        ));
    }
    if args.max_faults == 0 {
        return bad("--max-faults 0: a schedule needs at least one fault".into());
    }
    let cfg = &base.cfg;
    let faults: Vec<FaultType> = match &args.faults {
        None => FaultType::NAMES
            .iter()
            .map(|&(_, kind)| kind)
            .filter(|&kind| schedule::cannot_host(cfg, kind).is_none())
            .collect(),
        Some(list) => {
            let mut out: Vec<FaultType> = Vec::new();
            for k in list.split(',').map(str::trim) {
                let Some(kind) = schedule::fault_type(k) else {
                    return bad(format!(
                        "--faults {list}: unknown fault kind \"{k}\"; known: {}",
                        FaultType::SPELLINGS.join(", ")
                    ));
                };
                if let Some(why) = schedule::cannot_host(cfg, kind) {
                    return bad(format!(
                        "{}: `--faults {k}`: the scenario cannot host a {k} fault: {why}",
                        host_location(base, kind)
                    ));
                }
                if !out.contains(&kind) {
                    out.push(kind);
                }
            }
            out
        }
    };
    if faults.is_empty() {
        return bad(format!(
            "{}: the scenario can host no fault kind",
            base.display
        ));
    }
    if let Some(o) = &args.objective
        && !expect::run_metrics().contains(&o.as_str())
    {
        return bad(format!(
            "--objective {o}: unknown metric; known: {}",
            expect::run_metrics().join(", ")
        ));
    }
    if args.objective.is_none() && cfg.expect.is_empty() {
        return bad(format!(
            "{}: nothing to search for: the scenario has no [[expect]] and no --objective was given",
            base.display
        ));
    }
    Ok(Search {
        scenario: args.scenario.clone(),
        seed: args.seed,
        budget: args.budget,
        faults,
        max_faults: args.max_faults,
        objective: args.objective.clone(),
        one_dc_down_at_a_time: args.one_dc_down_at_a_time,
        shrink_workload: args.shrink_workload,
    })
}

impl Search {
    pub fn drawer(&self) -> Drawer {
        Drawer {
            seed: self.seed,
            kinds: self.faults.clone(),
            max_faults: self.max_faults,
            one_dc_down: self.one_dc_down_at_a_time,
        }
    }

    fn chunks(&self) -> u64 {
        self.budget.div_ceil(CHUNK)
    }

    fn chunk_len(&self, k: u64) -> u64 {
        CHUNK.min(self.budget - k * CHUNK)
    }

    /// Equal but for the budget (which a resumed search may raise).
    fn same_search(&self, other: &Search) -> bool {
        Search {
            budget: other.budget,
            ..self.clone()
        } == *other
    }
}

fn read_search(dir: &Path) -> Result<Search, ExploreError> {
    let path = dir.join("explore.toml");
    let text = fs::read_to_string(&path).map_err(other(&path))?;
    toml::from_str(&text).map_err(|e| {
        ExploreError::BadInput(format!("{}: not an explore plan: {e}", path.display()))
    })
}

fn write_search(dir: &Path, s: &Search) -> Result<(), ExploreError> {
    let text = toml::to_string(s).map_err(|e| ExploreError::Other(e.to_string()))?;
    output::write_atomic(dir, "explore.toml", text.as_bytes()).map_err(other(dir))?;
    Ok(())
}

/// One schedule's run: the `explore.csv` row.
pub fn run_schedule(base: &Config, search: &Search, index: u64) -> Vec<String> {
    let faults = search.drawer().draw(base, index);
    let mut cfg = base.clone();
    let text = schedule::describe(base, &faults);
    cfg.faults = faults;
    let o = crate::run(&cfg);
    let summary = output::summary_row(&o).cells();
    let verdicts = expectations::judge(
        &cfg,
        &summary,
        &output::failure_rows(&o),
        &output::tables::dataset_rows(&o),
    );
    outputs::row(index, cfg.faults.len(), text, &verdicts, search, &summary)
}

fn chunk_path(out: &Path, k: u64) -> PathBuf {
    out.join("chunks").join(format!("{k:07}.csv"))
}

/// The rows of chunk `k` if its file is complete.
fn read_chunk(out: &Path, search: &Search, k: u64) -> Option<Vec<Vec<String>>> {
    let (_, rows) = output::plot::read_table(&chunk_path(out, k)).ok()?;
    (rows.len() as u64 == search.chunk_len(k)).then_some(rows)
}

/// Runs a search as the flags say; see the module documentation.
pub fn explore(args: &Args) -> Result<Found, ExploreError> {
    let base = load(&args.scenario)?;
    let search = plan(args, &base)?;
    let shard = args
        .shard
        .as_deref()
        .map(|s| crate::sweep::parse_shard(s).map(|(i, n)| (i as usize, n as usize)))
        .transpose()
        .map_err(|e| ExploreError::BadInput(e.to_string()))?;
    let deadline = match &args.budget_time {
        None => None,
        Some(t) => Some(
            Instant::now()
                + Duration::from_nanos(
                    crate::time::parse_duration(t)
                        .map_err(|e| ExploreError::BadInput(format!("--budget-time {t}: {e}")))?,
                ),
        ),
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results")
            .join(&base.cfg.name)
            .join("explore")
    });
    if out.join("explore.toml").exists() {
        let old = read_search(&out)?;
        if !old.same_search(&search) {
            return Err(ExploreError::BadInput(format!(
                "{} holds another search (its explore.toml differs): resuming would mix their schedules; choose another --out or remove it",
                out.display()
            )));
        }
    }
    fs::create_dir_all(out.join("chunks")).map_err(other(&out))?;
    remove_stale_temporaries(&out)?;
    remove_stale_temporaries(&out.join("chunks"))?;
    write_search(&out, &search)?;
    let mine: Vec<u64> = (0..search.chunks())
        .filter(|k| shard.is_none_or(|(i, n)| *k as usize % n == i))
        .collect();
    let pending: Vec<u64> = mine
        .iter()
        .copied()
        .filter(|&k| read_chunk(&out, &search, k).is_none())
        .collect();
    let total: u64 = mine.iter().map(|&k| search.chunk_len(k)).sum();
    let already: u64 = total - pending.iter().map(|&k| search.chunk_len(k)).sum::<u64>();
    let progress = Progress::new(total, already);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| ExploreError::BadInput(format!("--jobs {jobs}: {e}")))?;
    pool.install(|| {
        pending.par_iter().try_for_each(|&k| {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(());
            }
            let mut rows = Vec::new();
            for i in k * CHUNK..k * CHUNK + search.chunk_len(k) {
                let row = run_schedule(&base.cfg, &search, i);
                progress.step(outputs::broke(&row));
                rows.push(row);
            }
            let header = outputs::header(&search);
            let refs: Vec<&str> = header.iter().map(String::as_str).collect();
            let dir = out.join("chunks");
            let name = format!("{k:07}.csv");
            output::write_csv(&dir, &name, &refs, &rows).map_err(other(&dir))?;
            Ok::<(), ExploreError>(())
        })
    })?;
    progress.finish();
    let tried = progress.done.load(Ordering::Relaxed);
    if shard.is_some() {
        return Ok(Found {
            tried,
            budget: search.budget,
            broke: progress.broke.load(Ordering::Relaxed),
            violation: false,
            out,
            part: true,
        });
    }
    // Shrinking runs its candidates on the same threads.
    pool.install(|| finish(&out, &search, &base))
}

/// A killed search may leave half-written files (`.name.tmp-PID`); they
/// are no one's output.
fn remove_stale_temporaries(dir: &Path) -> Result<(), ExploreError> {
    for e in fs::read_dir(dir).map_err(other(dir))? {
        let path = e.map_err(other(dir))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') && name.contains(".tmp-") && path.is_file() {
            fs::remove_file(&path).map_err(other(&path))?;
        }
    }
    Ok(())
}

/// Writes the search's files from its chunks: `explore.csv`, the shrunk
/// counterexample (`worst.toml`, `original.toml`, `worst-run/`), the plot
/// and `report.md`.
fn finish(out: &Path, search: &Search, base: &Base) -> Result<Found, ExploreError> {
    let mut rows = Vec::new();
    for k in 0..search.chunks() {
        if let Some(r) = read_chunk(out, search, k) {
            rows.extend(r);
        }
    }
    outputs::write_all(out, search, base, &rows)
}

/// Joins the parts of a sharded search into `out` and writes its files.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<Found, ExploreError> {
    let first = parts
        .first()
        .ok_or_else(|| ExploreError::BadInput("merge: name the folders to join".into()))?;
    let search = read_search(first)?;
    for p in &parts[1..] {
        if read_search(p)? != search {
            return Err(ExploreError::BadInput(format!(
                "{}: its explore.toml differs from {}'s: only parts of one search can be merged",
                p.display(),
                first.display()
            )));
        }
    }
    let base = load(&search.scenario)?;
    fs::create_dir_all(out.join("chunks")).map_err(other(out))?;
    write_search(out, &search)?;
    let mut missing = Vec::new();
    for k in 0..search.chunks() {
        if read_chunk(out, &search, k).is_some() {
            continue;
        }
        match parts.iter().find(|p| read_chunk(p, &search, k).is_some()) {
            Some(p) => {
                let bytes = fs::read(chunk_path(p, k)).map_err(other(p))?;
                let dir = out.join("chunks");
                output::write_atomic(&dir, &format!("{k:07}.csv"), &bytes).map_err(other(&dir))?;
            }
            None => missing.push(k),
        }
    }
    if let Some(k) = missing.first() {
        return Err(ExploreError::BadInput(format!(
            "merge: {} of {} chunks are in none of the parts (the first: chunks/{k:07}.csv); run the missing shards",
            missing.len(),
            search.chunks()
        )));
    }
    finish(out, &search, &base)
}

/// A progress bar on a terminal; otherwise a line at every tenth.
struct Progress {
    total: u64,
    done: AtomicUsize,
    broke: AtomicUsize,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
}

impl Progress {
    fn new(total: u64, already: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} schedules {pos}/{len} [{bar:40}] {msg} (eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.set_position(already);
            b
        });
        Progress {
            total,
            done: AtomicUsize::new(already as usize),
            broke: AtomicUsize::new(0),
            bar,
            started: Instant::now(),
        }
    }

    fn step(&self, broke: bool) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) as u64 + 1;
        let b = self.broke.fetch_add(broke as usize, Ordering::Relaxed) + broke as usize;
        match &self.bar {
            Some(bar) => {
                bar.set_position(n);
                bar.set_message(format!("{b} broke"));
            }
            None => {
                let tenth = (self.total / 10).max(1);
                if n % tenth == 0 || n == self.total {
                    eprintln!(
                        "explore: {n}/{} schedules, {b} broke an expectation, {:.0}s",
                        self.total,
                        self.started.elapsed().as_secs_f64()
                    );
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
