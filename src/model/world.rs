//! The world: owns every part of the model, defines the one `Event` enum and
//! handles it in one `match`.
//!
//! A request's life: it arrives from a user region, crosses the region's
//! latency to its entry DC, whose router serves it, forwards it to the
//! owner (over the DC network) or rejects it; at the serving DC it waits for
//! a server and executes (a write guard may refuse a write there). A write
//! is applied there, appended to the DC's replication log and, in the
//! synchronous modes, waits for remote acks. The response then travels back
//! to the entry DC and the user; its travel is drawn when it leaves, so no
//! event is needed for it.
//!
//! Datacenter failures and the failover controller live in `failover`,
//! which extends `World` with the handlers of the control-plane events.

use super::datacenter::{Admit, Servers};
use super::failover::Move;
use super::faults::Faults;
use super::replication::{ApplyAt, LogEntry, NO_REQUEST, Replication};
use super::routing::{Holder, Route, Routing, RoutingTable, Target};
use super::sharding::{Sharding, initial_owners};
use super::storage::{Applied, Storage, VersionId};
use super::streams;
use super::topology::Topology;
use super::workload::{RequestSpec, Workload};
use crate::ids::{DcId, RegionId};
use crate::kernel::{ComponentRng, EventQueue, Model, stream};
use crate::metrics::{FailureRecord, Kind, Metrics};
use crate::scenario::{Config, Dist, Entry, FailoverConfig, ReplMode, ScriptedRequest};
use crate::time::{Nanos, SimTime};

/// `Request::at_dc` when no DC's servers hold the request.
const NOWHERE: u16 = u16::MAX;

/// A forwarded request is refused after this many forwards: a routing loop
/// (stale tables pointing at each other) must not circle forever.
const MAX_FORWARDS: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next request arrives from the workload.
    Arrival,
    /// Request `req` reaches DC `dc`'s router.
    Reach { req: u32, generation: u32, dc: DcId },
    /// A server at `dc` finished request `req`.
    Done { req: u32, generation: u32, dc: DcId },
    /// A replication stream applies its head entry.
    ReplApply { stream: u32, epoch: u32 },
    /// A remote DC's ack reaches the origin of request `req`'s write.
    Ack { req: u32, generation: u32 },
    /// Request `req`'s write gives up waiting for acks.
    AckTimeout { req: u32, generation: u32 },
    /// Fault `index` of the timeline starts (`start`) or heals.
    Fault { index: u16, start: bool },
    /// The scenario's `[[request]]` number `index` arrives.
    Scripted { index: u32 },
    /// Routing-table version `version` reaches holder `holder` (DCs first,
    /// then region edges).
    TableArrives { holder: u16, version: u32 },
    /// The detector notices that fault `index`'s DC died (`up = false`) or
    /// came back (`up = true`).
    Detect { index: u16, up: bool },
    /// The controller starts move `op`.
    Act { op: u16 },
    /// Move `op`'s write ban has reached every live DC.
    BanReady { op: u16 },
    /// Move `op` has waited `max_ban`.
    BanDeadline { op: u16 },
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Request {
    start: SimTime,
    spec: RequestSpec,
    target: Target,
    entry: DcId,
    /// The DC that executed it (valid once executed).
    served_at: DcId,
    forwards: u8,
    /// Remote acks still awaited.
    awaiting: u16,
    /// The write's sequence number at `served_at`, once applied.
    seq: u32,
    /// The DC whose servers hold it (queued or in service), or `NOWHERE`.
    at_dc: u16,
    /// Its write's index in `served_at`'s replication log.
    log_index: u64,
    /// Its write was accepted by the shard's authoritative owner.
    by_owner: bool,
    generation: u32,
    live: bool,
}

/// In-flight requests, reusing freed slots: no allocation per request once
/// the high-water mark is reached. A slot's generation tells a late event
/// for an earlier occupant from one for the current request.
#[derive(Default)]
pub(super) struct Slab {
    pub(super) items: Vec<Request>,
    free: Vec<u32>,
    next_gen: u32,
}

impl Slab {
    #[inline]
    fn insert(&mut self, mut r: Request) -> u32 {
        self.next_gen = self.next_gen.wrapping_add(1);
        r.generation = self.next_gen;
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = r;
                i
            }
            None => {
                self.items.push(r);
                (self.items.len() - 1) as u32
            }
        }
    }

    #[inline]
    pub(super) fn remove(&mut self, i: u32) -> Request {
        let r = &mut self.items[i as usize];
        debug_assert!(r.live, "request {i} removed twice");
        r.live = false;
        self.free.push(i);
        *r
    }

    #[inline]
    pub(super) fn get(&self, i: u32, generation: u32) -> Option<&Request> {
        self.items
            .get(i as usize)
            .filter(|r| r.live && r.generation == generation)
    }
}

