//! `[[expect]]`: the promises a design makes, checked after every run.
//!
//! ```toml
//! [[expect]]
//! metric = "lost_writes"   # a summary.csv column, or "availability" (ok / requests)
//! max = 0                  # and/or min = ...
//!
//! [[expect]]
//! metric = "rto_s"
//! max = 60
//! per_failure = true       # every failures.csv row must meet it
//! ```
//!
//! With `per_failure = true` the metric is a column of `failures.csv`
//! (`rpo_s`, `rpo_writes`, `rto_s`, ...) and every failure must meet the
//! bound; without it the metric is a column of `summary.csv`. A metric left
//! empty by the run (no failure, so no RTO; no request, so no availability)
//! has nothing to break and meets its bound.
//!
//! With `dataset = "NAME"` the metric is judged on that dataset's row of
//! `datasets.csv` (a `[[dataset]]`, or `global`, the data of
//! `workload.global`) instead of the run as a whole: only the metrics a
//! dataset row carries (`DATASET_METRICS`), and not per failure.
//!
//! The metric names are those of the output tables (`crate::output`): the
//! scenario names what the run reports, so the list lives with the tables.

use super::tree::{Node, Origin, Problem, Val};

/// One promise: a metric and its bounds (at least one of them).
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub metric: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Judge every failure (a `failures.csv` row) instead of the run.
    pub per_failure: bool,
    /// Judge this dataset's `datasets.csv` row instead of the run.
    pub dataset: Option<String>,
}

impl Expectation {
    /// `lost_writes <= 0`, `0.99 <= availability`, `rto_s <= 60 per failure`,
    /// `lost_writes <= 0 in dataset orders`.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(lo) = self.min {
            s += &format!("{} <= ", show(lo));
        }
        s += &self.metric;
        if let Some(hi) = self.max {
            s += &format!(" <= {}", show(hi));
        }
        if self.per_failure {
            s += " per failure";
        }
        if let Some(d) = &self.dataset {
            s += &format!(" in dataset {d}");
        }
        s
    }

    /// Whether `value` meets the bounds.
    pub fn holds(&self, value: f64) -> bool {
        self.min.is_none_or(|lo| value >= lo) && self.max.is_none_or(|hi| value <= hi)
    }
}

/// A number as written in a TOML file: `0`, `0.99`, `1e-9`.
pub fn show(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

use super::keys::{Key, KeyDefault, Section, Type};

const KEYS: &[&str] = &["metric", "min", "max", "per_failure", "dataset"];

/// The reference entry of `[[expect]]` (the reader above checks the same
/// names, `KEYS`).
pub(super) const EXPECT_SECTION: Section = Section {
    path: "expect",
    array: true,
    variant: None,
    about: "A promise the design makes, judged after the run: `run` prints each verdict, writes expectations.csv and exits with status 3 when one is not met.",
    keys: &[
        Key::new(
            "metric",
            Type::Other(
                "a summary.csv column (without scenario and seed), or \"availability\" (ok / requests); with per_failure, a failures.csv column; with dataset, a datasets.csv column or \"availability\"",
            ),
            KeyDefault::Required,
            "what is judged",
        ),
        Key::new(
            "min",
            Type::Other("a number"),
            KeyDefault::Absent("no lower bound"),
            "the smallest value that meets the promise (at least one of min and max)",
        ),
        Key::new(
            "max",
            Type::Other("a number"),
            KeyDefault::Absent("no upper bound"),
            "the largest value that meets the promise (at least one of min and max)",
        ),
        Key::new(
            "per_failure",
            Type::Bool,
            KeyDefault::Bool(false),
            "judge every failures.csv row instead of the run's summary",
        ),
        Key::new(
            "dataset",
            Type::Other("a [[dataset]] name, or \"global\" (the data of workload.global)"),
            KeyDefault::Absent("the run as a whole"),
            "judge the metric on this dataset's datasets.csv row instead of the run: requests, ok, failed, rejected, conflicts, lost_writes or availability; not with per_failure",
        ),
    ],
};

/// The metrics a run-wide expectation may name.
pub fn run_metrics() -> Vec<&'static str> {
    let mut m: Vec<&str> = crate::output::SUMMARY_COLUMNS
        .iter()
        .copied()
        .filter(|c| !["scenario", "seed"].contains(c))
        .collect();
    m.push("availability");
    m
}

