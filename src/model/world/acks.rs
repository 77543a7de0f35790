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
use crate::model::routing::Target;
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
    /// Per dataset (sharded ones, then the global one): whether
    /// it has a mode of its own toward the origin's region, and (`[dataset
    /// × DCs + origin]`) the remote acks a write needs before the client's
    /// ack: from other regions (or from anywhere, without a split), and
    /// from the origin's region.
    /// Per dataset and class of acks (0: from other regions, or from
    /// anywhere without a split; 1: from the origin's region), whether the
    /// class's mode is `semi_sync`: a write that timed out waiting only for
    /// such classes falls back to async in them.
    semi_sync: Vec<[bool; 2]>,
    split: Vec<bool>,
    needed: Vec<(u16, u16)>,
    n: usize,
    /// Each DC's region, as a number: DCs of one region are one city.
    region: Vec<u16>,
    pub(super) timeout: Nanos,
    /// Per dataset and origin (`[dataset × DCs + origin]`) and class:
    /// semi-sync that switched off and acknowledges as async in that class
    /// for now, until a DC of the class applies the origin's writes to the
    /// dataset again.
    semi_sync_degraded: Vec<[bool; 2]>,
    /// Whether any dataset has a `semi_sync` class (else nothing is ever
    /// degraded and applies need not look).
    any_semi_sync: bool,
    /// Ack timeouts due by the end of the drain that were dropped unfired.
    pub(super) cancelled_timeouts: u64,
    /// `sharding.read_your_writes` (0: off).
    sticky_window: Nanos,
}

impl Acks {
    pub(super) fn new(cfg: &Config) -> Acks {
        let n = cfg.datacenters.len();
        let region: Vec<u16> = cfg
            .datacenters
            .iter()
            .map(|d| {
                let first = cfg.datacenters.iter().position(|o| o.region == d.region);
                first.unwrap_or(0) as u16
            })
            .collect();
        let modes = dataset_modes(cfg);
        let near_modes = same_region_modes(cfg);
        let mut needed = Vec::with_capacity(modes.len() * n);
        for (&mode, &near_mode) in modes.iter().zip(&near_modes) {
            for origin in 0..n {
                needed.push(match near_mode {
                    None => (acks_needed(mode, n), 0),
                    Some(near_mode) => {
                        let near = (0..n)
                            .filter(|&d| d != origin && region[d] == region[origin])
                            .count();
                        let far = n - 1 - near;
                        // Each group counted as if the origin were in it.
                        (acks_needed(mode, far + 1), acks_needed(near_mode, near + 1))
                    }
                });
            }
        }
        let semi_sync: Vec<[bool; 2]> = modes
            .iter()
            .zip(&near_modes)
            .map(|(&m, &near)| [m == ReplMode::SemiSync, near == Some(ReplMode::SemiSync)])
            .collect();
        Acks {
            any_semi_sync: semi_sync.iter().flatten().any(|&s| s),
            semi_sync_degraded: vec![[false; 2]; modes.len() * n],
            semi_sync,
            split: near_modes.iter().map(Option::is_some).collect(),
            needed,
            n,
            region,
            timeout: cfg.replication.ack_timeout,
            cancelled_timeouts: 0,
            sticky_window: cfg.sharding.read_your_writes,
        }
    }

    /// Remote acks a write to `dataset` accepted at `dc` waits for now:
    /// from other regions (or anywhere), and from its own region.
    #[inline]
    pub(super) fn needed_from(&self, dc: DcId, dataset: u8) -> (u16, u16) {
        let at = dataset as usize * self.n + dc.idx();
        let (far, near) = self.needed[at];
        let [far_off, near_off] = self.semi_sync_degraded[at];
        (
            if far_off { 0 } else { far },
            if near_off { 0 } else { near },
        )
    }

    /// Whether `dst`'s ack of a write to `dataset` from `src` counts toward
    /// the acks of the origin's own region.
    #[inline]
    fn near(&self, dataset: u8, src: DcId, dst: DcId) -> bool {
        self.split[dataset as usize] && self.region[src.idx()] == self.region[dst.idx()]
    }
}

/// Each dataset's mode toward its origin's region, when it has one (the
/// global dataset has none).
fn same_region_modes(cfg: &Config) -> Vec<Option<ReplMode>> {
    let mut modes: Vec<Option<ReplMode>> =
        cfg.datasets.iter().map(|d| d.same_region_mode).collect();
    if modes.is_empty() {
        modes.push(None);
    }
    modes.push(None);
    modes
}

/// Each dataset's mode: the `[[dataset]]`s' (or `replication.mode` for the
/// one sharded dataset without them), then the global dataset's.
fn dataset_modes(cfg: &Config) -> Vec<ReplMode> {
    let mut modes: Vec<ReplMode> = cfg.datasets.iter().map(|d| d.mode).collect();
    if modes.is_empty() {
        modes.push(cfg.replication.mode);
    }
    modes.push(cfg.replication.mode);
    modes
}

