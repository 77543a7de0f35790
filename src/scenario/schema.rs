//! Reads the located tree into a [`Config`], key by key.
//!
//! Every table names its known keys: an unknown one is an error that lists
//! them (and the closest, when a typo is likely). Reading goes on after a
//! problem so that one run reports every problem of the file at once.

use petgraph::unionfind::UnionFind;

use super::tree::{self, Node, Origin, Problem, Sources, Table, Val};
use super::*;
use crate::time;

/// Upper bounds that keep a run's arithmetic and memory sane; a scenario
/// beyond them is almost surely a typo.
const MAX_DCS: usize = 1_000;
/// Faults are numbered with 16 bits in the event queue.
const MAX_FAULTS: usize = 10_000;
const MAX_KEYS: i128 = 1_000_000_000;
const MAX_RATE: f64 = 1e8;
const MAX_SHARDS: i128 = 1_000_000;
const MAX_SERVERS: i128 = 1_000_000;
const MAX_QUEUE: i128 = 1_000_000_000;
/// Every DC keeps every key with a version vector of one entry per DC
/// (`model::storage`: 14 + 4 × DCs bytes a copy); a keyspace whose state
/// would pass this is refused rather than left to abort the run.
const MAX_STATE_BYTES: u128 = 16 << 30;

/// Defaults, with the reason each was chosen.
mod default {
    use crate::time::NS_PER_S;
    /// Long enough for async replication to catch up after a typical run.
    pub const DRAIN: u64 = 30 * NS_PER_S;
    /// One-second buckets: fine enough to see a failover, coarse enough to plot hours.
    pub const BUCKET: u64 = NS_PER_S;
    /// Half the requests write: a pessimistic mix that exercises replication.
    pub const WRITES: f64 = 0.5;
    pub const GLOBAL_WRITES: f64 = 0.5;
    pub const GLOBAL_KEYS: u64 = 1000;
    /// LDC-style `uid % 100`.
    pub const SHARDS: u32 = 100;
    /// Detection of a dead DC by heartbeats: ≈ 10 s in the systems described.
    pub const DETECT_AFTER: u64 = 10 * NS_PER_S;
    pub const MAX_BAN: u64 = 30 * NS_PER_S;
    /// A write waiting for remote acks fails after this long: well above
    /// any healthy cross-region round trip, short enough to show in a run.
    pub const ACK_TIMEOUT: u64 = 5 * NS_PER_S;
}

const TOP: &[&str] = &[
    "request",
    "simulation",
    "datacenter",
    "link",
    "region",
    "workload",
    "sharding",
    "routing",
    "replication",
    "failover",
    "fault",
    "expect",
];
const SIMULATION: &[&str] = &["name", "seed", "duration", "drain", "bucket"];
const DATACENTER: &[&str] = &[
    "name",
    "region",
    "servers",
    "service_time",
    "queue",
    "clock_skew",
];
const LINK: &[&str] = &["between", "latency"];
const REGION: &[&str] = &["name", "users", "latency"];
const WORKLOAD: &[&str] = &[
    "keys",
    "rate",
    "writes",
    "popularity",
    "global",
    "global_writes",
    "global_keys",
    "locality",
];
const REQUEST: &[&str] = &["at", "region", "key", "write", "global"];
const SHARDING: &[&str] = &["key", "shards", "placement", "global_owner", "global_reads"];
const ROUTING: &[&str] = &["entry", "on_wrong_dc", "write_guard", "propagation"];
const REPLICATION: &[&str] = &["mode", "resolve", "apply_rate", "ack_timeout"];
const FAILOVER: &[&str] = &[
    "auto",
    "detect_after",
    "decide_after",
    "procedure",
    "max_ban",
    "target",
    "failback",
];
const FAULT_KINDS: &[&str] = &[
    "dc_down",
    "link_down",
    "partition",
    "slow_link",
    "replication_stall",
    "clock_jump",
    "switchover",
];
const DISTS: &[&str] = &[
    "uniform",
    "exp",
    "normal",
    "lognormal",
    "pareto",
    "empirical",
];

/// Where a problem of the file as a whole (a missing section) is shown: its
/// first line, so that the message still has a `file:line:col` to jump to.
const FILE_START: Origin = Origin::File { start: 0, end: 0 };

/// Collects problems while reading.
struct Ctx {
    problems: Vec<Problem>,
}

impl Ctx {
    fn err(&mut self, at: Origin, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            at,
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn expected(&mut self, n: &Node, key: &str, what: &str) {
        self.err(
            n.at,
            key,
            format!("expected {what}, found {}", n.val.type_name()),
        );
    }

    /// A table's entries checked against its known keys.
    fn table<'a>(&mut self, n: &'a Node, path: &str, known: &[&str]) -> Option<&'a Table> {
        let Val::Table(t) = &n.val else {
            self.expected(n, path, "a table");
            return None;
        };
        self.check_keys(t, path, known);
        Some(t)
    }

    fn check_keys(&mut self, t: &Table, path: &str, known: &[&str]) {
        for (k, at, _) in &t.entries {
            if known.contains(&k.as_str()) {
                continue;
            }
            let key = join(path, k);
            let hint = closest(k, known)
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            let place = if path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `{path}`")
            };
            self.err(
                *at,
                &key,
                format!(
                    "unknown key {place}; {hint}known keys: {}",
                    known.join(", ")
                ),
            );
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The known name nearest to a typo, if it is near enough to be a typo:
/// one edit in three characters, at least one, and never the whole name
/// (so "gz" does not suggest "bj").
fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), *k))
        .filter(|&(d, k)| d <= 1.max(k.len() / 3) && d < k.len().min(word.len()))
        .min()
        .map(|(_, k)| k)
}

/// A number as a person would write it: `1e300`, not three hundred zeros.
fn show(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e15 || v.abs() < 1e-6) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

// --- scalar readers: each reports its own problem and returns None ---------

fn string<'a>(cx: &mut Ctx, n: &'a Node, key: &str) -> Option<&'a str> {
    match &n.val {
        Val::Str(s) => Some(s),
        _ => {
            cx.expected(n, key, "a string");
            None
        }
    }
}

fn name(cx: &mut Ctx, n: &Node, key: &str) -> Option<String> {
    let s = string(cx, n, key)?;
    if s.trim().is_empty() {
        cx.err(n.at, key, "expected a non-empty name");
        return None;
    }
    Some(s.to_string())
}

