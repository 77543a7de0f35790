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
//! A copy keeps its version vector; its lineage counts are kept as their
//! *holes*, per origin the writes the version vector includes that are off
//! the lineage (`vv − lineage`). Holes are all zero until conflict
//! resolution discards a write, so they live apart: a key whose copies
//! never held a value with a hole has none, one that did has a block of
//! `DCs × DCs` numbers from then on. (At 9 DCs a record is 504 bytes
//! instead of 824 with the counts in it: less memory to zero, fewer cache
//! lines per apply.)
//!
//! Memory per written key: 36 bytes (the annex and the holes' block
//! number), per DC 4 (origin) + 8 (timestamp) + 4 (own write count) + 4 ×
//! DCs (version vector), then 4 × DCs × DCs for a key with holes, and in a
//! keyspace of more than 2^20 keys 16 to 32 bytes of hash index; per key
//! never written, nothing in such a keyspace, else a 4-byte index slot in
//! lazily mapped zeroed memory.

use crate::ids::DcId;
use crate::kernel::huge;
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

/// One DC's copy of one key: origin of the current value (`NONE` if none),
/// its timestamp (two words), the DC's own write count, then the version
/// vector (`DCs`).
const ORIGIN: usize = 0;
const TS: usize = 1;
const OWN: usize = 3;
const VV: usize = 4;

/// Words at the start of each record that storage keeps for its user (the
/// key's newest acknowledged writes, see `world::acks`), so that a read
/// finds them next to the copy it compares them with.
pub const ANNEX: usize = 8;

/// The word after the annex: 1 + the number of the record's block of
/// holes, 0 while it has none.
const HOLES: usize = ANNEX;

/// Words before the first copy.
const HEAD: usize = ANNEX + 1;

/// Keyspaces up to this many keys find a key's record through a direct
/// index (4 bytes a key, lazily mapped zeroed memory); larger ones through
/// a hash table of the keys written, so that a key never written costs
/// nothing and the index a run touches grows with the keys it writes.
const DIRECT_MAX: usize = 1 << 20;

/// Words of records reserved up front (address space only: pages are
/// mapped when first written): every key of a keyspace up to this size,
/// so that records never move; beyond it they grow by doubling.
const RESERVE_MAX: usize = 64 << 20;

/// Key to record number.
enum Index {
    /// `[key]`: 1 + the key's record number; 0 for a key never written.
    Direct(Vec<u32>),
    /// Open addressing with linear probing, at most half full: each slot
    /// holds `(record + 1) << 32 | key`, 0 when empty.
    Hashed { table: Vec<u64>, shift: u32 },
}

impl Index {
    fn new(keys: usize) -> Index {
        if keys <= DIRECT_MAX {
            Index::Direct(huge::zeroed(keys))
        } else {
            Index::Hashed {
                table: huge::zeroed(1 << 10),
                shift: 64 - 10,
            }
        }
    }

