//! The fault timeline: when each fault starts and heals, and the state the
//! network and clock faults leave behind (stalled streams, clock offsets).
//! Link faults act on the topology, which recomputes its paths.

use super::topology::Topology;
use crate::ids::{DcId, FaultId};
use crate::scenario::{Config, FaultConfig, FaultKind};
use crate::time::SimTime;

/// Whether a fault begins or ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEdge {
    Starts,
    Heals,
}

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

    /// Every start and end, in list order. The scenario reader caps the
    /// number of faults far below `u16::MAX`.
    pub fn timeline(&self) -> Vec<(FaultId, SimTime, FaultEdge)> {
        let mut out = Vec::with_capacity(self.list.len() * 2);
        for (i, f) in self.list.iter().enumerate() {
            let fault = FaultId(u16::try_from(i).expect("the reader caps the fault count"));
            out.push((fault, SimTime(f.at), FaultEdge::Starts));
            if let Some(d) = f.duration {
                out.push((fault, SimTime(f.at).after(d), FaultEdge::Heals));
            }
        }
        out
    }

    /// Starts or heals `fault`'s effect on the network, streams and clocks.
    pub fn apply(&mut self, fault: FaultId, edge: FaultEdge, topology: &mut Topology) {
        let start = edge == FaultEdge::Starts;
        let f = &self.list[fault.idx()];
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
            // The world and the failover controller handle these.
            FaultKind::DcDown { .. }
            | FaultKind::Switchover { .. }
            | FaultKind::PushFailure { .. } => {}
        }
    }

    pub fn kind(&self, fault: FaultId) -> &FaultKind {
        &self.list[fault.idx()].kind
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
