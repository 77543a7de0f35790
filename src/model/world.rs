//! The world: owns every part of the model, defines the one `Event` enum and
//! hands each event to the room that handles it.
//!
//! A request's life: it arrives from a user region, crosses the region's
//! latency to its entry DC, whose router serves it, forwards it to the
//! owner (over the DC network) or rejects it (`request`); at the serving DC
//! it waits for a server and executes, and its response travels back to the
//! entry DC and the user (`serve`); a write is appended to the DC's
//! replication log and, in the synchronous modes, waits for remote acks
//! (`acks`). After the drain, `audit` takes the final measurements. DC
//! deaths and returns are handled here; what the control plane does about
//! them is the `Controller`'s, and every invariant is watched by the
//! `Checker`.

pub(crate) mod acks;
mod audit;
mod backlog;
mod prefetch;
mod request;
mod serve;
#[cfg(test)]
mod tests;

pub use request::ReqHandle;

use self::acks::Acks;
use self::audit::UnackedWrite;
use self::request::{Edges, Slab};
use super::checker::Checker;
use super::controller::{Controller, ControllerOptions};
use super::datacenter::Servers;
use super::faults::{FaultEdge, Faults};
use super::keyspace::{KeySpace, global_reads, global_writers, resolve_rules};
use super::replication::{ApplyAt, Head, Replication};
use super::rng_ids;
use super::routing::{Holder, Routing, RoutingTable};
use super::sharding::{Sharding, initial_owners};
use super::storage::{Applied, Storage};
use super::topology::Topology;
use super::workload::{RequestSpec, Workload};
use crate::ids::{DcId, FaultId, MoveId, StreamId};
use crate::kernel::{EventQueue, Model, stream};
use crate::metrics::{FailureRecord, Metrics};
use crate::scenario::{Config, FaultKind, Fence, ScriptedRequest};
use crate::time::{Nanos, SimTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next request arrives from the workload.
    Arrival,
    /// The scenario's `[[request]]` number `number` arrives.
    Scripted {
        number: u32,
    },
    /// Request `req` reaches DC `dc`'s router.
    Reach {
        req: ReqHandle,
        dc: DcId,
    },
    /// A server at `dc` finished executing request `req`.
    Served {
        req: ReqHandle,
        dc: DcId,
    },
    /// A replication stream applies its head entry.
    ReplApply {
        stream: StreamId,
        epoch: u32,
    },
    /// A remote DC's ack reaches the origin of request `req`'s write;
    /// `near`: from the origin's region, counted apart (see `acks`).
    Ack {
        req: ReqHandle,
        near: bool,
    },
    /// Request `req`'s write, accepted at `dc`, gives up waiting for acks.
    /// (A timer of `dc`'s lane in the queue: see `acks`.)
    AckTimeout {
        req: ReqHandle,
        dc: DcId,
    },
    FaultStarts {
        fault: FaultId,
    },
    FaultHeals {
        fault: FaultId,
    },
    /// A routing-table version reaches a holder.
    TableArrives {
        holder: Holder,
        version: u32,
    },
    /// The detector notices that the DC `fault` took down died.
    DetectDown {
        fault: FaultId,
    },
    /// The detector notices that the DC `fault` took down is back.
    DetectUp {
        fault: FaultId,
    },
    /// The controller starts move `mv`.
    Act {
        mv: MoveId,
    },
    /// Move `mv`'s write ban has reached every live DC.
    BanReady {
        mv: MoveId,
    },
    /// Move `mv` has waited `max_ban`.
    BanDeadline {
        mv: MoveId,
    },
    /// The push of table `version` to `dc` has not been confirmed within
    /// `routing.push_timeout`.
    PushTimeout {
        dc: DcId,
        version: u32,
    },
}

