//! Zipf keys from an alias table (A. J. Walker, "An efficient method for
//! generating discrete random variables with general distributions", ACM
//! TOMS 3(3), 1977), built by M. D. Vose's stable method (IEEE TSE 17(9),
//! 1991): for keyspaces up to [`TABLE_MAX`] keys, where it is cheaper than
//! rejection-inversion (`zipf.rs`); larger ones draw from a table of their
//! most popular keys and by rejection-inversion for the rest (`hybrid.rs`).
//!
//! Rank k (1..=n) has probability k^-s / Σ j^-s and is drawn as the key
//! `label(k - 1)`, a bijection of 0..n the caller chooses. Each of n equally
//! likely columns, one per key, holds that key's share of the column and
//! the key that owns the rest. One 64-bit draw picks the column (the high
//! word of its product with n) and the point in it (the low word, uniform
//! on a grid of step n · 2^-64 given the column, 2^-42 at 2^22 keys): a
//! draw is one multiplication, one load and
//! one comparison, with no transcendental function. The load is a cache
//! miss in a large table (columns are equally likely), so a caller that
//! knows its next draw early can [`ZipfTable::prefetch`] it.
//!
//! The table takes [`TABLE_BYTES_PER_KEY`] bytes a key; `model::footprint`
//! counts it. Building it needs as much again for a moment (the aliases and
//! the work lists; the table is packed over the weights), and two `libm`
//! calls a key: about 0.2 s at 2^22 keys. The weights k^-s come from `libm` and are summed in rank
//! order (see the parent module), so the table is the same on every
//! machine; shares are held to 2^-(64 - b) of a column, b the bits of a key
//! (2^-42 or finer).

use crate::kernel::prefetch;

/// The most keys drawn from an alias table: 2^22 (32 MiB of table).
pub const TABLE_MAX: u64 = 1 << 22;

/// Bytes of alias table per key: one u64 (share and alias packed).
pub const TABLE_BYTES_PER_KEY: u64 = 8;

#[derive(Clone, PartialEq)]
pub struct ZipfTable {
    n: u64,
    /// Bits of a key: the low `bits` bits of an entry.
    bits: u32,
    /// Column i at index i: the high 64 - `bits` bits are key i's share of
    /// the column, scaled to 2^64; the low `bits` bits the key that owns
    /// the rest.
    table: Box<[u64]>,
}

impl std::fmt::Debug for ZipfTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZipfTable {{ n: {} }}", self.n)
    }
}

impl ZipfTable {
    /// Keys 0..n, key `label(k - 1)` with probability ∝ k^-s, for
    /// 1 ≤ n ≤ [`TABLE_MAX`], s ≥ 0 and `label` a bijection of 0..n.
    pub fn new(n: u64, s: f64, label: impl Fn(u64) -> u64) -> ZipfTable {
        assert!(
            (1..=TABLE_MAX).contains(&n) && s >= 0.0 && s.is_finite(),
            "zipf table n={n} s={s}"
        );
        let mut q = vec![0.0f64; n as usize];
        let mut total = 0.0;
        for k in 0..n {
            let w = libm::exp(-s * libm::log((k + 1) as f64));
            total += w;
            q[label(k) as usize] = w;
        }
        ZipfTable::from_weights(q, total)
    }

