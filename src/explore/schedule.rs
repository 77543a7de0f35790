//! Fault schedules: drawn from the explore seed and the schedule's index
//! alone (so any schedule can be redrawn on any machine, in any order), and
//! written as text (for `explore.csv`) or as `[[fault]]` tables (for
//! `worst.toml`).

use rand::RngExt;

use crate::ids::{DcId, ShardId};
use crate::kernel::rng;
use crate::scenario::{Config, FaultConfig, FaultKind, FaultType, Named};
use crate::time::{self, NS_PER_MS, NS_PER_S, NS_PER_US};

/// The fault kind spelled `name` in scenario files, if there is one.
pub fn fault_type(name: &str) -> Option<FaultType> {
    FaultType::NAMES
        .iter()
        .find(|(s, _)| *s == name)
        .map(|&(_, kind)| kind)
}

/// Fault kinds in `explore.toml`, by their scenario spelling; an unknown
/// one is refused with the known ones.
pub mod kind_names {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::scenario::{FaultType, Named};

    pub fn serialize<S: Serializer>(kinds: &[FaultType], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(kinds.iter().map(|k| k.name()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FaultType>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|n| {
                super::fault_type(n).ok_or_else(|| {
                    D::Error::custom(format!(
                        "unknown fault kind \"{n}\"; known: {}",
                        FaultType::SPELLINGS.join(", ")
                    ))
                })
            })
            .collect()
    }
}

/// Why `cfg` cannot host fault kind `kind`, if it cannot.
pub fn cannot_host(cfg: &Config, kind: FaultType) -> Option<String> {
    let dcs = cfg.datacenters.len();
    match kind {
        FaultType::LinkDown | FaultType::SlowLink => cfg
            .links
            .is_empty()
            .then(|| "the scenario has no [[link]] for it to act on".into()),
        FaultType::DcDown
        | FaultType::Partition
        | FaultType::ReplicationStall
        | FaultType::Switchover => {
            (dcs < 2).then(|| format!("it needs two datacenters and the scenario has {dcs}"))
        }
        FaultType::PushFailure => cfg.routing.push_timeout.is_none().then(|| {
            "it needs routing.push_timeout (a push that cannot fail has nothing to lose)".into()
        }),
        FaultType::ClockJump => None,
    }
}

/// What draws schedules: the fault kinds, how many faults at most, and the
/// restriction to one DC down at a time.
#[derive(Clone, Debug)]
pub struct Drawer {
    pub seed: u64,
    pub kinds: Vec<FaultType>,
    pub max_faults: u32,
    pub one_dc_down: bool,
}

/// Times are drawn to the millisecond: short to write, and exact in TOML.
fn ms(rng: &mut rng::ComponentRng, lo: u64, hi: u64) -> u64 {
    let (lo, hi) = (lo / NS_PER_MS, (hi / NS_PER_MS).max(lo / NS_PER_MS + 1));
    rng.random_range(lo..hi) * NS_PER_MS
}

fn overlaps(a: &FaultConfig, b: &FaultConfig) -> bool {
    let end = |f: &FaultConfig| f.duration.map_or(u64::MAX, |d| f.at.saturating_add(d));
    a.at < end(b) && b.at < end(a)
}

impl Drawer {
    /// Schedule `index`: schedule 0 has no fault (the design left alone);
    /// the others have one to `max_faults` faults.
    pub fn draw(&self, cfg: &Config, index: u64) -> Vec<FaultConfig> {
        if index == 0 {
            return Vec::new();
        }
        let mut r = rng::stream(self.seed, index);
        let n = r.random_range(1..=self.max_faults.max(1));
        let mut out: Vec<FaultConfig> = Vec::new();
        for _ in 0..n {
            // A dc_down overlapping another is drawn again, a few times.
            for _attempt in 0..8 {
                let f = self.one(cfg, &mut r);
                let clash = self.one_dc_down
                    && matches!(f.kind, FaultKind::DcDown { .. })
                    && out
                        .iter()
                        .any(|g| matches!(g.kind, FaultKind::DcDown { .. }) && overlaps(&f, g));
                if !clash {
                    out.push(f);
                    break;
                }
            }
        }
        out
    }

