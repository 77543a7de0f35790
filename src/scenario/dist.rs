//! Duration distributions for latencies and service times.
//!
//! Parameters are read as durations and kept in nanoseconds; samples are
//! rounded to whole nanoseconds and never negative.

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};

use crate::time::{MAX_DURATION, Nanos};

/// z such that Φ(z) = 0.99, to place a lognormal's 99th percentile.
const Z_99: f64 = 2.326_347_874_040_841;

#[derive(Clone, Debug)]
pub enum Dist {
    Const(Nanos),
    Uniform {
        min: Nanos,
        max: Nanos,
    },
    Exp {
        mean: Nanos,
        sampler: Exp<f64>,
    },
    /// Normal, with negative draws cut to 0.
    Normal {
        mean: Nanos,
        sd: Nanos,
        sampler: Normal<f64>,
    },
    LogNormal {
        median: Nanos,
        p99: Nanos,
        sampler: LogNormal<f64>,
    },
    Pareto {
        scale: Nanos,
        shape: f64,
        sampler: Pareto<f64>,
    },
    /// Quantiles at evenly spaced probabilities from 0 to 1, sorted; a draw
    /// interpolates linearly between neighbours.
    Empirical(Vec<Nanos>),
}

impl PartialEq for Dist {
    fn eq(&self, other: &Self) -> bool {
        use Dist::*;
        match (self, other) {
            (Const(a), Const(b)) => a == b,
            (Uniform { min: a, max: b }, Uniform { min: c, max: d }) => a == c && b == d,
            (Exp { mean: a, .. }, Exp { mean: b, .. }) => a == b,
            (Normal { mean: a, sd: b, .. }, Normal { mean: c, sd: d, .. }) => a == c && b == d,
            (
                LogNormal {
                    median: a, p99: b, ..
                },
                LogNormal {
                    median: c, p99: d, ..
                },
            ) => a == c && b == d,
            (
                Pareto {
                    scale: a, shape: b, ..
                },
                Pareto {
                    scale: c, shape: d, ..
                },
            ) => a == c && b == d,
            (Empirical(a), Empirical(b)) => a == b,
            _ => false,
        }
    }
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
        let sampler = Exp::new(1.0 / mean as f64).map_err(|e| e.to_string())?;
        Ok(Dist::Exp { mean, sampler })
    }

    pub fn normal(mean: Nanos, sd: Nanos) -> Result<Dist, String> {
        let sampler = Normal::new(mean as f64, sd as f64).map_err(|e| e.to_string())?;
        Ok(Dist::Normal { mean, sd, sampler })
    }

    pub fn lognormal(median: Nanos, p99: Nanos) -> Result<Dist, String> {
        if median == 0 {
            return Err("`median` must be above 0".into());
        }
        if p99 < median {
            return Err("`p99` must be at least `median`".into());
        }
        let mu = (median as f64).ln();
        let sigma = ((p99 as f64).ln() - mu) / Z_99;
        let sampler = LogNormal::new(mu, sigma).map_err(|e| e.to_string())?;
        Ok(Dist::LogNormal {
            median,
            p99,
            sampler,
        })
    }

    pub fn pareto(scale: Nanos, shape: f64) -> Result<Dist, String> {
        if scale == 0 {
            return Err("`scale` must be above 0".into());
        }
        if !(shape.is_finite() && shape > 0.0) {
            return Err("`shape` must be a number above 0".into());
        }
        let sampler = Pareto::new(scale as f64, shape).map_err(|e| e.to_string())?;
        Ok(Dist::Pareto {
            scale,
            shape,
            sampler,
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
        match self {
            Dist::Const(v) => *v,
            Dist::Uniform { min, max } => {
                if min == max {
                    *min
                } else {
                    min + rng.next_u64() % (max - min + 1)
                }
            }
            Dist::Exp { sampler, .. } => to_nanos(sampler.sample(rng)),
            Dist::Normal { sampler, .. } => to_nanos(sampler.sample(rng)),
            Dist::LogNormal { sampler, .. } => to_nanos(sampler.sample(rng)),
            Dist::Pareto { sampler, .. } => to_nanos(sampler.sample(rng)),
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
            Dist::Exp { mean, .. } => to_nanos(*mean as f64 * std::f64::consts::LN_2),
            Dist::Normal { mean, .. } => *mean,
            Dist::LogNormal { median, .. } => *median,
            Dist::Pareto { scale, shape, .. } => to_nanos(*scale as f64 * 2f64.powf(1.0 / shape)),
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
            Dist::LogNormal { median, p99, .. } => {
                let sigma = ((*p99 as f64).ln() - (*median as f64).ln()) / Z_99;
                *median as f64 * (sigma * sigma / 2.0).exp()
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

/// A uniform draw in [0, 1) with 53 bits.
#[inline]
pub fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[inline]
fn to_nanos(x: f64) -> Nanos {
    if x <= 0.0 || x.is_nan() {
        0
    } else if x >= MAX_DURATION as f64 {
        MAX_DURATION
    } else {
        x.round() as Nanos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::stream;

    fn mean_of(d: &Dist, n: usize) -> f64 {
        let mut rng = stream(9, 1);
        (0..n).map(|_| d.sample(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match_parameters() {
        // Standard error of an exponential mean over 200k draws is mean/447: 1% is > 4 sd.
        let m = mean_of(&Dist::exp(1_000_000).unwrap(), 200_000);
        assert!((m / 1e6 - 1.0).abs() < 0.01, "{m}");
        let m = mean_of(&Dist::uniform(0, 2_000).unwrap(), 200_000);
        assert!((m / 1000.0 - 1.0).abs() < 0.01, "{m}");
        let m = mean_of(&Dist::empirical(vec![0, 1000]).unwrap(), 200_000);
        assert!((m / 500.0 - 1.0).abs() < 0.01, "{m}");
        // Pareto mean = scale·shape/(shape-1) = 1000·3/2 = 1500.
        let m = mean_of(&Dist::pareto(1_000, 3.0).unwrap(), 400_000);
        assert!((m / 1500.0 - 1.0).abs() < 0.02, "{m}");
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let d = Dist::lognormal(10_000_000, 50_000_000).unwrap();
        let mut rng = stream(3, 3);
        let mut v: Vec<u64> = (0..200_000).map(|_| d.sample(&mut rng)).collect();
        v.sort_unstable();
        let p50 = v[100_000] as f64;
        let p99 = v[198_000] as f64;
        assert!((p50 / 10e6 - 1.0).abs() < 0.02, "{p50}");
        assert!((p99 / 50e6 - 1.0).abs() < 0.03, "{p99}");
    }

    #[test]
    fn normal_is_cut_at_zero() {
        let d = Dist::normal(1_000, 5_000).unwrap();
        let mut rng = stream(3, 4);
        assert!((0..10_000).all(|_| d.sample(&mut rng) < u64::MAX / 2));
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