    /// Fibonacci hashing: the key times 2^64 / φ, top bits.
    #[inline]
    fn home(key: u32, shift: u32) -> usize {
        (u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
    }

    /// `get` for a key that may lie outside the keyspace (a prefetch hint's):
    /// `None` there.
    #[inline]
    fn get_checked(&self, key: u32) -> Option<usize> {
        match self {
            Index::Direct(slot) if key as usize >= slot.len() => None,
            _ => self.get(key),
        }
    }

    /// Starts loading where `key`'s entry sits (a hint, see
    /// `kernel::prefetch`).
    #[inline]
    fn prefetch(&self, key: u32) {
        match self {
            Index::Direct(slot) => {
                crate::kernel::prefetch(slot.as_ptr().wrapping_add(key as usize));
            }
            Index::Hashed { table, shift } => {
                crate::kernel::prefetch(table.as_ptr().wrapping_add(Self::home(key, *shift)));
            }
        }
    }

    #[inline]
    fn get(&self, key: u32) -> Option<usize> {
        match self {
            Index::Direct(slot) => match slot[key as usize] {
                0 => None,
                s => Some(s as usize - 1),
            },
            Index::Hashed { table, shift } => {
                let mask = table.len() - 1;
                let mut i = Self::home(key, *shift);
                loop {
                    let e = table[i];
                    if e == 0 {
                        return None;
                    }
                    if e as u32 == key {
                        return Some((e >> 32) as usize - 1);
                    }
                    i = (i + 1) & mask;
                }
            }
        }
    }

    /// Gives `key` (not in the index) record `r`; `written` lists the keys
    /// by record, `key` last.
    fn insert(&mut self, key: u32, r: usize, written: &[u32]) {
        match self {
            // At most `keys` records (< 2^32, the key type): the slot fits.
            Index::Direct(slot) => slot[key as usize] = r as u32 + 1,
            Index::Hashed { table, shift } => {
                if 2 * written.len() > table.len() {
                    let bits = 64 - *shift + 1;
                    *table = huge::zeroed(1 << bits);
                    *shift = 64 - bits;
                    for (r, &k) in written.iter().enumerate() {
                        Self::put(table, *shift, k, r);
                    }
                } else {
                    Self::put(table, *shift, key, r);
                }
            }
        }
    }

    fn put(table: &mut [u64], shift: u32, key: u32, r: usize) {
        let mask = table.len() - 1;
        let mut i = Self::home(key, shift);
        while table[i] != 0 {
            i = (i + 1) & mask;
        }
        table[i] = (r as u64 + 1) << 32 | u64::from(key);
    }
}

/// Storage is key-major and holds only keys written so far: a key's first
/// write (local or replicated) gives it a *record*, its annex and the
/// copies of all DCs side by side, so that everything one key needs is
/// close together. A key never written costs nothing in a large keyspace
/// (its index is a hash table of the keys written), and in one of at most
/// `DIRECT_MAX` keys its 4-byte slot in a direct index, zeroed memory the
/// system hands out lazily: untouched pages cost nothing.
pub struct Storage {
    n: usize,
    keys: usize,
    /// Key to record.
    index: Index,
    /// `[record]`: the key.
    written: Vec<u32>,
    /// `[record]`: the annex (`ANNEX` words), its block of holes (`HOLES`),
    /// then `[dc]`: one copy, `stride` words each (see `ORIGIN`..`VV`).
    cells: Vec<u32>,
    stride: usize,
    /// Words per record: `HEAD + DCs × stride`.
    record_len: usize,
    /// `[block][dc][origin]`: the holes of each copy of the keys that
    /// have a block.
    holes: Vec<u32>,
    /// The meta vector `meta` hands out.
    scratch: Vec<u32>,
    /// The version vector of a key never written.
    zeros: Vec<u32>,
    resolve: Resolve,
    /// Datasets with a conflict rule of their own: each rule from its first
    /// key on (sorted); empty when every dataset follows `resolve`.
    rules: Vec<(u32, Resolve)>,
    /// Each DC's rank when DCs are sorted by name: LWW's tie-break.
    name_rank: Vec<u16>,
    /// Debug builds check that replication never reorders one origin's
    /// writes to a key: `[record][dc][origin]`, the last sequence number received.
    #[cfg(debug_assertions)]
    received: Vec<u32>,
}

impl Storage {
    /// Bytes one DC's copy of one key takes with `n_dcs` DCs, about: the
    /// origin, timestamp, own count and version vector (`DCs`), debug
    /// builds' `received` (`DCs`); a key with holes has `DCs × DCs` more
    /// numbers. `footprint` sizes a run from it as if every key were
    /// written, without holes (the origin counted as 2 bytes where a
    /// record gives it 4, and [`Storage::RECORD_HEAD`] per key): an upper
    /// bound unless nearly all keys are written or many lost writes.
    pub const fn bytes_per_copy(n_dcs: usize) -> usize {
        let debug = if cfg!(debug_assertions) {
            n_dcs * size_of::<u32>()
        } else {
            0
        };
        size_of::<u16>() + size_of::<i64>() + size_of::<u32>() + n_dcs * size_of::<u32>() + debug
    }

    /// Bytes per written key before its copies: the annex (counted with
    /// the acks, which keep it) aside, the holes' block number.
    pub const RECORD_HEAD: usize = size_of::<u32>();

