//! `[workload]` and `[[request]]`: who asks for what, how often.

use super::RegionConfig;
use super::keys::{Key, KeyDefault, Section, Type};
use super::profile::{Profile, read_profile};
use super::readers::{Ctx, boolean, duration, int, join, number, pick, probability, tables};
use super::tree::{Node, Table, Val};
use crate::ids::RegionId;
use crate::time::Nanos;

/// Keys are numbered with 32 bits; a billion users is beyond any shipped
/// system's scale and a sure typo.
pub(super) const MAX_KEYS: i128 = 1_000_000_000;
/// Requests (or replicated writes) per second: above this a run takes days.
pub(super) const MAX_RATE: f64 = 1e8;
/// A Zipf exponent beyond this sends every request to one key.
const MAX_ZIPF_S: f64 = 100.0;

/// Half the requests write: a pessimistic mix that exercises replication.
const WRITES: f64 = 0.5;
/// No global dataset unless the scenario has one.
const GLOBAL: f64 = 0.0;
/// As for the sharded dataset: half the global requests write.
const GLOBAL_WRITES: f64 = 0.5;
/// A small table of data that cannot be sharded (configuration, stock).
const GLOBAL_KEYS: u64 = 1000;
/// Users stay at home unless the scenario makes them roam.
const LOCALITY: f64 = 1.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Popularity {
    Uniform,
    Zipf { s: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadConfig {
    pub keys: u64,
    pub rate: f64,
    pub writes: f64,
    pub popularity: Popularity,
    pub global: f64,
    pub global_writes: f64,
    pub global_keys: u64,
    /// Fraction of a user's requests that come from the user's home region;
    /// the rest come from a region drawn by the regions' shares.
    pub locality: f64,
    /// How the rate changes over the run; `None`: constant.
    pub profile: Option<Profile>,
}

/// A request the scenario places at a fixed time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedRequest {
    pub at: Nanos,
    pub region: RegionId,
    /// A user of the sharded dataset, or a key of the global one.
    pub key: u32,
    pub write: bool,
    pub global: bool,
}

const KEYS: Key = Key::new(
    "keys",
    Type::Int {
        min: 1,
        max: MAX_KEYS,
    },
    KeyDefault::Required,
    "the number of users (keys of the sharded dataset)",
);
const RATE: Key = Key::new(
    "rate",
    Type::Number {
        min: 0.0,
        max: MAX_RATE,
        open_min: false,
    },
    KeyDefault::Required,
    "requests per second, arriving as a Poisson process (0: only the [[request]]s)",
);
const WRITES_KEY: Key = Key::new(
    "writes",
    Type::Fraction,
    KeyDefault::Number(WRITES),
    "the fraction of requests that write",
);
const POPULARITY: Key = Key::new(
    "popularity",
    Type::Other("\"uniform\" or { dist = \"zipf\", s } with 0 < s ≤ 100"),
    KeyDefault::Name("uniform"),
    "how a request picks its user: all alike, or Zipf with exponent `s`",
);
const GLOBAL_KEY: Key = Key::new(
    "global",
    Type::Fraction,
    KeyDefault::Number(GLOBAL),
    "the fraction of requests on the global dataset (one writer DC, `sharding.global_owner`)",
);
const GLOBAL_WRITES_KEY: Key = Key::new(
    "global_writes",
    Type::Fraction,
    KeyDefault::Number(GLOBAL_WRITES),
    "the fraction of global requests that write",
);
const GLOBAL_KEYS_KEY: Key = Key::new(
    "global_keys",
    Type::Int {
        min: 1,
        max: MAX_KEYS,
    },
    KeyDefault::Int(GLOBAL_KEYS),
    "the number of keys of the global dataset",
);
const LOCALITY_KEY: Key = Key::new(
    "locality",
    Type::Fraction,
    KeyDefault::Number(LOCALITY),
    "the fraction of a user's requests that come from the user's home region; the rest come from a region drawn by the shares (a roaming user)",
);

/// The key reference's description of a profile (also `region.profile`).
pub(super) const PROFILE_TYPE: &str =
    "an array of points { at = duration, factor = number from 0 to 10000 }, in time order";
const PROFILE_KEY: Key = Key::new(
    "profile",
    Type::Other(PROFILE_TYPE),
    KeyDefault::Absent("a constant rate"),
    "how the rate changes over the run: at each point's time the rate is `rate` × its `factor`, linear between points, the first factor before the first point and the last after the last (two points at one time make a step); arrivals are a non-homogeneous Poisson process (a `region.profile` overrides it for that region's users)",
);

pub(super) const WORKLOAD_SECTION: Section = Section {
    path: "workload",
    array: false,
    variant: None,
    about: "The traffic: a keyspace of users, each with a home region, and a global dataset beside it.",
    keys: &[
        KEYS,
        RATE,
        WRITES_KEY,
        POPULARITY,
        GLOBAL_KEY,
        GLOBAL_WRITES_KEY,
        GLOBAL_KEYS_KEY,
        LOCALITY_KEY,
        PROFILE_KEY,
    ],
};

const AT: Key = Key::new(
    "at",
    Type::Duration,
    KeyDefault::Required,
    "when the request arrives, such as \"10ms\"",
);
const REGION: Key = Key::new(
    "region",
    Type::Other("a region name"),
    KeyDefault::Required,
    "the user region it comes from",
);
const KEY: Key = Key::new(
    "key",
    Type::Other("integer from 0, below `workload.keys` (or `global_keys`)"),
    KeyDefault::Required,
    "the user (or global key) it touches, from 0",
);
const WRITE: Key = Key::new(
    "write",
    Type::Bool,
    KeyDefault::Bool(false),
    "whether the request writes",
);
const GLOBAL_REQUEST: Key = Key::new(
    "global",
    Type::Bool,
    KeyDefault::Bool(false),
    "whether it touches the global dataset",
);

pub(super) const REQUEST_SECTION: Section = Section {
    path: "request",
    array: true,
    variant: None,
    about: "A request at a fixed time, beside (or instead of) the Poisson arrivals: hand-computable scenarios and scripted drills.",
    keys: &[AT, REGION, KEY, WRITE, GLOBAL_REQUEST],
};

/// A fraction at `t[key]`, or `default` when absent.
fn fraction(cx: &mut Ctx, t: &Table, key: &Key, default: f64) -> Option<f64> {
    t.get(key.name).map_or(Some(default), |v| {
        probability(cx, v, &join("workload", key.name))
    })
}

pub(super) fn read_workload(
    cx: &mut Ctx,
    n: &Node,
    dcs: usize,
    limit: u64,
) -> Option<WorkloadConfig> {
    let t = cx.table(n, "workload", WORKLOAD_SECTION.keys)?;
    let keys = cx
        .need(t, n.at, "workload", &KEYS)
        .and_then(|v| int(cx, v, "workload.keys", 1, MAX_KEYS));
    let rate = cx
        .need(t, n.at, "workload", &RATE)
        .and_then(|v| number(cx, v, "workload.rate", 0.0, MAX_RATE, false));
    let writes = fraction(cx, t, &WRITES_KEY, WRITES);
    let locality = fraction(cx, t, &LOCALITY_KEY, LOCALITY);
    let popularity = t
        .get(POPULARITY.name)
        .map_or(Some(Popularity::Uniform), |v| popularity(cx, v));
    let global = fraction(cx, t, &GLOBAL_KEY, GLOBAL);
    let global_writes = fraction(cx, t, &GLOBAL_WRITES_KEY, GLOBAL_WRITES);
    let global_keys = t
        .get(GLOBAL_KEYS_KEY.name)
        .map_or(Some(GLOBAL_KEYS as i128), |v| {
            int(cx, v, "workload.global_keys", 1, MAX_KEYS)
        });
    let profile = match t.get(PROFILE_KEY.name) {
        None => Some(None),
        Some(v) => read_profile(cx, v, "workload.profile").map(Some),
    };
    let w = WorkloadConfig {
        keys: keys? as u64,
        rate: rate?,
        writes: writes?,
        popularity: popularity?,
        global: global?,
        global_writes: global_writes?,
        global_keys: global_keys? as u64,
        locality: locality?,
        profile: profile?,
    };
    check_state_size(cx, &w, dcs, n, limit);
    Some(w)
}

fn popularity(cx: &mut Ctx, v: &Node) -> Option<Popularity> {
    const KEY: &str = "workload.popularity";
    match &v.val {
        Val::Str(_) => pick(cx, v, KEY, &[("uniform", Popularity::Uniform)]),
        Val::Table(pt) => {
            cx.check_names(pt, KEY, &["dist", "s"]);
            let kind = pt
                .get("dist")
                .and_then(|d| pick(cx, d, "workload.popularity.dist", &[("zipf", ())]));
            let s = match pt.get("s") {
                Some(s) => number(cx, s, "workload.popularity.s", 0.0, MAX_ZIPF_S, false),
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
            cx.expected(v, KEY, "\"uniform\" or { dist = \"zipf\", s = 1.0 }");
            None
        }
    }
}

/// `[[request]]`: requests at fixed times, beside (or instead of) the
/// Poisson arrivals: hand-computable scenarios and scripted drills.
pub(super) fn read_requests(
    cx: &mut Ctx,
    n: Option<&Node>,
    regions: &[RegionConfig],
    workload: Option<&WorkloadConfig>,
) -> Vec<ScriptedRequest> {
    let Some(n) = n else { return Vec::new() };
    let region_names: Vec<(&str, RegionId)> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), RegionId(i as u16)))
        .collect();
    let mut out = Vec::new();
    for (i, item) in tables(cx, n, "request").iter().enumerate() {
        let path = format!("request.{i}");
        let Some(t) = cx.table(item, &path, REQUEST_SECTION.keys) else {
            continue;
        };
        let k = |s: &Key| join(&path, s.name);
        let at = cx
            .need(t, item.at, &path, &AT)
            .and_then(|v| duration(cx, v, &k(&AT)));
        let region = cx
            .need(t, item.at, &path, &REGION)
            .and_then(|v| pick(cx, v, &k(&REGION), &region_names));
        let write = t
            .get(WRITE.name)
            .map_or(Some(false), |v| boolean(cx, v, &k(&WRITE)));
        let global = t
            .get(GLOBAL_REQUEST.name)
            .map_or(Some(false), |v| boolean(cx, v, &k(&GLOBAL_REQUEST)));
        let limit = match (workload, global) {
            (Some(w), Some(true)) => w.global_keys,
            (Some(w), _) => w.keys,
            (None, _) => u32::MAX as u64,
        };
        let key = cx
            .need(t, item.at, &path, &KEY)
            .and_then(|v| int(cx, v, &k(&KEY), 0, limit as i128 - 1));
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

/// Refuses a run whose fixed state (`model::footprint`) would not fit in
/// `simulation.memory_limit`, rather than let it abort.
fn check_state_size(cx: &mut Ctx, w: &WorkloadConfig, dcs: usize, section: &Node, limit: u64) {
    use crate::model::footprint::Footprint;
    let keys = w.keys.saturating_add(w.global_keys);
    let what = format!(
        "{} keys and {} global keys in each of {dcs} datacenters",
        w.keys, w.global_keys
    );
    let tables = crate::model::workload::workload_table_bytes(w);
    let estimate = Footprint::of(dcs, keys).with_tables(tables);
    if let Err(e) = estimate.check(&what, dcs, limit) {
        let at = match &section.val {
            Val::Table(t) => t.get("keys").map_or(section.at, |k| k.at),
            _ => section.at,
        };
        cx.err(at, "workload.keys", e);
    }
}
