//! Duration distributions for latencies and service times.
//!
//! Parameters are read as durations and kept in nanoseconds; samples are
//! rounded to whole nanoseconds and never negative. Every draw goes through
//! [`sample`] and [`exp`] (portable variates from `libm`, a table and IEEE
//! arithmetic), so a seed gives the same
//! durations on every machine; [`zipf`] and [`alias`] draw Zipf keys the
//! same way.

pub mod alias;
pub mod exp;
pub mod hybrid;
pub mod sample;
mod ziggurat;
pub mod zipf;

use rand::Rng;

pub use alias::ZipfTable;
pub use hybrid::ZipfHybrid;
pub use sample::unit;
pub use zipf::Zipf;

use crate::time::{MAX_DURATION, Nanos};

/// z such that Φ(z) = 0.99, to place a lognormal's 99th percentile.
const Z_99: f64 = 2.326_347_874_040_841;

/// The derived fields (`mu`, `sigma`, `inv_shape`) are functions of the
/// parameters, so comparing every field compares the parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Const(Nanos),
    Uniform {
        min: Nanos,
        max: Nanos,
    },
    /// Exponential: `mean · E`, E standard exponential (by a ziggurat).
    Exp {
        mean: Nanos,
    },
    /// Normal, with negative draws cut to 0: `mean + sd · Z`, Z standard
    /// normal (by a ziggurat).
    Normal {
        mean: Nanos,
        sd: Nanos,
    },
    /// Lognormal: `exp(mu + sigma · Z)`, Z standard normal, with `mu = ln median` and
    /// `sigma` placing the 99th percentile at `p99`.
    LogNormal {
        median: Nanos,
        p99: Nanos,
        mu: f64,
        sigma: f64,
    },
    /// Pareto: `scale · U^(-1/shape)`, computed as `scale · exp(E / shape)`
    /// with E = -ln U standard exponential.
    Pareto {
        scale: Nanos,
        shape: f64,
        inv_shape: f64,
    },
    /// Quantiles at evenly spaced probabilities from 0 to 1, sorted; a draw
    /// interpolates linearly between neighbours.
    Empirical(Vec<Nanos>),
}

impl Dist {
    pub fn constant(ns: Nanos) -> Dist {
        Dist::Const(ns)
    }

    pub fn uniform(min: Nanos, max: Nanos) -> Result<Dist, String> {
        if min > max {
            return Err("`min` is larger than `max`".into());
        }
        Ok(Dist::Uniform { min, max })
    }

    pub fn exp(mean: Nanos) -> Result<Dist, String> {
        if mean == 0 {
            return Ok(Dist::Const(0));
        }
        Ok(Dist::Exp { mean })
    }

    pub fn normal(mean: Nanos, sd: Nanos) -> Result<Dist, String> {
        Ok(Dist::Normal { mean, sd })
    }

    pub fn lognormal(median: Nanos, p99: Nanos) -> Result<Dist, String> {
        if median == 0 {
            return Err("`median` must be above 0".into());
        }
        if p99 < median {
            return Err("`p99` must be at least `median`".into());
        }
        let mu = libm::log(median as f64);
        let sigma = (libm::log(p99 as f64) - mu) / Z_99;
        Ok(Dist::LogNormal {
            median,
            p99,
            mu,
            sigma,
        })
    }

    pub fn pareto(scale: Nanos, shape: f64) -> Result<Dist, String> {
        if scale == 0 {
            return Err("`scale` must be above 0".into());
        }
        if !(shape.is_finite() && shape > 0.0) {
            return Err("`shape` must be a number above 0".into());
        }
        Ok(Dist::Pareto {
            scale,
            shape,
            inv_shape: 1.0 / shape,
        })
    }

    pub fn empirical(mut points: Vec<Nanos>) -> Result<Dist, String> {
        if points.is_empty() {
            return Err("`points` is empty".into());
        }
        points.sort_unstable();
        Ok(Dist::Empirical(points))
    }