pub struct World {
    n_dcs: usize,
    traffic_end: SimTime,
    end: SimTime,
    /// Where each dataset's keys lie in storage.
    keys: KeySpace,
    /// `[[dataset]]`s (1 without any): `workload.global`'s dataset number.
    n_datasets: u8,
    topology: Topology,
    workload: Workload,
    sharding: Sharding,
    routing: Routing,
    storage: Storage,
    repl: Replication,
    faults: Faults,
    servers: Vec<Servers>,
    /// Where users enter: access latencies, each region's nearest DC.
    edges: Edges,
    requests: Slab,
    acks: Acks,
    /// Writes applied at their origin whose client never got an ack.
    /// Grows only with failures.
    unacked: Vec<UnackedWrite>,
    scripted: Vec<ScriptedRequest>,
    /// Faults holding each DC down; a DC is up when 0.
    down: Vec<u32>,
    controller: Controller,
    checker: Checker,
    /// `replication.max_lag`: writes wait for no stream lagging beyond it.
    max_lag: Option<Nanos>,
    /// Per dataset (the `[[dataset]]`s, then `workload.global`'s): whether the lag
    /// ban refuses its writes.
    lag_ban: Vec<bool>,
    /// Under `failover.fence = "record"`: per stored key, when it was last
    /// written anywhere (ns, 0: never); empty otherwise.
    last_written: Vec<u64>,
    pub metrics: Metrics,
    /// The next bucket close at which each DC's oldest unapplied write is
    /// sampled (`backlog`).
    next_sample: u64,
    /// `replication.election_timeout`: a dead leader's units elect a new
    /// one after it; `None`, the data layer follows the traffic switch.
    election: Option<crate::time::Nanos>,
    /// Per unit (each shard, then each global dataset): when its data
    /// leader exists again after the last election began.
    leader_at: Vec<SimTime>,
}

/// The parts of the world the controller (and the replication code shared
/// by world and controller) work on: a view of borrowed fields.
pub struct Parts<'a> {
    pub routing: &'a mut Routing,
    pub repl: &'a mut Replication,
    pub storage: &'a mut Storage,
    pub topology: &'a mut Topology,
    pub sharding: &'a Sharding,
    pub keys: &'a KeySpace,
    /// Faults holding each DC down.
    pub down: &'a [u32],
    pub metrics: &'a mut Metrics,
    pub checker: &'a mut Checker,
}

impl Parts<'_> {
    #[inline]
    pub fn is_up(&self, dc: DcId) -> bool {
        self.down[dc.idx()] == 0
    }

    /// Ships what a stream has not shipped yet, and schedules its head.
    #[inline]
    pub fn ship(&mut self, stream: StreamId, now: SimTime, queue: &mut EventQueue<Event>) {
        ship(self.repl, self.topology, stream, now, queue);
    }

    /// Applies a stream's head entry at its destination (see
    /// `Replica::apply`).
    #[inline]
    pub fn apply_replicated(&mut self, now: SimTime, stream: StreamId, head: Head) -> Applying {
        Replica {
            repl: self.repl,
            storage: self.storage,
            metrics: self.metrics,
            checker: self.checker,
            keys: self.keys,
        }
        .apply(now, stream, head)
    }
}

/// The parts of the world a replicated apply touches: a view of borrowed
/// fields, narrower than `Parts` so that the stream path builds it from
/// the world's own fields.
struct Replica<'a> {
    repl: &'a mut Replication,
    storage: &'a mut Storage,
    metrics: &'a mut Metrics,
    checker: &'a mut Checker,
    keys: &'a KeySpace,
}

impl Replica<'_> {
    /// Applies a stream's head entry at its destination, by the stream or
    /// by a failover's recovery alike: counts it, its lag and (once per
    /// write) its conflict, and checks FIFO order (entries log compaction
    /// superseded are skipped).
    #[inline(always)]
    fn apply(self, now: SimTime, stream: StreamId, head: Head) -> Applying {
        let (src, dst) = self.repl.ends(stream);
        if head.from != head.index {
            self.checker.superseded(stream, head.from, head.index);
        }
        let index = head.index;
        self.checker.applied(stream, index);
        let (logged, outcome) = self.repl.apply(self.storage, src, dst, index);
        // Read in place (a copy just made would be read back through
        // memory, a stalled store-to-load forward).
        let (written, key, waiting) = (logged.written, logged.write.key, logged.waiting);
        let metrics = self.metrics;
        metrics.totals.replicated += 1;
        metrics.record_lag(src, dst, now, now.since(written));
        if matches!(outcome, Applied::ConflictWon | Applied::ConflictLost)
            && !self.repl.mark_conflicted(src, index)
        {
            let d = self.keys.dataset_of(key);
            metrics.datasets[d].conflicts += 1;
            metrics.totals.conflicts += 1;
            metrics.at(now, dst).conflicts += 1;
        }
        Applying { key, waiting }
    }
}

