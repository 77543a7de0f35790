//! Routing tables and the routers that read them.
//!
//! The control plane's authoritative table says who owns each shard now and
//! which shards are banned from writes (during a move). Each change is a new
//! version. Every DC holds its own copy, read by its router (where a request
//! goes) and its write guard (whether the data layer accepts a write), and
//! every user region's edge holds one (where `entry = "owner"` sends a
//! user). A copy takes a new version when it arrives, after
//! `routing.propagation`; copies only move forward. So a version older than
//! every copy can never be held again (a late arrival of it is ignored), and
//! is freed when the next version is published: the versions kept are those
//! from the oldest copy to the newest.

use crate::ids::{DcId, RegionId, ShardId};
use crate::scenario::{GlobalReads, OnWrongDc, RoutingConfig};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingTable {
    pub owners: Vec<DcId>,
    /// Per global dataset (`workload.global`'s first, see `keyspace`): the
    /// one DC that writes it.
    pub global_owners: Vec<DcId>,
    /// Shards whose writes are refused while they move.
    pub banned: Vec<bool>,
    /// Per global dataset: its writes are refused while it moves.
    pub global_banned: Vec<bool>,
}

impl RoutingTable {
    pub fn new(owners: Vec<DcId>, global_owners: Vec<DcId>) -> RoutingTable {
        let n = owners.len();
        let g = global_owners.len();
        RoutingTable {
            owners,
            global_owners,
            banned: vec![false; n],
            global_banned: vec![false; g],
        }
    }

    #[inline]
    pub fn owner(&self, target: Target) -> DcId {
        match target {
            Target::Shard(s) => self.owners[s.idx()],
            Target::Global(g) => self.global_owners[g as usize],
        }
    }

    #[inline]
    pub fn is_banned(&self, target: Target) -> bool {
        match target {
            Target::Shard(s) => self.banned[s.idx()],
            Target::Global(g) => self.global_banned[g as usize],
        }
    }
}

/// What a request reads or writes: a shard, or a global dataset (by its
/// global number: `workload.global`'s is 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Shard(ShardId),
    Global(u8),
}

/// A router's decision for a request that reached a DC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Serve,
    Forward(DcId),
    /// The client is told the owner and re-sends the request there.
    Redirect(DcId),
    Reject,
}

/// Who holds a copy of the table: DC routers and guards first, then region edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    Dc(DcId),
    Edge(RegionId),
}

pub struct Routing {
    /// The versions some holder has or may still take, from number `base`
    /// to the newest (the authoritative table).
    versions: Vec<RoutingTable>,
    base: u32,
    /// Version number each holder has: DCs `0..n`, then regions.
    copies: Vec<u32>,
    n_dcs: usize,
    on_wrong_dc: OnWrongDc,
    write_guard: bool,
    /// Per global dataset: where its reads go.
    global_reads: Vec<GlobalReads>,
    /// Where reads of the sharded dataset go (`sharding.reads`).
    shard_reads: GlobalReads,
    /// Per DC: `push_failure` faults making pushes to it fail now.
    push_failing: Vec<u32>,
}

impl Routing {
    pub fn new(
        cfg: &RoutingConfig,
        global_reads: Vec<GlobalReads>,
        table: RoutingTable,
        n_dcs: usize,
        n_regions: usize,
    ) -> Routing {
        Routing {
            versions: vec![table],
            base: 0,
            copies: vec![0; n_dcs + n_regions],
            n_dcs,
            on_wrong_dc: cfg.on_wrong_dc,
            write_guard: cfg.write_guard,
            global_reads,
            shard_reads: GlobalReads::Owner,
            push_failing: vec![0; n_dcs],
        }
    }

    /// Reads of the sharded dataset served where they enter (`Local`).
    pub fn set_shard_reads(&mut self, reads: GlobalReads) {
        self.shard_reads = reads;
    }

    /// Whether a read of `target` is served by any DC (a read copy).
    #[inline]
    fn local_read(&self, target: Target, write: bool) -> bool {
        !write
            && match target {
                Target::Global(g) => self.global_reads[g as usize] == GlobalReads::Local,
                Target::Shard(_) => self.shard_reads == GlobalReads::Local,
            }
    }

    /// The control plane's table now.
    #[inline]
    pub fn authoritative(&self) -> &RoutingTable {
        self.versions
            .last()
            .expect("there is always a first version")
    }

    /// The newest version number (0 for the scenario's placement). Version
    /// numbers count publishes: at most two per shard move, and moves are
    /// bounded by the scenario's faults, far below `u32::MAX`.
    pub fn version(&self) -> u32 {
        self.base + (self.versions.len() - 1) as u32
    }

    /// Versions kept now (see the module doc).
    pub fn kept_versions(&self) -> usize {
        self.versions.len()
    }

    /// Publishes a new authoritative version; returns its number. Holders
    /// take it when it arrives (`arrive`). Versions older than every copy
    /// are freed first.
    pub fn publish(&mut self, table: RoutingTable) -> u32 {
        debug_assert_eq!(table.owners.len(), self.authoritative().owners.len());
        let oldest_held = self.copies.iter().copied().min().unwrap_or(self.base);
        if oldest_held > self.base {
            // Few versions are kept: moving the rest down is cheap.
            self.versions.drain(..(oldest_held - self.base) as usize);
            self.base = oldest_held;
        }
        self.versions.push(table);
        self.version()
    }

    /// Where holder `h`'s copy is noted in `copies`.
    fn holder_index(&self, h: Holder) -> usize {
        match h {
            Holder::Dc(d) => d.idx(),
            Holder::Edge(r) => self.n_dcs + r.idx(),
        }
    }

