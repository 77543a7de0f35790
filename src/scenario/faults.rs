//! `[[fault]]`: what fails, when and for how long. Each kind has its own
//! keys beside `kind`, `at` and `for`; the kind is read into [`FaultType`]
//! and every kind is matched by name, so a new kind does not compile until
//! its keys and its reader are written.

use super::MAX_CLOCK_OFFSET;
use super::keys::{Key, KeyDefault, Section, Type};
use super::readers::{
    Ctx, DcNames, Named, choice, duration, join, names, number, positive_duration, shard_ranges,
    show_duration, signed_duration, tables,
};
use super::sharding::SHARDS;
use super::tree::{Node, Origin, Table, Val};
use crate::ids::{DcId, ShardId};
use crate::time::{Nanos, format_duration, parse_duration};

mod staged;
use staged::{BATCH, EVERY, batches, staging};

/// Faults are numbered with 16 bits in the event queue.
const MAX_FAULTS: usize = 10_000;
/// A slowed link is at most this many times slower: beyond it the link is
/// as good as cut, which `link_down` says plainly.
const MAX_SLOWDOWN: f64 = 1e6;

names! {
    /// A fault's `kind`, without its parameters.
    pub enum FaultType {
        DcDown = "dc_down",
        LinkDown = "link_down",
        Partition = "partition",
        SlowLink = "slow_link",
        ReplicationStall = "replication_stall",
        ClockJump = "clock_jump",
        Switchover = "switchover",
        PushFailure = "push_failure",
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    DcDown { dc: DcId },
    LinkDown { a: DcId, b: DcId },
    Partition { groups: Vec<Vec<DcId>> },
    SlowLink { a: DcId, b: DcId, factor: f64 },
    ReplicationStall { from: DcId, to: DcId },
    ClockJump { dc: DcId, by: i64 },
    Switchover { shards: Vec<ShardId>, to: DcId },
    PushFailure { dc: DcId },
}

impl FaultKind {
    pub fn fault_type(&self) -> FaultType {
        match self {
            FaultKind::DcDown { .. } => FaultType::DcDown,
            FaultKind::LinkDown { .. } => FaultType::LinkDown,
            FaultKind::Partition { .. } => FaultType::Partition,
            FaultKind::SlowLink { .. } => FaultType::SlowLink,
            FaultKind::ReplicationStall { .. } => FaultType::ReplicationStall,
            FaultKind::ClockJump { .. } => FaultType::ClockJump,
            FaultKind::Switchover { .. } => FaultType::Switchover,
            FaultKind::PushFailure { .. } => FaultType::PushFailure,
        }
    }

    /// The kind as a scenario spells it.
    pub fn name(&self) -> &'static str {
        self.fault_type().name()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FaultConfig {
    pub kind: FaultKind,
    pub at: Nanos,
    /// `None`: lasts to the end of the run.
    pub duration: Option<Nanos>,
}

const KIND: Key = Key::new(
    "kind",
    Type::OneOf(FaultType::SPELLINGS),
    KeyDefault::Required,
    "what fails: one of the kinds below",
);
const AT: Key = Key::new(
    "at",
    Type::Duration,
    KeyDefault::Required,
    "when the fault starts: before the run ends (duration + drain); when `--set` shortens the run, a fault of the file that starts after its end is left out",
);
const FOR: Key = Key::new(
    "for",
    Type::PositiveDuration,
    KeyDefault::Absent("to the end of the run"),
    "how long the fault lasts",
);

pub(super) const FAULT_SECTION: Section = Section {
    path: "fault",
    array: true,
    variant: None,
    about: "A fault on the timeline. Besides these keys, each kind has its own, below.",
    keys: &[KIND, AT, FOR],
};

const DC_NAME: Type = Type::Other("a datacenter name");
const DC_PAIR: Type = Type::Other("two datacenter names");
const DOWN_DC: Key = Key::new(
    "dc",
    DC_NAME,
    KeyDefault::Required,
    "the datacenter that stops",
);
const CUT: Key = Key::new(
    "between",
    DC_PAIR,
    KeyDefault::Required,
    "the two datacenters whose link is cut",
);
const GROUPS: Key = Key::new(
    "groups",
    Type::Other("arrays of datacenter names, such as [[\"bj\"], [\"sh\", \"sz\"]]"),
    KeyDefault::Required,
    "groups of datacenters that cannot reach each other: at least two, none empty, a datacenter in one group at most",
);
const SLOWED: Key = Key::new(
    "between",
    DC_PAIR,
    KeyDefault::Required,
    "the two datacenters whose link slows",
);
const FACTOR: Key = Key::new(
    "factor",
    Type::Number {
        min: 1.0,
        max: MAX_SLOWDOWN,
        open_min: false,
    },
    KeyDefault::Required,
    "what the link's latency is multiplied by (1 or more)",
);
const FROM: Key = Key::new(
    "from",
    DC_NAME,
    KeyDefault::Required,
    "the origin of the stream",
);
const STALL_TO: Key = Key::new(
    "to",
    DC_NAME,
    KeyDefault::Required,
    "the destination of the stream (not its origin)",
);
const JUMP_DC: Key = Key::new(
    "dc",
    DC_NAME,
    KeyDefault::Required,
    "the datacenter whose clock jumps",
);
const BY: Key = Key::new(
    "by",
    Type::SignedDuration,
    KeyDefault::Required,
    "how far the clock jumps (back again when the fault ends); with the skew and the other jumps on the datacenter, at most 10000d either way",
);
const SHARDS_KEY: Key = Key::new(
    "shards",
    Type::Other("shard ranges, such as \"0-9,20-29\""),
    KeyDefault::Required,
    "the shards that move, each listed once",
);
const MOVE_TO: Key = Key::new(
    "to",
    DC_NAME,
    KeyDefault::Required,
    "the datacenter the shards move to",
);
const PUSH_DC: Key = Key::new(
    "dc",
    DC_NAME,
    KeyDefault::Required,
    "the datacenter that routing-table pushes do not reach",
);

impl FaultType {
    /// The keys of this kind besides `kind`, `at` and `for`.
    fn keys(self) -> &'static [Key] {
        match self {
            FaultType::DcDown => &[DOWN_DC],
            FaultType::LinkDown => &[CUT],
            FaultType::Partition => &[GROUPS],
            FaultType::SlowLink => &[SLOWED, FACTOR],
            FaultType::ReplicationStall => &[FROM, STALL_TO],
            FaultType::ClockJump => &[JUMP_DC, BY],
            FaultType::Switchover => &[SHARDS_KEY, MOVE_TO, BATCH, EVERY],
            FaultType::PushFailure => &[PUSH_DC],
        }
    }

    fn about(self) -> &'static str {
        match self {
            FaultType::DcDown => {
                "A datacenter stops at once: requests it holds fail, and what its peers have not applied of its writes is stranded until it returns."
            }
            FaultType::LinkDown => "A link is cut; traffic takes the shortest live path around it.",
            FaultType::Partition => "The network splits into groups that cannot reach each other.",
            FaultType::SlowLink => "A link's latency is multiplied.",
            FaultType::ReplicationStall => {
                "One replication stream stops; what it has not applied waits in its origin's log."
            }
            FaultType::ClockJump => {
                "A datacenter's clock jumps, which reorders its writes under `lww`."
            }
            FaultType::Switchover => {
                "A planned move of shards between healthy datacenters (a drill), run with the failover procedure."
            }
            FaultType::PushFailure => {
                "Pushes of new routing tables to a datacenter fail: the controller retries them and, out of retries, rolls back (needs `routing.push_timeout`; without it pushes always arrive)."
            }
        }
    }
}