/// One user region's latency to one DC, with its own stream.
struct Access {
    latency: Dist,
    rng: ComponentRng,
}

/// The newest acknowledged write to a key, and the one before it, for
/// telling stale reads.
#[derive(Clone, Copy, Default)]
struct AckMark {
    version: VersionId,
    at: u64,
}

pub struct World {
    pub(super) n_dcs: usize,
    pub(super) traffic_end: SimTime,
    pub(super) end: SimTime,
    entry: Entry,
    pub(super) sharded_keys: u64,
    /// Remote acks a write needs before the client's ack.
    pub(super) acks_needed: u16,
    ack_timeout: Nanos,
    pub(super) topology: Topology,
    workload: Workload,
    pub(super) sharding: Sharding,
    pub(super) routing: Routing,
    pub(super) storage: Storage,
    pub(super) repl: Replication,
    pub(super) faults: Faults,
    pub(super) servers: Vec<Servers>,
    /// `[region * n_dcs + dc]`; `None` where the region cannot reach the DC.
    access: Vec<Option<Access>>,
    /// Median latency from each region to each DC (`u64::MAX`: unreachable).
    region_medians: Vec<u64>,
    /// Each region's nearest DC not known to be down.
    pub(super) nearest: Vec<DcId>,
    pub(super) requests: Slab,
    /// `[key]`: the two newest acknowledged writes.
    acked: Vec<[AckMark; 2]>,
    /// Writes applied at their origin whose client never got an ack:
    /// (key, origin, seq). Grows only with failures.
    pub(super) unacked: Vec<(u32, u16, u32)>,
    scripted: Vec<ScriptedRequest>,
    /// Faults holding each DC down; a DC is up when 0.
    pub(super) down: Vec<u32>,
    /// DCs the detector has noticed are down (routing avoids them).
    pub(super) known_down: Vec<bool>,
    pub(super) failover: FailoverConfig,
    pub(super) mode: ReplMode,
    /// Semi-sync origins that timed out and acknowledge as async for now.
    semi_sync_degraded: Vec<bool>,
    pub(super) names: Vec<String>,
    pub(super) propagation: Dist,
    pub(super) propagation_rng: ComponentRng,
    /// Shard moves the controller has started, in order.
    pub(super) moves: Vec<Move>,
    /// The moves waiting in a ban.
    pub(super) banning: Vec<u16>,
    /// After the drain: replication finishes, the controller does not act.
    settling: bool,
    /// The failure records watching each shard's recovery,
    /// then the global dataset's.
    pub(super) watch: Vec<Vec<u32>>,
    pub metrics: Metrics,
    /// The next bucket close at which each DC's oldest unapplied write is sampled.
    next_sample: u64,
}

fn acks_needed(mode: ReplMode, n: usize) -> u16 {
    let remote = n.saturating_sub(1);
    let need = match mode {
        ReplMode::Async => 0,
        ReplMode::SemiSync => remote.min(1),
        // A majority of all DCs, the origin included.
        ReplMode::Quorum => n / 2,
        ReplMode::Sync => remote,
    };
    // At most 1,000 DCs (the scenario reader's limit): fits.
    need as u16
}