    /// Bytes of record index per key of a keyspace of `keys` keys, every
    /// key written: a direct slot up to `DIRECT_MAX` keys, else a hash
    /// slot at worst a quarter full (just after the table doubled).
    pub const fn index_bytes_per_key(keys: u64) -> usize {
        if keys <= DIRECT_MAX as u64 {
            size_of::<u32>()
        } else {
            4 * size_of::<u64>()
        }
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
        let record_len = HEAD + n_dcs * (VV + n_dcs);
        Storage {
            n: n_dcs,
            keys,
            index: Index::new(keys),
            written: Vec::new(),
            cells: huge::with_capacity((keys.min(DIRECT_MAX) * record_len).min(RESERVE_MAX)),
            stride: VV + n_dcs,
            record_len,
            holes: Vec::new(),
            scratch: vec![0; 2 * n_dcs],
            zeros: vec![0; n_dcs],
            resolve,
            rules: Vec::new(),
            name_rank,
            #[cfg(debug_assertions)]
            received: Vec::new(),
        }
    }

    /// Sizes a hashed index, before any write, for about `writes` keys
    /// written (a hint: the run's expected writes, capped by the keyspace
    /// and at 2^20 keys, a table of at most 16 MiB, since hot keys may take
    /// many of the writes), so that it does not grow by doubling and rehash
    /// on the way. The table is zeroed memory the system maps when touched.
    pub fn expect_writes(&mut self, writes: u64) {
        let keys = writes.min(self.keys as u64).min(1 << 20) as usize;
        if let Index::Hashed { table, shift } = &mut self.index
            && self.written.is_empty()
        {
            let bits = (2 * keys).next_power_of_two().trailing_zeros().max(10);
            if 1 << bits > table.len() {
                *table = huge::zeroed(1 << bits);
                *shift = 64 - bits;
            }
        }
    }

    /// The record of `key`, if it was ever written.
    #[inline]
    pub fn record(&self, key: u32) -> Option<usize> {
        self.index.get(key)
    }

    /// Keys written so far (records `0..written()`).
    #[inline]
    pub fn written(&self) -> usize {
        self.written.len()
    }

    /// The keys ever written, in the order they were first written.
    pub fn written_keys(&self) -> &[u32] {
        &self.written
    }

    /// The record of `key`, made now if this is its first write.
    #[inline]
    fn record_or_new(&mut self, key: u32) -> usize {
        if let Some(r) = self.record(key) {
            return r;
        }
        self.new_record(key)
    }

    #[cold]
    #[inline(never)]
    fn new_record(&mut self, key: u32) -> usize {
        let r = self.written.len();
        self.written.push(key);
        self.index.insert(key, r, &self.written);
        huge::reserve(&mut self.cells, self.record_len);
        self.cells.extend([0; HEAD]);
        for _ in 0..self.n {
            self.cells.push(u32::from(NONE));
            let ts = i64::MIN as u64;
            self.cells.push(ts as u32);
            self.cells.push((ts >> 32) as u32);
            self.cells.extend(std::iter::repeat_n(0, 1 + self.n));
        }
        #[cfg(debug_assertions)]
        self.received
            .extend(std::iter::repeat_n(0, self.n * self.n));
        r
    }

    /// Start of `dc`'s copy in record `r`.
    #[inline]
    fn cell(&self, r: usize, dc: DcId) -> usize {
        r * self.record_len + HEAD + dc.idx() * self.stride
    }

    /// Where `dc`'s holes in record `r` start, if the record has a block.
    #[inline]
    fn holes_at(&self, r: usize, dc: DcId) -> Option<usize> {
        match self.cells[r * self.record_len + HOLES] {
            0 => None,
            b => Some(((b - 1) as usize * self.n + dc.idx()) * self.n),
        }
    }

    /// Where `dc`'s holes in record `r` start, giving the record a block
    /// (all zeros) if it has none.
    fn holes_or_new(&mut self, r: usize, dc: DcId) -> usize {
        if let Some(h) = self.holes_at(r, dc) {
            return h;
        }
        let block = self.holes.len() / (self.n * self.n);
        self.holes.resize(self.holes.len() + self.n * self.n, 0);
        self.cells[r * self.record_len + HOLES] = block as u32 + 1;
        self.holes_at(r, dc).expect("the block was just made")
    }