    /// Draws one duration.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Nanos {
        self.sample_inlined(rng)
    }

    /// `sample`, always inlined: for the draw a write makes per
    /// destination (a link's latency in `Topology::sample`), where the
    /// call chain cost more than the draw's few branches duplicated.
    #[inline(always)]
    pub fn sample_inlined<R: Rng + ?Sized>(&self, rng: &mut R) -> Nanos {
        match self {
            Dist::Const(v) => *v,
            Dist::Uniform { min, max } => {
                if min == max {
                    *min
                } else {
                    min + rng.next_u64() % (max - min + 1)
                }
            }
            Dist::Exp { mean } => to_nanos(*mean as f64 * sample::exp1(rng)),
            Dist::Normal { mean, sd } => {
                to_nanos(*mean as f64 + *sd as f64 * sample::std_normal(rng))
            }
            Dist::LogNormal { mu, sigma, .. } => {
                to_nanos(exp::exp(mu + sigma * sample::std_normal(rng)))
            }
            Dist::Pareto {
                scale, inv_shape, ..
            } => to_nanos(*scale as f64 * exp::exp(sample::exp1(rng) * inv_shape)),
            Dist::Empirical(points) => {
                if points.len() == 1 {
                    return points[0];
                }
                let u = unit(rng) * (points.len() - 1) as f64;
                let i = (u as usize).min(points.len() - 2);
                let frac = u - i as f64;
                let (a, b) = (points[i] as f64, points[i + 1] as f64);
                to_nanos(a + (b - a) * frac)
            }
        }
    }

    /// The median, used to rank paths and to find the nearest DC.
    pub fn median(&self) -> Nanos {
        match self {
            Dist::Const(v) => *v,
            Dist::Uniform { min, max } => min + (max - min) / 2,
            Dist::Exp { mean } => to_nanos(*mean as f64 * std::f64::consts::LN_2),
            Dist::Normal { mean, .. } => *mean,
            Dist::LogNormal { median, .. } => *median,
            Dist::Pareto {
                scale, inv_shape, ..
            } => to_nanos(*scale as f64 * libm::exp2(*inv_shape)),
            Dist::Empirical(p) => {
                let mid = (p.len() - 1) as f64 / 2.0;
                let i = mid as usize;
                let j = (i + 1).min(p.len() - 1);
                to_nanos(p[i] as f64 + (p[j] as f64 - p[i] as f64) * (mid - i as f64))
            }
        }
    }

    /// The mean in ns (infinite for a Pareto of shape ≤ 1), for capacity
    /// arithmetic. A normal's draws below 0 count as 0 in a run; its mean
    /// here is the untruncated one.
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Const(v) => *v as f64,
            Dist::Uniform { min, max } => (*min as f64 + *max as f64) / 2.0,
            Dist::Exp { mean, .. } | Dist::Normal { mean, .. } => *mean as f64,
            Dist::LogNormal { median, sigma, .. } => {
                *median as f64 * libm::exp(sigma * sigma / 2.0)
            }
            Dist::Pareto { scale, shape, .. } => {
                if *shape <= 1.0 {
                    f64::INFINITY
                } else {
                    *scale as f64 * shape / (shape - 1.0)
                }
            }
            Dist::Empirical(p) => {
                if p.len() == 1 {
                    return p[0] as f64;
                }
                // Linear between neighbours, each piece equally likely.
                let pieces = (p.len() - 1) as f64;
                p.windows(2)
                    .map(|w| (w[0] as f64 + w[1] as f64) / 2.0)
                    .sum::<f64>()
                    / pieces
            }
        }
    }

    /// The value when the distribution is a constant.
    pub fn as_const(&self) -> Option<Nanos> {
        match self {
            Dist::Const(v) => Some(*v),
            _ => None,
        }
    }
}

/// Rounds a drawn duration to whole nanoseconds, halves up, within
/// 0..=MAX_DURATION. Equal to `x.round()` for every x in range, without the
/// library call `round` is on CPUs lacking a rounding instruction: `x - t` is
/// exact for t = trunc(x). Converted through `i64` (one instruction each
/// way; `u64` conversions take several on x86-64 without AVX-512), exact
/// here since `MAX_DURATION` < 2^63.
#[inline]
fn to_nanos(x: f64) -> Nanos {
    const { assert!(MAX_DURATION < i64::MAX as u64) };
    if x <= 0.0 || x.is_nan() {
        0
    } else if x >= MAX_DURATION as f64 {
        MAX_DURATION
    } else {
        let t = x as i64;
        (t + i64::from(x - t as f64 >= 0.5)) as Nanos
    }
}