impl World {
    pub fn new(cfg: &Config) -> World {
        let n = cfg.datacenters.len();
        let sharding = Sharding::new(cfg);
        let table = RoutingTable::new(initial_owners(cfg, &sharding), cfg.sharding.global_owner);
        let shards = sharding.shards() as usize;
        let access = cfg
            .regions
            .iter()
            .enumerate()
            .flat_map(|(r, region)| {
                region.latency.iter().enumerate().map(move |(d, l)| {
                    l.as_ref().map(|latency| Access {
                        latency: latency.clone(),
                        rng: stream(cfg.seed, streams::access(r, d)),
                    })
                })
            })
            .collect();
        let traffic_end = SimTime(cfg.duration);
        let end = traffic_end.after(cfg.drain);
        let names: Vec<&str> = cfg.datacenters.iter().map(|d| d.name.as_str()).collect();
        let keys = cfg.workload.keys + cfg.workload.global_keys;
        World {
            n_dcs: n,
            traffic_end,
            end,
            entry: cfg.routing.entry,
            sharded_keys: cfg.workload.keys,
            acks_needed: acks_needed(cfg.replication.mode, n),
            ack_timeout: cfg.replication.ack_timeout,
            topology: Topology::new(cfg),
            workload: Workload::new(cfg),
            sharding,
            routing: Routing::new(
                &cfg.routing,
                cfg.sharding.global_reads,
                table,
                n,
                cfg.regions.len(),
            ),
            storage: Storage::new(&names, keys, cfg.replication.resolve),
            repl: Replication::new(n, 2 * n, cfg.replication.apply_rate),
            faults: Faults::new(cfg),
            servers: cfg
                .datacenters
                .iter()
                .enumerate()
                .map(|(d, dc)| Servers::new(dc, cfg.seed, streams::service(d)))
                .collect(),
            access,
            region_medians: cfg
                .regions
                .iter()
                .flat_map(|r| {
                    r.latency
                        .iter()
                        .map(|l| l.as_ref().map_or(u64::MAX, Dist::median))
                })
                .collect(),
            // Filled by `refresh_nearest` below: one rule for start and after faults.
            nearest: vec![DcId(0); cfg.regions.len()],
            requests: Slab::default(),
            acked: vec![[AckMark::default(); 2]; keys as usize],
            unacked: Vec::new(),
            scripted: cfg.requests.clone(),
            down: vec![0; n],
            known_down: vec![false; n],
            failover: cfg.failover.clone(),
            mode: cfg.replication.mode,
            semi_sync_degraded: vec![false; n],
            names: cfg.datacenters.iter().map(|d| d.name.clone()).collect(),
            propagation: cfg.routing.propagation.clone(),
            propagation_rng: stream(cfg.seed, streams::PROPAGATION),
            moves: Vec::new(),
            banning: Vec::new(),
            settling: false,
            watch: vec![Vec::new(); shards + 1],
            metrics: Metrics::new(n, end, cfg.bucket),
            next_sample: cfg.bucket,
        }
        .finish_setup(cfg)
    }

    /// What needs the built world: failure records, each region's nearest DC.
    fn finish_setup(mut self, cfg: &Config) -> World {
        let names: Vec<&str> = cfg.datacenters.iter().map(|d| d.name.as_str()).collect();
        self.metrics.failures = cfg
            .faults
            .iter()
            .map(|f| FailureRecord::new(f, &names))
            .collect();
        self.refresh_nearest();
        self
    }

    #[inline]
    pub(super) fn is_up(&self, dc: DcId) -> bool {
        self.down[dc.idx()] == 0
    }

    /// Recomputes each region's nearest DC among those not known to be down.
    pub(super) fn refresh_nearest(&mut self) {
        let n = self.n_dcs;
        for (r, nearest) in self.nearest.iter_mut().enumerate() {
            let best = (0..n)
                .filter(|&d| !self.known_down[d] && self.region_medians[r * n + d] != u64::MAX)
                .min_by_key(|&d| (self.region_medians[r * n + d], d));
            if let Some(d) = best {
                *nearest = DcId(d as u16);
            }
        }
    }

    /// The instant the drain ends.
    pub fn end(&self) -> SimTime {
        self.end
    }

    pub fn traffic_end(&self) -> SimTime {
        self.traffic_end
    }

    /// Puts the first events in the queue.
    pub fn start(&mut self, queue: &mut EventQueue<Event>) {
        if let Some(first) = self.workload.next_gap()
            && first < self.traffic_end.ns()
        {
            queue.schedule(SimTime(first), Event::Arrival);
        }
        for (index, r) in self.scripted.iter().enumerate() {
            if r.at < self.end.ns() {
                queue.schedule(
                    SimTime(r.at),
                    Event::Scripted {
                        index: index as u32,
                    },
                );
            }
        }
        for (index, at, start) in self.faults.timeline() {
            if at <= self.end {
                queue.schedule(at, Event::Fault { index, start });
            }
        }
    }

    /// After the drain: lets unblocked replication run to completion (no
    /// other event is handled), then takes the final measurements.
    pub fn settle(&mut self, queue: &mut EventQueue<Event>) -> u64 {
        let mut handled = 0;
        self.settling = true;
        while let Some((now, event)) = queue.pop() {
            self.sample_unapplied(now);
            if let Event::ReplApply { stream, epoch } = event {
                self.on_repl_apply(now, stream, epoch, queue);
                handled += 1;
            }
        }
        self.finish();
        handled
    }

