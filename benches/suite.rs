//! The speed suite: `cargo bench --bench suite` (add `-- --rounds 5` for
//! more rounds, `-- --only default,quorum` for some cases).
//!
//! In one run it measures the kernel alone (PHOLD) and the full model on
//! the scenario set of `benches/scenarios/` and the default scenario, and
//! prints the ratios the performance goals are stated in:
//!
//! | case        | what                                                     |
//! |-------------|----------------------------------------------------------|
//! | phold       | PHOLD, 1024 LPs, 20 M events (as `examples/phold.rs`)    |
//! | default     | the default scenario as shipped (3 DCs, 10^5 keys, async)|
//! | quorum      | the same with `replication.mode = "quorum"`              |
//! | keys-1e4    | the default with 10^4 keys                               |
//! | keys-1e7    | the default with 10^7 keys (same requests as keys-1e4)   |
//! | five-dcs    | `five_dcs.toml`: 5 DCs, full mesh                        |
//! | mesh3/mesh9 | `mesh3.toml`, `mesh9.toml`: 3 and 9 DCs, full mesh, same |
//! |             | load and rules otherwise                                 |
//!
//! Cases run round-robin (every case once per round) so that a noisy
//! machine spreads its noise over all of them; each is reported by its
//! fastest (min) and median time. Two clocks: wall time, and the CPU time of
//! the running thread (its CPU clock, `CLOCK_THREAD_CPUTIME_ID`), which leaves
//! out the time spent waiting for a core on a loaded machine; rates and
//! ratios use CPU time where it is available. The process keeps the memory
//! a run frees for the next, as the command line does: a case's first
//! round runs on fresh pages (like a single `multiactive run`), its later
//! rounds on pages already touched (like the runs of a sweep). A model
//! run is timed whole: building the world, the events, and the end-of-run
//! audit (not loading the scenario, not writing files). Not a timed test:
//! nothing here fails on a slow machine.
//!
//! Each ratio is given three ways: from the two cases' median times, from
//! their fastest, and *paired*: the median over rounds of the ratio
//! within one round (the two cases ran seconds apart, so a slow drift of
//! the machine's load cancels out).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use multiactive::kernel::{ComponentRng, EventQueue, Model, run_until, stream};
use multiactive::scenario::{self, Config};
use multiactive::time::{Nanos, SimTime};

/// PHOLD as in `examples/phold.rs` with its default arguments: each event
/// draws an exponential delay (mean 1 ms, plus 10 µs) and a destination LP.
struct Phold {
    lps: u32,
    rngs: Vec<ComponentRng>,
}

const PHOLD_LPS: u32 = 1024;
const PHOLD_EVENTS: u64 = 20_000_000;

#[inline(always)]
fn phold_delay(rng: &mut ComponentRng) -> Nanos {
    let x: f64 = Exp1.sample(rng);
    10_000 + (x * 1_000_000.0) as Nanos
}

impl Model for Phold {
    type Event = u32;

    #[inline]
    fn handle(&mut self, _now: SimTime, lp: u32, queue: &mut EventQueue<u32>) {
        let rng = &mut self.rngs[lp as usize];
        let d = phold_delay(rng);
        let dest = rng.random_range(0..self.lps);
        queue.schedule_in(d, dest);
    }
}

/// Runs PHOLD; returns (events, wall seconds, CPU seconds).
fn phold() -> (u64, f64, Option<f64>) {
    let mut model = Phold {
        lps: PHOLD_LPS,
        rngs: (0..PHOLD_LPS).map(|lp| stream(1, u64::from(lp))).collect(),
    };
    let mut queue = EventQueue::with_capacity(PHOLD_LPS as usize);
    for lp in 0..PHOLD_LPS {
        let at = phold_delay(&mut model.rngs[lp as usize]);
        queue.schedule(SimTime(at), lp);
    }
    let (handled, wall, cpu) =
        timed(|| run_until(&mut model, &mut queue, SimTime::MAX, PHOLD_EVENTS));
    black_box(queue.now());
    (handled, wall, cpu)
}

