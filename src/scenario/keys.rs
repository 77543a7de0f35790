//! The key reference: every scenario key with its type, default and
//! meaning, as data. The readers check a table's keys against these lists
//! and take a missing required key's message from them, and
//! `multiactive keys` / `multiactive explain KEY` print them, so the
//! reference in `docs/scenario-keys.md` cannot drift from the parser.
//!
//! Each section file owns its lists; [`SECTIONS`] only orders them.

use std::fmt::Write;

use super::readers::{closest, show};
use super::{control, dist_table, faults, schema, sharding, topology, workload};
use crate::time::{Nanos, format_duration};

/// One scenario key.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    pub name: &'static str,
    pub ty: Type,
    pub default: KeyDefault,
    /// What the key means, in a phrase that also completes "required: ...".
    pub meaning: &'static str,
}

/// What a key holds, and the values it allows.
#[derive(Clone, Copy, Debug)]
pub enum Type {
    /// A non-empty string.
    Name,
    Bool,
    Int {
        min: i128,
        max: i128,
    },
    Number {
        min: f64,
        max: f64,
        open_min: bool,
    },
    Fraction,
    /// A duration of 0 or more.
    Duration,
    PositiveDuration,
    SignedDuration,
    Dist,
    /// One of an enum's spellings.
    OneOf(&'static [&'static str]),
    /// Anything else, described.
    Other(&'static str),
}