    /// Counts what is still in flight as failed, and checks the final state.
    fn finish(&mut self) {
        let last = self.end;
        for i in 0..self.requests.items.len() {
            if self.requests.items[i].live {
                let r = self.requests.remove(i as u32);
                self.metrics.totals.failed += 1;
                self.metrics.totals.in_flight_at_end += 1;
                self.metrics.at(last, r.entry).failed += 1;
                if r.awaiting > 0 {
                    self.note_unacked(&r);
                }
            }
        }
        self.final_checks();
        self.sample_unapplied(SimTime(
            self.metrics.n_buckets as u64 * self.metrics.bucket_ns,
        ));
        self.metrics.close();
    }

    /// Samples, at every bucket close up to `now`, the age of the oldest
    /// write each DC has not applied yet. State only changes at events, so
    /// the state before the event at `now` is the state at those closes.
    #[inline]
    fn sample_unapplied(&mut self, now: SimTime) {
        if now.ns() >= self.next_sample {
            self.sample_closes(now);
        }
    }

    #[cold]
    fn sample_closes(&mut self, now: SimTime) {
        // The last bucket closes at `n_buckets · bucket`; later events
        // (the drain's replication, far-off completions) sample nothing.
        let last = self.metrics.n_buckets as u64 * self.metrics.bucket_ns;
        while now.ns() >= self.next_sample && self.next_sample <= last {
            let at = SimTime(self.next_sample);
            let bucket = (self.next_sample / self.metrics.bucket_ns - 1) as usize;
            for d in 0..self.n_dcs {
                let age = self
                    .repl
                    .oldest_unapplied(DcId(d as u16))
                    .map_or(0, |w| at.since(w).max(1));
                self.metrics.set_unapplied_age(bucket, d, age);
            }
            self.next_sample += self.metrics.bucket_ns;
        }
        if self.next_sample > last {
            self.next_sample = u64::MAX;
        }
    }

    /// `divergent_keys` and `lost_writes` after the drain.
    fn final_checks(&mut self) {
        let n = self.n_dcs;
        let keys = self.storage.keys() as u32;
        self.unacked.sort_unstable();
        let mut divergent = 0;
        let mut lost = 0u64;
        for key in 0..keys {
            let first = self.storage.current(DcId(0), key);
            if (1..n).any(|d| self.storage.current(DcId(d as u16), key) != first) {
                divergent += 1;
            }
            // The final value is the reference DC's: the owner's. Every
            // write off its lineage is lost, unless its client never got an ack.
            let owner = self.routing.authoritative().owner(self.target_of_slot(key));
            lost += self.lost_writes_of(key, self.reference_for(owner));
        }
        self.metrics.totals.divergent_keys = divergent;
        self.metrics.totals.lost_writes = lost;
    }

    /// The DC whose final value counts: the owner, or, if the owner is dead
    /// at the end (nobody moved its shards), the live DC nearest to it —
    /// what a recovery would start from. Writes only on dead DCs are lost.
    fn reference_for(&self, owner: DcId) -> DcId {
        if self.is_up(owner) {
            return owner;
        }
        (0..self.n_dcs)
            .map(|d| DcId(d as u16))
            .filter(|&d| self.is_up(d))
            .min_by_key(|&d| (self.topology.initial_median(owner, d), d))
            .unwrap_or(owner)
    }

    /// Acknowledged writes to `key` off the lineage of `reference`'s value.
    ///
    /// Per origin, the lineage counts say how many of its writes survive;
    /// the others are off it. Unacknowledged writes are set apart: those the
    /// value never saw (above its version vector) are off for sure; among
    /// those it saw, the holes the counts leave are charged to them first.
    /// Exact unless an unacknowledged write survived while an acknowledged
    /// one of the same origin, seen by the same value, was discarded.
    fn lost_writes_of(&self, key: u32, reference: DcId) -> u64 {
        let from = self.unacked.partition_point(|&(k, _, _)| k < key);
        let unacked = &self.unacked[from..];
        let vv = self.storage.vv(reference, key);
        let lineage = self.storage.lineage(reference, key);
        let mut lost = 0u64;
        for (o, (&seen, &kept)) in vv.iter().zip(lineage).enumerate() {
            let written = self.storage.own_writes(DcId(o as u16), key);
            let off = (written - kept) as u64;
            if off == 0 {
                continue;
            }
            let mine = unacked
                .iter()
                .take_while(|u| u.0 == key)
                .filter(|u| u.1 == o as u16);
            let (unseen, seen_unacked) = mine.fold((0u64, 0u64), |(a, b), u| {
                if u.2 > seen { (a + 1, b) } else { (a, b + 1) }
            });
            let holes = (seen - kept) as u64;
            lost += off - unseen - seen_unacked.min(holes);
        }
        lost
    }

