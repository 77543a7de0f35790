//! The request path up to a server: admission at the user's edge (which DC
//! a request enters by: DNS's choice, nearest or random by capacity, which
//! an `owner` edge corrects), the routers' decisions on arrival (serve,
//! forward, redirect, reject), and the in-flight table every request lives
//! in until it leaves (ok, failed or rejected).

use super::{Event, World};
use crate::ids::{DcId, RegionId};
use crate::kernel::{ComponentRng, EventQueue, stream};
use crate::model::datacenter::Admit;
use crate::model::rng_ids;
use crate::model::routing::{Holder, Route, Target};
use crate::model::workload::RequestSpec;
use crate::scenario::{Config, Dist, Entry as EntryPolicy};
use crate::time::{Nanos, SimTime};
use rand::RngExt;

/// A request is refused after this many forwards or redirects: a routing
/// loop (stale tables pointing at each other) must not circle forever.
const MAX_FORWARDS: u8 = 3;

/// A request in flight: its slot in the in-flight table and the generation
/// of that slot's occupant, so that a late event for an earlier occupant is
/// told from one for the current request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqHandle {
    slot: u32,
    generation: u32,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Request {
    pub(super) start: SimTime,
    pub(super) spec: RequestSpec,
    pub(super) target: Target,
    /// The DC the user sent it to, where its response goes back from.
    pub(super) entry_dc: DcId,
    /// The DC that executed it (valid once executed).
    pub(super) served_at: DcId,
    /// Forwards and redirects so far.
    pub(super) forwards: u8,
    /// Remote acks still awaited (from other regions when its dataset has
    /// a mode of its own toward the origin's region; from anywhere else).
    pub(super) awaiting: u16,
    /// Acks still awaited from the origin's own region.
    pub(super) awaiting_near: u16,
    /// Per class (as `awaiting`, `awaiting_near`): acks on their way, and
    /// the latest time one of them arrives (see `Slab::ack_needed`).
    acks_out: [u16; 2],
    acks_last: [u64; 2],
    /// The write's sequence number at `served_at`, once applied.
    pub(super) seq: u32,
    /// The DC whose servers hold it (queued or in service).
    pub(super) at_servers: Option<DcId>,
    /// Its write's index in `served_at`'s replication log.
    pub(super) log_index: u64,
    /// Its write was accepted by the shard's authoritative owner.
    pub(super) by_owner: bool,
    generation: u32,
    live: bool,
}

impl Request {
    /// Whether its write still waits for remote acks.
    #[inline]
    pub(super) fn waits(&self) -> bool {
        self.awaiting > 0 || self.awaiting_near > 0
    }
}

/// In-flight requests, reusing freed slots: no allocation per request once
/// the high-water mark is reached.
#[derive(Default)]
pub(super) struct Slab {
    items: Vec<Request>,
    free: Vec<u32>,
    next_generation: u32,
}

