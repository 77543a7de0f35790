//! Finding and loading a scenario: a file, a shipped scenario's name, or
//! the embedded default; overrides from `--set`, `--vary` and `--seed`;
//! the resolved text a run folder keeps; and advice about combinations that
//! are valid but rarely meant.

use std::path::{Path, PathBuf};

use super::tree::{self, Diagnostic, Node, Origin, Val};
use super::{
    Config, DEFAULT_NAME, DEFAULT_SCENARIO, Placement, SHIPPED, ShardKey, resolved, schema,
};

/// Why a scenario could not be found or loaded. Every variant is bad input.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: cannot read the scenario: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
    #[error(
        "{}: no such file, and no shipped scenario of that name{}; shipped: {}",
        escape(name),
        hint.as_ref().map_or_else(String::new, |h| format!(" (did you mean `{h}`?)")),
        shipped_names().join(", ")
    )]
    NotFound { name: String, hint: Option<String> },
    #[error(
        "{}: is a folder, not a scenario file (shipped scenarios: {})",
        escape(path),
        shipped_names().join(", ")
    )]
    IsDir { path: String },
    #[error(
        "{path}:{line}:{column}: not UTF-8 text: invalid byte at offset {offset}; a scenario is TOML, which is UTF-8"
    )]
    NotUtf8 {
        path: String,
        offset: usize,
        line: usize,
        column: usize,
    },
}

fn render(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&d.to_string());
    }
    out
}

impl ScenarioError {
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ScenarioError::Invalid(d) => d,
            _ => &[],
        }
    }
}

/// A value echoed in a message, with control characters (newlines
/// included) escaped so that a message stays one line per problem.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

fn shipped_names() -> Vec<&'static str> {
    SHIPPED.iter().map(|(n, _)| *n).collect()
}

/// An override of a scenario key and the flag it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// `--set`, `--vary` or `--seed`, for messages.
    pub flag: &'static str,
    /// `KEY=VALUE`.
    pub spec: String,
}

impl Override {
    pub fn set(spec: impl Into<String>) -> Self {
        Override {
            flag: "--set",
            spec: spec.into(),
        }
    }

    /// The key, as written before `=`.
    pub fn key(&self) -> &str {
        self.spec.split_once('=').map_or("", |(k, _)| k.trim())
    }
}

/// A scenario's text and where it came from, read once.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// How messages name it: a path, `<shipped scenario eleme>`, `<default scenario>`.
    pub display: String,
    /// The default `simulation.name`.
    pub stem: String,
    pub text: String,
    /// Something the user should know about the lookup (a file shadowed
    /// by a shipped scenario's name).
    pub note: Option<String>,
}

/// Whether a scenario argument is meant as a path rather than a name.
fn looks_like_path(arg: &str) -> bool {
    arg.contains('/')
        || arg.contains(std::path::MAIN_SEPARATOR)
        || arg.starts_with('.')
        || arg.ends_with(".toml")
}

/// Finds the scenario a command line names: the default when none is
/// named; a path when the argument looks like one (has a `/`, starts with
/// `.`, ends in `.toml`); else a shipped scenario of that name; else a file
/// of that name in the current folder.
pub fn find(arg: Option<&str>) -> Result<Scenario, ScenarioError> {
    let Some(arg) = arg else {
        return Ok(Scenario {
            display: "<default scenario>".into(),
            stem: DEFAULT_NAME.into(),
            text: DEFAULT_SCENARIO.into(),
            note: None,
        });
    };
    let path = Path::new(arg);
    if !looks_like_path(arg)
        && let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == arg)
    {
        let note = path.exists().then(|| {
            format!(
                "note: `{arg}` is the shipped scenario; for the {} of that name here, write ./{arg}",
                if path.is_dir() { "folder" } else { "file" }
            )
        });
        return Ok(Scenario {
            display: format!("<shipped scenario {name}>"),
            stem: name.to_string(),
            text: text.to_string(),
            note,
        });
    }
    if path.is_dir() {
        return Err(ScenarioError::IsDir {
            path: arg.to_string(),
        });
    }
    if !path.exists() {
        return Err(ScenarioError::NotFound {
            name: arg.to_string(),
            hint: closest(arg),
        });
    }
    read_file(path)
}

