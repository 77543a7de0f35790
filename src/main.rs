//! The `multiactive` command line: parses flags, shows progress, calls the
//! library ([`multiactive::commands`], [`multiactive::sweep`]) and maps its
//! errors to exit statuses (0 done, 1 failed, 2 bad input).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use clap::{Parser, Subcommand};

use multiactive::commands;
use multiactive::output::notes::plural;
use multiactive::progress::{Progress, human};
use multiactive::scenario;
use multiactive::sweep::{self, Event, Plan};
use multiactive::{Error, ExitStatus};

#[derive(Parser)]
#[command(
    name = "multiactive",
    version,
    about = "Deterministic simulator of multi-datacenter active-active systems",
    after_help = "Exit status: 0 done, 1 failed (a write, a plot, the worker threads), 2 bad input (the scenario, a flag, a folder named)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario (the embedded default when none is named).
    Run {
        /// A scenario file (a path: has a `/`, starts with `.` or ends in
        /// `.toml`), or the name of a shipped scenario (see `list`).
        scenario: Option<String>,
        /// Master seed (overrides simulation.seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder [default: results/<scenario name>/seed-<seed>/, or
        /// results/<scenario name>/set-<hash of the overrides>/seed-<seed>/
        /// with --set].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a scenario key, e.g. --set replication.mode=quorum.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Validate a scenario without running it.
    Check {
        /// A scenario file, or the name of a shipped scenario (see `list`).
        scenario: String,
        /// Override a scenario key, e.g. --set replication.mode=quorum.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Run a scenario over the cross product of varied keys and seeds.
    Sweep {
        /// A scenario file, or the name of a shipped scenario (see `list`).
        scenario: String,
        /// A key and its distinct values, e.g. --vary failover.procedure=switch,ban_then_switch.
        #[arg(long = "vary", value_name = "KEY=V1,V2,...")]
        vary: Vec<String>,
        /// Seeds A..B, inclusive, A ≤ B: 1..10.
        #[arg(long, default_value = "1..5")]
        seeds: String,
        /// Runs at a time, at least 1 [default: the number of cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the runs whose index is I modulo N (I from 0), for array jobs.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Output folder [default: results/<scenario name>/sweep/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a scenario key in every run, e.g. --set workload.rate=5000.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Join the parts of a sharded sweep into what one machine would have
    /// written, in a new folder (the parts are only read).
    Merge {
        /// The sweep folders written with --shard I/N, one per I.
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Output folder, not one of the parts [default: `merged` beside the first part].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Search fault schedules for one that breaks the scenario's expectations.
    Explore(multiactive::explore::Args),
    /// Redraw the plots of a run or a sweep folder.
    Plot {
        /// A run folder (holding timeseries.csv) or a sweep folder (holding plan.toml).
        dir: PathBuf,
    },
    /// List the shipped scenarios.
    List,
    /// Print the reference of every scenario key (Markdown).
    Keys,
    /// Explain one scenario key: its type, default and meaning.
    Explain {
        /// A key such as `replication.mode` or `datacenter.bj.servers`, or a section such as `failover`.
        key: String,
    },
}

fn main() -> ExitCode {
    multiactive::kernel::huge::keep_freed_memory();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ExitStatus::BadInput.code()
            } else {
                ExitStatus::Done.code()
            });
        }
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.status() {
                ExitStatus::BadInput => eprintln!("{e}"),
                _ => eprintln!("error: {e}"),
            }
            ExitCode::from(e.status().code())
        }
    }
}

fn dispatch(cmd: Command) -> Result<(), Error> {
    match cmd {
        Command::Run {
            scenario,
            seed,
            out,
            sets,
        } => run(scenario.as_deref(), seed, &sets, out),
        Command::Check { scenario, sets } => {
            let (sc, loaded) =
                commands::load(Some(&scenario), &commands::run_overrides(&sets, None))?;
            say_all(sc.note.iter().cloned());
            say_all(
                scenario::advice(&loaded.config)
                    .into_iter()
                    .map(|a| format!("warning: {a}")),
            );
            println!("{}", commands::describe(&loaded.config));
            for w in scenario::capacity::warnings(&loaded.config) {
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
            let jobs = match jobs {
                Some(j) => sweep::check_jobs(j)?,
                None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            };
            run_sweep(&plan, out, jobs, shard)
        }
        Command::Merge { parts, out } if parts[0].join("explore.toml").exists() => {
            // Like a sweep's merge: never into one of its parts.
            let out = out.unwrap_or_else(|| sweep::default_merge_out(&parts));
            if parts.contains(&out) {
                return Err(Error::BadInput(format!(
                    "merge: --out {} is one of the parts: a merge never writes into its inputs",
                    out.display()
                )));
            }
            explored(multiactive::explore::merge(&parts, &out))
        }
        Command::Explore(args) => explored(multiactive::explore::explore(&args)),
        Command::Merge { parts, out } => {
            let out = out.unwrap_or_else(|| sweep::default_merge_out(&parts));
            let done = sweep::merge(&parts, &out)?;
            eprintln!(
                "merged {} into {}",
                plural(done.total, "run", "runs"),
                out.display()
            );
            Ok(())
        }
        Command::Plot { dir } => {
            commands::plot(&dir)?;
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
                Error::BadInput(format!(
                    "`{key}` is not a scenario key; closest: {} (`multiactive keys` lists them all)",
                    near.join(", ")
                ))
            })?;
            print!("{text}");
            Ok(())
        }
    }
}

