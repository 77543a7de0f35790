//! `[sharding]`: which shard a key falls in, and which DC owns each shard.

use super::RegionConfig;
use super::keys::{Key, KeyDefault, Section, Type};
use super::readers::{
    Ctx, DcNames, Named, choice, choice_or, duration, int, join, names, shard_ranges,
};
use super::tree::{Node, Val};
use crate::ids::DcId;

/// Shards are numbered with 32 bits, and every table version holds one
/// owner per shard: a million is the most a run keeps in memory comfortably.
pub(super) const MAX_SHARDS: i128 = 1_000_000;
/// LDC-style `uid % 100`.
pub(super) const SHARDS: u32 = 100;
/// A key's shard by its hash: no assumption about where users are.
const KEY: ShardKey = ShardKey::Hash;
/// Shards dealt to DCs in turn: every DC owns some.
const PLACEMENT: PlacementRule = PlacementRule::RoundRobin;
/// One writer and one place to read: global data is read where it is written.
const GLOBAL_READS: GlobalReads = GlobalReads::Owner;
/// Reads of a user's data go to the shard's owner unless the scenario has
/// read replicas.
const READS: GlobalReads = GlobalReads::Owner;
/// No read-your-writes stickiness unless the scenario asks for it.
const READ_YOUR_WRITES: crate::time::Nanos = 0;

names! {
    /// How a user's key maps to a shard.
    pub enum ShardKey {
        Hash = "hash",
        Range = "range",
        /// By the user's home region.
        Geo = "geo",
    }
}

names! {
    /// A placement by rule rather than by table.
    pub enum PlacementRule {
        RoundRobin = "round_robin",
        ByRegion = "by_region",
    }
}

names! {
    /// Where reads of the global dataset go.
    pub enum GlobalReads {
        Owner = "owner",
        /// A local read copy.
        Local = "local",
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    RoundRobin,
    ByRegion,
    /// The owner of each shard, indexed by shard.
    Table(Vec<DcId>),
}

impl From<PlacementRule> for Placement {
    fn from(rule: PlacementRule) -> Placement {
        match rule {
            PlacementRule::RoundRobin => Placement::RoundRobin,
            PlacementRule::ByRegion => Placement::ByRegion,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShardingConfig {
    pub key: ShardKey,
    pub shards: u32,
    pub placement: Placement,
    pub global_owner: DcId,
    pub global_reads: GlobalReads,
    /// Where reads of the sharded dataset go.
    pub reads: GlobalReads,
    /// A user whose last acknowledged write is this recent reads at the DC
    /// that acknowledged it; 0: off.
    pub read_your_writes: crate::time::Nanos,
}

const KEY_KEY: Key = Key::new(
    "key",
    Type::OneOf(ShardKey::SPELLINGS),
    KeyDefault::Name(KEY.name()),
    "how a user maps to a shard: by hash of the user, by range of users, or `geo` (by the user's home region)",
);
const SHARDS_KEY: Key = Key::new(
    "shards",
    Type::Int {
        min: 1,
        max: MAX_SHARDS,
    },
    KeyDefault::Int(SHARDS as u64),
    "the number of shards (with `geo`, at least one per region)",
);
const PLACEMENT_KEY: Key = Key::new(
    "placement",
    Type::Other("\"round_robin\", \"by_region\", or a table { bj = \"0-49\", sh = \"50-99\" }"),
    KeyDefault::Name(PLACEMENT.name()),
    "which DC owns each shard: dealt in turn, each region's shards to its own DCs, or a table that gives every shard to one DC",
);
const GLOBAL_OWNER: Key = Key::new(
    "global_owner",
    Type::Other("a datacenter name"),
    KeyDefault::Absent("the first [[datacenter]]"),
    "the DC that writes the global dataset",
);
const GLOBAL_READS_KEY: Key = Key::new(
    "global_reads",
    Type::OneOf(GlobalReads::SPELLINGS),
    KeyDefault::Name(GLOBAL_READS.name()),
    "where global reads go: to the owner, or to a local read copy",
);

const READS_KEY: Key = Key::new(
    "reads",
    Type::OneOf(GlobalReads::SPELLINGS),
    KeyDefault::Name(READS.name()),
    "where reads of the sharded dataset go: to the shard's owner, or served by the DC they enter (a read replica, stale while the owner's writes are on their way)",
);
const READ_YOUR_WRITES_KEY: Key = Key::new(
    "read_your_writes",
    Type::Duration,
    KeyDefault::Duration(READ_YOUR_WRITES),
    "a user whose last acknowledged write is at most this old has reads sent to the DC that acknowledged it, if that DC is up and reachable (Facebook's 20-second cookie); 0: off",
);

pub(super) const SHARDING_SECTION: Section = Section {
    path: "sharding",
    array: false,
    variant: None,
    about: "How the sharded dataset is cut into shards and who owns each.",
    keys: &[
        KEY_KEY,
        SHARDS_KEY,
        PLACEMENT_KEY,
        GLOBAL_OWNER,
        GLOBAL_READS_KEY,
        READS_KEY,
        READ_YOUR_WRITES_KEY,
    ],
};

pub(super) fn read(
    cx: &mut Ctx,
    n: &Node,
    names: &DcNames,
    regions: &[RegionConfig],
) -> Option<ShardingConfig> {
    const S: &str = "sharding";
    let t = cx.table(n, S, SHARDING_SECTION.keys)?;
    let key = choice_or(cx, t, S, KEY_KEY.name, KEY);
    let shards = t
        .get(SHARDS_KEY.name)
        .map_or(Some(SHARDS as i128), |v| {
            int(cx, v, "sharding.shards", 1, MAX_SHARDS)
        })
        .map(|s| s as u32);
    if let (Some(ShardKey::Geo), Some(s)) = (key, shards)
        && (s as usize) < regions.len()
    {
        cx.err(
            t.get(SHARDS_KEY.name).map_or(n.at, |v| v.at),
            "sharding.shards",
            format!(
                "geo sharding needs at least one shard per region: {s} shards for {} regions",
                regions.len()
            ),
        );
    }
    let placement = match (t.get(PLACEMENT_KEY.name), shards) {
        (None, _) => Some(PLACEMENT.into()),
        (Some(v), _) if matches!(v.val, Val::Str(_)) => {
            choice::<PlacementRule>(cx, v, "sharding.placement").map(Placement::from)
        }
        (Some(v), Some(shards)) => read_placement_table(cx, v, names, shards),
        (Some(_), None) => None,
    };
    let global_owner = match t.get(GLOBAL_OWNER.name) {
        Some(v) => names.find(cx, v, "sharding.global_owner"),
        None => (!names.0.is_empty()).then_some(DcId(0)),
    };
    let global_reads = choice_or(cx, t, S, GLOBAL_READS_KEY.name, GLOBAL_READS);
    let reads = choice_or(cx, t, S, READS_KEY.name, READS);
    let read_your_writes = t
        .get(READ_YOUR_WRITES_KEY.name)
        .map_or(Some(READ_YOUR_WRITES), |v| {
            duration(cx, v, "sharding.read_your_writes")
        });
    Some(ShardingConfig {
        key: key?,
        shards: shards?,
        placement: placement?,
        global_owner: global_owner?,
        global_reads: global_reads?,
        reads: reads?,
        read_your_writes: read_your_writes?,
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
        let id = names.find_key(cx, dc, *kat, "sharding.placement");
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
