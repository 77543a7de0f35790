//! Replication streams.
//!
//! Every DC keeps a log of the writes it originated. For each other DC a
//! stream pulls from that log in order: it ships an entry over the network
//! (arriving no earlier than the entry before it, so one origin's writes are
//! never reordered) and applies it at the destination at most `apply_rate`
//! entries per second, so lag = network delay + queueing. Only each stream's
//! head is in the kernel's queue, however many entries are in flight, in
//! the stream's slot beside the heap (`EventQueue::schedule_in_slot`).
//!
//! A stream that cannot reach its destination is *blocked*: everything it
//! has not applied yet goes back to the source's log and is shipped again,
//! in order, when it unblocks. Nothing is lost or reordered; a log entry is
//! dropped only once every stream has applied it, in batches: the stream
//! that lagged at the last trim triggers the next one once it is
//! [`TRIM_EVERY`] entries on (a trim scans all the source's streams; one
//! per write cost 5% of a 9-DC mesh's run). A log holds fewer than
//! `TRIM_EVERY` entries that every stream applied; nothing reads them.
//!
//! What blocked streams can pin is bounded (`replication.compact_after`):
//! once more than that many entries wait in a source's log and the part
//! only blocked streams still need is not empty, that part is *compacted*:
//! of the writes to one key only the latest is kept (log compaction). Each
//! kept entry keeps its index, so a stream still reads its source's writes
//! in log order, skipping those a later write to the same key supersedes; a
//! destination that returns catches up with the latest write of each key,
//! whose version vector includes the ones it skips. So a destination that
//! never returns pins at most about `compact_after` entries plus one per
//! key its source wrote, whatever the duration. Below the bound nothing
//! changes.

use std::collections::VecDeque;

use log::{At, BLOCK_SLOTS, Log};

use super::storage::{Applied, NO_RECORD, Storage, WriteRec};
use super::world::ReqHandle;
use crate::ids::{DcId, StreamId};
use crate::kernel::blocks;
use crate::time::{Nanos, SimTime};

/// Entries the lagging stream of a source applies between two trims of
/// the source's log (see the module's notes and `after_apply`).
pub const TRIM_EVERY: u64 = 16;

#[derive(Clone, Copy, Debug)]
pub struct LogEntry {
    pub write: WriteRec,
    pub written: SimTime,
    /// The request waiting for remote acks of this write, if one does.
    pub waiting: Option<ReqHandle>,
    /// Whether the write has been found in conflict somewhere already.
    pub conflicted: bool,
    /// Whether its origin has acknowledged it to the client.
    pub acked: bool,
}

#[derive(Default)]
struct Stream {
    next_apply: u64,
    next_ship: u64,
    /// Arrival times of the entries `next_apply..next_ship`.
    arrivals: VecDeque<SimTime>,
    last_arrival: SimTime,
    last_apply: Option<SimTime>,
    blocked: bool,
    /// Whether the head's apply is in the kernel's queue.
    scheduled: bool,
    /// Bumped when the stream is blocked, so that its pending apply is void.
    epoch: u32,
    /// When the oldest write the stream has not applied was written, once
    /// compaction dropped its entry (superseded); until the stream is past
    /// the compacted part.
    since: Option<SimTime>,
}

/// What a DC has not applied of another's log (see `Replication::unapplied`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unapplied {
    pub all: u64,
    pub acked: u64,
    pub oldest_acked: Option<SimTime>,
}

/// The entry a stream applies next: `index`, where the stream stood at
/// `from` (entries `from..index` were superseded by log compaction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub from: u64,
    pub index: u64,
}

impl Head {
    /// Entry `index`, nothing skipped.
    pub fn at(index: u64) -> Head {
        Head { from: index, index }
    }
}

/// A stream's apply to put in the kernel's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApplyAt {
    pub stream: StreamId,
    pub epoch: u32,
    pub at: SimTime,
}

