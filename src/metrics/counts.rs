//! Values counted the way an HDR histogram of three significant digits
//! counts them, cheaply: replication lags and request latencies.
//!
//! Every replicated apply has a lag, so with many DCs recording it is a hot
//! path: into an HDR histogram per stream and one per destination DC for
//! the time series' p99, two scattered counter updates per apply (on the
//! 9-DC mesh benchmark ≈ 10% of the run, mostly cache misses). Here an
//! apply notes its source and the counts index of its lag (exactly as the
//! lag histogram indexes the value: same bucket boundaries, 3 significant
//! digits above 1 µs, see `super::new_lag_histogram`) in its DC's list of
//! recent lags, which is counted a few thousand at a time into short
//! windows of counts, one per stream. When a DC's time bucket closes, the
//! windows of the streams into it are summed into its p99 (the quantile
//! computed as `hdrhistogram` computes it) and into the streams' run
//! counts; `streams.csv` reads those, and the run's lag is their sum made
//! into one histogram. Counts of one precision that hold the same number
//! at every index give the same quantiles, mean, minimum and maximum, so
//! every output is unchanged. Request latencies (1-ns unit) are counted
//! the same way and made into their histograms when the run closes.

use hdrhistogram::Histogram;

/// `log2` of the lag histograms' unit (512 ns: the power of two at or
/// below their lowest discernible value, 1 µs).
pub const LAG_UNIT: u32 = 9;
/// `log2` of the latency histograms' unit (1 ns).
pub const LATENCY_UNIT: u32 = 0;
/// `log2` of half the sub-buckets of a bucket (2,048 sub-buckets give
/// three significant digits).
const HALF: u32 = 10;

/// The counts index of `value` in a histogram of three significant
/// digits and unit `2^UNIT` (`hdrhistogram`'s `index_for`).
#[inline]
pub fn index<const UNIT: u32>(value: u64) -> usize {
    // The sub-bucket bits of bucket 0, and the leading zeros of a value
    // at its top.
    let mask: u64 = ((1 << (HALF + 1)) - 1) << UNIT;
    let base = 64 - UNIT - HALF - 1;
    let bucket = base - (value | mask).leading_zeros();
    let sub = value >> (bucket + UNIT);
    ((bucket as usize) << HALF) + sub as usize
}

/// The bucket of index `i` (bucket 0 takes indexes `0..2 × 1024`).
fn bucket(i: usize) -> u32 {
    ((i >> HALF).max(1) - 1) as u32
}

/// The lowest value counted at index `i` (see `index`).
pub fn lowest<const UNIT: u32>(i: usize) -> u64 {
    let sub = if i < 2 << HALF {
        i as u64
    } else {
        (i as u64 & ((1 << HALF) - 1)) | 1 << HALF
    };
    sub << (bucket(i) + UNIT)
}

/// The highest value counted at index `i` (see `index`).
pub fn highest<const UNIT: u32>(i: usize) -> u64 {
    lowest::<UNIT>(i) + ((1u64 << (bucket(i) + UNIT)) - 1)
}

/// Counts at indexes `lo..lo + counts.len()`: a window that widens to
/// take whatever index comes, and never narrows (so a stream's window is
/// allocated once, about as wide as its spread of lags).
#[derive(Clone, Debug, Default)]
pub struct Counts<const UNIT: u32> {
    lo: usize,
    counts: Vec<u64>,
}

impl<const UNIT: u32> Counts<UNIT> {
    /// Counts one value at index `i`.
    #[inline]
    pub fn add(&mut self, i: usize) {
        match self.counts.get_mut(i.wrapping_sub(self.lo)) {
            Some(c) => *c += 1,
            None => self.widen_add(i, 1),
        }
    }

    #[cold]
    #[inline(never)]
    fn widen_add(&mut self, i: usize, n: u64) {
        if self.counts.is_empty() {
            self.lo = i;
            self.counts.push(n);
            return;
        }
        let hi = (self.lo + self.counts.len()).max(i + 1);
        let lo = self.lo.min(i);
        // Widened by at least half again, so a drifting lag does not
        // widen it one index at a time.
        let room = (self.counts.len() / 2).max(16);
        let (lo, hi) = if i < self.lo {
            (lo.saturating_sub(room), hi)
        } else {
            (lo, hi + room)
        };
        let mut counts = vec![0; hi - lo];
        let at = self.lo - lo;
        counts[at..at + self.counts.len()].copy_from_slice(&self.counts);
        counts[i - lo] += n;
        self.lo = lo;
        self.counts = counts;
    }

    /// Adds `n` counts at index `i`.
    fn add_n(&mut self, i: usize, n: u64) {
        match self.counts.get_mut(i.wrapping_sub(self.lo)) {
            Some(c) => *c += n,
            None => self.widen_add(i, n),
        }
    }

    /// Adds `other`'s counts here.
    pub fn merge(&mut self, other: &Counts<UNIT>) {
        let Some(first) = other.counts.iter().position(|&c| c > 0) else {
            return;
        };
        let last = other.counts.iter().rposition(|&c| c > 0).unwrap_or(first);
        // Widen once for the whole range, then add in place.
        self.add_n(other.lo + last, 0);
        self.add_n(other.lo + first, 0);
        let at = other.lo + first - self.lo;
        for (to, &c) in self.counts[at..]
            .iter_mut()
            .zip(&other.counts[first..=last])
        {
            *to += c;
        }
    }

