//! Routing tables and the routers that read them.
//!
//! The control plane's authoritative table says who owns each shard now.
//! Every DC holds its own copy, read by its router (where a request goes)
//! and its write guard (whether the data layer accepts a write). Until tables
//! change at run time the copies equal the authoritative table.

use crate::ids::{DcId, ShardId};
use crate::scenario::{GlobalReads, OnWrongDc, RoutingConfig};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingTable {
    pub version: u32,
    pub owners: Vec<DcId>,
    /// The one DC that writes the global dataset.
    pub global_owner: DcId,
}

impl RoutingTable {
    #[inline]
    pub fn owner(&self, target: Target) -> DcId {
        match target {
            Target::Shard(s) => self.owners[s.idx()],
            Target::Global => self.global_owner,
        }
    }
}

/// What a request reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Shard(ShardId),
    Global,
}

/// A router's decision for a request that reached a DC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Serve,
    Forward(DcId),
    Reject,
}

pub struct Routing {
    pub authoritative: RoutingTable,
    copies: Vec<RoutingTable>,
    on_wrong_dc: OnWrongDc,
    write_guard: bool,
    global_reads: GlobalReads,
}

impl Routing {
    pub fn new(
        cfg: &RoutingConfig,
        global_reads: GlobalReads,
        table: RoutingTable,
        n_dcs: usize,
    ) -> Routing {
        Routing {
            copies: vec![table.clone(); n_dcs],
            authoritative: table,
            on_wrong_dc: cfg.on_wrong_dc,
            write_guard: cfg.write_guard,
            global_reads,
        }
    }

    /// The copy of the table DC `dc` holds.
    #[inline]
    pub fn copy(&self, dc: DcId) -> &RoutingTable {
        &self.copies[dc.idx()]
    }

    /// Where the router at `dc` sends a request for `target`.
    ///
    /// Global writes always go to the global owner, and global reads too
    /// unless `global_reads = "local"`: the global dataset has one writer by
    /// design, so `on_wrong_dc` governs only the sharded dataset.
    #[inline]
    pub fn route(&self, dc: DcId, target: Target, write: bool) -> Route {
        if target == Target::Global && !write && self.global_reads == GlobalReads::Local {
            return Route::Serve;
        }
        let owner = self.copy(dc).owner(target);
        if owner == dc {
            return Route::Serve;
        }
        if target == Target::Global {
            return Route::Forward(owner);
        }
        match self.on_wrong_dc {
            OnWrongDc::Forward => Route::Forward(owner),
            OnWrongDc::ServeLocal => Route::Serve,
            OnWrongDc::Reject => Route::Reject,
        }
    }

    /// Whether the data layer at `dc` refuses a write to `target`.
    #[inline]
    pub fn guard_refuses(&self, dc: DcId, target: Target) -> bool {
        self.write_guard && self.copy(dc).owner(target) != dc
    }

    /// Whether executing a request for `target` at `dc` is misrouted: not at
    /// the authoritative owner. Local reads of global data are by design.
    #[inline]
    pub fn misrouted(&self, dc: DcId, target: Target, write: bool) -> bool {
        if target == Target::Global && !write && self.global_reads == GlobalReads::Local {
            return false;
        }
        self.authoritative.owner(target) != dc
    }
}
