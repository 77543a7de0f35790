//! Acknowledgements: replicated applies and the acks they send back to a
//! write's origin, ack timeouts (semi-sync falls back to async), the
//! client's ack of a write, and the newest acknowledged writes per key that
//! stale reads are judged against.
//!
//! Every ack timeout has the same length, so each origin DC's timeouts
//! fire in the order they were set: they wait in the origin's lane of the
//! event queue, with only the earliest in the heap. A timeout whose write
//! got its acks in the meantime is dropped when its turn comes instead of
//! firing; it still counts among the run's events (`cancelled_timeouts`),
//! so the event count does not depend on how timers are kept.

use super::{Event, ReqHandle, World, schedule_apply};
use crate::ids::{DcId, StreamId};
use crate::kernel::EventQueue;
use crate::model::storage::{ANNEX, VersionId};
use crate::scenario::{Config, ReplMode};
use crate::time::{Nanos, SimTime};

/// An acknowledged write to a key, and when it was acknowledged.
#[derive(Clone, Copy, Default)]
pub(crate) struct AckedWrite {
    version: VersionId,
    at: u64,
}

impl AckedWrite {
    /// The two newest acknowledged writes of a key, kept in its storage
    /// record's annex: per write, origin, sequence number, time (two words).
    #[inline]
    fn load(annex: &[u32; ANNEX]) -> [AckedWrite; 2] {
        let one = |w: &[u32]| AckedWrite {
            version: VersionId {
                origin: w[0] as u16,
                seq: w[1],
            },
            at: u64::from(w[2]) | (u64::from(w[3]) << 32),
        };
        [one(&annex[..4]), one(&annex[4..])]
    }

    #[inline]
    fn store(marks: [AckedWrite; 2], annex: &mut [u32; ANNEX]) {
        for (m, w) in marks.iter().zip(annex.chunks_exact_mut(4)) {
            w[0] = u32::from(m.version.origin);
            w[1] = m.version.seq;
            w[2] = m.at as u32;
            w[3] = (m.at >> 32) as u32;
        }
    }
}

pub(super) struct Acks {
    /// Remote acks a write needs before the client's ack.
    needed: u16,
    pub(super) timeout: Nanos,
    mode: ReplMode,
    /// Semi-sync origins that timed out and acknowledge as async for now.
    semi_sync_degraded: Vec<bool>,
    /// Ack timeouts due by the end of the drain that were dropped unfired.
    pub(super) cancelled_timeouts: u64,
}

impl Acks {
    pub(super) fn new(cfg: &Config) -> Acks {
        let n = cfg.datacenters.len();
        Acks {
            needed: acks_needed(cfg.replication.mode, n),
            timeout: cfg.replication.ack_timeout,
            mode: cfg.replication.mode,
            semi_sync_degraded: vec![false; n],
            cancelled_timeouts: 0,
        }
    }

    /// Remote acks a write accepted at `dc` waits for now.
    #[inline]
    pub(super) fn needed_from(&self, dc: DcId) -> u16 {
        if self.semi_sync_degraded[dc.idx()] {
            0
        } else {
            self.needed
        }
    }
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
    u16::try_from(need).expect("the scenario reader allows at most 1,000 DCs")
}

impl World {
    pub(super) fn on_repl_apply(
        &mut self,
        now: SimTime,
        stream: StreamId,
        epoch: u32,
        queue: &mut EventQueue<Event>,
    ) {
        let (src, dst) = self.repl.ends(stream);
        let Some(index) = self.repl.take_head(stream, epoch, now) else {
            return;
        };
        let logged = super::apply_replicated(
            &mut self.repl,
            &mut self.storage,
            &mut self.metrics,
            &mut self.checker,
            now,
            stream,
            index,
        );
        if self.acks.semi_sync_degraded[src.idx()]
            && self.is_up(src)
            && self.topology.reachable(dst, src)
        {
            // A replica applies the origin's writes again: semi-sync resumes.
            self.acks.semi_sync_degraded[src.idx()] = false;
        }
        if let Some(req) = logged.waiting
            && self.is_up(src)
            && self.topology.reachable(dst, src)
        {
            self.checker.ack_sent(dst, self.is_up(dst));
            let back = self.topology.sample(dst, src);
            queue.schedule(now.after(back), Event::Ack { req });
        }
        if let Some(a) = self.repl.after_apply(stream) {
            schedule_apply(queue, a);
        }
        if self.controller.waits_for_applies() {
            let (ctl, mut p) = self.split();
            ctl.on_applied_at(now, dst, &mut p, queue);
        }
    }

