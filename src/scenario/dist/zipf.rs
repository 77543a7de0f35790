//! Zipf ranks: P(k) ∝ k^-s for k = 1..=n, drawn exactly by rejection-
//! inversion (W. Hörmann and G. Derflinger, "Rejection-inversion to generate
//! variates from monotone discrete distributions", ACM TOMACS 6(3), 1996).
//!
//! Rank k owns the interval [k - 1/2, k + 1/2] under the continuous hat
//! h(x) = x^-s, whose integral H and its inverse are closed forms. A uniform
//! point of H's range is mapped back through H⁻¹ and rounded to a rank k; it
//! is kept when it falls in the part of k's interval whose H-width is exactly
//! h(k) (rank 1's whole interval is that part), so rank k is kept with
//! probability ∝ k^-s. A cheap squeeze accepts nearly every draw without
//! evaluating H again: the usual draw costs one uniform, one `log1p` and one
//! `exp` (`libm`'s `log1p`, the portable `exp` of `exp.rs`), against three
//! `powf` and two uniforms before; when 1/(1 - s) is a whole number m up
//! to 16 (s = 0.8: m = 5) H⁻¹ is a polynomial, (1 + y/m)^m, computed by
//! products without `log1p` or `exp`. Rejection is rare, most likely for
//! rank 2.
//!
//! It needs no memory. Keyspaces up to `alias::TABLE_MAX` keys draw from an
//! alias table instead (`alias.rs`), which is cheaper per draw; larger ones
//! from a table of their most popular ranks, and by [`Zipf::tail`], this
//! method restricted to the other ranks, for the rest (`hybrid.rs`).

use rand::Rng;

use super::sample::unit;

#[derive(Clone, Debug, PartialEq)]
pub struct Zipf {
    /// The ranks drawn: `first..=n`.
    first: u64,
    n: u64,
    s: f64,
    /// H(x) = `scale` · G(x · `inv_base`) with G(z) = ∫₁^z t^-s dt: the
    /// hat's integral from `base` (1 for all ranks, first - 1/2 for a tail,
    /// scaled so that H keeps its relative precision over the tail).
    base: f64,
    inv_base: f64,
    scale: f64,
    inv_scale: f64,
    /// The lower end of the uniform's range: H(1.5) - h(1) for all ranks,
    /// 0 = H(first - 1/2) for a tail.
    h_x1: f64,
    /// H(n + 1/2): the upper end.
    h_n: f64,
    /// Squeeze: a draw with k - x ≤ `squeeze` is accepted at once.
    squeeze: f64,
    /// m when 1/(1 - s) is a whole number m in 1..=16 (s = 0, 1/2, 2/3,
    /// 3/4, 0.8, ...), else 0: then G⁻¹(y) = (1 + y/m)^m, m products.
    power: u32,
    inv_power: f64,
}

/// m and 1/m when 1/(1 - s) is within 10^-9 of a whole number m in 1..=16.
fn whole_power(s: f64) -> (u32, f64) {
    if s >= 1.0 {
        return (0, 0.0);
    }
    let m = 1.0 / (1.0 - s);
    let r = m.round();
    if (1.0..=16.0).contains(&r) && (m - r).abs() <= 1e-9 * r {
        (r as u32, 1.0 / r)
    } else {
        (0, 0.0)
    }
}

/// x^m by squaring (IEEE products only: the same bits everywhere).
#[inline]
fn powu(mut x: f64, mut m: u32) -> f64 {
    let mut acc = 1.0;
    while m > 0 {
        if m & 1 == 1 {
            acc *= x;
        }
        x *= x;
        m >>= 1;
    }
    acc
}

impl Zipf {
    /// Ranks 1..=n with exponent s ≥ 0 (s = 0 is uniform).
    pub fn new(n: u64, s: f64) -> Zipf {
        assert!(n >= 1 && s >= 0.0 && s.is_finite(), "zipf n={n} s={s}");
        let mut z = Zipf {
            first: 1,
            n,
            s,
            base: 1.0,
            inv_base: 1.0,
            scale: 1.0,
            inv_scale: 1.0,
            h_x1: 0.0,
            h_n: 0.0,
            squeeze: 0.0,
            power: whole_power(s).0,
            inv_power: whole_power(s).1,
        };
        z.h_x1 = z.big_h(1.5) - 1.0;
        z.h_n = z.big_h(n as f64 + 0.5);
        z.squeeze = 2.0 - z.big_h_inv(z.big_h(2.5) - z.h(2.0));
        z
    }

