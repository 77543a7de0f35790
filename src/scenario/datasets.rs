//! `[[dataset]]`: data classes. Each dataset holds one record per user
//! (`workload.keys`), sharded like the users (`[sharding]`), and takes its
//! share of the sharded requests with its own write fraction and
//! replication mode: orders asynchronous beside a balance kept
//! synchronously. Without `[[dataset]]` the sharded data is one dataset with
//! `workload.writes` and `replication.mode`, as before.

use super::keys::{Key, KeyDefault, Section, Type};
use super::readers::{Ctx, boolean, choice, join, name, probability, tables};
use super::tree::Node;
use super::{Named, ReplMode, ReplicationConfig, WorkloadConfig};

/// A dataset per request is a byte; far more classes than any design has.
pub const MAX_DATASETS: usize = 64;
/// Shares are fractions written in decimal: they must add up to 1 within this.
const SHARE_SLACK: f64 = 1e-9;

#[derive(Clone, Debug, PartialEq)]
pub struct DatasetConfig {
    pub name: String,
    /// Fraction of the sharded requests (the shares add up to 1).
    pub share: f64,
    pub writes: f64,
    pub mode: ReplMode,
    /// The mode toward DCs in the origin's region (same city), when it
    /// differs: `mode` then governs the DCs of other regions.
    pub same_region_mode: Option<ReplMode>,
    /// Whether `replication.max_lag` refuses its writes.
    pub lag_ban: bool,
}

const NAME: Key = Key::new(
    "name",
    Type::Name,
    KeyDefault::Required,
    "the dataset's name, as `datasets.csv` shows it",
);
const SHARE: Key = Key::new(
    "share",
    Type::Fraction,
    KeyDefault::Required,
    "its fraction of the sharded requests (those not on the global dataset); the datasets' shares add up to 1",
);
const WRITES: Key = Key::new(
    "writes",
    Type::Fraction,
    KeyDefault::Absent("`workload.writes`"),
    "the fraction of its requests that write",
);
const MODE: Key = Key::new(
    "mode",
    Type::OneOf(ReplMode::SPELLINGS),
    KeyDefault::Absent("`replication.mode`"),
    "when its writes are acknowledged (as `replication.mode`); the global dataset keeps `replication.mode`",
);

const SAME_REGION_MODE: Key = Key::new(
    "same_region_mode",
    Type::OneOf(ReplMode::SPELLINGS),
    KeyDefault::Absent("`mode` for every DC"),
    "the mode toward the DCs that stand in the origin's region (the same city), counted among those DCs alone; `mode` then governs the DCs of other regions, counted among them: `same_region_mode = \"sync\"` with `mode = \"async\"` is two cities, three DCs",
);

const LAG_BAN: Key = Key::new(
    "lag_ban",
    Type::Bool,
    KeyDefault::Bool(true),
    "whether `replication.max_lag` refuses this dataset's writes (false: they go on while replication lags)",
);

pub(super) const DATASET_SECTION: Section = Section {
    path: "dataset",
    array: true,
    variant: None,
    about: "A data class of the sharded data: one record per user, sharded like the users, with its own share of the requests, write fraction and replication mode. Without any, the sharded data is one dataset with `workload.writes` and `replication.mode`.",
    keys: &[NAME, SHARE, WRITES, MODE, SAME_REGION_MODE, LAG_BAN],
};

pub(super) fn read(
    cx: &mut Ctx,
    n: Option<&Node>,
    workload: Option<&WorkloadConfig>,
    replication: Option<&ReplicationConfig>,
    (dcs, limit): (usize, u64),
) -> Vec<DatasetConfig> {
    let Some(n) = n else { return Vec::new() };
    let items = tables(cx, n, "dataset");
    let mut out: Vec<DatasetConfig> = Vec::new();
    let mut complete = true;
    for (i, item) in items.iter().enumerate() {
        let path = format!("dataset.{i}");
        let Some(t) = cx.table(item, &path, DATASET_SECTION.keys) else {
            complete = false;
            continue;
        };
        let k = |key: &Key| join(&path, key.name);
        let nm = cx
            .need(t, item.at, &path, &NAME)
            .and_then(|v| name(cx, v, &k(&NAME)));
        if let (Some(nm), Some(v)) = (&nm, t.get(NAME.name))
            && out.iter().any(|d| &d.name == nm)
        {
            cx.err(v.at, &k(&NAME), format!("a second dataset named \"{nm}\""));
        }
        let share = cx
            .need(t, item.at, &path, &SHARE)
            .and_then(|v| probability(cx, v, &k(&SHARE)));
        let writes = match t.get(WRITES.name) {
            Some(v) => probability(cx, v, &k(&WRITES)),
            None => workload.map(|w| w.writes),
        };
        let mode = match t.get(MODE.name) {
            Some(v) => choice(cx, v, &k(&MODE)),
            None => replication.map(|r| r.mode),
        };
        let same_region_mode = t
            .get(SAME_REGION_MODE.name)
            .map(|v| choice(cx, v, &k(&SAME_REGION_MODE)));
        let lag_ban = t
            .get(LAG_BAN.name)
            .map_or(Some(true), |v| boolean(cx, v, &k(&LAG_BAN)));
        // Absent: no mode of its own; present but invalid: a problem.
        let same_region_mode = match same_region_mode {
            None => Some(None),
            Some(m) => m.map(Some),
        };
        match (nm, share, writes, mode, same_region_mode, lag_ban) {
            (
                Some(name),
                Some(share),
                Some(writes),
                Some(mode),
                Some(same_region_mode),
                Some(lag_ban),
            ) => out.push(DatasetConfig {
                name,
                share,
                writes,
                mode,
                same_region_mode,
                lag_ban,
            }),
            _ => complete = false,
        }
    }
    if items.len() > MAX_DATASETS {
        cx.err(
            n.at,
            "dataset",
            format!("{} datasets: expected at most {MAX_DATASETS}", items.len()),
        );
    }
    if let Some(w) = workload
        && out.len() > 1
    {
        // Each dataset holds a record per user in every DC.
        use crate::model::footprint::Footprint;
        let keys = (w.keys * out.len() as u64).saturating_add(w.global_keys);
        let what = format!(
            "{} datasets of {} keys and {} global keys in each of {dcs} datacenters",
            out.len(),
            w.keys,
            w.global_keys
        );
        if let Err(e) = Footprint::of(dcs, keys).check(&what, dcs, limit) {
            cx.err(n.at, "dataset", e);
        }
    }
    let total: f64 = out.iter().map(|d| d.share).sum();
    if complete && !out.is_empty() && (total - 1.0).abs() > SHARE_SLACK {
        cx.err(
            n.at,
            "dataset.share",
            format!("the datasets' shares add up to {total}: expected 1"),
        );
    }
    out
}