pub struct Replication {
    n: usize,
    /// Numbers in each entry's meta vector.
    width: usize,
    logs: Vec<Log>,
    streams: Vec<Stream>,
    /// Each stream's source and destination: a lookup, where dividing the
    /// stream's number by the DCs took a division at every use (several
    /// per apply).
    ends: Vec<(DcId, DcId)>,
    /// Minimum time between two applies of one stream (`1 / apply_rate`).
    gap: Nanos,
    /// Holds the meta vector of a compacted entry `apply` applies.
    scratch: Vec<u32>,
    /// `replication.delay`: the pipeline's fixed processing time (capture
    /// and apply), added to every shipped entry's network delay.
    delay: Nanos,
    /// Entries a log may hold before its blocked streams' part is compacted.
    compact_after: u64,
    /// Keys in the keyspace, and one bit per key for compaction (made at
    /// the first one).
    keys: u64,
    seen: Vec<u64>,
    /// [`TRIM_EVERY`] (1 in tests that follow each entry out).
    trim_every: u64,
}

impl Replication {
    /// Streams between `n` DCs; each log entry carries `width` numbers of meta data.
    pub fn new(n: usize, width: usize, apply_rate: Option<f64>) -> Replication {
        Replication {
            n,
            width,
            logs: (0..n).map(|s| Log::new(width, BLOCK_SLOTS, s)).collect(),
            streams: (0..n * n).map(|_| Stream::default()).collect(),
            ends: (0..n * n)
                .map(|s| (DcId((s / n) as u16), DcId((s % n) as u16)))
                .collect(),
            gap: apply_rate.map_or(0, |r| (1e9 / r).round() as Nanos),
            scratch: Vec::with_capacity(width),
            delay: 0,
            compact_after: u64::MAX,
            keys: 0,
            seen: Vec::new(),
            trim_every: TRIM_EVERY,
        }
    }

    /// Adds `delay` (`replication.delay`) to every entry's trip: lag =
    /// network delay + `delay` + queueing. A stream stays in order, as the
    /// delay is the same for every entry.
    pub fn with_delay(mut self, delay: Nanos) -> Replication {
        self.delay = delay;
        self
    }

    /// Compacts what blocked streams hold once a log holds more than
    /// `limit` entries (keys are below `keys`); never without this.
    pub fn compacting(mut self, limit: u64, keys: u64) -> Replication {
        self.compact_after = limit.max(1);
        self.keys = keys;
        for log in &mut self.logs {
            log.check_at = self.compact_after;
        }
        self
    }

    /// Bytes one log entry takes with `n_dcs` DCs: the entry and its meta
    /// vector (`2 × DCs` numbers).
    pub const fn entry_bytes(n_dcs: usize) -> usize {
        size_of::<LogEntry>() + 2 * n_dcs * size_of::<u32>()
    }

    /// Entries' worth of memory a log may hold beyond its entries: the
    /// unused parts of its first and last blocks (less than a block each)
    /// and the spare blocks of its queues (see `kernel::blocks`).
    /// And the entries every stream applied that wait for the next trim
    /// (fewer than [`TRIM_EVERY`]).
    pub const fn log_slack_entries() -> u64 {
        ((2 + blocks::SPARE) * BLOCK_SLOTS) as u64 + TRIM_EVERY
    }

    /// The same, with blocks of `slots` entries (small ones, in tests, to
    /// cross block boundaries).
    #[cfg(test)]
    fn with_block_slots(mut self, slots: usize) -> Replication {
        for (s, log) in self.logs.iter_mut().enumerate() {
            let check_at = log.check_at;
            *log = Log::new(self.width, slots, s);
            log.check_at = check_at;
        }
        self
    }

    /// Trims a log each time its lagging stream applied `every` entries
    /// (tests: 1 follows each entry out).
    #[cfg(test)]
    pub(crate) fn set_trim_every(&mut self, every: u64) {
        self.trim_every = every;
    }

    /// Entries held in compacted parts of the logs (its tests).
    #[cfg(test)]
    pub(crate) fn compacted(&self) -> usize {
        self.logs.iter().map(|l| l.old.len()).sum()
    }

    /// At most 1,000 DCs (the scenario reader's limit): a million streams
    /// fit in a `u32`.
    #[inline]
    pub fn stream_id(&self, src: DcId, dst: DcId) -> StreamId {
        StreamId((src.idx() * self.n + dst.idx()) as u32)
    }

