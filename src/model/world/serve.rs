//! Service and response: a server executes a request (the write guard may
//! refuse a write there; a write is applied and logged for replication),
//! and the response travels back to the entry DC and the user. Its travel
//! is drawn when it leaves, so no event is needed for it.

use super::audit::UnackedWrite;
use super::{Event, ReqHandle, World};
use crate::ids::DcId;
use crate::kernel::EventQueue;
use crate::metrics::Kind;
use crate::model::replication::LogEntry;
use crate::model::routing::Target;
use crate::model::workload::RequestSpec;
use crate::time::{Nanos, SimTime};

impl World {
    #[inline]
    pub(super) fn start_service(
        &mut self,
        now: SimTime,
        req: ReqHandle,
        dc: DcId,
        service: Nanos,
        queue: &mut EventQueue<Event>,
    ) {
        if service > 0 {
            self.metrics.add_busy(dc, now, service);
        }
        self.requests.at(req).at_servers = Some(dc);
        queue.schedule(now.after(service), Event::Served { req, dc });
    }

    pub(super) fn on_served(
        &mut self,
        now: SimTime,
        req: ReqHandle,
        dc: DcId,
        queue: &mut EventQueue<Event>,
    ) {
        if self.requests.get(req).is_none() {
            return; // failed with its DC
        }
        if let Some((next, service)) = self.servers[dc.idx()].finish() {
            self.start_service(now, next, dc, service, queue);
        }
        let r = self.requests.at(req);
        r.served_at = dc;
        r.at_servers = None;
        let r = *r;
        self.metrics.dcs[dc.idx()].served += 1;
        if r.spec.write && self.routing.guard_refuses(dc, r.target) {
            self.metrics.totals.guard_rejected += 1;
            self.reject(now, req, dc);
            return;
        }
        if r.spec.write && self.electing(now, r.target) {
            self.metrics.totals.no_leader += 1;
            self.reject(now, req, dc);
            return;
        }
        let key = self.stored_key(&r.spec);
        if r.spec.write && self.write_held_back(now, dc, &r.spec, r.target, key) {
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
        if !r.spec.write {
            self.check_stale(dc, key, r.start);
            self.respond(now, req);
            return;
        }
        self.write_at(now, req, dc, key, queue);
    }

    /// Whether a write to `key` at `dc` is held back (and counted): a
    /// stream from `dc` lags beyond `replication.max_lag`, or a record fence
    /// at `dc` covers the key. Neither costs more than a test when unused.
    #[inline]
    fn write_held_back(
        &mut self,
        now: SimTime,
        dc: DcId,
        spec: &RequestSpec,
        target: Target,
        key: u32,
    ) -> bool {
        if let Some(max) = self.max_lag
            && self.lag_ban[spec.dataset as usize]
            && self.lags_beyond(now, dc, max)
        {
            self.metrics.totals.lag_refused += 1;
            return true;
        }
        if self.controller.fencing()
            && let Some(reshard_at) = self.controller.fence_at(target, dc)
        {
            // The record's last modification anywhere (its timestamp column
            // as the old owner holds it); never written: a new record.
            let last = self.last_written[key as usize];
            if last != 0 && last <= reshard_at.ns() {
                self.metrics.totals.fence_rejected += 1;
                return true;
            }
        }
        false
    }

    /// Whether a stream from `dc` to a live DC lags more than `max`.
    fn lags_beyond(&self, now: SimTime, dc: DcId, max: Nanos) -> bool {
        (0..self.n_dcs).any(|d| {
            let to = DcId(d as u16);
            to != dc && self.is_up(to) && self.repl.lag(self.repl.stream_id(dc, to), now) > max
        })
    }

    /// Applies request `req`'s write to `key` at `dc`, logs it and ships it;
    /// the client's answer waits for the acks its mode needs.
    fn write_at(
        &mut self,
        now: SimTime,
        req: ReqHandle,
        dc: DcId,
        key: u32,
        queue: &mut EventQueue<Event>,
    ) {
        let clock = self.faults.clock(dc, now);
        let w = self.storage.write_local(dc, key, clock);
        if !self.last_written.is_empty() {
            // Kept only under a record fence; 0 means never written, so a
            // write at time 0 is noted at 1 ns.
            self.last_written[key as usize] = now.ns().max(1);
        }
        let dataset = self.requests.at(req).spec.dataset;
        let (needed, needed_near) = self.acks.needed_from(dc, dataset);
        let waits = needed > 0 || needed_near > 0;
        let logged = LogEntry {
            write: w,
            written: now,
            waiting: waits.then_some(req),
            conflicted: false,
            acked: false,
        };
        let index = self.repl.append(logged, self.storage.meta(dc, key));
        let by_owner = {
            let target = self.requests.at(req).target;
            self.routing.authoritative().owner(target) == dc
        };
        let r = self.requests.at(req);
        r.seq = w.seq;
        r.log_index = index;
        r.by_owner = by_owner;
        r.awaiting = needed;
        r.awaiting_near = needed_near;
        for d in 0..self.n_dcs {
            if d != dc.idx() {
                let stream = self.repl.stream_id(dc, DcId(d as u16));
                super::ship(&mut self.repl, &mut self.topology, stream, now, queue);
            }
        }
        if waits {
            self.set_ack_timeout(now, req, dc, queue);
        } else {
            self.complete_write(now, req);
        }
    }

    /// Whether `target`'s data leader died and its successor is not yet
    /// elected (`replication.election_timeout`): its writes fail.
    #[inline]
    fn electing(&self, now: SimTime, target: Target) -> bool {
        self.election.is_some() && now < self.leader_at[self.unit(target)]
    }

    /// `target`'s index among the units: the shards, then the global datasets.
    #[inline]
    pub(super) fn unit(&self, target: Target) -> usize {
        match target {
            Target::Shard(s) => s.idx(),
            Target::Global(g) => self.leader_at.len() - self.keys.globals() + g as usize,
        }
    }

    /// DC `dc`, which just died, led the consensus groups of the units it
    /// owned: each elects a new leader `election_timeout` from now, on its
    /// own clock, whatever the controller does meanwhile.
    pub(super) fn start_elections(&mut self, now: SimTime, dc: DcId) {
        let Some(timeout) = self.election else {
            return;
        };
        let at = now.after(timeout);
        let table = self.routing.authoritative();
        for (s, &owner) in table.owners.iter().enumerate() {
            if owner == dc {
                self.leader_at[s] = self.leader_at[s].max(at);
            }
        }
        let first = self.leader_at.len() - self.keys.globals();
        for (g, &owner) in table.global_owners.iter().enumerate() {
            if owner == dc {
                self.leader_at[first + g] = self.leader_at[first + g].max(at);
            }
        }
    }

    /// Where a request's key lives in storage (see `keyspace`); a key
    /// beyond 32 bits is a violation the checker counts.
    #[inline]
    pub(super) fn stored_key(&mut self, spec: &RequestSpec) -> u32 {
        self.checker
            .narrow_u32(self.keys.stored(spec.dataset, spec.key))
    }

    /// `stored_key` for the readers that must not count a violation (the
    /// prefetch hints, the read-your-writes lookup): `None` if the key does
    /// not fit in 32 bits.
    #[inline]
    pub(super) fn key_of_spec(&self, spec: &RequestSpec) -> Option<u32> {
        u32::try_from(self.keys.stored(spec.dataset, spec.key)).ok()
    }

    /// Sends the response of an executed request back to the user; returns
    /// whether it can be delivered (if not, the request failed).
    pub(super) fn respond(&mut self, now: SimTime, req: ReqHandle) -> bool {
        let r = *self.requests.at(req);
        let dc = r.served_at;
        if !self.is_up(r.entry_dc) || !self.topology.reachable(dc, r.entry_dc) {
            self.metrics.totals.unreachable += 1;
            if r.spec.write {
                self.note_unacked(&r);
            }
            self.fail(now, req, dc);
            return false;
        }
        let back = self.topology.sample(dc, r.entry_dc)
            + self
                .edges
                .latency(r.spec.region, r.entry_dc)
                .expect("the entry DC is reachable from the region");
        let done = now.after(back);
        self.requests.remove(req);
        if done > self.end {
            self.metrics.datasets[r.spec.dataset as usize].failed += 1;
            self.metrics.totals.failed += 1;
            self.metrics.totals.in_flight_at_end += 1;
            self.metrics.at(self.end, dc).failed += 1;
            if r.spec.write {
                self.note_unacked(&r);
            }
            self.left();
            return false;
        }
        let kind = if r.spec.write {
            Kind::Write
        } else {
            Kind::Read
        };
        self.metrics.record_latency(kind, done.since(r.start));
        self.metrics.totals.ok += 1;
        self.metrics.datasets[r.spec.dataset as usize].ok += 1;
        self.metrics.dcs[dc.idx()].ok += 1;
        self.metrics.at(done, dc).ok += 1;
        self.left();
        true
    }

    /// Notes a write applied at its origin whose client gets no ack.
    pub(super) fn note_unacked(&mut self, r: &super::request::Request) {
        let key = self.stored_key(&r.spec);
        self.unacked.push(UnackedWrite {
            key,
            origin: r.served_at,
            seq: r.seq,
        });
    }

    /// Fails every request a dead DC holds: queued, in service, or waiting
    /// for acks of a write it accepted.
    pub(super) fn fail_requests_at(&mut self, now: SimTime, dc: DcId) {
        self.servers[dc.idx()].reset();
        let held: Vec<_> = self
            .requests
            .live_handles()
            .filter(|(_, r)| {
                r.at_servers == Some(dc)
                    || (r.waits() && r.served_at == dc && r.at_servers.is_none())
            })
            .collect();
        for (h, r) in held {
            if r.waits() {
                self.note_unacked(&r);
            }
            self.fail(now, h, dc);
        }
    }
}