fn boolean(cx: &mut Ctx, n: &Node, key: &str) -> Option<bool> {
    match n.val {
        Val::Bool(b) => Some(b),
        _ => {
            cx.expected(n, key, "true or false");
            None
        }
    }
}

fn choice(cx: &mut Ctx, n: &Node, key: &str, names: &[&str]) -> Option<usize> {
    let s = string(cx, n, key)?;
    match names.iter().position(|c| *c == s) {
        Some(i) => Some(i),
        None => {
            let hint = closest(s, names)
                .map(|c| format!(" (did you mean \"{c}\"?)"))
                .unwrap_or_default();
            cx.err(
                n.at,
                key,
                format!(
                    "unknown value \"{s}\"{hint}; expected one of: {}",
                    quoted(names)
                ),
            );
            None
        }
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An integer in `[min, max]`.
fn int(cx: &mut Ctx, n: &Node, key: &str, min: i128, max: i128) -> Option<i128> {
    match n.val {
        Val::Int(v) if v >= min && v <= max => Some(v),
        Val::Int(v) => {
            cx.err(
                n.at,
                key,
                format!("{v} is out of range: expected an integer from {min} to {max}"),
            );
            None
        }
        Val::HugeInt(ref digits) => {
            cx.err(
                n.at,
                key,
                format!("{digits} is out of range: expected an integer from {min} to {max}"),
            );
            None
        }
        Val::Float(f) if f.fract() == 0.0 && f >= min as f64 && f <= max as f64 => Some(f as i128),
        Val::Float(f) if f.fract() == 0.0 || !f.is_finite() => {
            cx.err(
                n.at,
                key,
                format!(
                    "{} is out of range: expected an integer from {min} to {max}",
                    show(f)
                ),
            );
            None
        }
        Val::Float(f) => {
            cx.err(
                n.at,
                key,
                format!(
                    "expected a whole number (an integer from {min} to {max}), found {}",
                    show(f)
                ),
            );
            None
        }
        _ => {
            cx.expected(n, key, &format!("an integer from {min} to {max}"));
            None
        }
    }
}

/// The number as the file wrote it, for messages.
fn written(n: &Node, v: f64) -> String {
    match &n.val {
        Val::HugeInt(digits) => digits.clone(),
        _ => show(v),
    }
}

/// A finite number (integer or float) in `[min, max]`; `open_min` excludes `min`.
fn number(cx: &mut Ctx, n: &Node, key: &str, min: f64, max: f64, open_min: bool) -> Option<f64> {
    let v = match n.val {
        Val::Int(v) => v as f64,
        Val::Float(f) => f,
        // Beyond i128 is beyond every bound below; the range check reports it.
        Val::HugeInt(_) => f64::INFINITY,
        _ => {
            cx.expected(n, key, "a number");
            return None;
        }
    };
    let low_ok = if open_min { v > min } else { v >= min };
    if !v.is_finite() || !low_ok || v > max {
        let low = if open_min { "above" } else { "at least" };
        cx.err(
            n.at,
            key,
            format!(
                "{} is out of range: expected a number {low} {} and at most {}",
                written(n, v),
                show(min),
                show(max)
            ),
        );
        return None;
    }
    Some(v)
}

fn probability(cx: &mut Ctx, n: &Node, key: &str) -> Option<f64> {
    let v = match n.val {
        Val::Int(i) => i as f64,
        Val::Float(f) => f,
        Val::HugeInt(_) => f64::INFINITY,
        _ => {
            cx.expected(n, key, "a fraction from 0 to 1");
            return None;
        }
    };
    if !(0.0..=1.0).contains(&v) {
        cx.err(
            n.at,
            key,
            format!(
                "{} is not a fraction: expected a number from 0 to 1",
                written(n, v)
            ),
        );
        return None;
    }
    Some(v)
}

fn signed_duration(cx: &mut Ctx, n: &Node, key: &str) -> Option<i64> {
    match &n.val {
        Val::Str(s) => match time::parse_signed_duration(s) {
            Ok(v) => Some(v),
            Err(e) => {
                cx.err(
                    n.at,
                    key,
                    format!("expected a duration such as \"30ms\": {e}"),
                );
                None
            }
        },
        Val::Int(_) | Val::Float(_) => {
            cx.err(
                n.at,
                key,
                "expected a duration with a unit, as a string such as \"30ms\" or \"2s\"; a bare number has no unit",
            );
            None
        }
        _ => {
            cx.expected(n, key, "a duration such as \"30ms\"");
            None
        }
    }
}

fn duration(cx: &mut Ctx, n: &Node, key: &str) -> Option<Nanos> {
    let v = signed_duration(cx, n, key)?;
    if v < 0 {
        cx.err(
            n.at,
            key,
            "expected a duration of 0 or more; a negative duration is not allowed here",
        );
        return None;
    }
    Some(v as Nanos)
}

fn positive_duration(cx: &mut Ctx, n: &Node, key: &str) -> Option<Nanos> {
    let v = duration(cx, n, key)?;
    if v == 0 {
        cx.err(n.at, key, "expected a duration above 0");
        return None;
    }
    Some(v)
}

/// A distribution: `"5ms"` or `{ dist = "...", ... }`.
fn dist(cx: &mut Ctx, n: &Node, key: &str) -> Option<Dist> {
    let t = match &n.val {
        Val::Str(_) | Val::Int(_) | Val::Float(_) => {
            return duration(cx, n, key).map(Dist::constant);
        }
        Val::Table(t) => t,
        _ => {
            cx.expected(
                n,
                key,
                "a duration such as \"5ms\" or a table { dist = \"...\", ... }",
            );
            return None;
        }
    };
    let Some(kind_node) = t.get("dist") else {
        cx.err(
            n.at,
            &join(key, "dist"),
            format!(
                "a distribution table needs `dist`, one of: {}",
                quoted(DISTS)
            ),
        );
        return None;
    };
    let kind = choice(cx, kind_node, &join(key, "dist"), DISTS)?;
    let known: &[&str] = match DISTS[kind] {
        "uniform" => &["dist", "min", "max"],
        "exp" => &["dist", "mean"],
        "normal" => &["dist", "mean", "sd"],
        "lognormal" => &["dist", "median", "p99"],
        "pareto" => &["dist", "scale", "shape"],
        _ => &["dist", "points"],
    };
    cx.check_keys(t, key, known);
    let need = |cx: &mut Ctx, k: &str| -> Option<&Node> {
        let v = t.get(k);
        if v.is_none() {
            cx.err(
                n.at,
                &join(key, k),
                format!("required: a \"{}\" distribution needs `{k}`", DISTS[kind]),
            );
        }
        v
    };
    let result = match DISTS[kind] {
        "uniform" => {
            let (a, b) = (need(cx, "min"), need(cx, "max"));
            let min = duration(cx, a?, &join(key, "min"));
            let max = duration(cx, b?, &join(key, "max"));
            Dist::uniform(min?, max?)
        }
        "exp" => {
            let mean = need(cx, "mean")?;
            Dist::exp(duration(cx, mean, &join(key, "mean"))?)
        }
        "normal" => {
            let (a, b) = (need(cx, "mean"), need(cx, "sd"));
            let mean = duration(cx, a?, &join(key, "mean"));
            let sd = duration(cx, b?, &join(key, "sd"));
            Dist::normal(mean?, sd?)
        }
        "lognormal" => {
            let (a, b) = (need(cx, "median"), need(cx, "p99"));
            let median = duration(cx, a?, &join(key, "median"));
            let p99 = duration(cx, b?, &join(key, "p99"));
            Dist::lognormal(median?, p99?)
        }
        "pareto" => {
            let (a, b) = (need(cx, "scale"), need(cx, "shape"));
            let scale = duration(cx, a?, &join(key, "scale"));
            let shape = number(cx, b?, &join(key, "shape"), 0.0, 1e6, true);
            Dist::pareto(scale?, shape?)
        }
        _ => {
            let p = need(cx, "points")?;
            let Val::Array(items) = &p.val else {
                cx.expected(p, &join(key, "points"), "an array of durations");
                return None;
            };
            let pk = join(key, "points");
            let points: Vec<Option<Nanos>> = items.iter().map(|i| duration(cx, i, &pk)).collect();
            Dist::empirical(points.into_iter().collect::<Option<Vec<_>>>()?)
        }
    };
    match result {
        Ok(d) => Some(d),
        Err(m) => {
            cx.err(
                n.at,
                key,
                format!("not a valid \"{}\" distribution: {m}", DISTS[kind]),
            );
            None
        }
    }
}

/// Elements of an array of tables (`[[datacenter]]`); a single table is
/// accepted as a one-element array.
fn tables<'a>(cx: &mut Ctx, n: &'a Node, key: &str) -> Vec<&'a Node> {
    match &n.val {
        Val::Array(items) => items.iter().collect(),
        Val::Table(_) => vec![n],
        _ => {
            cx.expected(n, key, &format!("an array of tables ([[{key}]])"));
            Vec::new()
        }
    }
}

