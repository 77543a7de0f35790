//! Replication streams.
//!
//! Every DC keeps a log of the writes it originated. For each other DC a
//! stream pulls from that log in order: it ships an entry over the network
//! (arriving no earlier than the entry before it, so one origin's writes are
//! never reordered) and applies it at the destination at most `apply_rate`
//! entries per second, so lag = network delay + queueing. Only each stream's
//! head is in the kernel's queue, however many entries are in flight.
//!
//! A stream that cannot reach its destination is *blocked*: everything it
//! has not applied yet goes back to the source's log and is shipped again,
//! in order, when it unblocks. Nothing is lost or reordered; a log entry is
//! dropped only once every stream has applied it.
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

use super::storage::{Applied, Storage, WriteRec};
use super::world::ReqHandle;
use crate::ids::{DcId, StreamId};
use crate::time::{Nanos, SimTime};

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

/// One DC's log of the writes it originated, from absolute index `base`,
/// after its compacted part (`old`).
#[derive(Default)]
struct Log {
    base: u64,
    entries: VecDeque<LogEntry>,
    /// The entries' meta vectors (version vector and lineage counts),
    /// `width` numbers each.
    vvs: VecDeque<u32>,
    /// Compacted entries below `base` (at most one per key), by index, with
    /// their indices and meta vectors: what blocked streams still hold.
    old: VecDeque<LogEntry>,
    old_index: VecDeque<u64>,
    old_vvs: VecDeque<u32>,
    /// The log end at which to look for entries to compact next.
    check_at: u64,
}

/// Where an entry of a log is.
#[derive(Clone, Copy)]
enum At {
    New(usize),
    Old(usize),
}