    pub(super) fn on_ack(&mut self, now: SimTime, req: ReqHandle) {
        let Some(r) = self.requests.get(req) else {
            return;
        };
        if r.awaiting == 0 {
            return;
        }
        let r = self.requests.at(req);
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

    /// Sets request `req`'s ack timeout; its write was accepted at `dc`.
    #[inline]
    pub(super) fn set_ack_timeout(
        &mut self,
        now: SimTime,
        req: ReqHandle,
        dc: DcId,
        queue: &mut EventQueue<Event>,
    ) {
        queue.schedule_in_lane(
            dc.idx(),
            now.after(self.acks.timeout),
            Event::AckTimeout { req, dc },
        );
    }

    /// `dc`'s earliest ack timeout was handled: the next one whose write
    /// still waits for acks goes into the heap.
    #[inline]
    pub(super) fn next_ack_timeout(&mut self, dc: DcId, queue: &mut EventQueue<Event>) {
        let (requests, acks, end) = (&self.requests, &mut self.acks, self.end);
        queue.lane_fired(dc.idx(), |at, e| {
            let Event::AckTimeout { req, .. } = *e else {
                return false;
            };
            let done = requests.get(req).is_none_or(|r| r.awaiting == 0);
            if done && at <= end {
                acks.cancelled_timeouts += 1;
            }
            done
        });
    }

    pub(super) fn on_ack_timeout(&mut self, now: SimTime, req: ReqHandle) {
        let Some(&r) = self.requests.get(req) else {
            return;
        };
        if r.awaiting == 0 {
            return;
        }
        self.metrics.totals.ack_timeouts += 1;
        if self.acks.mode == ReplMode::SemiSync {
            // MySQL-style semi-sync: after the timeout the origin falls back
            // to async (acknowledging this write and not waiting for the next
            // ones) until a replica applies its writes again.
            self.metrics.totals.semi_sync_fallbacks += 1;
            self.acks.semi_sync_degraded[r.served_at.idx()] = true;
            self.requests.at(req).awaiting = 0;
            self.complete_write(now, req);
            return;
        }
        self.note_unacked(&r);
        self.fail(now, req, r.served_at);
    }

    /// Request `req`'s write has what its mode needs: its DC answers the
    /// client, and the write counts as acknowledged only if that answer
    /// can be delivered (otherwise the client sees a failure).
    pub(super) fn complete_write(&mut self, now: SimTime, req: ReqHandle) {
        let r = *self.requests.at(req);
        if self.respond(now, req) {
            self.acknowledge(now, &r);
        }
    }

    /// The DC that accepted request `r`'s write acknowledges it now.
    #[inline]
    fn acknowledge(&mut self, now: SimTime, r: &super::request::Request) {
        self.checker.ack_sent(r.served_at, self.is_up(r.served_at));
        let key = self.stored_key(r.target, r.spec.key);
        // The key's newest acknowledged writes live in its storage record
        // (the write gave it one if it had none).
        if let Some(rec) = self.storage.record(key) {
            let annex = self.storage.annex_mut(rec);
            let [newest, _] = AckedWrite::load(annex);
            let acked = AckedWrite {
                version: VersionId {
                    origin: r.served_at.0,
                    seq: r.seq,
                },
                at: now.ns(),
            };
            AckedWrite::store([acked, newest], annex);
        }
        self.repl.mark_acked(r.served_at, r.log_index);
        self.controller
            .note_recovery(now, r.target, r.start, &mut self.metrics.failures);
    }

    /// A read at `dc` is stale if it misses the newest write acknowledged
    /// before the read began.
    #[inline]
    pub(super) fn check_stale(&mut self, dc: DcId, key: u32, began: SimTime) {
        self.metrics.dcs[dc.idx()].reads += 1;
        let Some(rec) = self.storage.record(key) else {
            return; // never written, so no acknowledged write
        };
        let marks = AckedWrite::load(self.storage.annex(rec));
        let newest = marks
            .iter()
            .find(|m| m.at <= began.ns() && m.version.seq > 0);
        if let Some(m) = newest
            && !self
                .storage
                .includes(dc, key, DcId(m.version.origin), m.version.seq)
        {
            self.metrics.totals.stale_reads += 1;
            self.metrics.dcs[dc.idx()].stale_reads += 1;
        }
    }
}
