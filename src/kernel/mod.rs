//! The event loop. It orders events by `(time, seq)` and hands them to a
//! model one at a time; it knows nothing of datacenters, requests or
//! replication, and is generic over the model's event type so that it can be
//! tested and benchmarked alone (see `examples/phold.rs`).

pub mod blocks;
pub mod huge;
pub mod queue;
pub mod rng;

pub use queue::EventQueue;
pub use rng::{ComponentRng, stream};

use crate::time::SimTime;

/// A simulated world that reacts to its own events.
pub trait Model {
    type Event: Copy;

    /// Handles one event at `now`; new events go into `queue`.
    fn handle(&mut self, now: SimTime, event: Self::Event, queue: &mut EventQueue<Self::Event>);

    /// A hint, given just before an event is handled: `next` is the event
    /// due after it (unless handling schedules an earlier one). A model may
    /// start loading the memory `next` will touch (see [`prefetch`]), so
    /// that the load overlaps the current event's work. It must change
    /// nothing: the run is the same with or without the hint.
    #[inline]
    fn prefetch(&self, _next: &Self::Event) {}
}

/// Asks the CPU to start loading the cache line that holds `p` into its
/// caches. Only a hint: it never reads `p` for the program, never faults,
/// and is a no-op where the architecture has no such instruction, so any
/// address (even a dangling or wrapped one) is fine.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is a hint that neither dereferences its operand
    // in the program's sense nor faults, whatever the address; SSE is part
    // of every x86_64 target.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Runs `model` until the queue is empty, the next event lies after
/// `until`, or `max_events` events have been handled. Returns the number of
/// events handled: fewer than `max_events` means the run is over.
pub fn run_until<M: Model>(
    model: &mut M,
    queue: &mut EventQueue<M::Event>,
    until: SimTime,
    max_events: u64,
) -> u64 {
    let mut handled = 0;
    while handled < max_events
        && let Some(t) = queue.peek_time()
    {
        if t > until {
            break;
        }
        let Some((now, event)) = queue.pop() else {
            break;
        };
        if let Some(next) = queue.peek() {
            model.prefetch(next);
        }
        model.handle(now, event, queue);
        handled += 1;
    }
    handled
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// The last hint given (`prefetch` takes `&self`).
        static HINT: Cell<Option<u32>> = const { Cell::new(None) };
    }

    /// Records the events it handles and the hint it was given before each.
    struct Recorder {
        handled: Vec<u32>,
        shown: Vec<Option<u32>>,
    }

    impl Model for Recorder {
        type Event = u32;

        fn handle(&mut self, _now: SimTime, e: u32, q: &mut EventQueue<u32>) {
            self.handled.push(e);
            self.shown.push(HINT.with(|h| h.take()));
            if e < 5 {
                q.schedule_in(10, e + 10);
            }
        }

        fn prefetch(&self, next: &u32) {
            HINT.with(|h| h.set(Some(*next)));
        }
    }

    /// Before each event the model is shown the event due after it (none
    /// before the last), events scheduled meanwhile included.
    #[test]
    fn the_model_is_shown_the_next_event_before_each_one() {
        let mut q = EventQueue::new();
        for (t, e) in [(1, 0), (2, 1), (3, 7)] {
            q.schedule(SimTime(t), e);
        }
        let mut m = Recorder {
            handled: Vec::new(),
            shown: Vec::new(),
        };
        assert_eq!(run_until(&mut m, &mut q, SimTime::MAX, 100), 5);
        assert_eq!(m.handled, vec![0, 1, 7, 10, 11]);
        assert_eq!(m.shown, vec![Some(1), Some(7), Some(10), Some(11), None]);
    }
}
