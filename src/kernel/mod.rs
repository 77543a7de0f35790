//! The event loop. It orders events by `(time, seq)` and hands them to a
//! model one at a time; it knows nothing of datacenters, requests or
//! replication, and is generic over the model's event type so that it can be
//! tested and benchmarked alone (see `examples/phold.rs`).

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