    fn target_of_slot(&self, slot: u32) -> Target {
        if (slot as u64) < self.sharded_keys {
            Target::Shard(self.sharding.shard_of(slot))
        } else {
            Target::Global
        }
    }

    #[inline]
    fn slot(&self, target: Target, key: u32) -> u32 {
        match target {
            Target::Shard(_) => key,
            Target::Global => self.sharded_keys as u32 + key,
        }
    }

    #[inline]
    fn access_latency(&mut self, region: RegionId, dc: DcId) -> Option<Nanos> {
        let a = self.access[region.idx() * self.n_dcs + dc.idx()].as_mut()?;
        Some(a.latency.sample(&mut a.rng))
    }

    fn on_arrival(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        if let Some(gap) = self.workload.next_gap()
            && now.after(gap) < self.traffic_end
        {
            queue.schedule(now.after(gap), Event::Arrival);
        }
        let spec = self.workload.next_request();
        self.admit(now, spec, queue);
    }

    /// A new request from the user: pick the entry DC and send it there.
    fn admit(&mut self, now: SimTime, spec: RequestSpec, queue: &mut EventQueue<Event>) {
        let target = if spec.global {
            Target::Global
        } else {
            Target::Shard(self.sharding.shard_of(spec.key))
        };
        let nearest = self.nearest[spec.region.idx()];
        let entry = match self.entry {
            Entry::Nearest => nearest,
            // The edge knows the user's shard and sends the request to its
            // owner, when the region reaches the owner directly.
            Entry::Owner => {
                let owner = match target {
                    Target::Global if !spec.write => self.routing.route(nearest, target, false),
                    _ => Route::Forward(self.routing.copy(Holder::Edge(spec.region)).owner(target)),
                };
                match owner {
                    Route::Forward(o)
                        if self.access[spec.region.idx() * self.n_dcs + o.idx()].is_some() =>
                    {
                        o
                    }
                    _ => nearest,
                }
            }
        };
        self.metrics.totals.requests += 1;
        self.metrics.at(now, entry).requests += 1;
        if spec.write {
            self.note_write_attempt(target);
        }
        let latency = self
            .access_latency(spec.region, entry)
            .expect("the entry DC is reachable from the region");
        let req = self.requests.insert(Request {
            start: now,
            spec,
            target,
            entry,
            served_at: entry,
            forwards: 0,
            awaiting: 0,
            seq: 0,
            at_dc: NOWHERE,
            log_index: 0,
            by_owner: false,
            generation: 0,
            live: true,
        });
        let generation = self.requests.items[req as usize].generation;
        queue.schedule(
            now.after(latency),
            Event::Reach {
                req,
                generation,
                dc: entry,
            },
        );
    }

    fn on_reach(
        &mut self,
        now: SimTime,
        req: u32,
        generation: u32,
        dc: DcId,
        queue: &mut EventQueue<Event>,
    ) {
        let Some(&r) = self.requests.get(req, generation) else {
            return;
        };
        if !self.is_up(dc) {
            // The DC died while the request was on its way.
            self.fail(now, req, dc);
            return;
        }
        match self.routing.route(dc, r.target, r.spec.write) {
            Route::Serve => match self.servers[dc.idx()].arrive(req) {
                Admit::Start(service) => self.start_service(now, req, dc, service, queue),
                Admit::Queued => self.requests.items[req as usize].at_dc = dc.0,
                Admit::Full => {
                    self.metrics.totals.queue_full += 1;
                    self.reject(now, req, dc);
                }
            },
            Route::Forward(owner) if r.forwards < MAX_FORWARDS => {
                if !self.topology.reachable(dc, owner) {
                    self.metrics.totals.unreachable += 1;
                    self.fail(now, req, dc);
                    return;
                }
                let r = &mut self.requests.items[req as usize];
                if r.forwards == 0 {
                    self.metrics.totals.forwarded += 1;
                    self.metrics.at(now, dc).forwarded += 1;
                }
                r.forwards += 1;
                let hop = self.topology.sample(dc, owner);
                queue.schedule(
                    now.after(hop),
                    Event::Reach {
                        req,
                        generation,
                        dc: owner,
                    },
                );
            }
            Route::Forward(_) | Route::Reject => self.reject(now, req, dc),
        }
    }

