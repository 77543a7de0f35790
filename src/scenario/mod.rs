//! Scenario files: TOML text → a validated, typed [`Config`].
//!
//! `tree` parses the text into values that remember their location (and
//! applies `--set` overrides); `schema` reads that tree into a `Config`,
//! the top level and `[simulation]` itself and each other section through
//! its own file (`topology`, `workload`, `sharding`, `control`, `faults`),
//! which holds the section's keys, defaults (with reasons), types and
//! reader. `readers` is their shared kit, `keys` the key reference they
//! are checked against (`multiactive keys`), `dist` the latency
//! distributions and `dist_table` how a scenario writes them. Every problem
//! is collected with its file, line, column and key. The model never
//! re-checks what this module has accepted.

pub mod capacity;
pub mod control;
pub mod dist;
pub mod dist_table;
pub mod faults;
pub mod keys;
pub mod profile;
pub mod readers;
pub mod schema;
pub mod sharding;
pub mod topology;
pub mod tree;
pub mod workload;

use std::path::Path;

pub use control::{
    Entry, FailoverConfig, FailoverTarget, OnWrongDc, Procedure, ReplMode, ReplicationConfig,
    Resolve, RoutingConfig,
};
pub use dist::Dist;
pub use dist_table::DistKind;
pub use faults::{FaultConfig, FaultKind, FaultType};
pub use keys::{explain, reference};
pub use profile::Profile;
pub use readers::Named;
pub use schema::{MAX_CLOCK_OFFSET, MAX_RUN};
pub use sharding::{GlobalReads, Placement, PlacementRule, ShardKey, ShardingConfig};
pub use topology::{DcConfig, LinkConfig, RegionConfig};
pub use tree::Diagnostic;
pub use workload::{Popularity, ScriptedRequest, WorkloadConfig};

use crate::ids::DcId;
use crate::time::Nanos;

/// The scenario `run` uses when none is named: three regions, three DCs.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/default.toml");
/// The name shown for the embedded default scenario.
pub const DEFAULT_NAME: &str = "default";

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: cannot read the scenario: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
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
            ScenarioError::Io { .. } => &[],
        }
    }
}

/// Reads and validates a scenario file, with `--set` overrides applied.
pub fn load_file(path: &Path, sets: &[String]) -> Result<Config, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let stem = path.file_stem().map_or_else(
        || "scenario".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    load_str(&path.display().to_string(), &stem, &text, sets)
}

/// Validates scenario text. `display` names it in messages; `stem` is the
/// default `simulation.name`.
pub fn load_str(
    display: &str,
    stem: &str,
    text: &str,
    sets: &[String],
) -> Result<Config, ScenarioError> {
    let sources = tree::Sources::new(display, text, sets.to_vec());
    schema::read(&sources, stem).map_err(|problems| {
        ScenarioError::Invalid(problems.iter().map(|p| sources.diagnose(p)).collect())
    })
}

/// The embedded default scenario, with overrides.
pub fn load_default(sets: &[String]) -> Result<Config, ScenarioError> {
    load_str("<default scenario>", DEFAULT_NAME, DEFAULT_SCENARIO, sets)
}

// ---------------------------------------------------------------------------
// The typed configuration. Every field is valid by construction; each
// section's types stand beside their reader.

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub name: String,
    pub seed: u64,
    pub duration: Nanos,
    pub drain: Nanos,
    pub bucket: Nanos,
    pub datacenters: Vec<DcConfig>,
    pub links: Vec<LinkConfig>,
    pub regions: Vec<RegionConfig>,
    pub workload: WorkloadConfig,
    pub sharding: ShardingConfig,
    pub routing: RoutingConfig,
    pub replication: ReplicationConfig,
    pub failover: FailoverConfig,
    pub faults: Vec<FaultConfig>,
    /// Requests at fixed times (`[[request]]`), in file order.
    pub requests: Vec<ScriptedRequest>,
}

impl Config {
    pub fn dc_id(&self, name: &str) -> Option<DcId> {
        self.datacenters
            .iter()
            .position(|d| d.name == name)
            .map(|i| DcId(i as u16))
    }
}

/// The scenarios shipped with the binary: name and text.
pub const SHIPPED: &[(&str, &str)] = &[
    (DEFAULT_NAME, DEFAULT_SCENARIO),
    ("eleme", include_str!("../../scenarios/eleme.toml")),
    ("ant-ldc", include_str!("../../scenarios/ant-ldc.toml")),
    (
        "ant-ldc-async-variant",
        include_str!("../../scenarios/ant-ldc-async-variant.toml"),
    ),
    (
        "tencent-qq",
        include_str!("../../scenarios/tencent-qq.toml"),
    ),
    ("msha", include_str!("../../scenarios/msha.toml")),
    (
        "alibaba-units",
        include_str!("../../scenarios/alibaba-units.toml"),
    ),
    (
        "facebook-master",
        include_str!("../../scenarios/facebook-master.toml"),
    ),
    (
        "dual-active-standby",
        include_str!("../../scenarios/dual-active-standby.toml"),
    ),
];

/// The first comment line of a scenario, as its one-line description.
pub fn first_comment_line(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix('#').map(str::trim))
        .unwrap_or("")
}
