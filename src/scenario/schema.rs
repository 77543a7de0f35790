//! Reads the located tree into a [`Config`]: the top level and the
//! `[simulation]` section here, every other section in its own file.
//!
//! Every table names its known keys (the key reference of [`super::keys`]):
//! an unknown one is an error that lists them (and the closest, when a typo
//! is likely). Reading goes on after a problem so that one run reports every
//! problem of the file at once.

use super::keys::{Key, KeyDefault, Section, Type};
use super::readers::{
    Ctx, FILE_START, duration, int, join, name, positive_duration, show_duration, string,
};
use super::tree::{self, Node, Origin, Problem, Sources, Table, Val};
use super::*;
use crate::model::footprint::{DEFAULT_LIMIT, parse_size};
use crate::time::{MAX_DURATION, NS_PER_S};

/// The longest run (`duration + drain`): half the longest duration, so that
/// a fault's start plus its length (each within a run and a duration) and a
/// clock's reading (the run plus [`MAX_CLOCK_OFFSET`]) stay within 64 bits.
pub const MAX_RUN: Nanos = MAX_DURATION / 2;
/// The largest clock offset a DC may reach: its skew plus the clock jumps
/// on it, in absolute value.
pub const MAX_CLOCK_OFFSET: Nanos = MAX_DURATION / 10;
const _: () = assert!(MAX_RUN as u128 + MAX_DURATION as u128 <= u64::MAX as u128);
const _: () = assert!(MAX_RUN as u128 + MAX_CLOCK_OFFSET as u128 <= i64::MAX as u128);
/// More buckets than this is a bucket chosen by mistake (and a time series
/// too large to plot).
const MAX_BUCKETS: u64 = 10_000_000;

/// The first seed: any is as good; 1 is the one the shipped results use.
const SEED: u64 = 1;
/// Long enough for async replication to catch up after a typical run.
const DRAIN: Nanos = 30 * NS_PER_S;
/// One-second buckets: fine enough to see a failover, coarse enough to plot hours.
const BUCKET: Nanos = NS_PER_S;

const NAME: Key = Key::new(
    "name",
    Type::Name,
    KeyDefault::Absent("the file name without `.toml`"),
    "the run's name; results go to `results/<name>/`, so no path separators or `..`",
);
const SEED_KEY: Key = Key::new(
    "seed",
    Type::Int {
        min: 0,
        max: u64::MAX as i128,
    },
    KeyDefault::Int(SEED),
    "the master seed; every component draws from its own stream derived from it",
);
const DURATION: Key = Key::new(
    "duration",
    Type::PositiveDuration,
    KeyDefault::Required,
    "how long traffic arrives, such as \"60s\"",
);
const DRAIN_KEY: Key = Key::new(
    "drain",
    Type::Duration,
    KeyDefault::Duration(DRAIN),
    "after traffic stops, how long replication, failover and requests in flight go on before the final checks (duration + drain is at most 50000d)",
);
const BUCKET_KEY: Key = Key::new(
    "bucket",
    Type::PositiveDuration,
    KeyDefault::Duration(BUCKET),
    "the time-series resolution: one row per DC per bucket (at most 10,000,000 buckets)",
);

const MEMORY_LIMIT: Key = Key::new(
    "memory_limit",
    Type::Other("a size such as \"8GiB\" or \"512MiB\""),
    KeyDefault::Absent("16GiB"),
    "the most memory the run's fixed state (every DC's copy of every key, acknowledgement marks, histograms, Zipf popularity's alias tables) may need; a scenario above it is refused with the arithmetic",
);

pub(super) const SIMULATION_SECTION: Section = Section {
    path: "simulation",
    array: false,
    variant: None,
    about: "The run as a whole: its name, seed and length.",
    keys: &[
        NAME,
        SEED_KEY,
        DURATION,
        DRAIN_KEY,
        BUCKET_KEY,
        MEMORY_LIMIT,
    ],
};