impl Slab {
    /// Stores a new request; `narrow` converts its slot number (checked).
    #[inline]
    fn insert(&mut self, mut r: Request, narrow: impl FnOnce(usize) -> u32) -> ReqHandle {
        // Generations wrap on purpose: a slot's occupants differ from one
        // another long before 2^32 requests have come and gone.
        self.next_generation = self.next_generation.wrapping_add(1);
        r.generation = self.next_generation;
        r.live = true;
        let slot = match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = r;
                i
            }
            None => {
                self.items.push(r);
                narrow(self.items.len() - 1)
            }
        };
        ReqHandle {
            slot,
            generation: r.generation,
        }
    }

    /// Takes a request out of the table (it leaves the system).
    #[inline]
    pub(super) fn remove(&mut self, h: ReqHandle) -> Request {
        let r = &mut self.items[h.slot as usize];
        debug_assert!(
            r.live && r.generation == h.generation,
            "{h:?} removed twice"
        );
        r.live = false;
        self.free.push(h.slot);
        *r
    }

    /// The request, if `h` still names a live one.
    #[inline]
    pub(super) fn get(&self, h: ReqHandle) -> Option<&Request> {
        self.items
            .get(h.slot as usize)
            .filter(|r| r.live && r.generation == h.generation)
    }

    #[inline]
    fn get_mut(&mut self, h: ReqHandle) -> Option<&mut Request> {
        self.items
            .get_mut(h.slot as usize)
            .filter(|r| r.live && r.generation == h.generation)
    }

    /// Starts loading request `h`'s slot (a hint, see `kernel::prefetch`).
    #[inline]
    pub(super) fn prefetch(&self, h: ReqHandle) {
        crate::kernel::prefetch(self.items.as_ptr().wrapping_add(h.slot as usize));
    }

    /// Whether an ack of request `h`'s write (`near`: of its region's
    /// class) arriving `at` can still count: not if `h` is gone, if its
    /// class awaits no ack, or if the acks already on their way, all
    /// arriving no later (and those arriving at `at` handled first, having
    /// been scheduled first), are enough. Then the ack is noted as on its
    /// way. Skipping the others changes nothing but the events simulated:
    /// on arrival they would find nothing left to count.
    #[inline]
    pub(super) fn ack_needed(&mut self, h: ReqHandle, near: bool, at: SimTime) -> bool {
        let Some(r) = self.get_mut(h) else {
            return false;
        };
        let c = usize::from(near);
        let awaiting = if near { r.awaiting_near } else { r.awaiting };
        if awaiting == 0 || (r.acks_out[c] >= awaiting && at.ns() >= r.acks_last[c]) {
            return false;
        }
        r.acks_out[c] += 1;
        r.acks_last[c] = r.acks_last[c].max(at.ns());
        true
    }

    /// An ack of request `h`'s write reached it (see `ack_needed`).
    #[inline]
    pub(super) fn ack_arrived(&mut self, h: ReqHandle, near: bool) {
        let r = &mut self.items[h.slot as usize];
        let c = usize::from(near);
        r.acks_out[c] = r.acks_out[c].saturating_sub(1);
    }

    /// The live request `h` names (the caller checked it is live).
    #[inline]
    pub(super) fn at(&mut self, h: ReqHandle) -> &mut Request {
        &mut self.items[h.slot as usize]
    }

    /// Requests in flight now.
    #[inline]
    pub(super) fn live(&self) -> u64 {
        (self.items.len() - self.free.len()) as u64
    }

    /// Every live request, in slot order.
    pub(super) fn live_handles(&self) -> impl Iterator<Item = (ReqHandle, Request)> + '_ {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, r)| r.live)
            .map(|(i, r)| {
                let h = ReqHandle {
                    slot: i as u32,
                    generation: r.generation,
                };
                (h, *r)
            })
    }
}

/// One user region's latency to one DC, with its own random stream.
struct Access {
    latency: Dist,
    rng: ComponentRng,
}

/// The users' side: how each region reaches each DC and which DC it enters by.
pub(super) struct Edges {
    n_dcs: usize,
    entry_policy: EntryPolicy,
    /// `[region * n_dcs + dc]`; `None` where the region cannot reach the DC.
    access: Vec<Option<Access>>,
    /// Median latency from each region to each DC (`u64::MAX`: unreachable).
    region_medians: Vec<u64>,
    /// Each region's nearest DC not known to be down.
    nearest: Vec<DcId>,
    /// DCs the detector has noticed are down (entry avoids them).
    known_down: Vec<bool>,
    /// `entry = "random"`: each DC's weight (its servers), and the stream
    /// DNS draws from.
    weights: Vec<u64>,
    dns: ComponentRng,
}

impl Edges {
    pub(super) fn new(cfg: &Config) -> Edges {
        let access = cfg
            .regions
            .iter()
            .enumerate()
            .flat_map(|(r, region)| {
                region.latency.iter().enumerate().map(move |(d, l)| {
                    l.as_ref().map(|latency| Access {
                        latency: latency.clone(),
                        rng: stream(cfg.seed, rng_ids::access(r, d)),
                    })
                })
            })
            .collect();
        let region_medians = cfg
            .regions
            .iter()
            .flat_map(|r| {
                r.latency
                    .iter()
                    .map(|l| l.as_ref().map_or(u64::MAX, Dist::median))
            })
            .collect();
        Edges {
            n_dcs: cfg.datacenters.len(),
            entry_policy: cfg.routing.entry,
            access,
            region_medians,
            // Filled by `refresh_nearest`: one rule for start and after faults.
            nearest: vec![DcId(0); cfg.regions.len()],
            known_down: vec![false; cfg.datacenters.len()],
            weights: entry_weights(cfg),
            dns: stream(cfg.seed, rng_ids::DNS),
        }
    }