    /// The annex of record `r`.
    #[inline]
    pub fn annex(&self, r: usize) -> &[u32; ANNEX] {
        let at = r * self.record_len;
        self.cells[at..at + ANNEX]
            .try_into()
            .expect("a record starts with its annex")
    }

    #[inline]
    pub fn annex_mut(&mut self, r: usize) -> &mut [u32; ANNEX] {
        let at = r * self.record_len;
        (&mut self.cells[at..at + ANNEX])
            .try_into()
            .expect("a record starts with its annex")
    }

    /// Starts loading what reading or writing `key` at `dc` touches: the
    /// record's annex and `dc`'s copy (a hint to the CPU, see
    /// `kernel::prefetch`; it changes nothing).
    #[inline]
    pub fn prefetch(&self, dc: DcId, key: u32) {
        let Some(r) = self.index.get_checked(key) else {
            return;
        };
        if dc.idx() >= self.n {
            return;
        }
        let r = r * self.record_len;
        let c = r + HEAD + dc.idx() * self.stride;
        let cells = self.cells.as_ptr();
        crate::kernel::prefetch(cells.wrapping_add(r));
        crate::kernel::prefetch(cells.wrapping_add(c));
        crate::kernel::prefetch(cells.wrapping_add(c + self.stride - 1));
    }

    /// Starts loading `key`'s index slot (see `prefetch`).
    #[inline]
    pub fn prefetch_slot(&self, key: u32) {
        self.index.prefetch(key);
    }

    /// Start of `dc`'s copy of `key`, if the key was ever written.
    #[inline]
    fn cell_of(&self, dc: DcId, key: u32) -> Option<usize> {
        self.record(key).map(|r| self.cell(r, dc))
    }

    #[inline]
    fn ts_at(&self, c: usize) -> i64 {
        (u64::from(self.cells[c + TS]) | (u64::from(self.cells[c + TS + 1]) << 32)) as i64
    }

    #[inline]
    fn set_ts(&mut self, c: usize, ts: i64) {
        self.cells[c + TS] = ts as u64 as u32;
        self.cells[c + TS + 1] = ((ts as u64) >> 32) as u32;
    }

    /// The value identity of the copy at `c`.
    #[inline]
    fn current_at(&self, c: usize) -> VersionId {
        let origin = self.cells[c + ORIGIN] as u16;
        if origin == NONE {
            return VersionId::INITIAL;
        }
        VersionId {
            origin,
            seq: self.cells[c + VV + origin as usize],
        }
    }

    #[inline]
    pub fn current(&self, dc: DcId, key: u32) -> VersionId {
        self.record(key)
            .map_or(VersionId::INITIAL, |r| self.current_in(r, dc))
    }

    // Readers by record number. Records are numbered `0..written()` in the
    // order their keys were first written (`written_keys()[r]` is record
    // `r`'s key), so a scan over every written key (the audit after the
    // drain) reads them in memory order, without an index lookup each.

    /// The value of `dc`'s copy in record `r`.
    #[inline]
    pub fn current_in(&self, r: usize, dc: DcId) -> VersionId {
        self.current_at(self.cell(r, dc))
    }

    /// The version vector of `dc`'s copy in record `r`.
    #[inline]
    pub fn vv_in(&self, r: usize, dc: DcId) -> &[u32] {
        let c = self.cell(r, dc);
        &self.cells[c + VV..c + VV + self.n]
    }

    /// Writes `origin` made to record `r`'s key.
    #[inline]
    pub fn own_writes_in(&self, r: usize, origin: DcId) -> u32 {
        self.cells[self.cell(r, origin) + OWN]
    }

    /// The meta vector (version vector, then lineage counts) of `dc`'s
    /// current value of `key`: what a write produced there carries along.
    #[inline]
    pub fn meta(&mut self, dc: DcId, key: u32) -> &[u32] {
        let n = self.n;
        let mut meta = std::mem::take(&mut self.scratch);
        let (vv, lineage) = meta.split_at_mut(n);
        match self.record(key) {
            Some(r) => {
                let c = self.cell(r, dc);
                vv.copy_from_slice(&self.cells[c + VV..c + VV + n]);
                self.lineage_into(r, dc, lineage);
            }
            None => meta.fill(0),
        }
        self.scratch = meta;
        &self.scratch
    }

