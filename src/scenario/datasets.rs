//! `[[dataset]]`: data classes. A dataset takes its share of the requests
//! not on `workload.global`, with its own write fraction, replication mode
//! and conflict rule. It is sharded like the users (`sharding = "users"`:
//! one record per user, `workload.keys`, placed by `[sharding]`), or global
//! (`sharding = "global"`: its own keys, written at one DC, its `writer`,
//! and read there or locally): orders sharded by user beside a balance or
//! configuration kept global. Without `[[dataset]]` the sharded data is one
//! dataset with `workload.writes` and `replication.mode`, as before.

use super::keys::{Key, KeyDefault, Section, Type};
use super::readers::{Ctx, DcNames, boolean, choice, int, join, name, names, probability, tables};
use super::tree::Node;
use super::{
    GlobalReads, Named, ReplMode, ReplicationConfig, Resolve, ShardingConfig, WorkloadConfig,
};
use crate::ids::DcId;

names! {
    /// How a dataset's records are placed.
    pub enum DataSharding {
        /// One record per user, in the user's shard.
        Users = "users",
        /// Its own keys, all written at one DC.
        Global = "global",
    }
}

/// What a global dataset has of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalData {
    pub keys: u64,
    /// The one DC that writes it (until a failover moves it).
    pub writer: DcId,
    pub reads: GlobalReads,
}

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
    /// `None`: sharded like the users.
    pub global: Option<GlobalData>,
    /// How its concurrent writes are resolved.
    pub resolve: Resolve,
}

const NAME: Key = Key::new(
    "name",
    Type::Name,
    KeyDefault::Required,
    "the dataset's name, as `datasets.csv` shows it; not `global` (the data of `workload.global`)",
);
const SHARE: Key = Key::new(
    "share",
    Type::Fraction,
    KeyDefault::Required,
    "its fraction of the requests not on `workload.global`; the datasets' shares add up to 1",
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
    "when its writes are acknowledged (as `replication.mode`); the dataset of `workload.global` keeps `replication.mode`",
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

const SHARDING: Key = Key::new(
    "sharding",
    Type::OneOf(DataSharding::SPELLINGS),
    KeyDefault::Name("users"),
    "`users`: one record per user (`workload.keys`), in the user's shard, placed by `[sharding]`; `global`: keys of its own, written at one DC (`writer`) whatever the entry, like `workload.global`'s data",
);

const KEYS: Key = Key::new(
    "keys",
    Type::Int {
        min: 1,
        max: super::workload::MAX_KEYS,
    },
    KeyDefault::Absent("`workload.global_keys`"),
    "a global dataset's number of keys (refused on a `users` dataset: it holds one record per user)",
);

const WRITER: Key = Key::new(
    "writer",
    Type::Other("a datacenter name"),
    KeyDefault::Absent("`sharding.global_owner`"),
    "the DC that writes a global dataset (refused on a `users` dataset: its shards' owners write it); a failover moves it off a dead writer as it moves shards",
);

const READS: Key = Key::new(
    "reads",
    Type::OneOf(GlobalReads::SPELLINGS),
    KeyDefault::Absent("`sharding.global_reads`"),
    "where a global dataset's reads go: `owner` (its writer) or `local` (the DC they enter by, a read copy); refused on a `users` dataset (`sharding.reads` governs it)",
);

const RESOLVE: Key = Key::new(
    "resolve",
    Type::OneOf(Resolve::SPELLINGS),
    KeyDefault::Absent("`replication.resolve`"),
    "how concurrent writes to its records are resolved (as `replication.resolve`)",
);

pub(super) const DATASET_SECTION: Section = Section {
    path: "dataset",
    array: true,
    variant: None,
    about: "A data class, with its own share of the requests not on `workload.global`, write fraction, replication mode and conflict rule: sharded like the users (one record per user), or global (its own keys, one writer DC). Without any, the sharded data is one dataset with `workload.writes` and `replication.mode`.",
    keys: &[
        NAME,
        SHARE,
        WRITES,
        MODE,
        SAME_REGION_MODE,
        LAG_BAN,
        SHARDING,
        KEYS,
        WRITER,
        READS,
        RESOLVE,
    ],
};

/// What a dataset's defaults come from: the sections read before it.
pub(super) struct Around<'a> {
    pub workload: Option<&'a WorkloadConfig>,
    pub replication: Option<&'a ReplicationConfig>,
    pub sharding: Option<&'a ShardingConfig>,
    pub names: &'a DcNames<'a>,
    pub dcs: usize,
    pub limit: u64,
}

