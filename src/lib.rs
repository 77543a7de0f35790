//! # multiactive
//!
//! A deterministic discrete-event simulator of multi-datacenter
//! active-active ("multi-active", unitized) systems.
//!
//! ## Architecture
//!
//! Data flows one way: a scenario file becomes a typed [`scenario::Config`];
//! the [`model`] builds a world from it and runs it on the [`kernel`]; the
//! world streams what happens into [`metrics`]; [`output`] turns the finished
//! metrics into files. Nothing points back up this chain.
//!
//! - [`time`]: `SimTime`, integer nanoseconds, and the duration syntax.
//! - [`ids`]: small copyable ids (`DcId`, `RegionId`, `ShardId`).
//! - [`kernel`]: the `(time, seq)`-ordered event queue and per-component
//!   ChaCha streams. Generic over the event type; knows no datacenters.
//! - [`scenario`]: TOML → located tree (with `--set` overrides) → validated
//!   `Config`. Every problem carries file, line, column and key.
//! - [`model`]: the simulated world: topology, workload, sharding, routing,
//!   storage, replication, faults, failover, datacenter servers; one `Event`
//!   enum and one `World::handle`.
//! - [`metrics`]: counters, HDR latency histograms and time buckets. Memory
//!   does not grow with simulated time except one bucket row per DC per bucket.
//! - [`output`]: the files of a run — CSV tables, plots (`plot`, from the
//!   CSVs, so `multiactive plot` redraws them) and `report.md` (`report`) —
//!   each written to a temporary name and renamed into place.
//! - [`commands`]: what each command does, as library functions (the
//!   scenario lookup, the output folder, run and write); [`error`]: errors
//!   by cause and their exit statuses; [`progress`]: a bar on a terminal,
//!   occasional lines elsewhere. `main.rs` only parses flags.
//! - [`sweep`]: the cross product of varied keys and seeds, run in parallel
//!   (rayon; each run single-threaded), resumable, shardable and mergeable;
//!   its tables, comparison plots and report.
//! - [`explore`]: a search over fault schedules for one that breaks the
//!   scenario's `[[expect]]` entries (or is worst by a metric), shrunk to a
//!   runnable `worst.toml`.

pub mod commands;
pub mod error;
pub mod explore;
pub mod ids;
pub mod kernel;
pub mod metrics;
pub mod model;
pub mod output;
pub mod progress;
pub mod scenario;
pub mod sweep;
pub mod time;

pub use error::{Error, ExitStatus};
pub use model::{Outcome, run};