/// What the caller of an apply needs of the entry applied: its key and the
/// request waiting for its acks (16 bytes, returned in registers, where the
/// whole 56-byte entry went through memory).
#[derive(Clone, Copy, Debug)]
pub struct Applying {
    pub key: u32,
    pub waiting: Option<ReqHandle>,
}

/// Ships what a stream has not shipped yet, drawing each entry's network
/// delay, and schedules its head.
#[inline]
fn ship(
    repl: &mut Replication,
    topology: &mut Topology,
    stream: StreamId,
    now: SimTime,
    queue: &mut EventQueue<Event>,
) {
    let (src, dst) = repl.ends(stream);
    if let Some(a) = repl.ship(stream, now, || topology.sample(src, dst)) {
        schedule_apply(queue, a);
    }
}

/// A stream's next apply goes in the stream's own slot beside the heap:
/// it has at most one pending. (In the heap, a 9-DC mesh's 72 streams
/// made it 172 entries deep instead of 100; in the slots, that mesh ran
/// 7% faster.)
#[inline]
fn schedule_apply(queue: &mut EventQueue<Event>, a: ApplyAt) {
    queue.schedule_in_slot(
        a.stream.idx(),
        a.at,
        Event::ReplApply {
            stream: a.stream,
            epoch: a.epoch,
        },
    );
}

impl World {
    pub fn new(cfg: &Config) -> World {
        let n = cfg.datacenters.len();
        let sharding = Sharding::new(cfg);
        let key_space = KeySpace::new(cfg);
        let table = RoutingTable::new(initial_owners(cfg, &sharding), global_writers(cfg));
        let shards = sharding.shards() as usize;
        let traffic_end = SimTime(cfg.duration);
        let end = traffic_end.after(cfg.drain);
        let names: Vec<&str> = cfg.datacenters.iter().map(|d| d.name.as_str()).collect();
        let n_datasets = cfg.datasets.len().max(1);
        let keys = key_space.total();
        let globals = key_space.globals();
        let mut storage = Storage::new(&names, keys, cfg.replication.resolve);
        storage.set_rules(resolve_rules(cfg, &key_space));
        storage.expect_writes(
            (cfg.workload.rate * cfg.workload.writes * cfg.duration as f64 / 1e9) as u64,
        );
        let routing = Routing::new(&cfg.routing, global_reads(cfg), table, n, cfg.regions.len());
        let mut routing = routing;
        routing.set_shard_reads(cfg.sharding.reads);
        let mut metrics = Metrics::new(n, end, cfg.bucket);
        metrics.datasets = vec![Default::default(); n_datasets + 1];
        metrics.dataset_names = cfg.datasets.iter().map(|d| d.name.clone()).collect();
        metrics.failures = cfg
            .faults
            .iter()
            .map(|f| FailureRecord::new(f, &names))
            .collect();
        let controller = Controller::new(ControllerOptions {
            failover: cfg.failover.clone(),
            mode: acks::takeover_mode(cfg),
            dc_names: cfg.datacenters.iter().map(|d| d.name.clone()).collect(),
            propagation: cfg.routing.propagation.clone(),
            propagation_rng: stream(cfg.seed, rng_ids::PROPAGATION),
            shards,
            globals,
            push_timeout: cfg.routing.push_timeout,
            push_retries: cfg.routing.push_retries,
            n_dcs: n,
        });
        let mut world = World {
            n_dcs: n,
            traffic_end,
            end,
            keys: key_space,
            n_datasets: n_datasets as u8,
            topology: Topology::new(cfg),
            workload: Workload::new(cfg),
            sharding,
            routing,
            storage,
            repl: Replication::new(n, 2 * n, cfg.replication.apply_rate)
                .with_delay(cfg.replication.delay)
                .compacting(cfg.replication.compact_after, keys),
            faults: Faults::new(cfg),
            servers: cfg
                .datacenters
                .iter()
                .enumerate()
                .map(|(d, dc)| Servers::new(dc, cfg.seed, rng_ids::service(d)))
                .collect(),
            edges: Edges::new(cfg),
            requests: Slab::default(),
            acks: Acks::new(cfg),
            unacked: Vec::new(),
            scripted: cfg.requests.clone(),
            down: vec![0; n],
            controller,
            checker: Checker::new(n),
            max_lag: cfg.replication.max_lag,
            lag_ban: {
                let mut v: Vec<bool> = cfg.datasets.iter().map(|d| d.lag_ban).collect();
                v.resize(n_datasets + 1, true);
                v
            },
            last_written: if cfg.failover.fence == Fence::Record {
                vec![0; keys as usize]
            } else {
                Vec::new()
            },
            metrics,
            next_sample: cfg.bucket,
            election: cfg.replication.election_timeout,
            leader_at: vec![SimTime::ZERO; shards + globals],
        };
        world.edges.refresh_nearest();
        world
    }

