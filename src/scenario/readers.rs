//! The reading kit every section uses: [`Ctx`] collects problems, the key
//! check compares a table with its section's key table, and the scalar
//! readers (names, numbers, fractions, durations, names of an enum, DC
//! names, shard ranges) each report their own problem and return `None`.
//!
//! Nothing here knows a section; the sections know their keys.

use super::keys::Key;
use super::tree::{Node, Origin, Problem, Table, Val};
use crate::ids::{DcId, ShardId};
use crate::time::{self, Nanos};

/// Where a problem of the file as a whole (a missing section) is shown: its
/// first line, so that the message still has a `file:line:col` to jump to.
pub(super) const FILE_START: Origin = Origin::File { start: 0, end: 0 };

/// An enum whose variants are spelt in scenario files. The one list of
/// (spelling, variant) serves parsing, messages and `Display`; [`names!`]
/// writes it from the enum's own declaration, so it cannot miss a variant.
pub trait Named: Copy + 'static {
    /// Every variant with its spelling, in the order messages list them.
    const NAMES: &'static [(&'static str, Self)];
    /// The spellings alone, for the key reference.
    const SPELLINGS: &'static [&'static str];
    /// The spelling of this variant.
    fn name(self) -> &'static str;
}

/// Declares a fieldless enum with the spelling of each variant; derives its
/// [`Named`] table, a `const fn name` and a `Display` that prints the
/// spelling (`semi_sync`, never `SemiSync`).
macro_rules! names {
    ($(#[$m:meta])* pub enum $T:ident { $($(#[$vm:meta])* $V:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $T { $($(#[$vm])* $V,)+ }

        impl $T {
            /// The spelling scenario files use.
            pub const fn name(self) -> &'static str {
                match self { $($T::$V => $s,)+ }
            }
        }

        impl $crate::scenario::readers::Named for $T {
            const NAMES: &'static [(&'static str, Self)] = &[$(($s, $T::$V),)+];
            const SPELLINGS: &'static [&'static str] = &[$($s,)+];
            fn name(self) -> &'static str {
                $T::name(self)
            }
        }

        impl std::fmt::Display for $T {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
pub(crate) use names;

/// Collects problems while reading.
pub(super) struct Ctx {
    pub problems: Vec<Problem>,
}

impl Ctx {
    pub fn err(&mut self, at: Origin, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            at,
            key: key.to_string(),
            message: message.into(),
        });
    }

    pub fn expected(&mut self, n: &Node, key: &str, what: &str) {
        self.err(
            n.at,
            key,
            format!("expected {what}, found {}", n.val.type_name()),
        );
    }

    /// A table's entries checked against its section's keys.
    pub fn table<'a>(&mut self, n: &'a Node, path: &str, known: &[Key]) -> Option<&'a Table> {
        let Val::Table(t) = &n.val else {
            self.expected(n, path, "a table");
            return None;
        };
        self.check_keys(t, path, known);
        Some(t)
    }

    pub fn check_keys(&mut self, t: &Table, path: &str, known: &[Key]) {
        let names: Vec<&str> = known.iter().map(|k| k.name).collect();
        self.check_names(t, path, &names);
    }

    pub fn check_names(&mut self, t: &Table, path: &str, known: &[&str]) {
        for (k, at, _) in &t.entries {
            if known.contains(&k.as_str()) {
                continue;
            }
            let key = join(path, k);
            let hint = closest(k, known)
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            let place = if path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `{path}`")
            };
            self.err(
                *at,
                &key,
                format!(
                    "unknown key {place}; {hint}known keys: {}",
                    known.join(", ")
                ),
            );
        }
    }

    /// The value of a required key, or a problem at `table_at` that says
    /// what the key is for (from the key reference).
    pub fn need<'a>(
        &mut self,
        t: &'a Table,
        table_at: Origin,
        path: &str,
        key: &Key,
    ) -> Option<&'a Node> {
        let v = t.get(key.name);
        if v.is_none() {
            let message = format!("required: {}", key.meaning);
            self.err(table_at, &join(path, key.name), message);
        }
        v
    }
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The known name nearest to a typo, if it is near enough to be a typo:
/// one edit in three characters, at least one, and never the whole name
/// (so "gz" does not suggest "bj").
pub fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), *k))
        .filter(|&(d, k)| d <= 1.max(k.len() / 3) && d < k.len().min(word.len()))
        .min()
        .map(|(_, k)| k)
}