/// What an absent key means.
#[derive(Clone, Copy, Debug)]
pub enum KeyDefault {
    Required,
    /// Absent has a meaning of its own ("unlimited").
    Absent(&'static str),
    Duration(Nanos),
    Bool(bool),
    Int(u64),
    Number(f64),
    /// An enum's spelling.
    Name(&'static str),
}

impl Key {
    pub const fn new(
        name: &'static str,
        ty: Type,
        default: KeyDefault,
        meaning: &'static str,
    ) -> Key {
        Key {
            name,
            ty,
            default,
            meaning,
        }
    }
}

/// A table of the scenario (or one kind of a fault or distribution).
#[derive(Clone, Copy, Debug)]
pub struct Section {
    /// The key prefix: `simulation`, `datacenter`, `fault`, `dist`.
    pub path: &'static str,
    /// `[[path]]` (an array of tables) rather than `[path]`.
    pub array: bool,
    /// For a fault or distribution kind: the `kind`/`dist` it applies to.
    pub variant: Option<&'static str>,
    pub about: &'static str,
    pub keys: &'static [Key],
}

/// Every section, in the order the reference shows them.
pub fn sections() -> Vec<Section> {
    let mut out = vec![
        schema::SIMULATION_SECTION,
        topology::DATACENTER_SECTION,
        topology::LINK_SECTION,
        topology::REGION_SECTION,
        workload::WORKLOAD_SECTION,
        workload::REQUEST_SECTION,
        sharding::SHARDING_SECTION,
        control::ROUTING_SECTION,
        control::REPLICATION_SECTION,
        control::FAILOVER_SECTION,
        faults::FAULT_SECTION,
        super::expect::EXPECT_SECTION,
    ];
    out.extend(faults::kind_sections());
    out.extend(dist_table::kind_sections());
    out
}

impl Type {
    fn describe(&self) -> String {
        match *self {
            Type::Name => "name (non-empty string)".into(),
            Type::Bool => "true or false".into(),
            Type::Int { min, max } => format!("integer, {min} to {max}"),
            Type::Number { min, max, open_min } => {
                let low = if open_min { ">" } else { "≥" };
                format!("number {low} {}, ≤ {}", show(min), show(max))
            }
            Type::Fraction => "fraction, 0 to 1".into(),
            Type::Duration => "duration ≥ 0".into(),
            Type::PositiveDuration => "duration > 0".into(),
            Type::SignedDuration => "duration, may be negative".into(),
            Type::Dist => "dist".into(),
            Type::OneOf(names) => {
                let q: Vec<String> = names.iter().map(|n| format!("`\"{n}\"`")).collect();
                format!("one of {}", q.join(", "))
            }
            Type::Other(what) => what.into(),
        }
    }
}

impl KeyDefault {
    fn describe(&self) -> String {
        match *self {
            KeyDefault::Required => "required".into(),
            KeyDefault::Absent(what) => what.into(),
            KeyDefault::Duration(0) => "`\"0s\"`".into(),
            KeyDefault::Duration(ns) => format!("`\"{}\"`", format_duration(ns as i64)),
            KeyDefault::Bool(b) => format!("`{b}`"),
            KeyDefault::Int(i) => format!("`{i}`"),
            KeyDefault::Number(v) => format!("`{}`", show(v)),
            KeyDefault::Name(n) => format!("`\"{n}\"`"),
        }
    }
}

/// The key's full name: `simulation.drain`, `fault.dc`, `dist.median`.
fn full_name(s: &Section, k: &Key) -> String {
    format!("{}.{}", s.path, k.name)
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn heading(s: &Section) -> String {
    let table = if s.array {
        format!("[[{}]]", s.path)
    } else {
        format!("[{}]", s.path)
    };
    match (s.path, s.variant) {
        ("dist", Some(v)) => format!("Distribution `{{ dist = \"{v}\", … }}`"),
        (_, Some(v)) => format!("`{table}` with `kind = \"{v}\"`"),
        (_, None) => format!("`{table}`"),
    }
}

const INTRO: &str = "\
# Scenario keys

<!-- Generated by `multiactive keys > docs/scenario-keys.md` from the tables the
scenario reader checks keys against; do not edit by hand. -->

A scenario is a TOML file. Unknown keys are errors (a typo is never ignored),
and `--set KEY=VALUE` overrides any key below (`datacenter.bj.servers=4`,
`fault.0.at=\"10s\"`). `multiactive explain KEY` prints one entry.

- A **duration** is a string with a unit: `\"250us\"`, `\"30ms\"`, `\"2s\"`, `\"5m\"`,
  `\"1h\"`, `\"1d\"` (units ns, us, ms, s, m, h, d; at most 100000d); a leading
  `-` only where a key allows it.
- A **dist** is a duration distribution: a duration (a constant) or a table
  `{ dist = \"...\", ... }`, whose kinds are listed at the end.
";

/// The whole key reference, as Markdown.
pub fn reference() -> String {
    let mut out = String::from(INTRO);
    for s in sections() {
        let _ = write!(out, "\n## {}\n\n{}\n\n", heading(&s), s.about);
        out.push_str("| key | type | default | meaning |\n|---|---|---|---|\n");
        for k in s.keys {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                full_name(&s, k),
                cell(&k.ty.describe()),
                cell(&k.default.describe()),
                cell(k.meaning)
            );
        }
    }
    out
}

/// One key's entry (every section that has it: `fault.dc` is a key of two
/// fault kinds), or the closest known keys when there is no such key.
/// Accepts element paths as `--set` writes them (`datacenter.bj.servers`)
/// and a section's name (`failover`: all its keys).
pub fn explain(key: &str) -> Result<String, Vec<String>> {
    let all = sections();
    let find = |wanted: &str| -> Vec<(Section, Key)> {
        all.iter()
            .flat_map(|s| s.keys.iter().map(move |k| (*s, *k)))
            .filter(|(s, k)| full_name(s, k) == wanted)
            .collect()
    };
    let mut hits = find(key);
    let parts: Vec<&str> = key.split('.').collect();
    if hits.is_empty() && parts.len() == 3 {
        hits = find(&format!("{}.{}", parts[0], parts[2]));
    }
    if hits.is_empty() {
        // A section's name: all its keys.
        hits = all
            .iter()
            .filter(|s| s.path == key)
            .flat_map(|s| s.keys.iter().map(move |k| (*s, *k)))
            .collect();
    }
    if hits.is_empty() {
        return Err(nearest_keys(key, &all));
    }
    let mut out = String::new();
    for (s, k) in hits {
        let _ = writeln!(out, "{}  ({})", full_name(&s, &k), heading(&s));
        let _ = writeln!(out, "  type:    {}", k.ty.describe());
        let _ = writeln!(out, "  default: {}", k.default.describe());
        let _ = writeln!(out, "  meaning: {}\n", k.meaning);
    }
    Ok(out.trim_end().to_string() + "\n")
}

/// The known keys nearest to an unknown one: a likely typo first, else the
/// keys of the section it names, else the three nearest by edit distance.
fn nearest_keys(key: &str, all: &[Section]) -> Vec<String> {
    let mut names: Vec<String> = all
        .iter()
        .flat_map(|s| s.keys.iter().map(move |k| full_name(s, k)))
        .collect();
    names.dedup();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    if let Some(c) = closest(key, &refs) {
        return vec![c.to_string()];
    }
    let section = key.split('.').next().unwrap_or("");
    let mut same: Vec<String> = names
        .iter()
        .filter(|n| n.split('.').next() == Some(section))
        .cloned()
        .collect();
    same.dedup();
    if !same.is_empty() {
        return same;
    }
    names.sort_by_key(|n| strsim::damerau_levenshtein(key, n));
    names.truncate(3);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_documented_once_per_section() {
        for s in sections() {
            assert!(!s.about.is_empty(), "{}", s.path);
            let mut seen: Vec<&str> = Vec::new();
            for k in s.keys {
                assert!(!k.meaning.is_empty(), "{}.{}", s.path, k.name);
                assert!(!seen.contains(&k.name), "{}.{} twice", s.path, k.name);
                seen.push(k.name);
            }
        }
    }

    #[test]
    fn display_prints_the_scenario_spelling_and_parses_back() {
        use crate::scenario::{FaultType, Named, Procedure, ReplMode};
        assert_eq!(format!("{}", ReplMode::SemiSync), "semi_sync");
        assert_eq!(Procedure::BanThenSwitch.to_string(), "ban_then_switch");
        assert_eq!(FaultType::ReplicationStall.to_string(), "replication_stall");
        for &(name, mode) in ReplMode::NAMES {
            assert_eq!(mode.to_string(), name);
        }
        assert_eq!(
            ReplMode::SPELLINGS,
            ["async", "semi_sync", "quorum", "sync"]
        );
    }

    #[test]
    fn explain_finds_a_key_and_an_element_path() {
        let drain = explain("simulation.drain").expect("a known key");
        assert!(drain.contains("default: `\"30s\"`"), "{drain}");
        let servers = explain("datacenter.bj.servers").expect("an element path");
        assert!(servers.starts_with("datacenter.servers"), "{servers}");
        let dc = explain("fault.dc").expect("a fault key");
        assert!(dc.contains("dc_down") && dc.contains("clock_jump"), "{dc}");
        let failover = explain("failover").expect("a section");
        assert!(failover.starts_with("failover.auto") && failover.contains("failover.failback"));
    }

    #[test]
    fn explain_suggests_the_closest_keys() {
        assert_eq!(
            explain("simulation.drian"),
            Err(vec!["simulation.drain".to_string()])
        );
        let section = explain("replication.speed").expect_err("unknown");
        assert!(
            section.contains(&"replication.mode".to_string()),
            "{section:?}"
        );
    }
}