    #[inline]
    fn is_up(&self, dc: DcId) -> bool {
        self.down[dc.idx()] == 0
    }

    /// The controller and the view of the parts it works on.
    #[inline]
    fn split(&mut self) -> (&mut Controller, Parts<'_>) {
        (
            &mut self.controller,
            Parts {
                routing: &mut self.routing,
                repl: &mut self.repl,
                storage: &mut self.storage,
                topology: &mut self.topology,
                sharding: &self.sharding,
                keys: &self.keys,
                down: &self.down,
                metrics: &mut self.metrics,
                checker: &mut self.checker,
            },
        )
    }

    /// The parts a replicated apply touches (see `Replica`).
    #[inline]
    fn replica(&mut self) -> Replica<'_> {
        Replica {
            repl: &mut self.repl,
            storage: &mut self.storage,
            metrics: &mut self.metrics,
            checker: &mut self.checker,
            keys: &self.keys,
        }
    }

    /// The instant the drain ends.
    pub fn end(&self) -> SimTime {
        self.end
    }

    pub fn traffic_end(&self) -> SimTime {
        self.traffic_end
    }

    /// Events of the run that were dropped unhandled: ack timeouts of
    /// writes that had their acks (see `acks`). They count as events.
    pub fn cancelled_events(&self) -> u64 {
        self.acks.cancelled_timeouts
    }

    /// Puts the first events in the queue.
    pub fn start(&mut self, queue: &mut EventQueue<Event>) {
        if let Some(first) = self.workload.next_gap()
            && first < self.traffic_end.ns()
        {
            queue.schedule_solo(SimTime(first), Event::Arrival);
        }
        for (i, r) in self.scripted.iter().enumerate() {
            if r.at < self.end.ns() {
                let number = self.checker.narrow_u32(i);
                queue.schedule(SimTime(r.at), Event::Scripted { number });
            }
        }
        for (fault, at, edge) in self.faults.timeline() {
            if at <= self.end {
                let event = match edge {
                    FaultEdge::Starts => Event::FaultStarts { fault },
                    FaultEdge::Heals => Event::FaultHeals { fault },
                };
                queue.schedule(at, event);
            }
        }
    }

    /// After the drain: lets unblocked replication run to completion (no
    /// other event is handled), then takes the final measurements.
    pub fn settle(&mut self, queue: &mut EventQueue<Event>) -> u64 {
        let mut handled = 0;
        self.controller.settle();
        while let Some((now, event)) = queue.pop() {
            self.sample_backlog(now);
            if let Event::ReplApply { stream, epoch } = event {
                self.on_repl_apply(now, stream, epoch, queue);
                handled += 1;
            }
        }
        self.checker
            .kernel_past_schedules(queue.scheduled_in_past());
        self.finish();
        handled
    }

    fn on_fault(
        &mut self,
        now: SimTime,
        fault: FaultId,
        edge: FaultEdge,
        q: &mut EventQueue<Event>,
    ) {
        self.faults.apply(fault, edge, &mut self.topology);
        let kind = self.faults.kind(fault).clone();
        match (kind, edge) {
            (FaultKind::DcDown { dc }, FaultEdge::Starts) => self.dc_dies(now, dc, fault, q),
            (FaultKind::DcDown { dc }, FaultEdge::Heals) => self.dc_returns(now, dc, fault, q),
            (FaultKind::Switchover { shards, to }, FaultEdge::Starts) => {
                let (ctl, mut p) = self.split();
                ctl.switchover(now, fault, shards, to, &mut p, q);
            }
            (FaultKind::PushFailure { dc }, edge) => {
                self.routing.set_push_failing(dc, edge == FaultEdge::Starts);
            }
            _ => {}
        }
        self.metrics.failures[fault.idx()].note(now, edge == FaultEdge::Starts);
        self.refresh_streams(now, q);
    }

    fn dc_dies(&mut self, now: SimTime, dc: DcId, fault: FaultId, q: &mut EventQueue<Event>) {
        self.down[dc.idx()] += 1;
        if self.down[dc.idx()] > 1 {
            return; // already down
        }
        self.topology.set_dc(dc, false);
        self.fail_requests_at(now, dc);
        self.start_elections(now, dc);
        let (ctl, mut p) = self.split();
        ctl.dc_died(now, dc, fault, &mut p, q);
    }

    fn dc_returns(&mut self, now: SimTime, dc: DcId, fault: FaultId, q: &mut EventQueue<Event>) {
        self.down[dc.idx()] = self.down[dc.idx()].saturating_sub(1);
        if self.down[dc.idx()] > 0 {
            return;
        }
        self.topology.set_dc(dc, true);
        let (ctl, mut p) = self.split();
        ctl.dc_returned(now, dc, fault, &mut p, q);
    }

    /// The detector notices a DC's death (`up = false`) or return.
    fn on_detect(&mut self, now: SimTime, fault: FaultId, up: bool, q: &mut EventQueue<Event>) {
        let FaultKind::DcDown { dc } = *self.faults.kind(fault) else {
            return;
        };
        if up != self.is_up(dc) {
            return; // the DC changed state again before the detector noticed
        }
        self.edges.set_known_down(dc, !up);
        let (ctl, mut p) = self.split();
        if up {
            ctl.detected_up(now, dc, &mut p, q);
        } else {
            ctl.detected_down(now, fault, dc, &mut p, q);
        }
    }

    /// Re-derives which streams can flow, and restarts the ones that can again.
    fn refresh_streams(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        for s in 0..self.n_dcs {
            for d in 0..self.n_dcs {
                if s == d {
                    continue;
                }
                let (src, dst) = (DcId(s as u16), DcId(d as u16));
                let stream = self.repl.stream_id(src, dst);
                let blocked = !self.is_up(src)
                    || !self.is_up(dst)
                    || !self.topology.reachable(src, dst)
                    || self.faults.stalled(src, dst);
                let was = self.repl.is_blocked(stream);
                self.repl.set_blocked(stream, blocked);
                if was && !blocked {
                    ship(&mut self.repl, &mut self.topology, stream, now, queue);
                }
            }
        }
    }
}