    /// `dc`'s lineage counts in record `r`: its version vector less its
    /// holes.
    #[inline]
    pub fn lineage_into(&self, r: usize, dc: DcId, out: &mut [u32]) {
        let c = self.cell(r, dc);
        out.copy_from_slice(&self.cells[c + VV..c + VV + self.n]);
        if let Some(h) = self.holes_at(r, dc) {
            for (l, hole) in out.iter_mut().zip(&self.holes[h..h + self.n]) {
                *l -= hole;
            }
        }
    }

    /// The version vector of `dc`'s current value of `key`.
    #[inline]
    pub fn vv(&self, dc: DcId, key: u32) -> &[u32] {
        match self.record(key) {
            Some(r) => self.vv_in(r, dc),
            None => &self.zeros,
        }
    }

    /// Per origin, how many of its writes are on the lineage of `dc`'s value.
    pub fn lineage(&self, dc: DcId, key: u32) -> Vec<u32> {
        let mut lineage = vec![0; self.n];
        if let Some(r) = self.record(key) {
            self.lineage_into(r, dc, &mut lineage);
        }
        lineage
    }

    /// Whether `dc`'s value of `key` has seen write `seq` of `origin`
    /// (write 0, none, it always has).
    #[inline]
    pub fn includes(&self, dc: DcId, key: u32, origin: DcId, seq: u32) -> bool {
        self.cell_of(dc, key)
            .map_or(seq == 0, |c| self.cells[c + VV + origin.idx()] >= seq)
    }

    /// Writes `origin` has made to `key` so far.
    pub fn own_writes(&self, origin: DcId, key: u32) -> u32 {
        self.record(key)
            .map_or(0, |r| self.own_writes_in(r, origin))
    }