/// The label of element `i` of an array of tables, by name when it has one:
/// `datacenter.bj`, or `fault.0`. The same form `--set` accepts.
fn element_key(array: &str, i: usize, n: &Node) -> String {
    if let Val::Table(t) = &n.val
        && let Some(Node {
            val: Val::Str(s), ..
        }) = t.get("name")
        && !s.is_empty()
        && !s.contains('.')
    {
        return format!("{array}.{s}");
    }
    format!("{array}.{i}")
}

/// Known DC names, for looking up references.
struct DcNames<'a>(Vec<&'a str>);

impl DcNames<'_> {
    fn find(&self, cx: &mut Ctx, n: &Node, key: &str) -> Option<DcId> {
        self.find_or(cx, n, key, None)
    }

    /// A datacenter name, or the word `also` (returned as `None` with no
    /// problem reported) where a key accepts one besides the names.
    fn find_or(&self, cx: &mut Ctx, n: &Node, key: &str, also: Option<&str>) -> Option<DcId> {
        let s = string(cx, n, key)?;
        if let Some(i) = self.0.iter().position(|d| *d == s) {
            return Some(DcId(i as u16));
        }
        // With no datacenter named, every reference would fail: the missing
        // datacenters are reported once, where they are read.
        if self.0.is_empty() || also == Some(s) {
            return None;
        }
        let mut known: Vec<&str> = also.into_iter().collect();
        known.extend(&self.0);
        let hint = closest(s, &known)
            .map(|c| format!(" (did you mean \"{c}\"?)"))
            .unwrap_or_default();
        let expected = match also {
            Some(word) => format!(
                "expected \"{word}\" or a datacenter name: {}",
                self.0.join(", ")
            ),
            None => format!("known: {}", self.0.join(", ")),
        };
        cx.err(
            n.at,
            key,
            format!("unknown datacenter \"{s}\"{hint}; {expected}"),
        );
        None
    }

    /// `between = ["a", "b"]`: two different DCs.
    fn pair(&self, cx: &mut Ctx, n: &Node, key: &str) -> Option<(DcId, DcId)> {
        let Val::Array(items) = &n.val else {
            cx.expected(n, key, "two datacenter names, such as [\"bj\", \"sh\"]");
            return None;
        };
        if items.len() != 2 {
            cx.err(
                n.at,
                key,
                format!(
                    "expected exactly two datacenter names, found {}",
                    items.len()
                ),
            );
            return None;
        }
        let a = self.find(cx, &items[0], key);
        let b = self.find(cx, &items[1], key);
        let (a, b) = (a?, b?);
        if a == b {
            cx.err(
                n.at,
                key,
                format!(
                    "expected two different datacenters, found \"{}\" twice",
                    self.0[a.idx()]
                ),
            );
            return None;
        }
        Some((a, b))
    }
}

/// Shard ranges: `"0-49"`, `"7"`, `"0-9,20-29"`.
fn shard_ranges(cx: &mut Ctx, n: &Node, key: &str, shards: u32) -> Option<Vec<ShardId>> {
    let s = string(cx, n, key)?;
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
            None => (part.parse::<u32>(), part.parse::<u32>()),
        };
        match (lo, hi) {
            (Ok(lo), Ok(hi)) if lo <= hi && hi < shards => out.extend((lo..=hi).map(ShardId)),
            (Ok(_), Ok(hi)) if hi >= shards => {
                cx.err(
                    n.at,
                    key,
                    format!("shard {hi} does not exist: shards are 0 to {}", shards - 1),
                );
                return None;
            }
            _ => {
                cx.err(
                    n.at,
                    key,
                    format!(
                        "expected shard ranges such as \"0-49\" or \"0-9,20-29\", found \"{part}\""
                    ),
                );
                return None;
            }
        }
    }
    Some(out)
}

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