impl Model for World {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, q: &mut EventQueue<Event>) {
        self.sample_backlog(now);
        match event {
            Event::Arrival => self.on_arrival(now, q),
            Event::Scripted { number } => {
                let r = &self.scripted[number as usize];
                let spec = RequestSpec {
                    region: r.region,
                    key: r.key,
                    global: r.global,
                    write: r.write,
                    dataset: if r.global { self.n_datasets } else { 0 },
                };
                self.admit(now, spec, q);
            }
            Event::Reach { req, dc } => self.on_reach(now, req, dc, q),
            Event::Served { req, dc } => self.on_served(now, req, dc, q),
            Event::ReplApply { stream, epoch } => self.on_repl_apply(now, stream, epoch, q),
            Event::Ack { req, near } => self.on_ack(now, req, near),
            Event::AckTimeout { req, dc } => {
                self.on_ack_timeout(now, req);
                self.next_ack_timeout(dc, q);
            }
            Event::FaultStarts { fault } => self.on_fault(now, fault, FaultEdge::Starts, q),
            Event::FaultHeals { fault } => self.on_fault(now, fault, FaultEdge::Heals, q),
            Event::TableArrives { holder, version } => self.routing.arrive(holder, version),
            Event::DetectDown { fault } => self.on_detect(now, fault, false, q),
            Event::DetectUp { fault } => self.on_detect(now, fault, true, q),
            Event::Act { mv } => {
                let (ctl, mut p) = self.split();
                ctl.on_act(now, mv, &mut p, q);
            }
            Event::BanReady { mv } => {
                let (ctl, mut p) = self.split();
                ctl.on_ban_ready(now, mv, &mut p, q);
            }
            Event::BanDeadline { mv } => {
                let (ctl, mut p) = self.split();
                ctl.on_ban_deadline(now, mv, &mut p, q);
            }
            Event::PushTimeout { dc, version } => {
                let (ctl, mut p) = self.split();
                ctl.on_push_timeout(now, dc, version, &mut p, q);
            }
        }
    }

    /// Starts loading what the next event reads (see `prefetch`).
    #[inline]
    fn prefetch(&self, next: &Event) {
        self.prefetch_for(next);
    }
}