    /// DNS's random pick for `region`, weighted by capacity among the DCs
    /// the region reaches and the detector does not know are down; its
    /// nearest DC when there is none.
    fn random_dc(&mut self, region: RegionId) -> DcId {
        let n = self.n_dcs;
        let r = region.idx();
        let open = |d: usize| !self.known_down[d] && self.access[r * n + d].is_some();
        let total: u64 = (0..n).filter(|&d| open(d)).map(|d| self.weights[d]).sum();
        if total == 0 {
            return self.nearest[r];
        }
        let mut x = self.dns.random_range(0..total);
        for d in 0..n {
            if !open(d) {
                continue;
            }
            if x < self.weights[d] {
                return DcId(d as u16);
            }
            x -= self.weights[d];
        }
        self.nearest[r]
    }

    /// The detector noticed `dc` died (`true`) or came back.
    pub(super) fn set_known_down(&mut self, dc: DcId, down: bool) {
        self.known_down[dc.idx()] = down;
        self.refresh_nearest();
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

    fn reaches(&self, region: RegionId, dc: DcId) -> bool {
        self.access[region.idx() * self.n_dcs + dc.idx()].is_some()
    }

    /// Draws the latency between a region and a DC it reaches.
    #[inline]
    pub(super) fn latency(&mut self, region: RegionId, dc: DcId) -> Option<Nanos> {
        let a = self.access[region.idx() * self.n_dcs + dc.idx()].as_mut()?;
        Some(a.latency.sample(&mut a.rng))
    }
}

/// Each DC's weight under `entry = "random"`: its servers. A DC with
/// unlimited servers weighs as much as the largest finite one in the
/// scenario (1 when every DC is unlimited), so that equal DCs get equal shares.
fn entry_weights(cfg: &Config) -> Vec<u64> {
    let largest = cfg
        .datacenters
        .iter()
        .filter_map(|d| d.servers)
        .max()
        .unwrap_or(1);
    cfg.datacenters
        .iter()
        .map(|d| u64::from(d.servers.unwrap_or(largest)))
        .collect()
}

impl World {
    pub(super) fn on_arrival(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        if let Some(gap) = self.workload.next_gap()
            && now.after(gap) < self.traffic_end
        {
            queue.schedule_solo(now.after(gap), Event::Arrival);
        }
        let spec = self.workload.next_request();
        if self.workload.keep(spec.region, now.ns()) {
            self.admit(now, spec, queue);
        }
    }

    /// The DC a new request for `target` enters by, and whether the edge
    /// corrected DNS's choice.
    #[inline]
    fn entry_dc(&mut self, spec: &RequestSpec, target: Target) -> (DcId, bool) {
        let nearest = self.edges.nearest[spec.region.idx()];
        match self.edges.entry_policy {
            EntryPolicy::Nearest => (nearest, false),
            EntryPolicy::Random => (self.edges.random_dc(spec.region), false),
            // The edge knows the user's shard and sends the request to its
            // owner, when the region reaches the owner directly.
            EntryPolicy::Owner => {
                let owner = match target {
                    Target::Global(_) if !spec.write => self.routing.route(nearest, target, false),
                    _ => Route::Forward(self.routing.copy(Holder::Edge(spec.region)).owner(target)),
                };
                match owner {
                    Route::Forward(o) if self.edges.reaches(spec.region, o) => (o, o != nearest),
                    _ => (nearest, false),
                }
            }
        }
    }

    /// A new request from the user: pick the entry DC and send it there.
    pub(super) fn admit(&mut self, now: SimTime, spec: RequestSpec, queue: &mut EventQueue<Event>) {
        let target = if spec.global {
            Target::Global(self.keys.global_of(spec.dataset))
        } else {
            Target::Shard(self.sharding.shard_of(spec.key))
        };
        if let Some(key) = self.key_of_spec(&spec) {
            // Its record is read when it is served: the index slot now.
            self.storage.prefetch_slot(key);
        }
        let (entry_dc, corrected) = self.entry_dc(&spec, target);
        self.metrics.totals.requests += 1;
        self.metrics.datasets[spec.dataset as usize].requests += 1;
        let row = self.metrics.at(now, entry_dc);
        row.requests += 1;
        if corrected {
            row.edge_corrected += 1;
            self.metrics.totals.edge_corrected += 1;
        }
        if spec.write {
            self.controller
                .note_write_attempt(target, &mut self.metrics.failures);
        }
        let latency = self
            .edges
            .latency(spec.region, entry_dc)
            .expect("the entry DC is reachable from the region");
        let checker = &mut self.checker;
        let req = self.requests.insert(
            Request {
                start: now,
                spec,
                target,
                entry_dc,
                served_at: entry_dc,
                forwards: 0,
                awaiting: 0,
                awaiting_near: 0,
                acks_out: [0; 2],
                acks_last: [0; 2],
                seq: 0,
                at_servers: None,
                log_index: 0,
                by_owner: false,
                generation: 0,
                live: true,
            },
            |slot| checker.narrow_u32(slot),
        );
        queue.schedule(now.after(latency), Event::Reach { req, dc: entry_dc });
    }