fn read_root(cx: &mut Ctx, root: &Table, stem: &str) -> Option<Config> {
    cx.check_keys(root, "", TOP);
    let empty = Node {
        val: Val::Table(Table::default()),
        at: FILE_START,
    };
    let section = |k: &str| root.get(k).unwrap_or(&empty);
    let sim = read_simulation(cx, section("simulation"), stem);
    let before = cx.problems.len();
    let dcs = read_datacenters(cx, root.get("datacenter"));
    let names = DcNames(dcs.iter().map(|d| d.name.as_str()).collect());
    let links = read_links(cx, root.get("link"), &names);
    // A misspelt or broken link already has its message; checking the graph
    // without it would only add a second message for the same mistake.
    if cx.problems.len() == before
        && let Some(dc_node) = root.get("datacenter")
    {
        check_connected(cx, &dcs, &links, dc_node);
    }
    let regions = read_regions(cx, root.get("region"), &names);
    let workload = read_workload(cx, section("workload"));
    if let Some(w) = &workload {
        check_state_size(cx, w, dcs.len(), section("workload"));
    }
    let sharding = read_sharding(cx, section("sharding"), &names, &dcs, &regions);
    let routing = read_routing(cx, section("routing"));
    let replication = read_replication(cx, section("replication"));
    let failover = read_failover(cx, section("failover"), &names);
    let shards = sharding.as_ref().map_or(default::SHARDS, |s| s.shards);
    let faults = read_faults(cx, root.get("fault"), &names, shards);
    let requests = read_requests(cx, root.get("request"), &regions, workload.as_ref());
    let expect = super::expect::read(root.get("expect"), &mut cx.problems);
    let (name, seed, duration, drain, bucket) = sim?;
    Some(Config {
        name,
        seed,
        duration,
        drain,
        bucket,
        datacenters: dcs,
        links,
        regions,
        workload: workload?,
        sharding: sharding?,
        routing: routing?,
        replication: replication?,
        failover: failover?,
        faults,
        requests,
        expect,
    })
}

type Sim = (String, u64, Nanos, Nanos, Nanos);

fn read_simulation(cx: &mut Ctx, n: &Node, stem: &str) -> Option<Sim> {
    let t = cx.table(n, "simulation", SIMULATION)?;
    let name = t
        .get("name")
        .map_or(Some(stem.to_string()), |v| name(cx, v, "simulation.name"));
    let seed = t.get("seed").map_or(Some(1), |v| {
        int(cx, v, "simulation.seed", 0, u64::MAX as i128)
    });
    let dur = match t.get("duration") {
        Some(v) => positive_duration(cx, v, "simulation.duration"),
        None => {
            cx.err(
                n.at,
                "simulation.duration",
                "required: how long traffic arrives, such as \"60s\"",
            );
            None
        }
    };
    let drain = t.get("drain").map_or(Some(default::DRAIN), |v| {
        duration(cx, v, "simulation.drain")
    });
    let bucket = t.get("bucket").map_or(Some(default::BUCKET), |v| {
        positive_duration(cx, v, "simulation.bucket")
    });
    if let (Some(d), Some(b)) = (dur, bucket)
        && (d + drain.unwrap_or(0)) / b > 10_000_000
    {
        cx.err(
            t.get("bucket").map_or(n.at, |v| v.at),
            "simulation.bucket",
            "more than 10,000,000 time buckets: choose a larger bucket",
        );
        return None;
    }
    Some((name?, seed? as u64, dur?, drain?, bucket?))
}

fn read_datacenters(cx: &mut Ctx, n: Option<&Node>) -> Vec<DcConfig> {
    let Some(n) = n else {
        cx.err(
            FILE_START,
            "datacenter",
            "the scenario has no [[datacenter]]: at least one is required",
        );
        return Vec::new();
    };
    let items = tables(cx, n, "datacenter");
    if items.is_empty() {
        cx.err(
            n.at,
            "datacenter",
            "the topology is empty: at least one [[datacenter]] is required",
        );
    }
    if items.len() > MAX_DCS {
        cx.err(
            n.at,
            "datacenter",
            format!("{} datacenters: at most {MAX_DCS}", items.len()),
        );
        return Vec::new();
    }
    let mut out: Vec<DcConfig> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = element_key("datacenter", i, item);
        let Some(t) = cx.table(item, &path, DATACENTER) else {
            continue;
        };
        let name = match t.get("name") {
            Some(v) => name(cx, v, &join(&path, "name")),
            None => {
                cx.err(
                    item.at,
                    &join(&path, "name"),
                    "required: a unique datacenter name",
                );
                None
            }
        };
        if let Some(nm) = &name
            && out.iter().any(|d| &d.name == nm)
        {
            cx.err(
                t.get("name").map_or(item.at, |v| v.at),
                &join(&path, "name"),
                format!("datacenter \"{nm}\" is defined twice"),
            );
        }
        let region = match t.get("region") {
            Some(v) => super::schema::name(cx, v, &join(&path, "region")),
            None => {
                cx.err(
                    item.at,
                    &join(&path, "region"),
                    "required: the region the datacenter stands in",
                );
                None
            }
        };
        let servers = t
            .get("servers")
            .map(|v| int(cx, v, &join(&path, "servers"), 1, MAX_SERVERS));
        let service = t
            .get("service_time")
            .map(|v| dist(cx, v, &join(&path, "service_time")));
        let queue = t
            .get("queue")
            .map(|v| int(cx, v, &join(&path, "queue"), 0, MAX_QUEUE));
        let skew = t
            .get("clock_skew")
            .map(|v| signed_duration(cx, v, &join(&path, "clock_skew")));
        // A datacenter whose name is readable stays in the list even when
        // another of its keys is wrong, so that references to it resolve and
        // only the real problem is reported (the Config is refused anyway).
        let Some(name) = name else {
            continue;
        };
        out.push(DcConfig {
            name,
            region: region.unwrap_or_default(),
            servers: servers.flatten().map(|v| v as u32),
            service_time: service.flatten().unwrap_or(Dist::Const(0)),
            queue: queue.flatten().map(|v| v as u32),
            clock_skew: skew.flatten().unwrap_or(0),
        });
    }
    out
}