    /// Applies a client's write at `dc`, whose clock reads `clock`.
    #[inline]
    pub fn write_local(&mut self, dc: DcId, key: u32, clock: i64) -> WriteRec {
        let r = self.record_or_new(key);
        let c = self.cell(r, dc);
        let based_on = self.current_at(c);
        let ts = clock.max(self.ts_at(c).saturating_add(1));
        let own = self.cells[c + OWN];
        let seq = own + 1;
        let seen = std::mem::replace(&mut self.cells[c + VV + dc.idx()], seq);
        self.cells[c + OWN] = seq;
        self.cells[c + ORIGIN] = u32::from(dc.0);
        self.set_ts(c, ts);
        if seen != own {
            // The value here lacks some of this DC's own writes (conflict
            // resolution discarded them): the new value includes them but
            // does not descend from them.
            let h = self.holes_or_new(r, dc);
            self.holes[h + dc.idx()] += own - seen;
        }
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
        let r = self.record_or_new(w.key);
        let c = self.cell(r, dc);
        let n = self.n;
        #[cfg(debug_assertions)]
        {
            let last = &mut self.received[(r * n + dc.idx()) * n + w.origin.idx()];
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
        let m = c + VV;
        if self.cells[m + w.origin.idx()] >= w.seq {
            return Applied::Stale;
        }
        let current = self.current_at(c);
        let dominates = || {
            self.cells[m..m + n]
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
        } else if self.wins(w, current, self.ts_at(c)) {
            Applied::ConflictWon
        } else {
            Applied::ConflictLost
        };
        if outcome != Applied::ConflictLost {
            self.cells[c + ORIGIN] = u32::from(w.origin.0);
            self.set_ts(c, w.ts);
            let (vv, lineage) = meta.split_at(n);
            self.cells[m..m + n].copy_from_slice(vv);
            // No holes: every number of the vector equals its count
            // (compared without branching: a slice `==` calls `memcmp`).
            let no_holes = vv.iter().zip(lineage).fold(0, |d, (v, l)| d | (v ^ l)) == 0;
            let h = match self.holes_at(r, dc) {
                None if no_holes => None,
                None => Some(self.holes_or_new(r, dc)),
                h => h,
            };
            if let Some(h) = h {
                for ((hole, &v), &l) in self.holes[h..h + n].iter_mut().zip(vv).zip(lineage) {
                    *hole = v - l;
                }
            }
        }
        outcome
    }

    /// Gives each dataset its own conflict rule: `rules` holds each
    /// dataset's first key and rule, sorted (empty: `resolve` for all).
    pub fn set_rules(&mut self, rules: Vec<(u32, Resolve)>) {
        debug_assert!(rules.is_sorted_by_key(|r| r.0));
        self.rules = rules;
    }

    /// The conflict rule of `key`'s dataset. Looked up only on a conflict.
    fn rule(&self, key: u32) -> Resolve {
        if self.rules.is_empty() {
            return self.resolve;
        }
        let i = self.rules.partition_point(|r| r.0 <= key);
        self.rules[i.saturating_sub(1)].1
    }

    /// Whether incoming write `w` beats the current value `cur` (timestamp `cur_ts`).
    fn wins(&self, w: &WriteRec, cur: VersionId, cur_ts: i64) -> bool {
        if cur.origin == NONE {
            return true;
        }
        match self.rule(w.key) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys get a record on their first write, local or replicated, and
    /// only then; a key never written reads as the initial value.
    #[test]
    fn records_are_made_on_first_write_only() {
        let mut s = Storage::new(&["a", "b", "c"], 10_000_000, Resolve::Lww);
        let (a, b) = (DcId(0), DcId(1));
        assert_eq!(s.written(), 0);
        assert_eq!(s.current(b, 42), VersionId::INITIAL);
        assert_eq!(s.meta(b, 42), &[0; 6]);
        assert_eq!(s.own_writes(a, 42), 0);
        assert!(!s.includes(b, 42, a, 1));
        let w = s.write_local(a, 9_999_999, 5);
        assert_eq!(s.written_keys(), &[9_999_999]);
        let meta = s.meta(a, 9_999_999).to_vec();
        assert_eq!(meta, vec![1, 0, 0, 1, 0, 0]);
        assert_eq!(s.apply_remote(b, &w, &meta), Applied::InOrder);
        assert_eq!(s.written(), 1, "the replicated apply used the same record");
        // A replicated write to a key its destination never wrote makes the record.
        let w2 = WriteRec {
            key: 7,
            origin: a,
            seq: 1,
            ts: -3,
            based_on: VersionId::INITIAL,
        };
        assert_eq!(
            s.apply_remote(b, &w2, &[1, 0, 0, 1, 0, 0]),
            Applied::InOrder
        );
        assert_eq!(s.written_keys(), &[9_999_999, 7]);
        assert_eq!(s.current(b, 7), VersionId { origin: 0, seq: 1 });
        assert_eq!(s.current(a, 7), VersionId::INITIAL);
        // The timestamp survives the two-word split, negative ones included.
        let w3 = s.write_local(b, 7, -10);
        assert_eq!(w3.ts, -2, "one above the replicated value's -3");
        assert_eq!(w3.based_on, VersionId { origin: 0, seq: 1 });
    }

    /// Holes (writes a version vector includes off the lineage) appear
    /// when a DC writes over a value that lacks its own discarded write,
    /// travel with the value, and clear when a value without holes wins.
    #[test]
    fn lineage_counts_follow_holes_through_conflicts() {
        let mut s = Storage::new(&["a", "b", "c"], 100, Resolve::Lww);
        let (a, b, c) = (DcId(0), DcId(1), DcId(2));
        let a1 = s.write_local(a, 7, 10);
        let m_a1 = s.meta(a, 7).to_vec();
        let b1 = s.write_local(b, 7, 20);
        let m_b1 = s.meta(b, 7).to_vec();
        assert_eq!(s.apply_remote(a, &b1, &m_b1), Applied::ConflictWon);
        assert_eq!(s.holes.len(), 0, "no hole yet: a's value is b1");
        // a writes over b1, which lacks a1: a1 is seen but off the lineage.
        let a2 = s.write_local(a, 7, 11);
        assert_eq!(a2.ts, 21);
        let m_a2 = s.meta(a, 7).to_vec();
        assert_eq!(m_a2, vec![2, 1, 0, 1, 1, 0]);
        assert_eq!(s.lineage(a, 7), vec![1, 1, 0]);
        assert_eq!(s.holes.len(), 9, "one block: 3 DCs x 3 origins");
        // At b, a1 loses to b1, then a2 (based on b1) applies in order and
        // brings its hole.
        assert_eq!(s.apply_remote(b, &a1, &m_a1), Applied::ConflictLost);
        assert_eq!(s.apply_remote(b, &a2, &m_a2), Applied::InOrder);
        assert_eq!(s.meta(b, 7).to_vec(), m_a2);
        // c writes on a1, without holes, and wins at a over a2.
        assert_eq!(s.apply_remote(c, &a1, &m_a1), Applied::InOrder);
        let c1 = s.write_local(c, 7, 100);
        let m_c1 = s.meta(c, 7).to_vec();
        assert_eq!(m_c1, vec![1, 0, 1, 1, 0, 1]);
        assert_eq!(s.apply_remote(a, &c1, &m_c1), Applied::ConflictWon);
        assert_eq!(s.lineage(a, 7), vec![1, 0, 1], "the hole cleared");
        assert_eq!(s.meta(a, 7).to_vec(), m_c1);
        assert_eq!(s.lineage(b, 7), vec![1, 1, 0], "b keeps a2's hole");
        // A DC whose own write was discarded there writes again: the hole
        // grows by the writes its value lacks.
        assert_eq!(s.apply_remote(b, &c1, &m_c1), Applied::ConflictWon);
        let b2 = s.write_local(b, 7, 0);
        assert_eq!(b2.seq, 2);
        assert_eq!(s.meta(b, 7).to_vec(), vec![1, 2, 1, 1, 1, 1]);
        assert_eq!(s.holes.len(), 9, "still the one block");
    }

    /// A hashed index sized for the writes expected takes them without
    /// growing, and finds them all; a direct index ignores the hint.
    #[test]
    fn an_index_sized_for_the_expected_writes_does_not_grow() {
        let mut s = Storage::new(&["a", "b"], 1 << 31, Resolve::Lww);
        s.expect_writes(5_000);
        let len = |s: &Storage| match &s.index {
            Index::Hashed { table, .. } => table.len(),
            Index::Direct(slot) => slot.len(),
        };
        assert_eq!(len(&s), 16_384, "2 × 5,000 rounded up to a power of two");
        let key = |i: u64| ((i * 2_654_435_761) % (1 << 31)) as u32;
        for i in 0..8_192 {
            s.write_local(DcId(0), key(i), 0);
            assert_eq!(len(&s), 16_384, "no growth up to half full ({i})");
        }
        for i in 0..8_192 {
            assert_eq!(s.record(key(i)), Some(i as usize));
        }
        s.write_local(DcId(0), key(8_192), 0);
        assert_eq!(len(&s), 32_768, "past half full it doubles");
        let mut d = Storage::new(&["a", "b"], 1_000, Resolve::Lww);
        d.expect_writes(1 << 20);
        assert_eq!(len(&d), 1_000);
    }

    /// Both indexes find every written key's record, across the hash
    /// table's growths, and no record for a key never written.
    #[test]
    fn the_index_finds_written_keys_only() {
        for keys in [DIRECT_MAX as u64, DIRECT_MAX as u64 + 1, 1 << 31] {
            let mut s = Storage::new(&["a", "b"], keys, Resolve::Lww);
            let hashed = matches!(s.index, Index::Hashed { .. });
            assert_eq!(hashed, keys > DIRECT_MAX as u64);
            // 5,000 keys spread over the keyspace (the table grows 1 Ki -> 16 Ki).
            let key = |i: u64| ((i * 2_654_435_761) % keys) as u32;
            for i in 0..5_000 {
                s.write_local(DcId(0), key(i), 0);
            }
            assert_eq!(s.written(), 5_000);
            for i in 0..5_000 {
                assert_eq!(s.record(key(i)), Some(i as usize), "{keys}: key {}", key(i));
            }
            for i in 5_000..6_000 {
                assert_eq!(s.record(key(i)), None);
            }
            if let Index::Hashed { table, .. } = &s.index {
                assert_eq!(table.len(), 16_384);
            }
        }
    }
}
