//! Invariants checked during every run, in the manner of a state checker
//! beside the simulation: the world reports what it does at the points that
//! matter, and the checker compares that with what must hold.
//!
//! - a published routing table hands no shard (newly) to a DC that is down;
//! - each time a request leaves, `requests = ok + failed + rejected + in flight`;
//! - every replication stream applies its source's log in order, one entry
//!   after the other (FIFO per stream), skipping only entries that log
//!   compaction superseded;
//! - no acknowledgement (a replica's ack or a client's) comes from a DC that
//!   is down;
//! - no event was scheduled in the past (the kernel counts these);
//! - no narrowing conversion on the model path would wrap.
//!
//! Each violation counts into `invariant_violations` (in `summary.csv`) and,
//! in debug builds, panics at once with what broke, unless a test has made
//! the checker lenient to count what it deliberately broke.

use super::routing::RoutingTable;
use crate::ids::{DcId, StreamId};
use crate::metrics::Totals;

/// The invariants, one per check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// A published table hands a shard to a DC that is down.
    TableToDownDc,
    /// `requests != ok + failed + rejected + in flight` when a request leaves.
    RequestBooks,
    /// A stream applies its source's log out of order.
    ApplyOrder,
    /// An acknowledgement comes from a DC that is down.
    AckFromDownDc,
    /// An event was scheduled before the clock's time.
    PastEvent,
    /// A narrowing conversion would wrap.
    NarrowingCast,
}

impl Check {
    pub const ALL: [Check; 6] = [
        Check::TableToDownDc,
        Check::RequestBooks,
        Check::ApplyOrder,
        Check::AckFromDownDc,
        Check::PastEvent,
        Check::NarrowingCast,
    ];
}

pub struct Checker {
    /// Violations of each check (`Check as usize`).
    violations: [u64; Check::ALL.len()],
    /// Debug builds panic at a violation (tests that break things on
    /// purpose turn this off to count them instead).
    strict: bool,
    /// Per stream, the index in the source's log its next apply must have.
    next_apply: Vec<u64>,
    /// Past schedules the kernel had reported when last asked.
    past_schedules: u64,
}

impl Checker {
    pub fn new(n_dcs: usize) -> Checker {
        Checker {
            violations: [0; Check::ALL.len()],
            strict: true,
            next_apply: vec![0; n_dcs * n_dcs],
            past_schedules: 0,
        }
    }

    /// Violations found so far, of every check.
    pub fn violations(&self) -> u64 {
        self.violations.iter().sum()
    }

    /// Violations of one check found so far.
    pub fn violations_of(&self, check: Check) -> u64 {
        self.violations[check as usize]
    }

    /// Count violations instead of panicking in debug builds (for tests
    /// that break an invariant on purpose).
    #[doc(hidden)]
    pub fn set_lenient(&mut self) {
        self.strict = false;
    }

    #[cold]
    #[inline(never)]
    fn violated(&mut self, check: Check, what: std::fmt::Arguments) {
        self.violations[check as usize] += 1;
        if self.strict {
            debug_assert!(false, "invariant violated: {what}");
        }
    }

    /// The controller publishes `new` over `old`: every shard (and the global
    /// dataset) whose owner changes must go to a DC that is up.
    pub fn table_published(
        &mut self,
        old: &RoutingTable,
        new: &RoutingTable,
        is_up: impl Fn(DcId) -> bool,
    ) {
        for (s, (&was, &now)) in old.owners.iter().zip(&new.owners).enumerate() {
            if was != now && !is_up(now) {
                self.violated(
                    Check::TableToDownDc,
                    format_args!("shard {s} handed to DC {} while it is down", now.0),
                );
            }
        }
        for (i, (&was, &g)) in old.global_owners.iter().zip(&new.global_owners).enumerate() {
            if g != was && !is_up(g) {
                self.violated(
                    Check::TableToDownDc,
                    format_args!("global dataset {i} handed to DC {} while down", g.0),
                );
            }
        }
    }

    /// A request has just left and been counted.
    #[inline]
    pub fn request_left(&mut self, t: &Totals, in_flight: u64) {
        let accounted = t.ok + t.failed + t.rejected + in_flight;
        if t.requests != accounted {
            self.violated(
                Check::RequestBooks,
                format_args!(
                    "{} requests but {} ok + {} failed + {} rejected + {in_flight} in flight",
                    t.requests, t.ok, t.failed, t.rejected
                ),
            );
        }
    }

    /// Stream `stream`, whose next entry was `from`, skips to `to`: log
    /// compaction superseded the entries between by later writes to their
    /// keys. `from` must be where the stream stood.
    #[cold]
    pub fn superseded(&mut self, stream: StreamId, from: u64, to: u64) {
        let expected = self.next_apply[stream.idx()];
        if from != expected || to < from {
            self.violated(
                Check::ApplyOrder,
                format_args!(
                    "stream {} skipped from entry {from} to {to}, expected to stand at {expected}",
                    stream.0
                ),
            );
        }
        self.next_apply[stream.idx()] = to;
    }

    /// Stream `stream` applies entry `index` of its source's log.
    #[inline]
    pub fn applied(&mut self, stream: StreamId, index: u64) {
        let expected = std::mem::replace(&mut self.next_apply[stream.idx()], index + 1);
        if index != expected {
            self.violated(
                Check::ApplyOrder,
                format_args!(
                    "stream {} applied entry {index}, expected {expected}",
                    stream.0
                ),
            );
        }
    }

    /// DC `from` sends an acknowledgement (to a client or to a write's origin).
    #[inline]
    pub fn ack_sent(&mut self, from: DcId, from_is_up: bool) {
        if !from_is_up {
            self.violated(
                Check::AckFromDownDc,
                format_args!("an ack sent by DC {} while it is down", from.0),
            );
        }
    }

    /// The kernel has counted `past` events scheduled before its clock.
    pub fn kernel_past_schedules(&mut self, past: u64) {
        let new = past.saturating_sub(self.past_schedules);
        self.past_schedules = past;
        for _ in 0..new {
            self.violated(
                Check::PastEvent,
                format_args!("an event was scheduled in the past"),
            );
        }
    }

    /// `v` as a `u32`, counting a violation (and saturating) if it does not fit.
    #[inline]
    pub fn narrow_u32<T: TryInto<u32> + Copy + std::fmt::Debug>(&mut self, v: T) -> u32 {
        match v.try_into() {
            Ok(x) => x,
            Err(_) => {
                self.violated(
                    Check::NarrowingCast,
                    format_args!("{v:?} does not fit in 32 bits"),
                );
                u32::MAX
            }
        }
    }
}

#[cfg(test)]
mod tests;