    #[inline]
    fn start_service(
        &mut self,
        now: SimTime,
        req: u32,
        dc: DcId,
        service: Nanos,
        queue: &mut EventQueue<Event>,
    ) {
        if service > 0 {
            self.metrics.add_busy(dc, now, service);
        }
        let r = &mut self.requests.items[req as usize];
        r.at_dc = dc.0;
        let generation = r.generation;
        queue.schedule(
            now.after(service),
            Event::Done {
                req,
                generation,
                dc,
            },
        );
    }

    fn on_done(
        &mut self,
        now: SimTime,
        req: u32,
        generation: u32,
        dc: DcId,
        queue: &mut EventQueue<Event>,
    ) {
        if self.requests.get(req, generation).is_none() {
            return; // failed with its DC
        }
        if let Some((next, service)) = self.servers[dc.idx()].finish() {
            self.start_service(now, next, dc, service, queue);
        }
        {
            let r = &mut self.requests.items[req as usize];
            r.served_at = dc;
            r.at_dc = NOWHERE;
        }
        let r = self.requests.items[req as usize];
        self.metrics.dcs[dc.idx()].served += 1;
        if r.spec.write && self.routing.guard_refuses(dc, r.target) {
            self.metrics.totals.guard_rejected += 1;
            self.reject(now, req, dc);
            return;
        }
        if self.routing.misrouted(dc, r.target, r.spec.write) {
            self.metrics.totals.misrouted += 1;
            if r.spec.write {
                self.metrics.totals.misrouted_writes += 1;
            }
            self.metrics.dcs[dc.idx()].misrouted += 1;
            self.metrics.at(now, dc).misrouted += 1;
        }
        let slot = self.slot(r.target, r.spec.key);
        if !r.spec.write {
            self.check_stale(dc, slot, r.start);
            self.respond(now, req);
            return;
        }
        let clock = self.faults.clock(dc, now);
        let w = self.storage.write_local(dc, slot, clock);
        let needed = if self.semi_sync_degraded[dc.idx()] {
            0
        } else {
            self.acks_needed
        };
        let waits = needed > 0;
        let entry = LogEntry {
            write: w,
            written: now,
            req: if waits { req } else { NO_REQUEST },
            generation: r.generation,
            conflicted: false,
            acked: false,
        };
        let index = self.repl.append(entry, self.storage.meta(dc, slot));
        {
            let rr = &mut self.requests.items[req as usize];
            rr.seq = w.seq;
            rr.log_index = index;
            rr.by_owner = self.routing.authoritative().owner(r.target) == dc;
            rr.awaiting = needed;
        }
        for d in 0..self.n_dcs {
            if d != dc.idx() {
                let s = self.repl.stream_id(dc, DcId(d as u16));
                self.ship(s, now, queue);
            }
        }
        if waits {
            queue.schedule(
                now.after(self.ack_timeout),
                Event::AckTimeout {
                    req,
                    generation: r.generation,
                },
            );
        } else {
            self.complete_write(now, req);
        }
    }

    /// Ships what a stream has not shipped yet, and schedules its head.
    #[inline]
    pub(super) fn ship(&mut self, stream: u32, now: SimTime, queue: &mut EventQueue<Event>) {
        let (src, dst) = self.repl.ends(stream);
        let topology = &mut self.topology;
        if let Some(a) = self.repl.ship(stream, now, || topology.sample(src, dst)) {
            schedule_apply(queue, a);
        }
    }

    fn on_repl_apply(
        &mut self,
        now: SimTime,
        stream: u32,
        epoch: u32,
        queue: &mut EventQueue<Event>,
    ) {
        let index = self.repl.head_index(stream);
        let (src, dst) = self.repl.ends(stream);
        let Some((entry, vv)) = self.repl.take_head(stream, epoch, now) else {
            return;
        };
        let outcome = self.storage.apply_remote(dst, &entry.write, vv);
        self.metrics.totals.replicated += 1;
        self.metrics
            .record_lag(src, dst, now, now.since(entry.written));
        if matches!(outcome, Applied::ConflictWon | Applied::ConflictLost)
            && !self.repl.mark_conflicted(src, index)
        {
            self.metrics.totals.conflicts += 1;
            self.metrics.at(now, dst).conflicts += 1;
        }
        if self.semi_sync_degraded[src.idx()]
            && self.is_up(src)
            && self.topology.reachable(dst, src)
        {
            // A replica applies the origin's writes again: semi-sync resumes.
            self.semi_sync_degraded[src.idx()] = false;
        }
        if entry.req != NO_REQUEST && self.is_up(src) && self.topology.reachable(dst, src) {
            let back = self.topology.sample(dst, src);
            queue.schedule(
                now.after(back),
                Event::Ack {
                    req: entry.req,
                    generation: entry.generation,
                },
            );
        }
        if let Some(a) = self.repl.after_apply(stream) {
            schedule_apply(queue, a);
        }
        if !self.banning.is_empty() && !self.settling {
            self.on_applied_at(now, dst, queue);
        }
    }