/// The shipped name closest to a misspelt one, if any is close.
fn closest(arg: &str) -> Option<String> {
    let stem = Path::new(arg)
        .file_stem()
        .map_or(arg.to_string(), |s| s.to_string_lossy().into_owned());
    SHIPPED
        .iter()
        .map(|(n, _)| (strsim::damerau_levenshtein(&stem, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4) && *d > 0)
        .min()
        .map(|(_, n)| n.to_string())
}

/// Reads a scenario file; bytes that are not UTF-8 are reported with their
/// offset, line and column.
pub fn read_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let bytes = std::fs::read(path).map_err(|source| ScenarioError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let good = std::str::from_utf8(&e.as_bytes()[..offset]).unwrap_or("");
        let line = good.matches('\n').count() + 1;
        let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ScenarioError::NotUtf8 {
            path: path.display().to_string(),
            offset,
            line,
            column,
        }
    })?;
    let stem = path.file_stem().map_or_else(
        || "scenario".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    Ok(Scenario {
        display: path.display().to_string(),
        stem,
        text,
        note: None,
    })
}

/// A loaded scenario and what was done to it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub overrides: Vec<Override>,
}

impl Scenario {
    /// Validates the scenario with the overrides applied.
    pub fn load(&self, overrides: &[Override]) -> Result<Loaded, ScenarioError> {
        let sets: Vec<String> = overrides.iter().map(|o| o.spec.clone()).collect();
        let flags = overrides.iter().map(|o| o.flag.to_string()).collect();
        let sources =
            tree::Sources::new(self.display.clone(), self.text.clone(), sets).with_flags(flags);
        let config = schema::read(&sources, &self.stem).map_err(|problems| {
            ScenarioError::Invalid(problems.iter().map(|p| sources.diagnose(p)).collect())
        })?;
        Ok(Loaded {
            config,
            overrides: overrides.to_vec(),
        })
    }

    /// The scenario of a loaded run as TOML, overrides applied and the name
    /// and seed written out, so that running the text alone gives the same
    /// configuration. `Err` when it would not (a fault of this function).
    pub fn resolved(&self, loaded: &Loaded) -> Result<String, String> {
        let mut root = tree::parse(&self.text).map_err(|p| p.message)?;
        for (i, o) in loaded.overrides.iter().enumerate() {
            tree::apply_set(&mut root, i, &o.spec).map_err(|p| p.message)?;
        }
        let cfg = &loaded.config;
        // A fault of the file that a shortened run left out (it would start
        // after the run's end) is left out of the resolved file too: the
        // file's own duration would refuse it.
        let end = cfg.duration.saturating_add(cfg.drain);
        if let Some((
            _,
            _,
            Node {
                val: Val::Array(faults),
                ..
            },
        )) = root.entries.iter_mut().find(|(k, _, _)| k == "fault")
        {
            faults.retain(|f| match &f.val {
                Val::Table(t) => !matches!(
                    t.get("at").map(|n| &n.val),
                    Some(Val::Str(s)) if crate::time::parse_duration(s).is_ok_and(|at| at > end)
                ),
                _ => true,
            });
        }
        root.entries
            .retain(|(k, _, n)| !(k == "fault" && matches!(&n.val, Val::Array(a) if a.is_empty())));
        if root.get("simulation").is_none() {
            root.set(
                "simulation",
                Origin::Nowhere,
                node(Val::Table(Default::default())),
            );
        }
        if let Some(Node {
            val: Val::Table(sim),
            ..
        }) = root
            .entries
            .iter_mut()
            .find(|(k, _, _)| k == "simulation")
            .map(|(_, _, n)| n)
        {
            sim.set("name", Origin::Nowhere, node(Val::Str(cfg.name.clone())));
            sim.set("seed", Origin::Nowhere, node(Val::Int(cfg.seed as i128)));
        }
        let text = format!(
            "# The scenario of this run as it ran: its overrides applied, its name and\n# seed written out. `multiactive run scenario.toml` repeats the run's files\n# byte for byte with multiactive {}.\n\n{}",
            env!("CARGO_PKG_VERSION"),
            resolved::to_toml(&root).trim_start()
        );
        let again = Scenario {
            display: "scenario.toml".into(),
            stem: "scenario".into(),
            text: text.clone(),
            note: None,
        }
        .load(&[])
        .map_err(|e| e.to_string())?;
        if again.config != *cfg {
            return Err("the resolved scenario reads back differently".into());
        }
        Ok(text)
    }
}

fn node(val: Val) -> Node {
    Node {
        val,
        at: Origin::Nowhere,
    }
}

impl Loaded {
    /// The overrides as `KEY=VALUE`, one per key (the last one given wins, as
    /// it does when applied), sorted by key: the same overrides in any order
    /// list the same.
    pub fn listed(&self) -> Vec<String> {
        let mut by_key: std::collections::BTreeMap<&str, &str> = Default::default();
        for o in &self.overrides {
            by_key.insert(o.key(), o.spec.as_str());
        }
        by_key.into_values().map(str::to_string).collect()
    }

