//! What one fault did, as `failures.csv` reports it.

use crate::ids::DcId;
use crate::time::{Nanos, SimTime};

/// `workload.global`'s dataset, among a failure's affected shards; global
/// dataset `g` is `GLOBAL_UNIT - g` (shards are numbered far below).
pub const GLOBAL_UNIT: u32 = u32::MAX;
/// Global datasets are numbered with a byte.
const GLOBALS: u32 = 256;

/// Global dataset `g`'s unit number in a failure record.
pub fn global_unit(g: usize) -> u32 {
    GLOBAL_UNIT - g as u32
}

/// The global dataset a unit number stands for, if it is one.
pub fn unit_global(u: u32) -> Option<usize> {
    (u > GLOBAL_UNIT - GLOBALS).then(|| (GLOBAL_UNIT - u) as usize)
}

/// What one fault did: when it was noticed and acted on, what it moved,
/// what data it put at risk (RPO) and how long writes took to come back (RTO).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureRecord {
    pub kind: &'static str,
    /// What failed: a DC, `a-b` for a link, the groups of a partition, the
    /// shards of a switchover.
    pub target: String,
    pub start: SimTime,
    pub end: Option<SimTime>,
    pub detected: Option<SimTime>,
    pub switched: Option<SimTime>,
    /// Where the affected shards went.
    pub moved_to: Option<DcId>,
    /// Affected shards, sorted (`global_unit(g)` for global dataset `g`).
    pub units: Vec<u32>,
    /// Per unit: a write arrived after the start / the first one acknowledged.
    pub attempted: Vec<bool>,
    pub first_ack: Vec<Option<SimTime>>,
    pub rpo_writes: u64,
    /// The oldest write counted in `rpo_writes`.
    pub rpo_oldest: Option<SimTime>,
    /// When the writes at risk stopped: the death of a source that died
    /// before the move began (an operator's move off a dead DC); `None`:
    /// the record's start.
    pub rpo_from: Option<SimTime>,
    /// A ban that ended at `max_ban` rather than when replication caught up.
    pub ban_timed_out: bool,
    /// Writes to the moved shards (acknowledged or not) the target lacked
    /// when it took over; they replicate if their DC comes back.
    pub stranded: u64,
    /// Requests to an affected shard refused after the start and before
    /// that shard's first acknowledged write since (its recovery).
    pub rejected: u64,
    pub started: bool,
}

impl FailureRecord {
    pub fn new(f: &crate::scenario::FaultConfig, names: &[&str]) -> FailureRecord {
        use crate::scenario::FaultKind as K;
        let target = match &f.kind {
            K::DcDown { dc } | K::ClockJump { dc, .. } | K::PushFailure { dc } => {
                names[dc.idx()].to_string()
            }
            K::LinkDown { a, b } | K::SlowLink { a, b, .. } => {
                format!("{}-{}", names[a.idx()], names[b.idx()])
            }
            K::ReplicationStall { from, to } => {
                format!("{}->{}", names[from.idx()], names[to.idx()])
            }
            K::Partition { groups } => groups
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|d| names[d.idx()])
                        .collect::<Vec<_>>()
                        .join("+")
                })
                .collect::<Vec<_>>()
                .join("|"),
            K::Switchover { shards, to } => {
                format!("{} shards to {}", shards.len(), names[to.idx()])
            }
        };
        FailureRecord::blank(f.kind.name(), target, SimTime(f.at))
    }

    /// A record of `kind` on `target` starting at `start`, nothing observed yet.
    pub fn blank(kind: &'static str, target: String, start: SimTime) -> FailureRecord {
        FailureRecord {
            kind,
            target,
            start,
            end: None,
            detected: None,
            switched: None,
            moved_to: None,
            units: Vec::new(),
            attempted: Vec::new(),
            first_ack: Vec::new(),
            rpo_writes: 0,
            rpo_oldest: None,
            rpo_from: None,
            ban_timed_out: false,
            stranded: 0,
            rejected: 0,
            started: false,
        }
    }

    /// The fault started or healed at `now`.
    pub fn note(&mut self, now: SimTime, start: bool) {
        if start {
            self.started = true;
            self.start = now;
        } else {
            self.end = Some(now);
        }
    }

    /// Starts watching `units` for the first acknowledged write.
    pub fn watch(&mut self, mut units: Vec<u32>) {
        // Looked up by binary search; global units are numbered downwards.
        units.sort_unstable();
        self.attempted = vec![false; units.len()];
        self.first_ack = vec![None; units.len()];
        self.units = units;
    }

    /// RPO: from the oldest write at risk to the failure; defined once
    /// shards have moved (0 when nothing was at risk).
    pub fn rpo_ns(&self) -> Option<Nanos> {
        self.switched?;
        let from = self.rpo_from.unwrap_or(self.start);
        Some(self.rpo_oldest.map_or(0, |t| from.since(t)))
    }

    /// (RTO, units left out for having no write attempts, units attempted
    /// but never written again). RTO is `None` when nothing was attempted or
    /// some attempted unit never recovered.
    pub fn rto(&self) -> (Option<Nanos>, usize, usize) {
        let mut worst = None;
        let mut left_out = 0;
        let mut unrecovered = 0;
        for (i, attempted) in self.attempted.iter().enumerate() {
            match (attempted, self.first_ack[i]) {
                (false, _) => left_out += 1,
                (true, None) => unrecovered += 1,
                (true, Some(t)) => worst = Some(worst.unwrap_or(0).max(t.since(self.start))),
            }
        }
        if unrecovered > 0 {
            worst = None;
        }
        (worst, left_out, unrecovered)
    }
}