/// The mode whose takeover the controller performs: a new owner reads what
/// the survivors hold (`quorum`, `sync`) if any dataset waits for a
/// majority or for all; else `replication.mode`.
pub(super) fn takeover_mode(cfg: &Config) -> ReplMode {
    dataset_modes(cfg)
        .into_iter()
        .chain(same_region_modes(cfg).into_iter().flatten())
        .find(|m| matches!(m, ReplMode::Quorum | ReplMode::Sync))
        .unwrap_or(cfg.replication.mode)
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
        let Some(head) = self.repl.take_head(stream, epoch, now) else {
            return;
        };
        let logged = self.replica().apply(now, stream, head);
        // Whether the origin hears of this apply (asked only when someone
        // listens: semi-sync's switch-on, or a write waiting for acks).
        let heard = (self.acks.any_semi_sync || logged.waiting.is_some())
            && self.is_up(src)
            && self.topology.reachable(dst, src);
        if heard && self.acks.any_semi_sync {
            // A replica of the class applies the origin's writes to the
            // dataset again: semi-sync switches back on in that class (the
            // other class's replicas say nothing of it: a same-city peer
            // that is down stays down while the remote standby applies).
            let dataset = self.keys.dataset_of(logged.key) as u8;
            let class = usize::from(self.acks.near(dataset, src, dst));
            let at = dataset as usize * self.acks.n + src.idx();
            self.acks.semi_sync_degraded[at][class] = false;
        }
        if heard && let Some(req) = logged.waiting {
            self.checker.ack_sent(dst, self.is_up(dst));
            let near = self
                .requests
                .get(req)
                .is_some_and(|r| self.acks.near(r.spec.dataset, src, dst));
            // Drawn whether or not the ack is needed, so that the link's
            // stream draws the same whatever the acks before it did.
            let at = now.after(self.topology.sample(dst, src));
            if self.requests.ack_needed(req, near, at) {
                queue.schedule(at, Event::Ack { req, near });
            }
        }
        if let Some(a) = self.repl.after_apply(stream) {
            schedule_apply(queue, a);
        }
        if self.controller.waits_for_applies() {
            let (ctl, mut p) = self.split();
            ctl.on_applied_at(now, dst, &mut p, queue);
        }
    }

    /// An ack reaches request `req`'s origin: from a DC of the origin's
    /// region counted apart (`near`) when its dataset has a mode for it.
    pub(super) fn on_ack(&mut self, now: SimTime, req: ReqHandle, near: bool) {
        if self.requests.get(req).is_none() {
            return;
        }
        self.requests.ack_arrived(req, near);
        let r = self.requests.at(req);
        let counter = if near {
            &mut r.awaiting_near
        } else {
            &mut r.awaiting
        };
        if *counter == 0 {
            return;
        }
        *counter -= 1;
        if r.waits() {
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
            let done = requests.get(req).is_none_or(|r| !r.waits());
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
        if !r.waits() {
            return;
        }
        self.metrics.totals.ack_timeouts += 1;
        let semi = self.acks.semi_sync[r.spec.dataset as usize];
        let waits_for = [r.awaiting > 0, r.awaiting_near > 0];
        if waits_for
            .iter()
            .zip(semi)
            .all(|(&waited, semi)| !waited || semi)
        {
            self.switch_off_semi_sync(now, &r, waits_for);
            return;
        }
        self.note_unacked(&r);
        self.fail(now, req, r.served_at);
    }

    /// Semi-sync of request `r`'s dataset at its origin switches off in the
    /// classes `off` (those `r` still waited for when it timed out), as
    /// MySQL's does: every write there waiting in those classes, `r`
    /// included, stops waiting in them at once and is acknowledged unless it
    /// also waits for a strict class; the next writes wait there for no
    /// ack until a DC of the class applies the origin's writes again. A
    /// class whose mode is strict (`quorum`, `sync`) never switches off:
    /// `on_ack_timeout` fails a write still waiting for one.
    fn switch_off_semi_sync(&mut self, now: SimTime, r: &super::request::Request, off: [bool; 2]) {
        self.metrics.totals.semi_sync_fallbacks += 1;
        let (origin, dataset) = (r.served_at, r.spec.dataset);
        let degraded =
            &mut self.acks.semi_sync_degraded[dataset as usize * self.acks.n + origin.idx()];
        for (d, o) in degraded.iter_mut().zip(off) {
            *d |= o;
        }
        // Rare (once per switch-off): a scan of the requests in flight, in
        // slot order.
        let waiting: Vec<ReqHandle> = self
            .requests
            .live_handles()
            .filter(|(_, w)| {
                w.waits()
                    && w.served_at == origin
                    && w.spec.dataset == dataset
                    && w.at_servers.is_none()
            })
            .map(|(h, _)| h)
            .collect();
        for h in waiting {
            let w = self.requests.at(h);
            if off[0] {
                w.awaiting = 0;
            }
            if off[1] {
                w.awaiting_near = 0;
            }
            if !w.waits() {
                self.complete_write(now, h);
            }
        }
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
        let key = self.stored_key(&r.spec);
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

    /// Read-your-writes stickiness (`sharding.read_your_writes`): the DC
    /// that acknowledged the user's last write, if that was within the
    /// window, is another DC than `dc`, and is up and reachable from `dc`.
    /// (The user's cookie says where they wrote; each user owns one key.)
    #[inline]
    pub(super) fn sticky_writer(
        &self,
        now: SimTime,
        dc: DcId,
        r: &super::request::Request,
    ) -> Option<DcId> {
        if self.acks.sticky_window == 0 || r.spec.write || matches!(r.target, Target::Global(_)) {
            return None;
        }
        let rec = self.storage.record(self.key_of_spec(&r.spec)?)?;
        let [last, _] = AckedWrite::load(self.storage.annex(rec));
        if last.version.seq == 0 || now.ns().saturating_sub(last.at) > self.acks.sticky_window {
            return None;
        }
        let writer = DcId(last.version.origin);
        (writer != dc && self.is_up(writer) && self.topology.reachable(dc, writer))
            .then_some(writer)
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
            if self.keys.is_users_key(key) {
                // Each user owns one key of the sharded dataset: the write
                // missed was the reader's own.
                self.metrics.totals.own_stale_reads += 1;
            }
        }
    }
}
