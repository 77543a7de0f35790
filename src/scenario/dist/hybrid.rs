//! Zipf ranks of a keyspace too large for a whole alias table (above
//! `alias::TABLE_MAX` keys): an alias table over the [`HEAD`] most popular
//! ranks and one more outcome, the tail, whose weight is the area of the
//! rejection-inversion hat over the other ranks (`zipf.rs`, `Zipf::tail`).
//! A tail outcome makes one rejection-inversion attempt over ranks
//! `HEAD + 1..=n`; when that attempt is rejected, the whole draw starts
//! again. Each attempt then gives head rank k with probability ∝ k^-s (the
//! table) and tail rank k with probability ∝ area · k^-s / area = k^-s (the
//! hat), and restarting after a rejection keeps those proportions: the draw
//! is exactly Zipf(n, s), and the tail's sum Σ k^-s is never needed.
//!
//! Memory is the head table's, `(HEAD + 1)` · 8 bytes (512 KiB), whatever
//! n: small enough to stay in a core's cache, where a larger head's loads
//! would miss (measured on keys-1e7 of the suite, s = 0.8: a head of 2^20
//! ranks ran 10% slower than 2^16, 2^18 4%; 2^12 to 2^16 were alike). At
//! s = 0.8 and 10^7 keys the tail still has 65.7% of the mass, and a draw
//! there costs a uniform and H⁻¹ (a few products when 1/(1 - s) is a whole
//! number, as at s = 0.8; else a `log1p` and an `exp`); a head draw costs
//! one table load. Rejection in the tail is rare: there the hat's area exceeds
//! the ranks' mass by 1.2·10^-12 of it.

use rand::Rng;

use super::exp::exp;
use super::{Zipf, ZipfTable};

/// Ranks drawn from the table: 2^16.
pub const HEAD: u64 = 1 << 16;

#[derive(Clone, Debug, PartialEq)]
pub struct ZipfHybrid {
    /// Ranks in the table: outcomes 0..head are ranks 1..=head, outcome
    /// `head` the tail.
    head: u64,
    table: ZipfTable,
    tail: Zipf,
}

impl ZipfHybrid {
    /// Ranks 1..=n, n > [`HEAD`], s ≥ 0.
    pub fn new(n: u64, s: f64) -> ZipfHybrid {
        ZipfHybrid::with_head(n, s, HEAD)
    }

    /// With `head` ranks in the table (1 ≤ head < n, head < 2^32).
    pub fn with_head(n: u64, s: f64, head: u64) -> ZipfHybrid {
        assert!(
            head >= 1 && head < n && head < 1 << 32,
            "zipf hybrid n={n} head={head}"
        );
        let tail = Zipf::tail(head + 1, n, s);
        let mut q = Vec::with_capacity(head as usize + 1);
        let mut total = 0.0;
        for k in 1..=head {
            let w = exp(-s * libm::log(k as f64));
            total += w;
            q.push(w);
        }
        let area = tail.hat_area();
        total += area;
        q.push(area);
        ZipfHybrid {
            head,
            table: ZipfTable::from_weights(q, total),
            tail,
        }
    }

    /// The bytes of the table: (`HEAD` + 1) entries.
    pub fn bytes() -> u64 {
        (HEAD + 1) * super::alias::TABLE_BYTES_PER_KEY
    }

    /// A rank minus one (0..n), from a uniform 64-bit `draw` (which the
    /// caller may have drawn early and prefetched) and, for the tail, more
    /// draws from `rng`.
    #[inline]
    pub fn rank0<R: Rng + ?Sized>(&self, draw: u64, rng: &mut R) -> u64 {
        let mut outcome = self.table.key(draw);
        loop {
            if outcome < self.head {
                return outcome;
            }
            if let Some(k) = self.tail.try_sample(rng) {
                return k - 1;
            }
            outcome = self.table.key(rng.next_u64());
        }
    }

