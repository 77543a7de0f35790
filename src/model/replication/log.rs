//! A log's storage: its entries and their meta vectors in blocks (see
//! `kernel::blocks`), after the part compaction kept (see the parent
//! module).

use std::collections::VecDeque;

use super::LogEntry;
use crate::kernel::blocks::Blocks;

/// Log entries per block of a log's queues (see `kernel::blocks`): 3.5 KiB
/// of entries (56 bytes each) and, with 3 DCs, 1.5 KiB of meta vectors.
/// A log in steady state cycles through what it holds plus about two
/// blocks: small blocks keep that close to what it holds, as warm in the
/// caches as a ring buffer. Measured on the suite (default, five-dcs,
/// mesh9, quorum): 4,096 entries and more ran slower; 512 made mesh9's
/// applies slower (more memory cycled through); 32 to 128 were alike.
pub(super) const BLOCK_SLOTS: usize = 1 << 6;

/// One DC's log of the writes it originated, from absolute index `base`,
/// after its compacted part (`old`).
pub(super) struct Log {
    pub(super) base: u64,
    pub(super) entries: Blocks<LogEntry>,
    /// The entries' meta vectors (version vector and lineage counts),
    /// `width` numbers each, in blocks of as many entries as `entries`'.
    pub(super) vvs: Blocks<u32>,
    /// Compacted entries below `base` (at most one per key), by index, with
    /// their indices and meta vectors: what blocked streams still hold.
    pub(super) old: VecDeque<LogEntry>,
    pub(super) old_index: VecDeque<u64>,
    pub(super) old_vvs: VecDeque<u32>,
    /// The log end at which to look for entries to compact next.
    pub(super) check_at: u64,
    /// The destination of the stream the last trim found furthest behind
    /// (the first such): the one whose applies trigger the next trim.
    pub(super) lagging: usize,
}

/// Where an entry of a log is.
#[derive(Clone, Copy)]
pub(super) enum At {
    New(usize),
    Old(usize),
}

impl Log {
    /// The log of DC `src` (whose streams go to the other DCs).
    pub(super) fn new(width: usize, block_slots: usize, src: usize) -> Log {
        Log {
            base: 0,
            entries: Blocks::new(1, block_slots),
            vvs: Blocks::new(width, block_slots),
            old: VecDeque::new(),
            old_index: VecDeque::new(),
            old_vvs: VecDeque::new(),
            check_at: u64::MAX,
            // Before any trim: the first other DC's stream.
            lagging: usize::from(src == 0),
        }
    }

    pub(super) fn end(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// The index of the first entry the log holds.
    #[inline]
    pub(super) fn first(&self) -> u64 {
        self.old_index.front().copied().unwrap_or(self.base)
    }

    /// The first index at or after `i` the log holds an entry for (`end`
    /// if none): `i` itself unless `i` is in the compacted part.
    #[inline]
    pub(super) fn next_at(&self, i: u64) -> u64 {
        if i >= self.base { i } else { self.next_old(i) }
    }

    #[cold]
    pub(super) fn next_old(&self, i: u64) -> u64 {
        let p = self.old_index.partition_point(|&x| x < i);
        self.old_index.get(p).copied().unwrap_or(self.base)
    }

    #[inline]
    pub(super) fn locate(&self, index: u64) -> Option<At> {
        if index >= self.base {
            let i = (index - self.base) as usize;
            (i < self.entries.len()).then_some(At::New(i))
        } else {
            self.old_index.binary_search(&index).ok().map(At::Old)
        }
    }

    #[inline]
    pub(super) fn entry(&self, index: u64) -> Option<&LogEntry> {
        match self.locate(index)? {
            At::New(i) => self.entries.get(i),
            At::Old(i) => self.old.get(i),
        }
    }

    #[inline]
    pub(super) fn entry_mut(&mut self, index: u64) -> Option<&mut LogEntry> {
        match self.locate(index)? {
            At::New(i) => self.entries.get_mut(i),
            At::Old(i) => self.old.get_mut(i),
        }
    }

    /// The entries at or after `from`, in order.
    pub(super) fn from(&self, from: u64) -> impl Iterator<Item = &LogEntry> {
        let old = self.old_index.partition_point(|&x| x < from);
        let new = from.saturating_sub(self.base) as usize;
        self.old
            .iter()
            .skip(old)
            .chain(self.entries.items_from(new))
    }
}