/// Nanoseconds this thread has run on a CPU, where the OS tells: the
/// thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`), which counts up to the
/// moment it is read. (`/proc/thread-self/schedstat`, used before, is
/// brought up to date only at the scheduler's ticks while a thread runs:
/// 4 ms steps here, ±3% of a 3-DC mesh run.)
#[cfg(unix)]
fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given, which
    // lives on this stack frame for the call.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    ok.then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(not(unix))]
fn thread_cpu_ns() -> Option<u64> {
    None
}

/// Times `f`: (wall seconds, CPU seconds of this thread if known).
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, Option<f64>) {
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    let out = f();
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu0
        .zip(thread_cpu_ns())
        .map(|(a, b)| b.saturating_sub(a) as f64 * 1e-9);
    (out, wall, cpu)
}

enum Case {
    Phold,
    Model(Box<Config>),
}

struct Measured {
    name: &'static str,
    events: u64,
    /// Simulated requests (0 for PHOLD).
    requests: u64,
    wall: Vec<f64>,
    /// Empty when the OS gives no thread CPU time.
    cpu: Vec<f64>,
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

impl Measured {
    /// The times rates are computed from: CPU time if known, else wall.
    fn secs(&self) -> &[f64] {
        if self.cpu.len() == self.wall.len() {
            &self.cpu
        } else {
            &self.wall
        }
    }

    fn min(&self) -> f64 {
        min(self.secs())
    }

    fn median(&self) -> f64 {
        median(self.secs())
    }
}

fn load(name: &str, sets: &[&str]) -> Config {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let cfg = if name == "default" {
        scenario::load_default(&sets)
    } else {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("benches/scenarios")
            .join(format!("{name}.toml"));
        scenario::load_file(&path, &sets)
    };
    cfg.unwrap_or_else(|e| panic!("bench scenario {name}: {e}"))
}

fn cases() -> Vec<(&'static str, Case)> {
    let model = |name, sets: &[&str]| Case::Model(Box::new(load(name, sets)));
    vec![
        ("phold", Case::Phold),
        ("default", model("default", &[])),
        ("quorum", model("default", &["replication.mode=quorum"])),
        ("keys-1e4", model("default", &["workload.keys=10000"])),
        ("keys-1e7", model("default", &["workload.keys=10000000"])),
        ("five-dcs", model("five_dcs", &[])),
        ("mesh3", model("mesh3", &[])),
        ("mesh9", model("mesh9", &[])),
    ]
}

struct Args {
    rounds: usize,
    only: Option<Vec<String>>,
}

/// `--rounds N` and `--only a,b`; anything else (cargo passes `--bench`)
/// is ignored.
fn args() -> Args {
    let mut a = Args {
        rounds: 3,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--rounds" => {
                a.rounds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--rounds takes a positive number");
            }
            "--only" => {
                let v = it.next().expect("--only takes a list of case names");
                a.only = Some(v.split(',').map(str::to_string).collect());
            }
            _ => {}
        }
    }
    a
}