/// A number as a person would write it: `1e300`, not three hundred zeros.
pub(super) fn show(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e15 || v.abs() < 1e-6) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A duration for a message: in days when it is a whole number of days
/// (the bounds are), else as the output shows durations.
pub(super) fn show_duration(ns: u64) -> String {
    const DAY: u64 = 86_400 * time::NS_PER_S;
    if ns >= DAY && ns % DAY == 0 {
        format!("{}d", ns / DAY)
    } else {
        time::format_duration(ns.min(i64::MAX as u64) as i64)
    }
}

pub(super) fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn string<'a>(cx: &mut Ctx, n: &'a Node, key: &str) -> Option<&'a str> {
    match &n.val {
        Val::Str(s) => Some(s),
        _ => {
            cx.expected(n, key, "a string");
            None
        }
    }
}

pub(super) fn name(cx: &mut Ctx, n: &Node, key: &str) -> Option<String> {
    let s = string(cx, n, key)?;
    if s.trim().is_empty() {
        cx.err(n.at, key, "expected a non-empty name");
        return None;
    }
    Some(s.to_string())
}

pub(super) fn boolean(cx: &mut Ctx, n: &Node, key: &str) -> Option<bool> {
    match n.val {
        Val::Bool(b) => Some(b),
        _ => {
            cx.expected(n, key, "true or false");
            None
        }
    }
}

/// One of a list of (spelling, value): an enum's table, or names the
/// scenario defines (its regions).
pub(super) fn pick<T: Copy>(cx: &mut Ctx, n: &Node, key: &str, table: &[(&str, T)]) -> Option<T> {
    let s = string(cx, n, key)?;
    if let Some(&(_, v)) = table.iter().find(|(c, _)| *c == s) {
        return Some(v);
    }
    let names: Vec<&str> = table.iter().map(|(c, _)| *c).collect();
    let hint = closest(s, &names)
        .map(|c| format!(" (did you mean \"{c}\"?)"))
        .unwrap_or_default();
    cx.err(
        n.at,
        key,
        format!(
            "unknown value \"{s}\"{hint}; expected one of: {}",
            quoted(&names)
        ),
    );
    None
}

/// A variant of a [`Named`] enum by its spelling.
pub(super) fn choice<T: Named>(cx: &mut Ctx, n: &Node, key: &str) -> Option<T> {
    pick(cx, n, key, T::NAMES)
}

/// The named variant at `t[key]`, or `default` when the key is absent.
pub(super) fn choice_or<T: Named>(
    cx: &mut Ctx,
    t: &Table,
    path: &str,
    key: &str,
    default: T,
) -> Option<T> {
    t.get(key)
        .map_or(Some(default), |v| choice(cx, v, &join(path, key)))
}

fn out_of_range(written: &str, min: i128, max: i128) -> String {
    format!("{written} is out of range: expected an integer from {min} to {max}")
}

/// An integer in `[min, max]`.
pub(super) fn int(cx: &mut Ctx, n: &Node, key: &str, min: i128, max: i128) -> Option<i128> {
    let problem = match n.val {
        Val::Int(v) if v >= min && v <= max => return Some(v),
        Val::Int(v) => out_of_range(&v.to_string(), min, max),
        Val::HugeInt(ref digits) => out_of_range(digits, min, max),
        Val::Float(f) if f.fract() == 0.0 && f >= min as f64 && f <= max as f64 => {
            return Some(f as i128);
        }
        Val::Float(f) if f.fract() == 0.0 || !f.is_finite() => out_of_range(&show(f), min, max),
        Val::Float(f) => format!(
            "expected a whole number (an integer from {min} to {max}), found {}",
            show(f)
        ),
        _ => {
            cx.expected(n, key, &format!("an integer from {min} to {max}"));
            return None;
        }
    };
    cx.err(n.at, key, problem);
    None
}