fn read_links(cx: &mut Ctx, n: Option<&Node>, names: &DcNames) -> Vec<LinkConfig> {
    let Some(n) = n else { return Vec::new() };
    let mut out: Vec<LinkConfig> = Vec::new();
    for (i, item) in tables(cx, n, "link").iter().enumerate() {
        let path = format!("link.{i}");
        let Some(t) = cx.table(item, &path, LINK) else {
            continue;
        };
        let pair = match t.get("between") {
            Some(v) => names.pair(cx, v, &join(&path, "between")),
            None => {
                cx.err(
                    item.at,
                    &join(&path, "between"),
                    "required: the two datacenters the link joins",
                );
                None
            }
        };
        let latency = match t.get("latency") {
            Some(v) => dist(cx, v, &join(&path, "latency")),
            None => {
                cx.err(
                    item.at,
                    &join(&path, "latency"),
                    "required: the one-way latency, such as \"15ms\"",
                );
                None
            }
        };
        let (Some((a, b)), Some(latency)) = (pair, latency) else {
            continue;
        };
        if out
            .iter()
            .any(|l| (l.a, l.b) == (a, b) || (l.a, l.b) == (b, a))
        {
            cx.err(
                t.get("between").map_or(item.at, |v| v.at),
                &join(&path, "between"),
                format!(
                    "\"{}\" and \"{}\" are already joined by an earlier [[link]]; expected one link per pair",
                    names.0[a.idx()],
                    names.0[b.idx()]
                ),
            );
            continue;
        }
        out.push(LinkConfig { a, b, latency });
    }
    out
}

/// Every datacenter must reach the first one over links: one message per
/// group cut off, at the group's first datacenter. Called only when every
/// datacenter and link was read, so `dcs[i]` is element `i` of `dc_node`.
fn check_connected(cx: &mut Ctx, dcs: &[DcConfig], links: &[LinkConfig], dc_node: &Node) {
    if dcs.len() < 2 {
        return;
    }
    let mut uf = UnionFind::<usize>::new(dcs.len());
    for l in links {
        uf.union(l.a.idx(), l.b.idx());
    }
    let group = |root: usize| -> Vec<&str> {
        dcs.iter()
            .enumerate()
            .filter(|&(i, _)| uf.find(i) == root)
            .map(|(_, d)| d.name.as_str())
            .collect()
    };
    let main = group(uf.find(0));
    let mut reported = vec![uf.find(0)];
    let items: Vec<&Node> = match &dc_node.val {
        Val::Array(items) => items.iter().collect(),
        _ => vec![dc_node],
    };
    for (i, item) in items.iter().enumerate().take(dcs.len()) {
        let root = uf.find(i);
        if reported.contains(&root) {
            continue;
        }
        reported.push(root);
        cx.err(
            item.at,
            &element_key("datacenter", i, item),
            format!(
                "not connected: no path of links joins {} to {}; expected a [[link]] between the two groups",
                quoted(&group(root)),
                quoted(&main)
            ),
        );
    }
}

fn read_regions(cx: &mut Ctx, n: Option<&Node>, names: &DcNames) -> Vec<RegionConfig> {
    let Some(n) = n else {
        cx.err(
            FILE_START,
            "region",
            "the scenario has no [[region]] of users: at least one is required",
        );
        return Vec::new();
    };
    let mut out: Vec<RegionConfig> = Vec::new();
    let mut total = 0.0;
    let items = tables(cx, n, "region");
    if items.is_empty() {
        cx.err(
            n.at,
            "region",
            "no user regions: at least one [[region]] is required",
        );
    }
    for (i, item) in items.iter().enumerate() {
        let path = element_key("region", i, item);
        let Some(t) = cx.table(item, &path, REGION) else {
            continue;
        };
        let name = match t.get("name") {
            Some(v) => name(cx, v, &join(&path, "name")),
            None => {
                cx.err(
                    item.at,
                    &join(&path, "name"),
                    "required: a unique region name",
                );
                None
            }
        };
        if let Some(nm) = &name
            && out.iter().any(|r| &r.name == nm)
        {
            cx.err(
                t.get("name").map_or(item.at, |v| v.at),
                &join(&path, "name"),
                format!("region \"{nm}\" is defined twice"),
            );
        }
        let users = match t.get("users") {
            Some(v) => number(cx, v, &join(&path, "users"), 0.0, 1e12, true),
            None => {
                cx.err(
                    item.at,
                    &join(&path, "users"),
                    "required: the region's share of users, such as 0.4",
                );
                None
            }
        };
        let lk = join(&path, "latency");
        let latency = match t.get("latency") {
            Some(v) => match &v.val {
                Val::Table(lt) => {
                    let mut lat: Vec<Option<Dist>> = vec![None; names.0.len()];
                    for (dc, kat, d) in &lt.entries {
                        let key_node = Node {
                            val: Val::Str(dc.clone()),
                            at: *kat,
                        };
                        let id = names.find(cx, &key_node, &lk);
                        let dd = dist(cx, d, &join(&lk, dc));
                        if let (Some(id), Some(dd)) = (id, dd) {
                            lat[id.idx()] = Some(dd);
                        }
                    }
                    if lt.entries.is_empty() {
                        cx.err(v.at, &lk, "the region reaches no datacenter: name at least one, such as { bj = \"3ms\" }");
                    }
                    Some(lat)
                }
                _ => {
                    cx.expected(v, &lk, "a table of one-way latencies per datacenter, such as { bj = \"3ms\", sh = \"15ms\" }");
                    None
                }
            },
            None => {
                cx.err(
                    item.at,
                    &lk,
                    "required: one-way latency to each datacenter the region reaches",
                );
                None
            }
        };
        let (Some(name), Some(users), Some(latency)) = (name, users, latency) else {
            continue;
        };
        total += users;
        out.push(RegionConfig {
            name,
            share: users,
            latency,
        });
    }
    for r in &mut out {
        r.share /= total;
    }
    out
}

