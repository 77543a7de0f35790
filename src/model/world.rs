//! The world: owns every part of the model, defines the one `Event` enum and
//! handles it in one `match`.
//!
//! A request's life: it arrives from a user region, crosses the region's
//! latency to its entry DC, whose router serves it, forwards it to the
//! owner (over the DC network) or rejects it; at the serving DC it waits for
//! a server, executes (a write guard may refuse a write there), and its
//! response travels back to the entry DC and the user. The response's travel
//! is drawn when the request executes: no event is needed for it.

use super::datacenter::{Admit, Servers};
use super::routing::{Route, Routing, RoutingTable, Target};
use super::sharding::{Sharding, initial_owners, nearest_dc};
use super::storage::{Storage, key_slot};
use super::streams;
use super::topology::Topology;
use super::workload::{RequestSpec, Workload};
use crate::ids::{DcId, RegionId};
use crate::kernel::{ComponentRng, EventQueue, Model, stream};
use crate::metrics::{Kind, Metrics};
use crate::scenario::{Config, Dist, Entry};
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
}

#[derive(Clone, Copy, Debug)]
struct Request {
    start: SimTime,
    spec: RequestSpec,
    target: Target,
    entry: DcId,
    forwards: u8,
    live: bool,
}

/// In-flight requests, reusing freed slots: no allocation per request once
/// the high-water mark is reached.
#[derive(Default)]
struct Slab {
    items: Vec<Request>,
    free: Vec<u32>,
    live: usize,
}

impl Slab {
    #[inline]
    fn insert(&mut self, r: Request) -> u32 {
        self.live += 1;
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
        self.live -= 1;
        self.free.push(i);
        *r
    }
}

/// One user region's latency to one DC, with its own stream.
struct Access {
    latency: Dist,
    rng: ComponentRng,
}

pub struct World {
    n_dcs: usize,
    traffic_end: SimTime,
    end: SimTime,
    entry: Entry,
    sharded_keys: u64,
    topology: Topology,
    workload: Workload,
    sharding: Sharding,
    routing: Routing,
    storage: Storage,
    servers: Vec<Servers>,
    /// `[region * n_dcs + dc]`; `None` where the region cannot reach the DC.
    access: Vec<Option<Access>>,
    nearest: Vec<DcId>,
    requests: Slab,
    pub metrics: Metrics,
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
        World {
            n_dcs: n,
            traffic_end,
            end,
            entry: cfg.routing.entry,
            sharded_keys: cfg.workload.keys,
            topology: Topology::new(cfg),
            workload: Workload::new(cfg),
            sharding,
            routing: Routing::new(&cfg.routing, cfg.sharding.global_reads, table, n),
            storage: Storage::new(n, cfg.workload.keys, cfg.workload.global_keys),
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
        let first = self.workload.next_gap();
        if first < self.traffic_end.ns() {
            queue.schedule(SimTime(first), Event::Arrival);
        }
    }

    /// Counts what is still in flight after the drain as failed.
    pub fn finish(&mut self) {
        let last = SimTime(self.end.ns());
        for i in 0..self.requests.items.len() {
            if self.requests.items[i].live {
                let r = self.requests.remove(i as u32);
                self.metrics.totals.failed += 1;
                self.metrics.totals.in_flight_at_end += 1;
                self.metrics.at(last, r.entry).failed += 1;
            }
        }
    }

    #[inline]
    fn access_latency(&mut self, region: RegionId, dc: DcId) -> Option<Nanos> {
        let a = self.access[region.idx() * self.n_dcs + dc.idx()].as_mut()?;
        Some(a.latency.sample(&mut a.rng))
    }

    fn on_arrival(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let next = now.after(self.workload.next_gap());
        if next < self.traffic_end {
            queue.schedule(next, Event::Arrival);
        }
        let spec = self.workload.next_request();
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
            forwards: 0,
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
        let r = self.requests.remove(req);
        let totals = &mut self.metrics.totals;
        let dc_totals = &mut self.metrics.dcs[dc.idx()];
        dc_totals.served += 1;
        if r.spec.write && self.routing.guard_refuses(dc, r.target) {
            totals.rejected += 1;
            totals.guard_rejected += 1;
            dc_totals.rejected += 1;
            self.metrics.at(now, dc).rejected += 1;
            return;
        }
        if self.routing.misrouted(dc, r.target, r.spec.write) {
            self.metrics.totals.misrouted += 1;
            self.metrics.dcs[dc.idx()].misrouted += 1;
            self.metrics.at(now, dc).misrouted += 1;
        }
        let slot = key_slot(r.target, r.spec.key, self.sharded_keys);
        if r.spec.write {
            self.storage.write(dc, slot);
        } else {
            self.storage.read(dc, slot);
        }
        // The response crosses back to the entry DC, then to the user.
        let back = self.topology.sample(dc, r.entry)
            + self
                .access_latency(r.spec.region, r.entry)
                .expect("the entry DC is reachable from the region");
        let done = now.after(back);
        if done > self.end {
            self.metrics.totals.failed += 1;
            self.metrics.totals.in_flight_at_end += 1;
            self.metrics.at(self.end, dc).failed += 1;
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
}

impl Model for World {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, queue: &mut EventQueue<Event>) {
        match event {
            Event::Arrival => self.on_arrival(now, queue),
            Event::Reach { req, dc } => self.on_reach(now, req, dc, queue),
            Event::Done { req, dc } => self.on_done(now, req, dc, queue),
        }
    }
}
