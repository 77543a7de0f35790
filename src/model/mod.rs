//! The simulated world. `World` (in `world`) owns the parts and hands the
//! one `Event` enum to the room that handles it (request path, service and
//! response, acknowledgements, end-of-run audit); each part owns its state
//! and its random streams:
//!
//! - `topology`: DCs, links (petgraph), shortest paths, link latencies;
//! - `workload`: arrivals, key popularity, read/write mix, home regions;
//! - `sharding`: key → shard, placement (shard → first owner);
//! - `keyspace`: each dataset's stored keys, and the unit a key belongs to;
//! - `routing`: table copies, routers and write guards;
//! - `datacenter`: servers and waiting rooms;
//! - `storage`: each DC's copy of every key, conflict detection and resolution;
//! - `replication`: per-(source, destination) streams pulling from each DC's log;
//! - `faults`: the fault timeline, stalled streams and clock offsets;
//! - `controller`: the failover controller, owned by the world: the
//!   detector's decisions, shard moves (table versions, bans, switches),
//!   RPO and RTO records;
//! - `checker`: invariants checked during every run.
//!
//! The model reads a validated `Config` and writes into `metrics`; it never
//! formats output.

pub mod checker;
pub mod controller;
pub mod datacenter;
pub mod faults;
pub mod footprint;
pub mod keyspace;
pub mod replication;
pub mod routing;
pub mod sharding;
pub mod storage;
pub mod topology;
pub mod workload;
pub mod world;

pub use crate::metrics::Outcome;
pub use world::{Event, World};

use crate::kernel::{EventQueue, run_until};
use crate::scenario::Config;

/// Stable ids of the random-number streams, one per component. A new
/// component takes a new id; existing ids never change, so adding a
/// component does not shift any other component's draws.
pub mod rng_ids {
    pub const ARRIVALS: u64 = 1;
    pub const REQUESTS: u64 = 2;
    /// The control plane's pushes of routing-table versions.
    pub const PROPAGATION: u64 = 3;
    /// DNS's random choice of entry DC (`routing.entry = "random"`).
    pub const DNS: u64 = 4;
    /// Which dataset a sharded request touches (drawn only with several).
    pub const DATASETS: u64 = 16;
    const SERVICE: u64 = 1 << 32;
    const LINK: u64 = 2 << 32;
    const ACCESS: u64 = 3 << 32;

    pub fn service(dc: usize) -> u64 {
        SERVICE + dc as u64
    }
    pub fn link_direction(dir: u32) -> u64 {
        LINK + dir as u64
    }
    pub fn access(region: usize, dc: usize) -> u64 {
        ACCESS + ((region as u64) << 16) + dc as u64
    }
}

/// How often (in events) a run reports progress.
const PROGRESS_EVERY: u64 = 1 << 18;

/// Runs a scenario to the end of its drain.
pub fn run(cfg: &Config) -> Outcome {
    run_with_progress(cfg, &mut |_| {})
}

/// Runs a scenario, calling `progress` with the fraction of simulated time
/// done every few hundred thousand events.
pub fn run_with_progress(cfg: &Config, progress: &mut dyn FnMut(f64)) -> Outcome {
    run_streaming(cfg, None, progress)
}

/// Runs a scenario; with `series`, the time series streams into it as
/// buckets close instead of staying in `Outcome::metrics`, so memory does
/// not grow with simulated duration. The events are the same either way.
pub fn run_streaming(
    cfg: &Config,
    series: Option<Box<dyn crate::metrics::SeriesSink>>,
    progress: &mut dyn FnMut(f64),
) -> Outcome {
    let mut world = World::new(cfg);
    if let Some(s) = series {
        world.metrics.stream_to(s);
    }
    let mut queue = EventQueue::with_capacity(1024);
    world.start(&mut queue);
    let end = world.end();
    let mut events = 0;
    loop {
        let until = end.min(world.metrics.flush_horizon());
        let handled = run_until(&mut world, &mut queue, until, PROGRESS_EVERY);
        events += handled;
        let done_to = if handled < PROGRESS_EVERY {
            until
        } else {
            queue.now()
        };
        // The backlog of the closes about to be written out, first.
        world.sample_backlog(done_to);
        world.metrics.advance(done_to);
        progress(queue.now().ns() as f64 / end.ns().max(1) as f64);
        if handled < PROGRESS_EVERY && until >= end {
            break;
        }
    }
    events += world.settle(&mut queue);
    events += world.cancelled_events();
    Outcome {
        scenario: cfg.name.clone(),
        seed: cfg.seed,
        dc_names: cfg.datacenters.iter().map(|d| d.name.clone()).collect(),
        servers: cfg.datacenters.iter().map(|d| d.servers).collect(),
        traffic_end: world.traffic_end(),
        end,
        events,
        metrics: world.metrics,
    }
}