    fn one(&self, cfg: &Config, r: &mut rng::ComponentRng) -> FaultConfig {
        let span = cfg.duration.max(NS_PER_S);
        let n = cfg.datacenters.len();
        let dc = |r: &mut rng::ComponentRng| DcId(r.random_range(0..n) as u16);
        let kind = self.kinds[r.random_range(0..self.kinds.len())];
        let at = ms(r, 0, span * 9 / 10);
        let duration = Some(ms(r, span / 20, span / 2).max(NS_PER_MS));
        let (kind, duration) = match kind {
            FaultType::DcDown => (FaultKind::DcDown { dc: dc(r) }, duration),
            FaultType::LinkDown | FaultType::SlowLink => {
                let l = &cfg.links[r.random_range(0..cfg.links.len())];
                let (a, b) = (l.a, l.b);
                if kind == FaultType::LinkDown {
                    (FaultKind::LinkDown { a, b }, duration)
                } else {
                    let factor = [2.0, 5.0, 10.0, 100.0][r.random_range(0..4)];
                    (FaultKind::SlowLink { a, b, factor }, duration)
                }
            }
            FaultType::Partition => {
                // A random split in two non-empty groups.
                let alone = r.random_range(1..(1u64 << n.min(63)) - 1);
                let (mut g0, mut g1) = (Vec::new(), Vec::new());
                for d in 0..n {
                    if d < 63 && alone >> d & 1 == 1 {
                        g0.push(DcId(d as u16));
                    } else {
                        g1.push(DcId(d as u16));
                    }
                }
                let groups = vec![g0, g1];
                (FaultKind::Partition { groups }, duration)
            }
            FaultType::ReplicationStall => {
                let from = dc(r);
                let to = DcId(((from.idx() + r.random_range(1..n)) % n) as u16);
                (FaultKind::ReplicationStall { from, to }, duration)
            }
            FaultType::ClockJump => {
                let by = ms(r, NS_PER_MS, (span / 2).min(10 * NS_PER_S)) as i64;
                let by = if r.random_range(0..2) == 0 { by } else { -by };
                (FaultKind::ClockJump { dc: dc(r), by }, duration)
            }
            FaultType::PushFailure => (FaultKind::PushFailure { dc: dc(r) }, duration),
            FaultType::Switchover => {
                let shards = cfg.sharding.shards;
                let lo = r.random_range(0..shards);
                let len = r.random_range(1..=(shards / 4).max(1)).min(shards - lo);
                let list = (lo..lo + len).map(ShardId).collect();
                (
                    FaultKind::Switchover {
                        shards: list,
                        to: dc(r),
                    },
                    None,
                )
            }
        };
        FaultConfig { kind, at, duration }
    }
}

/// Shard ids as ranges: `"0-3,7"`.
fn ranges(shards: &[ShardId]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < shards.len() {
        let mut j = i;
        while j + 1 < shards.len() && shards[j + 1].0 == shards[j].0 + 1 {
            j += 1;
        }
        parts.push(if i == j {
            shards[i].0.to_string()
        } else {
            format!("{}-{}", shards[i].0, shards[j].0)
        });
        i = j + 1;
    }
    parts.join(",")
}

/// A duration in the scenario syntax, exactly: `12s`, `1500ms`, `7ns`.
pub fn exact(ns: i64) -> String {
    let a = ns.unsigned_abs();
    let sign = if ns < 0 { "-" } else { "" };
    for (unit, per) in [("s", NS_PER_S), ("ms", NS_PER_MS), ("us", NS_PER_US)] {
        if a % per == 0 && a > 0 {
            return format!("{sign}{}{unit}", a / per);
        }
    }
    format!("{sign}{a}ns")
}

fn names<'a>(cfg: &'a Config, group: &[DcId]) -> Vec<&'a str> {
    group
        .iter()
        .map(|d| cfg.datacenters[d.idx()].name.as_str())
        .collect()
}

/// One line per fault: `dc_down dc1 at 12.5s for 3s`, joined by `; `.
pub fn describe(cfg: &Config, faults: &[FaultConfig]) -> String {
    let dc = |d: &DcId| cfg.datacenters[d.idx()].name.as_str();
    faults
        .iter()
        .map(|f| {
            let what = match &f.kind {
                FaultKind::DcDown { dc: d } => format!("dc_down {}", dc(d)),
                FaultKind::LinkDown { a, b } => format!("link_down {}-{}", dc(a), dc(b)),
                FaultKind::Partition { groups } => format!(
                    "partition {}",
                    groups
                        .iter()
                        .map(|g| names(cfg, g).join(","))
                        .collect::<Vec<_>>()
                        .join("|")
                ),
                FaultKind::SlowLink { a, b, factor } => {
                    format!("slow_link {}-{} x{factor}", dc(a), dc(b))
                }
                FaultKind::ReplicationStall { from, to } => {
                    format!("replication_stall {}->{}", dc(from), dc(to))
                }
                FaultKind::ClockJump { dc: d, by } => {
                    format!("clock_jump {} by {}", dc(d), time::format_duration(*by))
                }
                FaultKind::Switchover { shards, to } => {
                    format!("switchover {} to {}", ranges(shards), dc(to))
                }
                FaultKind::PushFailure { dc: d } => format!("push_failure {}", dc(d)),
            };
            let lasting = f.duration.map_or_else(String::new, |d| {
                format!(" for {}", time::format_duration(d as i64))
            });
            format!("{what} at {}{lasting}", time::format_duration(f.at as i64))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// The faults as `[[fault]]` tables.
pub fn to_toml(cfg: &Config, faults: &[FaultConfig]) -> String {
    let dc = |d: &DcId| quote(&cfg.datacenters[d.idx()].name);
    let mut s = String::new();
    for f in faults {
        s += &format!("[[fault]]\nkind = \"{}\"\n", f.kind.name());
        match &f.kind {
            FaultKind::DcDown { dc: d } | FaultKind::PushFailure { dc: d } => {
                s += &format!("dc = {}\n", dc(d))
            }
            FaultKind::LinkDown { a, b } => s += &format!("between = [{}, {}]\n", dc(a), dc(b)),
            FaultKind::Partition { groups } => {
                let g: Vec<String> = groups
                    .iter()
                    .map(|g| format!("[{}]", g.iter().map(dc).collect::<Vec<_>>().join(", ")))
                    .collect();
                s += &format!("groups = [{}]\n", g.join(", "));
            }
            FaultKind::SlowLink { a, b, factor } => {
                s += &format!("between = [{}, {}]\nfactor = {factor:?}\n", dc(a), dc(b));
            }
            FaultKind::ReplicationStall { from, to } => {
                s += &format!("from = {}\nto = {}\n", dc(from), dc(to));
            }
            FaultKind::ClockJump { dc: d, by } => {
                s += &format!("dc = {}\nby = \"{}\"\n", dc(d), exact(*by));
            }
            FaultKind::Switchover { shards, to } => {
                s += &format!("shards = \"{}\"\nto = {}\n", ranges(shards), dc(to));
            }
        }
        s += &format!("at = \"{}\"\n", exact(f.at as i64));
        if let Some(d) = f.duration {
            s += &format!("for = \"{}\"\n", exact(d as i64));
        }
        s.push('\n');
    }
    s
}