/// Counts of `draws` draws of `draw` (a 0-based outcome below `n`) from
/// stream 5 of `seed`: the samplers' frequency tests.
#[cfg(test)]
pub(crate) fn counts_of(
    n: u64,
    draws: usize,
    seed: u64,
    mut draw: impl FnMut(&mut crate::kernel::ComponentRng) -> u64,
) -> Vec<u64> {
    let mut rng = crate::kernel::stream(seed, 5);
    let mut c = vec![0u64; n as usize];
    for _ in 0..draws {
        c[draw(&mut rng) as usize] += 1;
    }
    c
}

/// Pearson's χ² of observed counts of Zipf ranks first.. (`c[k - first]`)
/// against P(k) = k^-s / Σ j^-s over those ranks: the samplers' tests.
#[cfg(test)]
pub(crate) fn zipf_chi_square(c: &[u64], s: f64, first: u64) -> f64 {
    let total: u64 = c.iter().sum();
    let w = |i: usize| ((i as u64 + first) as f64).powf(-s);
    let norm: f64 = (0..c.len()).map(w).sum();
    c.iter()
        .enumerate()
        .map(|(i, &o)| {
            let e = total as f64 * w(i) / norm;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

/// The mean of 400,000 Zipf ranks (1-based) drawn by `draw` from stream 5
/// of seed 9 against Σ k·k^-s / Σ k^-s over n ranks, and rank 1's share
/// against 1 / Σ k^-s: for n = 10^5 and s = 0.8 the rank's sd is below
/// n/2, so its mean's standard error is below 0.3% of the mean (1.5% is 5
/// errors); P(1) ≈ 0.022 has standard error 0.00023 (0.0012 is 5).
#[cfg(test)]
pub(crate) fn assert_zipf_mean_and_head(
    n: u64,
    s: f64,
    mut draw: impl FnMut(&mut crate::kernel::ComponentRng) -> u64,
) {
    let norm: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
    let mean: f64 = (1..=n).map(|k| (k as f64).powf(1.0 - s)).sum::<f64>() / norm;
    let mut rng = crate::kernel::stream(9, 5);
    let draws = 400_000;
    let (mut sum, mut top) = (0.0, 0u64);
    for _ in 0..draws {
        let k = draw(&mut rng);
        sum += k as f64;
        top += u64::from(k == 1);
    }
    let got = sum / draws as f64;
    assert!((got / mean - 1.0).abs() < 0.015, "mean {got} vs {mean}");
    let p1 = top as f64 / draws as f64;
    assert!((p1 - 1.0 / norm).abs() < 0.0012, "{p1} vs {}", 1.0 / norm);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::stream;

    /// Mean and sorted values of `n` draws of `d`.
    fn draws(d: &Dist, n: usize, component: u64) -> (f64, Vec<u64>) {
        let mut rng = stream(9, component);
        let mut v: Vec<u64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        v.sort_unstable();
        (mean, v)
    }

    fn var(v: &[u64], mean: f64) -> f64 {
        v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    }

    /// Exponential, mean 1 ms: mean 1e6 (se over 400k draws 1e6/632, 0.16%),
    /// variance 1e12 (se 0.47%), median 1e6·ln 2 (se 0.16%), p99 1e6·ln 100
    /// (se 0.8%); tolerances about 5 standard errors.
    #[test]
    fn exp_matches_its_closed_forms() {
        let (m, v) = draws(&Dist::exp(1_000_000).unwrap(), 400_000, 1);
        assert!((m / 1e6 - 1.0).abs() < 0.008, "{m}");
        assert!((var(&v, m) / 1e12 - 1.0).abs() < 0.025);
        assert!((v[200_000] as f64 / 693_147.2 - 1.0).abs() < 0.008);
        assert!((v[396_000] as f64 / 4_605_170.2 - 1.0).abs() < 0.04);
    }

    /// Normal, mean 10 ms, sd 1 ms (no cut at 10 sd): mean se 1.6e3 ns,
    /// sd se 0.11%, p97.5 at mean + 1.96 sd (se 4.4e3 ns); 5 se each.
    #[test]
    fn normal_matches_its_closed_forms() {
        let (m, v) = draws(&Dist::normal(10_000_000, 1_000_000).unwrap(), 400_000, 2);
        assert!((m - 1e7).abs() < 8e3, "{m}");
        assert!((var(&v, m).sqrt() / 1e6 - 1.0).abs() < 0.006);
        assert!((v[390_000] as f64 - 11_959_964.0).abs() < 22e3);
        // Cut at 0: mean 1 µs, sd 5 µs gives 42% zeros (Φ(-0.2) = 0.4207).
        let (_, v) = draws(&Dist::normal(1_000, 5_000).unwrap(), 100_000, 3);
        let zeros = v.iter().filter(|&&x| x == 0).count() as f64 / 1e5;
        assert!((zeros - 0.4207).abs() < 0.008, "{zeros}");
    }

    /// Lognormal placed by median 10 ms and p99 50 ms: sigma = ln 5 / z99 =
    /// 0.6918, mean = median·exp(sigma²/2) = 12.704 ms. Quantile se is about
    /// 0.2% at the median and 0.9% at p99; the mean's 0.3%.
    #[test]
    fn lognormal_hits_its_median_p99_and_mean() {
        let (m, v) = draws(
            &Dist::lognormal(10_000_000, 50_000_000).unwrap(),
            400_000,
            4,
        );
        assert!(
            (v[200_000] as f64 / 10e6 - 1.0).abs() < 0.01,
            "{}",
            v[200_000]
        );
        assert!(
            (v[396_000] as f64 / 50e6 - 1.0).abs() < 0.045,
            "{}",
            v[396_000]
        );
        assert!((m / 12.704e6 - 1.0).abs() < 0.015, "{m}");
    }

    /// Pareto, scale 1000, shape 3: mean 1500 (the variance 750,000 gives a
    /// se of 0.09% over 400k draws, but the tail makes the mean converge
    /// slowly: 2%), median 1000·2^(1/3) = 1259.9 (se 0.1%), p90 = 1000·10^(1/3)
    /// = 2154.4 (se 0.2%).
    #[test]
    fn pareto_matches_its_closed_forms() {
        let d = Dist::pareto(1_000, 3.0).unwrap();
        let (m, v) = draws(&d, 400_000, 5);
        assert!((m / 1500.0 - 1.0).abs() < 0.02, "{m}");
        assert!((v[200_000] as f64 / 1259.9 - 1.0).abs() < 0.005);
        assert!((v[360_000] as f64 / 2154.4 - 1.0).abs() < 0.01);
        assert_eq!(v[0], 1_000);
        assert_eq!(d.median(), 1260);
    }

    #[test]
    fn uniform_and_empirical_means() {
        let (m, _) = draws(&Dist::uniform(0, 2_000).unwrap(), 200_000, 6);
        assert!((m / 1000.0 - 1.0).abs() < 0.01, "{m}");
        let (m, _) = draws(&Dist::empirical(vec![0, 1000]).unwrap(), 200_000, 7);
        assert!((m / 500.0 - 1.0).abs() < 0.01, "{m}");
    }

    #[test]
    fn rounding_is_half_up_and_clamped() {
        assert_eq!(to_nanos(2.5), 3);
        assert_eq!(to_nanos(2.499_999_999), 2);
        assert_eq!(to_nanos(0.5), 1);
        assert_eq!(to_nanos(-3.0), 0);
        assert_eq!(to_nanos(f64::NAN), 0);
        assert_eq!(to_nanos(1e30), MAX_DURATION);
        for x in [0.49999999999999994, 1.5, 7.5e15, 123_456.789] {
            assert_eq!(to_nanos(x), x.round() as Nanos, "{x}");
        }
        // Over the whole range, halves and their neighbours included.
        use rand::RngExt;
        let mut rng = crate::kernel::stream(3, 0);
        for _ in 0..100_000 {
            let x = 10f64.powf(rng.random_range(-3.0..18.9));
            let half = x.floor() + 0.5;
            for y in [x, half, half.next_down(), half.next_up()] {
                assert_eq!(to_nanos(y), y.round() as Nanos, "{y}");
            }
        }
    }

    #[test]
    fn medians() {
        assert_eq!(Dist::uniform(10, 20).unwrap().median(), 15);
        assert_eq!(Dist::empirical(vec![30, 10, 20]).unwrap().median(), 20);
        assert_eq!(Dist::exp(1000).unwrap().median(), 693);
        assert!(Dist::uniform(5, 1).is_err());
        assert!(Dist::lognormal(10, 5).is_err());
    }
}