    /// Ranks first..=n only (2 ≤ first ≤ n), each still ∝ k^-s: the hat
    /// over [first - 1/2, n + 1/2], every rank's interval treated as rank
    /// 2's and above are in [`Zipf::new`]. The squeeze is rank 2's, which
    /// holds for every rank from 2 on.
    pub fn tail(first: u64, n: u64, s: f64) -> Zipf {
        assert!(
            2 <= first && first <= n && s >= 0.0 && s.is_finite(),
            "zipf tail first={first} n={n} s={s}"
        );
        let base = first as f64 - 0.5;
        let scale = libm::exp((1.0 - s) * libm::log(base));
        let mut z = Zipf {
            first,
            n,
            s,
            base,
            inv_base: 1.0 / base,
            scale,
            inv_scale: 1.0 / scale,
            h_x1: 0.0,
            h_n: 0.0,
            squeeze: Zipf::new(2, s).squeeze,
            power: whole_power(s).0,
            inv_power: whole_power(s).1,
        };
        z.h_n = z.big_h(n as f64 + 0.5);
        z
    }

    /// The hat's area over the ranks drawn: Σ k^-s over them plus what a
    /// draw rejects (for a tail, ∫ x^-s from first - 1/2 to n + 1/2).
    pub fn hat_area(&self) -> f64 {
        self.h_n - self.h_x1
    }

    /// A rank in first..=n.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        loop {
            if let Some(k) = self.try_sample(rng) {
                return k;
            }
        }
    }

    /// One attempt: a rank, or `None` when the draw is rejected (with
    /// probability 1 - Σ k^-s / [`Zipf::hat_area`]).
    #[inline]
    pub fn try_sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<u64> {
        self.at(self.h_n + unit(rng) * (self.h_x1 - self.h_n))
    }

    /// The attempt at the point u of H's range.
    #[inline]
    pub(super) fn at(&self, u: f64) -> Option<u64> {
        let x = self.big_h_inv(u);
        // x > 0 (H⁻¹ is positive), so truncating x + 1/2 rounds it.
        let k = ((x + 0.5) as u64).clamp(self.first, self.n);
        let kf = k as f64;
        if kf - x <= self.squeeze || u >= self.big_h(kf + 0.5) - self.h(kf) {
            Some(k)
        } else {
            None
        }
    }

    /// The measure of H's range each rank of lo..=hi is accepted on, and
    /// the measure rejected, over the part of the range that maps to those
    /// ranks, from `points` evenly spaced points (each stands for its
    /// spacing Δ: a measure is within Δ of the exact one per interval edge).
    #[cfg(test)]
    pub(super) fn accepted(&self, lo: u64, hi: u64, points: usize) -> (Vec<f64>, f64) {
        let u0 = if lo == self.first {
            self.h_x1
        } else {
            self.big_h(lo as f64 - 0.5)
        };
        let u1 = if hi == self.n {
            self.h_n
        } else {
            self.big_h(hi as f64 + 0.5)
        };
        let step = (u1 - u0) / points as f64;
        let mut acc = vec![0.0; (hi - lo + 1) as usize];
        let mut rejected = 0.0;
        for j in 0..points {
            match self.at(u0 + (j as f64 + 0.5) * step) {
                Some(k) if (lo..=hi).contains(&k) => acc[(k - lo) as usize] += step,
                Some(_) => {}
                None => rejected += step,
            }
        }
        (acc, rejected)
    }

    /// h(x) = x^-s.
    #[inline]
    fn h(&self, x: f64) -> f64 {
        libm::exp(-self.s * libm::log(x))
    }

    /// H(x) = `scale` · G(x / `base`) = ∫ t^-s from `base` to x, with
    /// G(z) = (z^(1-s) - 1) / (1 - s), which is ln z at s = 1; written as
    /// expm1((1-s)·ln z) / ((1-s)·ln z) · ln z to stay exact near s = 1.
    #[inline]
    fn big_h(&self, x: f64) -> f64 {
        let log_x = libm::log(x * self.inv_base);
        self.scale * (expm1_over_x((1.0 - self.s) * log_x) * log_x)
    }

    /// H⁻¹(y) = `base` · G⁻¹(y / `scale`), G⁻¹(y) = (1 + (1-s)·y)^(1/(1-s)),
    /// which is e^y at s = 1; written as exp(log1p(t)/t · y) with
    /// t = (1-s)·y for the same reason, `exp` the portable one (`exp.rs`).
    #[inline]
    fn big_h_inv(&self, y: f64) -> f64 {
        let y = y * self.inv_scale;
        if self.power != 0 {
            return self.base * powu((1.0 + y * self.inv_power).max(0.0), self.power);
        }
        let t = ((1.0 - self.s) * y).max(-1.0);
        self.base * super::exp::exp(log1p_over_x(t) * y)
    }
}

