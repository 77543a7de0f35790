//! The pending-event set: a 4-ary min-heap keyed by `(time, seq)`.
//!
//! `seq` is a counter given at scheduling, so events at the same instant fire
//! in the order they were scheduled: the run is a pure function of the seed.
//!
//! `seq` is 32 bits, so that an entry is 8 bytes smaller (24 bytes for the
//! model's 12-byte events, 16 for PHOLD's): more of the heap fits in each
//! cache line. Before the counter would wrap, the pending entries are
//! renumbered 0, 1, 2, ... in their `(time, seq)` order; order between them,
//! and so the heap, is unchanged, and later events number on from there.
//!
//! *Lanes* hold timers that fire in the order they are set (all of one
//! length, say): only a lane's earliest timer sits in the heap, the others
//! wait in the lane with the sequence number they got when set. When the
//! model handles a lane's head it calls `lane_fired`, which moves the next
//! timer into the heap, dropping on the way the ones the model no longer
//! needs (cancelled). Events pop exactly as if every timer had gone into
//! the heap when set, minus the cancelled ones, and the heap stays small.
//!
//! The *solo* place holds one event beside the heap, for a source that
//! always has exactly one event pending (the model's arrival process): a
//! pop compares it with the heap's root and takes the earlier, so such an
//! event costs a comparison instead of a push and a pop.
//!
//! *Slots* hold one event each beside the heap, for sources that keep at
//! most one pending and schedule the next while handling it (a replication
//! stream's next apply): a winner tree over the slots (`slots`) keeps their
//! earliest, and the earlier of it and the solo entry (the *side*) is what
//! a pop compares with the heap's root. A slot's event costs a replay of
//! its path in a tree of 4 levels for up to 256 slots instead of a heap
//! push and pop, and the heap is smaller by the slots' events: the 72
//! streams of a 9-DC mesh made it 172 entries deep instead of 100.
//!
//! Which entries sit in the heap and which beside it never changes the
//! order events pop in.

use crate::time::{Nanos, SimTime};

mod slots;
use slots::Slots;

/// Children per node. A 4-ary heap is half as deep as a binary one, and a
/// node's children sit next to each other in memory. (`pop_entry` unrolls
/// the choice among four children.)
const ARITY: usize = 4;

#[derive(Clone, Copy)]
struct Entry<E> {
    time: u64,
    seq: u32,
    event: E,
}

/// Timers of one lane not yet in the heap, earliest first.
struct Lane<E> {
    waiting: std::collections::VecDeque<Entry<E>>,
    /// The lane's earliest timer is in the heap.
    head_out: bool,
}

/// Whether `a` fires before `b`. Keys are unique (`seq` is), so this is a
/// strict total order and any correct heap pops the same sequence.
#[inline(always)]
fn before<E>(a: &Entry<E>, b: &Entry<E>) -> bool {
    (a.time, a.seq) < (b.time, b.seq)
}

/// Events waiting to fire, earliest first; ties in scheduling order.
pub struct EventQueue<E> {
    /// Implicit 4-ary min-heap: the children of `i` are `4i+1 ..= 4i+4`.
    heap: Vec<Entry<E>>,
    next_seq: u32,
    /// Events scheduled so far (never renumbered).
    scheduled: u64,
    now: SimTime,
    /// Events scheduled before `now` (moved to `now`): a broken invariant of
    /// the model, counted for the model's checker to report.
    past: u64,
    lanes: Vec<Lane<E>>,
    /// One entry beside the heap (see `schedule_solo`).
    solo: Option<Entry<E>>,
    /// Slots beside the heap, at most one entry each (see `slots`).
    slots: Slots<E>,
    /// The earlier of the solo entry and the slots' earliest (`SOLO` as
    /// its slot for the solo entry; `EMPTY` when neither holds one).
    side: Node,
}

/// The key of an entry beside the heap, one `u128` so that comparing two
/// is one wide comparison: time (high 64 bits), sequence number (next 32),
/// slot (low 32; it never decides, as sequence numbers are unique).
type Node = u128;

/// No entry: after every real key (`seq` never reaches `u32::MAX`).
const EMPTY: Node = u128::MAX;

/// The slot a `Node` names for the solo entry (in `EventQueue::side`).
const SOLO: u32 = u32::MAX - 1;

