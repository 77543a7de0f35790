//! Rate profiles: traffic that changes over the run (a diurnal curve, a
//! flash-sale spike). A profile is a list of points `{ at, factor }`; the
//! arrival rate at time `t` is `workload.rate` times the factor there,
//! linear between points, the first point's factor before it and the last
//! one's after it. Two points at the same time make a step.

use super::readers::{Ctx, duration, join, number, show};
use super::tree::{Node, Val};
use crate::time::Nanos;

/// A factor beyond this is a typo (a rate 10,000 times the base).
pub(super) const MAX_FACTOR: f64 = 10_000.0;

/// The point key names, for messages and the key reference.
const POINT_KEYS: &[&str] = &["at", "factor"];

/// A piecewise-linear multiplier of the base rate over time.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// `(at, factor)`, `at` non-decreasing; at least one point.
    points: Vec<(Nanos, f64)>,
}

impl Profile {
    /// A profile from points already checked (tests and callers in code).
    ///
    /// # Panics
    /// If `points` is empty, a time goes backwards or a factor is negative.
    pub fn new(points: Vec<(Nanos, f64)>) -> Profile {
        assert!(!points.is_empty(), "a profile needs a point");
        assert!(points.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(points.iter().all(|p| p.1 >= 0.0 && p.1.is_finite()));
        Profile { points }
    }

    /// The points, in time order.
    pub fn points(&self) -> &[(Nanos, f64)] {
        &self.points
    }

    /// The factor at time `t` (ns).
    #[inline]
    pub fn factor(&self, t: Nanos) -> f64 {
        let p = &self.points;
        // The first point strictly after t; the segment before it holds t.
        let i = p.partition_point(|&(at, _)| at <= t);
        if i == 0 {
            return p[0].1;
        }
        if i == p.len() {
            return p[i - 1].1;
        }
        let (t0, f0) = p[i - 1];
        let (t1, f1) = p[i];
        // t0 < t1 here: equal times (a step) are both at or before t.
        f0 + (f1 - f0) * ((t - t0) as f64 / (t1 - t0) as f64)
    }

    /// The largest factor: the rate of the candidate arrivals that thinning
    /// keeps with probability `factor(t) / max`.
    pub fn max(&self) -> f64 {
        self.points.iter().map(|p| p.1).fold(0.0, f64::max)
    }

    /// The integral of the factor from `from` to `to` (ns), in factor ×
    /// seconds: the expected requests over that span are `rate` times it.
    pub fn integral(&self, from: Nanos, to: Nanos) -> f64 {
        if to <= from {
            return 0.0;
        }
        // Breakpoints inside the span cut it into linear pieces.
        let mut cuts = vec![from];
        cuts.extend(
            self.points
                .iter()
                .map(|p| p.0)
                .filter(|&t| t > from && t < to),
        );
        cuts.push(to);
        // Linear between cuts: the factor at the midpoint times the width
        // is exact (a step at a cut does not reach inside the piece).
        cuts.windows(2)
            .map(|w| {
                let (a, b) = (w[0], w[1]);
                self.factor(a + (b - a) / 2) * (b - a) as f64 / 1e9
            })
            .sum()
    }
}

/// Reads `key = [ { at = "0s", factor = 1.0 }, ... ]`.
pub(super) fn read_profile(cx: &mut Ctx, n: &Node, key: &str) -> Option<Profile> {
    let Val::Array(items) = &n.val else {
        cx.expected(
            n,
            key,
            "an array of points such as [{ at = \"0s\", factor = 1.0 }, { at = \"60s\", factor = 3.0 }]",
        );
        return None;
    };
    if items.is_empty() {
        cx.err(n.at, key, "a profile needs at least one point");
        return None;
    }
    let mut points: Vec<(Nanos, f64)> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let path = format!("{key}.{i}");
        let Val::Table(t) = &item.val else {
            cx.expected(item, &path, "a point { at = \"10s\", factor = 2.0 }");
            ok = false;
            continue;
        };
        cx.check_names(t, &path, POINT_KEYS);
        let at = match t.get("at") {
            Some(v) => duration(cx, v, &join(&path, "at")),
            None => {
                cx.err(
                    item.at,
                    &join(&path, "at"),
                    "required: when the point holds, such as \"10s\"",
                );
                None
            }
        };
        let factor = match t.get("factor") {
            Some(v) => number(cx, v, &join(&path, "factor"), 0.0, MAX_FACTOR, false),
            None => {
                cx.err(
                    item.at,
                    &join(&path, "factor"),
                    "required: the multiple of `workload.rate` at that time, such as 2.0",
                );
                None
            }
        };
        let (Some(at), Some(factor)) = (at, factor) else {
            ok = false;
            continue;
        };
        if let Some(&(before, _)) = points.last()
            && at < before
        {
            let at_node = t.get("at").map_or(item.at, |v| v.at);
            cx.err(
                at_node,
                &join(&path, "at"),
                format!(
                    "the points must be in time order: this one is before the previous one ({} s)",
                    show(before as f64 / 1e9)
                ),
            );
            ok = false;
            continue;
        }
        points.push((at, factor));
    }
    if !ok {
        return None;
    }
    if points.iter().all(|p| p.1 == 0.0) {
        cx.err(n.at, key, "every factor is 0: the profile would stop all traffic (set `workload.rate = 0` for that)");
        return None;
    }
    Some(Profile { points })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;

    #[test]
    fn factor_interpolates_and_steps() {
        let p = Profile::new(vec![(0, 1.0), (10 * S, 3.0), (10 * S, 5.0), (20 * S, 5.0)]);
        assert_eq!(p.factor(0), 1.0);
        assert_eq!(p.factor(5 * S), 2.0);
        assert_eq!(p.factor(10 * S), 5.0);
        assert_eq!(p.factor(30 * S), 5.0);
        assert_eq!(p.max(), 5.0);
        // 0–10 s: mean 2 → 20; 10–20 s: 5 → 50; 20–30 s: 5 → 50.
        assert!((p.integral(0, 30 * S) - 120.0).abs() < 1e-9);
        assert!((p.integral(5 * S, 10 * S) - 12.5).abs() < 1e-9);
        assert!((p.integral(10 * S, 12 * S) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn before_the_first_point_the_first_factor_holds() {
        let p = Profile::new(vec![(10 * S, 2.0), (20 * S, 4.0)]);
        assert_eq!(p.factor(3 * S), 2.0);
        assert!((p.integral(0, 20 * S) - (20.0 + 30.0)).abs() < 1e-9);
    }
}