    #[inline]
    pub fn ends(&self, stream: StreamId) -> (DcId, DcId) {
        self.ends[stream.idx()]
    }

    /// Appends a write to its origin's log; returns its absolute index.
    #[inline]
    pub fn append(&mut self, entry: LogEntry, meta: &[u32]) -> u64 {
        let src = entry.write.origin.idx();
        let log = &mut self.logs[src];
        log.entries.push_back(std::slice::from_ref(&entry));
        debug_assert_eq!(meta.len(), self.width);
        log.vvs.push_back(meta);
        let end = log.end();
        if end >= log.check_at {
            self.compact(src);
        }
        end - 1
    }

    pub fn is_blocked(&self, stream: StreamId) -> bool {
        self.streams[stream.idx()].blocked
    }

    /// Ships every entry of the source's log the stream has not shipped yet,
    /// drawing each one's network delay from `delay` (plus the fixed
    /// processing delay). Returns the head's
    /// apply if it must be scheduled now.
    #[inline]
    pub fn ship(
        &mut self,
        stream: StreamId,
        now: SimTime,
        mut delay: impl FnMut() -> Nanos,
    ) -> Option<ApplyAt> {
        let (src, _) = self.ends(stream);
        let fixed = self.delay;
        let log = &self.logs[src.idx()];
        let end = log.end();
        let st = &mut self.streams[stream.idx()];
        if st.blocked {
            return None;
        }
        while st.next_ship < end {
            if st.next_ship < log.base {
                // In the compacted part: the next entry it holds.
                st.next_ship = log.next_at(st.next_ship);
                if st.next_ship >= end {
                    break;
                }
            }
            let arrival = now
                .after(delay().saturating_add(fixed))
                .max(st.last_arrival);
            st.last_arrival = arrival;
            st.arrivals.push_back(arrival);
            st.next_ship += 1;
        }
        self.schedule_head(stream)
    }

    fn schedule_head(&mut self, stream: StreamId) -> Option<ApplyAt> {
        let gap = self.gap;
        let st = &mut self.streams[stream.idx()];
        if st.scheduled || st.blocked {
            return None;
        }
        let arrival = *st.arrivals.front()?;
        st.scheduled = true;
        let at = st
            .last_apply
            .map_or(arrival, |last| arrival.max(last.after(gap)));
        Some(ApplyAt {
            stream,
            epoch: st.epoch,
            at,
        })
    }

    /// Takes the head of the stream for applying at `now`, if the event that
    /// asks is still valid. Returns the head's absolute index in the
    /// source's log (apply it with `apply`).
    #[inline]
    pub fn take_head(&mut self, stream: StreamId, epoch: u32, now: SimTime) -> Option<Head> {
        let (src, _) = self.ends(stream);
        let st = &mut self.streams[stream.idx()];
        if st.epoch != epoch || st.blocked || !st.scheduled {
            return None;
        }
        st.scheduled = false;
        st.arrivals.pop_front()?;
        st.last_apply = Some(now);
        Some(Self::advance(&self.logs[src.idx()], st))
    }

    /// Moves the stream past its next entry, which it applies.
    #[inline]
    fn advance(log: &Log, st: &mut Stream) -> Head {
        let from = st.next_apply;
        let index = log.next_at(from);
        st.next_apply = index + 1;
        if st.since.is_some() && log.next_at(st.next_apply) >= log.base {
            st.since = None;
        }
        Head { from, index }
    }

    /// Applies entry `index` of `src`'s log to `dst`'s storage (with the
    /// entry's own meta vector); returns the entry and what applying did.
    #[inline]
    pub fn apply(
        &mut self,
        storage: &mut Storage,
        src: DcId,
        dst: DcId,
        index: u64,
    ) -> (&LogEntry, Applied) {
        let w = self.width;
        let Replication { logs, scratch, .. } = self;
        let log = &logs[src.idx()];
        // A meta vector in the log's blocks lies in one piece: read in
        // place; a compacted one may not (a `VecDeque`): copied first.
        let (logged, meta): (&LogEntry, &[u32]) = match log
            .locate(index)
            .expect("a stream applies an entry its log holds")
        {
            At::New(i) => (&log.entries[i], log.vvs.slot(i)),
            At::Old(i) => {
                scratch.clear();
                scratch.extend(log.old_vvs.range(i * w..(i + 1) * w));
                (&log.old[i], &scratch[..])
            }
        };
        (logged, storage.apply_remote(dst, &logged.write, meta))
    }

