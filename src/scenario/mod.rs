//! Scenario files: TOML text → a validated, typed [`Config`].
//!
//! `load` finds a scenario (a file, a shipped name, the default) and loads
//! it with its overrides; `tree` parses the text into values that remember
//! their location (and applies `--set` overrides); `resolved` writes such a
//! tree back as TOML; `schema` reads that tree into a `Config`,
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
pub mod datasets;
pub mod dist;
pub mod dist_table;
pub mod expect;
pub mod faults;
pub mod keys;
pub mod load;
pub mod profile;
pub mod readers;
pub mod resolved;
pub mod schema;
pub mod sharding;
pub mod topology;
pub mod tree;
pub mod workload;

pub use control::{
    Entry, FailoverConfig, FailoverTarget, Fence, OnWrongDc, Procedure, ReplMode,
    ReplicationConfig, Resolve, RoutingConfig,
};
pub use datasets::{DataSharding, DatasetConfig, GlobalData};
pub use dist::Dist;
pub use dist_table::DistKind;
pub use faults::{FaultConfig, FaultKind, FaultType};
pub use keys::{explain, reference};
pub use load::{
    Loaded, Override, Scenario, ScenarioError, advice, find, load_default, load_file, load_str,
};
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
    /// `[[dataset]]`s in file order; empty: the sharded data is one dataset.
    pub datasets: Vec<DatasetConfig>,
    pub routing: RoutingConfig,
    pub replication: ReplicationConfig,
    pub failover: FailoverConfig,
    pub faults: Vec<FaultConfig>,
    /// Requests at fixed times (`[[request]]`), in file order.
    pub requests: Vec<ScriptedRequest>,
    /// Promises checked after the run (`[[expect]]`), in file order.
    pub expect: Vec<expect::Expectation>,
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
