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
        if self.routing.misrouted(dc, r.target, r.spec.write) {
            self.metrics.totals.misrouted += 1;
            if r.spec.write {
                self.metrics.totals.misrouted_writes += 1;
            }
            self.metrics.dcs[dc.idx()].misrouted += 1;
            self.metrics.at(now, dc).misrouted += 1;
        }
        let key = self.stored_key(r.target, r.spec.key);
        if !r.spec.write {
            self.check_stale(dc, key, r.start);
            self.respond(now, req);
            return;
        }
        self.write_at(now, req, dc, key, queue);
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
        let needed = self.acks.needed_from(dc);
        let waits = needed > 0;
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
        for d in 0..self.n_dcs {
            if d != dc.idx() {
                let stream = self.repl.stream_id(dc, DcId(d as u16));
                super::ship(&mut self.repl, &mut self.topology, stream, now, queue);
            }
        }
        if waits {
            queue.schedule(now.after(self.acks.timeout), Event::AckTimeout { req });
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

    /// `target`'s index among the units: the shards, then the global dataset.
    #[inline]
    pub(super) fn unit(&self, target: Target) -> usize {
        match target {
            Target::Shard(s) => s.idx(),
            Target::Global => self.leader_at.len() - 1,
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
        if table.global_owner == dc {
            let g = self.leader_at.len() - 1;
            self.leader_at[g] = self.leader_at[g].max(at);
        }
    }

    /// Where `key` of `target`'s dataset lives in storage: the sharded
    /// dataset's keys first, then the global one's.
    #[inline]
    pub(super) fn stored_key(&mut self, target: Target, key: u32) -> u32 {
        match target {
            Target::Shard(_) => key,
            Target::Global => self.checker.narrow_u32(self.sharded_keys + u64::from(key)),
        }
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
        self.metrics.dcs[dc.idx()].ok += 1;
        self.metrics.at(done, dc).ok += 1;
        self.left();
        true
    }

    /// Notes a write applied at its origin whose client gets no ack.
    pub(super) fn note_unacked(&mut self, r: &super::request::Request) {
        let key = self.stored_key(r.target, r.spec.key);
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
                    || (r.awaiting > 0 && r.served_at == dc && r.at_servers.is_none())
            })
            .collect();
        for (h, r) in held {
            if r.awaiting > 0 {
                self.note_unacked(&r);
            }
            self.fail(now, h, dc);
        }
    }
}