fn read_workload(cx: &mut Ctx, n: &Node) -> Option<WorkloadConfig> {
    let t = cx.table(n, "workload", WORKLOAD)?;
    let keys = match t.get("keys") {
        Some(v) => int(cx, v, "workload.keys", 1, MAX_KEYS),
        None => {
            cx.err(
                n.at,
                "workload.keys",
                "required: the number of users (keys of the sharded dataset)",
            );
            None
        }
    };
    let rate = match t.get("rate") {
        Some(v) => number(cx, v, "workload.rate", 0.0, MAX_RATE, false),
        None => {
            cx.err(n.at, "workload.rate", "required: requests per second");
            None
        }
    };
    let writes = t.get("writes").map_or(Some(default::WRITES), |v| {
        probability(cx, v, "workload.writes")
    });
    let locality = t
        .get("locality")
        .map_or(Some(1.0), |v| probability(cx, v, "workload.locality"));
    let popularity = match t.get("popularity") {
        None => Some(Popularity::Uniform),
        Some(v) => match &v.val {
            Val::Str(_) => {
                choice(cx, v, "workload.popularity", &["uniform"]).map(|_| Popularity::Uniform)
            }
            Val::Table(pt) => {
                cx.check_keys(pt, "workload.popularity", &["dist", "s"]);
                let kind = pt
                    .get("dist")
                    .and_then(|d| choice(cx, d, "workload.popularity.dist", &["zipf"]));
                let s = match pt.get("s") {
                    Some(s) => number(cx, s, "workload.popularity.s", 0.0, 100.0, false),
                    None => {
                        cx.err(
                            v.at,
                            "workload.popularity.s",
                            "a zipf popularity needs its exponent `s`, such as 1.0",
                        );
                        None
                    }
                };
                if pt.get("dist").is_none() {
                    cx.err(
                        v.at,
                        "workload.popularity.dist",
                        "expected { dist = \"zipf\", s = 1.0 }",
                    );
                }
                kind.and(s).map(|s| Popularity::Zipf { s })
            }
            _ => {
                cx.expected(
                    v,
                    "workload.popularity",
                    "\"uniform\" or { dist = \"zipf\", s = 1.0 }",
                );
                None
            }
        },
    };
    let global = t
        .get("global")
        .map_or(Some(0.0), |v| probability(cx, v, "workload.global"));
    let global_writes = t
        .get("global_writes")
        .map_or(Some(default::GLOBAL_WRITES), |v| {
            probability(cx, v, "workload.global_writes")
        });
    let global_keys = t
        .get("global_keys")
        .map_or(Some(default::GLOBAL_KEYS as i128), |v| {
            int(cx, v, "workload.global_keys", 1, MAX_KEYS)
        });
    Some(WorkloadConfig {
        keys: keys? as u64,
        rate: rate?,
        writes: writes?,
        popularity: popularity?,
        global: global?,
        global_writes: global_writes?,
        global_keys: global_keys? as u64,
        locality: locality?,
    })
}

/// `[[request]]`: requests at fixed times, beside (or instead of) the
/// Poisson arrivals: hand-computable scenarios and scripted drills.
fn read_requests(
    cx: &mut Ctx,
    n: Option<&Node>,
    regions: &[RegionConfig],
    workload: Option<&WorkloadConfig>,
) -> Vec<ScriptedRequest> {
    let Some(n) = n else { return Vec::new() };
    let region_names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    let mut out = Vec::new();
    for (i, item) in tables(cx, n, "request").iter().enumerate() {
        let path = format!("request.{i}");
        let Some(t) = cx.table(item, &path, REQUEST) else {
            continue;
        };
        let k = |s: &str| join(&path, s);
        let need = |cx: &mut Ctx, key: &str, what: &str| -> Option<&Node> {
            let v = t.get(key);
            if v.is_none() {
                cx.err(item.at, &k(key), format!("required: {what}"));
            }
            v
        };
        let at = need(cx, "at", "when the request arrives, such as \"10ms\"")
            .and_then(|v| duration(cx, v, &k("at")));
        let region = need(cx, "region", "the user region it comes from")
            .and_then(|v| choice(cx, v, &k("region"), &region_names))
            .map(|r| RegionId(r as u16));
        let write = t
            .get("write")
            .map_or(Some(false), |v| boolean(cx, v, &k("write")));
        let global = t
            .get("global")
            .map_or(Some(false), |v| boolean(cx, v, &k("global")));
        let limit = match (workload, global) {
            (Some(w), Some(true)) => w.global_keys,
            (Some(w), _) => w.keys,
            (None, _) => u32::MAX as u64,
        };
        let key = need(cx, "key", "the user (or global key) it touches, from 0")
            .and_then(|v| int(cx, v, &k("key"), 0, limit as i128 - 1));
        if let (Some(at), Some(region), Some(key), Some(write), Some(global)) =
            (at, region, key, write, global)
        {
            out.push(ScriptedRequest {
                at,
                region,
                key: key as u32,
                write,
                global,
            });
        }
    }
    out
}

/// Refuses a keyspace whose replicas would not fit in memory.
fn check_state_size(cx: &mut Ctx, w: &WorkloadConfig, dcs: usize, section: &Node) {
    let copies = (w.keys as u128 + w.global_keys as u128) * dcs as u128;
    let bytes = copies * (14 + 4 * dcs as u128);
    if bytes > MAX_STATE_BYTES {
        let at = match &section.val {
            Val::Table(t) => t.get("keys").map_or(section.at, |k| k.at),
            _ => section.at,
        };
        cx.err(
            at,
            "workload.keys",
            format!(
                "{} keys (and {} global keys) in each of {dcs} datacenters need about {} GiB of replica state; expected at most {} GiB: choose fewer keys",
                w.keys,
                w.global_keys,
                bytes >> 30,
                MAX_STATE_BYTES >> 30
            ),
        );
    }
}

fn read_sharding(
    cx: &mut Ctx,
    n: &Node,
    names: &DcNames,
    dcs: &[DcConfig],
    regions: &[RegionConfig],
) -> Option<ShardingConfig> {
    let t = cx.table(n, "sharding", SHARDING)?;
    let key = t
        .get("key")
        .map_or(Some(0), |v| {
            choice(cx, v, "sharding.key", &["hash", "range", "geo"])
        })
        .map(|i| [ShardKey::Hash, ShardKey::Range, ShardKey::Geo][i]);
    let shards = t
        .get("shards")
        .map_or(Some(default::SHARDS as i128), |v| {
            int(cx, v, "sharding.shards", 1, MAX_SHARDS)
        })
        .map(|s| s as u32);
    if let (Some(ShardKey::Geo), Some(s)) = (key, shards)
        && (s as usize) < regions.len()
    {
        cx.err(
            t.get("shards").map_or(n.at, |v| v.at),
            "sharding.shards",
            format!(
                "geo sharding needs at least one shard per region: {s} shards for {} regions",
                regions.len()
            ),
        );
    }
    let placement = match (t.get("placement"), shards) {
        (None, _) => Some(Placement::RoundRobin),
        (Some(v), _) if matches!(v.val, Val::Str(_)) => {
            choice(cx, v, "sharding.placement", &["round_robin", "by_region"])
                .map(|i| [Placement::RoundRobin, Placement::ByRegion][i].clone())
        }
        (Some(v), Some(shards)) => read_placement_table(cx, v, names, shards),
        (Some(_), None) => None,
    };
    let global_owner = t
        .get("global_owner")
        .map_or(if dcs.is_empty() { None } else { Some(DcId(0)) }, |v| {
            names.find(cx, v, "sharding.global_owner")
        });
    let global_reads = t
        .get("global_reads")
        .map_or(Some(0), |v| {
            choice(cx, v, "sharding.global_reads", &["owner", "local"])
        })
        .map(|i| [GlobalReads::Owner, GlobalReads::Local][i]);
    Some(ShardingConfig {
        key: key?,
        shards: shards?,
        placement: placement?,
        global_owner: global_owner?,
        global_reads: global_reads?,
    })
}