/// A section per fault kind, for the key reference.
pub(super) fn kind_sections() -> Vec<Section> {
    FaultType::NAMES
        .iter()
        .map(|&(name, kind)| Section {
            path: "fault",
            array: true,
            variant: Some(name),
            about: kind.about(),
            keys: kind.keys(),
        })
        .collect()
}

/// What a fault is checked against.
pub(super) struct Run<'a> {
    pub names: &'a DcNames<'a>,
    /// `None` when `[sharding]` has a problem of its own.
    pub shards: Option<u32>,
    /// `duration + drain`; `None` when `[simulation]` has a problem.
    pub end: Option<Nanos>,
    /// The end comes from `--set` (a run shortened to try it out): a fault
    /// of the file that starts after it is left out rather than refused.
    pub end_overridden: bool,
    /// Each DC's clock skew.
    pub skews: Vec<i64>,
    /// `routing.push_timeout` is set (a `push_failure` has an effect).
    pub pushes_time_out: bool,
}

pub(super) fn read(cx: &mut Ctx, n: Option<&Node>, run: &Run) -> Vec<FaultConfig> {
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
    // Each DC's clock offset at its worst: |skew| plus every jump's |by|.
    let mut reach: Vec<u64> = run.skews.iter().map(|s| s.unsigned_abs()).collect();
    for (i, item) in items.iter().enumerate() {
        let path = format!("fault.{i}");
        let before = cx.problems.len();
        let Val::Table(t) = &item.val else {
            cx.expected(item, &path, "a table");
            continue;
        };
        let Some(kind) = cx
            .need(t, item.at, &path, &KIND)
            .and_then(|v| choice::<FaultType>(cx, v, &join(&path, KIND.name)))
        else {
            continue;
        };
        let known: Vec<Key> = FAULT_SECTION
            .keys
            .iter()
            .chain(kind.keys())
            .copied()
            .collect();
        cx.check_keys(t, &path, &known);
        let at_node = cx.need(t, item.at, &path, &AT);
        if let (Some(v), Some(end)) = (at_node, run.end)
            && run.end_overridden
            && !matches!(v.at, Origin::Set(_))
            && matches!(&v.val, Val::Str(s) if parse_duration(s).is_ok_and(|at| at > end))
        {
            continue;
        }
        let at = at_node.and_then(|v| start(cx, v, &join(&path, AT.name), run.end));
        let dur = t
            .get(FOR.name)
            .map(|v| positive_duration(cx, v, &join(&path, FOR.name)));
        let f = Fault {
            t,
            at: item.at,
            path: &path,
        };
        let fk = read_kind(cx, &f, kind, run);
        // Read even when other keys have problems, so each is reported.
        let staging = if kind == FaultType::Switchover {
            staging(cx, &f)
        } else {
            None
        };
        if let Some(FaultKind::ClockJump { dc, by }) = &fk {
            let name = run.names.0[dc.idx()];
            check_clock(cx, &f, name, &mut reach[dc.idx()], *by);
        }
        let (Some(fk), Some(at)) = (fk, at) else {
            continue;
        };
        let Some(duration) = dur.map_or(Some(None), |d| d.map(Some)) else {
            continue;
        };
        if cx.problems.len() > before {
            continue;
        }
        if let FaultKind::Switchover { shards, to } = &fk
            && let Some(stage) = staging
            && let Some(staged) = batches(cx, &f, shards, *to, at, run.end, stage)
        {
            out.extend(
                staged
                    .into_iter()
                    .map(|(kind, at)| FaultConfig { kind, at, duration }),
            );
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

/// A fault's table and where it stands, for reading its kind's keys.
struct Fault<'a> {
    t: &'a Table,
    at: Origin,
    path: &'a str,
}

impl Fault<'_> {
    fn need(&self, cx: &mut Ctx, key: &Key) -> Option<&Node> {
        cx.need(self.t, self.at, self.path, key)
    }

    fn key(&self, key: &Key) -> String {
        join(self.path, key.name)
    }

    /// A required DC name.
    fn dc(&self, cx: &mut Ctx, names: &DcNames, key: &Key) -> Option<DcId> {
        self.need(cx, key)
            .and_then(|v| names.find(cx, v, &self.key(key)))
    }

    /// A required pair of different DCs.
    fn pair(&self, cx: &mut Ctx, names: &DcNames, key: &Key) -> Option<(DcId, DcId)> {
        self.need(cx, key)
            .and_then(|v| names.pair(cx, v, &self.key(key)))
    }
}

/// A fault's start, which must come before the run ends: a later fault
/// would be listed in the report yet never happen.
fn start(cx: &mut Ctx, v: &Node, key: &str, end: Option<Nanos>) -> Option<Nanos> {
    let at = duration(cx, v, key)?;
    if let Some(end) = end
        && at > end
    {
        cx.err(
            v.at,
            key,
            format!(
                "the fault starts at {}, after the run ends at {} (duration + drain); expected a start within the run",
                format_duration(at as i64),
                format_duration(end as i64)
            ),
        );
        return None;
    }
    Some(at)
}

fn read_kind(cx: &mut Ctx, f: &Fault, kind: FaultType, run: &Run) -> Option<FaultKind> {
    let names = run.names;
    match kind {
        FaultType::DcDown => f.dc(cx, names, &DOWN_DC).map(|dc| FaultKind::DcDown { dc }),
        FaultType::LinkDown => f
            .pair(cx, names, &CUT)
            .map(|(a, b)| FaultKind::LinkDown { a, b }),
        FaultType::Partition => f
            .need(cx, &GROUPS)
            .and_then(|v| read_groups(cx, v, names, &f.key(&GROUPS)))
            .map(|groups| FaultKind::Partition { groups }),
        FaultType::SlowLink => {
            let p = f.pair(cx, names, &SLOWED);
            let factor = f
                .need(cx, &FACTOR)
                .and_then(|v| number(cx, v, &f.key(&FACTOR), 1.0, MAX_SLOWDOWN, false));
            p.zip(factor)
                .map(|((a, b), factor)| FaultKind::SlowLink { a, b, factor })
        }
        FaultType::ReplicationStall => {
            let from = f.dc(cx, names, &FROM);
            let to = f.dc(cx, names, &STALL_TO);
            if from.is_some() && from == to {
                cx.err(
                    f.at,
                    &f.key(&STALL_TO),
                    "`from` and `to` are the same datacenter",
                );
                return None;
            }
            from.zip(to)
                .map(|(from, to)| FaultKind::ReplicationStall { from, to })
        }
        FaultType::ClockJump => {
            let dc = f.dc(cx, names, &JUMP_DC);
            let by = f
                .need(cx, &BY)
                .and_then(|v| signed_duration(cx, v, &f.key(&BY)));
            dc.zip(by).map(|(dc, by)| FaultKind::ClockJump { dc, by })
        }
        FaultType::Switchover => {
            let shards = run.shards.unwrap_or(SHARDS);
            let s = f
                .need(cx, &SHARDS_KEY)
                .and_then(|v| shard_ranges(cx, v, &f.key(&SHARDS_KEY), shards));
            let to = f.dc(cx, names, &MOVE_TO);
            s.zip(to)
                .map(|(shards, to)| FaultKind::Switchover { shards, to })
        }
        FaultType::PushFailure => {
            let dc = f.dc(cx, names, &PUSH_DC)?;
            if !run.pushes_time_out {
                cx.err(
                    f.at,
                    &join(f.path, KIND.name),
                    "a push_failure fault needs `routing.push_timeout`: without it pushes always arrive and the fault would change nothing",
                );
                return None;
            }
            Some(FaultKind::PushFailure { dc })
        }
    }
}

/// Adds a jump to its DC's worst offset; refuses one that would take the
/// clock beyond [`MAX_CLOCK_OFFSET`], where its reading could overflow.
fn check_clock(cx: &mut Ctx, f: &Fault, dc: &str, reach: &mut u64, by: i64) {
    let worst = reach.saturating_add(by.unsigned_abs());
    if worst <= MAX_CLOCK_OFFSET {
        *reach = worst;
        return;
    }
    let at = f.t.get(BY.name).map_or(f.at, |v| v.at);
    cx.err(
        at,
        &f.key(&BY),
        format!(
            "the clock of \"{dc}\" could be off by {} (its skew plus its clock jumps); expected at most {} either way",
            show_duration(worst),
            show_duration(MAX_CLOCK_OFFSET)
        ),
    );
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
        if members.is_empty() {
            cx.err(
                g.at,
                key,
                "an empty group cuts nothing off: expected at least one datacenter name in each group",
            );
            return None;
        }
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

#[cfg(test)]
mod tests {
    use crate::scenario::{ScenarioError, load_str};

    const BASE: &str = "[simulation]\nduration = \"10s\"\ndrain = \"1s\"\n\
        [[datacenter]]\nname = \"a\"\nregion = \"r\"\n\
        [[datacenter]]\nname = \"b\"\nregion = \"r\"\n\
        [[link]]\nbetween = [\"a\", \"b\"]\nlatency = \"1ms\"\n\
        [[region]]\nname = \"r\"\nusers = 1\nlatency = { a = \"1ms\", b = \"2ms\" }\n\
        [workload]\nkeys = 10\nrate = 1\n\
        [[fault]]\nkind = \"dc_down\"\ndc = \"b\"\nat = \"5s\"\n";

    fn load(sets: &[&str]) -> Result<crate::scenario::Config, ScenarioError> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        load_str("t.toml", "t", BASE, &sets)
    }

    fn message(e: ScenarioError) -> String {
        e.diagnostics()
            .iter()
            .map(|d| format!("{}: {}", d.key, d.message))
            .collect()
    }

    #[test]
    fn a_fault_after_the_end_is_refused_unless_set_shortened_the_run() {
        assert_eq!(load(&[]).expect("valid").faults.len(), 1);
        // The file's fault is within the run; --set moves it past the end.
        let e = message(load(&["fault.0.at=\"12s\""]).expect_err("after the end"));
        assert!(e.starts_with("fault.0.at: the fault starts at 12s"), "{e}");
        // A run shortened by --set leaves the file's later fault out.
        let short = load(&["simulation.duration=\"2s\""]).expect("shortened");
        assert!(short.faults.is_empty());
        // At the very end it still happens.
        let edge = load(&["simulation.duration=\"4s\""]).expect("ends at 5s");
        assert_eq!(edge.faults.len(), 1);
    }
}