    /// The overrides that change the configuration beyond its seed (the
    /// seed has its own folder level).
    pub fn changes(&self) -> Vec<String> {
        self.listed()
            .into_iter()
            .filter(|s| s.split_once('=').map(|(k, _)| k.trim()) != Some("simulation.seed"))
            .collect()
    }

    /// Where `run` writes by default: `results/<name>/seed-<seed>/`, or
    /// `results/<name>/set-<hash>/seed-<seed>/` when overrides change the
    /// scenario, so another configuration never overwrites this one.
    pub fn default_folder(&self) -> PathBuf {
        let mut p = PathBuf::from("results").join(&self.config.name);
        let changes = self.changes();
        if !changes.is_empty() {
            p.push(format!(
                "set-{:08x}",
                fnv1a(changes.join("\n").as_bytes()) as u32
            ));
        }
        p.join(format!("seed-{}", self.config.seed))
    }
}

/// FNV-1a, 64 bits: a short, stable name for a list of overrides.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Valid combinations that are rarely meant, each as one sentence.
pub fn advice(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    match (cfg.sharding.key, &cfg.sharding.placement) {
        (ShardKey::Geo, Placement::RoundRobin) => out.push(
            "sharding.key = \"geo\" with placement = \"round_robin\": a region's shards are dealt to every DC in turn, so most users' shards are far from them; placement = \"by_region\" keeps them near".into(),
        ),
        (ShardKey::Hash, Placement::ByRegion) => out.push(
            "sharding.key = \"hash\" with placement = \"by_region\": hashing spreads each region's users over all shards, so placing shards by region does not bring users near theirs; key = \"geo\" does".into(),
        ),
        _ => {}
    }
    out
}

/// Reads and validates a scenario file, with `--set` overrides applied.
pub fn load_file(path: &Path, sets: &[String]) -> Result<Config, ScenarioError> {
    read_file(path)?.load(&as_sets(sets)).map(|l| l.config)
}

/// Validates scenario text. `display` names it in messages; `stem` is the
/// default `simulation.name`.
pub fn load_str(
    display: &str,
    stem: &str,
    text: &str,
    sets: &[String],
) -> Result<Config, ScenarioError> {
    Scenario {
        display: display.into(),
        stem: stem.into(),
        text: text.into(),
        note: None,
    }
    .load(&as_sets(sets))
    .map(|l| l.config)
}

/// The embedded default scenario, with overrides.
pub fn load_default(sets: &[String]) -> Result<Config, ScenarioError> {
    find(None)?.load(&as_sets(sets)).map(|l| l.config)
}

fn as_sets(sets: &[String]) -> Vec<Override> {
    sets.iter().map(Override::set).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_typos() {
        assert_eq!(find(Some("eleme")).unwrap().stem, "eleme");
        match find(Some("elme")) {
            Err(ScenarioError::NotFound { hint, .. }) => assert_eq!(hint.as_deref(), Some("eleme")),
            other => panic!("{other:?}"),
        }
        match find(Some("zzzzzzzzzz")) {
            Err(ScenarioError::NotFound { hint, .. }) => assert_eq!(hint, None),
            other => panic!("{other:?}"),
        }
        assert!(
            looks_like_path("./eleme") && looks_like_path("x.toml") && !looks_like_path("eleme")
        );
        assert_eq!(escape("a\nb\"|"), "a\\nb\"|");
        assert_eq!(escape("\u{7}"), "\\u{7}");
    }

    #[test]
    fn overrides_are_listed_once_per_key_in_key_order() {
        let l = find(None)
            .unwrap()
            .load(&[
                Override::set("workload.rate=100"),
                Override::set("simulation.seed=3"),
                Override::set("replication.mode=quorum"),
                Override::set("workload.rate=200"),
            ])
            .unwrap();
        assert_eq!(
            l.listed(),
            [
                "replication.mode=quorum",
                "simulation.seed=3",
                "workload.rate=200"
            ]
        );
        assert_eq!(l.changes().len(), 2);
        let f = l.default_folder();
        let f = f.to_string_lossy();
        assert!(
            f.starts_with("results/default/set-") && f.ends_with("/seed-3"),
            "{f}"
        );
        let plain = find(None)
            .unwrap()
            .load(&[Override::set("simulation.seed=3")])
            .unwrap();
        assert_eq!(
            plain.default_folder(),
            PathBuf::from("results/default/seed-3")
        );
    }

    #[test]
    fn every_shipped_scenario_resolves_to_itself() {
        for (name, _) in SHIPPED {
            let sc = find(Some(name)).unwrap();
            let l = sc.load(&[Override::set("workload.rate=123.5")]).unwrap();
            sc.resolved(&l).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