/// The number as the file wrote it, for messages.
fn written(n: &Node, v: f64) -> String {
    match &n.val {
        Val::HugeInt(digits) => digits.clone(),
        _ => show(v),
    }
}

/// A number of any form, or `None` (reported as `what`) for another type.
/// Beyond `i128` is beyond every bound: the range checks report it.
fn any_number(cx: &mut Ctx, n: &Node, key: &str, what: &str) -> Option<f64> {
    match n.val {
        Val::Int(v) => Some(v as f64),
        Val::Float(f) => Some(f),
        Val::HugeInt(_) => Some(f64::INFINITY),
        _ => {
            cx.expected(n, key, what);
            None
        }
    }
}

/// A finite number (integer or float) in `[min, max]`; `open_min` excludes `min`.
pub(super) fn number(
    cx: &mut Ctx,
    n: &Node,
    key: &str,
    min: f64,
    max: f64,
    open_min: bool,
) -> Option<f64> {
    let v = any_number(cx, n, key, "a number")?;
    let low_ok = if open_min { v > min } else { v >= min };
    if !v.is_finite() || !low_ok || v > max {
        let low = if open_min { "above" } else { "at least" };
        cx.err(
            n.at,
            key,
            format!(
                "{} is out of range: expected a number {low} {} and at most {}",
                written(n, v),
                show(min),
                show(max)
            ),
        );
        return None;
    }
    Some(v)
}

pub(super) fn probability(cx: &mut Ctx, n: &Node, key: &str) -> Option<f64> {
    let v = any_number(cx, n, key, "a fraction from 0 to 1")?;
    if !(0.0..=1.0).contains(&v) {
        cx.err(
            n.at,
            key,
            format!(
                "{} is not a fraction: expected a number from 0 to 1",
                written(n, v)
            ),
        );
        return None;
    }
    Some(v)
}

pub(super) fn signed_duration(cx: &mut Ctx, n: &Node, key: &str) -> Option<i64> {
    match &n.val {
        Val::Str(s) => match time::parse_signed_duration(s) {
            Ok(v) => Some(v),
            Err(e) => {
                cx.err(
                    n.at,
                    key,
                    format!("expected a duration such as \"30ms\": {e}"),
                );
                None
            }
        },
        Val::Int(_) | Val::Float(_) => {
            cx.err(
                n.at,
                key,
                "expected a duration with a unit, as a string such as \"30ms\" or \"2s\"; a bare number has no unit",
            );
            None
        }
        _ => {
            cx.expected(n, key, "a duration such as \"30ms\"");
            None
        }
    }
}

pub(super) fn duration(cx: &mut Ctx, n: &Node, key: &str) -> Option<Nanos> {
    let v = signed_duration(cx, n, key)?;
    if v < 0 {
        cx.err(
            n.at,
            key,
            "expected a duration of 0 or more; a negative duration is not allowed here",
        );
        return None;
    }
    Some(v as Nanos)
}

pub(super) fn positive_duration(cx: &mut Ctx, n: &Node, key: &str) -> Option<Nanos> {
    let v = duration(cx, n, key)?;
    if v == 0 {
        cx.err(n.at, key, "expected a duration above 0");
        return None;
    }
    Some(v)
}

/// Elements of an array of tables (`[[datacenter]]`); a single table is
/// accepted as a one-element array.
pub(super) fn tables<'a>(cx: &mut Ctx, n: &'a Node, key: &str) -> Vec<&'a Node> {
    match &n.val {
        Val::Array(items) => items.iter().collect(),
        Val::Table(_) => vec![n],
        _ => {
            cx.expected(n, key, &format!("an array of tables ([[{key}]])"));
            Vec::new()
        }
    }
}

/// The label of element `i` of an array of tables, by name when it has one:
/// `datacenter.bj`, or `fault.0`. The same form `--set` accepts.
pub(super) fn element_key(array: &str, i: usize, n: &Node) -> String {
    if let Val::Table(t) = &n.val
        && let Some(Node {
            val: Val::Str(s), ..
        }) = t.get("name")
        && !s.is_empty()
        && !s.contains('.')
    {
        return format!("{array}.{s}");
    }
    format!("{array}.{i}")
}

