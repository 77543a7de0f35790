//! Each DC's copy of the data, and the rules that apply a replicated write.
//!
//! For every key a replica holds its current value's identity — the write
//! that produced it, as (origin DC, that origin's sequence number for the
//! key) — its timestamp, and its version vector: for each origin, the
//! highest sequence number of that origin's writes the value includes. The
//! version vector is the value's own (the producing write's), never a merge,
//! so a write discarded by conflict resolution is visibly not included.
//!
//! A value also carries its lineage counts: for each origin, how many of its
//! writes lie on the chain of `based_on` links that produced the value. A
//! write on that chain survives in the value (later writers read it); one
//! off the chain was discarded by conflict resolution or never arrived: the
//! basis of `lost_writes`. Version vector and lineage counts travel together
//! as the value's *meta* vector, `2 × DCs` numbers.
//!
//! Memory per key and DC: 2 (origin) + 8 (timestamp) + 4 (own write count)
//! + 8 × DCs (version vector and lineage counts) bytes.

use crate::ids::DcId;
use crate::scenario::Resolve;

/// No write yet.
pub const NONE: u16 = u16::MAX;

/// The identity of a value: the write that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VersionId {
    pub origin: u16,
    pub seq: u32,
}

impl VersionId {
    pub const INITIAL: VersionId = VersionId {
        origin: NONE,
        seq: 0,
    };
}

/// A write as it leaves its origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteRec {
    pub key: u32,
    pub origin: DcId,
    pub seq: u32,
    /// Origin's clock when written, made at least one above the base's
    /// timestamp so that a write always sorts after what it overwrote.
    pub ts: i64,
    pub based_on: VersionId,
}

/// What applying a replicated write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The replica's value already includes it (it came by another path).
    Stale,
    /// Based on the replica's current value: applied.
    InOrder,
    /// Based on a later version than the replica's, whose history includes
    /// it: applied, skipping versions the replica has not seen yet.
    FastForward,
    /// Based on another value: a conflict, which this write won.
    ConflictWon,
    /// A conflict, which this write lost: discarded here.
    ConflictLost,
}

pub struct Storage {
    n: usize,
    keys: usize,
    origin: Vec<u16>,
    ts: Vec<i64>,
    own: Vec<u32>,
    /// `[dc][key]`: the version vector (`n`), then the lineage counts (`n`).
    meta: Vec<u32>,
    resolve: Resolve,
    /// Each DC's rank when DCs are sorted by name: LWW's tie-break.
    name_rank: Vec<u16>,
    /// Debug builds check that replication never reorders one origin's
    /// writes to a key: `[dc][key][origin]`, the last sequence number received.
    #[cfg(debug_assertions)]
    received: Vec<u32>,
}

impl Storage {
    /// Bytes one DC's copy of one key takes with `n_dcs` DCs: one element
    /// of each vector below (`meta` has `2 × DCs`, debug builds' `received`
    /// `DCs`). `footprint` sizes a run from it.
    pub const fn bytes_per_copy(n_dcs: usize) -> usize {
        let debug = if cfg!(debug_assertions) {
            n_dcs * size_of::<u32>()
        } else {
            0
        };
        size_of::<u16>()
            + size_of::<i64>()
            + size_of::<u32>()
            + 2 * n_dcs * size_of::<u32>()
            + debug
    }

    /// Storage for the DCs named `names` (in `[[datacenter]]` order).
    pub fn new(names: &[&str], keys: u64, resolve: Resolve) -> Storage {
        let n_dcs = names.len();
        let keys = keys as usize;
        let mut order: Vec<usize> = (0..n_dcs).collect();
        order.sort_by_key(|&i| names[i]);
        let mut name_rank = vec![0; n_dcs];
        for (rank, &i) in order.iter().enumerate() {
            name_rank[i] = rank as u16;
        }
        Storage {
            n: n_dcs,
            keys,
            origin: vec![NONE; n_dcs * keys],
            ts: vec![i64::MIN; n_dcs * keys],
            own: vec![0; n_dcs * keys],
            meta: vec![0; n_dcs * keys * 2 * n_dcs],
            resolve,
            name_rank,
            #[cfg(debug_assertions)]
            received: vec![0; n_dcs * keys * n_dcs],
        }
    }

    #[inline]
    fn cell(&self, dc: DcId, key: u32) -> usize {
        dc.idx() * self.keys + key as usize
    }

    /// Start of `dc`'s meta vector for `key`.
    #[inline]
    fn at(&self, dc: DcId, key: u32) -> usize {
        self.cell(dc, key) * 2 * self.n
    }

