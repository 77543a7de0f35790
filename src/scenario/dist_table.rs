//! A distribution as a scenario writes it: `"5ms"` (a constant) or a table
//! `{ dist = "...", ... }` whose keys depend on its kind. The kinds, their
//! keys and the reader live here; sampling lives in [`super::dist`].

use super::Dist;
use super::keys::{Key, KeyDefault, Section, Type};
use super::readers::{Ctx, Named, choice, duration, join, names, number, quoted};
use super::tree::{Node, Table, Val};
use crate::time::Nanos;

/// A Pareto shape beyond this is a constant for every practical purpose.
const MAX_SHAPE: f64 = 1e6;

names! {
    /// The `dist` of a distribution table.
    pub enum DistKind {
        Uniform = "uniform",
        Exp = "exp",
        Normal = "normal",
        LogNormal = "lognormal",
        Pareto = "pareto",
        Empirical = "empirical",
    }
}

const fn param(name: &'static str, meaning: &'static str) -> Key {
    Key::new(name, Type::Duration, KeyDefault::Required, meaning)
}

const MIN: Key = param("min", "the smallest value");
const MAX: Key = param("max", "the largest value (at least `min`)");
const MEAN: Key = param("mean", "the mean");
const SD: Key = param("sd", "the standard deviation (draws below 0 are cut to 0)");
const MEDIAN: Key = param("median", "the median (above 0)");
const P99: Key = param("p99", "the 99th percentile (at least the median)");
const SCALE: Key = param("scale", "the smallest value (above 0)");
const SHAPE: Key = Key::new(
    "shape",
    Type::Number {
        min: 0.0,
        max: MAX_SHAPE,
        open_min: true,
    },
    KeyDefault::Required,
    "the tail index: the smaller, the heavier the tail",
);
const POINTS: Key = Key::new(
    "points",
    Type::Other("array of durations"),
    KeyDefault::Required,
    "quantiles at evenly spaced probabilities from 0 to 1; a draw interpolates between neighbours",
);

impl DistKind {
    /// The keys of this kind besides `dist`.
    fn keys(self) -> &'static [Key] {
        match self {
            DistKind::Uniform => &[MIN, MAX],
            DistKind::Exp => &[MEAN],
            DistKind::Normal => &[MEAN, SD],
            DistKind::LogNormal => &[MEDIAN, P99],
            DistKind::Pareto => &[SCALE, SHAPE],
            DistKind::Empirical => &[POINTS],
        }
    }

    fn about(self) -> &'static str {
        match self {
            DistKind::Uniform => "Every whole nanosecond from `min` to `max` alike.",
            DistKind::Exp => "Exponential: memoryless waits.",
            DistKind::Normal => "Normal, cut at 0.",
            DistKind::LogNormal => {
                "Lognormal, placed by its median and 99th percentile: a typical latency with a long tail."
            }
            DistKind::Pareto => "Pareto: a heavy tail above `scale`.",
            DistKind::Empirical => "Measured quantiles, interpolated.",
        }
    }
}

/// A section per distribution kind, for the key reference.
pub(super) fn kind_sections() -> Vec<Section> {
    DistKind::NAMES
        .iter()
        .map(|&(name, kind)| Section {
            path: "dist",
            array: false,
            variant: Some(name),
            about: kind.about(),
            keys: kind.keys(),
        })
        .collect()
}

/// A distribution: `"5ms"` or `{ dist = "...", ... }`.
pub(super) fn read_dist(cx: &mut Ctx, n: &Node, key: &str) -> Option<Dist> {
    let t = match &n.val {
        Val::Str(_) | Val::Int(_) | Val::Float(_) => {
            return duration(cx, n, key).map(Dist::constant);
        }
        Val::Table(t) => t,
        _ => {
            cx.expected(
                n,
                key,
                "a duration such as \"5ms\" or a table { dist = \"...\", ... }",
            );
            return None;
        }
    };
    let Some(kind_node) = t.get("dist") else {
        cx.err(
            n.at,
            &join(key, "dist"),
            format!(
                "a distribution table needs `dist`, one of: {}",
                quoted(DistKind::SPELLINGS)
            ),
        );
        return None;
    };
    let kind: DistKind = choice(cx, kind_node, &join(key, "dist"))?;
    let mut known = vec!["dist"];
    known.extend(kind.keys().iter().map(|k| k.name));
    cx.check_names(t, key, &known);
    let p = Params { t, n, key };
    let result = match kind {
        DistKind::Uniform => {
            let (min, max) = (p.duration(cx, &MIN), p.duration(cx, &MAX));
            Dist::uniform(min?, max?)
        }
        DistKind::Exp => Dist::exp(p.duration(cx, &MEAN)?),
        DistKind::Normal => {
            let (mean, sd) = (p.duration(cx, &MEAN), p.duration(cx, &SD));
            Dist::normal(mean?, sd?)
        }
        DistKind::LogNormal => {
            let (median, p99) = (p.duration(cx, &MEDIAN), p.duration(cx, &P99));
            Dist::lognormal(median?, p99?)
        }
        DistKind::Pareto => {
            let scale = p.duration(cx, &SCALE);
            let shape = p
                .need(cx, &SHAPE)
                .and_then(|v| number(cx, v, &join(key, SHAPE.name), 0.0, MAX_SHAPE, true));
            Dist::pareto(scale?, shape?)
        }
        DistKind::Empirical => Dist::empirical(p.points(cx)?),
    };
    match result {
        Ok(d) => Some(d),
        Err(m) => {
            cx.err(
                n.at,
                key,
                format!("not a valid \"{kind}\" distribution: {m}"),
            );
            None
        }
    }
}

/// The parameters of one distribution table.
struct Params<'a> {
    t: &'a Table,
    n: &'a Node,
    key: &'a str,
}

impl Params<'_> {
    fn need(&self, cx: &mut Ctx, k: &Key) -> Option<&Node> {
        cx.need(self.t, self.n.at, self.key, k)
    }

    fn duration(&self, cx: &mut Ctx, k: &Key) -> Option<Nanos> {
        self.need(cx, k)
            .and_then(|v| duration(cx, v, &join(self.key, k.name)))
    }

    fn points(&self, cx: &mut Ctx) -> Option<Vec<Nanos>> {
        let p = self.need(cx, &POINTS)?;
        let pk = join(self.key, POINTS.name);
        let Val::Array(items) = &p.val else {
            cx.expected(p, &pk, "an array of durations");
            return None;
        };
        let points: Vec<Option<Nanos>> = items.iter().map(|i| duration(cx, i, &pk)).collect();
        points.into_iter().collect()
    }
}