impl Log {
    fn end(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// The index of the first entry the log holds.
    #[inline]
    fn first(&self) -> u64 {
        self.old_index.front().copied().unwrap_or(self.base)
    }

    /// The first index at or after `i` the log holds an entry for (`end`
    /// if none): `i` itself unless `i` is in the compacted part.
    #[inline]
    fn next_at(&self, i: u64) -> u64 {
        if i >= self.base { i } else { self.next_old(i) }
    }

    #[cold]
    fn next_old(&self, i: u64) -> u64 {
        let p = self.old_index.partition_point(|&x| x < i);
        self.old_index.get(p).copied().unwrap_or(self.base)
    }

    #[inline]
    fn locate(&self, index: u64) -> Option<At> {
        if index >= self.base {
            let i = (index - self.base) as usize;
            (i < self.entries.len()).then_some(At::New(i))
        } else {
            self.old_index.binary_search(&index).ok().map(At::Old)
        }
    }

    #[inline]
    fn entry(&self, index: u64) -> Option<&LogEntry> {
        match self.locate(index)? {
            At::New(i) => self.entries.get(i),
            At::Old(i) => self.old.get(i),
        }
    }

    #[inline]
    fn entry_mut(&mut self, index: u64) -> Option<&mut LogEntry> {
        match self.locate(index)? {
            At::New(i) => self.entries.get_mut(i),
            At::Old(i) => self.old.get_mut(i),
        }
    }

    /// The entries at or after `from`, in order.
    fn from(&self, from: u64) -> impl Iterator<Item = &LogEntry> {
        let old = self.old_index.partition_point(|&x| x < from);
        let new = from.saturating_sub(self.base) as usize;
        self.old
            .iter()
            .skip(old)
            .chain(self.entries.iter().skip(new))
    }
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
    /// Minimum time between two applies of one stream (`1 / apply_rate`).
    gap: Nanos,
    /// Holds the version vector `take_head` hands out.
    scratch: Vec<u32>,
    /// Entries a log may hold before its blocked streams' part is compacted.
    compact_after: u64,
    /// Keys in the keyspace, and one bit per key for compaction (made at
    /// the first one).
    keys: u64,
    seen: Vec<u64>,
}

impl Replication {
    /// Streams between `n` DCs; each log entry carries `width` numbers of meta data.
    pub fn new(n: usize, width: usize, apply_rate: Option<f64>) -> Replication {
        Replication {
            n,
            width,
            logs: (0..n)
                .map(|_| Log {
                    check_at: u64::MAX,
                    ..Log::default()
                })
                .collect(),
            streams: (0..n * n).map(|_| Stream::default()).collect(),
            gap: apply_rate.map_or(0, |r| (1e9 / r).round() as Nanos),
            scratch: Vec::with_capacity(width),
            compact_after: u64::MAX,
            keys: 0,
            seen: Vec::new(),
        }
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

    /// At most 1,000 DCs (the scenario reader's limit): a million streams
    /// fit in a `u32`.
    #[inline]
    pub fn stream_id(&self, src: DcId, dst: DcId) -> StreamId {
        StreamId((src.idx() * self.n + dst.idx()) as u32)
    }

    #[inline]
    pub fn ends(&self, stream: StreamId) -> (DcId, DcId) {
        let s = stream.idx();
        (DcId((s / self.n) as u16), DcId((s % self.n) as u16))
    }

    /// Appends a write to its origin's log; returns its absolute index.
    #[inline]
    pub fn append(&mut self, entry: LogEntry, meta: &[u32]) -> u64 {
        let src = entry.write.origin.idx();
        let log = &mut self.logs[src];
        log.entries.push_back(entry);
        debug_assert_eq!(meta.len(), self.width);
        log.vvs.extend(meta.iter().copied());
        let end = log.end();
        if end >= log.check_at {
            self.compact(src);
        }
        end - 1
    }

    /// Compacts the part of `src`'s log only blocked streams still need, if
    /// the log holds more than `compact_after` entries: of the writes to one
    /// key only the latest stays. Looks again `compact_after / 4` entries on.
    #[cold]
    #[inline(never)]
    fn compact(&mut self, src: usize) {
        let n = self.n;
        let log = &mut self.logs[src];
        let end = log.end();
        log.check_at = end.saturating_add((self.compact_after / 4).max(1));
        if log.entries.len() as u64 <= self.compact_after {
            return;
        }
        let streams = &mut self.streams[src * n..(src + 1) * n];
        let upto = streams
            .iter()
            .enumerate()
            .filter(|&(d, st)| d != src && !st.blocked)
            .map(|(_, st)| st.next_apply)
            .min()
            .unwrap_or(end);
        if upto <= log.base {
            return; // live streams lag: nothing is held by blocked ones only
        }
        // A blocked stream about to lose its head keeps the head's time:
        // its oldest unapplied write stays the one it was.
        for (d, st) in streams.iter_mut().enumerate() {
            if d != src && st.next_apply < upto && st.since.is_none() {
                st.since = log.entry(log.next_at(st.next_apply)).map(|e| e.written);
            }
        }
        let words = self.keys.div_ceil(64) as usize;
        if self.seen.len() < words {
            self.seen.resize(words, 0);
        }
        // Newest first: the first entry seen of a key is its latest.
        let w = self.width;
        let take = (upto - log.base) as usize;
        let (mut old, mut index, mut vvs) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
        let newer = (0..take).rev().map(|i| {
            (
                log.base + i as u64,
                &log.entries[i],
                log.vvs.range(i * w..(i + 1) * w),
            )
        });
        let older = (0..log.old.len()).rev().map(|i| {
            (
                log.old_index[i],
                &log.old[i],
                log.old_vvs.range(i * w..(i + 1) * w),
            )
        });
        for (at, e, meta) in newer.chain(older) {
            let (word, bit) = ((e.write.key / 64) as usize, 1u64 << (e.write.key % 64));
            if self.seen[word] & bit != 0 {
                continue;
            }
            self.seen[word] |= bit;
            old.push_front(*e);
            index.push_front(at);
            for &m in meta.rev() {
                vvs.push_front(m);
            }
        }
        for e in &old {
            self.seen[(e.write.key / 64) as usize] = 0;
        }
        log.entries.drain(..take);
        log.vvs.drain(..take * w);
        log.base = upto;
        log.old = old;
        log.old_index = index;
        log.old_vvs = vvs;
    }

    pub fn is_blocked(&self, stream: StreamId) -> bool {
        self.streams[stream.idx()].blocked
    }

    /// Ships every entry of the source's log the stream has not shipped yet,
    /// drawing each one's network delay from `delay`. Returns the head's
    /// apply if it must be scheduled now.
    #[inline]
    pub fn ship(
        &mut self,
        stream: StreamId,
        now: SimTime,
        mut delay: impl FnMut() -> Nanos,
    ) -> Option<ApplyAt> {
        let (src, _) = self.ends(stream);
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
            let arrival = now.after(delay()).max(st.last_arrival);
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
    ) -> (LogEntry, Applied) {
        let w = self.width;
        let log = &self.logs[src.idx()];
        self.scratch.clear();
        let logged = match log
            .locate(index)
            .expect("a stream applies an entry its log holds")
        {
            At::New(i) => {
                self.scratch.extend(log.vvs.range(i * w..(i + 1) * w));
                log.entries[i]
            }
            At::Old(i) => {
                self.scratch.extend(log.old_vvs.range(i * w..(i + 1) * w));
                log.old[i]
            }
        };
        (
            logged,
            storage.apply_remote(dst, &logged.write, &self.scratch),
        )
    }

    /// After an apply: schedules the stream's next head, and drops log
    /// entries every stream of the source has applied.
    #[inline]
    pub fn after_apply(&mut self, stream: StreamId) -> Option<ApplyAt> {
        let (src, _) = self.ends(stream);
        // The log's first entry can go only once the streams that held it
        // (those at it, the least `next_apply` after a trim) applied it:
        // only such an apply needs the scan over the source's streams.
        if self.streams[stream.idx()].next_apply == self.logs[src.idx()].first() + 1 {
            self.trim(src);
        }
        self.schedule_head(stream)
    }

    /// Drops the entries of `src`'s log every stream of it has applied.
    fn trim(&mut self, src: DcId) {
        let n = self.n;
        let first = src.idx() * n;
        let applied = (0..n)
            .filter(|&d| d != src.idx())
            .map(|d| self.streams[first + d].next_apply)
            .min()
            .unwrap_or(u64::MAX);
        let width = self.width;
        let log = &mut self.logs[src.idx()];
        while log.old_index.front().is_some_and(|&i| i < applied) {
            log.old.pop_front();
            log.old_index.pop_front();
            log.old_vvs.drain(..width);
        }
        while log.base < applied && !log.entries.is_empty() {
            log.entries.pop_front();
            log.vvs.drain(..width);
            log.base += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::storage::VersionId;

    fn entry(seq: u32) -> LogEntry {
        keyed(0, seq)
    }

    fn keyed(key: u32, seq: u32) -> LogEntry {
        LogEntry {
            write: WriteRec {
                key,
                origin: DcId(0),
                seq,
                ts: 0,
                based_on: VersionId::INITIAL,
            },
            written: SimTime(0),
            waiting: None,
            conflicted: false,
            acked: false,
        }
    }

    /// An entry leaves the log once both of its streams applied it, by
    /// their own applies or by a recovery that took the laggard's.
    #[test]
    fn the_log_drops_what_every_stream_applied() {
        let mut r = Replication::new(3, 6, None);
        let (a, b, c) = (DcId(0), DcId(1), DcId(2));
        for seq in 1..=4 {
            r.append(entry(seq), &[0; 6]);
        }
        let (ab, ac) = (r.stream_id(a, b), r.stream_id(a, c));
        let apply = |r: &mut Replication, s: StreamId, at: u64| {
            let next = r.ship(s, SimTime(at), || 1);
            let epoch = next.map_or(0, |n| n.epoch);
            let i = r.take_head(s, epoch, SimTime(at + 1));
            r.after_apply(s);
            i.map(|h| h.index)
        };
        assert_eq!(apply(&mut r, ab, 0), Some(0));
        assert_eq!(apply(&mut r, ab, 2), Some(1));
        assert_eq!(r.logs[0].entries.len(), 4, "c applied nothing yet");
        assert_eq!(apply(&mut r, ac, 4), Some(0));
        assert_eq!((r.logs[0].base, r.logs[0].entries.len()), (1, 3));
        // c is cut off; a recovery hands it entries 1..4 directly.
        r.set_blocked(ac, true);
        let got: Vec<u64> = std::iter::from_fn(|| r.take_recovered(a, c, 4))
            .map(|h| h.index)
            .collect();
        assert_eq!(got, vec![1, 2, 3]);
        assert_eq!(r.logs[0].base, 2, "b's head (entry 2) still holds the rest");
        assert_eq!(apply(&mut r, ab, 6), Some(2));
        assert_eq!(apply(&mut r, ab, 8), Some(3));
        assert_eq!((r.logs[0].base, r.logs[0].entries.len()), (4, 0));
    }

    /// Past the bound, what only a blocked stream holds keeps the latest
    /// write of each key, at its own index; the stream, unblocked, ships
    /// those in order and then the rest; once it applied them the log holds
    /// nothing more.
    #[test]
    fn a_blocked_stream_keeps_the_latest_write_per_key_past_the_bound() {
        let mut r = Replication::new(3, 6, None).compacting(4, 10);
        let (a, b, c) = (DcId(0), DcId(1), DcId(2));
        let (ab, ac) = (r.stream_id(a, b), r.stream_id(a, c));
        r.set_blocked(ac, true);
        let t = |i: u64| SimTime(i * 10);
        // Keys 1, 2, 1, 3, 1, 2 at indices 0..6; b applies each at once.
        for (i, key) in [1, 2, 1, 3, 1, 2].into_iter().enumerate() {
            let mut e = keyed(key, i as u32 + 1);
            e.written = t(i as u64);
            r.append(e, &[i as u32; 6]);
            let epoch = r.ship(ab, t(i as u64), || 1).map_or(0, |n| n.epoch);
            let h = r.take_head(ab, epoch, t(i as u64 + 1));
            assert_eq!(h, Some(Head::at(i as u64)));
            r.after_apply(ab);
        }
        // The fifth append found five entries, 0..4 applied by b: of those
        // (keys 1, 2, 1, 3) stay 1 (key 2), 2 (key 1) and 3 (key 3), with
        // their meta vectors; the sixth found two, under the bound.
        let log = &r.logs[0];
        assert_eq!(log.old_index, [1, 2, 3]);
        assert_eq!((log.base, log.end()), (4, 6));
        assert_eq!(
            log.old_vvs.iter().step_by(6).collect::<Vec<_>>(),
            [&1, &2, &3]
        );
        assert_eq!(r.backlog(a, c), 5);
        // c's oldest unapplied write is still entry 0's, superseded or not.
        assert_eq!(r.oldest_unapplied(c), Some(t(0)));
        assert_eq!(r.lag(ac, t(100)), 1000);
        // c comes back: it applies 1, 2, 3, 4 and 5, skipping 0.
        r.set_blocked(ac, false);
        let mut got = Vec::new();
        let mut next = r.ship(ac, t(100), || 1);
        while let Some(n) = next {
            let h = r.take_head(ac, n.epoch, n.at).expect("a valid head");
            let key = r.logs[0].entry(h.index).map(|e| e.write.key);
            got.push((h.from, h.index, key.unwrap()));
            next = r.after_apply(ac);
        }
        assert_eq!(got, [(0, 1, 2), (2, 2, 1), (3, 3, 3), (4, 4, 1), (5, 5, 2)]);
        assert_eq!(r.oldest_unapplied(c), None);
        assert_eq!(r.lag(ac, t(200)), 0);
        let log = &r.logs[0];
        assert!(log.old.is_empty() && log.entries.is_empty() && log.old_vvs.is_empty());
        assert_eq!(log.base, 6);
    }

    /// Below the bound, or while a live stream still needs the entries,
    /// nothing is compacted.
    #[test]
    fn nothing_is_compacted_that_a_live_stream_needs() {
        let mut r = Replication::new(3, 6, None).compacting(2, 10);
        let (a, c) = (DcId(0), DcId(2));
        r.set_blocked(r.stream_id(a, c), true);
        for seq in 1..=5 {
            r.append(entry(seq), &[0; 6]);
        }
        // b (live) has applied nothing: all five stay.
        assert_eq!((r.logs[0].base, r.logs[0].entries.len()), (0, 5));
        assert!(r.logs[0].old.is_empty());
        assert_eq!(r.backlog(a, c), 5);
    }
}