/// Reads and validates the whole scenario.
pub fn read(src: &Sources, stem: &str) -> Result<Config, Vec<Problem>> {
    let mut root = tree::parse(&src.text).map_err(|p| vec![p])?;
    let mut problems = Vec::new();
    for (i, spec) in src.sets.iter().enumerate() {
        if let Err(p) = tree::apply_set(&mut root, i, spec) {
            problems.push(p);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut cx = Ctx { problems };
    let config = read_root(&mut cx, &root, stem);
    match config {
        Some(c) if cx.problems.is_empty() => Ok(c),
        _ => {
            if cx.problems.is_empty() {
                cx.err(Origin::Nowhere, "", "the scenario is not valid");
            }
            // Sections are read in a fixed order; the user reads the file
            // top to bottom.
            cx.problems.sort_by_key(|p| match p.at {
                Origin::File { start, .. } => (0, start),
                Origin::Set(i) => (1, i),
                Origin::Nowhere => (2, 0),
            });
            Err(cx.problems)
        }
    }
}

/// The top-level keys: one per section, in the reference's order.
fn top_keys() -> Vec<&'static str> {
    let mut out: Vec<&str> = Vec::new();
    for s in keys::sections() {
        if s.path != "dist" && !out.contains(&s.path) {
            out.push(s.path);
        }
    }
    out
}

fn read_root(cx: &mut Ctx, root: &Table, stem: &str) -> Option<Config> {
    cx.check_names(root, "", &top_keys());
    let empty = Node {
        val: Val::Table(Table::default()),
        at: FILE_START,
    };
    let section = |k: &str| root.get(k).unwrap_or(&empty);
    let sim = read_simulation(cx, section("simulation"), stem);
    let topo = topology::read(cx, root);
    let names = readers::DcNames(topo.dcs.iter().map(|d| d.name.as_str()).collect());
    let limit = sim.as_ref().map_or(DEFAULT_LIMIT, |s| s.memory_limit);
    let workload = workload::read_workload(cx, section("workload"), topo.dcs.len(), limit);
    let sharding = sharding::read(cx, section("sharding"), &names, &topo.regions);
    let regions_decide = sharding
        .as_ref()
        .is_some_and(|s| s.key == ShardKey::Geo || s.placement == Placement::ByRegion);
    topology::check_dc_regions(cx, root.get("datacenter"), &topo.regions, regions_decide);
    let routing = control::read_routing(cx, section("routing"));
    let replication = control::read_replication(cx, section("replication"));
    let failover = control::read_failover(cx, section("failover"), &names);
    let before_datasets = cx.problems.len();
    let datasets = datasets::read(
        cx,
        root.get("dataset"),
        &datasets::Around {
            workload: workload.as_ref(),
            replication: replication.as_ref(),
            sharding: sharding.as_ref(),
            names: &names,
            dcs: topo.dcs.len(),
            limit,
        },
    );
    let datasets_ok = cx.problems.len() == before_datasets;
    let run = faults::Run {
        names: &names,
        shards: sharding.as_ref().map(|s| s.shards),
        end: sim.as_ref().map(|s| s.duration + s.drain),
        end_overridden: sim.as_ref().is_some_and(|s| s.end_overridden),
        skews: topo.dcs.iter().map(|d| d.clock_skew).collect(),
        // Unknown when `[routing]` has a problem of its own: not reported twice.
        pushes_time_out: routing.as_ref().is_none_or(|r| r.push_timeout.is_some()),
    };
    let faults = faults::read(cx, root.get("fault"), &run);
    let requests =
        workload::read_requests(cx, root.get("request"), &topo.regions, workload.as_ref());
    // The names an expectation's `dataset` may take: those of datasets.csv
    // (unknown when the datasets have problems of their own).
    let dataset_names = match (datasets_ok, datasets.is_empty(), workload.as_ref()) {
        (false, _, _) => None,
        (true, true, _) => Some(Vec::new()),
        (true, false, None) => None,
        (true, false, Some(w)) => {
            let mut names: Vec<String> = datasets.iter().map(|d| d.name.clone()).collect();
            if w.global > 0.0 || requests.iter().any(|r| r.global) {
                names.push("global".to_string());
            }
            Some(names)
        }
    };
    let expect = super::expect::read(
        root.get("expect"),
        &mut cx.problems,
        dataset_names.as_deref(),
    );
    let sim = sim?;
    Some(Config {
        name: sim.name,
        seed: sim.seed,
        duration: sim.duration,
        drain: sim.drain,
        bucket: sim.bucket,
        datacenters: topo.dcs,
        links: topo.links,
        regions: topo.regions,
        workload: workload?,
        sharding: sharding?,
        datasets,
        routing: routing?,
        replication: replication?,
        failover: failover?,
        faults,
        requests,
        expect,
    })
}

struct Simulation {
    name: String,
    seed: u64,
    duration: Nanos,
    drain: Nanos,
    bucket: Nanos,
    /// `--set` gave the duration or the drain: a shortened run.
    end_overridden: bool,
    memory_limit: u64,
}

fn read_simulation(cx: &mut Ctx, n: &Node, stem: &str) -> Option<Simulation> {
    let t = cx.table(n, "simulation", SIMULATION_SECTION.keys)?;
    let k = |key: &Key| join("simulation", key.name);
    let name = t
        .get(NAME.name)
        .map_or(Some(stem.to_string()), |v| run_name(cx, v, &k(&NAME)));
    let seed = t.get(SEED_KEY.name).map_or(Some(SEED as i128), |v| {
        int(cx, v, &k(&SEED_KEY), 0, u64::MAX as i128)
    });
    let dur = cx
        .need(t, n.at, "simulation", &DURATION)
        .and_then(|v| positive_duration(cx, v, &k(&DURATION)));
    let drain = t
        .get(DRAIN_KEY.name)
        .map_or(Some(DRAIN), |v| duration(cx, v, &k(&DRAIN_KEY)));
    let bucket = t
        .get(BUCKET_KEY.name)
        .map_or(Some(BUCKET), |v| positive_duration(cx, v, &k(&BUCKET_KEY)));
    let memory_limit = match t.get(MEMORY_LIMIT.name) {
        None => Some(DEFAULT_LIMIT),
        Some(v) => match string(cx, v, &k(&MEMORY_LIMIT)).map(parse_size) {
            Some(Ok(l)) => Some(l),
            Some(Err(e)) => {
                cx.err(v.at, &k(&MEMORY_LIMIT), e);
                None
            }
            None => None,
        },
    };
    let (dur, drain) = (dur?, drain?);
    if dur + drain > MAX_RUN {
        // At the larger of the two: the one to shorten.
        let (key, at) = match t.get(DRAIN_KEY.name) {
            Some(v) if drain > dur => (&DRAIN_KEY, v.at),
            _ => (&DURATION, t.get(DURATION.name).map_or(n.at, |v| v.at)),
        };
        cx.err(
            at,
            &k(key),
            format!(
                "the run (duration + drain) lasts {}: expected at most {}",
                show_duration(dur + drain),
                show_duration(MAX_RUN)
            ),
        );
        return None;
    }
    if let Some(b) = bucket
        && (dur + drain) / b > MAX_BUCKETS
    {
        cx.err(
            t.get(BUCKET_KEY.name).map_or(n.at, |v| v.at),
            &k(&BUCKET_KEY),
            "more than 10,000,000 time buckets: choose a larger bucket",
        );
        return None;
    }
    Some(Simulation {
        name: name?,
        seed: seed? as u64,
        duration: dur,
        drain,
        bucket: bucket?,
        memory_limit: memory_limit?,
        end_overridden: [DURATION, DRAIN_KEY].iter().any(|k| {
            t.get(k.name)
                .is_some_and(|v| matches!(v.at, Origin::Set(_)))
        }),
    })
}

/// A run's name names a folder under `results/`: no path separators, no
/// `.` or `..`, so that it cannot write anywhere else.
fn run_name(cx: &mut Ctx, n: &Node, key: &str) -> Option<String> {
    let s = name(cx, n, key)?;
    let bad = s.contains(['/', '\\', '\0']) || s == "." || s == ".." || s.contains(':');
    if bad {
        cx.err(
            n.at,
            key,
            format!(
                "\"{}\" is not a name: expected a name without path separators (/ \\ :), \".\" or \"..\", such as \"my-run\"",
                s.escape_debug()
            ),
        );
        return None;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use crate::scenario::load_default;

    fn named(name: &str) -> Result<String, String> {
        let set = format!("simulation.name={}", toml_string(name));
        load_default(&[set])
            .map(|c| c.name)
            .map_err(|e| e.to_string())
    }

    fn toml_string(s: &str) -> String {
        format!("\"{}\"", s.replace('\\', "\\\\"))
    }

    #[test]
    fn a_run_name_cannot_leave_the_results_folder() {
        for bad in ["../../x", "/tmp/x", "..", ".", "a/b", "a\\b", "c:x"] {
            let e = named(bad).expect_err(bad);
            assert!(e.contains("is not a name"), "{bad}: {e}");
        }
        for good in ["my-run", "a..b", "run.2"] {
            assert_eq!(named(good).as_deref(), Ok(good));
        }
    }
}