fn read_placement_table(cx: &mut Ctx, v: &Node, names: &DcNames, shards: u32) -> Option<Placement> {
    let Val::Table(pt) = &v.val else {
        cx.expected(
            v,
            "sharding.placement",
            "\"round_robin\", \"by_region\" or a table such as { bj = \"0-49\", sh = \"50-99\" }",
        );
        return None;
    };
    let mut owner: Vec<Option<DcId>> = vec![None; shards as usize];
    let mut ok = true;
    for (dc, kat, ranges) in &pt.entries {
        let key = join("sharding.placement", dc);
        let key_node = Node {
            val: Val::Str(dc.clone()),
            at: *kat,
        };
        let id = names.find(cx, &key_node, "sharding.placement");
        let list = shard_ranges(cx, ranges, &key, shards);
        let (Some(id), Some(list)) = (id, list) else {
            ok = false;
            continue;
        };
        for s in list {
            if let Some(prev) = owner[s.idx()] {
                cx.err(
                    ranges.at,
                    &key,
                    format!(
                        "shard {} is given to both \"{}\" and \"{dc}\"; expected each shard given to one datacenter",
                        s.0,
                        names.0[prev.idx()]
                    ),
                );
                ok = false;
                break;
            }
            owner[s.idx()] = Some(id);
        }
    }
    if !ok {
        return None;
    }
    let missing: Vec<usize> = owner
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_none())
        .map(|(i, _)| i)
        .collect();
    if let Some(&first) = missing.first() {
        let which = if missing.len() == 1 {
            format!("shard {first} has no owner")
        } else {
            format!(
                "{} of {shards} shards have no owner (the first is shard {first})",
                missing.len()
            )
        };
        cx.err(
            v.at,
            "sharding.placement",
            format!(
                "{which}; expected every shard from 0 to {} given to one datacenter",
                shards - 1
            ),
        );
        return None;
    }
    Some(Placement::Table(
        owner
            .into_iter()
            .map(|o| o.expect("checked above"))
            .collect(),
    ))
}

fn read_routing(cx: &mut Ctx, n: &Node) -> Option<RoutingConfig> {
    let t = cx.table(n, "routing", ROUTING)?;
    let entry = t
        .get("entry")
        .map_or(Some(0), |v| {
            choice(cx, v, "routing.entry", &["nearest", "owner"])
        })
        .map(|i| [Entry::Nearest, Entry::Owner][i]);
    let wrong = t
        .get("on_wrong_dc")
        .map_or(Some(0), |v| {
            choice(
                cx,
                v,
                "routing.on_wrong_dc",
                &["forward", "serve_local", "reject"],
            )
        })
        .map(|i| [OnWrongDc::Forward, OnWrongDc::ServeLocal, OnWrongDc::Reject][i]);
    let guard = t
        .get("write_guard")
        .map_or(Some(true), |v| boolean(cx, v, "routing.write_guard"));
    let prop = t
        .get("propagation")
        .map_or(Some(Dist::Const(0)), |v| dist(cx, v, "routing.propagation"));
    Some(RoutingConfig {
        entry: entry?,
        on_wrong_dc: wrong?,
        write_guard: guard?,
        propagation: prop?,
    })
}

fn read_replication(cx: &mut Ctx, n: &Node) -> Option<ReplicationConfig> {
    let t = cx.table(n, "replication", REPLICATION)?;
    let mode = t
        .get("mode")
        .map_or(Some(0), |v| {
            choice(
                cx,
                v,
                "replication.mode",
                &["async", "semi_sync", "quorum", "sync"],
            )
        })
        .map(|i| {
            [
                ReplMode::Async,
                ReplMode::SemiSync,
                ReplMode::Quorum,
                ReplMode::Sync,
            ][i]
        });
    let resolve = t
        .get("resolve")
        .map_or(Some(0), |v| {
            choice(cx, v, "replication.resolve", &["lww", "origin_priority"])
        })
        .map(|i| [Resolve::Lww, Resolve::OriginPriority][i]);
    let rate = t
        .get("apply_rate")
        .map(|v| number(cx, v, "replication.apply_rate", 0.0, MAX_RATE, true));
    let ack_timeout = t
        .get("ack_timeout")
        .map_or(Some(default::ACK_TIMEOUT), |v| {
            positive_duration(cx, v, "replication.ack_timeout")
        });
    Some(ReplicationConfig {
        mode: mode?,
        resolve: resolve?,
        ack_timeout: ack_timeout?,
        apply_rate: match rate {
            Some(r) => Some(r?),
            None => None,
        },
    })
}

fn read_failover(cx: &mut Ctx, n: &Node, names: &DcNames) -> Option<FailoverConfig> {
    let t = cx.table(n, "failover", FAILOVER)?;
    let auto = t
        .get("auto")
        .map_or(Some(true), |v| boolean(cx, v, "failover.auto"));
    let detect = t
        .get("detect_after")
        .map_or(Some(default::DETECT_AFTER), |v| {
            duration(cx, v, "failover.detect_after")
        });
    let decide = t
        .get("decide_after")
        .map_or(Some(0), |v| duration(cx, v, "failover.decide_after"));
    let procedure = t
        .get("procedure")
        .map_or(Some(1), |v| {
            choice(cx, v, "failover.procedure", &["switch", "ban_then_switch"])
        })
        .map(|i| [Procedure::Switch, Procedure::BanThenSwitch][i]);
    let max_ban = t.get("max_ban").map_or(Some(default::MAX_BAN), |v| {
        duration(cx, v, "failover.max_ban")
    });
    let target = match t.get("target") {
        None => Some(FailoverTarget::Nearest),
        Some(v) => match &v.val {
            Val::Str(s) if s == "nearest" => Some(FailoverTarget::Nearest),
            _ => names
                .find_or(cx, v, "failover.target", Some("nearest"))
                .map(FailoverTarget::Dc),
        },
    };
    let failback = t
        .get("failback")
        .map_or(Some(false), |v| boolean(cx, v, "failover.failback"));
    // Failover acts only on dc_down faults and switchovers, which are refused
    // until they are built; its keys are read and checked meanwhile.
    Some(FailoverConfig {
        auto: auto?,
        detect_after: detect?,
        decide_after: decide?,
        procedure: procedure?,
        max_ban: max_ban?,
        target: target?,
        failback: failback?,
    })
}