    /// Sets every count to zero (the window stays).
    pub fn clear(&mut self) {
        self.counts.fill(0);
    }

    /// Values counted.
    pub fn len(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|&c| c == 0)
    }

    /// The highest value of the highest index counted (0 without counts),
    /// as a histogram's `max`.
    pub fn max(&self) -> u64 {
        self.counts
            .iter()
            .rposition(|&c| c > 0)
            .map_or(0, |j| highest::<UNIT>(self.lo + j))
    }

    /// The value at quantile `q` as `hdrhistogram`'s `value_at_quantile`
    /// gives it: the highest value (the lowest for `q = 0`) of the first
    /// index where the running count reaches `⌈q × count⌉`, at least 1;
    /// 0 without counts.
    pub fn value_at_quantile(&self, q: f64) -> u64 {
        let want = ((q.min(1.0) * self.len() as f64).ceil() as u64).max(1);
        let mut sum = 0;
        for (j, &c) in self.counts.iter().enumerate() {
            sum += c;
            if sum >= want {
                let i = self.lo + j;
                return if q == 0.0 {
                    lowest::<UNIT>(i)
                } else {
                    highest::<UNIT>(i)
                };
            }
        }
        0
    }

    /// The counts added to `h`, an empty histogram of the same unit and
    /// precision (`super::new_lag_histogram`, `super::new_histogram`).
    pub fn histogram(&self, mut h: Histogram<u64>) -> Histogram<u64> {
        for (j, &c) in self.counts.iter().enumerate() {
            if c > 0 && h.record_n(lowest::<UNIT>(self.lo + j), c).is_err() {
                debug_assert!(false, "the histogram cannot grow to index {}", self.lo + j);
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngExt};

    /// Index, lowest and highest value agree with the lag and latency
    /// histograms' own boundaries from below 1 µs to beyond 2^60 ns.
    #[test]
    fn indexes_match_the_histograms() {
        agree::<LAG_UNIT>(super::super::new_lag_histogram());
        agree::<LATENCY_UNIT>(super::super::new_histogram());
        let index = index::<LAG_UNIT>;
        assert!(index(u64::MAX) < 48 << HALF, "a lag index fits in 16 bits");
    }

    fn agree<const UNIT: u32>(h: Histogram<u64>) {
        let (index, lowest, highest) = (index::<UNIT>, lowest::<UNIT>, highest::<UNIT>);
        let mut rng = crate::kernel::stream(11, 0);
        let mut values: Vec<u64> = (0..2_000).collect();
        for _ in 0..200_000 {
            let bits = rng.random_range(10..62);
            values.push(rng.next_u64() >> (64 - bits));
        }
        for v in values {
            let i = index(v);
            assert_eq!(lowest(i), h.lowest_equivalent(v), "lowest of {v}");
            assert_eq!(highest(i), h.highest_equivalent(v), "highest of {v}");
            assert!(index(lowest(i)) == i && index(highest(i)) == i);
            assert_eq!(index(highest(i) + 1), i + 1, "next index after {v}");
        }
    }

    /// Quantiles, and the histogram made from the counts, read as a
    /// histogram that recorded every value; windows widen both ways.
    #[test]
    fn quantiles_and_histogram_match_recording_directly() {
        let (index, highest) = (index::<LAG_UNIT>, highest::<LAG_UNIT>);
        let mut rng = crate::kernel::stream(12, 0);
        for round in 0..20 {
            let mut direct = super::super::new_lag_histogram();
            let mut counts = Counts::<LAG_UNIT>::default();
            let n = 1 + rng.random_range(0..5_000);
            for k in 0..n {
                let v = match (round + k) % 97 {
                    0 => rng.random_range(30_000_000_000..40_000_000_000u64),
                    1 => rng.random_range(1_000..2_000u64),
                    _ => rng.random_range(5_000_000..(5_000_000 + 1_000 * (round + 1) as u64)),
                };
                direct.record(v).unwrap();
                counts.add(index(v));
            }
            assert_eq!((counts.len(), counts.max()), (direct.len(), direct.max()));
            for q in [0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(
                    counts.value_at_quantile(q),
                    direct.value_at_quantile(q),
                    "q {q}"
                );
            }
            let h = counts.histogram(super::super::new_lag_histogram());
            assert_eq!(
                (h.len(), h.min(), h.max(), h.mean(), h.stdev()),
                (
                    direct.len(),
                    direct.min(),
                    direct.max(),
                    direct.mean(),
                    direct.stdev()
                )
            );
            let mut merged = Counts::<LAG_UNIT>::default();
            merged.add(index(123_456_789_000));
            merged.merge(&counts);
            assert_eq!(merged.len(), n as u64 + 1);
            assert_eq!(merged.max(), highest(index(123_456_789_000)));
            counts.clear();
            assert!(counts.is_empty());
            let empty = (counts.len(), counts.value_at_quantile(0.5), counts.max());
            assert_eq!(empty, (0, 0, 0));
        }
    }
}
