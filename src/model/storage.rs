//! Each DC's copy of the data, and the rules that apply a replicated write.
//!
//! For every key a replica holds its current value's identity — the write
//! that produced it, as (origin DC, that origin's sequence number for the
//! key) — its timestamp, and its version vector: for each origin, the
//! highest sequence number of that origin's writes the value includes. The
//! version vector is the value's own (the producing write's), never a merge,
//! so a write discarded by conflict resolution is visibly not included.
//!
//! A value also carries its lineage depth: how many writes lie on the chain
//! of `based_on` links that produced it. A write on that chain survives in
//! the value (later writers read it); one off the chain was discarded by
//! conflict resolution or never arrived: the basis of `lost_writes`.
//!
//! Memory per key and DC: 2 (origin) + 8 (timestamp) + 4 (own write count)
//! + 4 (depth) + 4 × DCs (version vector) bytes.

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
    /// Writes on this write's lineage, itself included.
    pub depth: u32,
}

/// What applying a replicated write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The replica's value already includes it (it came by another path).
    Stale,
    /// Based on the replica's current value: applied.
    InOrder,
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
    depth: Vec<u32>,
    vv: Vec<u32>,
    resolve: Resolve,
    /// Each DC's rank when DCs are sorted by name: LWW's tie-break.
    name_rank: Vec<u16>,
    /// Debug builds check that replication never reorders one origin's
    /// writes to a key: `[dc][key][origin]`, the last sequence number received.
    #[cfg(debug_assertions)]
    received: Vec<u32>,
}

impl Storage {
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
            depth: vec![0; n_dcs * keys],
            vv: vec![0; n_dcs * keys * n_dcs],
            resolve,
            name_rank,
            #[cfg(debug_assertions)]
            received: vec![0; n_dcs * keys * n_dcs],
        }
    }

    #[inline]
    fn slot(&self, dc: DcId, key: u32) -> usize {
        dc.idx() * self.keys + key as usize
    }

    #[inline]
    pub fn current(&self, dc: DcId, key: u32) -> VersionId {
        let s = self.slot(dc, key);
        let origin = self.origin[s];
        if origin == NONE {
            return VersionId::INITIAL;
        }
        VersionId {
            origin,
            seq: self.vv[s * self.n + origin as usize],
        }
    }

    /// The version vector of `dc`'s current value of `key`.
    #[inline]
    pub fn vv(&self, dc: DcId, key: u32) -> &[u32] {
        let s = self.slot(dc, key) * self.n;
        &self.vv[s..s + self.n]
    }

    /// Whether `dc`'s value of `key` includes write `seq` of `origin`.
    #[inline]
    pub fn includes(&self, dc: DcId, key: u32, origin: DcId, seq: u32) -> bool {
        self.vv[self.slot(dc, key) * self.n + origin.idx()] >= seq
    }

    /// Writes on the lineage of `dc`'s current value of `key`.
    pub fn depth(&self, dc: DcId, key: u32) -> u32 {
        self.depth[self.slot(dc, key)]
    }

    /// Writes `origin` has made to `key` so far.
    pub fn own_writes(&self, origin: DcId, key: u32) -> u32 {
        self.own[self.slot(origin, key)]
    }

    /// Applies a client's write at `dc`, whose clock reads `clock`.
    #[inline]
    pub fn write_local(&mut self, dc: DcId, key: u32, clock: i64) -> WriteRec {
        let s = self.slot(dc, key);
        let based_on = self.current(dc, key);
        let ts = clock.max(self.ts[s].saturating_add(1));
        self.own[s] += 1;
        let seq = self.own[s];
        let depth = self.depth[s] + 1;
        self.origin[s] = dc.0;
        self.ts[s] = ts;
        self.depth[s] = depth;
        self.vv[s * self.n + dc.idx()] = seq;
        WriteRec {
            key,
            origin: dc,
            seq,
            ts,
            based_on,
            depth,
        }
    }

    /// Applies a write replicated to `dc`; `vv` is the write's own version vector.
    #[inline]
    pub fn apply_remote(&mut self, dc: DcId, w: &WriteRec, vv: &[u32]) -> Applied {
        let s = self.slot(dc, w.key);
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
        if self.vv[s * n + w.origin.idx()] >= w.seq {
            return Applied::Stale;
        }
        let current = self.current(dc, w.key);
        let outcome = if current == w.based_on {
            Applied::InOrder
        } else if self.wins(w, current, self.ts[s]) {
            Applied::ConflictWon
        } else {
            Applied::ConflictLost
        };
        if outcome != Applied::ConflictLost {
            self.origin[s] = w.origin.0;
            self.ts[s] = w.ts;
            self.depth[s] = w.depth;
            self.vv[s * n..s * n + n].copy_from_slice(vv);
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