/// Known DC names, for looking up references.
pub(super) struct DcNames<'a>(pub Vec<&'a str>);

impl DcNames<'_> {
    pub fn find(&self, cx: &mut Ctx, n: &Node, key: &str) -> Option<DcId> {
        self.find_or(cx, n, key, None)
    }

    /// A datacenter name, or the word `also` (returned as `None` with no
    /// problem reported) where a key accepts one besides the names.
    pub fn find_or(&self, cx: &mut Ctx, n: &Node, key: &str, also: Option<&str>) -> Option<DcId> {
        let s = string(cx, n, key)?;
        if let Some(i) = self.0.iter().position(|d| *d == s) {
            return Some(DcId(i as u16));
        }
        // With no datacenter named, every reference would fail: the missing
        // datacenters are reported once, where they are read.
        if self.0.is_empty() || also == Some(s) {
            return None;
        }
        let mut known: Vec<&str> = also.into_iter().collect();
        known.extend(&self.0);
        let hint = closest(s, &known)
            .map(|c| format!(" (did you mean \"{c}\"?)"))
            .unwrap_or_default();
        let expected = match also {
            Some(word) => format!(
                "expected \"{word}\" or a datacenter name: {}",
                self.0.join(", ")
            ),
            None => format!("known: {}", self.0.join(", ")),
        };
        cx.err(
            n.at,
            key,
            format!("unknown datacenter \"{s}\"{hint}; {expected}"),
        );
        None
    }

    /// The DC a table key names (`{ bj = ... }`), found at the key's place.
    pub fn find_key(&self, cx: &mut Ctx, dc: &str, at: Origin, key: &str) -> Option<DcId> {
        let node = Node {
            val: Val::Str(dc.to_string()),
            at,
        };
        self.find(cx, &node, key)
    }

    /// `between = ["a", "b"]`: two different DCs.
    pub fn pair(&self, cx: &mut Ctx, n: &Node, key: &str) -> Option<(DcId, DcId)> {
        let Val::Array(items) = &n.val else {
            cx.expected(n, key, "two datacenter names, such as [\"bj\", \"sh\"]");
            return None;
        };
        if items.len() != 2 {
            cx.err(
                n.at,
                key,
                format!(
                    "expected exactly two datacenter names, found {}",
                    items.len()
                ),
            );
            return None;
        }
        let a = self.find(cx, &items[0], key);
        let b = self.find(cx, &items[1], key);
        let (a, b) = (a?, b?);
        if a == b {
            cx.err(
                n.at,
                key,
                format!(
                    "expected two different datacenters, found \"{}\" twice",
                    self.0[a.idx()]
                ),
            );
            return None;
        }
        Some((a, b))
    }
}

/// Shard ranges: `"0-49"`, `"7"`, `"0-9,20-29"`; each shard at most once.
pub(super) fn shard_ranges(cx: &mut Ctx, n: &Node, key: &str, shards: u32) -> Option<Vec<ShardId>> {
    let s = string(cx, n, key)?;
    let mut out = Vec::new();
    let mut listed = vec![false; shards as usize];
    for part in s.split(',') {
        let part = part.trim();
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
            None => (part.parse::<u32>(), part.parse::<u32>()),
        };
        let problem = match (lo, hi) {
            (Ok(lo), Ok(hi)) if lo <= hi && hi < shards => {
                match (lo..=hi).find(|&s| listed[s as usize]) {
                    None => {
                        (lo..=hi).for_each(|s| listed[s as usize] = true);
                        out.extend((lo..=hi).map(ShardId));
                        continue;
                    }
                    Some(twice) => format!(
                        "shard {twice} is listed twice in \"{s}\"; expected each shard once"
                    ),
                }
            }
            (Ok(_), Ok(hi)) if hi >= shards => {
                format!("shard {hi} does not exist: shards are 0 to {}", shards - 1)
            }
            _ => {
                format!("expected shard ranges such as \"0-49\" or \"0-9,20-29\", found \"{part}\"")
            }
        };
        cx.err(n.at, key, problem);
        return None;
    }
    Some(out)
}
