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

use super::datacenter::{Admit, Servers};
use super::faults::Faults;
use super::replication::{ApplyAt, LogEntry, NO_REQUEST, Replication};
use super::routing::{Route, Routing, RoutingTable, Target};
use super::sharding::{Sharding, initial_owners, nearest_dc};
use super::storage::{Applied, Storage, VersionId};
use super::streams;
use super::topology::Topology;
use super::workload::{RequestSpec, Workload};
use crate::ids::{DcId, RegionId};
use crate::kernel::{ComponentRng, EventQueue, Model, stream};
use crate::metrics::{Kind, Metrics};
use crate::scenario::{Config, Dist, Entry, ReplMode, ScriptedRequest};
use crate::time::{Nanos, SimTime};

/// A forwarded request is refused after this many forwards: a routing loop
/// (stale tables pointing at each other) must not circle forever.
const MAX_FORWARDS: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next request arrives from the workload.
    Arrival,
    /// Request `req` reaches DC `dc`'s router.
    Reach { req: u32, dc: DcId },
    /// A server at `dc` finished request `req`.
    Done { req: u32, dc: DcId },
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
}

#[derive(Clone, Copy, Debug)]
struct Request {
    start: SimTime,
    spec: RequestSpec,
    target: Target,
    entry: DcId,
    /// The DC that executed it (valid once executed).
    served_at: DcId,
    forwards: u8,
    /// Remote acks still awaited.
    awaiting: u8,
    /// The write's sequence number at `served_at`, once applied.
    seq: u32,
    generation: u32,
    live: bool,
}

/// In-flight requests, reusing freed slots: no allocation per request once
/// the high-water mark is reached. A slot's generation tells a late event
/// for an earlier occupant from one for the current request.
#[derive(Default)]
struct Slab {
    items: Vec<Request>,
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
    fn remove(&mut self, i: u32) -> Request {
        let r = &mut self.items[i as usize];
        debug_assert!(r.live, "request {i} removed twice");
        r.live = false;
        self.free.push(i);
        *r
    }

    #[inline]
    fn get(&self, i: u32, generation: u32) -> Option<&Request> {
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
    n_dcs: usize,
    traffic_end: SimTime,
    end: SimTime,
    entry: Entry,
    sharded_keys: u64,
    /// Remote acks a write needs before the client's ack.
    acks_needed: u8,
    ack_timeout: Nanos,
    topology: Topology,
    workload: Workload,
    sharding: Sharding,
    routing: Routing,
    storage: Storage,
    repl: Replication,
    faults: Faults,
    servers: Vec<Servers>,
    /// `[region * n_dcs + dc]`; `None` where the region cannot reach the DC.
    access: Vec<Option<Access>>,
    nearest: Vec<DcId>,
    requests: Slab,
    /// `[key]`: the two newest acknowledged writes.
    acked: Vec<[AckMark; 2]>,
    /// Writes applied at their origin whose client never got an ack:
    /// (key, origin, seq). Grows only with failures.
    unacked: Vec<(u32, u16, u32)>,
    scripted: Vec<ScriptedRequest>,
    pub metrics: Metrics,
}

fn acks_needed(mode: ReplMode, n: usize) -> u8 {
    let remote = n.saturating_sub(1);
    let need = match mode {
        ReplMode::Async => 0,
        ReplMode::SemiSync => remote.min(1),
        // A majority of all DCs, the origin included.
        ReplMode::Quorum => n / 2,
        ReplMode::Sync => remote,
    };
    need.min(u8::MAX as usize) as u8
}

impl World {
    pub fn new(cfg: &Config) -> World {
        let n = cfg.datacenters.len();
        let sharding = Sharding::new(cfg);
        let table = RoutingTable {
            version: 1,
            owners: initial_owners(cfg, &sharding),
            global_owner: cfg.sharding.global_owner,
        };
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
            routing: Routing::new(&cfg.routing, cfg.sharding.global_reads, table, n),
            storage: Storage::new(&names, keys, cfg.replication.resolve),
            repl: Replication::new(n, cfg.replication.apply_rate),
            faults: Faults::new(cfg),
            servers: cfg
                .datacenters
                .iter()
                .enumerate()
                .map(|(d, dc)| Servers::new(dc, cfg.seed, streams::service(d)))
                .collect(),
            access,
            nearest: (0..cfg.regions.len())
                .map(|r| nearest_dc(cfg, RegionId(r as u16)))
                .collect(),
            requests: Slab::default(),
            acked: vec![[AckMark::default(); 2]; keys as usize],
            unacked: Vec::new(),
            scripted: cfg.requests.clone(),
            metrics: Metrics::new(n, end, cfg.bucket),
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
        while let Some((now, event)) = queue.pop() {
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
        self.metrics.close();
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
            // The final value is the reference DC's: the owner's. Every write
            // off its lineage is lost, unless its client never got an ack.
            let reference = self.routing.authoritative.owner(self.target_of_slot(key));
            let written: u64 = (0..n)
                .map(|o| self.storage.own_writes(DcId(o as u16), key) as u64)
                .sum();
            let off_lineage = written - self.storage.depth(reference, key) as u64;
            if off_lineage > 0 {
                lost += off_lineage - self.unacked_off_lineage(key, reference);
            }
        }
        self.metrics.totals.divergent_keys = divergent;
        self.metrics.totals.lost_writes = lost;
    }