fn read_faults(cx: &mut Ctx, n: Option<&Node>, names: &DcNames, shards: u32) -> Vec<FaultConfig> {
    let Some(n) = n else { return Vec::new() };
    let mut out = Vec::new();
    let items = tables(cx, n, "fault");
    if items.len() > MAX_FAULTS {
        cx.err(
            n.at,
            "fault",
            format!("{} faults: at most {MAX_FAULTS}", items.len()),
        );
        return out;
    }
    for (i, item) in items.iter().enumerate() {
        let path = format!("fault.{i}");
        let before = cx.problems.len();
        let Val::Table(t) = &item.val else {
            cx.expected(item, &path, "a table");
            continue;
        };
        let kind = match t.get("kind") {
            Some(v) => choice(cx, v, &join(&path, "kind"), FAULT_KINDS),
            None => {
                cx.err(
                    item.at,
                    &join(&path, "kind"),
                    format!("required: one of {}", quoted(FAULT_KINDS)),
                );
                None
            }
        };
        let Some(kind) = kind else { continue };
        let extra: &[&str] = match FAULT_KINDS[kind] {
            "dc_down" => &["dc"],
            "link_down" => &["between"],
            "partition" => &["groups"],
            "slow_link" => &["between", "factor"],
            "replication_stall" => &["from", "to"],
            "clock_jump" => &["dc", "by"],
            _ => &["shards", "to"],
        };
        let known: Vec<&str> = ["kind", "at", "for"].iter().chain(extra).copied().collect();
        cx.check_keys(t, &path, &known);
        let need = |cx: &mut Ctx, k: &str| -> Option<&Node> {
            let v = t.get(k);
            if v.is_none() {
                cx.err(
                    item.at,
                    &join(&path, k),
                    format!("required for a \"{}\" fault", FAULT_KINDS[kind]),
                );
            }
            v
        };
        let at = need(cx, "at").and_then(|v| duration(cx, v, &join(&path, "at")));
        let dur = t
            .get("for")
            .map(|v| positive_duration(cx, v, &join(&path, "for")));
        let k = |s: &str| join(&path, s);
        let fk = match FAULT_KINDS[kind] {
            "dc_down" => need(cx, "dc")
                .and_then(|v| names.find(cx, v, &k("dc")))
                .map(|dc| FaultKind::DcDown { dc }),
            "link_down" => need(cx, "between")
                .and_then(|v| names.pair(cx, v, &k("between")))
                .map(|(a, b)| FaultKind::LinkDown { a, b }),
            "partition" => need(cx, "groups")
                .and_then(|v| read_groups(cx, v, names, &k("groups")))
                .map(|groups| FaultKind::Partition { groups }),
            "slow_link" => {
                let p = need(cx, "between").and_then(|v| names.pair(cx, v, &k("between")));
                let f =
                    need(cx, "factor").and_then(|v| number(cx, v, &k("factor"), 0.0, 1e6, true));
                p.zip(f)
                    .map(|((a, b), factor)| FaultKind::SlowLink { a, b, factor })
            }
            "replication_stall" => {
                let from = need(cx, "from").and_then(|v| names.find(cx, v, &k("from")));
                let to = need(cx, "to").and_then(|v| names.find(cx, v, &k("to")));
                if from.is_some() && from == to {
                    cx.err(item.at, &k("to"), "`from` and `to` are the same datacenter");
                }
                from.zip(to)
                    .filter(|(a, b)| a != b)
                    .map(|(from, to)| FaultKind::ReplicationStall { from, to })
            }
            "clock_jump" => {
                let dc = need(cx, "dc").and_then(|v| names.find(cx, v, &k("dc")));
                let by = need(cx, "by").and_then(|v| signed_duration(cx, v, &k("by")));
                dc.zip(by).map(|(dc, by)| FaultKind::ClockJump { dc, by })
            }
            _ => {
                let s = need(cx, "shards").and_then(|v| shard_ranges(cx, v, &k("shards"), shards));
                let to = need(cx, "to").and_then(|v| names.find(cx, v, &k("to")));
                s.zip(to)
                    .map(|(shards, to)| FaultKind::Switchover { shards, to })
            }
        };
        let (Some(fk), Some(at)) = (fk, at) else {
            continue;
        };
        let Some(duration) = dur.map_or(Some(None), |d| d.map(Some)) else {
            continue;
        };
        if cx.problems.len() > before {
            continue;
        }
        out.push(FaultConfig {
            kind: fk,
            at,
            duration,
        });
    }
    out
}

fn read_groups(cx: &mut Ctx, n: &Node, names: &DcNames, key: &str) -> Option<Vec<Vec<DcId>>> {
    let Val::Array(groups) = &n.val else {
        cx.expected(
            n,
            key,
            "groups of datacenter names, such as [[\"bj\"], [\"sh\", \"sz\"]]",
        );
        return None;
    };
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for g in groups {
        let Val::Array(members) = &g.val else {
            cx.expected(g, key, "an array of datacenter names");
            return None;
        };
        let mut group = Vec::new();
        for m in members {
            let id = names.find(cx, m, key)?;
            if seen.contains(&id) {
                cx.err(
                    m.at,
                    key,
                    format!("\"{}\" is in two groups", names.0[id.idx()]),
                );
                return None;
            }
            seen.push(id);
            group.push(id);
        }
        out.push(group);
    }
    if out.len() < 2 {
        cx.err(
            n.at,
            key,
            format!(
                "expected at least two groups of datacenters, such as [[\"bj\"], [\"sh\"]]; found {}",
                out.len()
            ),
        );
        return None;
    }
    Some(out)
}