/// The metrics a per-failure expectation may name.
pub const FAILURE_METRICS: &[&str] = &[
    "affected_shards",
    "rpo_s",
    "rpo_writes",
    "rto_s",
    "shards_without_writes",
    "unrecovered_shards",
];

/// The metrics a dataset expectation may name: the counts of a
/// `datasets.csv` row, and `availability` (its ok / its requests).
pub fn dataset_metrics() -> Vec<&'static str> {
    let mut m: Vec<&str> = crate::output::DATASETS_COLUMNS
        .iter()
        .copied()
        .filter(|c| *c != "dataset")
        .collect();
    m.push("availability");
    m
}

/// Reads the `expect` root key; problems are added to `problems`.
/// `datasets`: the names a `dataset` may take (the `[[dataset]]`s, and
/// `global` when the run has global data); `None` when they are unknown
/// (the datasets had problems of their own, reported already).
pub fn read(
    n: Option<&Node>,
    problems: &mut Vec<Problem>,
    datasets: Option<&[String]>,
) -> Vec<Expectation> {
    let Some(n) = n else { return Vec::new() };
    let mut err = |at: Origin, key: &str, message: String| {
        problems.push(Problem {
            at,
            key: key.to_string(),
            message,
        })
    };
    let items: Vec<&Node> = match &n.val {
        Val::Array(items) => items.iter().collect(),
        Val::Table(_) => vec![n],
        other => {
            err(
                n.at,
                "expect",
                format!(
                    "expected an array of tables ([[expect]]), found {}",
                    other.type_name()
                ),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("expect.{i}");
        let Val::Table(t) = &item.val else {
            err(
                item.at,
                &path,
                format!("expected a table, found {}", item.val.type_name()),
            );
            continue;
        };
        let mut ok = true;
        for (k, at, _) in &t.entries {
            if !KEYS.contains(&k.as_str()) {
                err(
                    *at,
                    &format!("{path}.{k}"),
                    format!("unknown key in `{path}`; known keys: {}", KEYS.join(", ")),
                );
                ok = false;
            }
        }
        let per_failure = match t.get("per_failure") {
            None => false,
            Some(Node {
                val: Val::Bool(b), ..
            }) => *b,
            Some(v) => {
                err(
                    v.at,
                    &format!("{path}.per_failure"),
                    format!("expected true or false, found {}", v.val.type_name()),
                );
                ok = false;
                false
            }
        };
        let dataset = match t.get("dataset") {
            None => None,
            Some(
                v @ Node {
                    val: Val::Str(d), ..
                },
            ) => {
                let key = format!("{path}.dataset");
                match datasets {
                    _ if per_failure => {
                        err(
                            v.at,
                            &key,
                            "per_failure judges the run's failures.csv rows, which are not counted per dataset: drop dataset or per_failure".into(),
                        );
                        ok = false;
                    }
                    Some([]) => {
                        err(
                            v.at,
                            &key,
                            format!(
                                "unknown dataset \"{d}\": the scenario declares no [[dataset]], so the run has no per-dataset counts (datasets.csv)"
                            ),
                        );
                        ok = false;
                    }
                    Some(known) if !known.contains(d) => {
                        err(
                            v.at,
                            &key,
                            format!(
                                "unknown dataset \"{d}\"{}; known: {}",
                                did_you_mean(d, known.iter().map(String::as_str)),
                                known.join(", ")
                            ),
                        );
                        ok = false;
                    }
                    _ => {}
                }
                Some(d.clone())
            }
            Some(v) => {
                err(
                    v.at,
                    &format!("{path}.dataset"),
                    format!("expected a dataset name, found {}", v.val.type_name()),
                );
                ok = false;
                None
            }
        };
        // The metric is checked against a dataset's row only when the
        // dataset itself is fine: one message for one mistake.
        let on_dataset = dataset.is_some() && ok && !per_failure;
        let metric = match t.get("metric") {
            None => {
                err(
                    item.at,
                    &format!("{path}.metric"),
                    "required: the metric the expectation bounds".into(),
                );
                None
            }
            Some(Node {
                val: Val::Str(s),
                at,
            }) => {
                let known: Vec<&str> = if per_failure {
                    FAILURE_METRICS.to_vec()
                } else if on_dataset {
                    dataset_metrics()
                } else {
                    run_metrics()
                };
                if known.contains(&s.as_str()) {
                    Some(s.clone())
                } else if on_dataset && run_metrics().contains(&s.as_str()) {
                    err(
                        *at,
                        &format!("{path}.metric"),
                        format!(
                            "\"{s}\" has no per-dataset value (no datasets.csv column); a dataset can be judged on: {}",
                            known.join(", ")
                        ),
                    );
                    None
                } else {
                    let what = if per_failure {
                        "failures.csv columns, for per_failure = true"
                    } else if on_dataset {
                        "datasets.csv columns and availability, for a dataset"
                    } else {
                        "summary.csv columns and availability"
                    };
                    let hint = did_you_mean(s, known.iter().copied());
                    err(
                        *at,
                        &format!("{path}.metric"),
                        format!(
                            "unknown metric \"{s}\"{hint}; known ({what}): {}",
                            known.join(", ")
                        ),
                    );
                    None
                }
            }
            Some(v) => {
                err(
                    v.at,
                    &format!("{path}.metric"),
                    format!("expected a metric name, found {}", v.val.type_name()),
                );
                None
            }
        };
        let mut bound = |key: &str| -> Result<Option<f64>, ()> {
            let Some(v) = t.get(key) else { return Ok(None) };
            let x = match v.val {
                Val::Int(i) => i as f64,
                Val::Float(f) if f.is_finite() => f,
                _ => {
                    let found = match v.val {
                        Val::Float(_) | Val::HugeInt(_) => "a number out of range".to_string(),
                        ref other => other.type_name().to_string(),
                    };
                    err(
                        v.at,
                        &format!("{path}.{key}"),
                        format!("expected a number, such as {key} = 0, found {found}"),
                    );
                    return Err(());
                }
            };
            Ok(Some(x))
        };
        let (min, max) = (bound("min"), bound("max"));
        let (Ok(min), Ok(max), Some(metric)) = (min, max, metric) else {
            continue;
        };
        if min.is_none() && max.is_none() {
            err(
                item.at,
                &path,
                "expected a bound: max = ... and/or min = ...".into(),
            );
            continue;
        }
        if let (Some(lo), Some(hi)) = (min, max)
            && lo > hi
        {
            err(
                item.at,
                &path,
                format!(
                    "min ({}) is above max ({}): nothing could meet it",
                    show(lo),
                    show(hi)
                ),
            );
            continue;
        }
        if ok {
            out.push(Expectation {
                metric,
                min,
                max,
                per_failure,
                dataset,
            });
        }
    }
    out
}

/// ` (did you mean "K"?)` for the known name nearest to a misspelt one.
fn did_you_mean<'a>(s: &str, known: impl Iterator<Item = &'a str>) -> String {
    known
        .map(|k| (strsim::damerau_levenshtein(s, k), k))
        .filter(|&(d, k)| d <= 1.max(k.len() / 3))
        .min()
        .map(|(_, k)| format!(" (did you mean \"{k}\"?)"))
        .unwrap_or_default()
}