    fn on_ack(&mut self, now: SimTime, req: u32, generation: u32) {
        let Some(r) = self.requests.get(req, generation) else {
            return;
        };
        if r.awaiting == 0 {
            return;
        }
        let r = &mut self.requests.items[req as usize];
        r.awaiting -= 1;
        if r.awaiting > 0 {
            return;
        }
        let r = *r;
        if r.by_owner && self.routing.authoritative().owner(r.target) != r.served_at {
            // The shard moved while the write gathered its acks: like a
            // consensus leader that lost its term, the old owner cannot
            // commit it any more.
            self.metrics.totals.ack_timeouts += 1;
            self.note_unacked(&r);
            self.fail(now, req, r.served_at);
            return;
        }
        self.complete_write(now, req);
    }

    fn on_ack_timeout(&mut self, now: SimTime, req: u32, generation: u32) {
        let Some(r) = self.requests.get(req, generation) else {
            return;
        };
        if r.awaiting == 0 {
            return;
        }
        let r = *r;
        self.metrics.totals.ack_timeouts += 1;
        if self.mode == ReplMode::SemiSync {
            // MySQL-style semi-sync: after the timeout the origin falls back
            // to async (acknowledging this write and not waiting for the next
            // ones) until a replica applies its writes again.
            self.metrics.totals.semi_sync_fallbacks += 1;
            self.semi_sync_degraded[r.served_at.idx()] = true;
            self.requests.items[req as usize].awaiting = 0;
            self.complete_write(now, req);
            return;
        }
        self.note_unacked(&r);
        self.fail(now, req, r.served_at);
    }

    fn note_unacked(&mut self, r: &Request) {
        let slot = self.slot(r.target, r.spec.key);
        self.unacked.push((slot, r.served_at.0, r.seq));
    }

    /// Request `req`'s write has what its mode needs: its DC answers the
    /// client, and the write counts as acknowledged only if that answer
    /// can be delivered (otherwise the client sees a failure).
    fn complete_write(&mut self, now: SimTime, req: u32) {
        if self.respond(now, req) {
            self.acknowledge(now, req);
        }
    }

    /// The DC that accepted request `req`'s write acknowledges it now.
    #[inline]
    fn acknowledge(&mut self, now: SimTime, req: u32) {
        let r = self.requests.items[req as usize];
        debug_assert!(
            self.is_up(r.served_at),
            "a write acknowledged by a DC that is down"
        );
        if !self.is_up(r.served_at) {
            self.metrics.totals.acked_while_down += 1;
        }
        let slot = self.slot(r.target, r.spec.key);
        let marks = &mut self.acked[slot as usize];
        marks[1] = marks[0];
        marks[0] = AckMark {
            version: VersionId {
                origin: r.served_at.0,
                seq: r.seq,
            },
            at: now.ns(),
        };
        self.repl.mark_acked(r.served_at, r.log_index);
        self.note_recovery(now, r.target, r.start);
    }

    /// A read at `dc` is stale if it misses the newest write acknowledged
    /// before the read began.
    #[inline]
    fn check_stale(&mut self, dc: DcId, slot: u32, began: SimTime) {
        self.metrics.dcs[dc.idx()].reads += 1;
        let marks = &self.acked[slot as usize];
        let newest = marks
            .iter()
            .find(|m| m.at <= began.ns() && m.version.seq > 0);
        if let Some(m) = newest
            && !self
                .storage
                .includes(dc, slot, DcId(m.version.origin), m.version.seq)
        {
            self.metrics.totals.stale_reads += 1;
            self.metrics.dcs[dc.idx()].stale_reads += 1;
        }
    }