    /// Starts loading the table entry `rank0(draw, _)` reads first.
    #[inline]
    pub fn prefetch(&self, draw: u64) {
        self.table.prefetch(draw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::stream;
    use crate::scenario::dist::{counts_of, zipf_chi_square};

    /// H(n, s) = Σ k^-s over ranks a..=b.
    fn mass(a: u64, b: u64, s: f64) -> f64 {
        (a..=b).map(|k| (k as f64).powf(-s)).sum()
    }

    /// ∫ x^-s from a to b in closed form.
    fn hat(a: f64, b: f64, s: f64) -> f64 {
        if s == 1.0 {
            (b / a).ln()
        } else {
            (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
        }
    }

    /// Frequencies of ranks 1..=n over `draws` draws.
    fn counts(z: &ZipfHybrid, n: u64, draws: usize, seed: u64) -> Vec<u64> {
        counts_of(n, draws, seed, |rng| {
            let first = rng.next_u64();
            z.rank0(first, rng)
        })
    }

    /// The probability of each rank, from the table's outcomes and the
    /// tail's accepted measures (`Zipf::accepted`, over ranks lo..=hi of
    /// the tail), against k^-s / H(n, s) in closed form. A draw is an
    /// outcome of the table, then for the tail an attempt, restarted when
    /// rejected: P(k) = p(k) / (1 - p(tail)·r) for a head rank, p(tail) ·
    /// a(k) / A / (1 - p(tail)·r) for a tail rank, with a(k) its accepted
    /// measure, A the hat's area and r the share rejected.
    fn check(n: u64, s: f64, head: u64, windows: &[(u64, u64)]) {
        let z = ZipfHybrid::with_head(n, s, head);
        let p = z.table.probabilities();
        let norm = mass(1, n, s);
        let area = hat(head as f64 + 0.5, n as f64 + 0.5, s);
        // What the tail rejects: the hat's area less the tail's mass (each
        // rank's accepted measure is its weight: `zipf.rs`'s tests).
        let r = 1.0 - mass(head + 1, n, s) / area;
        let keep = 1.0 - p[head as usize] * r;
        let exact = |k: u64| (k as f64).powf(-s) / norm;
        for k in 1..=head {
            let got = p[k as usize - 1] / keep;
            assert!(
                (got / exact(k) - 1.0).abs() < 1e-9,
                "n={n} s={s} head rank {k}: {got} vs {}",
                exact(k)
            );
        }
        for &(lo, hi) in windows {
            let points = 400_000;
            let (acc, _) = z.tail.accepted(lo, hi, points);
            // A rank's measure is within 2Δ of its weight; relative to the
            // window's mass that is 2Δ·(ranks) / mass.
            let step = hat(lo as f64 - 0.5, hi as f64 + 0.5, s) / points as f64;
            let got: f64 = acc.iter().sum::<f64>() * p[head as usize] / area / keep;
            let want: f64 = (lo..=hi).map(exact).sum();
            let tolerance = 2.0 * step * (hi - lo + 1) as f64 / mass(lo, hi, s) + 1e-9;
            assert!(
                (got / want - 1.0).abs() < tolerance,
                "n={n} s={s} ranks {lo}..={hi}: {got} vs {want}"
            );
        }
    }

    /// Each head rank's probability and ranges of tail ranks' (including
    /// the boundary ranks head and head + 1) against the Zipf law in closed
    /// form: small laws whose whole tail is integrated, and the default law
    /// over 10^7 keys with the shipped head.
    #[test]
    fn every_rank_has_its_zipf_probability() {
        for (n, s, head) in [
            (50u64, 0.8, 5u64),
            (50, 0.0, 5),
            (50, 1.0, 1),
            (200, 1.2, 20),
            (200, 2.5, 20),
        ] {
            check(n, s, head, &[(head + 1, head + 1), (head + 1, n)]);
        }
        check(
            10_000_000,
            0.8,
            HEAD,
            &[
                (HEAD + 1, HEAD + 1),
                (HEAD + 1, HEAD + 100),
                (5_000_000, 5_000_099),
            ],
        );
    }

    /// Draws: χ² over 50 ranks (49 degrees of freedom, 99.9% point 85.4)
    /// with a head of 5 (most draws take the tail's path), of 1 and of 49
    /// (the boundary at either end), a wrong exponent far off; and the
    /// boundary ranks head and head + 1 each within 5 standard errors of
    /// its expected count.
    #[test]
    fn draws_fit_the_zipf_law() {
        let draws = 400_000;
        for (s, head, seed) in [
            (0.0, 5u64, 1),
            (0.5, 5, 2),
            (0.8, 5, 3),
            (1.0, 5, 4),
            (1.2, 5, 5),
            (2.5, 5, 6),
            (0.8, 1, 7),
            (0.8, 49, 8),
        ] {
            let c = counts(&ZipfHybrid::with_head(50, s, head), 50, draws, seed);
            let chi = zipf_chi_square(&c, s, 1);
            assert!(chi < 85.4, "s={s} head={head}: chi2={chi}");
            if s > 0.0 {
                let wrong = zipf_chi_square(&c, s + 0.05, 1);
                assert!(wrong > 200.0, "s={s}: a wrong law fits too well ({wrong})");
            }
            let norm = mass(1, 50, s);
            for k in [head, head + 1] {
                let p = (k as f64).powf(-s) / norm;
                let (e, se) = (draws as f64 * p, (draws as f64 * p * (1.0 - p)).sqrt());
                let o = c[k as usize - 1] as f64;
                assert!((o - e).abs() < 5.0 * se, "s={s} rank {k}: {o} vs {e}");
            }
        }
    }

    /// Replays fixed 64-bit draws.
    struct Replay(Vec<u64>);

    impl rand::TryRng for Replay {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.0.remove(0) as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(self.0.remove(0))
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
            unimplemented!()
        }
    }

    /// A rejected tail attempt starts the whole draw again from the table
    /// (retrying the tail alone would give the tail the hat's share, A,
    /// instead of its mass): a draw that takes the tail, a uniform the tail
    /// rejects, then a draw of the table's rank 1 give rank 1.
    #[test]
    fn a_rejected_tail_draws_again_from_the_table() {
        let z = ZipfHybrid::with_head(50, 0.8, 1);
        let mut rng = stream(3, 0);
        let mut find = |outcome| loop {
            let d = rng.next_u64();
            if z.table.key(d) == outcome {
                return d;
            }
        };
        let (to_tail, to_rank1) = (find(1), find(0));
        let reject = (0..1u64 << 20)
            .map(|j| j << 44)
            .find(|&x| z.tail.try_sample(&mut Replay(vec![x])).is_none())
            .expect("rank 2 rejects part of its hat");
        let mut replay = Replay(vec![reject, to_rank1]);
        assert_eq!(z.rank0(to_tail, &mut replay), 0);
        assert!(replay.0.is_empty());
    }

    /// The table's size, and the first ranks under seed 1 for 10^7 keys at
    /// the default scenario's law and at s = 1: what a seed gives on every
    /// machine.
    #[test]
    fn draws_are_pinned() {
        assert_eq!(ZipfHybrid::bytes(), 524_296);
        for (s, want) in [
            (
                0.8,
                [
                    7698153u64, 4729326, 500375, 6010441, 511994, 1024020, 6519, 1835395,
                ],
            ),
            (1.0, [26, 5269, 498, 2, 5, 984479, 1, 286467]),
        ] {
            let z = ZipfHybrid::new(10_000_000, s);
            let mut rng = stream(1, 0);
            let got: Vec<u64> = (0..8)
                .map(|_| {
                    let first = rng.next_u64();
                    z.rank0(first, &mut rng) + 1
                })
                .collect();
            assert_eq!(got, want, "s={s}");
        }
    }
}