    /// Outcomes 0..q.len(), outcome i with probability q[i] / `total`
    /// (`total` their sum); at most 2^32 outcomes. The table of
    /// [`ZipfTable::new`], and the head of `hybrid::ZipfHybrid`'s.
    pub(super) fn from_weights(mut q: Vec<f64>, total: f64) -> ZipfTable {
        let n = q.len() as u64;
        let bits = (64 - (n - 1).leading_zeros()).max(1);
        let scale = n as f64 / total;
        for x in &mut q {
            *x *= scale;
        }
        // Vose: columns below 1 take the rest from one at or above 1. Both
        // work lists are stacks, filled in key order.
        let (mut small, mut large): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
        for (i, &x) in q.iter().enumerate() {
            if x < 1.0 {
                small.push(i as u32);
            } else {
                large.push(i as u32);
            }
        }
        // A column's share is final once it leaves `small`: q holds it.
        let mut alias: Vec<u32> = (0..n as u32).collect();
        while let (Some(&l), Some(&g)) = (small.last(), large.last()) {
            let (l, g) = (l as usize, g as usize);
            small.pop();
            alias[l] = g as u32;
            q[g] = (q[g] + q[l]) - 1.0;
            if q[g] < 1.0 {
                large.pop();
                small.push(g as u32);
            }
        }
        // Columns left on either list hold 1 up to rounding: whole columns
        // (their alias is themselves).
        for &i in small.iter().chain(&large) {
            q[i as usize] = 1.0;
        }
        drop((small, large));
        let full = u64::MAX >> bits;
        let one = (1u64 << (64 - bits)) as f64;
        // Packed in the weights' own buffer (same size, collected in place).
        let table: Vec<u64> = q
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let scaled = if p >= 1.0 {
                    full
                } else {
                    ((p * one + 0.5) as u64).min(full)
                };
                (scaled << bits) | u64::from(alias[i])
            })
            .collect();
        let table = table.into_boxed_slice();
        ZipfTable { n, bits, table }
    }

    /// The bytes of the table of `n` keys, 0 above [`TABLE_MAX`] (no table).
    pub fn bytes(n: u64) -> u64 {
        if n <= TABLE_MAX {
            n * TABLE_BYTES_PER_KEY
        } else {
            0
        }
    }

    /// The key a uniform 64-bit draw gives.
    #[inline]
    pub fn key(&self, draw: u64) -> u64 {
        let m = u128::from(draw) * u128::from(self.n);
        let column = (m >> 64) as usize;
        let e = self.table[column];
        let share = e >> self.bits << self.bits;
        if (m as u64) < share {
            column as u64
        } else {
            e & ((1 << self.bits) - 1)
        }
    }

    /// Starts loading the column `key(draw)` will read.
    #[inline]
    pub fn prefetch(&self, draw: u64) {
        let column = ((u128::from(draw) * u128::from(self.n)) >> 64) as usize;
        prefetch(&self.table[column]);
    }

    /// Each key's probability as the table holds it: a column's share to
    /// its key, the rest to its alias.
    #[cfg(test)]
    pub(super) fn probabilities(&self) -> Vec<f64> {
        let mut p = vec![0.0f64; self.n as usize];
        let column = 1.0 / self.n as f64;
        for (i, &e) in self.table.iter().enumerate() {
            let own = (e >> self.bits << self.bits) as f64 / 2f64.powi(64);
            p[i] += own * column;
            p[(e & ((1 << self.bits) - 1)) as usize] += (1.0 - own) * column;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::stream;
    use crate::scenario::dist::{assert_zipf_mean_and_head, counts_of, zipf_chi_square};
    use rand::Rng;

    /// Frequencies of keys 0..n over `draws` draws.
    fn counts(t: &ZipfTable, draws: usize, seed: u64) -> Vec<u64> {
        counts_of(t.n, draws, seed, |rng| t.key(rng.next_u64()))
    }

    /// χ² with 49 degrees of freedom: mean 49, sd 9.9, 99.9% point 85.4;
    /// each case a fixed seed, and a wrong exponent (s + 0.05) is far off.
    /// With labels reversed (key 49 - r for rank r + 1) the counts read
    /// backwards fit the same law.
    #[test]
    fn frequencies_fit_the_zipf_law() {
        for (s, seed) in [(0.0, 1), (0.5, 2), (0.8, 3), (1.0, 4), (1.2, 5), (2.5, 6)] {
            let c = counts(&ZipfTable::new(50, s, |r| r), 400_000, seed);
            let chi = zipf_chi_square(&c, s, 1);
            assert!(chi < 85.4, "s={s}: chi2={chi}");
            let wrong = zipf_chi_square(&c, s + 0.05, 1);
            assert!(wrong > 200.0, "s={s}: a wrong law fits too well ({wrong})");
            let mut c = counts(&ZipfTable::new(50, s, |r| 49 - r), 400_000, seed);
            c.reverse();
            let chi = zipf_chi_square(&c, s, 1);
            assert!(chi < 85.4, "s={s}, reversed: chi2={chi}");
        }
    }

    /// The probability the table gives each key, read off the table,
    /// against k^-s / Σ j^-s: equal to 1e-9 relative (f64 weights and sums,
    /// shares rounded to 2^-42 of a column at most). At s = 2.5 and n = 10^5
    /// the least probable rank has 2.4e-13, and a column is 10^-5: a share
    /// rounded to 2^-42 of a column moves it by up to 1e-5 of itself.
    #[test]
    fn the_table_holds_the_zipf_law() {
        for (n, s) in [
            (1u64, 0.8),
            (2, 1.0),
            (50, 0.8),
            (1000, 1.2),
            (100_000, 0.8),
            (100_000, 2.5),
        ] {
            // A label that scatters ranks, as `model::workload` does.
            let stride = if n > 2 { 7919 % n } else { 1 };
            let label = |r: u64| r * stride % n;
            let p = ZipfTable::new(n, s, label).probabilities();
            let norm: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
            let tolerance = if s > 2.0 { 2e-5 } else { 1e-9 };
            for k in 1..=n {
                let (got, want) = (p[label(k - 1) as usize], (k as f64).powf(-s) / norm);
                assert!(
                    (got / want - 1.0).abs() < tolerance,
                    "n={n} s={s} rank {k}: {got} vs {want}"
                );
            }
        }
        assert_eq!(ZipfTable::bytes(100_000), 800_000);
        assert_eq!(ZipfTable::bytes(TABLE_MAX + 1), 0);
    }

    /// Closed forms: n = 2, s = 1 gives P(rank 1) = 2/3 (se over 600k draws
    /// 0.0006; 0.003 is 5 of them); n = 1 always gives key 0.
    #[test]
    fn two_keys_split_two_to_one() {
        let c = counts(&ZipfTable::new(2, 1.0, |r| r), 600_000, 7);
        let p1 = c[0] as f64 / 600_000.0;
        assert!((p1 - 2.0 / 3.0).abs() < 0.003, "{p1}");
        assert_eq!(counts(&ZipfTable::new(1, 0.8, |r| r), 1000, 8), vec![1000]);
    }

    /// The default scenario's law (10^5 keys, s = 0.8): the mean rank and
    /// rank 1's share (see `assert_zipf_mean_and_head`).
    #[test]
    fn large_n_mean_and_head() {
        let t = ZipfTable::new(100_000, 0.8, |r| r);
        assert_zipf_mean_and_head(100_000, 0.8, |rng| t.key(rng.next_u64()) + 1);
    }

    /// The first keys under seed 1 for the default scenario's law and
    /// eleme's (s = 1), labels the identity: what a seed gives on every
    /// machine.
    #[test]
    fn draws_are_pinned() {
        for (n, s, want) in [
            (
                100_000,
                0.8,
                [13u64, 8038, 59656, 21932, 28369, 71061, 31, 15265],
            ),
            (
                200_000,
                1.0,
                [80497, 16076, 119312, 0, 56738, 142122, 12, 0],
            ),
        ] {
            let t = ZipfTable::new(n, s, |r| r);
            let mut rng = stream(1, 0);
            let got: Vec<u64> = (0..8).map(|_| t.key(rng.next_u64())).collect();
            assert_eq!(got, want, "n={n} s={s}");
        }
    }
}