/// A dataset's `sharding` and the keys only a global dataset takes: `None`
/// for a users dataset; a problem (`Err`) already reported.
fn read_global(
    cx: &mut Ctx,
    t: &super::tree::Table,
    path: &str,
    a: &Around,
) -> Result<Option<GlobalData>, ()> {
    let k = |key: &Key| join(path, key.name);
    let sharding = t
        .get(SHARDING.name)
        .map_or(Some(DataSharding::Users), |v| choice(cx, v, &k(&SHARDING)));
    let Some(sharding) = sharding else {
        return Err(());
    };
    if sharding == DataSharding::Users {
        let mut bad = false;
        for key in [&KEYS, &WRITER, &READS] {
            if let Some(v) = t.get(key.name) {
                cx.err(
                    v.at,
                    &k(key),
                    format!(
                        "`{}` is for a global dataset (`sharding = \"global\"`); this one is sharded like the users ({})",
                        key.name,
                        match key.name {
                            "keys" => "one record per user, `workload.keys`",
                            "writer" => "its shards' owners write it",
                            _ => "`sharding.reads` says where its reads go",
                        }
                    ),
                );
                bad = true;
            }
        }
        return if bad { Err(()) } else { Ok(None) };
    }
    let keys = match t.get(KEYS.name) {
        Some(v) => int(cx, v, &k(&KEYS), 1, super::workload::MAX_KEYS).map(|n| n as u64),
        None => a.workload.map(|w| w.global_keys),
    };
    let writer = match t.get(WRITER.name) {
        Some(v) => a.names.find(cx, v, &k(&WRITER)),
        None => a.sharding.map(|s| s.global_owner),
    };
    let reads = match t.get(READS.name) {
        Some(v) => choice(cx, v, &k(&READS)),
        None => a.sharding.map(|s| s.global_reads),
    };
    match (keys, writer, reads) {
        (Some(keys), Some(writer), Some(reads)) => Ok(Some(GlobalData {
            keys,
            writer,
            reads,
        })),
        _ => Err(()),
    }
}

pub(super) fn read(cx: &mut Ctx, n: Option<&Node>, a: &Around) -> Vec<DatasetConfig> {
    let (workload, replication) = (a.workload, a.replication);
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
        if let (Some(nm), Some(v)) = (&nm, t.get(NAME.name))
            && nm == "global"
        {
            cx.err(
                v.at,
                &k(&NAME),
                "\"global\" is the name datasets.csv and [[expect]] give the data of workload.global: expected another name",
            );
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
        let resolve = match t.get(RESOLVE.name) {
            Some(v) => choice(cx, v, &k(&RESOLVE)),
            None => replication.map(|r| r.resolve),
        };
        let global = read_global(cx, t, &path, a);
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
            ) if global.is_ok() && resolve.is_some() => out.push(DatasetConfig {
                name,
                share,
                writes,
                mode,
                same_region_mode,
                lag_ban,
                global: global.unwrap_or(None),
                resolve: resolve.unwrap_or(Resolve::Lww),
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
        && (out.len() > 1 || out.iter().any(|d| d.global.is_some()))
    {
        check_keys(cx, n, w, &out, (a.dcs, a.limit));
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

/// Every dataset's keys, stored side by side (a users dataset holds a
/// record per user), must fit in memory and be numbered with 32 bits.
fn check_keys(
    cx: &mut Ctx,
    n: &Node,
    w: &WorkloadConfig,
    out: &[DatasetConfig],
    (dcs, limit): (usize, u64),
) {
    use crate::model::footprint::Footprint;
    // Key-popularity tables: the users' one serves every users dataset.
    let tables = {
        use crate::model::workload::popularity_table_bytes as bytes;
        let own: u64 = out
            .iter()
            .filter_map(|d| d.global.as_ref())
            .map(|g| bytes(g.keys, w.popularity))
            .sum();
        crate::model::workload::workload_table_bytes(w) + own
    };
    let users = out.iter().filter(|d| d.global.is_none()).count() as u64;
    let own: u64 = out
        .iter()
        .filter_map(|d| d.global.as_ref())
        .map(|g| g.keys)
        .sum();
    let keys = (w.keys * users)
        .saturating_add(own)
        .saturating_add(w.global_keys);
    let what = if own == 0 {
        format!(
            "{} datasets of {} keys and {} global keys in each of {dcs} datacenters",
            out.len(),
            w.keys,
            w.global_keys
        )
    } else {
        format!(
            "{} keys of users datasets ({users} × {}), {own} of global datasets and {} of `workload.global` in each of {dcs} datacenters",
            w.keys * users,
            w.keys,
            w.global_keys
        )
    };
    if keys > u64::from(u32::MAX) {
        cx.err(
            n.at,
            "dataset",
            format!(
                "{what}: {keys} keys in all; keys are numbered with 32 bits: expected at most {}",
                u32::MAX
            ),
        );
    } else if let Err(e) = Footprint::of(dcs, keys)
        .with_tables(tables)
        .check(&what, dcs, limit)
    {
        cx.err(n.at, "dataset", e);
    }
}
