//! The integration tests, in one binary: one link step instead of a dozen,
//! which is most of what a from-scratch `cargo test` waits for.
//!
//! Each module is a behaviour area: whole runs through the library or the
//! binary, closed forms, hand-computed scenarios and property tests.

mod bad_input;
mod cli;
mod common;
mod compaction;
mod datasets;
mod determinism;
mod docs;
mod expect;
mod explore;
mod failover;
mod failover_props;
mod fence;
mod fuzz;
mod global_data;
mod golden;
mod invariants;
mod mechanisms;
mod memory;
mod overload;
mod plots;
mod queueing;
mod reference;
mod replication;
mod replication_props;
mod robust;
mod routing;
mod scenario_claims;
mod scenarios;
mod sweep;
mod traffic;