fn say_all(lines: impl Iterator<Item = String>) {
    for l in lines {
        eprintln!("{l}");
    }
}

fn run(
    arg: Option<&str>,
    seed: Option<u64>,
    sets: &[String],
    out: Option<PathBuf>,
) -> Result<(), Error> {
    let prepared = commands::prepare_run(arg, &commands::run_overrides(sets, seed), out)?;
    say_all(prepared.notes.iter().cloned());
    let mut progress = Progress::new("simulating", 1000);
    let done = commands::execute_run(&prepared, &mut |f| progress.update((f * 1000.0) as u64))?;
    progress.finish();
    say_all(
        multiactive::output::notes::overload(&done.outcome)
            .into_iter()
            .map(|w| format!("warning: {w}")),
    );
    let (o, wall) = (&done.outcome, done.wall_s);
    let t = &o.metrics.totals;
    eprintln!(
        "{}: seed {}: {} requests ({} ok, {} failed, {} rejected), {} forwarded, {} misrouted; {} events in {:.2}s ({:.0} events/s, {:.0} requests/s); results in {}",
        scenario::load::escape(&o.scenario),
        o.seed,
        t.requests,
        t.ok,
        t.failed,
        t.rejected,
        t.forwarded,
        t.misrouted,
        o.events,
        wall,
        o.events as f64 / wall.max(1e-9),
        t.requests as f64 / wall.max(1e-9),
        done.out.display()
    );
    let verdicts = multiactive::output::expectations::judge_outcome(o, &prepared.loaded.config);
    for v in &verdicts {
        println!("{v}");
    }
    match verdicts.iter().filter(|v| !v.met).count() {
        0 => Ok(()),
        n => Err(Error::Unmet(format!("{n} expectation(s) not met"))),
    }
}

/// Maps a search's end to an exit status: 3 when it found a violation.
fn explored(
    r: Result<multiactive::explore::Found, multiactive::explore::ExploreError>,
) -> Result<(), Error> {
    use multiactive::explore::ExploreError;
    let f = r.map_err(|e| match e {
        ExploreError::BadInput(m) => Error::BadInput(m),
        ExploreError::Other(m) => Error::Other(m),
    })?;
    if f.part {
        eprintln!(
            "explore: part of {} schedules in {}; `merge` the parts",
            f.tried,
            f.out.display()
        );
        return Ok(());
    }
    eprintln!(
        "explore: {} of {} schedules tried, {} broke an expectation; results in {}",
        f.tried,
        f.budget,
        f.broke,
        f.out.display()
    );
    if f.violation {
        return Err(Error::Unmet(format!(
            "counterexample: {}",
            f.out.join("worst.toml").display()
        )));
    }
    Ok(())
}

fn run_sweep(
    plan: &Plan,
    out: Option<PathBuf>,
    jobs: usize,
    shard: Option<(u64, u64)>,
) -> Result<(), Error> {
    // The scenario must load before anything runs (bad input: exit 2).
    let (sc, first) = commands::load(
        Some(&plan.scenario),
        &commands::run_overrides(&plan.sets, None),
    )?;
    say_all(sc.note.iter().cloned());
    let out = out.unwrap_or_else(|| {
        PathBuf::from("results")
            .join(&first.config.name)
            .join("sweep")
    });
    let started = Instant::now();
    let progress: Mutex<Option<Progress>> = Mutex::new(None);
    let tell = |e: Event| match e {
        Event::Advice {
            advice,
            combinations,
        } => match combinations {
            None => eprintln!("warning: {advice}"),
            Some((n, first)) => eprintln!(
                "warning: in {} ({}{}): {advice}",
                plural(n, "combination", "combinations"),
                first.join("; "),
                if n as usize > first.len() {
                    "; ..."
                } else {
                    ""
                }
            ),
        },
        Event::Start {
            total,
            skipped,
            jobs,
            estimate_s,
        } => {
            eprintln!(
                "sweep: {} ({} already done) with {}; rough estimate {} (at about 1.5 million simulated requests per second per job)",
                plural(total, "run", "runs"),
                skipped,
                plural(jobs as u64, "job", "jobs"),
                human(estimate_s)
            );
            let mut p = Progress::new("runs", total);
            p.update(skipped);
            *progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(p);
        }
        Event::Progress { done, .. } => {
            if let Some(p) = progress.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                p.update(done);
            }
        }
    };
    let done = sweep::execute(plan, &sc, &out, jobs, shard, &tell)?;
    if let Some(p) = progress.lock().unwrap_or_else(|p| p.into_inner()).take() {
        p.finish();
    }
    eprintln!(
        "sweep: {} ({} run now, {} already done) with {} in {:.2}s; results in {}",
        plural(done.total, "run", "runs"),
        done.ran,
        done.skipped,
        plural(jobs as u64, "job", "jobs"),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    if done.warned > 0 {
        eprintln!(
            "warning: {} warnings in report.md (overload, combinations rarely meant)",
            plural(done.warned, "run has", "runs have")
        );
    }
    Ok(())
}