#[inline(always)]
fn node(time: u64, seq: u32, slot: u32) -> Node {
    (u128::from(time) << 64) | (u128::from(seq) << 32) | u128::from(slot)
}

#[inline(always)]
fn node_time(n: Node) -> u64 {
    (n >> 64) as u64
}

#[inline(always)]
fn node_seq(n: Node) -> u32 {
    (n >> 32) as u32
}

#[inline(always)]
fn node_slot(n: Node) -> u32 {
    n as u32
}

/// The earlier of two keys, without a branch.
#[inline(always)]
fn earlier(a: Node, b: Node) -> Node {
    #[cfg(target_arch = "x86_64")]
    {
        // LLVM compiles `a.min(b)` (and `select_unpredictable`) in the
        // tree's loops to a branch, which mispredicts about half the time:
        // the tree cost more than the heap it relieves (9-DC mesh +22%).
        let (mut lo, mut hi) = (a as u64, (a >> 64) as u64);
        let (b_lo, b_hi) = (b as u64, (b >> 64) as u64);
        // SAFETY: register arithmetic only (a 128-bit comparison by
        // subtraction with borrow, then two conditional moves); no memory
        // is touched and the flags are declared clobbered (the default).
        unsafe {
            std::arch::asm!(
                "cmp {b_lo}, {lo}",
                "mov {t}, {b_hi}",
                "sbb {t}, {hi}",
                "cmovc {lo}, {b_lo}",
                "cmovc {hi}, {b_hi}",
                lo = inout(reg) lo,
                hi = inout(reg) hi,
                b_lo = in(reg) b_lo,
                b_hi = in(reg) b_hi,
                t = out(reg) _,
                options(pure, nomem, nostack),
            );
        }
        (u128::from(hi) << 64) | u128::from(lo)
    }
    #[cfg(not(target_arch = "x86_64"))]
    a.min(b)
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: Vec::with_capacity(capacity),
            next_seq: 0,
            scheduled: 0,
            now: SimTime::ZERO,
            past: 0,
            lanes: Vec::new(),
            solo: None,
            slots: Slots::new(),
            side: EMPTY,
        }
    }

    /// Notes the earlier of the solo entry and the slots' earliest.
    #[inline(always)]
    fn update_side(&mut self) {
        let t = self.slots.root();
        let s = self.solo.map_or(EMPTY, |s| node(s.time, s.seq, SOLO));
        self.side = earlier(t, s);
    }

    /// Schedules `event` at `at` in slot `slot` beside the heap (slots are
    /// numbered from 0 and made on first use; memory grows with the
    /// highest). Meant for sources that keep at most one event pending
    /// each and schedule the next while handling the last (a replication
    /// stream's next apply). If the slot holds an entry, that entry moves
    /// into the heap (the order events pop in is the same either way).
    #[inline]
    pub fn schedule_in_slot(&mut self, slot: usize, at: SimTime, event: E) {
        let entry = self.entry(at, event);
        if let Some(old) = self.slots.put(slot, entry) {
            self.push(old);
        }
        self.update_side();
    }

    /// The time of the event handed out last.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `at`. Scheduling in the past is a broken
    /// invariant of the model, not an input error: such an event fires now
    /// (time never runs backwards) and is counted (`scheduled_in_past`).
    #[inline(always)]
    pub fn schedule(&mut self, at: SimTime, event: E) {
        let entry = self.entry(at, event);
        self.push(entry);
    }

    /// The heap entry of `event` at `at`, with the next sequence number.
    #[inline]
    fn entry(&mut self, at: SimTime, event: E) -> Entry<E> {
        self.past += u64::from(at < self.now);
        let at = at.max(self.now);
        if self.next_seq == u32::MAX {
            self.renumber();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.scheduled += 1;
        Entry {
            time: at.0,
            seq,
            event,
        }
    }

    /// Schedules `event` at `at` in the solo place beside the heap. Meant
    /// for a source that keeps exactly one event pending and schedules its
    /// next while handling it; if the place is taken, the entry there moves
    /// into the heap (the order events pop in is the same either way).
    #[inline]
    pub fn schedule_solo(&mut self, at: SimTime, event: E) {
        let entry = self.entry(at, event);
        if let Some(old) = self.solo.replace(entry) {
            self.push(old);
        }
        self.update_side();
    }

    /// Sets a timer in lane `lane` (lanes are numbered from 0 and made on
    /// first use). A lane's timers must be set in the order they fire (`at`
    /// never earlier than the lane's last); the model then calls
    /// `lane_fired` whenever it handles one of them.
    #[inline]
    pub fn schedule_in_lane(&mut self, lane: usize, at: SimTime, event: E) {
        if lane >= self.lanes.len() {
            self.lanes.resize_with(lane + 1, || Lane {
                waiting: std::collections::VecDeque::new(),
                head_out: false,
            });
        }
        let entry = self.entry(at, event);
        let l = &mut self.lanes[lane];
        debug_assert!(l.waiting.back().is_none_or(|b| b.time <= entry.time));
        if l.head_out {
            l.waiting.push_back(entry);
        } else {
            l.head_out = true;
            push(&mut self.heap, entry);
        }
    }

    /// The model handled lane `lane`'s head: the lane's next timer for
    /// which `cancelled(time, event)` is false goes into the heap; the
    /// cancelled ones before it are dropped.
    #[inline]
    pub fn lane_fired(&mut self, lane: usize, mut cancelled: impl FnMut(SimTime, &E) -> bool) {
        let Some(l) = self.lanes.get_mut(lane) else {
            return;
        };
        l.head_out = false;
        while let Some(e) = l.waiting.pop_front() {
            if !cancelled(SimTime(e.time), &e.event) {
                l.head_out = true;
                push(&mut self.heap, e);
                return;
            }
        }
    }

    /// Schedules `event` `delay` nanoseconds after now.
    #[inline]
    pub fn schedule_in(&mut self, delay: Nanos, event: E) {
        self.schedule(self.now.after(delay), event);
    }

    /// Takes the earliest event and advances the clock to its time.
    /// (Inlined into the caller's loop: as a call of its own, its result
    /// went through the stack in pieces that stalled on store-to-load
    /// forwarding.)
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let e = if self.side_first() {
            self.take_side()?
        } else {
            self.pop_entry()?
        };
        self.now = SimTime(e.time);
        Some((self.now, e.event))
    }

    /// Whether the side's entry (solo or a slot's) is the earliest
    /// pending (false without one).
    #[inline(always)]
    fn side_first(&self) -> bool {
        match self.heap.first() {
            Some(h) => self.side < node(h.time, h.seq, 0),
            None => self.side != EMPTY,
        }
    }

    /// Takes the side's entry.
    #[inline(always)]
    fn take_side(&mut self) -> Option<Entry<E>> {
        if node_slot(self.side) == SOLO {
            let e = self.solo.take();
            self.update_side();
            e
        } else {
            self.take_slot()
        }
    }

    /// Takes the slots' earliest entry (kept out of the run loop's code,
    /// which PHOLD and the model's other events run through).
    #[inline(never)]
    fn take_slot(&mut self) -> Option<Entry<E>> {
        let e = self.slots.take_root();
        self.update_side();
        e
    }

    /// The side's event (there is one).
    #[inline(always)]
    fn side_event(&self) -> Option<&E> {
        match node_slot(self.side) {
            SOLO => self.solo.as_ref().map(|e| &e.event),
            s => Some(self.slots.event(s as usize)),
        }
    }

    /// The earliest event, without taking it.
    #[inline]
    pub fn peek(&self) -> Option<&E> {
        if self.side_first() {
            self.side_event()
        } else {
            self.heap.first().map(|e| &e.event)
        }
    }

    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        if self.side_first() {
            Some(SimTime(node_time(self.side)))
        } else {
            self.heap.first().map(|e| SimTime(e.time))
        }
    }

    /// Events pending, the timers waiting in lanes, the solo entry and the
    /// slots' included.
    #[inline]
    pub fn len(&self) -> usize {
        self.heap.len()
            + usize::from(self.solo.is_some())
            + self.slots.held
            + self.lanes.iter().map(|l| l.waiting.len()).sum::<usize>()
    }

    /// No event pending (a lane's timers wait only behind its head).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.side == EMPTY
    }

    /// Events that were scheduled before the clock's time.
    pub fn scheduled_in_past(&self) -> u64 {
        self.past
    }

    /// Events scheduled so far (the next sequence number).
    pub fn scheduled(&self) -> u64 {
        self.scheduled
    }

    /// Gives the pending entries (in the heap, beside it and in the lanes)
    /// the sequence numbers 0..len in their `(time, seq)` order. Ranks keep
    /// every comparison between entries as it was, so the heap and the
    /// lanes stay valid (the slots' tree is rebuilt). Runs once per 2^32
    /// schedules.
    #[cold]
    fn renumber(&mut self) {
        let mut keys: Vec<(u64, u32)> = self.heap.iter().map(|e| (e.time, e.seq)).collect();
        keys.extend(self.solo.iter().map(|e| (e.time, e.seq)));
        let slotted = self.slots.entries();
        keys.extend(slotted.iter().map(|(_, e)| (e.time, e.seq)));
        for l in &self.lanes {
            keys.extend(l.waiting.iter().map(|e| (e.time, e.seq)));
        }
        keys.sort_unstable();
        // Keys are unique and all present: the search always finds its key.
        let rank = |e: &Entry<E>| keys.binary_search(&(e.time, e.seq)).unwrap_or_else(|i| i) as u32;
        for e in self.heap.iter_mut().chain(self.solo.iter_mut()) {
            e.seq = rank(e);
        }
        for (s, e) in &slotted {
            self.slots.set_seq(*s, rank(e));
        }
        self.slots.rebuild();
        for l in self.lanes.iter_mut() {
            for e in l.waiting.iter_mut() {
                e.seq = rank(e);
            }
        }
        self.next_seq = keys.len() as u32;
        self.update_side();
    }

    #[inline]
    fn push(&mut self, entry: Entry<E>) {
        push(&mut self.heap, entry);
    }

    /// Removes the root; the last entry takes its place. That entry almost
    /// always belongs near the bottom, so the hole the root leaves first
    /// moves down to a leaf along the path of least children (each child
    /// moving up one level, comparing children only: Floyd's bottom-up
    /// variant), and the last entry then rises from there to its place.
    #[inline]
    fn pop_entry(&mut self) -> Option<Entry<E>> {
        let last = self.heap.pop()?;
        let Some(&top) = self.heap.first() else {
            return Some(last);
        };
        let h = &mut self.heap[..];
        let n = h.len();
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            let least = if first + ARITY <= n {
                // All four children: a two-round tournament of selects,
                // which the compiler can turn into conditional moves.
                let c = &h[first..first + ARITY];
                let a = if before(&c[1], &c[0]) { 1 } else { 0 };
                let b = if before(&c[3], &c[2]) { 3 } else { 2 };
                first + if before(&c[b], &c[a]) { b } else { a }
            } else if first < n {
                let mut m = first;
                for j in first + 1..n {
                    if before(&h[j], &h[m]) {
                        m = j;
                    }
                }
                m
            } else {
                break;
            };
            h[i] = h[least];
            i = least;
        }
        rise(h, i, last);
        Some(top)
    }
}

