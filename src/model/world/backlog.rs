//! The replication backlog as a reviewer means it: at every bucket close,
//! the age of the oldest write each DC has not applied yet (from any
//! source). While a link is cut it rises with the cut; applies that finally
//! happen show up in the lag of applied writes instead.

use super::World;
use crate::ids::DcId;
use crate::time::SimTime;

impl World {
    /// Samples every bucket close up to `now` not sampled yet. State only
    /// changes at events, so the state before the event at `now` is the
    /// state at those closes. The streaming run loop calls it before it
    /// writes out closed buckets.
    #[inline]
    pub(crate) fn sample_backlog(&mut self, now: SimTime) {
        if now.ns() >= self.next_sample {
            self.sample_closes(now);
        }
    }

    #[cold]
    fn sample_closes(&mut self, now: SimTime) {
        // The last bucket closes at `n_buckets · bucket`; later events
        // (the drain's replication, far-off completions) sample nothing.
        let last = self.metrics.n_buckets as u64 * self.metrics.bucket_ns;
        while now.ns() >= self.next_sample && self.next_sample <= last {
            let at = SimTime(self.next_sample);
            let bucket = (self.next_sample / self.metrics.bucket_ns - 1) as usize;
            for d in 0..self.n_dcs {
                let age = self
                    .repl
                    .oldest_unapplied(DcId(d as u16))
                    .map_or(0, |w| at.since(w).max(1));
                self.metrics.set_unapplied_age(bucket, d, age);
            }
            self.next_sample += self.metrics.bucket_ns;
        }
        if self.next_sample > last {
            self.next_sample = u64::MAX;
        }
    }
}
