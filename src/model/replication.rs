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

/// One DC's log of the writes it originated, from absolute index `base`.
#[derive(Default)]
struct Log {
    base: u64,
    entries: VecDeque<LogEntry>,
    /// The entries' meta vectors (version vector and lineage counts),
    /// `width` numbers each.
    vvs: VecDeque<u32>,
}

impl Log {
    fn end(&self) -> u64 {
        self.base + self.entries.len() as u64
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
}

/// What a DC has not applied of another's log (see `Replication::unapplied`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unapplied {
    pub all: u64,
    pub acked: u64,
    pub oldest_acked: Option<SimTime>,
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
}

impl Replication {
    /// Streams between `n` DCs; each log entry carries `width` numbers of meta data.
    pub fn new(n: usize, width: usize, apply_rate: Option<f64>) -> Replication {
        Replication {
            n,
            width,
            logs: (0..n).map(|_| Log::default()).collect(),
            streams: (0..n * n).map(|_| Stream::default()).collect(),
            gap: apply_rate.map_or(0, |r| (1e9 / r).round() as Nanos),
            scratch: Vec::with_capacity(width),
        }
    }

    /// At most 1,000 DCs (the scenario reader's limit): a million streams
    /// fit in a `u32`.
    #[inline]
    pub fn stream_id(&self, src: DcId, dst: DcId) -> StreamId {
        StreamId((src.idx() * self.n + dst.idx()) as u32)
    }

    #[inline]
    pub fn ends(&self, stream: StreamId) -> (DcId, DcId) {
        // 32-bit division (both fit: see `stream_id`), much cheaper than 64-bit.
        let (s, n) = (stream.0, self.n as u32);
        (DcId((s / n) as u16), DcId((s % n) as u16))
    }

    /// Appends a write to its origin's log; returns its absolute index.
    #[inline]
    pub fn append(&mut self, entry: LogEntry, meta: &[u32]) -> u64 {
        let log = &mut self.logs[entry.write.origin.idx()];
        log.entries.push_back(entry);
        debug_assert_eq!(meta.len(), self.width);
        log.vvs.extend(meta.iter().copied());
        log.end() - 1
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
        let end = self.logs[src.idx()].end();
        let st = &mut self.streams[stream.idx()];
        if st.blocked {
            return None;
        }
        while st.next_ship < end {
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
    pub fn take_head(&mut self, stream: StreamId, epoch: u32, now: SimTime) -> Option<u64> {
        let st = &mut self.streams[stream.idx()];
        if st.epoch != epoch || st.blocked || !st.scheduled {
            return None;
        }
        st.scheduled = false;
        st.arrivals.pop_front()?;
        let index = st.next_apply;
        st.next_apply += 1;
        st.last_apply = Some(now);
        Some(index)
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
        let i = (index - log.base) as usize;
        self.scratch.clear();
        self.scratch.extend(log.vvs.range(i * w..(i + 1) * w));
        let logged = log.entries[i];
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
        // (those at `base`, the least `next_apply` after a trim) applied
        // it: only such an apply needs the scan over the source's streams.
        if self.streams[stream.idx()].next_apply == self.logs[src.idx()].base + 1 {
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
        let log = &mut self.logs[src.idx()];
        let e = &mut log.entries[(index - log.base) as usize];
        std::mem::replace(&mut e.conflicted, true)
    }

    /// Marks the entry at `index` of `src`'s log as acknowledged (if it is
    /// still in the log: an entry every stream applied no longer matters).
    pub fn mark_acked(&mut self, src: DcId, index: u64) {
        let log = &mut self.logs[src.idx()];
        if index >= log.base
            && let Some(e) = log.entries.get_mut((index - log.base) as usize)
        {
            e.acked = true;
        }
    }

    /// The entries of `src`'s log to keys `wanted` that `dst` has not
    /// applied: how many, how many of them were acknowledged, and when the
    /// oldest acknowledged one was written.
    pub fn unapplied(&self, src: DcId, dst: DcId, wanted: impl Fn(u32) -> bool) -> Unapplied {
        let from = self.streams[self.stream_id(src, dst).idx()].next_apply;
        let log = &self.logs[src.idx()];
        let skip = (from - log.base) as usize;
        let mut out = Unapplied::default();
        for e in log
            .entries
            .iter()
            .skip(skip)
            .filter(|e| wanted(e.write.key))
        {
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
    pub fn take_recovered(&mut self, src: DcId, dst: DcId, upto: u64) -> Option<u64> {
        let id = self.stream_id(src, dst).idx();
        let st = &mut self.streams[id];
        debug_assert!(st.blocked, "recovery reads a blocked stream only");
        if st.next_apply >= upto {
            // Recovery moved the stream on without `after_apply`.
            self.trim(src);
            return None;
        }
        let index = st.next_apply;
        st.next_apply += 1;
        st.next_ship = st.next_apply;
        Some(index)
    }

    /// Absolute index of the stream's head (the next entry it applies).
    pub fn head_index(&self, stream: StreamId) -> u64 {
        self.streams[stream.idx()].next_apply
    }

    /// The keys of the three entries the stream applies next, where it
    /// has them (for prefetch hints).
    #[inline]
    pub fn head_keys(&self, stream: StreamId) -> [Option<u32>; 3] {
        let (src, _) = self.ends(stream);
        let log = &self.logs[src.idx()];
        let Some(i) = self.streams[stream.idx()].next_apply.checked_sub(log.base) else {
            return [None; 3];
        };
        let key = |i: u64| log.entries.get(i as usize).map(|e| e.write.key);
        [key(i), key(i + 1), key(i + 2)]
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
                let next = self.streams[s * self.n + dst.idx()].next_apply;
                let i = next.checked_sub(log.base)? as usize;
                log.entries.get(i).map(|e| e.written)
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
        let next = self.streams[stream.idx()].next_apply;
        match log.entries.get((next - log.base) as usize) {
            Some(e) => now.since(e.written),
            None => 0,
        }
    }

    /// Entries of `src`'s log that `dst` has not applied yet.
    pub fn backlog(&self, src: DcId, dst: DcId) -> u64 {
        let st = &self.streams[self.stream_id(src, dst).idx()];
        self.logs[src.idx()].end() - st.next_apply
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
        LogEntry {
            write: WriteRec {
                key: 0,
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
            i
        };
        assert_eq!(apply(&mut r, ab, 0), Some(0));
        assert_eq!(apply(&mut r, ab, 2), Some(1));
        assert_eq!(r.logs[0].entries.len(), 4, "c applied nothing yet");
        assert_eq!(apply(&mut r, ac, 4), Some(0));
        assert_eq!((r.logs[0].base, r.logs[0].entries.len()), (1, 3));
        // c is cut off; a recovery hands it entries 1..4 directly.
        r.set_blocked(ac, true);
        let got: Vec<u64> = std::iter::from_fn(|| r.take_recovered(a, c, 4)).collect();
        assert_eq!(got, vec![1, 2, 3]);
        assert_eq!(r.logs[0].base, 2, "b's head (entry 2) still holds the rest");
        assert_eq!(apply(&mut r, ab, 6), Some(2));
        assert_eq!(apply(&mut r, ab, 8), Some(3));
        assert_eq!((r.logs[0].base, r.logs[0].entries.len()), (4, 0));
    }
}
