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
//! A value (origin, timestamp, version vector) is the producing write's,
//! so copies holding the same value hold the same numbers: a key's record
//! keeps its values in *slots*, and each copy the number of the slot it
//! holds. Replication usually brings every copy to the same value, so a
//! record needs few slots: 3 of its own, and a key whose copies hold more
//! distinct values at once (writes at several DCs within a replication
//! delay, a partition) gets a block of `DCs − 3` more, kept from then on.
//! A write makes a new value in its copy's slot, or in a free one if
//! another copy holds that slot; an apply points the copy at the slot that
//! holds the write's value already (its origin's, usually), and writes the
//! value only if none does. At 9 DCs a record is 232 bytes instead of 504
//! with a vector per copy, and an apply writes a slot number instead of a
//! vector: less memory to zero, fewer cache lines per apply.
//!
//! A copy's lineage counts are kept as their *holes*, per origin the
//! writes its version vector includes that are off the lineage (`vv −
//! lineage`). Holes are all zero until conflict resolution discards a
//! write, so they live apart: a key whose copies never held a value with a
//! hole has none, one that did has a block of `DCs × DCs` numbers from then
//! on.
//!
//! Memory per written key: the annex (32 bytes), the holes' and spilled
//! slots' block numbers (8), per DC its own write count (4) and slot
//! number (1 byte up to 256 DCs, 2 above; in whole words), and 3 slots
//! (fewer below 3 DCs) of 12 + 4 × DCs bytes: 128 bytes at 3 DCs, two
//! cache lines; then 4 × DCs × DCs for a key with holes, (DCs − 3) ×
//! (12 + 4 × DCs) for one whose slots spilled, and in a keyspace of more
//! than 2^20 keys 16 to 32 bytes of hash index; per key never written,
//! nothing in such a keyspace, else a 4-byte index slot in lazily mapped
//! zeroed memory.

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
    /// The number of the key's record, which its origin wrote (one key has
    /// one record, and its number never changes, even where the records'
    /// array grows and moves): a replicated apply and its prefetch go
    /// there without the index. `NO_RECORD`: look the key up.
    pub rec: u32,
}

/// A `WriteRec::rec` that names no record.
pub const NO_RECORD: u32 = u32::MAX;

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

/// A value of one key: the origin of the write that made it (`NONE` for
/// the initial value), its timestamp (two words), then its version vector
/// (`DCs`).
const ORIGIN: usize = 0;
const TS: usize = 1;
const VV: usize = 3;

/// Value slots in a record itself; a key whose copies come to hold more
/// distinct values at once gets a block of `DCs - INLINE` more (`SPILL`).
/// Up to 3 DCs a record holds all it can need.
const INLINE: usize = 3;

/// Words at the start of each record that storage keeps for its user (the
/// key's newest acknowledged writes, see `world::acks`), so that a read
/// finds them next to the copy it compares them with.
pub const ANNEX: usize = 8;

/// The word after the annex: 1 + the number of the record's block of
/// holes, 0 while it has none.
const HOLES: usize = ANNEX;

/// The word after that: 1 + the number of the record's block of spilled
/// value slots, 0 while it has none.
const SPILL: usize = ANNEX + 1;

