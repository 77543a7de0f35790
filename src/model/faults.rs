//! The fault timeline: when each fault starts and heals, and the state the
//! network and clock faults leave behind (stalled streams, clock offsets).
//! Link faults act on the topology, which recomputes its paths.

use super::topology::Topology;
use crate::ids::DcId;
use crate::scenario::{Config, FaultConfig, FaultKind};
use crate::time::SimTime;

pub struct Faults {
    n: usize,
    list: Vec<FaultConfig>,
    /// `[src * n + dst]`: replication_stall faults holding the stream.
    stalls: Vec<u32>,
    /// Each DC's clock offset: its configured skew plus active jumps.
    offsets: Vec<i64>,
}

impl Faults {
    pub fn new(cfg: &Config) -> Faults {
        let n = cfg.datacenters.len();
        Faults {
            n,
            list: cfg.faults.clone(),
            stalls: vec![0; n * n],
            offsets: cfg.datacenters.iter().map(|d| d.clock_skew).collect(),
        }
    }

    /// Every start and end: (fault index, time, is_start).
    pub fn timeline(&self) -> Vec<(u16, SimTime, bool)> {
        let mut out = Vec::with_capacity(self.list.len() * 2);
        for (i, f) in self.list.iter().enumerate() {
            out.push((i as u16, SimTime(f.at), true));
            if let Some(d) = f.duration {
                out.push((i as u16, SimTime(f.at).after(d), false));
            }
        }
        out
    }

    /// Starts (`start`) or heals fault `index`.
    pub fn apply(&mut self, index: u16, start: bool, topology: &mut Topology) {
        let f = &self.list[index as usize];
        match &f.kind {
            FaultKind::LinkDown { a, b } => topology.set_link(*a, *b, !start),
            FaultKind::Partition { groups } => topology.set_partition(groups, !start),
            FaultKind::SlowLink { a, b, factor } => topology.slow_link(*a, *b, *factor, start),
            FaultKind::ReplicationStall { from, to } => {
                let s = &mut self.stalls[from.idx() * self.n + to.idx()];
                *s = if start { *s + 1 } else { s.saturating_sub(1) };
            }
            FaultKind::ClockJump { dc, by } => {
                self.offsets[dc.idx()] += if start { *by } else { -*by };
            }
            // Refused by the scenario reader until DC failures are built.
            FaultKind::DcDown { .. } | FaultKind::Switchover { .. } => {}
        }
    }

    pub fn kind(&self, index: u16) -> &FaultKind {
        &self.list[index as usize].kind
    }

    /// Whether a replication_stall holds the stream from `src` to `dst`.
    #[inline]
    pub fn stalled(&self, src: DcId, dst: DcId) -> bool {
        self.stalls[src.idx() * self.n + dst.idx()] > 0
    }

    /// What `dc`'s clock reads at `now`, in nanoseconds (signed: a skew may
    /// put it before the run's start).
    #[inline]
    pub fn clock(&self, dc: DcId, now: SimTime) -> i64 {
        now.ns() as i64 + self.offsets[dc.idx()]
    }
}
