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
    type Event;

    /// Handles one event at `now`; new events go into `queue`.
    fn handle(&mut self, now: SimTime, event: Self::Event, queue: &mut EventQueue<Self::Event>);
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
        model.handle(now, event, queue);
        handled += 1;
    }
    handled
}
