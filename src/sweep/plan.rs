//! A sweep's plan: the scenario, fixed overrides, varied keys and seeds;
//! the flags that make it, checked before anything is written; and its
//! runs, computed from their index so that no list of runs is held.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::scenario::Override;

/// What a sweep runs; saved as `plan.toml` so that parts can be merged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The scenario as named on the command line (a path or a shipped name).
    pub scenario: String,
    /// `--set` overrides applied to every run.
    pub sets: Vec<String>,
    /// Varied keys and their values, in command-line order.
    pub vary: Vec<Vary>,
    /// First and last seed, inclusive.
    pub seeds: [u64; 2],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vary {
    pub key: String,
    pub values: Vec<String>,
}

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSpec {
    pub index: u64,
    /// The value of each varied key, in plan order.
    pub values: Vec<String>,
    pub seed: u64,
}

fn bad(m: String) -> Error {
    Error::BadInput(m)
}

/// Parses `--vary KEY=V1,V2,...`; a value given twice is refused (two runs
/// would share a folder and count twice in the interval).
pub fn parse_vary(spec: &str) -> Result<Vary, Error> {
    let shown = crate::scenario::load::escape(spec);
    let (key, values) = spec.split_once('=').ok_or_else(|| {
        bad(format!(
            "--vary {shown}: expected KEY=V1,V2,... such as replication.mode=async,quorum"
        ))
    })?;
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if key.trim().is_empty() || values.iter().any(String::is_empty) {
        return Err(bad(format!(
            "--vary {shown}: a key and non-empty values are needed"
        )));
    }
    let mut seen = BTreeSet::new();
    for v in &values {
        if !seen.insert(v) {
            return Err(bad(format!(
                "--vary {shown}: the value `{}` is given twice; each value once",
                crate::scenario::load::escape(v)
            )));
        }
    }
    Ok(Vary {
        key: key.trim().to_string(),
        values,
    })
}

/// Parses `--seeds A..B` (inclusive, A ≤ B; `A..=B` too) or a single seed.
pub fn parse_seeds(spec: &str) -> Result<[u64; 2], Error> {
    let shown = crate::scenario::load::escape(spec);
    let form = || {
        bad(format!(
            "--seeds {shown}: expected A..B (inclusive, A ≤ B), such as 1..10"
        ))
    };
    let (a, b) = match spec.split_once("..") {
        Some((a, b)) => (a, b.trim_start_matches('=')),
        None => (spec, spec),
    };
    let a: u64 = a.trim().parse().map_err(|_| form())?;
    let b: u64 = b.trim().parse().map_err(|_| form())?;
    if b < a {
        return Err(bad(format!(
            "--seeds {shown}: the first seed must not exceed the last (A ≤ B), such as {b}..{a}"
        )));
    }
    Ok([a, b])
}

/// Parses `--shard I/N` (I from 0 to N-1, as array-job indices are).
pub fn parse_shard(spec: &str) -> Result<(u64, u64), Error> {
    let shown = crate::scenario::load::escape(spec);
    let form = || {
        bad(format!(
            "--shard {shown}: expected I/N with 0 ≤ I < N, such as 0/4"
        ))
    };
    let (i, n) = spec.split_once('/').ok_or_else(form)?;
    let i: u64 = i.trim().parse().map_err(|_| form())?;
    let n: u64 = n.trim().parse().map_err(|_| form())?;
    if n == 0 || i >= n {
        return Err(form());
    }
    Ok((i, n))
}

/// Checks `--jobs N`: at least one.
pub fn check_jobs(jobs: usize) -> Result<usize, Error> {
    if jobs == 0 {
        return Err(bad(
            "--jobs 0: at least one run must run at a time; leave --jobs out for one per core"
                .into(),
        ));
    }
    Ok(jobs)
}

/// The most runs one sweep may have: beyond, a typo in `--seeds` or
/// `--vary` is far likelier than a real plan.
pub const MAX_RUNS: u128 = 10_000_000;

impl Plan {
    /// Refuses what would make runs collide or silently override each
    /// other: a key varied twice, a key both fixed and varied, the seed
    /// varied (`--seeds` sets it), more than `MAX_RUNS` runs.
    pub fn check(&self) -> Result<(), Error> {
        let mut keys = BTreeSet::new();
        for v in &self.vary {
            let key = crate::scenario::load::escape(&v.key);
            if !keys.insert(v.key.as_str()) {
                return Err(bad(format!(
                    "--vary {key}: the key is varied twice; give all its values in one --vary"
                )));
            }
            if v.key == "simulation.seed" {
                return Err(bad(format!(
                    "--vary {key}: seeds are set by --seeds A..B, which would override this; use --seeds"
                )));
            }
            if self.sets.iter().any(|s| set_key(s) == v.key) {
                return Err(bad(format!(
                    "--vary {key}: the key is also fixed by --set; the varied values would override it"
                )));
            }
        }
        if let Some(s) = self.sets.iter().find(|s| set_key(s) == "simulation.seed") {
            return Err(bad(format!(
                "--set {}: seeds are set by --seeds A..B, which would override this; use --seeds",
                crate::scenario::load::escape(s)
            )));
        }
        let total = self.total();
        if total > MAX_RUNS {
            return Err(bad(format!(
                "the sweep has {total} runs (combinations × seeds): at most {MAX_RUNS}; narrow --seeds or --vary"
            )));
        }
        Ok(())
    }

    /// The number of runs (combinations × seeds), without overflow.
    pub fn total(&self) -> u128 {
        let seeds = u128::from(self.seeds[1] - self.seeds[0]) + 1;
        self.vary
            .iter()
            .fold(seeds, |acc, v| acc.saturating_mul(v.values.len() as u128))
    }