/// Then each DC's own write count (`DCs` words), then each DC's value
/// slot (an 8-bit number per DC, four to a word; 16-bit, two to a word,
/// above 256 DCs), then the value slots.
const OWN: usize = ANNEX + 2;

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
    /// `[record]`: the annex (`ANNEX` words), its block of holes
    /// (`HOLES`), its block of spilled slots (`SPILL`), per DC its own
    /// write count (`OWN`) and its value's slot, then `inline` value slots
    /// of `value_len` words each (see `ORIGIN`..`VV`).
    cells: Vec<u32>,
    /// Where a record's slot numbers start (`OWN + DCs`), and its values.
    slots_at: usize,
    /// log2 of how many slot numbers a word holds: 2 (four of 8 bits) up
    /// to 256 DCs, so that a record at 3 DCs is 128 bytes, two cache
    /// lines; 1 (two of 16 bits) above.
    slot_shift: u32,
    values_at: usize,
    /// Value slots in a record (`INLINE`, fewer with fewer DCs); words per
    /// value (`VV + DCs`).
    inline: usize,
    value_len: usize,
    /// Words per record.
    record_len: usize,
    /// `[block][slot - inline]`: spilled value slots, `value_len` words each.
    spill: Vec<u32>,
    /// `[block][dc][origin]`: the holes of each copy of the keys that
    /// have a block.
    holes: Vec<u32>,
    /// The meta vector `meta` hands out.
    scratch: Vec<u32>,
    /// A value on its way from one slot to another.
    value_scratch: Vec<u32>,
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
    /// Bytes of one written key's record with `n_dcs` DCs, its annex aside
    /// (counted with the acks, which keep it): the two block numbers, per
    /// DC its own write count and slot number, the record's value slots
    /// (origin, timestamp, version vector each), and debug builds'
    /// `received` (`DCs × DCs`). A key whose slots spilled or that has
    /// holes takes more (see the module's notes). `footprint` sizes a run
    /// from it as if every key were written: an upper bound unless nearly
    /// all keys are written, or many spill or lose writes.
    pub const fn record_bytes(n_dcs: usize) -> usize {
        let inline = if n_dcs < INLINE { n_dcs } else { INLINE };
        let words = OWN - ANNEX + n_dcs + Self::slot_words(n_dcs) + inline * (VV + n_dcs);
        let debug = if cfg!(debug_assertions) {
            n_dcs * n_dcs
        } else {
            0
        };
        (words + debug) * size_of::<u32>()
    }

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
        let inline = INLINE.min(n_dcs);
        let slots_at = OWN + n_dcs;
        let values_at = slots_at + Self::slot_words(n_dcs);
        let value_len = VV + n_dcs;
        let record_len = values_at + inline * value_len;
        Storage {
            n: n_dcs,
            keys,
            index: Index::new(keys),
            written: Vec::new(),
            cells: huge::with_capacity((keys.min(DIRECT_MAX) * record_len).min(RESERVE_MAX)),
            slots_at,
            slot_shift: Self::slots_per_word_log2(n_dcs),
            values_at,
            inline,
            value_len,
            record_len,
            spill: Vec::new(),
            holes: Vec::new(),
            scratch: vec![0; 2 * n_dcs],
            value_scratch: vec![0; value_len],
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
        // Every copy holds slot 0, the initial value; the other slots are
        // free (and hold the initial value too).
        self.cells.extend(std::iter::repeat_n(0, self.values_at));
        for _ in 0..self.inline {
            self.cells.extend(Self::initial_value());
            self.cells.extend(std::iter::repeat_n(0, self.n));
        }
        #[cfg(debug_assertions)]
        self.received
            .extend(std::iter::repeat_n(0, self.n * self.n));
        r
    }

    /// Origin and timestamp of the initial value.
    fn initial_value() -> [u32; VV] {
        let ts = i64::MIN as u64;
        [u32::from(NONE), ts as u32, (ts >> 32) as u32]
    }

    /// log2 of the slot numbers a word holds with `n_dcs` DCs (slot
    /// numbers are below `n_dcs`).
    const fn slots_per_word_log2(n_dcs: usize) -> u32 {
        if n_dcs <= 256 { 2 } else { 1 }
    }

    /// Words of slot numbers in a record.
    const fn slot_words(n_dcs: usize) -> usize {
        n_dcs.div_ceil(1 << Self::slots_per_word_log2(n_dcs))
    }

    /// Where `dc`'s slot number lies: its word among the record's slot
    /// words, its shift in the word, and the mask of its bits.
    #[inline(always)]
    fn slot_place(&self, dc: DcId) -> (usize, u32, u32) {
        let per_word = self.slot_shift;
        let i = dc.idx();
        let bits_log2 = 5 - per_word;
        let shift = ((i & ((1 << per_word) - 1)) as u32) << bits_log2;
        (i >> per_word, shift, u32::MAX >> (32 - (1u32 << bits_log2)))
    }

    /// The slot of the value `dc`'s copy in record `r` holds.
    #[inline(always)]
    fn slot_of(&self, r: usize, dc: DcId) -> usize {
        let (word, shift, mask) = self.slot_place(dc);
        ((self.cells[r * self.record_len + self.slots_at + word] >> shift) & mask) as usize
    }

    #[inline(always)]
    fn set_slot(&mut self, r: usize, dc: DcId, slot: usize) {
        let (word, shift, mask) = self.slot_place(dc);
        let w = &mut self.cells[r * self.record_len + self.slots_at + word];
        *w = (*w & !(mask << shift)) | ((slot as u32) << shift);
    }

    /// Value slot `slot` of record `r`: in the record, or spilled.
    #[inline(always)]
    fn value(&self, r: usize, slot: usize) -> &[u32] {
        let len = self.value_len;
        if slot < self.inline {
            let at = r * self.record_len + self.values_at + slot * len;
            &self.cells[at..at + len]
        } else {
            let at = self.spilled_at(r, slot);
            &self.spill[at..at + len]
        }
    }

    #[inline(always)]
    fn value_mut(&mut self, r: usize, slot: usize) -> &mut [u32] {
        let len = self.value_len;
        if slot < self.inline {
            let at = r * self.record_len + self.values_at + slot * len;
            &mut self.cells[at..at + len]
        } else {
            let at = self.spilled_at(r, slot);
            &mut self.spill[at..at + len]
        }
    }

    /// Where spilled slot `slot` (at least `inline`) of record `r` starts.
    #[inline(always)]
    fn spilled_at(&self, r: usize, slot: usize) -> usize {
        let block = self.cells[r * self.record_len + SPILL] as usize - 1;
        (block * (self.n - self.inline) + slot - self.inline) * self.value_len
    }

    /// The value `dc`'s copy in record `r` holds.
    #[inline(always)]
    fn copy_value(&self, r: usize, dc: DcId) -> &[u32] {
        self.value(r, self.slot_of(r, dc))
    }

    /// A slot of record `r` for a new value of `dc`'s copy, which holds
    /// `slot`: `None` if no other copy holds `slot` (the value is rewritten
    /// in place), else a slot no copy holds, spilling if the record's own
    /// are all held. Copies hold at most `DCs` values, and here two of them
    /// share one: the record's and the spilled slots, `DCs` in all, suffice.
    #[inline]
    fn slot_for_new(&mut self, r: usize, dc: DcId, slot: usize) -> Option<usize> {
        // The slots the other copies hold, a bit each: in one register up
        // to 64 DCs, else in words on the stack (at most 1,000 DCs).
        let others = (0..self.n).filter(|&d| d != dc.idx());
        let free = if self.n <= 64 {
            let held = others.fold(0u64, |h, d| h | 1 << self.slot_of(r, DcId(d as u16)));
            if held & 1 << slot == 0 {
                return None;
            }
            (!held).trailing_zeros() as usize
        } else {
            let mut held = [0u64; 1000usize.div_ceil(64)];
            for d in others {
                let s = self.slot_of(r, DcId(d as u16));
                held[s / 64] |= 1 << (s % 64);
            }
            if held[slot / 64] & 1 << (slot % 64) == 0 {
                return None;
            }
            let i = held
                .iter()
                .position(|&w| w != u64::MAX)
                .unwrap_or(held.len());
            64 * i + held.get(i).map_or(0, |w| (!w).trailing_zeros() as usize)
        };
        assert!(
            free < self.n,
            "a free slot exists while two copies share one"
        );
        if free >= self.inline && self.cells[r * self.record_len + SPILL] == 0 {
            let spilled = (self.n - self.inline) * self.value_len;
            let block = self.spill.len() / spilled;
            huge::reserve(&mut self.spill, spilled);
            self.spill.resize(self.spill.len() + spilled, 0);
            self.cells[r * self.record_len + SPILL] = block as u32 + 1;
        }
        Some(free)
    }

    /// Copies value slot `from` of record `r` into slot `to`.
    fn copy_slot(&mut self, r: usize, from: usize, to: usize) {
        if from < self.inline && to < self.inline {
            let at = r * self.record_len + self.values_at;
            let len = self.value_len;
            self.cells
                .copy_within(at + from * len..at + (from + 1) * len, at + to * len);
            return;
        }
        let mut v = std::mem::take(&mut self.value_scratch);
        v.copy_from_slice(self.value(r, from));
        self.value_mut(r, to).copy_from_slice(&v);
        self.value_scratch = v;
    }

    /// The slot of record `r` that holds write `seq` of `origin`, if one
    /// does: the origin's copy's first (it usually still holds its latest
    /// write), then all.
    #[inline(always)]
    fn find_value(&self, r: usize, origin: DcId, seq: u32) -> Option<usize> {
        let first = self.slot_of(r, origin);
        if self.holds(r, first, origin, seq) {
            return Some(first);
        }
        self.find_value_elsewhere(r, origin, seq, first)
    }

    #[inline(always)]
    fn holds(&self, r: usize, slot: usize, origin: DcId, seq: u32) -> bool {
        let v = self.value(r, slot);
        v[ORIGIN] == u32::from(origin.0) && v[VV + origin.idx()] == seq
    }

    #[inline(never)]
    fn find_value_elsewhere(
        &self,
        r: usize,
        origin: DcId,
        seq: u32,
        first: usize,
    ) -> Option<usize> {
        let slots = if self.cells[r * self.record_len + SPILL] == 0 {
            self.inline
        } else {
            self.n
        };
        (0..slots).find(|&s| s != first && self.holds(r, s, origin, seq))
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
        if let Some(r) = self.index.get_checked(key) {
            self.prefetch_record(dc, r);
        }
    }

    /// `prefetch` for record `r` (a record number from a `WriteRec`).
    #[inline]
    pub fn prefetch_record(&self, dc: DcId, r: usize) {
        if dc.idx() >= self.n {
            return;
        }
        // Which slot is `dc`'s is not known yet. Up to 9 DCs (4 lines) the
        // whole record; beyond, the annex, `dc`'s slot number and the
        // first and last word of each of the record's own value slots: at
        // most 8 lines whatever the DCs.
        let at = self.cells.as_ptr().wrapping_add(r * self.record_len);
        if self.record_len <= 64 {
            for line in (0..self.record_len).step_by(16) {
                crate::kernel::prefetch(at.wrapping_add(line));
            }
            crate::kernel::prefetch(at.wrapping_add(self.record_len - 1));
            return;
        }
        crate::kernel::prefetch(at);
        crate::kernel::prefetch(at.wrapping_add(self.slots_at + self.slot_place(dc).0));
        for slot in 0..self.inline {
            let value = at.wrapping_add(self.values_at + slot * self.value_len);
            crate::kernel::prefetch(value);
            crate::kernel::prefetch(value.wrapping_add(self.value_len - 1));
        }
    }

    /// Starts loading `key`'s index slot (see `prefetch`).
    #[inline]
    pub fn prefetch_slot(&self, key: u32) {
        self.index.prefetch(key);
    }

    /// The timestamp of value `v`.
    #[inline(always)]
    fn ts_of(v: &[u32]) -> i64 {
        (u64::from(v[TS]) | (u64::from(v[TS + 1]) << 32)) as i64
    }

    /// Makes `v` write `seq` of `origin`, at `ts` (its vector set apart).
    #[inline(always)]
    fn set_write(v: &mut [u32], origin: DcId, seq: u32, ts: i64) {
        v[ORIGIN] = u32::from(origin.0);
        v[TS] = ts as u64 as u32;
        v[TS + 1] = ((ts as u64) >> 32) as u32;
        v[VV + origin.idx()] = seq;
    }

    /// The identity of value `v`.
    #[inline(always)]
    fn identity(v: &[u32]) -> VersionId {
        let origin = v[ORIGIN] as u16;
        if origin == NONE {
            return VersionId::INITIAL;
        }
        VersionId {
            origin,
            seq: v[VV + origin as usize],
        }
    }

    /// Key-based readers, for tests (the model reads by record number).
    #[cfg(test)]
    pub fn current(&self, dc: DcId, key: u32) -> VersionId {
        self.record(key)
            .map_or(VersionId::INITIAL, |r| self.current_in(r, dc))
    }

    // Readers by record number. Records are numbered `0..written()` in the
    // order their keys were first written (`written_keys()[r]` is record
    // `r`'s key), so a scan over every written key (the audit after the
    // drain) reads them in memory order, without an index lookup each.

    /// The value of `dc`'s copy in record `r`.
    #[inline(always)]
    pub fn current_in(&self, r: usize, dc: DcId) -> VersionId {
        Self::identity(self.copy_value(r, dc))
    }

    /// The version vector of `dc`'s copy in record `r`.
    #[inline(always)]
    pub fn vv_in(&self, r: usize, dc: DcId) -> &[u32] {
        &self.copy_value(r, dc)[VV..]
    }

    /// Writes `origin` made to record `r`'s key.
    #[inline]
    pub fn own_writes_in(&self, r: usize, origin: DcId) -> u32 {
        self.cells[r * self.record_len + OWN + origin.idx()]
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
                vv.copy_from_slice(self.vv_in(r, dc));
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
        out.copy_from_slice(self.vv_in(r, dc));
        if let Some(h) = self.holes_at(r, dc) {
            for (l, hole) in out.iter_mut().zip(&self.holes[h..h + self.n]) {
                *l -= hole;
            }
        }
    }

    /// The version vector of `dc`'s current value of `key`.
    #[cfg(test)]
    pub fn vv(&self, dc: DcId, key: u32) -> Vec<u32> {
        self.record(key)
            .map_or(vec![0; self.n], |r| self.vv_in(r, dc).to_vec())
    }

    /// Per origin, how many of its writes are on the lineage of `dc`'s value.
    #[cfg(test)]
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
        self.record(key)
            .map_or(seq == 0, |r| self.vv_in(r, dc)[origin.idx()] >= seq)
    }

    /// Writes `origin` has made to `key` so far.
    #[cfg(test)]
    pub fn own_writes(&self, origin: DcId, key: u32) -> u32 {
        self.record(key)
            .map_or(0, |r| self.own_writes_in(r, origin))
    }

    /// Applies a client's write at `dc`, whose clock reads `clock`.
    #[inline]
    pub fn write_local(&mut self, dc: DcId, key: u32, clock: i64) -> WriteRec {
        let r = self.record_or_new(key);
        let slot = self.slot_of(r, dc);
        let v = self.value(r, slot);
        let (based_on, seen) = (Self::identity(v), v[VV + dc.idx()]);
        let ts = clock.max(Self::ts_of(v).saturating_add(1));
        let own_at = r * self.record_len + OWN + dc.idx();
        let own = self.cells[own_at];
        let seq = own + 1;
        self.cells[own_at] = seq;
        // The new value is this copy's alone: made over its slot, unless
        // another copy holds that value too.
        let slot = match self.slot_for_new(r, dc, slot) {
            Some(free) => {
                self.copy_slot(r, slot, free);
                self.set_slot(r, dc, free);
                free
            }
            None => slot,
        };
        Self::set_write(self.value_mut(r, slot), dc, seq, ts);
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
            rec: r as u32,
        }
    }

    /// Applies a write replicated to `dc`; `meta` is the write's own meta vector.
    #[inline]
    pub fn apply_remote(&mut self, dc: DcId, w: &WriteRec, meta: &[u32]) -> Applied {
        let r = if w.rec == NO_RECORD {
            self.record_or_new(w.key)
        } else {
            debug_assert_eq!(self.record(w.key), Some(w.rec as usize), "key {}", w.key);
            w.rec as usize
        };
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
        let slot = self.slot_of(r, dc);
        let v = self.value(r, slot);
        if v[VV + w.origin.idx()] >= w.seq {
            return Applied::Stale;
        }
        let current = Self::identity(v);
        let dominates = || {
            v[VV..]
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
        } else if self.wins(w, current, Self::ts_of(v)) {
            Applied::ConflictWon
        } else {
            Applied::ConflictLost
        };
        if outcome != Applied::ConflictLost {
            let (vv, lineage) = meta.split_at(n);
            // The copy takes the write's value: the slot that holds it
            // already (another copy took it, or its origin holds it), else
            // its own slot rewritten, or a free one if its slot is shared.
            let held = match self.find_value(r, w.origin, w.seq) {
                Some(found) => {
                    debug_assert_eq!(Self::ts_of(self.value(r, found)), w.ts);
                    debug_assert_eq!(&self.value(r, found)[VV..], vv);
                    found
                }
                None => {
                    let to = self.slot_for_new(r, dc, slot).unwrap_or(slot);
                    let v = self.value_mut(r, to);
                    v[VV..].copy_from_slice(vv);
                    Self::set_write(v, w.origin, w.seq, w.ts);
                    to
                }
            };
            self.set_slot(r, dc, held);
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
        assert_eq!(Some(w.rec as usize), s.record(9_999_999));
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
            rec: NO_RECORD,
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

    /// Slot numbers pack four to a word up to 256 DCs, two above, each
    /// set without touching its neighbours; a write finds the first free
    /// slot also beyond 64 DCs.
    #[test]
    fn slot_numbers_pack_into_words() {
        for n in [3usize, 256, 257, 300] {
            let names: Vec<String> = (0..n).map(|i| format!("dc{i:03}")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut s = Storage::new(&names, 10, Resolve::Lww);
            let per_word = if n <= 256 { 4 } else { 2 };
            assert_eq!(s.values_at - s.slots_at, n.div_ceil(per_word), "{n} DCs");
            s.write_local(DcId(0), 1, 0);
            s.write_local(DcId(1), 1, 0);
            let r = s.record(1).unwrap();
            // Each write left the shared initial value (slot 0) for the
            // first free slot.
            assert_eq!(
                (s.slot_of(r, DcId(0)), s.slot_of(r, DcId(1))),
                (1, 2),
                "{n} DCs"
            );
            assert_eq!(s.slot_of(r, DcId(n as u16 - 1)), 0, "{n} DCs");
            let want = |d: usize| (d * 7 + 3) % n;
            for d in 0..n {
                s.set_slot(r, DcId(d as u16), want(d));
            }
            for d in 0..n {
                assert_eq!(s.slot_of(r, DcId(d as u16)), want(d), "{n} DCs, dc {d}");
            }
        }
    }

    /// A copy as the rules define it, kept plainly: its value's identity,
    /// timestamp, version vector and lineage counts, and the DC's own
    /// write count. The reference `storage_matches_the_rules_kept_plainly`
    /// checks storage against.
    #[derive(Clone)]
    struct PlainCopy {
        origin: u16,
        ts: i64,
        vv: Vec<u32>,
        lineage: Vec<u32>,
        own: u32,
    }

    impl PlainCopy {
        fn current(&self) -> VersionId {
            if self.origin == NONE {
                VersionId::INITIAL
            } else {
                VersionId {
                    origin: self.origin,
                    seq: self.vv[self.origin as usize],
                }
            }
        }
    }

    /// Random writes at random DCs to a few keys, and their replication in
    /// each origin's order to each other DC at random times (so copies
    /// conflict, skip versions, fall behind and lose writes), at 2 to 9
    /// DCs: after every step the record's slots and holes give every copy
    /// exactly the value, vector, lineage counts and own count the rules
    /// kept plainly give it, and every apply the same outcome. At 4 DCs
    /// and more, copies that hold more than 3 values at once spill.
    #[test]
    fn storage_matches_the_rules_kept_plainly() {
        use rand::RngExt;
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        let mut rng = crate::kernel::stream(17, 0);
        let (mut spilled, mut holes) = (0, 0);
        let mut seen_outcomes = std::collections::BTreeSet::new();
        for round in 0..60u32 {
            let n = 2 + (round as usize % 8);
            let keys = 1 + round % 4;
            let resolve = if round % 2 == 0 {
                Resolve::Lww
            } else {
                Resolve::OriginPriority
            };
            let mut s = Storage::new(&names[..n], 100, resolve);
            let fresh = PlainCopy {
                origin: NONE,
                ts: i64::MIN,
                vv: vec![0; n],
                lineage: vec![0; n],
                own: 0,
            };
            let mut plain = vec![vec![fresh; n]; keys as usize];
            // Per origin its writes; per (origin, destination) the next to deliver.
            let mut logs: Vec<Vec<(WriteRec, Vec<u32>)>> = vec![Vec::new(); n];
            let mut next = vec![vec![0usize; n]; n];
            for step in 0..400 {
                let key = rng.random_range(0..keys);
                if rng.random_range(0..3u32) == 0 {
                    let dc = rng.random_range(0..n);
                    let clock = rng.random_range(0..50i64);
                    let w = s.write_local(DcId(dc as u16), key, clock);
                    let p = &mut plain[key as usize][dc];
                    assert_eq!(w.based_on, p.current(), "round {round} step {step}");
                    assert_eq!(w.ts, clock.max(p.ts.saturating_add(1)));
                    p.own += 1;
                    assert_eq!(w.seq, p.own);
                    p.vv[dc] = p.own;
                    p.lineage[dc] += 1;
                    p.origin = dc as u16;
                    p.ts = w.ts;
                    let meta = s.meta(DcId(dc as u16), key).to_vec();
                    assert_eq!(meta, [p.vv.clone(), p.lineage.clone()].concat());
                    logs[dc].push((w, meta));
                } else {
                    let (origin, dst) = (rng.random_range(0..n), rng.random_range(0..n));
                    let Some((w, meta)) = logs[origin].get(next[origin][dst]).cloned() else {
                        continue;
                    };
                    next[origin][dst] += 1;
                    if origin == dst {
                        continue;
                    }
                    let got = s.apply_remote(DcId(dst as u16), &w, &meta);
                    let p = &mut plain[w.key as usize][dst];
                    let cur = p.current();
                    let want = if p.vv[origin] >= w.seq {
                        Applied::Stale
                    } else if cur == w.based_on {
                        Applied::InOrder
                    } else if p.vv.iter().zip(&meta).all(|(have, new)| new >= have) {
                        Applied::FastForward
                    } else {
                        let wins = cur.origin == NONE
                            || match resolve {
                                Resolve::Lww => (w.ts, origin as u16) > (p.ts, cur.origin),
                                Resolve::OriginPriority => {
                                    (std::cmp::Reverse(origin as u16), w.ts)
                                        > (std::cmp::Reverse(cur.origin), p.ts)
                                }
                            };
                        if wins {
                            Applied::ConflictWon
                        } else {
                            Applied::ConflictLost
                        }
                    };
                    assert_eq!(got, want, "round {round} step {step}");
                    seen_outcomes.insert(format!("{want:?}"));
                    if !matches!(want, Applied::Stale | Applied::ConflictLost) {
                        p.origin = origin as u16;
                        p.ts = w.ts;
                        p.vv = meta[..n].to_vec();
                        p.lineage = meta[n..].to_vec();
                    }
                }
                for (k, copies) in plain.iter().enumerate() {
                    for (d, p) in copies.iter().enumerate() {
                        let dc = DcId(d as u16);
                        let k = k as u32;
                        let at = format!("round {round} step {step} key {k} dc {d}");
                        assert_eq!(s.current(dc, k), p.current(), "{at}");
                        assert_eq!(s.vv(dc, k), &p.vv[..], "{at}");
                        assert_eq!(s.lineage(dc, k), p.lineage, "{at}");
                        assert_eq!(s.own_writes(dc, k), p.own, "{at}");
                        for o in 0..n {
                            let seen = p.vv[o];
                            assert!(s.includes(dc, k, DcId(o as u16), seen), "{at}");
                            assert!(!s.includes(dc, k, DcId(o as u16), seen + 1), "{at}");
                        }
                        if let Some(r) = s.record(k) {
                            assert_eq!(Storage::ts_of(s.copy_value(r, dc)), p.ts, "{at}");
                        }
                    }
                }
            }
            spilled += s.spill.len();
            holes += s.holes.len();
        }
        assert!(
            spilled > 0 && holes > 0,
            "some records spilled, some have holes"
        );
        assert_eq!(
            seen_outcomes.into_iter().collect::<Vec<_>>(),
            [
                "ConflictLost",
                "ConflictWon",
                "FastForward",
                "InOrder",
                "Stale"
            ]
        );
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
