//! The `multiactive` command line: parses flags, calls the library, maps
//! errors to exit statuses (0 done, 2 bad input, 1 anything else).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use multiactive::output;
use multiactive::scenario::{self, Config, ScenarioError};
use multiactive::sweep::{self, Plan, SweepError};

#[derive(Parser)]
#[command(
    name = "multiactive",
    version,
    about = "Deterministic simulator of multi-datacenter active-active systems"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario (the embedded default when none is named).
    Run {
        /// A scenario file, or the name of a shipped scenario (see `list`).
        scenario: Option<String>,
        /// Master seed (overrides simulation.seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder [default: results/<scenario name>/seed-<seed>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a scenario key, e.g. --set replication.mode=quorum.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Validate a scenario without running it.
    Check {
        scenario: String,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Run a scenario over the cross product of varied keys and seeds.
    Sweep {
        scenario: String,
        /// A key and its values, e.g. --vary failover.procedure=switch,ban_then_switch.
        #[arg(long = "vary", value_name = "KEY=V1,V2,...")]
        vary: Vec<String>,
        /// Seeds, inclusive: 1..10.
        #[arg(long, default_value = "1..5")]
        seeds: String,
        /// Runs at a time [default: the number of cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the runs whose index is I modulo N (I from 0), for array jobs.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Output folder [default: results/<scenario name>/sweep/].
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Join the parts of a sharded sweep into what one machine would have written.
    Merge {
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Output folder [default: the first part].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Redraw the plots of a run or a sweep folder.
    Plot { dir: PathBuf },
    /// List the shipped scenarios.
    List,
    /// Print the reference of every scenario key (Markdown).
    Keys,
    /// Explain one scenario key: its type, default and meaning.
    Explain {
        /// A key such as `replication.mode` (or `datacenter.bj.servers`).
        key: String,
    },
}

/// An error and the exit status it maps to.
enum Failure {
    BadInput(String),
    Other(anyhow::Error),
}

impl From<ScenarioError> for Failure {
    fn from(e: ScenarioError) -> Self {
        Failure::BadInput(e.to_string())
    }
}

impl From<SweepError> for Failure {
    fn from(e: SweepError) -> Self {
        match e {
            SweepError::BadInput(m) => Failure::BadInput(m),
            other => Failure::Other(other.into()),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(m)) => {
            eprintln!("{m}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn dispatch(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Run {
            scenario,
            seed,
            out,
            sets,
        } => {
            let mut sets = sets;
            if let Some(s) = seed {
                sets.push(format!("simulation.seed={s}"));
            }
            let cfg = load(scenario.as_deref(), &sets)?;
            run(&cfg, out)
        }
        Command::Check { scenario, sets } => {
            let cfg = load(Some(&scenario), &sets)?;
            println!(
                "{}: ok ({} datacenters, {} links, {} regions, {} shards, {} faults)",
                cfg.name,
                cfg.datacenters.len(),
                cfg.links.len(),
                cfg.regions.len(),
                cfg.sharding.shards,
                cfg.faults.len()
            );
            for w in scenario::capacity::warnings(&cfg) {
                println!("warning: {w}");
            }
            Ok(())
        }
        Command::Sweep {
            scenario,
            vary,
            seeds,
            jobs,
            shard,
            out,
            sets,
        } => {
            let plan = Plan {
                scenario,
                sets,
                vary: vary
                    .iter()
                    .map(|v| sweep::parse_vary(v))
                    .collect::<Result<_, _>>()?,
                seeds: sweep::parse_seeds(&seeds)?,
            };
            let shard = shard.as_deref().map(sweep::parse_shard).transpose()?;
            run_sweep(&plan, out, jobs, shard)
        }
        Command::Merge { parts, out } => {
            let out = out.unwrap_or_else(|| parts[0].clone());
            let done = sweep::merge(&parts, &out)?;
            eprintln!("merged {} runs into {}", done.total, out.display());
            Ok(())
        }
        Command::Plot { dir } => {
            let result = if dir.join("plan.toml").exists() {
                multiactive::output::plot::plot_sweep(&dir)
            } else {
                multiactive::output::plot::plot_run(&dir)
            };
            result
                .map_err(|e| Failure::BadInput(format!("{}: cannot plot: {e}", dir.display())))?;
            eprintln!("plots redrawn in {}", dir.display());
            Ok(())
        }
        Command::List => {
            let width = scenario::SHIPPED
                .iter()
                .map(|(n, _)| n.len())
                .max()
                .unwrap_or(0);
            for (name, text) in scenario::SHIPPED {
                println!("{name:<width$}  {}", scenario::first_comment_line(text));
            }
            Ok(())
        }
        Command::Keys => {
            print!("{}", scenario::reference());
            Ok(())
        }
        Command::Explain { key } => {
            let text = scenario::explain(&key).map_err(|near| {
                Failure::BadInput(format!(
                    "`{key}` is not a scenario key; closest: {} (`multiactive keys` lists them all)",
                    near.join(", ")
                ))
            })?;
            print!("{text}");
            Ok(())
        }
    }
}

/// A path, a shipped scenario's name, or the default.
fn load(name: Option<&str>, sets: &[String]) -> Result<Config, Failure> {
    let Some(name) = name else {
        return Ok(scenario::load_default(sets)?);
    };
    let path = Path::new(name);
    if !path.exists()
        && let Some((stem, text)) = scenario::SHIPPED.iter().find(|(n, _)| *n == name)
    {
        return Ok(scenario::load_str(
            &format!("<shipped scenario {stem}>"),
            stem,
            text,
            sets,
        )?);
    }
    if !path.exists() {
        let known: Vec<&str> = scenario::SHIPPED.iter().map(|(n, _)| *n).collect();
        return Err(Failure::BadInput(format!(
            "{name}: no such file, and no shipped scenario of that name; shipped: {}",
            known.join(", ")
        )));
    }
    Ok(scenario::load_file(path, sets)?)
}

fn run(cfg: &Config, out: Option<PathBuf>) -> Result<(), Failure> {
    let out = out.unwrap_or_else(|| {
        PathBuf::from("results")
            .join(&cfg.name)
            .join(format!("seed-{}", cfg.seed))
    });
    let bar = progress_bar();
    let started = Instant::now();
    let mut progress = |f: f64| {
        if let Some(b) = &bar
            && started.elapsed() > Duration::from_secs(1)
        {
            b.set_position((f * 1000.0) as u64);
        }
    };
    let (outcome, perf) = output::run_into(cfg, &out, output::PerfFile::Write, &mut progress)
        .map_err(|e| Failure::Other(anyhow::anyhow!("cannot write into {}: {e}", out.display())))?;
    let wall = perf.wall_s;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let t = &outcome.metrics.totals;
    eprintln!(
        "{}: seed {}: {} requests ({} ok, {} failed, {} rejected), {} forwarded, {} misrouted; {} events in {:.2}s ({:.0} events/s, {:.0} requests/s); results in {}",
        outcome.scenario,
        outcome.seed,
        t.requests,
        t.ok,
        t.failed,
        t.rejected,
        t.forwarded,
        t.misrouted,
        outcome.events,
        wall,
        outcome.events as f64 / wall.max(1e-9),
        t.requests as f64 / wall.max(1e-9),
        out.display()
    );
    Ok(())
}

fn run_sweep(
    plan: &Plan,
    out: Option<PathBuf>,
    jobs: Option<usize>,
    shard: Option<(usize, usize)>,
) -> Result<(), Failure> {
    // The scenario must load before anything runs (bad input: exit 2).
    let first = load(Some(&plan.scenario), &plan.sets)?;
    let out = out.unwrap_or_else(|| PathBuf::from("results").join(&first.name).join("sweep"));
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{spinner} runs {pos}/{len} [{bar:40}] (eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b
    });
    let started = Instant::now();
    let loader = |sets: &[String]| {
        load(Some(&plan.scenario), sets).map_err(|f| match f {
            Failure::BadInput(m) => m,
            Failure::Other(e) => e.to_string(),
        })
    };
    let progress = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let done = sweep::execute(plan, &out, jobs, shard, &loader, &progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!(
        "sweep: {} runs ({} run now, {} already done) with {jobs} jobs in {:.2}s; results in {}",
        done.total,
        done.ran,
        done.skipped,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// A progress bar on a terminal; nothing when standard error is not one.
fn progress_bar() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} simulating [{bar:40}] {percent}% (eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    Some(bar)
}