#[inline(always)]
fn push<E: Copy>(heap: &mut Vec<Entry<E>>, entry: Entry<E>) {
    heap.push(entry);
    let last = heap.len() - 1;
    rise(heap, last, entry);
}

/// Puts `e` into the hole at `h[i]`, after moving the hole up past every
/// ancestor `e` fires before.
#[inline(always)]
fn rise<E: Copy>(h: &mut [Entry<E>], mut i: usize, e: Entry<E>) {
    while i > 0 {
        let parent = (i - 1) / ARITY;
        if !before(&e, &h[parent]) {
            break;
        }
        h[i] = h[parent];
        i = parent;
    }
    h[i] = e;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_scheduled_in_the_past_is_counted_and_fires_now() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), 'a');
        q.pop();
        assert_eq!(q.scheduled_in_past(), 0);
        q.schedule(SimTime(5), 'b');
        q.schedule(SimTime(10), 'c');
        assert_eq!(q.scheduled_in_past(), 1);
        assert_eq!(q.pop(), Some((SimTime(10), 'b')));
    }

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::new();
        for (t, e) in [(30, 'c'), (10, 'a'), (20, 'b')] {
            q.schedule(SimTime(t), e);
        }
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![(SimTime(10), 'a'), (SimTime(20), 'b'), (SimTime(30), 'c')]
        );
    }

    #[test]
    fn equal_times_fire_in_scheduling_order() {
        let mut q = EventQueue::new();
        for i in 0..1000u32 {
            q.schedule(SimTime(5), i);
        }
        let order: Vec<u32> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, (0..1000).collect::<Vec<_>>());
    }

    /// Crossing the 32-bit sequence limit (with many ties pending) keeps
    /// scheduling order: the queue is started just below the limit.
    #[test]
    fn renumbering_keeps_the_order() {
        let mut q = EventQueue::new();
        q.next_seq = u32::MAX - 5;
        let mut expected = Vec::new();
        for i in 0..40u32 {
            let t = u64::from(i % 3);
            // The solo entry is renumbered with the heap's (it holds
            // number u32::MAX - 2 when the counter wraps).
            if i % 3 == 0 {
                q.schedule_solo(SimTime(t), i);
            } else {
                q.schedule(SimTime(t), i);
            }
            expected.push((t, i));
        }
        assert!(q.next_seq < 100, "renumbered once: {}", q.next_seq);
        expected.sort_by_key(|&(t, i)| (t, i));
        let got: Vec<(u64, u32)> = std::iter::from_fn(|| q.pop())
            .map(|(t, e)| (t.0, e))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(q.scheduled(), 40);
        // Interleaved: pops, then more schedules across a second renumbering.
        q.next_seq = u32::MAX - 1;
        for i in 0..10u32 {
            q.schedule(SimTime(100), i);
        }
        q.pop();
        q.next_seq = u32::MAX;
        for i in 10..20u32 {
            q.schedule(SimTime(100), i);
        }
        let got: Vec<u32> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(got, (1..20).collect::<Vec<_>>());
    }

    #[test]
    fn entries_are_small() {
        assert_eq!(std::mem::size_of::<Entry<u32>>(), 16);
        assert_eq!(std::mem::size_of::<Entry<[u32; 3]>>(), 24);
    }

    #[test]
    fn clock_follows_popped_events() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(7), ());
        q.pop();
        assert_eq!(q.now(), SimTime(7));
        q.schedule_in(3, ());
        assert_eq!(q.peek_time(), Some(SimTime(10)));
        assert_eq!(q.scheduled(), 2);
    }

    /// Pops the queue and removes the reference's earliest `(time, seq,
    /// payload)` (by time, then sequence number), which must agree;
    /// returns the time and payload.
    fn pop_both(
        q: &mut EventQueue<u64>,
        reference: &mut Vec<(u64, u64, u64)>,
        (round, step): (u64, usize),
    ) -> (u64, u64) {
        let i = (0..reference.len())
            .min_by_key(|&i| (reference[i].0, reference[i].1))
            .expect("a pop is asked of a non-empty reference");
        let (t, _, payload) = reference.swap_remove(i);
        assert_eq!(
            q.pop(),
            Some((SimTime(t), payload)),
            "round {round} step {step}"
        );
        (t, payload)
    }

    /// Interleaved schedules and pops (many ties, queue sizes crossing every
    /// partial last level, a quarter of the events scheduled in the solo
    /// place) against a sorted reference.
    #[test]
    fn matches_a_sorted_reference() {
        use rand::{Rng, RngExt};

        let mut rng = crate::kernel::stream(7, 0);
        for round in 0..200u64 {
            let mut q = EventQueue::new();
            // The reference: pending (time, seq, payload), kept unsorted.
            let mut reference: Vec<(u64, u64, u64)> = Vec::new();
            let spread = 1 + round % 50; // small spreads give many equal times
            let steps = 1 + rng.random_range(0..2000usize);
            for step in 0..steps {
                if rng.random_range(0..3) < 2 || reference.is_empty() {
                    let at = q.now().0 + rng.random_range(0..spread);
                    let seq = q.scheduled();
                    let payload = rng.next_u64();
                    // Some beside the heap (taking the place moves the
                    // entry there into the heap).
                    if rng.random_range(0..4) == 0 {
                        q.schedule_solo(SimTime(at), payload);
                    } else {
                        q.schedule(SimTime(at), payload);
                    }
                    reference.push((at, seq, payload));
                } else {
                    let (t, _) = pop_both(&mut q, &mut reference, (round, step));
                    assert_eq!(q.now(), SimTime(t));
                }
                assert_eq!(q.len(), reference.len());
                let earliest = reference.iter().map(|&(t, s, _)| (t, s)).min();
                assert_eq!(q.peek_time(), earliest.map(|(t, _)| SimTime(t)));
            }
            reference.sort_unstable();
            let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
            let expected: Vec<_> = reference.iter().map(|&(t, _, p)| (SimTime(t), p)).collect();
            assert_eq!(rest, expected, "round {round}");
            assert!(q.is_empty());
        }
    }

    /// Entries in slots, in the solo place and in the heap pop as a sorted
    /// reference says: slots scheduled again while they hold an entry
    /// (that one moves into the heap), a popped slot's next entry scheduled
    /// at once (the path left as it was, then mended by the replay) or
    /// later (mended by whatever reads the tree first), the tree growing
    /// (slots up to 299: 4, 16, 64, 256 and 1,024 leaves) and renumbering
    /// (counter started near its limit).
    #[test]
    fn slots_pop_like_a_sorted_reference() {
        use rand::RngExt;

        let mut rng = crate::kernel::stream(17, 0);
        for round in 0..300u64 {
            let mut q: EventQueue<u64> = EventQueue::new();
            if round % 7 == 0 {
                q.next_seq = u32::MAX - 100;
            }
            let mut reference: Vec<(u64, u64, u64)> = Vec::new();
            let spread = 1 + round % 40;
            let slots = [1usize, 3, 17, 64, 70, 299][round as usize % 6];
            // A payload names its slot (+1; 0: none) above its number.
            let mut id = 0u64;
            let mut schedule =
                |q: &mut EventQueue<u64>, reference: &mut Vec<_>, slot: Option<usize>, at: u64| {
                    id += 1;
                    let payload = (slot.map_or(0, |s| s as u64 + 1) << 32) | id;
                    reference.push((at, q.scheduled(), payload));
                    match slot {
                        Some(s) => q.schedule_in_slot(s, SimTime(at), payload),
                        None if id % 3 == 0 => q.schedule_solo(SimTime(at), payload),
                        None => q.schedule(SimTime(at), payload),
                    }
                };
            for step in 0..200 + rng.random_range(0..1300usize) {
                if rng.random_range(0..5) < 3 || reference.is_empty() {
                    let at = q.now().0 + rng.random_range(0..spread);
                    let slot = (rng.random_range(0..2) == 0).then(|| rng.random_range(0..slots));
                    schedule(&mut q, &mut reference, slot, at);
                } else {
                    let (t, payload) = pop_both(&mut q, &mut reference, (round, step));
                    let slot = (payload >> 32) as usize;
                    if slot > 0 && rng.random_range(0..4) > 0 {
                        let at = t + rng.random_range(0..spread * 4);
                        schedule(&mut q, &mut reference, Some(slot - 1), at);
                    }
                }
                assert_eq!(q.len(), reference.len());
                let earliest = reference.iter().min_by_key(|&&(t, s, _)| (t, s));
                assert_eq!(q.peek_time(), earliest.map(|&(t, _, _)| SimTime(t)));
                assert_eq!(q.peek(), earliest.map(|(_, _, p)| p));
            }
            reference.sort_unstable();
            let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
            let expected: Vec<_> = reference.iter().map(|&(t, _, p)| (SimTime(t), p)).collect();
            assert_eq!(rest, expected, "round {round}");
            assert!(q.is_empty());
            if round % 7 == 0 {
                assert!(q.next_seq < 10_000, "renumbered: {}", q.next_seq);
            }
        }
    }

    /// The branch-free `earlier` is the minimum of two keys, whichever half
    /// decides (borrows across the halves included).
    #[test]
    fn earlier_is_the_minimum() {
        use rand::Rng;

        let halves = [
            0,
            1,
            2,
            u64::MAX / 2,
            u64::MAX / 2 + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut keys: Vec<Node> = Vec::new();
        for &hi in &halves {
            for &lo in &halves {
                keys.push((u128::from(hi) << 64) | u128::from(lo));
            }
        }
        let mut rng = crate::kernel::stream(19, 0);
        for _ in 0..200 {
            let hi = rng.next_u64() % 4;
            keys.push((u128::from(hi) << 64) | u128::from(rng.next_u64()));
        }
        for &a in &keys {
            for &b in &keys {
                assert_eq!(earlier(a, b), a.min(b), "{a:#x} {b:#x}");
            }
        }
    }

    /// Pops in a long hold run (one pop, one schedule) match `BinaryHeap`.
    #[test]
    fn hold_run_matches_binary_heap() {
        use rand::RngExt;
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;

        let mut rng = crate::kernel::stream(11, 0);
        for n in [1usize, 2, 3, 4, 5, 16, 17, 21, 85, 86, 1000] {
            let mut q = EventQueue::new();
            let mut reference = BinaryHeap::new();
            for i in 0..n as u32 {
                let at = rng.random_range(0..100u64);
                reference.push(Reverse((at, q.scheduled(), i)));
                q.schedule(SimTime(at), i);
            }
            for _ in 0..20_000 {
                let Reverse((t, _, e)) = reference.pop().unwrap();
                assert_eq!(q.pop(), Some((SimTime(t), e)));
                let d = rng.random_range(0..100u64);
                reference.push(Reverse((t + d, q.scheduled(), e)));
                q.schedule_in(d, e);
            }
        }
    }

    /// Timers in lanes (a fixed delay per lane, some cancelled while they
    /// wait) pop exactly like the same timers put straight into the heap,
    /// less cancelled ones (a timer cancelled once it is its lane's head
    /// still pops, for the model to ignore), also across a renumbering.
    #[test]
    fn lanes_pop_like_the_heap_minus_cancelled_timers() {
        use rand::RngExt;
        use std::collections::BTreeSet;

        let mut rng = crate::kernel::stream(13, 0);
        for round in 0..100u32 {
            // Payload: (lane or none, id).
            let mut laned: EventQueue<(Option<usize>, u32)> = EventQueue::new();
            let mut plain: EventQueue<(Option<usize>, u32)> = EventQueue::new();
            if round % 10 == 0 {
                laned.next_seq = u32::MAX - 50;
                plain.next_seq = u32::MAX - 50;
            }
            let mut cancelled = BTreeSet::new();
            let mut live = Vec::new();
            let mut got = Vec::new();
            let spread = 1 + u64::from(round % 7);
            let pop = |laned: &mut EventQueue<_>, cancelled: &BTreeSet<u32>| {
                let (t, e) = laned.pop()?;
                if let (Some(lane), _) = e {
                    laned.lane_fired(lane, |_, e: &(Option<usize>, u32)| cancelled.contains(&e.1));
                }
                Some((t, e))
            };
            for id in 0..500u32 {
                match rng.random_range(0..4u32) {
                    0 | 1 => {
                        let at = SimTime(laned.now().0 + rng.random_range(0..spread * 3));
                        laned.schedule(at, (None, id));
                        plain.schedule(at, (None, id));
                    }
                    2 => {
                        let lane = rng.random_range(0..3usize);
                        let at = laned.now().after(spread * (1 + lane as u64));
                        laned.schedule_in_lane(lane, at, (Some(lane), id));
                        plain.schedule(at, (Some(lane), id));
                        live.push(id);
                    }
                    _ => {
                        if !live.is_empty() {
                            let i = rng.random_range(0..live.len());
                            cancelled.insert(live.swap_remove(i));
                        }
                        if let Some((t, e)) = pop(&mut laned, &cancelled) {
                            live.retain(|&id| id != e.1);
                            got.push((t, e));
                        }
                    }
                }
            }
            assert!(laned.len() <= plain.len());
            got.extend(std::iter::from_fn(|| pop(&mut laned, &cancelled)));
            let all: Vec<_> = std::iter::from_fn(|| plain.pop()).collect();
            // Cancelled timers mostly never reach the heap.
            assert!(
                cancelled.is_empty() || got.len() < all.len(),
                "round {round}"
            );
            let want: Vec<_> = all
                .into_iter()
                .filter(|(_, e)| !(e.0.is_some() && cancelled.contains(&e.1)))
                .collect();
            got.retain(|(_, e)| !(e.0.is_some() && cancelled.contains(&e.1)));
            assert_eq!(got, want, "round {round}");
        }
    }
}
