//! `[routing]`, `[replication]` and `[failover]`: how requests find their
//! shard's owner, how writes reach the other DCs, and how shards move when a
//! DC dies.

use super::Dist;
use super::dist_table::read_dist;
use super::keys::{Key, KeyDefault, Section, Type};
use super::readers::{
    Ctx, DcNames, Named, boolean, choice_or, duration, int, join, names, number, positive_duration,
};
use super::tree::{Node, Table, Val};
use super::workload::MAX_RATE;
use crate::time::{NS_PER_S, Nanos};

/// Users reach the DC closest to them, as DNS and anycast do.
const ENTRY: Entry = Entry::Nearest;
/// Forwarding keeps a wrongly routed request correct at the cost of a hop.
const ON_WRONG_DC: OnWrongDc = OnWrongDc::Forward;
/// The systems modelled all guard writes at the data layer.
const WRITE_GUARD: bool = true;
/// A new table reaches every holder at once unless the scenario says not.
const PROPAGATION: Nanos = 0;
/// Cross-DC replication is asynchronous in most of the systems modelled.
const MODE: ReplMode = ReplMode::Async;
/// Last writer wins: what binlog-replicated databases do by default.
const RESOLVE: Resolve = Resolve::Lww;
/// Replication adds nothing to the link's delay unless the scenario says.
const DELAY: Nanos = 0;
/// A write waiting for remote acks fails after this long: well above any
/// healthy cross-region round trip, short enough to show in a run.
const ACK_TIMEOUT: Nanos = 5 * NS_PER_S;
/// Log entries blocked streams may hold before they are compacted.
const COMPACT_AFTER: u64 = 1 << 18;
const MAX_COMPACT_AFTER: i128 = 1 << 40;
/// A controller that does not act is a drill setting, not the norm.
const AUTO: bool = true;
/// Detection of a dead DC by heartbeats: ≈ 10 s in the systems described.
const DETECT_AFTER: Nanos = 10 * NS_PER_S;
/// The controller acts as soon as it knows.
const DECIDE_AFTER: Nanos = 0;
/// The procedure that loses nothing a live source still holds.
const PROCEDURE: Procedure = Procedure::BanThenSwitch;
/// Writes stay banned at most this long while replication catches up.
const MAX_BAN: Nanos = 30 * NS_PER_S;
/// Retries of a failed push before the rollback. MSHA retries for up to two
/// hours; three retries of a short timeout show the same shape in a run.
const PUSH_RETRIES: u32 = 3;
/// The most retries a scenario may ask for.
const MAX_PUSH_RETRIES: i128 = 1_000_000;
/// Today's whole-shard ban unless the scenario asks for Eleme's record fence.
const FENCE: Fence = Fence::Shard;
/// Shards come home only when the scenario asks: failback is a decision.
const FAILBACK: bool = false;
/// `failover.target`'s word besides a DC name.
const NEAREST: &str = "nearest";

names! {
    /// Where a request enters.
    pub enum Entry {
        Nearest = "nearest",
        Owner = "owner",
        Random = "random",
    }
}

names! {
    /// What a router does with a request for a shard it does not own.
    pub enum OnWrongDc {
        Forward = "forward",
        ServeLocal = "serve_local",
        Reject = "reject",
        Redirect = "redirect",
    }
}

names! {
    /// When a write is acknowledged.
    pub enum ReplMode {
        Async = "async",
        SemiSync = "semi_sync",
        Quorum = "quorum",
        Sync = "sync",
    }
}

names! {
    /// How a replica settles a conflict.
    pub enum Resolve {
        Lww = "lww",
        OriginPriority = "origin_priority",
    }
}

names! {
    /// How shards move off a dead DC (or in a drill).
    pub enum Procedure {
        Switch = "switch",
        BanThenSwitch = "ban_then_switch",
    }
}

