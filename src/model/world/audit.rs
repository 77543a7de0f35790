//! The end-of-run audit: what is still in flight counts as failed, then
//! every key is checked for divergence between DCs and for acknowledged
//! writes its final value lost.

use super::World;
use crate::ids::DcId;
use crate::time::SimTime;

/// A write applied at its origin whose client never got an ack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct UnackedWrite {
    /// The stored key (see `World::stored_key`).
    pub(super) key: u32,
    pub(super) origin: DcId,
    pub(super) seq: u32,
}

impl World {
    /// Counts what is still in flight as failed, and audits the final state.
    pub(super) fn finish(&mut self) {
        let last = self.end;
        let live: Vec<_> = self.requests.live_handles().collect();
        for (h, r) in live {
            self.requests.remove(h);
            self.metrics.totals.failed += 1;
            self.metrics.datasets[r.spec.dataset as usize].failed += 1;
            self.metrics.totals.in_flight_at_end += 1;
            self.metrics.at(last, r.entry_dc).failed += 1;
            if r.waits() {
                self.note_unacked(&r);
            }
            self.left();
        }
        self.audit_keys();
        self.metrics.totals.invariant_violations = self.checker.violations();
        self.sample_backlog(SimTime(
            self.metrics.n_buckets as u64 * self.metrics.bucket_ns,
        ));
        self.metrics.close();
    }

    /// `divergent_keys` and `lost_writes` after the drain.
    fn audit_keys(&mut self) {
        let n = self.n_dcs;
        self.unacked.sort_unstable();
        let mut divergent = 0;
        let mut lost = 0u64;
        // A key never written holds the initial value everywhere and has
        // no writes to lose: only written keys are looked at.
        let mut lineage = vec![0; n];
        // By record, in memory order (see `Storage::current_in`).
        for (r, &key) in self.storage.written_keys().iter().enumerate() {
            let first = self.storage.current_in(r, DcId(0));
            if (1..n).any(|d| self.storage.current_in(r, DcId(d as u16)) != first) {
                divergent += 1;
            }
            // The final value is the reference DC's: the owner's. Every
            // write off its lineage is lost, unless its client never got an ack.
            let target = self.keys.target_of(key, &self.sharding);
            let owner = self.routing.authoritative().owner(target);
            let here = self.lost_writes_of(r, key, self.reference_for(owner), &mut lineage);
            let d = self.keys.dataset_of(key);
            self.metrics.datasets[d].lost_writes += here;
            lost += here;
        }
        self.metrics.totals.divergent_keys = divergent;
        self.metrics.totals.lost_writes = lost;
    }

    /// The DC whose final value counts: the owner, or, if the owner is dead
    /// at the end (nobody moved its shards), the live DC nearest to it —
    /// what a recovery would start from. Writes only on dead DCs are lost.
    fn reference_for(&self, owner: DcId) -> DcId {
        if self.is_up(owner) {
            return owner;
        }
        (0..self.n_dcs)
            .map(|d| DcId(d as u16))
            .filter(|&d| self.is_up(d))
            .min_by_key(|&d| (self.topology.initial_median(owner, d), d))
            .unwrap_or(owner)
    }

    /// Acknowledged writes to `key` off the lineage of `reference`'s value.
    ///
    /// Per origin, the lineage counts say how many of its writes survive;
    /// the others are off it. Unacknowledged writes are set apart: those the
    /// value never saw (above its version vector) are off for sure; among
    /// those it saw, the holes the counts leave are charged to them first.
    /// Exact unless an unacknowledged write survived while an acknowledged
    /// one of the same origin, seen by the same value, was discarded.
    /// `r` is `key`'s record; `lineage` a buffer of one number per DC.
    fn lost_writes_of(&self, r: usize, key: u32, reference: DcId, lineage: &mut [u32]) -> u64 {
        let from = self.unacked.partition_point(|u| u.key < key);
        let unacked = &self.unacked[from..];
        let vv = self.storage.vv_in(r, reference);
        self.storage.lineage_into(r, reference, lineage);
        let mut lost = 0u64;
        for (o, (&seen, &kept)) in vv.iter().zip(&*lineage).enumerate() {
            let origin = DcId(o as u16);
            let written = self.storage.own_writes_in(r, origin);
            let off = u64::from(written - kept);
            if off == 0 {
                continue;
            }
            let mine = unacked
                .iter()
                .take_while(|u| u.key == key)
                .filter(|u| u.origin == origin);
            let (unseen, seen_unacked) = mine.fold((0u64, 0u64), |(a, b), u| {
                if u.seq > seen { (a + 1, b) } else { (a, b + 1) }
            });
            let holes = u64::from(seen - kept);
            lost += off - unseen - seen_unacked.min(holes);
        }
        lost
    }
}