    /// Sends the response of an executed request back to the user.
    fn respond(&mut self, now: SimTime, req: u32) -> bool {
        let r = self.requests.items[req as usize];
        let dc = r.served_at;
        if !self.is_up(r.entry) || !self.topology.reachable(dc, r.entry) {
            self.metrics.totals.unreachable += 1;
            if r.spec.write {
                self.note_unacked(&r);
            }
            self.fail(now, req, dc);
            return false;
        }
        let back = self.topology.sample(dc, r.entry)
            + self
                .access_latency(r.spec.region, r.entry)
                .expect("the entry DC is reachable from the region");
        let done = now.after(back);
        self.requests.remove(req);
        if done > self.end {
            self.metrics.totals.failed += 1;
            self.metrics.totals.in_flight_at_end += 1;
            self.metrics.at(self.end, dc).failed += 1;
            if r.spec.write {
                let slot = self.slot(r.target, r.spec.key);
                self.unacked.push((slot, dc.0, r.seq));
            }
            return false;
        }
        let kind = if r.spec.write {
            Kind::Write
        } else {
            Kind::Read
        };
        self.metrics.record_latency(kind, done.since(r.start));
        self.metrics.totals.ok += 1;
        self.metrics.dcs[dc.idx()].ok += 1;
        self.metrics.at(done, dc).ok += 1;
        true
    }

    fn reject(&mut self, now: SimTime, req: u32, dc: DcId) {
        self.requests.remove(req);
        self.metrics.totals.rejected += 1;
        self.metrics.dcs[dc.idx()].rejected += 1;
        self.metrics.at(now, dc).rejected += 1;
    }

    fn fail(&mut self, now: SimTime, req: u32, dc: DcId) {
        self.requests.remove(req);
        self.metrics.totals.failed += 1;
        self.metrics.at(now, dc).failed += 1;
    }

    fn on_fault(&mut self, now: SimTime, index: u16, start: bool, queue: &mut EventQueue<Event>) {
        self.faults.apply(index, start, &mut self.topology);
        self.on_fault_control(now, index, start, queue);
        self.metrics.failures[index as usize].note(now, start);
        self.refresh_streams(now, queue);
    }

    /// Re-derives which streams can flow, and restarts the ones that can again.
    pub(super) fn refresh_streams(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
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
                    self.ship(stream, now, queue);
                }
            }
        }
    }

    /// Fails every request a dead DC holds: queued, in service, or waiting
    /// for acks of a write it accepted.
    pub(super) fn fail_requests_at(&mut self, now: SimTime, dc: DcId) {
        self.servers[dc.idx()].reset();
        for i in 0..self.requests.items.len() {
            let r = self.requests.items[i];
            let held =
                r.at_dc == dc.0 || (r.awaiting > 0 && r.served_at == dc && r.at_dc == NOWHERE);
            if r.live && held {
                if r.awaiting > 0 {
                    self.note_unacked(&r);
                }
                self.fail(now, i as u32, dc);
            }
        }
    }
}

#[inline]
fn schedule_apply(queue: &mut EventQueue<Event>, a: ApplyAt) {
    queue.schedule(
        a.at,
        Event::ReplApply {
            stream: a.stream,
            epoch: a.epoch,
        },
    );
}

impl Model for World {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, queue: &mut EventQueue<Event>) {
        self.sample_unapplied(now);
        match event {
            Event::Arrival => self.on_arrival(now, queue),
            Event::Reach {
                req,
                generation,
                dc,
            } => self.on_reach(now, req, generation, dc, queue),
            Event::Done {
                req,
                generation,
                dc,
            } => self.on_done(now, req, generation, dc, queue),
            Event::ReplApply { stream, epoch } => self.on_repl_apply(now, stream, epoch, queue),
            Event::Ack { req, generation } => self.on_ack(now, req, generation),
            Event::AckTimeout { req, generation } => self.on_ack_timeout(now, req, generation),
            Event::Fault { index, start } => self.on_fault(now, index, start, queue),
            Event::Scripted { index } => {
                let r = &self.scripted[index as usize];
                let spec = RequestSpec {
                    region: r.region,
                    key: r.key,
                    global: r.global,
                    write: r.write,
                };
                self.admit(now, spec, queue);
            }
            Event::TableArrives { holder, version } => self.on_table_arrives(holder, version),
            Event::Detect { index, up } => self.on_detect(now, index, up, queue),
            Event::Act { op } => self.on_act(now, op, queue),
            Event::BanReady { op } => self.on_ban_ready(now, op, queue),
            Event::BanDeadline { op } => self.on_ban_deadline(now, op, queue),
        }
    }
}