    pub(super) fn on_reach(
        &mut self,
        now: SimTime,
        req: ReqHandle,
        dc: DcId,
        queue: &mut EventQueue<Event>,
    ) {
        let Some(&r) = self.requests.get(req) else {
            return;
        };
        if !self.is_up(dc) {
            // The DC died while the request was on its way.
            self.fail(now, req, dc);
            return;
        }
        let route = match self.sticky_writer(now, dc, &r) {
            Some(writer) => Route::Forward(writer),
            None => self.routing.route(dc, r.target, r.spec.write),
        };
        match route {
            Route::Serve => match self.servers[dc.idx()].arrive(req) {
                Admit::Start(service) => self.start_service(now, req, dc, service, queue),
                Admit::Queued => self.requests.at(req).at_servers = Some(dc),
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
                let r = self.requests.at(req);
                if r.forwards == 0 {
                    self.metrics.totals.forwarded += 1;
                    self.metrics.at(now, dc).forwarded += 1;
                }
                r.forwards += 1;
                let hop = self.topology.sample(dc, owner);
                queue.schedule(now.after(hop), Event::Reach { req, dc: owner });
            }
            Route::Redirect(owner) if r.forwards < MAX_FORWARDS => {
                self.redirect(now, req, dc, owner, queue);
            }
            Route::Forward(_) | Route::Redirect(_) | Route::Reject => self.reject(now, req, dc),
        }
    }

    /// The router at `dc` tells the client of `req` that `owner` owns its
    /// shard: the answer crosses the region's access latency back, and the
    /// client re-sends the request to `owner` over its own access latency;
    /// `owner` becomes the DC its response goes back from.
    fn redirect(
        &mut self,
        now: SimTime,
        req: ReqHandle,
        dc: DcId,
        owner: DcId,
        queue: &mut EventQueue<Event>,
    ) {
        let region = self.requests.at(req).spec.region;
        let (Some(back), Some(there)) = (
            self.edges.latency(region, dc),
            self.edges.latency(region, owner),
        ) else {
            // The client cannot reach the DC it is sent to.
            self.metrics.totals.unreachable += 1;
            self.fail(now, req, dc);
            return;
        };
        let r = self.requests.at(req);
        if r.forwards == 0 {
            self.metrics.totals.redirected += 1;
            self.metrics.at(now, dc).redirected += 1;
        }
        r.forwards += 1;
        r.entry_dc = owner;
        queue.schedule(now.after(back + there), Event::Reach { req, dc: owner });
    }

    /// Request `req` leaves, rejected by `dc`.
    pub(super) fn reject(&mut self, now: SimTime, req: ReqHandle, dc: DcId) {
        let r = self.requests.remove(req);
        self.metrics.datasets[r.spec.dataset as usize].rejected += 1;
        self.controller
            .note_rejection(now, r.target, &mut self.metrics.failures);
        self.metrics.totals.rejected += 1;
        self.metrics.dcs[dc.idx()].rejected += 1;
        self.metrics.at(now, dc).rejected += 1;
        self.left();
    }

    /// Request `req` leaves, failed at `dc`.
    pub(super) fn fail(&mut self, now: SimTime, req: ReqHandle, dc: DcId) {
        let r = self.requests.remove(req);
        self.metrics.datasets[r.spec.dataset as usize].failed += 1;
        self.metrics.totals.failed += 1;
        self.metrics.at(now, dc).failed += 1;
        self.left();
    }

    /// A request has left and been counted: the books must balance.
    #[inline]
    pub(super) fn left(&mut self) {
        self.checker
            .request_left(&self.metrics.totals, self.requests.live());
    }
}