    /// After an apply: schedules the stream's next head, and drops log
    /// entries every stream of the source has applied, in batches.
    #[inline]
    pub fn after_apply(&mut self, stream: StreamId) -> Option<ApplyAt> {
        let (src, dst) = self.ends(stream);
        // The log's first entry can go only once the stream at it applied
        // it: the one the last trim found lagging (or another at the same
        // place, which the trim that stream triggers finds next). Trimming
        // each time a stream applied the first entry scanned all the
        // source's streams once per write; every 16 entries (5 x 3 rounds,
        // medians): 9-DC mesh -4.8%, 3-DC -2.6%, default -0.5%; every 4 or
        // 64 ran as fast as 16.
        let log = &self.logs[src.idx()];
        if dst.idx() == log.lagging
            && self.streams[stream.idx()].next_apply >= log.first() + self.trim_every
        {
            self.trim(src);
        }
        self.schedule_head(stream)
    }

    /// Drops the entries of `src`'s log every stream of it has applied,
    /// and notes the stream that lags (the first of those furthest behind).
    fn trim(&mut self, src: DcId) {
        let n = self.n;
        let first = src.idx() * n;
        let (applied, lagging) = (0..n)
            .filter(|&d| d != src.idx())
            .map(|d| (self.streams[first + d].next_apply, d))
            .min()
            .unwrap_or((u64::MAX, 0));
        let width = self.width;
        let log = &mut self.logs[src.idx()];
        log.lagging = lagging;
        while log.old_index.front().is_some_and(|&i| i < applied) {
            log.old.pop_front();
            log.old_index.pop_front();
            log.old_vvs.drain(..width);
        }
        if log.base < applied {
            let k = (applied - log.base).min(log.entries.len() as u64);
            log.entries.pop_front(k as usize);
            log.vvs.pop_front(k as usize);
            log.base += k;
        }
    }

    /// Marks a write's log entry as found in conflict; returns whether it
    /// was already marked (a write counts as one conflict however many DCs
    /// see it).
    #[inline]
    pub fn mark_conflicted(&mut self, src: DcId, index: u64) -> bool {
        let e = self.logs[src.idx()]
            .entry_mut(index)
            .expect("a conflict is found applying an entry the log holds");
        std::mem::replace(&mut e.conflicted, true)
    }

    /// Marks the entry at `index` of `src`'s log as acknowledged (if it is
    /// still in the log: an entry every stream applied, or one a later
    /// write to its key superseded, no longer matters).
    pub fn mark_acked(&mut self, src: DcId, index: u64) {
        if let Some(e) = self.logs[src.idx()].entry_mut(index) {
            e.acked = true;
        }
    }

    /// The entries of `src`'s log to keys `wanted` that `dst` has not
    /// applied: how many, how many of them were acknowledged, and when the
    /// oldest acknowledged one was written. After a compaction, of the
    /// writes to one key only the latest counts (it carries the others).
    pub fn unapplied(&self, src: DcId, dst: DcId, wanted: impl Fn(u32) -> bool) -> Unapplied {
        let from = self.streams[self.stream_id(src, dst).idx()].next_apply;
        let log = &self.logs[src.idx()];
        let mut out = Unapplied::default();
        for e in log.from(from).filter(|e| wanted(e.write.key)) {
            out.all += 1;
            if e.acked {
                out.acked += 1;
                out.oldest_acked.get_or_insert(e.written);
            }
        }
        out
    }

    /// How far any stream of `src` other than the one to `dst` has applied:
    /// the entries some DC other than `dst` holds.
    pub fn applied_elsewhere(&self, src: DcId, dst: DcId, alive: impl Fn(DcId) -> bool) -> u64 {
        let n = self.n;
        (0..n)
            .filter(|&d| d != src.idx() && d != dst.idx() && alive(DcId(d as u16)))
            .map(|d| self.streams[src.idx() * n + d].next_apply)
            .max()
            .unwrap_or(0)
    }