    #[inline]
    pub fn current(&self, dc: DcId, key: u32) -> VersionId {
        let s = self.cell(dc, key);
        let origin = self.origin[s];
        if origin == NONE {
            return VersionId::INITIAL;
        }
        VersionId {
            origin,
            seq: self.meta[self.at(dc, key) + origin as usize],
        }
    }

    /// The meta vector (version vector, then lineage counts) of `dc`'s
    /// current value of `key`: what a write produced there carries along.
    #[inline]
    pub fn meta(&self, dc: DcId, key: u32) -> &[u32] {
        let m = self.at(dc, key);
        &self.meta[m..m + 2 * self.n]
    }

    /// The version vector of `dc`'s current value of `key`.
    #[inline]
    pub fn vv(&self, dc: DcId, key: u32) -> &[u32] {
        &self.meta(dc, key)[..self.n]
    }

    /// Per origin, how many of its writes are on the lineage of `dc`'s value.
    #[inline]
    pub fn lineage(&self, dc: DcId, key: u32) -> &[u32] {
        &self.meta(dc, key)[self.n..]
    }

    /// Whether `dc`'s value of `key` has seen write `seq` of `origin`.
    #[inline]
    pub fn includes(&self, dc: DcId, key: u32, origin: DcId, seq: u32) -> bool {
        self.meta[self.at(dc, key) + origin.idx()] >= seq
    }

    /// Writes `origin` has made to `key` so far.
    pub fn own_writes(&self, origin: DcId, key: u32) -> u32 {
        self.own[self.cell(origin, key)]
    }

    /// Applies a client's write at `dc`, whose clock reads `clock`.
    #[inline]
    pub fn write_local(&mut self, dc: DcId, key: u32, clock: i64) -> WriteRec {
        let s = self.cell(dc, key);
        let m = self.at(dc, key);
        let based_on = self.current(dc, key);
        let ts = clock.max(self.ts[s].saturating_add(1));
        self.own[s] += 1;
        let seq = self.own[s];
        self.origin[s] = dc.0;
        self.ts[s] = ts;
        self.meta[m + dc.idx()] = seq;
        self.meta[m + self.n + dc.idx()] += 1;
        WriteRec {
            key,
            origin: dc,
            seq,
            ts,
            based_on,
        }
    }

    /// Applies a write replicated to `dc`; `meta` is the write's own meta vector.
    #[inline]
    pub fn apply_remote(&mut self, dc: DcId, w: &WriteRec, meta: &[u32]) -> Applied {
        let s = self.cell(dc, w.key);
        let m = self.at(dc, w.key);
        let n = self.n;
        #[cfg(debug_assertions)]
        {
            let last = &mut self.received[s * n + w.origin.idx()];
            assert!(
                w.seq > *last,
                "replication reordered {}'s writes to key {}: {} after {}",
                w.origin.0,
                w.key,
                w.seq,
                last
            );
            *last = w.seq;
        }
        if self.meta[m + w.origin.idx()] >= w.seq {
            return Applied::Stale;
        }
        let current = self.current(dc, w.key);
        let dominates = || {
            self.meta[m..m + n]
                .iter()
                .zip(&meta[..n])
                .all(|(have, new)| new >= have)
        };
        let outcome = if current == w.based_on {
            Applied::InOrder
        } else if dominates() {
            // The write's history includes the value here: this replica only
            // missed versions in between (they come later, from their own
            // origin's stream). Not a conflict.
            Applied::FastForward
        } else if self.wins(w, current, self.ts[s]) {
            Applied::ConflictWon
        } else {
            Applied::ConflictLost
        };
        if outcome != Applied::ConflictLost {
            self.origin[s] = w.origin.0;
            self.ts[s] = w.ts;
            self.meta[m..m + 2 * n].copy_from_slice(meta);
        }
        outcome
    }

    /// Whether incoming write `w` beats the current value `cur` (timestamp `cur_ts`).
    fn wins(&self, w: &WriteRec, cur: VersionId, cur_ts: i64) -> bool {
        if cur.origin == NONE {
            return true;
        }
        match self.resolve {
            // Later timestamp wins; on a tie, the origin whose name sorts last.
            Resolve::Lww => {
                (w.ts, self.name_rank[w.origin.idx()])
                    > (cur_ts, self.name_rank[cur.origin as usize])
            }
            // The DC listed first wins; between writes of one DC, the later.
            Resolve::OriginPriority => {
                (std::cmp::Reverse(w.origin.0), w.ts) > (std::cmp::Reverse(cur.origin), cur_ts)
            }
        }
    }

    pub fn keys(&self) -> usize {
        self.keys
    }
}