    /// Every holder of a copy: the DCs in order, then the region edges.
    pub fn holders(&self) -> impl Iterator<Item = Holder> + use<> {
        let n_dcs = self.n_dcs;
        (0..self.copies.len()).map(move |h| {
            if h < n_dcs {
                Holder::Dc(DcId(h as u16))
            } else {
                Holder::Edge(RegionId((h - n_dcs) as u16))
            }
        })
    }

    /// Version `v` reaches holder `h` (an older one than it has is ignored).
    pub fn arrive(&mut self, h: Holder, v: u32) {
        let i = self.holder_index(h);
        self.copies[i] = self.copies[i].max(v);
    }

    /// The copy of the table a holder has.
    #[inline]
    pub fn copy(&self, h: Holder) -> &RoutingTable {
        self.version_table(self.copies[self.holder_index(h)])
    }

    #[inline]
    fn dc_copy(&self, dc: DcId) -> &RoutingTable {
        self.version_table(self.copies[dc.idx()])
    }

    /// Version `v`, which some holder has (so it is kept).
    #[inline]
    fn version_table(&self, v: u32) -> &RoutingTable {
        &self.versions[(v - self.base) as usize]
    }

    /// A `push_failure` fault on `dc` starts (`true`) or heals.
    pub fn set_push_failing(&mut self, dc: DcId, failing: bool) {
        let c = &mut self.push_failing[dc.idx()];
        *c = if failing { *c + 1 } else { c.saturating_sub(1) };
    }

    /// Whether pushes of table versions to `dc` fail now.
    #[inline]
    pub fn push_fails(&self, dc: DcId) -> bool {
        self.push_failing[dc.idx()] > 0
    }

    /// The version number holder `h` has.
    #[inline]
    pub fn copy_version(&self, h: Holder) -> u32 {
        self.copies[self.holder_index(h)]
    }

    /// Where the router at `dc` sends a request for `target`.
    ///
    /// Global writes always go to their dataset's writer, and global reads
    /// too unless its reads are `local`: a global dataset has one writer by
    /// design, so `on_wrong_dc` governs only the sharded datasets. A write to
    /// a shard the router's copy bans is refused.
    #[inline]
    pub fn route(&self, dc: DcId, target: Target, write: bool) -> Route {
        if self.local_read(target, write) {
            return Route::Serve;
        }
        let table = self.dc_copy(dc);
        if write && table.is_banned(target) {
            return Route::Reject;
        }
        let owner = table.owner(target);
        if owner == dc {
            return Route::Serve;
        }
        if let Target::Global(_) = target {
            return Route::Forward(owner);
        }
        match self.on_wrong_dc {
            OnWrongDc::Forward => Route::Forward(owner),
            OnWrongDc::Redirect => Route::Redirect(owner),
            OnWrongDc::ServeLocal => Route::Serve,
            OnWrongDc::Reject => Route::Reject,
        }
    }

    /// Whether the data layer at `dc` refuses a write to `target`: the
    /// guard's copy gives the shard to another DC, or bans it.
    #[inline]
    pub fn guard_refuses(&self, dc: DcId, target: Target) -> bool {
        let table = self.dc_copy(dc);
        self.write_guard && (table.owner(target) != dc || table.is_banned(target))
    }

    /// Whether executing a request for `target` at `dc` is misrouted: not at
    /// the authoritative owner. Local reads of global data are by design.
    #[inline]
    pub fn misrouted(&self, dc: DcId, target: Target, write: bool) -> bool {
        if self.local_read(target, write) {
            return false;
        }
        self.authoritative().owner(target) != dc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_default;

    fn routing(n_dcs: usize, n_regions: usize) -> Routing {
        let cfg = load_default(&[]).expect("the default scenario is valid");
        let table = RoutingTable::new(vec![DcId(0); 4], vec![DcId(0)]);
        Routing::new(
            &cfg.routing,
            vec![GlobalReads::Owner],
            table,
            n_dcs,
            n_regions,
        )
    }

    fn moved(r: &Routing, shard: usize, to: u16) -> RoutingTable {
        let mut t = r.authoritative().clone();
        t.owners[shard] = DcId(to);
        t
    }

    #[test]
    fn many_switchovers_that_reach_everyone_keep_two_versions() {
        let mut r = routing(3, 2);
        for i in 0..2_000u32 {
            let v = r.publish(moved(&r, (i % 4) as usize, (i % 3) as u16));
            assert_eq!(v, i + 1);
            for h in r.holders() {
                r.arrive(h, v);
            }
            // The new version, and the one before it (freed at the next publish).
            assert!(r.kept_versions() <= 2, "{} kept", r.kept_versions());
        }
        assert_eq!(r.version(), 2_000);
        assert_eq!(r.copy(Holder::Edge(RegionId(1))), r.authoritative());
    }

    #[test]
    fn a_lagging_holder_keeps_its_version_and_every_later_one() {
        let mut r = routing(2, 1);
        let first = r.authoritative().clone();
        for _ in 0..10 {
            let v = r.publish(moved(&r, 0, 1));
            r.arrive(Holder::Dc(DcId(0)), v);
            r.arrive(Holder::Edge(RegionId(0)), v);
        }
        // DC 1 still has version 0: nothing could be freed.
        assert_eq!(r.kept_versions(), 11);
        assert_eq!(r.copy(Holder::Dc(DcId(1))), &first);
        r.arrive(Holder::Dc(DcId(1)), 7);
        r.arrive(Holder::Dc(DcId(1)), 3); // late and older: ignored
        let v = r.publish(moved(&r, 1, 1));
        // Versions 7 to 11 remain.
        assert_eq!(r.kept_versions(), 5);
        assert_eq!(r.version(), v);
        assert_eq!(r.copy(Holder::Dc(DcId(0))).owners[0], DcId(1));
    }
}