    /// Hands `dst` the entries of `src`'s log up to (not including) `upto`
    /// directly, in order, as a consensus group's new leader reads them from
    /// the majority that has them: takes the next one, returning its
    /// absolute index (apply it with `apply`). The stream must be blocked.
    pub fn take_recovered(&mut self, src: DcId, dst: DcId, upto: u64) -> Option<Head> {
        let id = self.stream_id(src, dst).idx();
        let st = &mut self.streams[id];
        let log = &self.logs[src.idx()];
        debug_assert!(st.blocked, "recovery reads a blocked stream only");
        if log.next_at(st.next_apply) >= upto {
            // Recovery moved the stream on without `after_apply`.
            self.trim(src);
            return None;
        }
        let head = Self::advance(log, st);
        st.next_ship = st.next_apply;
        Some(head)
    }

    /// Absolute index of the stream's head (the next entry it applies).
    pub fn head_index(&self, stream: StreamId) -> u64 {
        self.streams[stream.idx()].next_apply
    }

    /// The storage record of the entry the stream applies after its head,
    /// where it has one (for the prefetch hint).
    #[inline]
    pub fn next_record(&self, stream: StreamId) -> Option<u32> {
        let (src, _) = self.ends(stream);
        let log = &self.logs[src.idx()];
        let i = self.streams[stream.idx()]
            .next_apply
            .checked_sub(log.base)?;
        log.entries
            .get(i as usize + 1)
            .map(|e| e.write.rec)
            .filter(|&r| r != NO_RECORD)
    }

    /// Blocks or unblocks a stream. Blocking returns every unapplied entry
    /// to the source's log; unblocking ships them again (through `ship`).
    pub fn set_blocked(&mut self, stream: StreamId, blocked: bool) {
        let st = &mut self.streams[stream.idx()];
        if st.blocked == blocked {
            return;
        }
        st.blocked = blocked;
        if blocked {
            st.epoch = st.epoch.wrapping_add(1);
            st.scheduled = false;
            st.arrivals.clear();
            st.next_ship = st.next_apply;
            st.last_arrival = SimTime::ZERO;
        }
    }

    /// When the oldest write `dst` has not applied yet (from any source) was
    /// written; `None` when it has applied everything.
    pub fn oldest_unapplied(&self, dst: DcId) -> Option<SimTime> {
        (0..self.n)
            .filter(|&s| s != dst.idx())
            .filter_map(|s| {
                let log = &self.logs[s];
                let st = &self.streams[s * self.n + dst.idx()];
                st.since
                    .or_else(|| log.entry(log.next_at(st.next_apply)).map(|e| e.written))
            })
            .min()
    }

    /// The absolute index the next entry of `src`'s log will get.
    pub fn log_end(&self, src: DcId) -> u64 {
        self.logs[src.idx()].end()
    }

    /// How long the oldest entry of the stream's source log that its
    /// destination has not applied has waited at `now` (0 when none waits):
    /// the stream's lag as a DTS-style monitor sees it.
    #[inline]
    pub fn lag(&self, stream: StreamId, now: SimTime) -> Nanos {
        let (src, _) = self.ends(stream);
        let log = &self.logs[src.idx()];
        let st = &self.streams[stream.idx()];
        if let Some(t) = st.since {
            return now.since(t);
        }
        match log.entry(log.next_at(st.next_apply)) {
            Some(e) => now.since(e.written),
            None => 0,
        }
    }

    /// Entries of `src`'s log that `dst` has not applied yet.
    pub fn backlog(&self, src: DcId, dst: DcId) -> u64 {
        let from = self.streams[self.stream_id(src, dst).idx()].next_apply;
        self.logs[src.idx()].from(from).count() as u64
    }

    /// Whether every stream has applied everything.
    pub fn is_idle(&self) -> bool {
        (0..self.n).all(|s| {
            (0..self.n).all(|d| s == d || self.backlog(DcId(s as u16), DcId(d as u16)) == 0)
        })
    }

    pub fn n(&self) -> usize {
        self.n
    }
}

mod compact;
mod log;
#[cfg(test)]
mod tests;