fn main() {
    // As the command line does (its sweeps too): a run reuses the pages the
    // one before it freed, so a case's first round pays for fresh pages
    // and its later rounds do not (see `huge::keep_freed_memory`).
    multiactive::kernel::huge::keep_freed_memory();
    let args = args();
    let cases: Vec<(&'static str, Case)> = cases()
        .into_iter()
        .filter(|(n, _)| args.only.as_ref().is_none_or(|o| o.iter().any(|x| x == n)))
        .collect();
    let mut results: Vec<Measured> = cases
        .iter()
        .map(|&(name, _)| Measured {
            name,
            events: 0,
            requests: 0,
            wall: Vec::new(),
            cpu: Vec::new(),
        })
        .collect();
    for round in 0..args.rounds {
        for ((_, case), m) in cases.iter().zip(&mut results) {
            let (events, requests, wall, cpu) = match case {
                Case::Phold => {
                    let (e, wall, cpu) = phold();
                    (e, 0, wall, cpu)
                }
                Case::Model(cfg) => {
                    let (o, wall, cpu) = timed(|| multiactive::run(cfg));
                    (o.events, o.metrics.totals.requests, wall, cpu)
                }
            };
            // The runs are deterministic: every round does the same work.
            assert!(round == 0 || (m.events, m.requests) == (events, requests));
            (m.events, m.requests) = (events, requests);
            m.wall.push(wall);
            m.cpu.extend(cpu);
            eprintln!(
                "round {round} {:<9} wall {wall:.3} s, cpu {} s",
                m.name,
                cpu.map_or("?".into(), |c| format!("{c:.3}"))
            );
        }
    }
    report(&results, args.rounds);
}

fn report(results: &[Measured], rounds: usize) {
    let clock = match results.first() {
        Some(m) if m.secs().len() == m.cpu.len() => "thread CPU time",
        _ => "wall time",
    };
    println!("{rounds} rounds; rates and ratios from the median (and min) {clock}\n");
    println!(
        "{:<9} {:>9} {:>8} {:>7} {:>7} {:>7} {:>7} {:>10} {:>10} {:>8}",
        "case",
        "events",
        "requests",
        "wall_mn",
        "wall_md",
        "cpu_mn",
        "cpu_md",
        "events/s",
        "requests/s",
        "ns/event"
    );
    for m in results {
        let med = m.median();
        let req = if m.requests > 0 {
            format!("{:.0}", m.requests as f64 / med)
        } else {
            "-".into()
        };
        let cpu = |f: fn(&[f64]) -> f64| {
            if m.cpu.is_empty() {
                "?".into()
            } else {
                format!("{:.3}", f(&m.cpu))
            }
        };
        println!(
            "{:<9} {:>9} {:>8} {:>7.3} {:>7.3} {:>7} {:>7} {:>10.0} {:>10} {:>8.1}",
            m.name,
            m.events,
            m.requests,
            min(&m.wall),
            median(&m.wall),
            cpu(min),
            cpu(median),
            m.events as f64 / med,
            req,
            med * 1e9 / m.events as f64
        );
    }
    let get = |n: &str| results.iter().find(|m| m.name == n);
    println!("\nratio (goal)                                 median     min  paired");
    let ratio =
        |label: &str, a: Option<&Measured>, b: Option<&Measured>, f: fn(&Measured, f64) -> f64| {
            if let (Some(a), Some(b)) = (a, b) {
                // Round by round: the two cases ran a few seconds apart, so
                // a drift of the machine's load over the run cancels out.
                let paired: Vec<f64> = (a.secs().iter().zip(b.secs()))
                    .map(|(&x, &y)| f(a, x) / f(b, y))
                    .collect();
                println!(
                    "{label:<44} {:>6.3} {:>7.3} {:>7.3}",
                    f(a, a.median()) / f(b, b.median()),
                    f(a, a.min()) / f(b, b.min()),
                    median(&paired)
                );
            }
        };
    let events_per_s: fn(&Measured, f64) -> f64 = |m, s| m.events as f64 / s;
    let per_request: fn(&Measured, f64) -> f64 = |m, s| s / m.requests as f64;
    let time: fn(&Measured, f64) -> f64 = |_, s| s;
    let per_event: fn(&Measured, f64) -> f64 = |m, s| s / m.events as f64;
    ratio(
        "model/PHOLD events/s, default (>= 0.45)",
        get("default"),
        get("phold"),
        events_per_s,
    );
    ratio(
        "quorum/async time per request (<= 1.2)",
        get("quorum"),
        get("default"),
        per_request,
    );
    ratio(
        "10^7/10^4 keys time, same requests (<= 1.5)",
        get("keys-1e7"),
        get("keys-1e4"),
        time,
    );
    ratio(
        "9-DC/3-DC time per event (<= 1.2)",
        get("mesh9"),
        get("mesh3"),
        per_event,
    );
    if let Some(mb) = multiactive::output::peak_rss_mb() {
        println!("\npeak RSS of the whole suite: {mb:.0} MB");
    }
}