/// log1p(x) / x, and its limit 1 at 0.
#[inline]
fn log1p_over_x(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        libm::log1p(x) / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// expm1(x) / x, and its limit 1 at 0.
#[inline]
fn expm1_over_x(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        libm::expm1(x) / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::stream;
    use crate::scenario::dist::{assert_zipf_mean_and_head, counts_of, zipf_chi_square};

    /// Frequencies of ranks 1..=n over `draws` draws.
    fn counts(z: &Zipf, draws: usize, seed: u64) -> Vec<u64> {
        counts_of(z.n, draws, seed, |rng| {
            let k = z.sample(rng);
            assert!((1..=z.n).contains(&k));
            k - 1
        })
    }

    /// χ² with 49 degrees of freedom: mean 49, sd 9.9; the 99.9% point is
    /// 85.4. Each case is a fixed seed, so the test is deterministic; 85.4
    /// leaves a correct sampler a 0.1% chance per case of a false alarm,
    /// while a wrong exponent (s ± 0.05) gives χ² in the thousands.
    #[test]
    fn frequencies_fit_the_zipf_law() {
        for (s, seed) in [(0.0, 1), (0.5, 2), (0.8, 3), (1.0, 4), (1.2, 5), (2.5, 6)] {
            let c = counts(&Zipf::new(50, s), 400_000, seed);
            let chi = zipf_chi_square(&c, s, 1);
            assert!(chi < 85.4, "s={s}: chi2={chi}");
            let wrong = zipf_chi_square(&c, s + 0.05, 1);
            assert!(wrong > 200.0, "s={s}: a wrong law fits too well ({wrong})");
        }
    }

    /// Closed forms for n = 2 at s = 1: P(1) = 2/3. Over 600k draws the
    /// standard error is sqrt(2/9/600k) = 0.0006; 0.003 is 5 of them.
    #[test]
    fn two_ranks_split_two_to_one() {
        let c = counts(&Zipf::new(2, 1.0), 600_000, 7);
        let p1 = c[0] as f64 / 600_000.0;
        assert!((p1 - 2.0 / 3.0).abs() < 0.003, "{p1}");
        // n = 1: always rank 1.
        assert_eq!(counts(&Zipf::new(1, 0.8), 1000, 8), vec![1000]);
    }

    /// A large keyspace: the mean rank and the top rank's share for
    /// n = 10^5, s = 0.8, the default scenario's law (see
    /// `assert_zipf_mean_and_head`).
    #[test]
    fn large_n_mean_and_head() {
        let z = Zipf::new(100_000, 0.8);
        assert_zipf_mean_and_head(100_000, 0.8, |rng| z.sample(rng));
    }

    /// ∫ x^-s from a to b in closed form.
    fn hat(a: f64, b: f64, s: f64) -> f64 {
        if s == 1.0 {
            (b / a).ln()
        } else {
            (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
        }
    }

    /// A tail's attempts integrated over H's range (10^6 points, spacing
    /// Δ): each rank k is accepted on a measure within 2Δ of k^-s, what is
    /// rejected is the rest of the hat's area (∫ x^-s over [first - 1/2,
    /// n + 1/2], in closed form), and the area is that integral. A rank's
    /// rejected part is far wider than 2Δ (rank 6 at s = 0.8: 4·10^-4
    /// against Δ = 4·10^-6), so a wrong squeeze or acceptance test fails.
    #[test]
    fn a_tail_accepts_each_rank_its_weight() {
        for (first, n, s) in [
            (6u64, 50u64, 0.8),
            (2, 50, 0.0),
            (2, 50, 0.8),
            (11, 200, 1.0),
            (11, 200, 1.2),
            (11, 200, 2.5),
        ] {
            let z = Zipf::tail(first, n, s);
            let area = hat(first as f64 - 0.5, n as f64 + 0.5, s);
            assert!((z.hat_area() / area - 1.0).abs() < 1e-12, "{first} {n} {s}");
            let points = 1_000_000;
            let (acc, rejected) = z.accepted(first, n, points);
            let step = area / points as f64;
            let mut mass = 0.0;
            for (k, got) in (first..=n).zip(&acc) {
                let want = (k as f64).powf(-s);
                mass += want;
                assert!(
                    (got - want).abs() <= 2.0 * step,
                    "s={s} rank {k}: {got} vs {want}"
                );
            }
            let want = area - mass;
            assert!(
                (rejected - want).abs() <= 2.0 * step * (n - first + 1) as f64,
                "s={s}: rejected {rejected} vs {want}"
            );
        }
        // The default law over 10^7 keys, ranks after a head of 2^16 and
        // half-way: 100 ranks each, Δ ≈ 10^-8 of a rank's 10^-4 or less.
        let (n, s) = (10_000_000u64, 0.8);
        let z = Zipf::tail(65_537, n, s);
        for lo in [65_537u64, 5_000_000] {
            let hi = lo + 99;
            let points = 1_000_000;
            let (acc, _) = z.accepted(lo, hi, points);
            let step = hat(lo as f64 - 0.5, hi as f64 + 0.5, s) / points as f64;
            for (k, got) in (lo..=hi).zip(&acc) {
                let want = (k as f64).powf(-s);
                assert!(
                    (got - want).abs() <= 2.0 * step,
                    "rank {k}: {got} vs {want}"
                );
            }
        }
    }

    /// Exponents with a whole 1/(1 - s) invert H by products: which ones,
    /// and H⁻¹ by products equals exp(log1p(t)/t · y) within 10^-13
    /// relative (both a few ulps from the exact value; x^m by squaring
    /// checked against 3^5 and 1.5^16 exactly).
    #[test]
    fn whole_powers_invert_by_products() {
        assert_eq!(whole_power(0.8), (5, 0.2));
        assert_eq!(whole_power(0.5), (2, 0.5));
        assert_eq!(whole_power(0.0), (1, 1.0));
        assert_eq!(whole_power(0.75), (4, 0.25));
        for s in [0.7, 0.95, 1.0, 1.2, 2.5] {
            assert_eq!(whole_power(s).0, 0, "s={s}");
        }
        assert_eq!(powu(3.0, 5), 243.0);
        assert_eq!(powu(1.5, 16), 656.8408355712891);
        assert_eq!(powu(7.0, 0), 1.0);
        for s in [0.0, 0.5, 0.8] {
            let z = Zipf::tail(65_537, 10_000_000, s);
            let general = Zipf {
                power: 0,
                ..z.clone()
            };
            for j in 0..=1000 {
                let u = z.h_n * j as f64 / 1000.0;
                let (a, b) = (z.big_h_inv(u), general.big_h_inv(u));
                assert!((a / b - 1.0).abs() < 1e-13, "s={s} u={u}: {a} vs {b}");
            }
        }
    }

    /// A tail's draws: χ² against k^-s over ranks 6..=50 (44 degrees of
    /// freedom, 99.9% point 78.8), and no rank outside.
    #[test]
    fn tail_draws_fit_the_zipf_law() {
        for (s, seed) in [(0.0, 11), (0.8, 12), (1.0, 13), (2.5, 14)] {
            let z = Zipf::tail(6, 50, s);
            let c = counts(&z, 300_000, seed);
            assert!(c[..5].iter().all(|&x| x == 0), "s={s}: {:?}", &c[..5]);
            let chi = zipf_chi_square(&c[5..], s, 6);
            assert!(chi < 78.8, "s={s}: chi2={chi}");
            if s > 0.0 {
                let wrong = zipf_chi_square(&c[5..], s + 0.05, 6);
                assert!(wrong > 150.0, "s={s}: a wrong law fits too well ({wrong})");
            }
        }
    }

    /// The first ranks under seed 1 for the default scenario's law and
    /// eleme's (s = 1): what a seed gives on every machine.
    #[test]
    fn draws_are_pinned() {
        for (n, s, want) in [
            (
                100_000,
                0.8,
                [10172, 68353, 1976, 32783, 22401, 542, 6546, 47276],
            ),
            (200_000, 1.0, [1157, 71476, 97, 12071, 5296, 22, 547, 28340]),
        ] {
            let z = Zipf::new(n, s);
            let mut rng = stream(1, 0);
            let got: Vec<u64> = (0..8).map(|_| z.sample(&mut rng)).collect();
            assert_eq!(got, want, "n={n} s={s}");
        }
    }
}