names! {
    /// What `ban_then_switch` holds back while a move's target catches up.
    pub enum Fence {
        /// Every write to the moving shards, everywhere, until the switch.
        Shard = "shard",
        /// At the target, after an immediate switch, only writes to records
        /// last modified before the move began.
        Record = "record",
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoutingConfig {
    pub entry: Entry,
    pub on_wrong_dc: OnWrongDc,
    pub write_guard: bool,
    pub propagation: Dist,
    /// A push not arrived within it is retried; `None`: pushes never fail.
    pub push_timeout: Option<Nanos>,
    pub push_retries: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReplicationConfig {
    pub mode: ReplMode,
    pub resolve: Resolve,
    /// How long a write waits for the remote acks its mode needs before it
    /// fails (it stays applied at its origin and replicates).
    pub ack_timeout: Nanos,
    /// Writes per second one stream applies; `None`: unlimited.
    pub apply_rate: Option<f64>,
    /// A dead leader's units have a new data leader after it; `None`: as
    /// soon as the controller switches.
    pub election_timeout: Option<Nanos>,
    /// A DC refuses writes while one of its outgoing streams (to a live DC)
    /// lags more than this; `None`: never.
    pub max_lag: Option<Nanos>,
    /// A fixed processing delay (capture + apply) every shipped write pays
    /// on top of the link's delay; 0 by default.
    pub delay: Nanos,
    /// Entries a source's log may hold before what only blocked streams
    /// still need is compacted to the latest write of each key.
    pub compact_after: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverTarget {
    Nearest,
    Dc(crate::ids::DcId),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FailoverConfig {
    pub auto: bool,
    pub detect_after: Nanos,
    pub decide_after: Nanos,
    pub procedure: Procedure,
    pub max_ban: Nanos,
    pub fence: Fence,
    pub target: FailoverTarget,
    pub failback: bool,
}

const ENTRY_KEY: Key = Key::new(
    "entry",
    Type::OneOf(Entry::SPELLINGS),
    KeyDefault::Name(ENTRY.name()),
    "where DNS lands a request: the user's nearest live DC, a random live DC weighted by its `servers` (unlimited servers weigh as the largest finite DC, all alike when every DC is unlimited), or the owner of the user's shard (the region's edge routes by its own copy of the table)",
);
const ON_WRONG_DC_KEY: Key = Key::new(
    "on_wrong_dc",
    Type::OneOf(OnWrongDc::SPELLINGS),
    KeyDefault::Name(ON_WRONG_DC.name()),
    "what a router does with a request for a shard its copy of the table gives to another DC: forward it to the owner, serve it locally, reject it, or redirect the client, who re-sends it to the owner over its own access latency (global data always goes to its owner)",
);
const WRITE_GUARD_KEY: Key = Key::new(
    "write_guard",
    Type::Bool,
    KeyDefault::Bool(WRITE_GUARD),
    "the data layer refuses writes for shards its copy of the table gives to another DC",
);
const PROPAGATION_KEY: Key = Key::new(
    "propagation",
    Type::Dist,
    KeyDefault::Duration(PROPAGATION),
    "the delay until each DC's router and guard, and each region's edge, hold a new table version (each draws its own)",
);
const PUSH_TIMEOUT_KEY: Key = Key::new(
    "push_timeout",
    Type::PositiveDuration,
    KeyDefault::Absent("pushes always arrive"),
    "how long the controller waits for a pushed table version to reach a live DC: a push held by a `push_failure` fault, or whose propagation draw is longer, is retried",
);
const PUSH_RETRIES_KEY: Key = Key::new(
    "push_retries",
    Type::Int {
        min: 0,
        max: MAX_PUSH_RETRIES,
    },
    KeyDefault::Int(PUSH_RETRIES as u64),
    "how many times a failed push is retried (each after `push_timeout`) before the controller rolls every holder back to the table the DC still holds (only with `push_timeout`)",
);

pub(super) const ROUTING_SECTION: Section = Section {
    path: "routing",
    array: false,
    variant: None,
    about: "How a request finds its shard's owner. Every router, write guard and edge holds its own copy of the routing table.",
    keys: &[
        ENTRY_KEY,
        ON_WRONG_DC_KEY,
        WRITE_GUARD_KEY,
        PROPAGATION_KEY,
        PUSH_TIMEOUT_KEY,
        PUSH_RETRIES_KEY,
    ],
};

const MODE_KEY: Key = Key::new(
    "mode",
    Type::OneOf(ReplMode::SPELLINGS),
    KeyDefault::Name(MODE.name()),
    "when a write is acknowledged: at once (`async`), once one remote DC applied it (`semi_sync`), once a majority of the DCs has it (`quorum`), or once every DC has it (`sync`)",
);
const RESOLVE_KEY: Key = Key::new(
    "resolve",
    Type::OneOf(Resolve::SPELLINGS),
    KeyDefault::Name(RESOLVE.name()),
    "how a replica settles a conflict: the last writer by its origin's clock wins (`lww`), or the origin listed first among the [[datacenter]]s wins",
);
const APPLY_RATE: Key = Key::new(
    "apply_rate",
    Type::Number {
        min: 0.0,
        max: MAX_RATE,
        open_min: true,
    },
    KeyDefault::Absent("unlimited"),
    "writes per second one stream (one source to one destination) applies",
);
const ACK_TIMEOUT_KEY: Key = Key::new(
    "ack_timeout",
    Type::PositiveDuration,
    KeyDefault::Duration(ACK_TIMEOUT),
    "how long a write waits for the remote acks its mode needs; then it fails under `quorum` and `sync` (it stays applied at its origin and replicates) and is acknowledged under `semi_sync`, which then switches off at its DC (releasing the writes waiting with it) until a replica applies its writes again",
);
const ELECTION_TIMEOUT_KEY: Key = Key::new(
    "election_timeout",
    Type::Duration,
    KeyDefault::Absent("the data layer follows the controller's switch"),
    "under `quorum` or `sync` only: when a DC dies, the shards it owned have no data leader until this long after, whatever the controller does; their writes are rejected meanwhile (`no_leader`)",
);

const MAX_LAG_KEY: Key = Key::new(
    "max_lag",
    Type::PositiveDuration,
    KeyDefault::Absent("no limit"),
    "a DC refuses writes (`lag_refused`) while any of its streams to a live DC lags more than this: the age of the oldest write the destination has not applied (MSHA's DTS delay policy); bounds RPO at the cost of availability",
);

const DELAY_KEY: Key = Key::new(
    "delay",
    Type::Duration,
    KeyDefault::Duration(DELAY),
    "a fixed processing delay every write pays on each stream on top of the link's delay (the pipeline's capture and apply, such as a binlog tailer's): lag = link delay + this + queueing; streams stay in order",
);

const COMPACT_AFTER_KEY: Key = Key::new(
    "compact_after",
    Type::Int {
        min: 1,
        max: MAX_COMPACT_AFTER,
    },
    KeyDefault::Int(COMPACT_AFTER),
    "log entries a source may hold for streams that cannot deliver (destination down or cut off); beyond it, what only those streams still need is compacted to the latest write of each key, which is what they ship when they can again: a destination that never returns pins at most about this many entries plus one per key",
);

pub(super) const REPLICATION_SECTION: Section = Section {
    path: "replication",
    array: false,
    variant: None,
    about: "How writes reach the other DCs: each origin's log is pulled by one stream per destination, in order.",
    keys: &[
        MODE_KEY,
        RESOLVE_KEY,
        APPLY_RATE,
        ACK_TIMEOUT_KEY,
        ELECTION_TIMEOUT_KEY,
        MAX_LAG_KEY,
        DELAY_KEY,
        COMPACT_AFTER_KEY,
    ],
};

const AUTO_KEY: Key = Key::new(
    "auto",
    Type::Bool,
    KeyDefault::Bool(AUTO),
    "the controller moves a dead DC's shards by itself",
);
const DETECT_AFTER_KEY: Key = Key::new(
    "detect_after",
    Type::Duration,
    KeyDefault::Duration(DETECT_AFTER),
    "from a DC's death (or return) to its detection",
);
const DECIDE_AFTER_KEY: Key = Key::new(
    "decide_after",
    Type::Duration,
    KeyDefault::Duration(DECIDE_AFTER),
    "from detection to action",
);
const PROCEDURE_KEY: Key = Key::new(
    "procedure",
    Type::OneOf(Procedure::SPELLINGS),
    KeyDefault::Name(PROCEDURE.name()),
    "how shards move: `switch` at once, or ban writes on the moving shards, wait until the target has applied what the sources wrote (at most `max_ban`), switch and re-open writes",
);
const MAX_BAN_KEY: Key = Key::new(
    "max_ban",
    Type::Duration,
    KeyDefault::Duration(MAX_BAN),
    "the longest a ban waits for replication to catch up",
);
const FENCE_KEY: Key = Key::new(
    "fence",
    Type::OneOf(Fence::SPELLINGS),
    KeyDefault::Name(FENCE.name()),
    "what `ban_then_switch` holds back: writes to the whole moving shards everywhere until the switch (`shard`), or (`record`, Eleme's fence) it switches at once and the target refuses only writes to records last modified before the move began, until it has applied what the sources logged before then (at most `max_ban`)",
);
const TARGET: Key = Key::new(
    "target",
    Type::Other("\"nearest\" or a datacenter name"),
    KeyDefault::Name(NEAREST),
    "where a dead DC's shards go: the live DC nearest to it by median latency, or the named DC",
);
const FAILBACK_KEY: Key = Key::new(
    "failback",
    Type::Bool,
    KeyDefault::Bool(FAILBACK),
    "move the shards back once the DC's return is detected, with the same procedure",
);

pub(super) const FAILOVER_SECTION: Section = Section {
    path: "failover",
    array: false,
    variant: None,
    about: "The detector and the controller that move shards off a dead DC; a `switchover` fault uses the same procedure.",
    keys: &[
        AUTO_KEY,
        DETECT_AFTER_KEY,
        DECIDE_AFTER_KEY,
        PROCEDURE_KEY,
        MAX_BAN_KEY,
        FENCE_KEY,
        TARGET,
        FAILBACK_KEY,
    ],
};

fn flag(cx: &mut Ctx, t: &Table, path: &str, key: &Key, default: bool) -> Option<bool> {
    t.get(key.name)
        .map_or(Some(default), |v| boolean(cx, v, &join(path, key.name)))
}

fn wait(cx: &mut Ctx, t: &Table, path: &str, key: &Key, default: Nanos) -> Option<Nanos> {
    t.get(key.name)
        .map_or(Some(default), |v| duration(cx, v, &join(path, key.name)))
}

pub(super) fn read_routing(cx: &mut Ctx, n: &Node) -> Option<RoutingConfig> {
    const R: &str = "routing";
    let t = cx.table(n, R, ROUTING_SECTION.keys)?;
    let entry = choice_or(cx, t, R, ENTRY_KEY.name, ENTRY);
    let wrong = choice_or(cx, t, R, ON_WRONG_DC_KEY.name, ON_WRONG_DC);
    let guard = flag(cx, t, R, &WRITE_GUARD_KEY, WRITE_GUARD);
    let prop = t
        .get(PROPAGATION_KEY.name)
        .map_or(Some(Dist::Const(PROPAGATION)), |v| {
            read_dist(cx, v, "routing.propagation")
        });
    let push_timeout = t
        .get(PUSH_TIMEOUT_KEY.name)
        .map(|v| positive_duration(cx, v, "routing.push_timeout"));
    let retries = t
        .get(PUSH_RETRIES_KEY.name)
        .map_or(Some(PUSH_RETRIES), |v| {
            int(cx, v, "routing.push_retries", 0, MAX_PUSH_RETRIES).map(|r| r as u32)
        });
    Some(RoutingConfig {
        entry: entry?,
        on_wrong_dc: wrong?,
        write_guard: guard?,
        propagation: prop?,
        push_timeout: match push_timeout {
            Some(p) => Some(p?),
            None => None,
        },
        push_retries: retries?,
    })
}

pub(super) fn read_replication(cx: &mut Ctx, n: &Node) -> Option<ReplicationConfig> {
    const R: &str = "replication";
    let t = cx.table(n, R, REPLICATION_SECTION.keys)?;
    let mode = choice_or(cx, t, R, MODE_KEY.name, MODE);
    let resolve = choice_or(cx, t, R, RESOLVE_KEY.name, RESOLVE);
    let rate = t
        .get(APPLY_RATE.name)
        .map(|v| number(cx, v, "replication.apply_rate", 0.0, MAX_RATE, true));
    let ack_timeout = t.get(ACK_TIMEOUT_KEY.name).map_or(Some(ACK_TIMEOUT), |v| {
        positive_duration(cx, v, "replication.ack_timeout")
    });
    let election = t.get(ELECTION_TIMEOUT_KEY.name).map(|v| {
        let d = duration(cx, v, "replication.election_timeout")?;
        if let Some(m) = mode
            && !matches!(m, ReplMode::Quorum | ReplMode::Sync)
        {
            cx.err(
                v.at,
                "replication.election_timeout",
                format!(
                    "a data-leader election needs a consensus data layer: set `replication.mode` to \"quorum\" or \"sync\" (it is \"{}\"), or remove the key",
                    m.name()
                ),
            );
            return None;
        }
        Some(d)
    });
    let max_lag = t
        .get(MAX_LAG_KEY.name)
        .map(|v| positive_duration(cx, v, "replication.max_lag"));
    let delay = wait(cx, t, R, &DELAY_KEY, DELAY);
    let compact_after = t
        .get(COMPACT_AFTER_KEY.name)
        .map_or(Some(COMPACT_AFTER), |v| {
            int(cx, v, "replication.compact_after", 1, MAX_COMPACT_AFTER).map(|c| c as u64)
        });
    Some(ReplicationConfig {
        delay: delay?,
        compact_after: compact_after?,
        election_timeout: match election {
            Some(e) => Some(e?),
            None => None,
        },
        mode: mode?,
        resolve: resolve?,
        ack_timeout: ack_timeout?,
        apply_rate: match rate {
            Some(r) => Some(r?),
            None => None,
        },
        max_lag: match max_lag {
            Some(l) => Some(l?),
            None => None,
        },
    })
}

pub(super) fn read_failover(cx: &mut Ctx, n: &Node, names: &DcNames) -> Option<FailoverConfig> {
    const F: &str = "failover";
    let t = cx.table(n, F, FAILOVER_SECTION.keys)?;
    let auto = flag(cx, t, F, &AUTO_KEY, AUTO);
    let detect = wait(cx, t, F, &DETECT_AFTER_KEY, DETECT_AFTER);
    let decide = wait(cx, t, F, &DECIDE_AFTER_KEY, DECIDE_AFTER);
    let procedure = choice_or(cx, t, F, PROCEDURE_KEY.name, PROCEDURE);
    let max_ban = wait(cx, t, F, &MAX_BAN_KEY, MAX_BAN);
    let fence = choice_or(cx, t, F, FENCE_KEY.name, FENCE);
    if let (Some(Fence::Record), Some(Procedure::Switch), Some(v)) =
        (fence, procedure, t.get(FENCE_KEY.name))
    {
        cx.err(
            v.at,
            "failover.fence",
            "a record fence is a way to ban: it needs procedure = \"ban_then_switch\" (`switch` holds nothing back)",
        );
    }
    let target = match t.get(TARGET.name) {
        None => Some(FailoverTarget::Nearest),
        Some(v) => match &v.val {
            Val::Str(s) if s == NEAREST => Some(FailoverTarget::Nearest),
            _ => names
                .find_or(cx, v, "failover.target", Some(NEAREST))
                .map(FailoverTarget::Dc),
        },
    };
    let failback = flag(cx, t, F, &FAILBACK_KEY, FAILBACK);
    Some(FailoverConfig {
        auto: auto?,
        detect_after: detect?,
        decide_after: decide?,
        procedure: procedure?,
        max_ban: max_ban?,
        fence: fence?,
        target: target?,
        failback: failback?,
    })
}