    /// Unacknowledged writes to `key` that the reference DC's value does not
    /// include. (Judged by the version vector: exact unless the unacked write
    /// was discarded while a later write of its origin survived.)
    fn unacked_off_lineage(&self, key: u32, reference: DcId) -> u64 {
        let from = self.unacked.partition_point(|&(k, _, _)| k < key);
        self.unacked[from..]
            .iter()
            .take_while(|&&(k, _, _)| k == key)
            .filter(|&&(_, o, seq)| !self.storage.includes(reference, key, DcId(o), seq))
            .count() as u64
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
                    _ => Route::Forward(self.routing.authoritative.owner(target)),
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
            generation: 0,
            live: true,
        });
        queue.schedule(now.after(latency), Event::Reach { req, dc: entry });
    }

    fn on_reach(&mut self, now: SimTime, req: u32, dc: DcId, queue: &mut EventQueue<Event>) {
        let r = self.requests.items[req as usize];
        match self.routing.route(dc, r.target, r.spec.write) {
            Route::Serve => match self.servers[dc.idx()].arrive(req) {
                Admit::Start(service) => self.start_service(now, req, dc, service, queue),
                Admit::Queued => {}
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
                queue.schedule(now.after(hop), Event::Reach { req, dc: owner });
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
        queue.schedule(now.after(service), Event::Done { req, dc });
    }

    fn on_done(&mut self, now: SimTime, req: u32, dc: DcId, queue: &mut EventQueue<Event>) {
        if let Some((next, service)) = self.servers[dc.idx()].finish() {
            self.start_service(now, next, dc, service, queue);
        }
        self.requests.items[req as usize].served_at = dc;
        let r = self.requests.items[req as usize];
        self.metrics.dcs[dc.idx()].served += 1;
        if r.spec.write && self.routing.guard_refuses(dc, r.target) {
            self.metrics.totals.guard_rejected += 1;
            self.reject(now, req, dc);
            return;
        }
        if self.routing.misrouted(dc, r.target, r.spec.write) {
            self.metrics.totals.misrouted += 1;
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
        let waits = self.acks_needed > 0;
        let (generation, awaiting) = {
            let rr = &mut self.requests.items[req as usize];
            rr.seq = w.seq;
            rr.awaiting = self.acks_needed;
            (rr.generation, rr.awaiting)
        };
        let entry = LogEntry {
            write: w,
            written: now,
            req: if waits { req } else { NO_REQUEST },
            generation,
            conflicted: false,
        };
        self.repl.append(entry, self.storage.vv(dc, slot));
        for d in 0..self.n_dcs {
            if d != dc.idx() {
                let s = self.repl.stream_id(dc, DcId(d as u16));
                self.ship(s, now, queue);
            }
        }
        if awaiting == 0 {
            self.acknowledge(now, slot, dc, w.seq);
            self.respond(now, req);
        } else {
            queue.schedule(
                now.after(self.ack_timeout),
                Event::AckTimeout { req, generation },
            );
        }
    }

    /// Ships what a stream has not shipped yet, and schedules its head.
    #[inline]
    fn ship(&mut self, stream: u32, now: SimTime, queue: &mut EventQueue<Event>) {
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
        if entry.req != NO_REQUEST && self.topology.reachable(dst, src) {
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
        if r.awaiting == 0 {
            let r = *r;
            let slot = self.slot(r.target, r.spec.key);
            self.acknowledge(now, slot, r.served_at, r.seq);
            self.respond(now, req);
        }
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
        self.note_unacked(&r);
        self.fail(now, req, r.served_at);
    }

    fn note_unacked(&mut self, r: &Request) {
        let slot = self.slot(r.target, r.spec.key);
        self.unacked.push((slot, r.served_at.0, r.seq));
    }

    /// The DC that accepted a write acknowledges it now.
    #[inline]
    fn acknowledge(&mut self, now: SimTime, slot: u32, origin: DcId, seq: u32) {
        let marks = &mut self.acked[slot as usize];
        marks[1] = marks[0];
        marks[0] = AckMark {
            version: VersionId {
                origin: origin.0,
                seq,
            },
            at: now.ns(),
        };
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
    fn respond(&mut self, now: SimTime, req: u32) {
        let r = self.requests.items[req as usize];
        let dc = r.served_at;
        if !self.topology.reachable(dc, r.entry) {
            self.metrics.totals.unreachable += 1;
            if r.spec.write {
                self.note_unacked(&r);
            }
            self.fail(now, req, dc);
            return;
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
            return;
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
        // Re-derive which streams can flow, and restart the ones that can again.
        for s in 0..self.n_dcs {
            for d in 0..self.n_dcs {
                if s == d {
                    continue;
                }
                let (src, dst) = (DcId(s as u16), DcId(d as u16));
                let stream = self.repl.stream_id(src, dst);
                let blocked = !self.topology.reachable(src, dst) || self.faults.stalled(src, dst);
                let was = self.repl.is_blocked(stream);
                self.repl.set_blocked(stream, blocked);
                if was && !blocked {
                    self.ship(stream, now, queue);
                }
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
        match event {
            Event::Arrival => self.on_arrival(now, queue),
            Event::Reach { req, dc } => self.on_reach(now, req, dc, queue),
            Event::Done { req, dc } => self.on_done(now, req, dc, queue),
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
        }
    }
}
