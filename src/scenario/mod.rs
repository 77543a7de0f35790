//! Scenario files: TOML text → a validated, typed [`Config`].
//!
//! `tree` parses the text into values that remember their location (and
//! applies `--set` overrides), `schema` reads that tree key by key into a
//! `Config`, collecting every problem with its file, line, column and key,
//! and `dist` holds the latency distributions. The model never re-checks what
//! this module has accepted.

pub mod dist;
pub mod expect;
pub mod schema;
pub mod tree;

use std::fmt;
use std::path::Path;

pub use dist::Dist;
pub use tree::Diagnostic;

use crate::ids::{DcId, RegionId, ShardId};
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
// The typed configuration. Every field is valid by construction.

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
    /// Promises checked after the run (`[[expect]]`), in file order.
    pub expect: Vec<expect::Expectation>,
}

/// A request the scenario places at a fixed time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedRequest {
    pub at: Nanos,
    pub region: RegionId,
    /// A user of the sharded dataset, or a key of the global one.
    pub key: u32,
    pub write: bool,
    pub global: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DcConfig {
    pub name: String,
    pub region: String,
    /// `None`: unlimited servers (no queueing).
    pub servers: Option<u32>,
    pub service_time: Dist,
    /// Waiting room beyond busy servers; `None`: unlimited.
    pub queue: Option<u32>,
    /// Signed offset of the DC's clock, in nanoseconds.
    pub clock_skew: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    pub a: DcId,
    pub b: DcId,
    pub latency: Dist,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RegionConfig {
    pub name: String,
    /// Share of users, normalised so that the shares sum to 1.
    pub share: f64,
    /// One-way latency to each DC, indexed by `DcId`; `None`: unreachable.
    pub latency: Vec<Option<Dist>>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Popularity {
    Uniform,
    Zipf { s: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadConfig {
    pub keys: u64,
    pub rate: f64,
    pub writes: f64,
    pub popularity: Popularity,
    pub global: f64,
    pub global_writes: f64,
    pub global_keys: u64,
    /// Fraction of a user's requests that come from the user's home region;
    /// the rest come from a region drawn by the regions' shares.
    pub locality: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardKey {
    Hash,
    Range,
    Geo,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    RoundRobin,
    ByRegion,
    /// The owner of each shard, indexed by shard.
    Table(Vec<DcId>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalReads {
    Owner,
    Local,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShardingConfig {
    pub key: ShardKey,
    pub shards: u32,
    pub placement: Placement,
    pub global_owner: DcId,
    pub global_reads: GlobalReads,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Nearest,
    Owner,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnWrongDc {
    Forward,
    ServeLocal,
    Reject,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoutingConfig {
    pub entry: Entry,
    pub on_wrong_dc: OnWrongDc,
    pub write_guard: bool,
    pub propagation: Dist,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplMode {
    Async,
    SemiSync,
    Quorum,
    Sync,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolve {
    Lww,
    OriginPriority,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReplicationConfig {
    pub mode: ReplMode,
    pub resolve: Resolve,
    /// How long a write waits for the remote acks its mode needs before it
    /// fails (it stays applied at its origin and replicates).
    pub ack_timeout: Nanos,
    /// Writes per second one stream applies; `None`: unlimited.
    pub apply_rate: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Procedure {
    Switch,
    BanThenSwitch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverTarget {
    Nearest,
    Dc(DcId),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FailoverConfig {
    pub auto: bool,
    pub detect_after: Nanos,
    pub decide_after: Nanos,
    pub procedure: Procedure,
    pub max_ban: Nanos,
    pub target: FailoverTarget,
    pub failback: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    DcDown { dc: DcId },
    LinkDown { a: DcId, b: DcId },
    Partition { groups: Vec<Vec<DcId>> },
    SlowLink { a: DcId, b: DcId, factor: f64 },
    ReplicationStall { from: DcId, to: DcId },
    ClockJump { dc: DcId, by: i64 },
    Switchover { shards: Vec<ShardId>, to: DcId },
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::DcDown { .. } => "dc_down",
            FaultKind::LinkDown { .. } => "link_down",
            FaultKind::Partition { .. } => "partition",
            FaultKind::SlowLink { .. } => "slow_link",
            FaultKind::ReplicationStall { .. } => "replication_stall",
            FaultKind::ClockJump { .. } => "clock_jump",
            FaultKind::Switchover { .. } => "switchover",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FaultConfig {
    pub kind: FaultKind,
    pub at: Nanos,
    /// `None`: lasts to the end of the run.
    pub duration: Option<Nanos>,
}

impl Config {
    pub fn dc_id(&self, name: &str) -> Option<DcId> {
        self.datacenters
            .iter()
            .position(|d| d.name == name)
            .map(|i| DcId(i as u16))
    }
}

impl fmt::Display for ReplMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplMode::Async => "async",
            ReplMode::SemiSync => "semi_sync",
            ReplMode::Quorum => "quorum",
            ReplMode::Sync => "sync",
        })
    }
}

/// The scenarios shipped with the binary: name and text.
pub const SHIPPED: &[(&str, &str)] = &[
    (DEFAULT_NAME, DEFAULT_SCENARIO),
    ("eleme", include_str!("../../scenarios/eleme.toml")),
    ("ant-ldc", include_str!("../../scenarios/ant-ldc.toml")),
    (
        "ant-ldc-paxos",
        include_str!("../../scenarios/ant-ldc-paxos.toml"),
    ),
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