    /// The number of combinations of varied values.
    pub fn combinations(&self) -> u64 {
        self.vary.iter().map(|v| v.values.len() as u64).product()
    }

    /// The values of combination `c` (the first varied key slowest).
    pub fn combination(&self, mut c: u64) -> Vec<String> {
        let mut values = vec![String::new(); self.vary.len()];
        for (i, v) in self.vary.iter().enumerate().rev() {
            let n = v.values.len() as u64;
            values[i] = v.values[(c % n) as usize].clone();
            c /= n;
        }
        values
    }

    /// Run `index`: combinations in order, seeds innermost. Valid for
    /// `index < total()` of a checked plan.
    pub fn run(&self, index: u64) -> RunSpec {
        let seeds = self.seeds[1] - self.seeds[0] + 1;
        RunSpec {
            index,
            values: self.combination(index / seeds),
            seed: self.seeds[0] + index % seeds,
        }
    }

    /// Every run, in order, computed as it is reached.
    pub fn runs(&self) -> impl Iterator<Item = RunSpec> + '_ {
        (0..self.total() as u64).map(|i| self.run(i))
    }

    /// The overrides of a combination: the plan's sets, then the values.
    pub fn overrides_of(&self, values: &[String]) -> Vec<Override> {
        let mut out: Vec<Override> = self.sets.iter().map(Override::set).collect();
        for (v, value) in self.vary.iter().zip(values) {
            out.push(Override {
                flag: "--vary",
                spec: format!("{}={value}", v.key),
            });
        }
        out
    }

    /// The overrides of one run: the combination's, then the seed.
    pub fn run_overrides(&self, run: &RunSpec) -> Vec<Override> {
        let mut out = self.overrides_of(&run.values);
        out.push(Override {
            flag: "--seeds",
            spec: format!("simulation.seed={}", run.seed),
        });
        out
    }

    /// The overrides of one run as `KEY=VALUE`.
    pub fn sets_of(&self, run: &RunSpec) -> Vec<String> {
        self.run_overrides(run)
            .into_iter()
            .map(|o| o.spec)
            .collect()
    }

    /// The run's folder, relative to the sweep's: `runs/<k>=<v>,.../seed-<s>`.
    pub fn dir_of(&self, run: &RunSpec) -> PathBuf {
        let combo = self.combo_name(&run.values);
        let mut p = PathBuf::from("runs");
        if !combo.is_empty() {
            p.push(combo);
        }
        p.push(format!("seed-{}", run.seed));
        p
    }

    /// `k1=v1,k2=v2`, made safe for a folder name.
    pub fn combo_name(&self, values: &[String]) -> String {
        self.vary
            .iter()
            .zip(values)
            .map(|(v, value)| format!("{}={}", v.key, value))
            .collect::<Vec<_>>()
            .join(",")
            .replace(['/', '\\', ' '], "_")
    }
}

/// The key of `KEY=VALUE`, trimmed.
fn set_key(spec: &str) -> &str {
    spec.split_once('=').map_or(spec, |(k, _)| k).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(vary: &[&str], seeds: &str) -> Plan {
        Plan {
            scenario: "x".into(),
            sets: vec![],
            vary: vary.iter().map(|v| parse_vary(v).unwrap()).collect(),
            seeds: parse_seeds(seeds).unwrap(),
        }
    }

    #[test]
    fn runs_cover_the_cross_product_in_order() {
        let plan = plan(&["a=1,2", "b=x,y,z"], "5..6");
        let runs: Vec<RunSpec> = plan.runs().collect();
        assert_eq!(runs.len(), 2 * 3 * 2);
        assert_eq!(runs[0].values, ["1", "x"]);
        assert_eq!(
            (runs[1].values.clone(), runs[1].seed),
            (vec!["1".into(), "x".into()], 6)
        );
        assert_eq!(runs[11].values, ["2", "z"]);
        assert_eq!(plan.dir_of(&runs[3]), PathBuf::from("runs/a=1,b=y/seed-6"));
        assert_eq!(plan.sets_of(&runs[3]), ["a=1", "b=y", "simulation.seed=6"]);
    }

    #[test]
    fn a_huge_plan_is_indexed_not_listed() {
        let p = plan(&["a=1,2"], "1..10000000");
        assert_eq!(p.total(), 20_000_000);
        let last = p.run(19_999_999);
        assert_eq!(
            (last.values, last.seed),
            (vec!["2".to_string()], 10_000_000)
        );
    }

    #[test]
    fn flags_are_parsed_or_refused() {
        assert_eq!(parse_seeds("1..=3").unwrap(), [1, 3]);
        assert_eq!(parse_seeds("7").unwrap(), [7, 7]);
        assert!(
            parse_seeds("5..1")
                .unwrap_err()
                .to_string()
                .contains("A ≤ B")
        );
        assert_eq!(parse_shard("2/3").unwrap(), (2, 3));
        assert!(parse_shard("3/3").is_err());
        assert!(parse_vary("novalues").is_err());
        assert!(parse_vary("k=a,,b").is_err());
        assert!(
            parse_vary("k=a,b,a")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(check_jobs(0).is_err());
        assert!(plan(&["a=1", "a=2"], "1").check().is_err());
        assert!(plan(&["simulation.seed=1,2"], "1").check().is_err());
        let mut p = plan(&["a=1,2"], "1");
        p.sets = vec!["a = 3".into()];
        assert!(p.check().unwrap_err().to_string().contains("also fixed"));
    }
}
